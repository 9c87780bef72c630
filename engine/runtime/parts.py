"""One large file read in parts by several workers, and committed once as a whole.

A coordinated run whose executor has a ``split_size`` cuts a file larger than
that into parts that start at records (the parser decides where:
:meth:`engine.contracts.Parser.split`). Each part is an item of its own: its
own claim, checkpoint and ledger row, read by whichever worker takes it. The
file itself is moved and marked done only when every part is delivered; a
part that failed is read again by the next run, which skips the parts
already delivered.

Where the parts start is stored with the file's fingerprint before any part
is read, and later runs reuse exactly those parts while the file is
unchanged, even with another ``split_size`` or in a single process: a part
boundary that moved would deliver records twice.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from engine.contracts import ByteRange, Item, Parser, Source
from engine.runtime.checkpoints import fingerprint_of
from engine.runtime.ledger import already_done
from engine.runtime.moves import move_delivered, record_delivered
from engine.runtime.outcomes import Counts
from engine.runtime.report import ItemReport

#: stored-value key of a file's parts (followed by the file's uri)
KEY = "parts:"


def stored_parts(run: Any, item: Item) -> list[ByteRange] | None:
    """The parts an earlier run cut ``item`` into, while the file is unchanged; else None."""
    saved = run.state.kv_get(run.connector, KEY + item.uri)
    if not saved or saved.get("fingerprint") != fingerprint_of(item):
        return None
    header = base64.b64decode(saved.get("header") or "")
    spans = saved["parts"]
    return [
        ByteRange(item.uri, start, end, k + 1, len(spans), before, lines, header if k else b"")
        for k, (start, end, before, lines) in enumerate(spans)
    ]


def cut(run: Any, source: Source, parser: Parser, item: Item, part_size: int) -> list[ByteRange] | None:
    """Scan ``item`` once and store its parts; None when it stays whole (small, or the parser cannot)."""
    stream = source.read(item)
    try:
        parts = parser.split(stream, item, part_size)
    finally:
        stream.close()
    if not parts or len(parts) < 2:
        return None
    run.state.kv_set(
        run.connector,
        KEY + item.uri,
        {
            "fingerprint": fingerprint_of(item),
            "header": base64.b64encode(parts[1].header).decode("ascii"),
            "parts": [[p.start, p.end, p.records_before, p.lines_before] for p in parts],
        },
    )
    return parts


def pending(run: Any, source: Source, item: Item, parts: Sequence[ByteRange]) -> list[Item]:
    """The part items of ``item`` not delivered yet (earlier runs may have delivered some)."""
    out = []
    for part in parts:
        piece = item.part(part)
        if already_done(run, source, piece, "fingerprint") is None:
            out.append(piece)
    return out


def settle(run: Any, source: Source, item: Item, parts: Sequence[ByteRange], items: list[ItemReport]) -> None:
    """Commit ``item`` when every part is settled, and report it as one file instead of its parts.

    ``items`` (the run report's items) loses the parts' entries and gains the
    file's. A file with parts still to deliver stays where it is for the next
    run, which reads only those.
    """
    uris = {p.uri() for p in parts}
    mine = [r for r in items if r.uri in uris]
    items[:] = [r for r in items if r.uri not in uris]
    total = Counts()
    for r in mine:
        total.add(Counts.from_dict(r.counts))
    report = ItemReport(item.uri, item.name, "done", counts=total.as_dict())
    items.append(report)
    rows = [run.state.ledger_get(run.connector, uri) for uri in sorted(uris)]
    statuses = [row["status"] if row else "new" for row in rows]
    delivered = sum(s == "done" for s in statuses)
    report.reason = f"read in {len(parts)} parts"
    if delivered < len(parts) and any(s not in ("done", "quarantined") for s in statuses):
        report.status = "failed"
        report.reason = (
            f"{delivered} of {len(parts)} parts delivered; the next run reads only the others"
            + "".join(f"; {r.reason}" for r in mine if r.status == "failed" and r.reason)
        )
        return
    if delivered < len(parts):  # some parts could not be read at all: the file goes where bad files go
        report.status = "failed"
        report.reason = f"{len(parts) - delivered} of {len(parts)} parts could not be read"
        report.moved_to = source.complete(item, False, run)
        status = "quarantined" if report.moved_to else "failed"
        run.state.ledger_mark(
            run.connector, item, status, run.run_id, error=report.reason, moved_to=report.moved_to
        )
    else:
        records = sum(int(row["records"] or 0) for row in rows if row)
        moved, problem = move_delivered(run, source, item)
        record_delivered(run, item, report, records, moved, problem)
    for uri in uris:
        run.state.ledger_forget(run.connector, uri)
    run.state.kv_delete(run.connector, KEY + item.uri)
