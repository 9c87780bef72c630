"""The streaming loop: source → parser → mapping → target, item after item, in this process.

Items are read one at a time and flow in chunks, so memory does not grow
with file size. An item's state (ledger entry, move to processed/) is
committed only after the target acknowledged everything written for it
(:mod:`engine.runtime.items`). Data problems reject records and the run
goes on; a file that cannot be read at all is quarantined; an
infrastructure failure (network, credentials, a full disk) stops the run and
leaves the file where it was, so the next run takes it again. The frame
around the loop (store, lock, report) is :mod:`engine.runtime.session`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from engine.contracts import Batch, ByteRange, Chunk, Item, Plugin, Source, Target
from engine.errors import BadItemError, ConfigError, DataError, EngineError
from engine.failpoints import failpoint
from engine.mapping.functions import RUN_CLOCK
from engine.plan import Plan
from engine.runtime.chunks import delivered_part, drop_delivered, quiet_gc, truncate
from engine.runtime.context import Run
from engine.runtime.dryrun import DryRunTarget
from engine.runtime.explode import Exploder
from engine.runtime.items import ItemLifecycle
from engine.runtime.ledger import already_done
from engine.runtime.logs import Log
from engine.runtime.lookups import LookupStage
from engine.runtime.parts import pending, settle, stored_parts
from engine.runtime.planned import PlanTarget
from engine.runtime.progress import NoProgress, make_progress
from engine.runtime.report import ItemReport, RunReport
from engine.runtime.routes import RoutedTarget
from engine.runtime.session import RunOptions, RunSession, dry_run_out


class Runner:
    """Runs a compiled plan once, in this process: items, chunks, state commits, the report."""

    def __init__(self, plan: Plan, options: RunOptions | None = None, *, log: Log | None = None) -> None:
        self.plan = plan
        self.opts = options or RunOptions()
        self.log = log or Log()
        self.source: Source = plan.source
        self.parser = plan.parser
        self.replayed: Any = None
        if self.opts.replay is not None:
            from engine.runtime.replay import ReplaySource

            self.source = self.replayed = ReplaySource(
                Path(str(self.opts.replay)), self.opts.route, self.opts.step
            )
            self.parser = None
        self.target: Target = self._target(plan)
        #: items whose output is published at the end of the run (``commit_scope == "run"``)
        self.deferred: list[tuple[Item, ItemReport]] = []
        #: files being read in parts, committed once their parts are (see runtime/parts.py)
        self.split: list[tuple[Item, list[ByteRange]]] = []
        self.stopped = False

    def _target(self, plan: Plan) -> Target:
        """The plan's target, its routes as one target, or a dry run's stand-in for either."""
        if plan.routes is not None:
            stand_ins: list[Target] | None = None
            lanes = [(route.key(step), step.target) for route in plan.routes.routes for step in route.steps]
            if self.opts.plan:
                out = dry_run_out(self.opts)
                stand_ins = [PlanTarget(target, out, self.opts.plan) for _key, target in lanes]
            elif self.opts.dry_run:
                out = dry_run_out(self.opts)
                stand_ins = [DryRunTarget(out, key) for key, _target in lanes]
            return RoutedTarget(plan.routes, stand_ins)
        if plan.target is None:
            raise ConfigError("the spec has no target")
        if self.opts.plan:
            return PlanTarget(plan.target, dry_run_out(self.opts), self.opts.plan)
        if self.opts.dry_run:
            return DryRunTarget(dry_run_out(self.opts))
        return plan.target

    def run(self) -> RunReport:
        """Run the plan; returns the report (also on failure: its status and exit code say how it ended)."""
        with quiet_gc(), RunSession(self.plan, self.opts, self.log) as session:
            self.session = session
            run = session.run
            RUN_CLOCK.set(run.started)
            self.lookups = LookupStage(self.plan.lookups, run.outcomes) if self.plan.lookups else None
            self.lifecycle = ItemLifecycle(
                run,
                self.plan,
                self.source,
                self.target,
                records_state=self.opts.records_state,
                changes=session.changes,
            )
            self.progress = make_progress(self.opts.progress) if not self.opts.dry_run else NoProgress()
            opened: list[Plugin] = []

            def body() -> None:
                try:
                    self._open(run, opened)
                    self.progress.start()
                    self._items(run, self._listing(run))
                    if not self.stopped:
                        self._finish_run(run)
                        for item, ranges in self.split:  # files an earlier coordinated run began in parts
                            settle(run, self.source, item, ranges, self.session.report.items)
                finally:
                    self.progress.stop()
                    self._statistics(run, opened)
                    self._close(run, opened)

            session.execute(body)
            if self.stopped and session.report.status == "ok":
                session.report.status = "stopped"
                session.report.notes.append(
                    f"stopped after --limit {self.opts.limit} records; unfinished files were left for the next run"
                )
            if self.replayed is not None and session.report.status == "ok":
                session.report.notes.append(
                    f"replayed {self.replayed.count} record(s) from {self.opts.replay}"
                )
                session.report.replayed = {"from": str(self.opts.replay), "records": self.replayed.count}
        return session.report

    # -- plugins --------------------------------------------------------------------------

    def _open(self, run: Run, opened: list[Plugin]) -> None:
        """Open the source, parser and target (and the connections they borrow), noting each in ``opened``."""
        for plugin in (self.source, self.parser, *self.plan.lookups.values(), self.target):
            if plugin is None:
                continue
            if plugin.connection_name:
                run.connection(plugin.connection_name)
            plugin.open(run)
            opened.append(plugin)

    def _statistics(self, run: Run, opened: list[Plugin]) -> None:
        """The source's and target's own counters for the report; their failure never fails the run."""
        report = self.session.report
        if self.source in opened:
            report.source = _stats(run, "source", self.source.stats) or report.source
        if self.target in opened:
            report.target = _stats(run, "target", self.target.stats) or report.target
        if self.lookups is not None:
            report.lookups = self.lookups.stats()
        if isinstance(self.target, RoutedTarget) and self.target in opened:
            report.routes = self.target.route_counts()
        if self.session.changes is not None:
            report.notes.append(
                "changed only: {unchanged} record(s) unchanged since their last delivery, "
                "{stored} delivered value(s) stored".format(**self.session.changes.stats())
            )

    def _close(self, run: Run, opened: list[Plugin]) -> None:
        for plugin in reversed(opened):
            try:
                plugin.close()
            except Exception as exc:
                run.log.warning("closing a plugin failed", plugin=plugin.name, error=str(exc))

    # -- items ------------------------------------------------------------------------------

    def _listing(self, run: Run) -> Iterator[Item]:
        """The items of this run: a coordinator's share, or the source's listing minus what is done."""
        if self.opts.items is not None:
            yield from self.opts.items
            return
        dedupe = "none" if self.replayed is not None else self.plan.state.dedupe
        for item in self.source.items(run):
            if self.session.settle_unmoved(item):
                continue
            skip = already_done(run, self.source, item, dedupe)
            if skip:
                self.session.report.items.append(ItemReport(item.uri, item.name, "skipped", reason=skip))
                run.log.info("file skipped", file=item.name, reason=skip)
                continue
            ranges = stored_parts(run, item) if self.opts.records_state and self.source.reads_ranges else None
            if ranges is not None:  # never read whole: its parts already delivered would be sent again
                self.split.append((item, ranges))
                yield from pending(run, self.source, item, ranges)
                continue
            yield item

    def _items(self, run: Run, items: Iterable[Item]) -> None:
        for item in items:
            self.progress.item(item.name)
            self._item(run, item)
            if self.stopped:
                return

    def _item(self, run: Run, item: Item) -> None:
        report = ItemReport(item.uri, item.name, "reading")
        self.session.report.items.append(report)
        skip = self.lifecycle.begin(item, report, self.session.report.notes)
        if skip is None:
            return
        try:
            for chunk in self._chunks(run, item):
                if skip and self.session.changes is not None:
                    self._remember_delivered(run, chunk, skip)
                if skip and not drop_delivered(chunk, skip):
                    continue
                if not self._chunk(run, chunk):
                    self.stopped = True
                    break
            if not self.stopped:
                self.session.guard()
                self.target.finish_item(item)
        except (BadItemError, DataError) as exc:
            self.lifecycle.fail(item, report, exc, bad_item=True)
            return
        except EngineError as exc:
            self.lifecycle.fail(item, report, exc, bad_item=False)
            raise
        if self.stopped:
            self.lifecycle.stopped(item, report)
            return
        report.counts = run.outcomes.counts(item).as_dict()
        run.log.info(
            "file read",
            file=item.name,
            records=report.counts["read"],
            rejected=report.counts["rejected"]["total"],
        )
        if self.target.commit_scope == "run":
            self.deferred.append((item, report))
        else:
            self._commit(run, item, report)

    def _commit(self, run: Run, item: Item, report: ItemReport) -> None:
        self.lifecycle.commit(item, report)
        self._progress(run)

    def _finish_run(self, run: Run) -> None:
        """Everything written is acknowledged; then deferred items (per-run outputs) commit."""
        try:
            self.session.guard()
            self.target.finish_run()
        except EngineError as exc:
            for item, report in self.deferred:  # nothing of theirs was acknowledged
                self.lifecycle.fail(item, report, exc, bad_item=False)
            raise
        for item, report in self.deferred:
            self._commit(run, item, report)

    # -- chunks -------------------------------------------------------------------------------

    def _chunks(self, run: Run, item: Item) -> Iterator[Chunk]:
        if self.plan.explode is not None and self.replayed is None:
            yield from Exploder(self.plan.explode).chunks(self._read(run, item))
        else:
            yield from self._read(run, item)

    def _read(self, run: Run, item: Item) -> Iterator[Chunk]:
        if self.source.produces == "records":
            yield from self.source.read_records(item, run)
            return
        assert self.parser is not None
        stream = self.source.read(item)
        try:
            yield from self.parser.parse(stream, item, run)
        finally:
            stream.close()

    def _chunk(self, run: Run, chunk: Chunk) -> bool:
        """Map a chunk and hand it to the target; False once ``--limit`` records were read."""
        outcomes = run.outcomes
        limit = self.opts.limit
        if limit is not None:
            room = limit - outcomes.total.read
            if room <= 0:
                return False
            if len(chunk.records) > room:
                truncate(chunk, room)
        item = chunk.item
        outcomes.read(item, len(chunk.records) + len(chunk.rejects or ()))
        if outcomes.records is not None:
            outcomes.records.read(chunk)
        for reject in chunk.rejects or ():
            outcomes.parse_reject(chunk, reject)
        if self.lookups is not None:
            self.lookups.apply(chunk)
        records, index = self._mapped(run, chunk)
        if self.plan.routes is None:
            outcomes.mapped(item, len(records))  # routes count what their own mappings mapped
        changes = self.session.changes
        if changes is not None and records:
            sent, index = changes.filter(item, list(records), index, chunk.positions)
            outcomes.unchanged(item, len(records) - len(sent))
            records = sent
        if records:
            self.session.guard()
            batch = Batch(chunk, records, index)
            if outcomes.records is not None:
                outcomes.records.sending(batch)
            self.target.write(batch)
        self._progress(run)
        failpoint("chunk.done")
        return limit is None or outcomes.total.read < limit

    def _remember_delivered(self, run: Run, chunk: Chunk, skip: int) -> None:
        """``state.changed_only`` learns the values an interrupted run delivered, so they count as sent."""
        done = delivered_part(chunk, skip)
        if done is None or self.session.changes is None:
            return
        if self.lookups is not None:
            self.lookups.apply(done, quiet=True)
        mapping = self.plan.mapping
        if mapping is not None:
            records, _index, _rejects = mapping.map_chunk(done, run.context)
        else:
            records = [done.original(i) for i in range(len(done.records))]
        self.session.changes.delivered(records)

    def _mapped(self, run: Run, chunk: Chunk) -> tuple[Sequence[dict[str, Any]], list[int]]:
        """The chunk's mapped records (built when a target reads them) and their indexes; refused records are rejected."""
        mapping = self.plan.mapping
        if mapping is None:
            return [chunk.original(i) for i in range(len(chunk.records))], list(range(len(chunk.records)))
        records, index, rejects = mapping.map_chunk_late(chunk, run.context)
        for i, issues in rejects:
            run.outcomes.invalid(
                chunk.item,
                "mapping",
                chunk.lineage(i),
                [x.render() for x in issues],
                chunk.original(i),
                errors=[x.as_dict() for x in issues],
            )
        return records, index

    def _progress(self, run: Run) -> None:
        total = run.outcomes.total
        done = sum(1 for i in self.session.report.items if i.status == "done")
        self.progress.update(total.read, total.rejected, done)


def _stats(run: Run, name: str, stats: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
    try:
        return stats()
    except Exception as exc:
        run.log.warning(f"{name} statistics unavailable", error=str(exc))
        return None


def run_plan(plan: Plan, options: RunOptions | None = None) -> RunReport:
    """Run ``plan`` once with ``options`` in this process."""
    if plan.target is None and plan.routes is None:
        raise ConfigError("the spec has no target")
    return Runner(plan, options).run()


__all__ = ["RunOptions", "Runner", "run_plan"]
