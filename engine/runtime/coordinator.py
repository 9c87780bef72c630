"""Runs that fan files out to several worker processes (``--workers N``).

The coordinator lists the source and decides, from the ledger, which files
are new work; it holds the connector's lock and records the run. Workers —
processes on this machine, or Dask workers — each compile the same spec and
run a share of the files with their own target instance, claiming each file
atomically in the shared state store and checkpointing as usual. Their
reports are merged into one: counts add up, one rejects file, one report.

Files are shared out by size (largest first, to the least loaded worker). A
record source (one query) and a run with a single file run in-process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from pathlib import Path
from typing import Any

from engine.contracts import Item
from engine.errors import EngineError, FatalError
from engine.runtime.context import Run
from engine.runtime.ledger import already_done
from engine.runtime.outcomes import Counts
from engine.runtime.report import ItemReport
from engine.runtime.runner import Runner, RunOptions


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


def work(task: Task) -> dict[str, Any]:
    """A worker's run (module level so processes and Dask can pickle it)."""
    from engine.runtime import logs
    from engine.spec.compile import compile_document

    logs.configure(task.log_level, task.log_format)
    plan = compile_document(task.doc, allow_custom_code=task.allow_custom_code)
    options = RunOptions(
        items=task.items, worker=True, run_id=task.run_id, progress=False, since=task.since, until=task.until
    )
    report = Runner(plan, options).run()
    return {"report": report.as_dict(), "rejects": report.rejects_path, "pid": os.getpid()}


class Coordinator(Runner):
    """A run whose items are shared between worker processes (``--workers``, ``executor:``).

    The coordinator holds the lock, lists and claims nothing itself, hands items to the executor and merges
    the workers' reports into one.
    """

    def __init__(
        self,
        plan: Any,
        options: RunOptions,
        executor: Any,
        *,
        allow_custom_code: bool = False,
        log_level: str = "info",
        log_format: str = "text",
        **kw: Any,
    ) -> None:
        super().__init__(plan, options, **kw)
        self.executor = executor
        self.allow_custom_code = allow_custom_code
        self.log_level, self.log_format = log_level, log_format
        self.extra_counts = Counts()
        self.worker_stats: dict[str, Any] = {}

    def _plugins(self) -> list[Any]:
        return [self.source]

    def _finish_target(self, run: Run) -> None:
        """Workers finished and acknowledged their own targets."""

    def _items(self, run: Run) -> None:
        dedupe = self.plan.state.get("dedupe", "fingerprint")
        work_items: list[Item] = []
        for item in self.source.items(run):
            skip = already_done(run, self.source, item, dedupe)
            if skip:
                self.report.items.append(ItemReport(item.uri, item.name, "skipped", reason=skip))
                run.log.info("file skipped", file=item.name, reason=skip)
            else:
                work_items.append(item)
        groups = share(work_items, self.executor.workers)
        run.log.info("sharing files between workers", files=len(work_items), workers=len(groups))
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
        results = self.executor.map(work, tasks)
        failures = []
        self.report.target = self.worker_stats
        for task, result in zip(tasks, results, strict=True):
            if isinstance(result, BaseException):
                failures.append(f"worker {task.run_id}: {result}")
                for item in task.items:
                    self.report.items.append(ItemReport(item.uri, item.name, "failed", reason=str(result)))
                continue
            self._merge(run, result)
            if result["report"]["status"] == "failed":
                failures.append(f"worker {task.run_id}: {result['report']['error']}")
        if failures:
            raise FatalError("; ".join(failures))

    def _merge(self, run: Run, result: dict[str, Any]) -> None:
        data = result["report"]
        for entry in data["items"]:
            self.report.items.append(ItemReport(**entry))
        records = data["records"]
        rejected = records.get("rejected", {})
        total = run.outcomes.total
        total.read += records.get("read", 0)
        total.mapped += records.get("mapped", 0)
        total.written += records.get("written", 0)
        total.rejected_parse += rejected.get("parse", 0)
        total.rejected_mapping += rejected.get("mapping", 0)
        total.rejected_target += rejected.get("target", 0)
        total.skipped += records.get("skipped_invalid", 0)
        for key, value in (data.get("target") or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.worker_stats[key] = self.worker_stats.get(key, 0) + value
        self.worker_stats["workers"] = self.worker_stats.get("workers", 0) + 1
        self.report.notes.extend(data.get("notes") or [])
        if result.get("rejects"):
            self._absorb_rejects(run, Path(result["rejects"]))

    def _absorb_rejects(self, run: Run, path: Path) -> None:
        """One rejects file per run: the workers' entries move into the coordinator's."""
        writer = run.outcomes.rejects
        if writer is None or not path.exists():
            return
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        if writer.format == "jsonl":
            import json

            for line in lines:
                if line.strip():
                    writer.write(json.loads(line))
        else:
            writer.append_csv_rows(lines)
        with contextlib.suppress(OSError):
            path.unlink()


def run_with_executor(plan: Any, options: RunOptions, executor: Any, **kw: Any) -> Any:
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


__all__ = ["Coordinator", "EngineError", "run_with_executor", "share", "work"]
