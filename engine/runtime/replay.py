"""``engine run SPEC --replay REJECTS``: send fixed records again.

A rejects file (JSON Lines or CSV, as the runner writes them) is read back;
each entry's original values — as corrected by whoever fixed the file — go
through the spec's own mapping and target, keeping their lineage (original
file and row), so what is rejected again points at the same source row.
Nothing in the ledger changes: the files themselves were processed already.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from typing_extensions import override

from engine.contracts import Chunk, Item, ParseReject, RunContext, Source
from engine.errors import ConfigError

META = {"_file", "_row", "_line", "_stage", "_reason", "_extra", "_raw"}


def _entries(path: Path) -> Iterator[dict[str, Any]]:
    try:
        # utf-8-sig: a file written with on_error.rejects.excel starts with a byte order mark
        stream = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ConfigError(f"cannot read the rejects file {path}: {exc.strerror}") from None
    with stream:
        first = stream.read(1)
        stream.seek(0)
        if first == "{":
            for n, line in enumerate(stream, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except ValueError as exc:
                        raise ConfigError(f"{path}:{n}: not a JSON line: {exc}") from None
            return
        for row in csv.DictReader(stream):
            original: Any = {k: v for k, v in row.items() if k not in META}
            if row.get("_extra"):
                original.update(json.loads(row["_extra"]))
            if row.get("_raw") and not any(original.values()):
                original = row["_raw"]  # a row the parser could not read, not corrected into the columns
            lineage = {"file": row.get("_file"), "row": int(row["_row"]) if row.get("_row") else None}
            if row.get("_line"):
                lineage["line"] = int(row["_line"])
            yield {
                "stage": row.get("_stage"),
                "lineage": lineage,
                "original": original,
                "reasons": [row.get("_reason", "")],
            }


class ReplaySource(Source):
    """Records from a rejects file, grouped by the file they first came from."""

    name = "replay"
    produces = "records"
    summary = "records from a rejects file"

    def __init__(self, path: Path, route: str | None = None, step: str | None = None) -> None:
        super().__init__(None, path="--replay")
        self.file = path
        self.count = 0
        #: ``--route NAME``: only the entries a route of that name rejected
        self.route = route
        #: ``--step NAME``: only the entries that step (of ``route``) rejected
        self.step = step

    @override
    def items(self, run: RunContext) -> Iterator[Item]:
        groups: dict[tuple[str, str | None, str | None], list[dict[str, Any]]] = {}
        for entry in _entries(self.file):
            if self.route is not None and entry.get("route") != self.route:
                continue
            if self.step is not None and entry.get("step") != self.step:
                continue
            lineage = entry.get("lineage") or {}
            uri = str(lineage.get("uri") or lineage.get("file") or "unknown")
            groups.setdefault((uri, entry.get("route"), entry.get("step")), []).append(entry)
        self.groups = {}
        for (uri, route, step), entries in groups.items():
            name = (entries[0].get("lineage") or {}).get("file") or uri
            key = f"replay:{uri}" + (f"#route={route}" if route else "") + (f"#step={step}" if step else "")
            self.groups[key] = entries
            # the original name, so anything rejected again points at the same file and row;
            # a route's (or step's) rejects go back to that route (or step) alone
            meta: dict[str, Any] = {"entries": len(entries), "replay": True}
            if route:
                meta["route"] = route
            if step:
                meta["step"] = step
            yield Item(uri=key, name=str(name), meta=meta)

    @override
    def read_records(self, item: Item, run: RunContext) -> Iterator[Chunk]:
        entries = self.groups[item.uri]
        records, positions, lines, rejects = [], [], [], []
        for n, entry in enumerate(entries, 1):
            lineage = entry.get("lineage") or {}
            row = lineage.get("row") or n
            original = entry.get("original")
            if isinstance(original, str):
                try:
                    original = json.loads(original)
                except ValueError:
                    pass
            if not isinstance(original, dict):
                rejects.append(
                    ParseReject(
                        row,
                        "cannot replay: the entry's original is not a record "
                        "(edit it into an object of field values)",
                        lineage.get("line"),
                        entry.get("original"),
                    )
                )
                continue
            records.append(original)
            positions.append(row)
            lines.append(lineage.get("line") or 0)
        self.count += len(records) + len(rejects)
        yield Chunk(item, records, positions, None, lines, rejects=rejects or None)

    @override
    def read(self, item: Item) -> IO[bytes]:  # pragma: no cover - records source
        raise NotImplementedError
