"""The run report: what a run did, printed at the end and written as JSON.

The terminal text is for people who did not write the engine: the target's
and source's counters in plain words, and at the end the most common reasons
records were rejected, with the first rows each one hit (the JSON report and
the rejects file hold everything).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.jsonutil import to_jsonable
from engine.plan import ErrorPolicy
from engine.printable import printable
from engine.runtime.outcomes import Counts
from engine.runtime.rejects import merge_reasons
from engine.secrets import redactor

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_REJECTS = 0, 1, 2, 3
#: the run was interrupted (Ctrl-C, SIGINT): 128 + the signal's number, as shells report it
EXIT_INTERRUPTED = 130
#: reasons kept in the JSON report, and shown on the terminal
REASONS_KEPT, REASONS_SHOWN = 20, 5


@dataclasses.dataclass
class ItemReport:
    """What happened to one item: status, counts, where it was moved, why it failed."""

    uri: str
    name: str
    #: reading (until committed) | done | failed | skipped | partial | interrupted
    #: | unmoved (delivered, its on_success move failed)
    status: str
    counts: dict[str, Any] = dataclasses.field(default_factory=dict)
    moved_to: str | None = None
    reason: str | None = None
    #: records already delivered by an earlier, interrupted run
    resumed_after: int | None = None


@dataclasses.dataclass
class RunReport:
    """What happened in one run, written as JSON and rendered for the terminal."""

    connector: str
    spec: str
    run_id: str
    started: datetime
    dry_run: bool = False
    ended: datetime | None = None
    status: str = "running"  # ok | failed | rejects_exceeded | locked | stopped | interrupted
    exit_code: int = EXIT_OK
    counts: dict[str, Any] = dataclasses.field(default_factory=dict)
    items: list[ItemReport] = dataclasses.field(default_factory=list)
    rejects_path: str | None = None
    report_path: str | None = None
    error: str | None = None
    target: dict[str, Any] = dataclasses.field(default_factory=dict)
    source: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: per lookup: answers found, keys not found, keys fetched, answers served from the cache, requests
    lookups: dict[str, Any] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)
    #: per route (``routes:``): records it took, mapped, delivered and rejected
    routes: dict[str, Any] = dataclasses.field(default_factory=dict)
    replayed: dict[str, Any] | None = None
    #: the most common reasons records were rejected: ``{stage, reason, count, first: [lineage]}``
    reject_reasons: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Wall-clock length of the run (so far, while it runs)."""
        end = self.ended or datetime.now(UTC)
        return max(0.0, (end - self.started).total_seconds())

    def files_summary(self) -> dict[str, int]:
        """Items by status (seen, done, failed, skipped, partial, and any other status present)."""
        out = {"seen": len(self.items), "done": 0, "failed": 0, "skipped": 0, "partial": 0}
        for it in self.items:
            out[it.status] = out.get(it.status, 0) + 1
        return out

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-compatible data, with secrets scrubbed."""
        data = {
            "connector": self.connector,
            "spec": self.spec,
            "run_id": self.run_id,
            "status": self.status,
            "exit_code": self.exit_code,
            "dry_run": self.dry_run,
            "started": self.started.isoformat(timespec="milliseconds"),
            "ended": self.ended.isoformat(timespec="milliseconds") if self.ended else None,
            "seconds": round(self.seconds, 3),
            "files": self.files_summary(),
            "records": self.counts,
            "rejects_path": self.rejects_path,
            "report_path": self.report_path,
            "source": self.source,
            "target": self.target,
            "lookups": self.lookups,
            **({"routes": self.routes} if self.routes else {}),
            "error": self.error,
            "notes": self.notes,
            "replayed": self.replayed,
            "reject_reasons": self.reject_reasons,
            "items": [dataclasses.asdict(i) for i in self.items],
        }
        scrubbed: dict[str, Any] = redactor.scrub_obj(to_jsonable(data))
        return scrubbed

    def add(self, other: RunReport) -> None:
        """Fold another report of the same run into this one (a worker's share of a coordinated run).

        Items and notes are appended, record counts and numeric target
        counters added up; ``workers`` counts the reports folded in.
        """
        self.items.extend(other.items)
        total = Counts.from_dict(self.counts)
        total.add(Counts.from_dict(other.counts))
        self.counts = total.as_dict()
        for key, value in other.target.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.target[key] = self.target.get(key, 0) + value
        self.target["workers"] = self.target.get("workers", 0) + 1
        self.notes.extend(n for n in other.notes if n not in self.notes)
        self.reject_reasons = merge_reasons(self.reject_reasons, other.reject_reasons, REASONS_KEPT)
        for lane, counts in other.routes.items():
            self.routes[lane] = _summed(self.routes.get(lane), counts)

    def write(self, path: Path) -> None:
        """Write the report atomically to ``path`` (a temporary file, then a rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.report_path = str(path)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)

    def render_text(self) -> str:
        """The report for a terminal: status, files, records, counters in plain words, why records were rejected.

        Names, reasons and paths go through :func:`~engine.printable.printable`,
        so a file name cannot forge or hide lines of the summary.
        """
        c = self.counts
        rej = c.get("rejected", {})
        files = self.files_summary()
        rate = c.get("read", 0) / self.seconds if self.seconds else 0.0
        others = ", ".join(
            f"{n} {status}" for status, n in files.items() if n and status not in (*_FILE_COLUMNS, "unmoved")
        )
        lines = [
            f"run {self.run_id} of {self.connector}: {self.status.upper()}"
            + (" (dry run)" if self.dry_run else "")
            + f" in {self.seconds:.2f}s",
            f"  files    {files['seen']} seen, {files['done']} done, {files['skipped']} skipped, "
            f"{files['failed']} failed"
            + (f", {files['partial']} partial" if files.get("partial") else "")
            + (f", {others}" if others else "")
            + (f", {files['unmoved']} delivered but not moved" if files.get("unmoved") else ""),
            f"  records  {c.get('read', 0)} read, {c.get('mapped', 0)} mapped, {c.get('written', 0)} written, "
            f"{rej.get('total', 0)} rejected (parse {rej.get('parse', 0)}, mapping {rej.get('mapping', 0)}, "
            + (f"lookup {rej['lookup']}, " if rej.get("lookup") else "")
            + (f"no route {rej['route']}, " if rej.get("route") else "")
            + f"target {rej.get('target', 0)})"
            + (f", {c['skipped_invalid']} skipped as invalid" if c.get("skipped_invalid") else "")
            + (f", {c['skipped_by_lookup']} skipped by a lookup" if c.get("skipped_by_lookup") else ""),
        ]
        if c.get("read", 0) >= 10_000:  # a rate over a handful of records measures start-up, not throughput
            lines.append(f"  speed    {rate:,.0f} records/s")
        if self.source:
            lines.append("  source   " + printable(plain_counters(self.source)))
        if self.target and self.routes:  # each route's (or step's) target counts for itself
            for name, counters in self.target.items():
                if isinstance(counters, dict):
                    lines.append(f"  target   {printable(name)}: " + printable(plain_counters(counters)))
        elif self.target:
            lines.append("  target   " + printable(plain_counters(self.target)))
        for name, counts in self.lookups.items():
            lines.append(f"  lookup   {name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        for name, counts in self.routes.items():
            lines.append(
                f"  route    {printable(name)}: {counts['routed']} routed, {counts['mapped']} mapped, "
                f"{counts['written']} written, {counts['rejected']['total']} rejected"
            )
        for it in self.items:
            if it.status in ("failed", "partial", "unmoved", "interrupted"):
                lines.append(f"  {it.status}: {printable(it.name)}: {printable(it.reason)}")
        if self.rejects_path:
            lines.append(f"  rejects  {printable(self.rejects_path)}")
        if self.report_path:
            lines.append(f"  report   {printable(self.report_path)}")
        for note in self.notes:
            lines.append(f"  note     {printable(note)}")
        if self.error:
            lines.append(f"  error    {printable(self.error)}")
        lines += _reasons_text(self.reject_reasons, rej.get("total", 0))
        return redactor.scrub("\n".join(lines))


_FILE_COLUMNS = ("seen", "done", "skipped", "failed", "partial")


def _reasons_text(reasons: list[dict[str, Any]], rejected: int) -> list[str]:
    """The report's last lines: the most common reject reasons, each with its count and first rows."""
    if not reasons:
        return []
    lines = [f"  why {rejected} record{'s were' if rejected != 1 else ' was'} rejected (most common first):"]
    for r in reasons[:REASONS_SHOWN]:
        lines.append(f"    {r['count']:>6} × {r['stage']}: {printable(r['reason'])}")
        lines.append(f"             first at {printable(_rows_text(r['first']))}")
    if len(reasons) > REASONS_SHOWN:
        lines.append(f"    and {len(reasons) - REASONS_SHOWN} more reason(s): see the rejects file")
    return lines


def _rows_text(first: list[dict[str, Any]]) -> str:
    """``stock.csv rows 3, 7, 12`` (or ``line`` when no row is known), grouped by file."""
    by_file: dict[str, list[str]] = {}
    for where in first:
        at = where.get("row") if where.get("row") is not None else where.get("line")
        by_file.setdefault(str(where.get("file") or "?"), []).append("?" if at is None else str(at))
    return "; ".join(
        f"{f} row{'s' if len(rows) > 1 else ''} {', '.join(rows)}" for f, rows in by_file.items()
    )


#: counter name -> (singular, plural) in plain words; counters not listed show as "name value"
_WORDS: dict[str, tuple[str, str]] = {
    "jobs": ("job created", "jobs created"),
    "batches": ("batch sent", "batches sent"),
    "polls": ("status check", "status checks"),
    "expired_jobs": ("expired job replaced", "expired jobs replaced"),
    "requests": ("request", "requests"),
    "retries": ("request retried", "requests retried"),
    "retried": ("retried", "retried"),
    "reconciled": ("unclear send checked with the server", "unclear sends checked with the server"),
    "token_requests": ("sign-in", "sign-ins"),
    "files": ("file published", "files published"),
    "events": ("event sent", "events sent"),
    "accepted": ("accepted", "accepted"),
    "rejected": ("refused", "refused"),
    "resent": ("resent", "resent"),
    "unknown_outcome": ("with an unknown outcome", "with an unknown outcome"),
    "lookups": ("lookup", "lookups"),
    "created": ("created", "created"),
    "updated": ("updated", "updated"),
    "applied": ("applied", "applied"),
    "pages": ("page read", "pages read"),
    "records": ("record", "records"),
    "duplicates_dropped": ("duplicate dropped", "duplicates dropped"),
    "overlap_dropped": ("already-seen record dropped", "already-seen records dropped"),
    "payload_bytes": ("byte received", "bytes received"),
    "workers": ("worker", "workers"),
}


def plain_counters(counters: dict[str, Any]) -> str:
    """A plugin's counters in plain words: ``1 job created, 2 batches sent, 7 requests``.

    Counters at zero are left out (all zero: ``nothing to report``); the JSON
    report keeps every counter under its own name.
    """
    parts = []
    for key, value in counters.items():
        if value is None or value is False or value == 0:
            continue
        if key == "truncated":
            parts.append("stopped at max_records")
        elif key == "watermark_from":
            parts.append(f"from {value}")
        elif key == "watermark_to":
            parts.append(f"up to {value}")
        elif key in _WORDS and isinstance(value, int) and not isinstance(value, bool):
            one, many = _WORDS[key]
            parts.append(f"{value:,} {one if value == 1 else many}")
        else:
            parts.append(f"{key.replace('_', ' ')} {value}")
    return ", ".join(parts) or "nothing to report"


def _summed(mine: Any, theirs: Any) -> Any:
    """Two workers' counts of one route or step, added up (nested the same way)."""
    if isinstance(theirs, dict):
        mine = mine if isinstance(mine, dict) else {}
        return {k: _summed(mine.get(k), v) for k, v in theirs.items()}
    return (mine or 0) + theirs


def judge(total: Counts, items: list[ItemReport], policy: ErrorPolicy) -> int:
    """The exit code of a run that got to the end: rejects within ``on_error``'s tolerance, or not.

    A file that could not be read at all also exits 3 (its records are not
    counted, so no ratio would show it).
    """
    if any(i.status == "failed" for i in items):
        return EXIT_REJECTS
    rejected = total.rejected
    if not rejected:
        return EXIT_OK
    if policy.max_rejects is not None:
        return EXIT_OK if rejected <= policy.max_rejects else EXIT_REJECTS
    ratio = rejected / max(total.read, 1)
    return EXIT_OK if ratio <= policy.max_reject_ratio else EXIT_REJECTS
