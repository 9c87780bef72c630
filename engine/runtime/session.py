"""One run's frame, shared by in-process runs and coordinated ones.

A :class:`RunSession` owns what every run has whatever processes its items:
the run context (outcomes, rejects file, checkpoints), the state store (opened
and closed by the run), the connector's lock, the run's row in the history,
claims left open, ledger housekeeping and the report (how the run ended,
its verdict, the JSON file). :mod:`engine.runtime.runner` processes items in
this process; :mod:`engine.runtime.coordinator` hands them to workers.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from engine.contracts import Item
from engine.errors import EngineError, LockedError, StateError
from engine.plan import Plan
from engine.runtime.changes import ChangeFilter, SettlingCheckpoints
from engine.runtime.checkpoints import Checkpoints
from engine.runtime.context import Run, new_run_id
from engine.runtime.ledger import UNMOVED, prune, release_claims, unmoved
from engine.runtime.locking import CLAIM_TTL, RunLock
from engine.runtime.logs import Log
from engine.runtime.moves import retry_move
from engine.runtime.outcomes import Counts, RunOutcomes
from engine.runtime.paths import state_dir
from engine.runtime.records import RecordLog
from engine.runtime.rejects import RejectsWriter, merge_reasons
from engine.runtime.report import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REJECTS,
    REASONS_KEPT,
    RunReport,
    judge,
)


@dataclasses.dataclass
class RunOptions:
    """How a run is asked for (``engine run`` flags, ``engine serve`` and coordinators)."""

    dry_run: bool = False
    #: ``text`` or ``json``: print the requests the target would send instead of records (a dry run)
    plan: str | None = None
    limit: int | None = None
    progress: bool | None = None  # None: on a terminal only
    fail_if_locked: bool = False
    report_path: Path | None = None
    #: where dry-run records are printed
    out: IO[str] | None = None
    #: a backfill window for sources with watermarks (the stored watermark does not move)
    since: str | None = None
    until: str | None = None
    #: a rejects file whose (corrected) records are sent again instead of reading the source
    replay: Path | None = None
    #: with ``replay`` and ``routes:``: replay only the rejects of this route, to this route alone
    route: str | None = None
    #: with ``replay`` and ``steps:``: replay only the rejects of this step, to this step alone
    step: str | None = None
    #: the run's id, when the caller must name it before the run starts (``engine serve`` answers 202 with it)
    run_id: str | None = None
    #: items chosen by a coordinator (``--workers``): no listing, no dedupe here
    items: list[Any] | None = None
    #: a worker of a coordinated run: the coordinator holds the lock and records the run
    worker: bool = False
    #: send every record even when ``state.changed_only`` finds it unchanged (``engine run --full``)
    full: bool = False
    #: keeps every record's outcome and answers here (a sync webhook answer built from them)
    records: RecordLog | None = None

    @property
    def records_state(self) -> bool:
        """Whether this run writes the ledger, claims and checkpoints (not dry runs, not replays)."""
        return not self.dry_run and self.replay is None

    @property
    def owns_run(self) -> bool:
        """Whether this run holds the lock, keeps its history row and writes the report (not workers)."""
        return not self.dry_run and not self.worker


class RunSession:
    """The frame of one run; use as a context manager around the work, then read :attr:`report`."""

    def __init__(self, plan: Plan, opts: RunOptions, log: Log) -> None:
        self.plan = plan
        self.opts = opts
        self.spec_dir = Path(plan.base_dir)
        self.state_dir = state_dir(self.spec_dir)
        started = datetime.now(UTC)
        run_id = opts.run_id or new_run_id(started)
        base_log = log.bind(connector=plan.name)
        outcomes = RunOutcomes(
            self._rejects_writer(run_id), plan.on_error.invalid_record, base_log, run_id, records=opts.records
        )
        self.run = Run(
            connector=plan.name,
            spec_dir=self.spec_dir,
            dry_run=opts.dry_run,
            connections=plan.connections,
            context=plan.context,
            outcomes=outcomes,
            log=base_log.bind(run_id=run_id),
            state=plan.state_store,
            started=started,
            run_id=run_id,
        )
        self.run.since, self.run.until = opts.since, opts.until
        self.run.checkpoints = Checkpoints(
            plan.state_store,
            plan.name,
            log=self.run.log,
            enabled=plan.state.checkpoint and opts.records_state,
        )
        if plan.mapping is not None:
            self.run.output_fields = [".".join(t) for t in plan.mapping.leaf_targets()]
        #: ``state.changed_only``: what is unchanged is not sent; values are stored once acknowledged
        self.changes: ChangeFilter | None = None
        if plan.state.changed_only is not None and opts.replay is None:
            self.changes = ChangeFilter(
                plan.state.changed_only,
                plan.state_store,
                plan.name,
                full=opts.full,
                dry_run=not opts.records_state,
            )
            self.run.checkpoints = SettlingCheckpoints(self.run.checkpoints, self.changes)
            outcomes.on_refused = self.changes.refused_at
        self.report = RunReport(
            connector=plan.name, spec=plan.doc.file, run_id=run_id, started=started, dry_run=opts.dry_run
        )
        self.lock: RunLock | None = None
        self._store_open = False

    def _rejects_writer(self, run_id: str) -> RejectsWriter | None:
        """The run's rejects file, when rejects are written at all (not in dry runs)."""
        policy = self.plan.on_error
        if self.opts.dry_run or policy.invalid_record != "reject":
            return None
        fmt = policy.rejects.format
        if policy.rejects.path:
            p = Path(policy.rejects.path.replace("{run_id}", run_id))
            path = p if p.is_absolute() else self.spec_dir / p
        else:
            path = self.state_dir / "rejects" / f"{self.plan.name}-{run_id}.{fmt}"
        return RejectsWriter(path, fmt, excel=policy.rejects.excel)

    # -- the frame ------------------------------------------------------------------------

    def __enter__(self) -> RunSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def execute(self, body: Callable[[], None]) -> None:
        """Open the store, take the lock, record the run, run ``body``; how it ends decides the status.

        Engine errors, a held lock and Ctrl-C end the run with a status
        instead of an exception; anything else propagates.
        """
        run, report = self.run, self.report
        try:
            self.plan.state_store.open(run)
            self._store_open = True
            lock = self.plan.state.lock
            claim_ttl = (lock.ttl if lock is not None else CLAIM_TTL) if self.opts.records_state else None
            self.lock = RunLock(run, lock if self.opts.owns_run else None, claim_ttl=claim_ttl)
            self.lock.acquire()
            self.lock.start_claims()
            if self.opts.owns_run:
                self.plan.state_store.runs_mark_crashed(run.connector)
                self.plan.state_store.run_started(run.connector, run.run_id, run.started, owner=run.owner)
            run.log.info("run started", spec=self.plan.doc.file, dry_run=self.opts.dry_run or None)
            body()
            report.status = "ok"
        except LockedError as exc:
            report.status = "locked"
            report.error = exc.message
            report.exit_code = EXIT_FAILED if self.opts.fail_if_locked else EXIT_OK
            run.log.warning("run skipped: locked", holder=exc.holder.get("owner"))
        except EngineError as exc:
            report.status = "failed"
            report.error = str(exc)
            report.exit_code = EXIT_FAILED
            run.log.error("run failed", error=str(exc), kind=exc.code)
        except KeyboardInterrupt:
            report.status = "interrupted"
            report.error = (
                "interrupted (Ctrl-C or SIGINT); files not finished are taken again by the next run"
            )
            report.exit_code = EXIT_INTERRUPTED
            run.log.warning("run interrupted")
        except Exception as exc:  # a defect, not a decision: still a report, a released lock, a run record
            report.status = "failed"
            report.error = f"internal error: {type(exc).__name__}: {exc} (please report it)"
            report.exit_code = EXIT_FAILED
            run.log.error("run failed: internal error", error=report.error)

    def guard(self) -> None:
        """Stop before sending or publishing when the lock was lost or the state store vanished."""
        if self.opts.records_state and self.lock is not None:
            self.lock.check()

    def settle_unmoved(self, item: Item) -> bool:
        """True for a file delivered earlier but not moved: only its move is tried again, now."""
        if self.opts.replay is not None:
            return False
        entry = unmoved(self.run, item)
        if entry is None:
            return False
        report = retry_move(self.run, self.plan.source, item, entry, dry_run=self.opts.dry_run)
        self.report.items.append(report)
        self.run.log.info("file skipped", file=item.name, reason=report.reason)
        return True

    def close(self) -> None:
        """Release what the run held, then conclude: the verdict, the report file, the history row."""
        run = self.run
        for conn in self.plan.connections.values():
            conn.close()
        if self._store_open and self.opts.records_state and self.report.status != "locked":
            release_claims(run)
            if self.opts.owns_run:
                prune(run, self.plan.state.history)
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        self._conclude()
        if self._store_open:
            self.plan.state_store.close()
            self._store_open = False

    def _unfinished(self) -> None:
        """Items the run began but neither committed nor failed: interrupted, or cut off by a failure."""
        interrupted = self.report.status == "interrupted"
        for item in self.report.items:
            if item.status != "reading":
                continue
            if interrupted:
                item.status = "interrupted"
                item.reason = (
                    "the run was interrupted while this file was being read; the next run takes it again"
                )
            else:
                item.status = "failed"
                item.reason = (
                    f"the run stopped before this file was finished: {self.report.error or 'unknown'}"
                )

    def _conclude(self) -> None:
        run, report = self.run, self.report
        outcomes = run.outcomes
        report.ended = datetime.now(UTC)
        total = Counts.from_dict(report.counts)  # what workers' reports folded in, if any
        total.add(outcomes.total)
        report.counts = total.as_dict()
        report.notes.extend(n for n in run.notes if n not in report.notes)
        report.reject_reasons = merge_reasons(
            report.reject_reasons, outcomes.tally.top(REASONS_KEPT), REASONS_KEPT
        )
        self._unfinished()
        if outcomes.rejects is not None:
            outcomes.rejects.close()
            if outcomes.rejects.count:
                report.rejects_path = str(outcomes.rejects.path)
        stuck = [i for i in report.items if i.status == UNMOVED]
        if report.status == "ok" and stuck:
            report.status = "failed"
            report.exit_code = EXIT_FAILED
            report.error = (
                f"{len(stuck)} file(s) delivered but not moved by on_success; they are not sent again "
                "(see each file's reason)"
            )
        if report.status == "ok":
            report.exit_code = judge(total, report.items, self.plan.on_error)
            if report.exit_code == EXIT_REJECTS:
                report.status = "rejects_exceeded"
        if self.opts.owns_run and report.status != "locked" and self._store_open:
            path = self.opts.report_path or (
                self.state_dir / "reports" / f"{run.connector}-{run.run_id}.json"
            )
            try:
                report.write(path)
                run.state.run_ended(run.run_id, report.status, report.counts, report.report_path)
            except (OSError, StateError) as exc:
                run.log.error("could not record the run", error=str(exc))
        run.log.info(
            "run finished",
            status=report.status,
            records=report.counts.get("read"),
            written=report.counts.get("written"),
            rejected=report.counts.get("rejected", {}).get("total"),
            seconds=round(report.seconds, 3),
        )


def dry_run_out(opts: RunOptions) -> IO[str]:
    """Where a dry run prints its records."""
    return opts.out or sys.stdout
