"""The requests of one HTTP connection: credentials, timeouts, the guard, one retry policy.

Both HTTP connections (``http`` and ``fluent``) build one :class:`HttpClient`
and lend it to every source and target that names them. Each call says
whose request it makes (a :class:`~engine.errors.Phase`): the errors it
raises are that phase's, each with its intent (:mod:`engine.http.status`).

* :meth:`HttpClient.exchange` sends one request through
  :func:`engine.http.guard.send` (redirects, answer size, the request
  deadline; a timeout after sending a write is ambiguous) with the
  connection's credentials, renewed once on a 401, and returns the answer
  whatever its status: for callers that judge statuses themselves (the
  ``http`` target's ``success`` and ``on_status``).
  With ``checked=True`` a status other than a success is the error it
  means instead (:func:`engine.http.status.check`).
* :meth:`HttpClient.read` is a request that changes nothing, retried.
* :meth:`HttpClient.write` changes state and is never applied twice: after
  an ambiguous failure the caller's ``reconcile`` is asked first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypedDict, TypeVar
from urllib.parse import urljoin

import httpx
from typing_extensions import Unpack

from engine import __version__
from engine.contracts import Logger
from engine.errors import AmbiguousWriteError, Phase
from engine.http.auth import Credentials, StaticAuth
from engine.http.guard import Guard, origin, send, transport
from engine.http.status import check, path_of, snippet
from engine.retry import RateLimiter, RetryPolicy

T = TypeVar("T")


class Parts(TypedDict, total=False):
    """What a request carries besides its method and address (all optional)."""

    #: query parameters (the credential's, for an API key in the query, are added)
    params: Mapping[str, Any] | None
    #: the body, encoded
    content: bytes | None
    #: headers of this request (the connection's and the credential's are added)
    headers: Mapping[str, str] | None


class HttpClient:
    """One connection's HTTP client, shared by its borrowers' threads.

    ``label`` starts every message (``http connection 'shop'``). ``stats``
    counts the connection's requests, retries, token renewals after a 401
    and writes found applied by reconciliation.
    """

    def __init__(
        self,
        label: str,
        base_url: str,
        *,
        log: Logger,
        policy: RetryPolicy,
        connect_timeout: float,
        read_timeout: float,
        rate_limit: float | None = None,
        headers: Mapping[str, str] | None = None,
        verify: Any = True,
        max_connections: int = 64,
        guard: Guard | None = None,
    ) -> None:
        self.label = label
        self.base_url = base_url.rstrip("/") + "/"
        self.log = log
        self.policy = policy
        self.guard = guard or Guard()
        #: the connection's credentials; static ones or a :class:`~engine.http.auth.TokenAuth`
        self.auth: Credentials = StaticAuth()
        self.session = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            headers={"User-Agent": f"engine/{__version__}", "Accept": "application/json", **(headers or {})},
            transport=transport(verify=verify, max_connections=max_connections),
        )
        self.origin = httpx.URL(self.base_url).copy_with(path="/", query=None, fragment=None)
        self.limiter = RateLimiter(rate_limit)
        self._lock = threading.Lock()
        self.stats = {"requests": 0, "retries": 0, "renewals": 0, "reconciled": 0}

    def close(self) -> None:
        """Close the connection pool; the client cannot be used afterwards."""
        self.session.close()

    def count(self, key: str, n: int = 1) -> None:
        """Add ``n`` to one of :attr:`stats` (thread-safe)."""
        with self._lock:
            self.stats[key] += n

    def what(self, method: str, url: str) -> str:
        """How messages name a request: ``http connection 'shop': GET /orders`` (never its query)."""
        return f"{self.label}: {method} {path_of(url)}"

    def resolve(self, url: str, relative_to: str | None, *, phase: Phase) -> str:
        """An absolute next-page address, refused unless it is on the connection's server.

        Credentials go with every request, so a ``Link`` header or a cursor URL
        pointing elsewhere must not receive them.
        """
        absolute = httpx.URL(urljoin(relative_to or self.base_url, url))
        home, there = origin(self.origin), origin(absolute)
        if there != home:
            raise phase.fatal(
                f"{self.label}: the server pointed to {there}, another server than {home}; "
                "the credentials are not sent there"
            )
        return str(absolute)

    def exchange(
        self,
        method: str,
        url: str,
        *,
        write: bool,
        phase: Phase,
        checked: bool = False,
        **parts: Unpack[Parts],
    ) -> httpx.Response:
        """One request (and one more after a 401 when the credential can be renewed).

        Sent under the connection's :class:`~engine.http.guard.Guard`: a read
        follows redirects to its own server (or an allowed one, bare), a write
        never does. Returns the answer whatever its status, or with
        ``checked`` only a success (see :func:`engine.http.status.check`).

        Raises:
            AuthError: a 401 that fresh credentials did not cure, as ``phase.auth``.
        """
        what = self.what(method, url)
        params, content, headers = parts.get("params"), parts.get("content"), parts.get("headers")
        renewed = False
        while True:
            auth_headers, auth_params, token = self.auth.apply(phase)
            self.limiter.acquire()
            self.count("requests")
            request = self.session.build_request(
                method,
                url,
                params=_merge(params, auth_params),
                content=content,
                headers={**(headers or {}), **auth_headers},
            )
            resp = send(
                self.session,
                request,
                self.guard,
                what=what,
                write=write,
                phase=phase,
                credential_params=auth_params,
            )
            if resp.status_code != 401:
                return check(resp, what, phase, write=write) if checked else resp
            if self.auth.renewable and not renewed:
                renewed = True
                self.count("renewals")
                self.auth.invalidate(token)
                continue
            raise phase.auth(
                f"{what} was refused with 401{' after a fresh token' if renewed else ''}{snippet(resp, 200)}",
                hint="the credentials may be revoked or lack the permission this call needs",
            )

    def read(
        self,
        method: str,
        url: str,
        *,
        phase: Phase,
        tally: dict[str, int] | None = None,
        **parts: Unpack[Parts],
    ) -> httpx.Response:
        """A request that changes nothing, retried on 408, 429, 5xx and transport failures.

        ``tally`` counts this caller's own requests and retries (a source and a
        target may share the connection, and each reports its own).
        """
        mine = tally if tally is not None else {}

        def once(attempt: int) -> httpx.Response:
            mine["requests"] = mine.get("requests", 0) + 1
            if attempt:
                mine["retries"] = mine.get("retries", 0) + 1
            return self.exchange(method, url, write=False, phase=phase, checked=True, **parts)

        return self.retrying(once, self.what(method, url))

    def write(
        self,
        method: str,
        url: str,
        *,
        phase: Phase,
        decode: Callable[[httpx.Response], T],
        reconcile: Callable[[], T | None] | None = None,
        **parts: Unpack[Parts],
    ) -> T:
        """A request that changes state, never applied twice; returns ``decode(answer)``.

        Retried when the server certainly did not apply it (429, 408, no
        connection). After an ambiguous failure (a 5xx, a timeout after
        sending, an answer ``decode`` cannot read) ``reconcile()`` is asked
        whether the write took effect: it returns what the write would have
        returned (then that is the answer) or None (then the write is sent
        again, under the retry policy). Without ``reconcile`` an ambiguous
        failure is raised.
        """
        what = self.what(method, url)
        ambiguous, started = 0, time.monotonic()

        def once(_attempt: int) -> T:
            return decode(self.exchange(method, url, write=True, phase=phase, checked=True, **parts))

        while True:
            try:
                return self.retrying(once, what)
            except AmbiguousWriteError as exc:
                ambiguous += 1
                if reconcile is None:
                    raise
                self.log.warning(
                    "write outcome unknown; checking before resending", what=what, error=str(exc)
                )
                found = reconcile()
                if found is not None:
                    self.count("reconciled")
                    self.log.info("write had been applied; not resending", what=what)
                    return found
                wait = self.policy.next_wait(ambiguous, started, exc.retry_after)
                if wait is None:
                    exc.message += f" (not applied after {ambiguous} attempts)"
                    raise
                self.count("retries")
                time.sleep(wait)

    def retrying(self, fn: Callable[[int], T], what: str) -> T:
        """``fn(attempt)`` under the connection's retry policy, counting retries."""

        def counted(attempt: int) -> T:
            if attempt:
                self.count("retries")
            return fn(attempt)

        return self.policy.call(counted, what=what, log=self.log)


def _merge(params: Mapping[str, Any] | None, extra: dict[str, str]) -> dict[str, Any] | None:
    if not extra:
        return dict(params) if params is not None else None
    return {**(params or {}), **extra}
