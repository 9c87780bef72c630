"""JSON Lines parser: one JSON value per line, streamed.

```yaml
parser:
  type: jsonl
```

A line that is not valid JSON (or nested too deeply to read) is rejected
with its line number and the parser's message; the lines around it still
flow. Blank lines are skipped; a line longer than ``max_line_bytes`` is
rejected without being held in memory. Numbers and repeated keys follow
:mod:`engine.parsers._json_values` (the same rules as ``json``): a line with
``NaN`` or ``Infinity`` (which Python would read) or with a key repeated in
an object is rejected naming the field or key. A large file can be read in
parts by several workers, cut at line ends; records keep the file's own
line and record numbers.

When the mapping can work on columns (``mapping.columnar``), a file is
read with Arrow block by block where Arrow reads exactly what the row
reader reads: lines that are all flat objects of text and nulls with the
first line's keys in the same order (see :mod:`engine.parsers._jsonl_arrow`);
from the first block that is not, the row reader takes over.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterator
from typing import IO, Any

from typing_extensions import override

from engine.contracts import ByteRange, Chunk, Item, Parser, ParseReject, RunContext
from engine.jsonutil import non_finite
from engine.parsers._arrow_blocks import arrow_or_rows, refused_by_all
from engine.parsers._json_values import Duplicate, duplicate_reason, number, object_pairs
from engine.parsers._jsonl_arrow import ArrowJsonl
from engine.parsers._parts import Cutter, ascii_compatible, renumbered
from engine.parsers._text import normalise_encoding

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "encoding": {"type": "string", "default": "utf-8"},
        "chunk_size": {"type": "integer", "minimum": 1, "maximum": 1000000, "default": 5000},
        "max_line_bytes": {
            "type": "integer",
            "minimum": 1024,
            "default": 64 * 1024 * 1024,
            "description": "a longer line is rejected (protects memory)",
        },
    },
}


@dataclasses.dataclass
class JsonlOptions:
    """A validated ``parser: {type: jsonl}`` block; defaults and meanings are in :data:`SCHEMA`."""

    encoding: str
    chunk_size: int
    max_line_bytes: int


class JsonlParser(Parser):
    """Streams JSON Lines, one record per non-blank line; a bad line is rejected, not fatal."""

    name = "jsonl"
    summary = "JSON Lines: one JSON value per line"
    schema = SCHEMA
    Options = JsonlOptions
    arrow_rows = True

    def __init__(self, options: JsonlOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.encoding = normalise_encoding(options.encoding)

    @override
    def split(self, stream: IO[bytes], item: Item, part_size: int) -> list[ByteRange] | None:
        """Parts that start at a line, numbered as :meth:`parse` numbers lines and records.

        Not for encodings where a newline byte may be part of another character (UTF-16).
        """
        if not ascii_compatible(self.encoding):
            return None
        cutter = Cutter(item, part_size)
        offset = records = lines = 0
        limit = self.options.max_line_bytes
        blank = True
        while True:
            piece = stream.readline(min(limit + 1, 1 << 20))
            if not piece:
                break
            offset += len(piece)
            blank = blank and not piece.strip()
            if piece.endswith(b"\n"):
                lines += 1
                records += 0 if blank else 1
                blank = True
                cutter.record_end(offset, records, lines)
        return cutter.parts(offset)

    @override
    def parse(self, stream: IO[bytes], item: Item, run: RunContext | None = None) -> Iterator[Chunk]:
        reader = functools.partial(ArrowJsonl, self, item, run)
        yield from arrow_or_rows(self, reader, self._arrow_refused(item), stream, item, run)

    def _arrow_refused(self, item: Item) -> str | None:
        """Why this file is not read with Arrow, or None when it is (see :mod:`engine.parsers._jsonl_arrow`)."""
        return refused_by_all(self, item)

    def read_rows(self, stream: IO[bytes], item: Item, part: ByteRange | None) -> Iterator[Chunk]:
        """The row reader: chunks of dicts; ``part`` places ``stream`` in its file (record and line numbers)."""
        chunks = self._parse(stream, item)
        if part is not None:  # a part: the file's own record and line numbers
            chunks = renumbered(chunks, part.records_before, part.lines_before)
        yield from chunks

    def _parse(self, stream: IO[bytes], item: Item) -> Iterator[Chunk]:
        size = self.options.chunk_size
        limit = self.options.max_line_bytes
        encoding = self.encoding
        records: list[Any] = []
        positions: list[int] = []
        lines: list[int] = []
        rejects: list[ParseReject] = []
        n = 0
        line_no = 0
        constants: list[str] = []

        def constant(name: str) -> float:
            constants.append(name)
            return float(name)

        loads = json.JSONDecoder(
            object_pairs_hook=object_pairs, parse_float=number, parse_constant=constant
        ).decode
        while True:
            raw = stream.readline(limit + 1)
            if not raw:
                break
            line_no += 1
            if len(raw) > limit and not raw.endswith(b"\n"):
                n += 1
                rejects.append(ParseReject(n, f"line is longer than {limit} bytes", line_no))
                while raw and not raw.endswith(b"\n"):
                    raw = stream.readline(limit + 1)
                continue
            if not raw.strip():
                continue
            n += 1
            constants.clear()
            try:
                text = raw.decode(encoding)
                value = loads(text)
            except UnicodeDecodeError as exc:
                rejects.append(
                    ParseReject(
                        n,
                        f"bytes at column {exc.start + 1} are not valid {self.options.encoding}",
                        line_no,
                        raw[:200].decode(encoding, "replace"),
                    )
                )
                continue
            except Duplicate as exc:
                rejects.append(ParseReject(n, duplicate_reason([exc.key]), line_no, text[:1000]))
                continue
            except ValueError as exc:
                rejects.append(ParseReject(n, f"invalid JSON: {exc}", line_no, text[:1000]))
                continue
            except RecursionError:
                rejects.append(ParseReject(n, "the value is nested too deeply to read", line_no, text[:1000]))
                continue
            if constants:  # NaN, Infinity: Python reads them, JSON has no such numbers
                rejects.append(ParseReject(n, f"invalid JSON: {non_finite(value)}", line_no, text[:1000]))
                continue
            records.append(value)
            positions.append(n)
            lines.append(line_no)
            if len(records) >= size:
                yield Chunk(item, records, positions, None, lines, rejects=rejects or None)
                records, positions, lines, rejects = [], [], [], []
        if records or rejects:
            yield Chunk(item, records, positions, None, lines, rejects=rejects or None)
