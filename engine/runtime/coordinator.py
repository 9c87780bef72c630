"""Runs that fan files out to several worker processes (``--workers N``).

The coordinator lists the source and decides, from the ledger, which files
are new work; it holds the connector's lock and records the run. Workers —
processes on this machine, or Dask workers — each compile the same spec and
run a share of the files with their own target instance, claiming each file
atomically in the shared state store and checkpointing as usual. Their
reports are merged into one: counts add up, one rejects file, one report.

Files are shared out by size (largest first, to the least loaded worker).
With a ``split_size``, a file larger than that is read in parts, each an item
any worker may take (:mod:`engine.runtime.parts`); the file is committed
once every part is delivered. A record source (one query) and a run with a
single item run in-process.

Nothing but the state store and the source and target services needs to be
shared: a worker's report and rejects travel back as values, and a worker
that dies mid-file leaves a claim that another takes over (at once on this
host, after the claim's lease elsewhere) and a checkpoint it resumes from.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from engine.contracts import ByteRange, Item, Source
from engine.errors import EngineError, FatalError
from engine.plan import Plan
from engine.runtime.context import Run
from engine.runtime.ledger import already_done
from engine.runtime.logs import Log
from engine.runtime.parts import cut, pending, settle, stored_parts
from engine.runtime.report import ItemReport, RunReport
from engine.runtime.runner import Runner
from engine.runtime.session import RunOptions, RunSession


def share(items: list[Item], workers: int) -> list[list[Item]]:
    """Items in ``workers`` groups of similar total size, each group in listing order."""
    loads = [0] * workers
    groups: list[list[tuple[int, Item]]] = [[] for _ in range(workers)]
    for order, item in sorted(enumerate(items), key=lambda p: -(p[1].size or 0)):
        k = loads.index(min(loads))
        groups[k].append((order, item))
        loads[k] += item.size or 1
    return [[item for _, item in sorted(g, key=lambda p: p[0])] for g in groups if g]


@dataclasses.dataclass
class Task:
    """What a worker needs: the spec as loaded (overrides applied), its share, its run id."""

    doc: Any
    items: list[Item]
    run_id: str
    allow_custom_code: bool
    since: str | None
    until: str | None
    log_level: str
    log_format: str


@dataclasses.dataclass
class WorkerResult:
    """A worker's report, returned to the coordinator as a value (picklable across processes and hosts).

    ``rejects`` holds the lines of the worker's rejects file (removed from the
    worker's disk), so the run's one rejects file needs no shared disk.
    """

    report: RunReport
    pid: int
    rejects: list[str] = dataclasses.field(default_factory=list)


def work(task: Task) -> WorkerResult:
    """A worker's run (module level so processes and Dask can pickle it)."""
    from engine.runtime import logs
    from engine.spec.compile import compile_document

    logs.configure(task.log_level, task.log_format)
    plan = compile_document(task.doc, allow_custom_code=task.allow_custom_code)
    options = RunOptions(
        items=task.items, worker=True, run_id=task.run_id, progress=False, since=task.since, until=task.until
    )
    report = Runner(plan, options).run()
    rejects: list[str] = []
    if report.rejects_path:
        path = Path(report.rejects_path)
        with contextlib.suppress(OSError):
            rejects = path.read_text(encoding="utf-8").splitlines()
            path.unlink()
        report.rejects_path = None
    return WorkerResult(report, os.getpid(), rejects)


class Coordinator:
    """A run whose items are shared between workers (``--workers``, ``executor:``).

    It holds the run's frame (lock, history, report) and lists the source;
    workers claim, read, deliver and commit their share with their own
    target, and their reports are folded into this run's.
    """

    def __init__(
        self,
        plan: Plan,
        options: RunOptions,
        executor: Executor,
        *,
        allow_custom_code: bool = False,
        log_level: str = "info",
        log_format: str = "text",
        log: Log | None = None,
    ) -> None:
        self.plan = plan
        self.opts = options
        self.executor = executor
        self.allow_custom_code = allow_custom_code
        self.log_level, self.log_format = log_level, log_format
        self.log = log or Log()

    def run(self) -> RunReport:
        """List, share, run the workers, fold their reports in; returns the run's report."""
        with RunSession(self.plan, self.opts, self.log) as session:
            run, report = session.run, session.report

            def body() -> None:
                source = self.plan.source
                if source.connection_name:
                    run.connection(source.connection_name)
                source.open(run)
                split: dict[str, tuple[Item, list[ByteRange]]] = {}
                try:
                    items = self._parts(run, self._new_items(session, run, report), split)
                    self._delegate(run, report, items)
                finally:
                    problems = _settle_all(run, source, split, report)
                    source.close()
                if problems:
                    raise problems[0]

            session.execute(body)
        return report

    def _new_items(self, session: RunSession, run: Run, report: RunReport) -> list[Item]:
        out: list[Item] = []
        for item in self.plan.source.items(run):
            if session.settle_unmoved(item):
                continue
            skip = already_done(run, self.plan.source, item, self.plan.state.dedupe)
            if skip:
                report.items.append(ItemReport(item.uri, item.name, "skipped", reason=skip))
                run.log.info("file skipped", file=item.name, reason=skip)
            else:
                out.append(item)
        return out

    def _parts(
        self, run: Run, items: list[Item], split: dict[str, tuple[Item, list[ByteRange]]]
    ) -> list[Item]:
        """The work: whole files, and the parts still to deliver of files read in parts (noted in ``split``)."""
        size = self.executor.split_size
        refused = self._whole_reason() if size else None
        if refused and size:
            run.log.info("files are read whole", reason=refused)
        out: list[Item] = []
        for item in items:
            ranges = stored_parts(run, item)
            big = bool(size) and not refused and (item.size or 0) > (size or 0)
            if ranges is None and big and run.checkpoints.load(item) is None:  # begun whole: finished whole
                assert self.plan.parser is not None and size is not None
                ranges = cut(run, self.plan.source, self.plan.parser, item, size)
            if ranges is None:
                out.append(item)
                continue
            split[item.uri] = (item, ranges)
            todo = pending(run, self.plan.source, item, ranges)
            run.log.info("file read in parts", file=item.name, parts=len(ranges), pending=len(todo))
            out.extend(todo)
        return out

    def _whole_reason(self) -> str | None:
        """Why this spec's files cannot be read in parts (None: they can)."""
        plan = self.plan
        if not plan.source.reads_ranges:
            return f"source '{plan.source.name}' reads files whole"
        if plan.parser is None:
            return "the source produces records itself"
        if plan.target is None:
            return "records go through routes or steps, which read a file whole"
        return plan.target.parts_refused()

    def _delegate(self, run: Run, report: RunReport, items: list[Item]) -> None:
        groups = share(items, self.executor.workers)
        run.log.info("sharing files between workers", files=len(items), workers=len(groups))
        tasks = [
            Task(
                self.plan.doc,
                group,
                f"{run.run_id}-w{k + 1}",
                self.allow_custom_code,
                run.since,
                run.until,
                self.log_level,
                self.log_format,
            )
            for k, group in enumerate(groups)
        ]
        failures = []
        for task, result in zip(tasks, self.executor.map(work, tasks), strict=True):
            if isinstance(result, BaseException):
                failures.append(f"worker {task.run_id}: {result}")
                for item in task.items:
                    report.items.append(ItemReport(item.uri, item.name, "failed", reason=str(result)))
                continue
            if not isinstance(result, WorkerResult):
                failures.append(f"worker {task.run_id} returned {type(result).__name__}, not a report")
                continue
            self._fold(run, report, result)
            if result.report.status == "failed":
                failures.append(f"worker {task.run_id}: {result.report.error}")
        if failures:
            raise FatalError("; ".join(failures))

    def _fold(self, run: Run, report: RunReport, worker: WorkerResult) -> None:
        report.add(worker.report)
        _absorb_rejects(run, worker.rejects)


def _settle_all(
    run: Run, source: Source, split: dict[str, tuple[Item, list[ByteRange]]], report: RunReport
) -> list[EngineError]:
    """Commit each file read in parts whose parts are all delivered; the errors met, each logged.

    Every file is tried even when one fails (and also after the workers
    failed), so what was delivered is committed now rather than at the next run.
    """
    problems: list[EngineError] = []
    for item, ranges in split.values():
        try:
            settle(run, source, item, ranges, report.items)
        except EngineError as exc:
            run.log.error("a file read in parts could not be committed", file=item.name, error=str(exc))
            problems.append(exc)
    return problems


def _absorb_rejects(run: Run, lines: list[str]) -> None:
    """One rejects file per run: a worker's entries (sent back as lines) go into the coordinator's."""
    writer = run.outcomes.rejects
    if writer is None or not lines:
        return
    if writer.format == "jsonl":
        import json

        for line in lines:
            if line.strip():
                writer.write(json.loads(line))
    else:
        writer.append_csv_rows(lines)


class Executor(Protocol):
    """Where a coordinated run's workers run (``executor:`` plugins): processes here, or a Dask cluster."""

    @property
    def workers(self) -> int:
        """How many shares the files are split into."""
        ...

    @property
    def split_size(self) -> int | None:
        """Files larger than this many bytes are read in parts of about this size (None: whole)."""
        ...

    @property
    def spans_hosts(self) -> bool:
        """Whether workers may run on other machines (then the state store must be a shared one)."""
        ...

    def map(self, fn: Callable[[Task], WorkerResult], tasks: list[Task]) -> list[Any]:
        """``fn(task)`` for every task; one result (or the exception raised) per task, in order."""
        ...

    def close(self) -> None:
        """Release the executor's resources."""


def run_with_executor(plan: Plan, options: RunOptions, executor: Any, **kw: Any) -> RunReport:
    """``executor.workers > 1`` and a file source: coordinate workers; otherwise run in-process."""
    if (
        executor is None
        or executor.workers <= 1
        or plan.source.produces == "records"
        or options.dry_run
        or options.replay is not None
        or options.limit is not None
    ):
        return Runner(plan, options).run()
    try:
        return Coordinator(plan, options, executor, **kw).run()
    finally:
        executor.close()


__all__ = ["Coordinator", "WorkerResult", "run_with_executor", "share", "work"]
