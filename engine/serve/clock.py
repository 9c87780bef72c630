"""Time for the scheduler, injectable so schedules are testable without waiting.

The scheduler asks only two things of a clock: what time it is, and to wait
until a time (or until told to stop). :class:`SystemClock` is the wall
clock; :class:`ManualClock` moves only when told to, so a test of an
every-minute schedule takes milliseconds, not minutes.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """The two things the scheduler asks of time."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...

    def wait_until(self, when: datetime, stop: threading.Event) -> bool:
        """Block until ``when``; False when ``stop`` was set first."""
        ...


class SystemClock:
    """The wall clock in the server's local time zone (cron expressions are local time)."""

    #: wake up at least this often, so a changed system clock is noticed
    max_nap = 30.0

    def now(self) -> datetime:
        """The wall-clock time in the local zone, timezone-aware."""
        return datetime.now().astimezone()

    def wait_until(self, when: datetime, stop: threading.Event) -> bool:
        """Sleep in naps of at most :attr:`max_nap` seconds until ``when``; False when ``stop`` is set."""
        while True:
            remaining = (when - self.now()).total_seconds()
            if remaining <= 0:
                return not stop.is_set()
            if stop.wait(min(remaining, self.max_nap)):
                return False


class ManualClock:
    """A clock that stands still until :meth:`advance` or :meth:`set` moves it."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._changed = threading.Condition()
        #: how many threads are waiting right now (tests wait for a scheduler to be parked)
        self.waiters = 0

    def now(self) -> datetime:
        """The time the clock was last set or advanced to."""
        with self._changed:
            return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (backwards too) and wake every waiter to look again."""
        with self._changed:
            self._now = when
            self._changed.notify_all()

    def advance(self, seconds: float) -> datetime:
        """Move forward by ``seconds``, wake every waiter, and return the new time."""
        with self._changed:
            self._now = self._now + timedelta(seconds=seconds)
            self._changed.notify_all()
            return self._now

    def wait_until(self, when: datetime, stop: threading.Event) -> bool:
        """Block until the clock is moved to ``when`` or later; False when ``stop`` is set first.

        The caller is counted in :attr:`waiters` while it blocks.
        """
        with self._changed:
            self.waiters += 1
            try:
                while self._now < when:
                    if stop.is_set():
                        return False
                    self._changed.wait(0.01)
            finally:
                self.waiters -= 1
        return not stop.is_set()
