"""The one retry policy every remote call uses, and the reads that resume under it.

Transient failures (connection errors, timeouts, 5xx, 429, throttling codes,
a download cut short) are retried with exponential backoff and jitter,
honouring a server's ``Retry-After`` (seconds or an HTTP date) and bounded
by ``max_attempts`` and ``max_elapsed``. Anything else is raised at once.
Writes that may already have been applied are never blindly resent: callers
reconcile first (see :class:`engine.errors.AmbiguousWriteError`).

Every connection (``http``, ``fluent``, ``s3``, ``sftp``) takes the same
``retry:`` block (:data:`SCHEMA`), which the option builder turns into a
:class:`RetryPolicy`: durations arrive in seconds.
"""

from __future__ import annotations

import dataclasses
import io
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from engine.contracts import Logger
from engine.errors import AmbiguousWriteError, EngineError, TransientError
from engine.units import duration, seconds

T = TypeVar("T")

#: the ``retry:`` option of every connection; its defaults are the policy's
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "retries of transient failures (exponential backoff with jitter)",
    "properties": {
        "max_attempts": {
            "type": "integer",
            "minimum": 1,
            "maximum": 100,
            "default": 6,
            "description": "tries in all, the first one included (1: no retry)",
        },
        "max_elapsed": duration("give up once retrying has taken this long", default="5m"),
        "backoff": duration("the first delay; it doubles with every retry", default="500ms"),
        "max_backoff": duration("the longest delay", default="30s"),
    },
    "default": {"max_attempts": 6, "max_elapsed": "5m", "backoff": "500ms", "max_backoff": "30s"},
}


#: the options ``s3`` and ``sftp`` took before ``retry``: still read, reported as deprecated
LEGACY: dict[str, Any] = {
    "retries": {
        "type": "integer",
        "minimum": 0,
        "maximum": 20,
        "deprecated": True,
        "description": "deprecated: write retry: {max_attempts: N+1} (retries counted the tries after the first)",
    },
    "retry_delay": duration("deprecated: write retry: {backoff: ...}", deprecated=True),
}


def legacy_schema(*keys: str) -> dict[str, Any]:
    """The deprecated ``keys`` of a connection's schema, and the rule that they do not go with ``retry``."""
    return {
        "properties": {key: LEGACY[key] for key in keys},
        "dependentSchemas": {
            key: {
                "not": {"required": ["retry"]},
                "x-error": f"{key} is the deprecated form of retry; give retry only",
            }
            for key in keys
        },
    }


def _default(key: str) -> Any:
    value = SCHEMA["properties"][key]["default"]
    return value if key == "max_attempts" else seconds(value)


def backoff(attempt: int, base: float, cap: float) -> float:
    """Delay before retry ``attempt`` (0-based): doubling from ``base`` up to ``cap``, jittered down to half."""
    return min(cap, base * 2.0**attempt) * random.uniform(0.5, 1.0)


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
    """A connection's ``retry:`` block: attempts in all, and time bounds in seconds (see :data:`SCHEMA`)."""

    max_attempts: int = _default("max_attempts")
    max_elapsed: float = _default("max_elapsed")
    backoff: float = _default("backoff")
    max_backoff: float = _default("max_backoff")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry ``attempt`` (0-based), never less than the server's ``retry_after``."""
        wait = backoff(attempt, self.backoff, self.max_backoff)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait

    def next_wait(self, failures: int, started: float, retry_after: float | None = None) -> float | None:
        """How long to wait before trying again, or None when the policy gives up.

        ``failures`` counts the failed attempts so far (at least 1), the first
        of them made at ``started`` (``time.monotonic()``). The policy gives
        up after ``max_attempts`` attempts, or when the wait would take the
        retrying past ``max_elapsed``.
        """
        if failures >= self.max_attempts:
            return None
        wait = self.delay(failures - 1, retry_after)
        if time.monotonic() - started + wait > self.max_elapsed:
            return None
        return wait

    def call(
        self,
        fn: Callable[[int], T],
        *,
        what: str,
        log: Logger | None = None,
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
                wait = self.next_wait(attempt, started, exc.retry_after)
                if wait is None:
                    elapsed = time.monotonic() - started
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


def with_legacy(policy: RetryPolicy, retries: int | None, retry_delay: float | None = None) -> RetryPolicy:
    """``policy`` as the deprecated ``retries`` (tries after the first) and ``retry_delay`` ask, when given."""
    if retries is not None:
        policy = dataclasses.replace(policy, max_attempts=retries + 1)
    if retry_delay is not None:
        policy = dataclasses.replace(policy, backoff=retry_delay)
    return policy


def legacy_warnings(retries: int | None, retry_delay: float | None = None) -> list[tuple[tuple[str], str]]:
    """A warning at each deprecated option given, saying what to write instead."""
    instead = []
    if retries is not None:
        instead.append(f"max_attempts: {retries + 1}")
    if retry_delay is not None:
        instead.append(f"backoff: {_duration_text(retry_delay)}")
    write = "write retry: {" + ", ".join(instead) + "} instead"
    out: list[tuple[tuple[str], str]] = []
    if retries is not None:
        out.append((("retries",), f"retries is deprecated; {write}"))
    if retry_delay is not None:
        out.append((("retry_delay",), f"retry_delay is deprecated; {write}"))
    return out


def _duration_text(value: float) -> str:
    return f"{value * 1000:g}ms" if value < 1 else f"{value:g}s"


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


# -- reads of remote files that survive dropped connections ------------------------------------


class ShortRead(Exception):
    """The stream ended before the size the listing promised (a silent drop)."""


class ResumableReader(io.RawIOBase):
    """A binary stream over a remote file that survives dropped connections.

    A 5 GB download that loses its connection at 4.9 GB should not start
    again: ``open_at(offset)`` returns an object with ``read(n)`` and
    ``close()`` positioned at ``offset`` (an S3 range request, an SFTP seek);
    ``is_drop(exc)`` says whether an exception means the connection went
    away (worth reopening); ``give_up(exc, offset)`` turns the last
    exception into the engine error to raise (a transient one: the file
    stays where it is). The ``policy`` counts consecutive failures without
    progress, so a long transfer may survive several separate drops.
    """

    def __init__(
        self,
        open_at: Callable[[int], Any],
        *,
        size: int | None,
        policy: RetryPolicy,
        is_drop: Callable[[BaseException], bool],
        give_up: Callable[[BaseException, int], EngineError],
        log: Logger | None = None,
        name: str = "",
    ) -> None:
        super().__init__()
        self._open_at = open_at
        self._size = size
        self._policy = policy
        self._is_drop = is_drop
        self._give_up = give_up
        self._log = log
        self._name = name
        self._raw: Any = None
        self._pos = 0
        self._failures = 0
        self._since = 0.0
        self.reopened = 0

    def readable(self) -> bool:
        """Always: this is a read stream."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` from the remote file, reopening it at the current offset after a drop."""
        view = memoryview(buffer).cast("B")
        while True:
            try:
                if self._raw is None:
                    self._raw = self._open_at(self._pos)
                data = self._raw.read(len(view))
                if not data and self._size is not None and self._pos < self._size:
                    raise ShortRead(f"stream ended after {self._pos} of {self._size} bytes")
            except EngineError:
                self._drop_raw()
                raise
            except Exception as exc:  # classified below, then translated
                self._drop_raw()
                self._wait_or_give_up(exc)
                continue
            n = len(data)
            view[:n] = data
            self._pos += n
            if n:
                self._failures = 0
            return n

    def _wait_or_give_up(self, exc: Exception) -> None:
        if not self._failures:
            self._since = time.monotonic()
        self._failures += 1
        wait = self._policy.next_wait(self._failures, self._since)
        if not (isinstance(exc, ShortRead) or self._is_drop(exc)) or wait is None:
            raise self._give_up(exc, self._pos) from exc
        self.reopened += 1
        if self._log is not None:
            self._log.warning(
                "connection lost while reading, resuming",
                file=self._name,
                offset=self._pos,
                attempt=self._failures,
                error=str(exc) or type(exc).__name__,
            )
        time.sleep(wait)

    def _drop_raw(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            try:
                raw.close()
            except Exception:  # the connection is already broken
                pass

    def close(self) -> None:
        """Close the remote stream (harmless twice)."""
        if not self.closed:
            self._drop_raw()
        super().close()


def buffered(reader: ResumableReader, size: int = 1 << 20) -> io.BufferedReader:
    """What sources hand the runner: block reads and ``readline`` over the resumable stream."""
    return io.BufferedReader(reader, buffer_size=size)
