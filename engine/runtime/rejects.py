"""The rejects file: every record that did not make it, and why; and the run's tally of reasons.

One file per run, created only when something is rejected. Each entry holds
the record's lineage (file, row, line, element), the stage that refused it
(parse, mapping, target), the reasons, the original values, the mapped
payload and the target's answer, so it can be fixed and sent again with
``engine run SPEC --replay FILE``. ``jsonl`` keeps everything; ``csv`` puts
the original columns first, then ``_extra`` and the lineage and reason
columns, for people fixing data in a spreadsheet (``excel: true`` adds the
byte order mark Excel needs to read UTF-8). A row the parser could not read
at all keeps its raw text (``_raw`` in CSV, ``original`` in JSON Lines).
Secrets are scrubbed from every entry before it is encoded.

An entry is always written, whatever the record holds: NaN and infinities
are spelled ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` and values with no
JSON form appear as their ``repr`` (see :func:`engine.jsonutil.dumps_safe`),
since the record that could not be sent is often the odd one.

:class:`RejectTally` counts rejects by reason for the run report, which ends
with the most common ones and the first rows of each.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.jsonutil import dumps_safe, non_finite, spell
from engine.secrets import redactor

#: the columns after a CSV rejects file's original columns and ``_extra``
CSV_META = ["_file", "_row", "_line", "_stage", "_reason", "_raw"]
#: the byte order mark ``excel: true`` writes first
BOM = "\ufeff"


class RejectsWriter:
    """The run's rejects file (JSON Lines or CSV), opened when the first reject arrives."""

    def __init__(self, path: Path, fmt: str = "jsonl", *, excel: bool = False) -> None:
        self.path = path
        self.format = fmt
        self.excel = excel and fmt == "csv"
        self.count = 0
        self._stream: Any = None
        self._csv: Any = None
        self._columns: list[str] | None = None

    def _open(self) -> None:
        """Create the file; with ``excel``, its first character is the byte order mark."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            stream = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as exc:
            raise ConfigError(
                f"cannot write the rejects file {self.path}: {exc.strerror or exc}",
                hint="set on_error.rejects.path to a directory this user may write to",
            ) from None
        if self.excel:
            stream.write(BOM)
        self._stream = stream

    def write(self, entry: dict[str, Any], *, columns: Sequence[str] | None = None) -> None:
        """Append one reject entry (lineage, reason, original record, mapped payload, answer).

        ``columns`` names the source's columns when the entry's original is not
        a record (a CSV row the parser could not read): a CSV file whose first
        entry is such a row still gets the original columns as its header.
        """
        if self._stream is None:
            self._open()
        self.count += 1
        # scrubbed before encoding (JSON and CSV escape a secret's quotes), and the encoded text once more
        entry = redactor.scrub_obj(entry)
        if self.format == "jsonl":
            self._stream.write(redactor.scrub(dumps_safe(entry)) + "\n")
            return
        original = entry.get("original")
        record = original if isinstance(original, dict) else {}
        if self._columns is None:
            self._columns = list(record) if record or not columns else [str(c) for c in columns]
            self._csv = csv.writer(self._stream)
            self._csv.writerow([*self._columns, "_extra", *CSV_META])
        lineage = entry.get("lineage", {})
        extra = {k: v for k, v in record.items() if k not in self._columns}
        row = [_cell(record.get(c)) for c in self._columns]
        row.append(dumps_safe(extra) if extra else "")
        row += [
            lineage.get("file"),
            lineage.get("row"),
            lineage.get("line"),
            entry.get("stage"),
            "; ".join(entry.get("reasons", [])),
            "" if isinstance(original, dict) or original is None else _raw(original),
        ]
        buf = io.StringIO()
        csv.writer(buf).writerow(row)
        self._stream.write(redactor.scrub(buf.getvalue()))

    def append_csv_rows(self, lines: list[str]) -> None:
        """Rows of another rejects CSV (its header skipped once this file has one)."""
        if not lines:
            return
        fresh = self._stream is None
        if fresh:
            self._open()
        stream: Any = self._stream
        lines = [redactor.scrub(line) for line in lines]
        if lines[0].startswith(BOM):
            lines[0] = lines[0][len(BOM) :]
        if fresh:
            stream.write("\n".join(lines) + "\n")
            self._columns = []
        else:
            stream.write("\n".join(lines[1:]) + ("\n" if len(lines) > 1 else ""))
        self.count += len(lines) - 1

    def flush(self) -> None:
        """Make what is written durable before a checkpoint moves past it."""
        if self._stream is not None:
            self._stream.flush()
            os.fsync(self._stream.fileno())

    def close(self) -> None:
        """Close the file; harmless when nothing was written."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return dumps_safe(value)
    if isinstance(value, float | Decimal) and non_finite(value) is not None:
        return spell(value)
    return value


def _raw(value: Any) -> str:
    """A value that is not a record, as one CSV cell: text as it was read, anything else as JSON."""
    return value if isinstance(value, str) else dumps_safe(value)


#: quoted values inside a reason, replaced when reasons are grouped ("'ten' is not an integer")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
#: distinct reasons tallied; later new ones are counted together
MAX_REASONS = 1000
#: rows remembered per reason
FIRST_ROWS = 3


@dataclasses.dataclass
class ReasonCount:
    """How often one reason rejected a record, and where it did first."""

    stage: str
    reason: str
    count: int = 0
    #: lineage (file, row, line) of the first records it rejected
    first: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: whether the quoted values differed between records (then ``reason`` shows them as '…')
    varied: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The entry as the JSON report holds it."""
        return {"stage": self.stage, "reason": self.reason, "count": self.count, "first": self.first}


class RejectTally:
    """Rejects counted by stage and reason, for the report's summary of why records were rejected.

    Reasons that differ only in the values they quote (``qty: 'ten' is not
    an integer``, ``qty: 'x' is not an integer``) count as one, shown with
    ``'…'`` in place of the values.
    """

    def __init__(self) -> None:
        self.reasons: dict[tuple[str, str], ReasonCount] = {}

    def add(self, stage: str, reasons: list[str], lineage: dict[str, Any]) -> None:
        """Count one rejected record under each of its reasons."""
        where = {k: lineage[k] for k in ("file", "row", "line") if lineage.get(k) is not None}
        for text in reasons or ["(no reason given)"]:
            shape = _QUOTED.sub("'…'", text)
            key = (stage, shape)
            entry = self.reasons.get(key)
            if entry is None:
                if len(self.reasons) >= MAX_REASONS:
                    key = (stage, "(other reasons)")
                    entry = self.reasons.setdefault(key, ReasonCount(stage, "(other reasons)"))
                else:
                    entry = self.reasons[key] = ReasonCount(stage, text)
            elif not entry.varied and entry.reason != text:
                entry.varied, entry.reason = True, shape
            entry.count += 1
            if len(entry.first) < FIRST_ROWS:
                entry.first.append(where)

    def top(self, n: int) -> list[dict[str, Any]]:
        """The ``n`` most common reasons, most common first, as report entries."""
        ranked = sorted(self.reasons.values(), key=lambda r: (-r.count, r.stage, r.reason))
        return [r.as_dict() for r in ranked[:n]]


def merge_reasons(a: list[dict[str, Any]], b: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """Two reports' reason summaries as one (a worker's into the run's), most common first."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in [*a, *b]:
        key = (entry["stage"], entry["reason"])
        into = merged.setdefault(key, {**entry, "count": 0, "first": []})
        into["count"] += entry["count"]
        into["first"] = (into["first"] + list(entry["first"]))[:FIRST_ROWS]
    return sorted(merged.values(), key=lambda r: (-r["count"], r["stage"], r["reason"]))[:n]
