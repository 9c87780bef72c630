"""What one sender can hold of ``engine serve``: connections, time before a request arrives, memory for bodies.

uvicorn limits connections (``limit_concurrency``: beyond it a request is
answered 503) and the idle time after an answer (``timeout_keep_alive``),
but it waits forever for the headers of a request on a connection that
opened and went quiet, or that drips them a byte at a time.
:func:`header_deadline_protocol` closes such a connection once
``header_timeout`` has passed without complete headers. The body of a
request has its own deadline (``body_timeout``, in the endpoint), and
:class:`BodyBudget` bounds the bytes of bodies held in memory at once, all
requests together, so a flood of large bodies with well-formed but forged
signatures (which can only be judged once the body is read) cannot exhaust
memory.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from engine.runtime.logs import Log


def header_deadline_protocol(header_timeout: float, log: Log) -> type[H11Protocol]:
    """The h11 protocol of uvicorn, closing a connection whose request headers take over ``header_timeout``.

    The clock starts when the connection opens and again after each answer; it
    stops when a request's headers are complete. A request being handled is
    never cut: only a connection with no request in progress is closed.
    """

    class HeaderDeadline(H11Protocol):
        _timer: asyncio.TimerHandle | None = None
        _awaited: Any = None

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._timer is not None:
                self._timer.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
            # a new cycle is created when a request's headers are complete: until then this one is current
            self._awaited = self.cycle
            self._timer = self.loop.call_later(header_timeout, self._expire)

        def _expire(self) -> None:
            self._timer = None
            cycle = self.cycle
            waiting = cycle is self._awaited and (cycle is None or cycle.response_complete)
            if waiting and not self.transport.is_closing():
                log.info(
                    "connection closed: no complete request within the header timeout",
                    client=f"{self.client[0]}:{self.client[1]}" if self.client else None,
                    header_timeout=f"{header_timeout:g}s",
                )
                self.transport.close()

    return HeaderDeadline


class BodyBudget:
    """Bytes of request bodies that may be held in memory at once, across every request.

    Used from the event loop only (one thread), so it needs no lock. A request
    takes its declared ``Content-Length`` (or the body limit when it declares
    none) before its body is read, and gives it back when it is answered.
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0

    def take(self, size: int) -> bool:
        """Reserve ``size`` bytes; False (nothing reserved) when that would pass the total."""
        if self.used + size > self.total:
            return False
        self.used += size
        return True

    def give(self, size: int) -> None:
        """Return bytes reserved by :meth:`take`."""
        self.used -= size
