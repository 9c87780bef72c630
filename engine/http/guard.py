"""What every HTTP request the engine sends obeys: where a redirect may lead, how large an answer and how long a request may be.

Every request of :class:`engine.http.client.HttpClient` (the ``http`` and
``fluent`` connections' requests and their token requests) is sent through
:func:`send`, so the policy is written once:

* **Redirects** are followed for reads only, and only to the request's own
  origin (scheme, host and port), with its credentials. An origin listed in
  ``allow_redirects_to`` is followed too, but bare: no credentials, none of
  the connection's headers, no credential query parameter. Anywhere else is
  an error naming both origins, as is a loop or more than
  :data:`MAX_REDIRECTS` hops. A write is never redirected (a ``POST`` turned
  into a ``GET``, or sent twice, is worse than a clear refusal): its 3xx is
  the caller's answer.
* **Answers** are streamed and refused once they pass ``max_response_size``
  (a declared ``Content-Length`` is refused before reading), counted after
  decompression so a gzip bomb stops at the same size.
* **Time**: ``read_timeout`` bounds each wait for bytes; ``request_timeout``
  bounds the whole request (connect, send, headers, body, redirects), so a
  server dripping a byte at a time cannot hold a run. httpcore checks its
  timeouts per socket operation, so the deadline is enforced in the socket
  layer itself (:class:`_DeadlineBackend`): every read and write waits at
  most until the deadline.
"""

from __future__ import annotations

import contextvars
import dataclasses
import socket
import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpcore
import httpx

from engine.errors import AmbiguousWriteError, EngineError, Phase
from engine.secrets import redactor
from engine.units import duration, seconds, size, size_bytes

#: redirect hops one request may take before it is an error
MAX_REDIRECTS = 10
#: headers a redirect to an allowed foreign origin keeps (everything else may identify or authorise)
_NEUTRAL = ("user-agent", "accept", "accept-encoding", "content-type")

#: options both HTTP connections (``http``, ``fluent``) take, with their defaults
SCHEMA: dict[str, Any] = {
    "max_response_size": size(
        "refuse an answer larger than this (bytes, or 32MB, 1GiB); it is not read further", default="32MB"
    ),
    "request_timeout": duration(
        "the longest one request may take in total (connect, send, answer, redirects)", default="5m"
    ),
    "allow_redirects_to": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "other origins (https://host[:port]) a read may be redirected to; they "
        "get no credentials and none of the connection's headers",
    },
}


def origin(url: httpx.URL | str) -> str:
    """``scheme://host:port`` of ``url``, the port always written (``https://a`` is ``https://a:443``)."""
    u = httpx.URL(url) if isinstance(url, str) else url
    port = u.port or {"http": 80, "https": 443}.get(u.scheme, 0)
    host = f"[{u.host}]" if ":" in u.host else u.host
    return f"{u.scheme}://{host}:{port}"


@dataclasses.dataclass(frozen=True)
class Guard:
    """The limits of one connection's requests (see the module docstring); the schema's defaults."""

    max_response: int = size_bytes(SCHEMA["max_response_size"]["default"]) or 0
    request_timeout: float = seconds(SCHEMA["request_timeout"]["default"]) or 0.0
    allowed: frozenset[str] = frozenset()

    @classmethod
    def from_options(cls, options: Any) -> tuple[Guard, list[tuple[tuple[str | int, ...], str]]]:
        """The guard a connection block asks for, and the problems of its options (spec paths).

        ``options`` has ``max_response_size`` (bytes), ``request_timeout`` (seconds) and
        ``allow_redirects_to``; a value out of range is reported and its default used.
        """
        problems: list[tuple[tuple[str | int, ...], str]] = []
        guard = cls()
        if options.max_response_size is not None:
            if options.max_response_size <= 0:
                problems.append((("max_response_size",), "must be more than 0 bytes"))
            else:
                guard = dataclasses.replace(guard, max_response=int(options.max_response_size))
        if options.request_timeout is not None:
            if options.request_timeout <= 0:
                problems.append((("request_timeout",), "must be longer than 0 seconds"))
            else:
                guard = dataclasses.replace(guard, request_timeout=float(options.request_timeout))
        allowed = set()
        for i, text in enumerate(options.allow_redirects_to or ()):
            u = httpx.URL(str(text)) if "://" in str(text) else None
            if u is None or u.scheme not in ("http", "https") or not u.host or u.raw_path not in (b"", b"/"):
                problems.append(
                    (
                        ("allow_redirects_to", i),
                        f"expected an origin such as https://cdn.example.com, got {text!r}",
                    )
                )
                continue
            allowed.add(origin(u))
        return dataclasses.replace(guard, allowed=frozenset(allowed)), problems


# -- the deadline, enforced in the socket layer ------------------------------------------------

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("http_deadline", default=None)


def _clamp(timeout: float | None, expired: type[Exception]) -> float | None:
    """``timeout`` shortened to what is left of the current request's deadline."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> Any:
        return _DeadlineStream(
            self.inner.start_tls(ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, with every wait ending at the current request's deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self.inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self.inner.connect_tcp(
            host, port, _clamp(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def transport(*, verify: Any = True, max_connections: int) -> httpx.HTTPTransport:
    """The transport of one connection: a pool of ``max_connections``, Nagle off, the deadline on."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    # headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
    # holds the body until the peer's delayed ACK (~40 ms per request)
    made = httpx.HTTPTransport(
        verify=verify, limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    )
    # httpx takes no network backend, but its pool (httpcore's ConnectionPool) keeps one to wrap;
    # the request_timeout tests fail if a new httpx release moves it
    pool = made._pool
    pool._network_backend = _DeadlineBackend(pool._network_backend)
    return made


# -- one request ---------------------------------------------------------------------------------


def send(
    http: httpx.Client,
    request: httpx.Request,
    guard: Guard,
    *,
    what: str,
    write: bool,
    phase: Phase,
    credential_params: Mapping[str, str] | None = None,
    follow: bool | None = None,
) -> httpx.Response:
    """``request`` sent under ``guard``: redirects checked, the answer read whole but bounded, in time.

    ``what`` starts every message (``http connection 'shop': GET /orders``);
    ``phase`` gives the error classes of the caller (its fatal and transient ones).
    ``credential_params`` are query parameters that carry a credential: put
    back on a same-origin redirect, removed from a redirect elsewhere.
    Redirects are followed for reads unless ``follow`` is False (a token
    request carries a secret in its body), never for writes. A failure to
    connect or a timeout is transient (ambiguous for a write: the server may
    have applied it); a refused redirect, a loop and an answer past
    ``max_response_size`` are fatal. Returns the final answer, its body read.
    """
    fatal, transient = phase.fatal, phase.transient
    follow = (not write) if follow is None else (follow and not write)
    token = _DEADLINE.set(time.monotonic() + guard.request_timeout)
    try:
        return _exchange(http, request, guard, what, fatal, follow, credential_params or {})
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        # nothing reached the server: sending again is always safe
        host = request.url.host
        raise transient(f"{what}: cannot connect to {host} ({type(exc).__name__})") from None
    except httpx.TimeoutException as exc:
        deadline = _DEADLINE.get()
        if deadline is not None and time.monotonic() >= deadline:
            message = (
                f"{what} took longer than request_timeout ({guard.request_timeout:g}s) in total; "
                "the server answers too slowly"
            )
        else:
            message = f"{what} timed out ({type(exc).__name__})"
        raise (AmbiguousWriteError(message) if write else transient(message)) from None
    except httpx.TransportError as exc:
        message = f"{what} failed: {type(exc).__name__}"
        raise (AmbiguousWriteError(message) if write else transient(message)) from None
    except httpx.HTTPError as exc:  # an answer that cannot be decoded (a broken gzip stream ...)
        raise fatal(f"{what}: the answer cannot be read ({type(exc).__name__})") from None
    finally:
        _DEADLINE.reset(token)


def _exchange(
    http: httpx.Client,
    request: httpx.Request,
    guard: Guard,
    what: str,
    fatal: type[EngineError],
    follow: bool,
    credential_params: Mapping[str, str],
) -> httpx.Response:
    home = origin(request.url)
    trail = [request.url]
    while True:
        resp = http.send(request, stream=True)
        try:
            if not (follow and resp.has_redirect_location):
                return _complete(resp, guard, what, fatal)
            nxt = resp.next_request
        finally:
            resp.close()
        assert nxt is not None
        trail.append(nxt.url)
        if any(_plain(nxt.url, credential_params) == _plain(seen, credential_params) for seen in trail[:-1]):
            raise fatal(f"{what}: a redirect loop ({_chain(trail)})", hint="the server redirects in a circle")
        if len(trail) > MAX_REDIRECTS + 1:
            raise fatal(f"{what}: more than {MAX_REDIRECTS} redirects ({_chain(trail)})")
        there = origin(nxt.url)
        if there == home:
            if credential_params:
                nxt.url = nxt.url.copy_merge_params(dict(credential_params))
            request = nxt
        elif there in guard.allowed:
            request = _bare(nxt, credential_params)
        else:
            raise fatal(
                f"{what}: {home} redirected to {there}, another server; not followed, so the "
                f"credentials and headers meant for {home} were not sent there",
                hint="if that server is meant to answer, list it in the connection's "
                "allow_redirects_to (it then gets no credentials and none of the headers)",
            )


def json_of(resp: httpx.Response) -> Any:
    """The answer's JSON; ValueError when it is not JSON, or nested too deep to decode.

    A hostile ``[[[[...`` makes the decoder recurse until Python stops it; that
    is an answer that is not usable JSON, not a crash.
    """
    try:
        return resp.json()
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _plain(url: httpx.URL, credential_params: Mapping[str, str]) -> httpx.URL:
    """``url`` without the query parameters that carry a credential."""
    for name in credential_params:
        url = url.copy_remove_param(name)
    return url


def _bare(request: httpx.Request, credential_params: Mapping[str, str]) -> httpx.Request:
    """``request`` without credentials or the connection's headers, for an allowed foreign origin."""
    url = _plain(request.url, credential_params)
    headers = {k: v for k, v in request.headers.items() if k.lower() in _NEUTRAL}
    return httpx.Request(request.method, url, headers=headers, content=request.read() or None)


def _complete(resp: httpx.Response, guard: Guard, what: str, fatal: type[EngineError]) -> httpx.Response:
    """The answer with its body read, refused as soon as it passes ``max_response_size``."""
    limit = guard.max_response
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(what, limit, fatal, declared=int(declared))
    parts: list[bytes] = []
    size = 0
    for part in resp.iter_bytes():  # decoded: a compressed answer counts at its real size
        size += len(part)
        if size > limit:
            raise _too_large(what, limit, fatal)
        parts.append(part)
    headers = [
        (k, v)
        for k, v in resp.headers.multi_items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        resp.status_code,
        headers=headers,
        content=b"".join(parts),
        request=resp.request,
        extensions=resp.extensions,
    )


def _too_large(what: str, limit: int, fatal: type[EngineError], declared: int | None = None) -> EngineError:
    said = f" (it announced {_size(declared)})" if declared is not None else ""
    return fatal(
        f"{what}: the answer is larger than max_response_size ({_size(limit)}){said}; it was not read further",
        hint="raise the connection's max_response_size if answers this large are expected, or ask for "
        "smaller pages",
    )


def _size(n: int) -> str:
    for unit, factor in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if n >= factor:
            return f"{n / factor:.3g} {unit}"
    return f"{n} bytes"


def _chain(urls: list[httpx.URL]) -> str:
    """The hops of a redirect chain for a message: origins and paths, never a query (it may hold a key)."""
    return " -> ".join(redactor.scrub(f"{origin(u)}{u.path}") for u in urls)
