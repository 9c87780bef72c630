"""The one retry policy every remote call uses.

Transient failures (connection errors, timeouts, 5xx, 429, throttling codes)
are retried with exponential backoff and full jitter, honouring a server's
``Retry-After`` (seconds or an HTTP date) and bounded by ``max_attempts`` and
``max_elapsed``. Anything else is raised at once. Writes that may already
have been applied are never blindly resent: callers reconcile first (see
:class:`engine.errors.AmbiguousWriteError`).
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from engine.errors import AmbiguousWriteError, TransientError
from engine.units import seconds

T = TypeVar("T")

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "retries of transient failures (exponential backoff with jitter)",
    "properties": {
        "max_attempts": {"type": "integer", "minimum": 1, "maximum": 100, "default": 6},
        "max_elapsed": {
            "type": ["number", "string"],
            "default": "5m",
            "description": "give up once retrying has taken this long",
        },
        "backoff": {"type": ["number", "string"], "default": "500ms", "description": "first delay"},
        "max_backoff": {"type": ["number", "string"], "default": "30s", "description": "longest delay"},
    },
    "default": {"max_attempts": 6, "max_elapsed": "5m", "backoff": "500ms", "max_backoff": "30s"},
}


def backoff(attempt: int, base: float, cap: float = 30.0) -> float:
    """Delay before retry ``attempt`` (0-based): doubling, capped, full jitter above half."""
    return min(cap, base * (2**attempt)) * random.uniform(0.5, 1.0)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How long a remote call keeps trying: attempts, total time and delay bounds, all in seconds."""

    max_attempts: int = 6
    max_elapsed: float = 300.0
    base_delay: float = 0.5
    max_delay: float = 30.0

    @classmethod
    def from_options(cls, options: dict[str, Any] | None) -> RetryPolicy:
        """The policy of a spec's ``retry:`` block (durations such as ``"5m"``); None gives the defaults."""
        o = options or {}
        return cls(
            max_attempts=int(o.get("max_attempts", 6)),
            max_elapsed=seconds(o.get("max_elapsed", "5m")) or 300.0,
            base_delay=seconds(o.get("backoff", "500ms")) or 0.5,
            max_delay=seconds(o.get("max_backoff", "30s")) or 30.0,
        )

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry ``attempt`` (0-based), never less than the server's ``retry_after``."""
        wait = backoff(attempt, self.base_delay, self.max_delay)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait

    def call(
        self,
        fn: Callable[[int], T],
        *,
        what: str,
        log: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        stop: threading.Event | None = None,
    ) -> T:
        """``fn(attempt)`` until it succeeds, retrying transient errors.

        An :class:`AmbiguousWriteError` is not retried here: the caller must
        reconcile before anything is resent.
        """
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                return fn(attempt)
            except AmbiguousWriteError:
                raise
            except TransientError as exc:
                attempt += 1
                wait = self.delay(attempt - 1, exc.retry_after)
                elapsed = time.monotonic() - started
                if attempt >= self.max_attempts or elapsed + wait > self.max_elapsed:
                    exc.message = (
                        f"{exc.message} (gave up after {attempt} attempt{'s' if attempt > 1 else ''}, "
                        f"{elapsed:.1f}s)"
                    )
                    raise
                if log is not None:
                    log.warning("retrying", what=what, attempt=attempt, wait=round(wait, 2), error=str(exc))
                if stop is not None:
                    if stop.wait(wait):
                        raise
                else:
                    sleep(wait)


class RateLimiter:
    """At most ``rate`` calls per second, shared by threads (a token bucket)."""

    def __init__(self, rate: float | None, burst: int = 1) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Block until a call may go out; returns at once when no rate is set."""
        if not self.rate:
            return
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self.rate
            time.sleep(wait)
