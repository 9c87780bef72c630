"""Cron schedules: run a spec at each due time, one run at a time, never a backlog.

Each scheduled spec has its own thread. It sleeps until the next due time
(asking an injectable :mod:`clock <engine.serve.clock>`), runs the spec on
that thread, and then looks for the next due time *after the run ended*: due
times that passed while the run was going are skipped with one log line, not
queued, so a slow run is never followed by a burst of catch-up runs. Two
runs of one spec cannot overlap: the schedule waits for its run, and runs
triggered by webhooks share the spec's lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from croniter import croniter

from engine.runtime.logs import Log
from engine.serve.clock import Clock, SystemClock

#: a run longer than this many missed due times is reported by count only
_MAX_MISSED_SCAN = 100_000


class Schedule:
    """One spec's cron schedule on its own thread."""

    def __init__(
        self,
        name: str,
        cron: str,
        run: Callable[[], Any],
        *,
        clock: Clock | None = None,
        log: Log | None = None,
    ) -> None:
        self.name = name
        self.cron = cron
        self._run = run
        self.clock = clock or SystemClock()
        self.log = (log or Log()).bind(connector=name, schedule=cron)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: the next due time (None before start and after stop)
        self.next_due: datetime | None = None
        self.runs = 0
        self.skipped = 0

    def start(self) -> None:
        """Start the schedule's thread; the first run is at the next due time, not now. Idempotent."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name=f"engine-schedule:{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop; a run under way finishes first (see :meth:`join`)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for the thread to end; True when it has (or never started)."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def _loop(self) -> None:
        due = croniter(self.cron, self.clock.now()).get_next(datetime)
        self.next_due = due
        self.log.info("schedule started", next_run=due.isoformat())
        while self.clock.wait_until(due, self._stop):
            self.runs += 1
            try:
                self._run()
            except (
                Exception
            ) as exc:  # a bug must not end the schedule; the run's own errors are in its report
                self.log.error("scheduled run crashed", error=f"{type(exc).__name__}: {exc}")
            due = self._next_after(due)
            self.next_due = due
        self.next_due = None

    def _next_after(self, due: datetime) -> datetime:
        """The first due time after now; times missed while the run was going are skipped."""
        times = croniter(self.cron, due)
        nxt = times.get_next(datetime)
        now = self.clock.now()
        if nxt > now:
            return nxt
        first, missed = nxt, 0
        while nxt <= now and missed < _MAX_MISSED_SCAN:
            missed += 1
            nxt = times.get_next(datetime)
        if nxt <= now:
            nxt = croniter(self.cron, now).get_next(datetime)
        self.skipped += missed
        self.log.warning(
            "scheduled times skipped: the previous run was still going",
            missed=missed,
            first=first.isoformat(),
            next_run=nxt.isoformat(),
        )
        return nxt
