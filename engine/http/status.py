"""What an HTTP answer's status means, for whoever sent the request.

The client is shared: a source, a target and a connection fetching a token
may all send through it, so the caller names its :class:`~engine.errors.Phase`
and gets that phase's errors, each with its intent:

* ``2xx``: the answer;
* ``429``: rate limited (retried after ``Retry-After``);
* ``408`` and, for a read, ``5xx``: transient (retried);
* ``5xx`` for a write: :class:`~engine.errors.AmbiguousWriteError` (it may
  have been applied: reconciled before anything is resent);
* anything else (a ``4xx``, a redirect that is not followed): refused, as
  the phase's :class:`RefusedError`, carrying the status and the start of the
  body for callers that turn a refusal into a reject.
"""

from __future__ import annotations

from typing import Any

import httpx

from engine.errors import (
    AmbiguousWriteError,
    ConfigError,
    EngineError,
    LookupFailedError,
    Phase,
    SourceError,
    TargetError,
)
from engine.retry import parse_retry_after
from engine.secrets import excerpt


class RefusedError(EngineError):
    """The server refused a request; ``status`` and ``body`` (its start, secrets scrubbed) say why."""

    code = "engine.refused"

    def __init__(self, message: str, *, status: int, body: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.status = status
        self.body = body


class RefusedSourceError(SourceError, RefusedError):
    """The server refused a source's request."""

    code = "engine.source.refused"


class RefusedTargetError(TargetError, RefusedError):
    """The server refused a target's request."""

    code = "engine.target.refused"


class RefusedConnectionError(ConfigError, RefusedError):
    """The server refused a request a connection made for itself."""

    code = "engine.connection.refused"


class RefusedLookupError(LookupFailedError, RefusedError):
    """The server refused a lookup's request."""

    code = "engine.lookup.refused"


#: the refusal of each phase
REFUSED: dict[str, type[RefusedError]] = {
    "source": RefusedSourceError,
    "target": RefusedTargetError,
    "lookup": RefusedLookupError,
    "connection": RefusedConnectionError,
}


def snippet(resp: httpx.Response, size: int = 300) -> str:
    """The start of an answer's body for a message (secrets scrubbed, HTML not quoted)."""
    text = resp.text.strip()
    if not text:
        return ""
    if text.startswith("<"):
        return " (an HTML page)"
    return ": " + excerpt(text, size)


def retry_after(resp: httpx.Response) -> float | None:
    """Seconds the answer's ``Retry-After`` asks for, or None."""
    return parse_retry_after(resp.headers.get("Retry-After"))


def path_of(url: str) -> str:
    """The path of a request for messages: never its query (it may hold an API key)."""
    path = url.split("?", 1)[0]
    return path if path.startswith(("http://", "https://", "/")) else "/" + path


def check(resp: httpx.Response, what: str, phase: Phase, *, write: bool) -> httpx.Response:
    """``resp`` when its status is a success; otherwise the error it means (see the module docstring).

    ``what`` starts the message (``http connection 'shop': GET /orders``).

    Raises:
        RateLimitedError: a 429, as ``phase.rate_limited``.
        TransientError: a 408, or a 5xx of a read, as ``phase.transient``.
        AmbiguousWriteError: a 5xx of a write.
        RefusedError: any other status, as the phase's refusal.
    """
    status = resp.status_code
    if 200 <= status < 300:
        return resp
    if status == 429:
        raise phase.rate_limited(f"{what} was rate limited (429)", retry_after=retry_after(resp))
    if status >= 500 or status == 408:
        message = f"{what} answered {status}{snippet(resp)}"
        if write and status != 408:
            raise AmbiguousWriteError(message, retry_after=retry_after(resp))
        raise phase.transient(message, retry_after=retry_after(resp))
    raise REFUSED[phase.name](
        f"{what} answered {status}{snippet(resp)}",
        status=status,
        body=excerpt(resp.text, 2000, collapse=False),
        hint="check path, params and the connection's base_url" if status == 404 else None,
    )
