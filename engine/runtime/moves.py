"""After delivery: moving a file by ``on_success``, and what a failed move leaves behind.

A file is delivered before it is moved. When the move then fails (a
read-only ``processed/``, a link in the way, a vanished directory), the
delivery stands: the file is recorded ``unmoved`` so that no run sends it
again, the report and ``engine state files SPEC`` say what to do, and each
later run tries only the move again until it succeeds.
"""

from __future__ import annotations

from typing import Any

from engine.contracts import Item, Source
from engine.errors import EngineError
from engine.runtime.ledger import UNMOVED
from engine.runtime.report import ItemReport
from engine.secrets import redactor

WHAT_TO_DO = (
    "it is not sent again; fix the cause and the next run moves it, "
    "or move the file away yourself (`engine state files SPEC` lists it)"
)


def move_delivered(run: Any, source: Source, item: Item) -> tuple[str | None, EngineError | None]:
    """Move a delivered ``item`` by ``on_success``: where it went, or the error that kept it in place."""
    try:
        return source.complete(item, True, run), None
    except EngineError as exc:
        return None, exc


def record_delivered(
    run: Any,
    item: Item,
    item_report: ItemReport,
    records: int,
    moved: str | None,
    problem: EngineError | None,
    *,
    delivered_by: str | None = None,
) -> None:
    """Commit a delivered item: ``done`` where it moved, ``unmoved`` with the reason and what to do.

    ``delivered_by`` names an earlier run when only the move was retried now.
    """
    run_id = delivered_by or run.run_id
    if problem is None:
        item_report.moved_to = moved
        run.state.ledger_mark(run.connector, item, "done", run_id, records=records, moved_to=moved)
        return
    reason = redactor.scrub(f"delivered by run {run_id} but not moved: {problem}; {WHAT_TO_DO}")
    item_report.status = UNMOVED
    item_report.reason = reason
    run.log.error("file delivered but not moved", file=item.name, error=redactor.scrub(str(problem)))
    run.state.ledger_mark(run.connector, item, UNMOVED, run_id, records=records, error=reason)


def retry_move(run: Any, source: Source, item: Item, entry: dict[str, Any], *, dry_run: bool) -> ItemReport:
    """The report of a file delivered by an earlier run whose move failed: only the move is tried again."""
    delivered_by = entry.get("run_id") or "?"
    report = ItemReport(
        item.uri, item.name, "skipped", reason=f"delivered by run {delivered_by}; not sent again"
    )
    if dry_run:
        return report
    moved, problem = move_delivered(run, source, item)
    record_delivered(run, item, report, entry.get("records") or 0, moved, problem, delivered_by=delivered_by)
    if problem is None:
        report.reason = f"delivered by run {delivered_by}; moved now (it was not sent again)"
        run.log.info("file moved after an earlier failed move", file=item.name, moved_to=moved)
    return report
