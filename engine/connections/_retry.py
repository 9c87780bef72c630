"""Backoff and resumable reads for remote files.

A 5 GB download that loses its connection at 4.9 GB should not start again,
and a listing that hits a reset should not fail a nightly run. Both remote
connections retry with exponential backoff and jitter; downloads reopen at
the byte where they stopped (an S3 range request, an SFTP seek), and give up
with a transient error (the file stays where it is) when the drops continue.
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Callable
from typing import Any

from engine.errors import EngineError


def backoff(attempt: int, base: float, cap: float = 30.0) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): doubling, capped, with jitter."""
    return min(cap, base * (2**attempt)) * random.uniform(0.5, 1.0)


class ShortRead(Exception):
    """The stream ended before the size the listing promised (a silent drop)."""


class ResumableReader(io.RawIOBase):
    """A binary stream over a remote file that survives dropped connections.

    ``open_at(offset)`` returns an object with ``read(n)`` and ``close()``
    positioned at ``offset``; ``is_drop(exc)`` says whether an exception means
    the connection went away (worth reopening); ``give_up(exc, offset)``
    turns the last exception into the engine error to raise. The retry budget
    counts consecutive failures without progress, so a long transfer may
    survive several separate drops.
    """

    def __init__(
        self,
        open_at: Callable[[int], Any],
        *,
        size: int | None,
        retries: int,
        delay: float,
        is_drop: Callable[[BaseException], bool],
        give_up: Callable[[BaseException, int], EngineError],
        log: Any = None,
        name: str = "",
    ) -> None:
        super().__init__()
        self._open_at = open_at
        self._size = size
        self._retries = retries
        self._delay = delay
        self._is_drop = is_drop
        self._give_up = give_up
        self._log = log
        self._name = name
        self._raw: Any = None
        self._pos = 0
        self._failures = 0
        self.reopened = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
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
                if not (isinstance(exc, ShortRead) or self._is_drop(exc)) or self._failures >= self._retries:
                    raise self._give_up(exc, self._pos) from exc
                wait = backoff(self._failures, self._delay)
                self._failures += 1
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
                continue
            n = len(data)
            view[:n] = data
            self._pos += n
            if n:
                self._failures = 0
            return n

    def _drop_raw(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            try:
                raw.close()
            except Exception:  # the connection is already broken
                pass

    def close(self) -> None:
        if not self.closed:
            self._drop_raw()
        super().close()


def buffered(reader: ResumableReader, size: int = 1 << 20) -> io.BufferedReader:
    """What sources hand the runner: block reads and ``readline`` over the resumable stream."""
    return io.BufferedReader(reader, buffer_size=size)
