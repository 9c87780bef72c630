"""HTTP calls to Fluent with timeouts, one retry policy and safe writes.

Reads are retried on connection errors, timeouts, 5xx and 429 (waiting as
long as ``Retry-After`` asks). Every request obeys the connection's
:class:`~engine.connections._http_guard.Guard` (redirects, answer size,
request deadline), the same policy as the ``http`` connection's. A write that may have reached the server (a
timeout after sending, a 5xx, a garbled 2xx) is *ambiguous*: it is resent
only after the caller's ``reconcile`` confirmed it was not applied, so a
batch, event or order is never duplicated by a retry. A 401 renews the token
once; a second 401 is a clear failure, not a storm of requests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from engine import __version__
from engine.connections._http_guard import Guard, json_of, send, transport
from engine.errors import (
    AmbiguousWriteError,
    AuthError,
    RateLimitedError,
    TargetError,
    TransientTargetError,
)
from engine.fluent.auth import TokenManager
from engine.fluent.codes import classify
from engine.jsonutil import dumps_bytes
from engine.retry import RateLimiter, RetryPolicy, parse_retry_after
from engine.secrets import excerpt


class FluentHTTPError(TargetError):
    """Fluent refused a request (4xx other than 401/429). ``status`` and ``body`` say why."""

    def __init__(self, message: str, *, status: int, body: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class FluentClient:
    """HTTP access to one Fluent account, shared by every source and target using the connection.

    Thread-safe: calls may come from several workers at once; they share the
    token, the connection pool and the rate limiter. ``stats`` counts
    requests, retries and reconciled writes for the run report.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        credentials: dict[str, str],
        *,
        log: Any,
        policy: RetryPolicy | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        rate_limit: float | None = None,
        scope: str | None = "api",
        max_connections: int = 16,
        guard: Guard | None = None,
    ) -> None:
        self.name = name
        self.log = log
        self.policy = policy or RetryPolicy()
        self.guard = guard or Guard()
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            headers={"User-Agent": f"engine/{__version__}"},
            transport=transport(max_connections=max_connections),
        )
        self.auth = TokenManager(self.http, name, credentials, log=log, scope=scope, guard=self.guard)
        self.limiter = RateLimiter(rate_limit)
        self._stats_lock = threading.Lock()
        self.stats = {"requests": 0, "retries": 0, "reconciled": 0}

    def close(self) -> None:
        """Close the connection pool; the client cannot be used afterwards."""
        self.http.close()

    def _count(self, key: str) -> None:
        with self._stats_lock:
            self.stats[key] += 1

    # -- one exchange ---------------------------------------------------------------

    def _exchange(
        self, method: str, path: str, *, body: Any = None, params: dict | None = None, write: bool
    ) -> httpx.Response:
        content = dumps_bytes(body) if body is not None else None
        reauthed = False
        while True:
            token = self.auth.token()
            self.limiter.acquire()
            self._count("requests")
            headers = {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            }
            request = self.http.build_request(method, path, content=content, params=params, headers=headers)
            resp = send(
                self.http,
                request,
                self.guard,
                what=f"fluent connection '{self.name}': {method} {path}",
                write=write,
                phase=(TargetError, TransientTargetError),
            )
            status = resp.status_code
            if status == 401:
                self.auth.invalidate(token)
                if not reauthed:
                    reauthed = True
                    continue
                raise AuthError(
                    f"fluent connection '{self.name}': {method} {path} refused with 401 after a "
                    "fresh sign-in",
                    hint="the user may lack the role this call needs, or the credentials were revoked",
                )
            if status == 429:
                raise RateLimitedError(
                    f"fluent connection '{self.name}': rate limited (429) on {method} {path}",
                    retry_after=parse_retry_after(resp.headers.get("Retry-After")),
                )
            if status >= 500:
                message = (
                    f"fluent connection '{self.name}': {method} {path} answered {status}{_snippet(resp)}"
                )
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                if write:
                    raise AmbiguousWriteError(message, retry_after=retry_after)
                raise TransientTargetError(message, retry_after=retry_after)
            if not 200 <= status < 300:  # a 4xx, or a redirect that was not followed (writes never are)
                raise FluentHTTPError(
                    f"fluent connection '{self.name}': {method} {path} answered {status}{_snippet(resp)}",
                    status=status,
                    body=excerpt(resp.text, 2000, collapse=False),
                )
            return resp

    @staticmethod
    def _json(resp: httpx.Response, *, write: bool, what: str) -> Any:
        text = resp.text
        if not text.strip():
            return {}
        try:
            return json_of(resp)
        except ValueError:
            message = f"{what}: the answer is not JSON{_snippet(resp)}"
            raise (AmbiguousWriteError(message) if write else TransientTargetError(message)) from None

    # -- public calls ----------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET ``path`` (relative to the base URL), retried as a read; the decoded JSON, ``{}`` if empty."""
        what = f"GET {path}"

        def once(_attempt: int) -> Any:
            return self._json(self._exchange("GET", path, params=params, write=False), write=False, what=what)

        return self._retrying(once, what)

    def read_post(self, path: str, body: Any) -> Any:
        """A POST that changes nothing (a GraphQL query): retried like a read."""
        what = f"POST {path}"

        def once(_attempt: int) -> Any:
            return self._json(self._exchange("POST", path, body=body, write=False), write=False, what=what)

        return self._retrying(once, what)

    def write(self, path: str, body: Any, *, reconcile: Callable[[], Any] | None = None) -> Any:
        """A POST that changes state, never applied twice.

        After an ambiguous failure ``reconcile()`` is asked whether the write
        took effect: it returns what the write would have returned (then that
        is the answer) or None (then the write is sent again). Without
        ``reconcile`` an ambiguous failure is raised.
        """
        what = f"POST {path}"
        ambiguous = 0
        started = time.monotonic()
        while True:
            try:
                return self._retrying(
                    lambda _a: self._json(
                        self._exchange("POST", path, body=body, write=True), write=True, what=what
                    ),
                    what,
                )
            except AmbiguousWriteError as exc:
                ambiguous += 1
                if reconcile is None:
                    raise
                self.log.warning(
                    "write outcome unknown; checking before resending", what=what, error=str(exc)
                )
                found = reconcile()
                if found is not None:
                    self._count("reconciled")
                    self.log.info("write had been applied; not resending", what=what)
                    return found
                elapsed = time.monotonic() - started
                if ambiguous >= self.policy.max_attempts or elapsed > self.policy.max_elapsed:
                    exc.message += f" (not applied after {ambiguous} attempts)"
                    raise
                self._count("retries")
                time.sleep(self.policy.delay(ambiguous - 1, exc.retry_after))

    def _retrying(self, fn: Callable[[int], Any], what: str) -> Any:
        def counted(attempt: int) -> Any:
            if attempt:
                self._count("retries")
            return fn(attempt)

        return self.policy.call(counted, what=what, log=self.log)

    def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        mutation: bool = False,
        reconcile: Callable[[], Any] | None = None,
    ) -> dict[str, Any]:
        """The GraphQL envelope ``{data, errors}``; throttling codes are retried for queries."""
        body: dict[str, Any] = {"query": query}
        if variables:
            body["variables"] = variables
        if mutation:
            return self.write("graphql", body, reconcile=reconcile)

        def once(_attempt: int) -> Any:
            env = self._json(
                self._exchange("POST", "graphql", body=body, write=False), write=False, what="POST /graphql"
            )
            errors = env.get("errors") if isinstance(env, dict) else None
            if errors and env.get("data") is None:
                verdicts = [classify(e) for e in errors if isinstance(e, dict)]
                if verdicts and all(v.retryable for v in verdicts):
                    # the policy's backoff paces the retries (the codes' suggested delays are minutes)
                    cls = (
                        RateLimitedError
                        if any(v.code == "C0011E" for v in verdicts)
                        else TransientTargetError
                    )
                    raise cls(
                        f"fluent connection '{self.name}': GraphQL {verdicts[0].meaning} "
                        f"({verdicts[0].code or 'no code'})"
                    )
            return env

        return self._retrying(lambda a: once(a), "POST /graphql")


def _snippet(resp: httpx.Response) -> str:
    text = resp.text.strip()
    if not text:
        return ""
    if text.lstrip().startswith("<"):
        return " (an HTML page)"
    return f": {excerpt(text, 300)}"
