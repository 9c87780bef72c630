"""Cron schedules: run a spec at each due time, one run at a time, never a backlog.

Each scheduled spec has its own thread. It sleeps until the next due time
(asking an injectable :mod:`clock <engine.serve.clock>`), runs the spec on
that thread, and then looks for the next due time *after the run ended*: due
times that passed while the run was going are skipped with one log line, not
queued, so a slow run is never followed by a burst of catch-up runs. Two
runs of one spec cannot overlap: the schedule waits for its run, and runs
triggered by webhooks share the spec's lock.

Several ``engine serve`` instances sharing a state store each keep the
schedule, and each due time runs on exactly one of them: the instance that
claims the due time (a lease per schedule and time, :class:`SlotLeases`)
runs it, the others skip it. An instance that dies takes only its own runs
with it; the next due time is claimed by a live one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from croniter import croniter

from engine.contracts import Item, StateStore
from engine.errors import EngineError
from engine.runtime.logs import Log
from engine.serve.clock import Clock, SystemClock

#: a run longer than this many missed due times is reported by count only
_MAX_MISSED_SCAN = 100_000


class SlotLeases:
    """Due times of one schedule, each run once by whichever instance sharing ``store`` claims it first.

    A due time is an item of the schedule's own ledger (``<name>#schedule``),
    claimed under a run id made of the schedule and the due time, so every
    instance asks for the same one: a live claim, or one that run already
    settled, refuses the others. The claim lasts ``ttl`` (the spec's lock ttl);
    a claim whose instance died is taken over like any other.
    """

    #: due times remembered per schedule (older ones are forgotten)
    KEEP = 500

    def __init__(self, store: StateStore, name: str, owner: str, ttl: float) -> None:
        self.store = store
        self.ledger = f"{name}#schedule"
        self.name = name
        self.owner = owner
        self.ttl = ttl

    def _slot(self, due: datetime) -> tuple[Item, str]:
        stamp = due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        item = Item(uri=f"schedule://{self.name}/{stamp}", name=stamp, mtime=due)
        return item, f"schedule-{self.name}-{stamp}"

    def take(self, due: datetime) -> dict[str, Any] | None:
        """Claim ``due`` for this instance; None when it is ours, else the claim that refused it."""
        item, run_id = self._slot(due)
        return self.store.ledger_claim(self.ledger, item, run_id, self.owner, self.ttl)

    def done(self, due: datetime) -> None:
        """``due`` has run here: no instance runs it again."""
        item, run_id = self._slot(due)
        self.store.ledger_mark(self.ledger, item, "done", run_id)
        self.store.ledger_prune(self.ledger, self.KEEP, 30 * 86400)


class Schedule:
    """One spec's cron schedule on its own thread; with ``slots``, each due time once across instances."""

    def __init__(
        self,
        name: str,
        cron: str,
        run: Callable[[], Any],
        *,
        clock: Clock | None = None,
        log: Log | None = None,
        slots: SlotLeases | None = None,
    ) -> None:
        self.name = name
        self.cron = cron
        self._run = run
        self.slots = slots
        #: due times another instance ran (with a shared store)
        self.elsewhere = 0
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
            try:
                self._fire(due)
            except (
                Exception
            ) as exc:  # a bug must not end the schedule; the run's own errors are in its report
                self.log.error("scheduled run crashed", error=f"{type(exc).__name__}: {exc}")
            due = self._next_after(due)
            self.next_due = due
        self.next_due = None

    def _fire(self, due: datetime) -> None:
        """Run the spec for ``due``, unless another instance sharing the store claimed it."""
        if self.slots is not None:
            try:
                refused = self.slots.take(due)
            except (
                EngineError
            ) as exc:  # the store is unreachable: nobody can tell who runs it, so nobody does
                self.log.error("scheduled run skipped: the state store cannot be reached", error=str(exc))
                return
            if refused is not None:
                self.elsewhere += 1
                self.log.info(
                    "scheduled time taken by another instance",
                    due=due.isoformat(),
                    holder=refused.get("owner"),
                )
                return
        self.runs += 1
        self._run()
        if self.slots is not None:
            try:
                self.slots.done(due)
            except EngineError as exc:  # its claim lapses instead; the run's own state says what it did
                self.log.warning("could not record the scheduled time as run", error=str(exc))

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
