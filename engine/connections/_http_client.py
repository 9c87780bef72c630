"""Requests of an ``http`` connection: credentials, timeouts, one retry policy.

:meth:`HttpClient.exchange` sends one request through
:func:`engine.connections._http_guard.send` (redirects, answer size and the
request deadline; what httpx raises is translated there by what it means
for a write: a failure to connect means nothing was sent, a timeout after
sending is :class:`~engine.errors.AmbiguousWriteError` for writes). It
returns every HTTP answer except a 401 that a fresh token did not cure, so
each caller decides what a status means: the source fails on a 4xx, the
target rejects the record. :meth:`HttpClient.read` is the retried read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

import httpx

from engine import __version__
from engine.connections._common import PHASES
from engine.connections._http_guard import Guard, origin, send, transport
from engine.errors import AuthError, RateLimitedError, SourceError
from engine.retry import RateLimiter, RetryPolicy, parse_retry_after
from engine.secrets import excerpt


def snippet(resp: httpx.Response, size: int = 300) -> str:
    """The start of an answer's body for a message (secrets scrubbed, HTML not quoted)."""
    text = resp.text.strip()
    if not text:
        return ""
    if text.startswith("<"):
        return " (an HTML page)"
    return ": " + excerpt(text, size)


def retry_after(resp: httpx.Response) -> float | None:
    return parse_retry_after(resp.headers.get("Retry-After"))


class HttpClient:
    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        auth: Any,
        headers: dict[str, str],
        log: Any,
        policy: RetryPolicy,
        connect_timeout: float,
        read_timeout: float,
        rate_limit: float | None,
        verify: Any = True,
        max_connections: int = 64,
        guard: Guard | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/") + "/"
        self.log = log
        self.policy = policy
        self.auth = auth
        self.guard = guard or Guard()
        self.http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            headers={"User-Agent": f"engine/{__version__}", "Accept": "application/json", **headers},
            transport=transport(verify=verify, max_connections=max_connections),
        )
        self.origin = httpx.URL(self.base_url).copy_with(path="/", query=None, fragment=None)
        self.limiter = RateLimiter(rate_limit)
        self._lock = threading.Lock()
        self.stats = {"requests": 0, "retries": 0, "renewals": 0}

    def close(self) -> None:
        self.http.close()

    def count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.stats[key] += n

    def resolve(self, url: str, relative_to: str | None = None) -> str:
        """An absolute next-page address, refused unless it is on the connection's server.

        Credentials go with every request, so a ``Link`` header or a cursor URL
        pointing elsewhere must not receive them.
        """
        absolute = httpx.URL(urljoin(relative_to or self.base_url, url))
        home, there = origin(self.origin), origin(absolute)
        if there != home:
            raise SourceError(
                f"http connection '{self.name}': the server pointed to {there}, another "
                f"server than {home}; the credentials are not sent there"
            )
        return str(absolute)

    def exchange(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        write: bool,
        phase: str,
    ) -> httpx.Response:
        """One request (and one more after a 401 when the credential can be renewed).

        Sent under the connection's :class:`~engine.connections._http_guard.Guard`:
        a read follows redirects to its own server (or an allowed one, bare), a
        write never does.
        """
        what = f"http connection '{self.name}': {method} {path_of(url)}"
        renewed = False
        while True:
            auth_headers, auth_params, token = self.auth.apply()
            self.limiter.acquire()
            self.count("requests")
            request = self.http.build_request(
                method,
                url,
                params=_merge(params, auth_params),
                content=content,
                headers={**(headers or {}), **auth_headers},
            )
            resp = send(
                self.http,
                request,
                self.guard,
                what=what,
                write=write,
                phase=PHASES[phase],
                credential_params=auth_params,
            )
            if resp.status_code != 401:
                return resp
            if self.auth.renewable and not renewed:
                renewed = True
                self.count("renewals")
                self.auth.invalidate(token)
                continue
            raise AuthError(
                f"{what} was refused with 401{' after a fresh token' if renewed else ''}{snippet(resp, 200)}",
                hint="the credentials may be revoked or lack the permission this call needs",
            )

    def read(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        phase: str = "source",
        tally: dict[str, int] | None = None,
    ) -> httpx.Response:
        """A request that changes nothing, retried on 408, 429, 5xx and transport failures.

        ``tally`` counts this caller's own requests and retries (a source and a
        target may share the connection, and each reports its own).
        """
        fatal, transient = PHASES[phase]
        what = f"http connection '{self.name}': {method} {path_of(url)}"
        mine = tally if tally is not None else {}

        def once(attempt: int) -> httpx.Response:
            mine["requests"] = mine.get("requests", 0) + 1
            if attempt:
                mine["retries"] = mine.get("retries", 0) + 1
            resp = self.exchange(
                method,
                url,
                params=params,
                content=content,
                headers=headers,
                write=False,
                phase=phase,
            )
            status = resp.status_code
            if status == 429:
                raise RateLimitedError(f"{what} was rate limited (429)", retry_after=retry_after(resp))
            if status >= 500 or status == 408:
                raise transient(f"{what} answered {status}{snippet(resp)}", retry_after=retry_after(resp))
            if not 200 <= status < 300:
                raise fatal(
                    f"{what} answered {status}{snippet(resp)}",
                    hint="check path, params and the connection's base_url" if status == 404 else None,
                )
            return resp

        return self.retrying(once, what)

    def retrying(self, fn: Callable[[int], Any], what: str) -> Any:
        """``fn(attempt)`` under the connection's retry policy, counting retries."""

        def counted(attempt: int) -> Any:
            if attempt:
                self.count("retries")
            return fn(attempt)

        return self.policy.call(counted, what=what, log=self.log)


def path_of(url: str) -> str:
    """The path of a request for messages: never its query (it may hold an API key)."""
    path = url.split("?", 1)[0]
    return path if path.startswith(("http://", "https://", "/")) else "/" + path


def _merge(params: dict[str, Any] | None, extra: dict[str, str]) -> dict[str, Any] | None:
    if not extra:
        return params
    return {**(params or {}), **extra}
