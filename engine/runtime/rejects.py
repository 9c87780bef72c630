"""The rejects file: every record that did not make it, and why.

One file per run, created only when something is rejected. Each entry holds
the record's lineage (file, row, line, element), the stage that refused it
(parse, mapping, target), the reasons, the original values, the mapped
payload and the target's answer, so it can be fixed and sent again with
``engine run SPEC --replay FILE``. ``jsonl`` keeps everything; ``csv`` puts
the original columns first for people fixing data in a spreadsheet. Secrets
are scrubbed from every entry before it is encoded.

An entry is always written, whatever the record holds: NaN and infinities
are spelled ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` and values with no
JSON form appear as their ``repr`` (see :func:`engine.jsonutil.dumps_safe`),
since the record that could not be sent is often the odd one.
"""

from __future__ import annotations

import csv
import io
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.jsonutil import dumps_safe, non_finite, spell
from engine.secrets import redactor

CSV_META = ["_file", "_row", "_line", "_stage", "_reason"]


class RejectsWriter:
    """The run's rejects file (JSON Lines or CSV), opened when the first reject arrives."""

    def __init__(self, path: Path, fmt: str = "jsonl") -> None:
        self.path = path
        self.format = fmt
        self.count = 0
        self._stream: Any = None
        self._csv: Any = None
        self._columns: list[str] | None = None

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._stream = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as exc:
            raise ConfigError(
                f"cannot write the rejects file {self.path}: {exc.strerror or exc}",
                hint="set on_error.rejects.path to a directory this user may write to",
            ) from None

    def write(self, entry: dict[str, Any]) -> None:
        """Append one reject entry (lineage, reason, original record, mapped payload, answer)."""
        if self._stream is None:
            self._open()
        self.count += 1
        # scrubbed before encoding (JSON and CSV escape a secret's quotes), and the encoded text once more
        entry = redactor.scrub_obj(entry)
        if self.format == "jsonl":
            self._stream.write(redactor.scrub(dumps_safe(entry)) + "\n")
            return
        original = entry.get("original")
        original = original if isinstance(original, dict) else {"_value": original}
        if self._columns is None:
            self._columns = list(original)
            self._csv = csv.writer(self._stream)
            self._csv.writerow(CSV_META + self._columns + ["_extra"])
        lineage = entry.get("lineage", {})
        extra = {k: v for k, v in original.items() if k not in self._columns}
        row = [
            lineage.get("file"),
            lineage.get("row"),
            lineage.get("line"),
            entry.get("stage"),
            "; ".join(entry.get("reasons", [])),
        ]
        row += [_cell(original.get(c)) for c in self._columns]
        row.append(dumps_safe(extra) if extra else "")
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
