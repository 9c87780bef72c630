"""The streaming loop: source → parser → mapping → target → state.

Items are read one at a time and flow in chunks, so memory does not grow
with file size. An item's state (ledger entry, move to processed/) is
committed only after the target acknowledged everything written for it.
Data problems reject records and the run goes on; a file that cannot be read
at all is marked failed and moved to the failure location; an infrastructure
failure (network, credentials, a full disk) stops the run and leaves the
file where it was, so the next run takes it again.
"""

from __future__ import annotations

import dataclasses
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.contracts import Batch, Chunk, Item
from engine.errors import (
    ConfigError,
    DataError,
    EngineError,
    LockedError,
    ParseError,
    StateError,
    TransientError,
)
from engine.failpoints import failpoint
from engine.jsonutil import dumps
from engine.runtime.checkpoints import Checkpoints
from engine.runtime.chunks import drop_delivered, quiet_gc, truncate
from engine.runtime.context import Run, new_run_id
from engine.runtime.ledger import already_done, next_retry, prune, release_claims
from engine.runtime.locking import RunLock
from engine.runtime.logs import Log
from engine.runtime.outcomes import RunOutcomes
from engine.runtime.paths import state_dir
from engine.runtime.progress import NoProgress, make_progress
from engine.runtime.rejects import RejectsWriter
from engine.runtime.report import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REJECTS,
    ItemReport,
    RunReport,
)
from engine.secrets import redactor
from engine.units import seconds


@dataclasses.dataclass
class RunOptions:
    """How a run is asked for (``engine run`` flags, ``engine serve`` and coordinators)."""

    dry_run: bool = False
    limit: int | None = None
    progress: bool | None = None  # None: on a terminal only
    fail_if_locked: bool = False
    report_path: Path | None = None
    #: where dry-run records are printed
    out: Any = None
    #: a backfill window for sources with watermarks (the stored watermark does not move)
    since: str | None = None
    until: str | None = None
    #: a rejects file whose (corrected) records are sent again instead of reading the source
    replay: Path | None = None
    #: the run's id, when the caller must name it before the run starts (``engine serve`` answers 202 with it)
    run_id: str | None = None
    #: items chosen by a coordinator (``--workers``): no listing, no dedupe here
    items: Any = None
    #: a worker of a coordinated run: the coordinator holds the lock and records the run
    worker: bool = False


class _LimitReached(Exception):
    pass


class Runner:
    """Runs a compiled plan once: lock, items, chunks, state commits and the report."""

    def __init__(self, plan: Any, options: RunOptions | None = None, *, log: Log | None = None) -> None:
        self.plan = plan
        self.opts = options or RunOptions()
        self.log = log or Log()
        self.spec_dir = Path(plan.base_dir)
        self.state_dir = state_dir(self.spec_dir)
        self.deferred: list[tuple[Item, ItemReport]] = []
        self.lock: RunLock | None = None
        self.skip_upto = 0
        self.replaying = self.opts.replay is not None
        if self.replaying:
            from engine.runtime.replay import ReplaySource

            self.source: Any = ReplaySource(Path(str(self.opts.replay)))
            self.parser: Any = None
        else:
            self.source, self.parser = plan.source, plan.parser
        lock = plan.state.get("lock")
        #: a claim outlives a crashed worker by this long (then another may take the file)
        self.claim_ttl = (seconds(lock.get("ttl", "15m")) if isinstance(lock, dict) else None) or 900.0

    # -- setup ----------------------------------------------------------------------------

    def _make_run(self) -> Run:
        plan = self.plan
        started = datetime.now(UTC)
        run_id = self.opts.run_id or new_run_id(started)
        log = self.log.bind(connector=plan.name)
        rejects = None
        if not self.opts.dry_run and plan.on_error["invalid_record"] == "reject":
            cfg = plan.on_error.get("rejects") or {}
            fmt = cfg.get("format", "jsonl")
            if cfg.get("path"):
                p = Path(cfg["path"].replace("{run_id}", run_id))
                path = p if p.is_absolute() else self.spec_dir / p
            else:
                path = self.state_dir / "rejects" / f"{plan.name}-{run_id}.{fmt}"
            rejects = RejectsWriter(path, fmt)
        outcomes = RunOutcomes(rejects, plan.on_error["invalid_record"], log, run_id)
        run = Run(
            connector=plan.name,
            spec_dir=self.spec_dir,
            dry_run=self.opts.dry_run,
            connections=plan.connections,
            context=plan.context,
            outcomes=outcomes,
            log=log.bind(run_id=run_id),
            state=plan.state_store,
            started=started,
            run_id=run_id,
        )
        run.since, run.until = self.opts.since, self.opts.until
        run.checkpoints = Checkpoints(
            plan.state_store,
            plan.name,
            log=run.log,
            enabled=bool(plan.state.get("checkpoint", True)) and not self.opts.dry_run,
        )
        if plan.mapping is not None:
            run.output_fields = [".".join(t) for t in plan.mapping.leaf_targets()]
        return run

    # -- the run --------------------------------------------------------------------------

    def run(self) -> RunReport:
        """Run the plan; returns the report (also on failure: its status and exit code say how it ended)."""
        with quiet_gc():
            return self._run()

    def _run(self) -> RunReport:
        plan = self.plan
        run = self._make_run()
        self.run_ctx = run
        report = RunReport(
            connector=plan.name,
            spec=plan.doc.file,
            run_id=run.run_id,
            started=run.started,
            dry_run=self.opts.dry_run,
        )
        self.report = report
        self.progress = make_progress(self.opts.progress) if not self.opts.dry_run else NoProgress()
        store = plan.state_store
        opened: list[Any] = []
        try:
            store.open(run)
            self.lock = RunLock(
                run, False if self.opts.dry_run or self.opts.worker else plan.state.get("lock")
            )
            self.lock.acquire()
            if not self.opts.dry_run and not self.opts.worker:
                store.run_started(run.connector, run.run_id, run.started)
            run.log.info("run started", spec=plan.doc.file, dry_run=self.opts.dry_run or None)
            self._open_plugins(run, opened)
            self.progress.start()
            self._items(run)
            if not self.opts.dry_run:
                self._finish_target(run)
            report.status = "ok"
            if self.replaying:
                report.notes.append(f"replayed {self.source.count} record(s) from {self.opts.replay}")
                report.replayed = {"from": str(self.opts.replay), "records": self.source.count}
        except LockedError as exc:
            report.status = "locked"
            report.error = exc.message
            report.exit_code = EXIT_FAILED if self.opts.fail_if_locked else EXIT_OK
            run.log.warning("run skipped: locked", holder=exc.holder.get("owner"))
        except _LimitReached:
            report.status = "stopped"
            report.notes.append(
                f"stopped after --limit {self.opts.limit} records; "
                "unfinished files were left for the next run"
            )
        except EngineError as exc:
            report.status = "failed"
            report.error = str(exc)
            report.exit_code = EXIT_FAILED
            run.log.error("run failed", error=str(exc), kind=exc.code)
        except KeyboardInterrupt:
            report.status = "failed"
            report.error = "interrupted"
            report.exit_code = EXIT_FAILED
        finally:
            self.progress.stop()
            self._statistics(run, report, opened)
            self._teardown(run, opened)
            self._finish(run, report)
        return report

    def _open_plugins(self, run: Run, opened: list[Any]) -> None:
        """Open the run's plugins (and the connections they borrow), noting each in ``opened``."""
        for plugin in self._plugins():
            if plugin is None or (plugin is self.plan.target and self.opts.dry_run):
                continue
            if getattr(plugin, "connection_name", None):
                run.connection(plugin.connection_name)
            plugin.open(run)
            opened.append(plugin)

    def _statistics(self, run: Run, report: RunReport, opened: list[Any]) -> None:
        """The source's and target's own counters for the report; their failure never fails the run."""
        plan = self.plan
        stats = getattr(plan.target, "stats", None)
        if callable(stats) and not self.opts.dry_run and plan.target in opened:
            try:
                report.target = stats()
            except Exception as exc:
                run.log.warning("target statistics unavailable", error=str(exc))
        source_stats = getattr(plan.source, "stats", None)
        if callable(source_stats):
            try:
                report.source = source_stats()
            except Exception as exc:
                run.log.warning("source statistics unavailable", error=str(exc))

    def _teardown(self, run: Run, opened: list[Any]) -> None:
        """Close plugins and connections, release claims, prune history, release the lock."""
        for plugin in reversed(opened):
            try:
                plugin.close()
            except Exception as exc:
                run.log.warning("closing a plugin failed", plugin=plugin.name, error=str(exc))
        for conn in self.plan.connections.values():
            conn.close()
        if not self.opts.dry_run and not self.replaying:
            release_claims(run)
            if not self.opts.worker:
                prune(run, self.plan.state.get("history") or {})
        if self.lock is not None:
            self.lock.release()

    def _finish(self, run: Run, report: RunReport) -> None:
        outcomes = run.outcomes
        report.ended = datetime.now(UTC)
        report.counts = outcomes.total.as_dict()
        if outcomes.rejects is not None:
            outcomes.rejects.close()
            if outcomes.rejects.count:
                report.rejects_path = str(outcomes.rejects.path)
        if report.status == "ok":
            report.exit_code = self._judge(report)
            if report.exit_code == EXIT_REJECTS:
                report.status = "rejects_exceeded"
        if not self.opts.dry_run and report.status != "locked" and not self.opts.worker:
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

    def _judge(self, report: RunReport) -> int:
        total = self.run_ctx.outcomes.total
        if any(i.status == "failed" for i in report.items):
            return EXIT_REJECTS
        rejected = total.rejected
        if not rejected:
            return EXIT_OK
        policy = self.plan.on_error
        if policy.get("max_rejects") is not None:
            return EXIT_OK if rejected <= policy["max_rejects"] else EXIT_REJECTS
        ratio = rejected / max(total.read, 1)
        return EXIT_OK if ratio <= policy.get("max_reject_ratio", 0) else EXIT_REJECTS

    # -- items ----------------------------------------------------------------------------

    def _finish_target(self, run: Run) -> None:
        """Everything written is acknowledged; then deferred items (per-run outputs) commit."""
        try:
            self.plan.target.finish_run()
        except EngineError as exc:
            for item, item_report in self.deferred:  # nothing of theirs was acknowledged
                self._failed(run, item, item_report, exc, data=False)
            raise
        for item, item_report in self.deferred:
            self._commit(run, item, item_report)

    def _plugins(self) -> list[Any]:
        """What this run opens (a coordinator opens only its source)."""
        return [self.source, self.parser, self.plan.target]

    def _items(self, run: Run) -> None:
        if self.opts.items is not None:
            for item in self.opts.items:
                self.progress.item(item.name)
                self._item(run, item)
            return
        dedupe = "none" if self.replaying else self.plan.state.get("dedupe", "fingerprint")
        for item in self.source.items(run):
            self.progress.item(item.name)
            skip = already_done(run, self.source, item, dedupe)
            if skip:
                self.report.items.append(ItemReport(item.uri, item.name, "skipped", reason=skip))
                run.log.info("file skipped", file=item.name, reason=skip)
                continue
            self._item(run, item)

    def _item(self, run: Run, item: Item) -> None:
        plan = self.plan
        item_report = ItemReport(item.uri, item.name, "done")
        self.report.items.append(item_report)
        log = run.log.bind(file=item.name)
        self.skip_upto = 0
        if not self.opts.dry_run and not self.replaying:
            holder = run.state.ledger_claim(run.connector, item, run.run_id, run.owner, self.claim_ttl)
            if holder is not None:
                item_report.status = "skipped"
                item_report.reason = f"claimed by another worker ({holder})"
                log.info("file skipped: claimed by another worker", holder=holder)
                return
            saved = run.checkpoints.load(item)
            if saved:
                resume = getattr(plan.target, "resume", None)
                self.skip_upto = resume(item, saved) if resume else int(saved.get("acked", 0))
                if self.skip_upto:
                    item_report.resumed_after = self.skip_upto
                    self.report.notes.append(
                        f"{item.name}: resumed after record {self.skip_upto} "
                        f"(delivered by run {saved.get('run_id', '?')})"
                    )
                    log.info("resuming after the last acknowledged record", after=self.skip_upto)
        try:
            if self.source.produces == "records":
                for chunk in self.source.read_records(item, run):
                    self._chunk(run, chunk)
            else:
                stream = self.source.read(item)
                try:
                    for chunk in self.parser.parse(stream, item, run):
                        self._chunk(run, chunk)
                finally:
                    stream.close()
            if not self.opts.dry_run:
                plan.target.finish_item(item)
        except _LimitReached:
            item_report.status = "partial"
            item_report.reason = "stopped at --limit"
            item_report.counts = run.outcomes.counts(item).as_dict()
            if not self.opts.dry_run:
                run.state.ledger_mark(run.connector, item, "partial", run.run_id, error="stopped at --limit")
            raise
        except (ParseError, DataError) as exc:
            self._failed(run, item, item_report, exc, data=True)
            return
        except EngineError as exc:
            self._failed(run, item, item_report, exc, data=False)
            raise
        item_report.counts = run.outcomes.counts(item).as_dict()
        log.info(
            "file read", records=item_report.counts["read"], rejected=item_report.counts["rejected"]["total"]
        )
        if self.opts.dry_run:
            return
        if getattr(plan.target, "commit_scope", "item") == "run":
            self.deferred.append((item, item_report))
        else:
            self._commit(run, item, item_report)

    def _commit(self, run: Run, item: Item, item_report: ItemReport) -> None:
        counts = run.outcomes.counts(item)
        if self.replaying:
            item_report.counts = counts.as_dict()
            return
        failpoint("item.before_move")
        moved = self.source.complete(item, True, run)
        failpoint("item.after_move")
        item_report.moved_to = moved
        item_report.counts = counts.as_dict()
        run.state.ledger_mark(run.connector, item, "done", run.run_id, records=counts.read, moved_to=moved)
        run.checkpoints.clear(item)
        failpoint("item.done")
        self.progress.update(
            run.outcomes.total.read,
            run.outcomes.total.rejected,
            sum(1 for i in self.report.items if i.status == "done"),
        )

    def _failed(self, run: Run, item: Item, item_report: ItemReport, exc: EngineError, *, data: bool) -> None:
        item_report.status = "failed"
        item_report.reason = redactor.scrub(str(exc))
        item_report.counts = run.outcomes.counts(item).as_dict()
        run.log.error("file failed", file=item.name, error=str(exc), kind="data" if data else exc.code)
        if self.opts.dry_run or self.replaying:
            return
        retry = self.plan.state.get("retry") or {}
        attempts = (run.state.ledger_get(run.connector, item.uri) or {}).get("attempts", 1)
        retry_at = next_retry(attempts, retry)
        moved = None
        if not data and attempts >= int(retry.get("max_attempts", 5)):
            data = True  # out of attempts: quarantine it like a data failure
            item_report.reason = f"{item_report.reason} (gave up after {attempts} attempts)"
        if data:
            try:
                moved = self.source.complete(item, False, run)
            except EngineError as move_exc:
                run.log.error("moving the failed file failed", file=item.name, error=str(move_exc))
        item_report.moved_to = moved
        status = "failed" if not data else ("quarantined" if moved else "failed")
        run.state.ledger_mark(
            run.connector,
            item,
            status,
            run.run_id,
            error=item_report.reason,
            moved_to=moved,
            next_retry=None if data else retry_at,
        )

    # -- chunks ---------------------------------------------------------------------------

    def _chunk(self, run: Run, chunk: Chunk) -> None:
        outcomes = run.outcomes
        item = chunk.item
        if self.skip_upto and not drop_delivered(chunk, self.skip_upto):
            return
        limit = self.opts.limit
        if limit is not None:
            room = limit - outcomes.total.read
            if room <= 0:
                raise _LimitReached()
            if len(chunk.records) > room:
                truncate(chunk, room)
        outcomes.read(item, len(chunk.records) + len(chunk.rejects or ()))
        for reject in chunk.rejects or ():
            outcomes.parse_reject(chunk, reject)
        mapping = self.plan.mapping
        if mapping is not None:
            records, index, rejects = mapping.map_chunk(chunk, run.context)
            for i, issues in rejects:
                lineage = chunk.lineage(i)
                outcomes.invalid(
                    item,
                    "mapping",
                    lineage,
                    [x.render() for x in issues],
                    chunk.original(i),
                    errors=[x.as_dict() for x in issues],
                )
        else:
            records = [chunk.original(i) for i in range(len(chunk.records))]
            index = list(range(len(records)))
        outcomes.mapped(item, len(records))
        if records:
            batch = Batch(chunk, records, index)
            if self.opts.dry_run:
                out = self.opts.out or sys.stdout
                out.write("".join(dumps(r) + "\n" for r in records))
                out.flush()
            else:
                self.plan.target.write(batch)
        self.progress.update(
            outcomes.total.read,
            outcomes.total.rejected,
            sum(1 for i in self.report.items if i.status == "done"),
        )
        failpoint("chunk.done")
        if limit is not None and outcomes.total.read >= limit:
            raise _LimitReached()


def run_plan(plan: Any, options: RunOptions | None = None) -> RunReport:
    """Run ``plan`` once with ``options`` (the entry point of ``engine run``)."""
    if plan.target is None:
        raise ConfigError("the spec has no target")
    return Runner(plan, options).run()


__all__ = ["RunOptions", "Runner", "TransientError", "run_plan"]
