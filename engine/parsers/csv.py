"""CSV parser: streaming, strict about structure, exact about positions.

```yaml
parser:
  type: csv
  delimiter: ","
  encoding: utf-8
  ragged_rows: reject
```

Values stay strings exactly as written (``00123`` keeps its zeros). The UTF-8
byte order mark is removed; CRLF, LF and CR endings and quoted fields holding
delimiters and newlines are read as CSV intends. A row with the wrong number
of cells, a quote out of place, or bytes that are not valid in the encoding
is rejected with its row and line number while the other rows flow; a row
the CSV reader cannot make sense of keeps its raw text in the reject.
Blank lines are skipped. Records travel in row form (lists plus the header),
which the mapping reads by column index. A large file can be read in parts
by several workers (see :meth:`CsvParser.split`); rows keep the file's own
numbers.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import functools
import io
import itertools
import operator
from collections.abc import Iterator
from typing import IO, Any

from typing_extensions import override

from engine.contracts import ByteRange, Chunk, Item, Parser, ParseReject, RunContext
from engine.errors import ParseError
from engine.parsers._arrow_blocks import arrow_or_rows, refused_by_all
from engine.parsers._csv_arrow import ArrowCsv
from engine.parsers._parts import Cutter, ascii_compatible, prefixed, renumbered
from engine.parsers._text import BadBytes, normalise_encoding, open_text

csv.field_size_limit(16 * 1024 * 1024)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "delimiter": {
            "type": "string",
            "minLength": 1,
            "maxLength": 1,
            "default": ",",
            "description": 'cell separator; use "\\t" for tab',
        },
        "quote": {"type": "string", "minLength": 1, "maxLength": 1, "default": '"'},
        "escape": {
            "type": ["string", "null"],
            "minLength": 1,
            "maxLength": 1,
            "default": None,
            "description": "escape character inside quoted cells (default: doubled quotes)",
        },
        "encoding": {"type": "string", "default": "utf-8"},
        "header": {"type": "boolean", "default": True, "description": "the first row names the columns"},
        "columns": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "description": "column names; required when header is false, renames columns otherwise",
        },
        "skip_rows": {
            "type": "integer",
            "minimum": 0,
            "default": 0,
            "description": "lines to skip before the header (or the first record)",
        },
        "comment": {
            "type": ["string", "null"],
            "minLength": 1,
            "maxLength": 1,
            "default": None,
            "description": "lines starting with this character are skipped",
        },
        "ragged_rows": {
            "enum": ["reject", "pad", "pad_and_truncate"],
            "default": "reject",
            "description": "rows with too few or too many cells: reject them, pad short "
            "rows with missing values, or also drop extra cells",
        },
        "sniff": {
            "type": "boolean",
            "default": False,
            "description": "detect the delimiter from the start of each file",
        },
        "chunk_size": {"type": "integer", "minimum": 1, "maximum": 1000000, "default": 5000},
    },
}


@dataclasses.dataclass
class CsvOptions:
    """A validated ``parser: {type: csv}`` block; defaults and meanings are in :data:`SCHEMA`."""

    delimiter: str
    quote: str
    escape: str | None
    encoding: str
    header: bool
    columns: list[str] | None
    skip_rows: int
    comment: str | None
    ragged_rows: str
    sniff: bool
    chunk_size: int


class CsvParser(Parser):
    """Streams CSV rows in row form (cells plus the header), rejecting malformed rows one by one."""

    name = "csv"
    summary = "comma (or other) separated values, streamed"
    schema = SCHEMA
    Options = CsvOptions
    arrow_rows = True

    def __init__(self, options: CsvOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.encoding = normalise_encoding(options.encoding)

    def problems(self) -> list[tuple[tuple, str]]:
        """Option combinations the schema cannot refuse, as ``(spec sub-path, message)`` for ``engine validate``."""
        if not self.options.header and not self.options.columns:
            return [(("columns",), "with header: false, list the column names in 'columns'")]
        return []

    @override
    def split(self, stream: IO[bytes], item: Item, part_size: int) -> list[ByteRange] | None:
        """Parts that start where a record starts, found with the same reader :meth:`parse` uses.

        Not for files whose records a byte scan cannot delimit the way the
        reader does: an escape character, a sniffed delimiter, comment lines,
        an encoding where a newline byte may be part of another character
        (UTF-16), or lone CR line endings.
        """
        opts = self.options
        if (
            opts.escape is not None
            or opts.sniff
            or opts.comment is not None
            or not ascii_compatible(self.encoding)
        ):
            return None
        try:
            return _CsvScan(self, item, part_size).run(stream)
        except _LoneCarriageReturn:
            return None

    @override
    def parse(self, stream: IO[bytes], item: Item, run: RunContext | None = None) -> Iterator[Chunk]:
        reader = functools.partial(ArrowCsv, self, item, run)
        yield from arrow_or_rows(self, reader, self._arrow_refused(item), stream, item, run)

    def _arrow_refused(self, item: Item) -> str | None:
        """Why this file is not read with Arrow, or None when it is (see :mod:`engine.parsers._csv_arrow`)."""
        opts = self.options
        common = refused_by_all(self, item)
        if common is not None:
            return common
        if opts.escape is not None or opts.sniff or opts.comment is not None:
            return "escape, sniff and comment need the row reader"
        return None

    def read_rows(self, stream: IO[bytes], item: Item, part: ByteRange | None) -> Iterator[Chunk]:
        """The row reader: chunks of row lists; ``part`` places ``stream`` in its file (numbering, header)."""
        if part is not None and part.index > 1:
            stream = prefixed(part.header, stream)
        opts = self.options
        bad = BadBytes()
        text = open_text(stream, self.encoding, bad)
        line_base = 0
        for _ in range(opts.skip_rows):
            if not text.readline():
                return
            line_base += 1
        delimiter = opts.delimiter
        lines: Any = text
        if opts.sniff:
            delimiter, sample = _sniff(text, delimiter)
            lines = itertools.chain(sample, text)
        lines, shadow = itertools.tee(lines)
        reader = csv.reader(
            lines,
            delimiter=delimiter,
            quotechar=opts.quote,
            escapechar=opts.escape,
            doublequote=opts.escape is None,
            strict=True,
        )
        columns, header_line = self._header(reader, item, line_base)
        if columns is None:
            return
        in_header = (
            [b for b in bad.found if line_base < b[0] <= line_base + header_line] if opts.header else []
        )
        if in_header:
            line, offset, data = in_header[0]
            raise ParseError(
                f"{item.name}:{line}: the header holds bytes {data.hex(' ')} at byte offset {offset}, "
                f"which are not valid {opts.encoding}",
                hint="set parser.encoding to the file's encoding (e.g. latin-1, cp1252)",
            )
        if part is not None and part.index > 1:  # the file's own rows, lines and byte offsets
            bad.line_shift = part.lines_before - (line_base + header_line)
            bad.offset_shift = part.start - len(part.header)
        rows = self._rows(reader, item, columns, header_line, line_base, bad, _Shadow(shadow))
        if part is not None and part.index > 1:
            rows = renumbered(rows, part.records_before, bad.line_shift)
        yield from rows

    def _header(self, reader, item: Item, line_base: int) -> tuple[tuple[str, ...] | None, int]:
        opts = self.options
        if not opts.header:
            return tuple(opts.columns or ()), 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return None, 0
            except csv.Error as exc:
                raise ParseError(
                    f"{item.name}:{line_base + reader.line_num}: cannot read the header: {exc}"
                ) from None
            if row and not (opts.comment and row[0].startswith(opts.comment)):
                break
        if opts.columns:
            return tuple(opts.columns), reader.line_num
        names = [c.strip() for c in row]
        duplicates = sorted(c for c, n in collections.Counter(names).items() if n > 1)
        if duplicates:
            raise ParseError(
                f"{item.name}:{line_base + reader.line_num}: duplicate column names in the header: "
                f"{', '.join(repr(d) for d in duplicates)}",
                hint="rename them with parser.columns",
            )
        return tuple(names), reader.line_num

    def _rows(
        self,
        reader,
        item: Item,
        columns: tuple[str, ...],
        header_line: int,
        line_base: int,
        bad: BadBytes,
        shadow: _Shadow,
    ) -> Iterator[Chunk]:
        opts = self.options
        width = len(columns)
        size = opts.chunk_size
        comment = opts.comment
        ragged = opts.ragged_rows
        n = 0
        prev = reader.line_num
        rows: list[list[str]] = []
        positions: list[int] = []
        lines: list[int] = []
        rejects: list[ParseReject] = []
        bad_index = 0
        while True:
            try:
                for row in reader:
                    start = prev + 1 + line_base
                    prev = reader.line_num
                    if not row:
                        continue
                    if comment is not None and row[0].startswith(comment):
                        continue
                    n += 1
                    if len(row) != width:
                        row = self._ragged(row, width, ragged, n, start, columns, rejects)
                        if row is None:
                            continue
                    rows.append(row)
                    positions.append(n)
                    lines.append(start)
                    if len(rows) >= size:
                        break
                else:
                    if bad:
                        bad_index = _reject_bad_bytes(
                            bad,
                            bad_index,
                            rows,
                            positions,
                            lines,
                            rejects,
                            self.options.encoding,
                            prev + line_base,
                            final=True,
                        )
                    if rows or rejects:
                        yield Chunk(item, rows, positions, columns, lines, rejects=rejects or None, text=True)
                    return
            except csv.Error as exc:
                start = prev + 1 + line_base
                raw = shadow.text(prev + 1, reader.line_num)
                prev = reader.line_num
                n += 1
                end = prev + line_base
                shift = bad.line_shift  # a part's lines are the file's own in messages too
                where = f"line {start + shift}" if end == start else f"lines {start + shift}-{end + shift}"
                rejects.append(ParseReject(n, f"malformed CSV at {where}: {exc}", start, raw))
                continue
            if bad:
                bad_index = _reject_bad_bytes(
                    bad,
                    bad_index,
                    rows,
                    positions,
                    lines,
                    rejects,
                    self.options.encoding,
                    prev + line_base,
                    final=False,
                )
            shadow.drop_to(prev)
            yield Chunk(item, rows, positions, columns, lines, rejects=rejects or None, text=True)
            rows, positions, lines, rejects = [], [], [], []

    @staticmethod
    def _ragged(
        row: list[str],
        width: int,
        policy: str,
        n: int,
        line: int,
        columns: tuple[str, ...],
        rejects: list[ParseReject],
    ) -> list[str] | None:
        if len(row) < width and policy in ("pad", "pad_and_truncate"):
            return row + [None] * (width - len(row))  # type: ignore[list-item]
        if len(row) > width and policy == "pad_and_truncate":
            return row[:width]
        raw = (
            dict(itertools.zip_longest(columns, row))
            if len(row) < width
            else {**dict(zip(columns, row, strict=False)), "_extra": row[width:]}
        )
        rejects.append(ParseReject(n, f"row has {len(row)} cells, the header has {width}", line, raw))
        return None


class _Shadow:
    """The text lines the CSV reader has consumed, kept until the rows they hold are done.

    A second iterator over the same lines (``itertools.tee``) trails the
    reader; it is advanced past each finished chunk, so it holds at most one
    chunk's lines, and gives back the raw text of a row the reader refused.
    """

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        #: lines (the reader's ``line_num``) already passed
        self.taken = 0

    def drop_to(self, line: int) -> None:
        """Forget the lines up to and including ``line``."""
        if line > self.taken:
            collections.deque(itertools.islice(self.lines, line - self.taken), maxlen=0)
            self.taken = line

    def text(self, first: int, last: int) -> str:
        """The raw text of lines ``first`` to ``last`` (the reader's numbering), without the last line ending."""
        self.drop_to(first - 1)
        text = "".join(itertools.islice(self.lines, max(0, last - first + 1)))
        self.taken = max(self.taken, last)
        return text.removesuffix("\n").removesuffix("\r")


def _reject_bad_bytes(
    bad: BadBytes,
    start_index: int,
    rows: list,
    positions: list,
    lines: list,
    rejects: list,
    encoding: str,
    last_line: int,
    final: bool,
) -> int:
    """Move rows holding undecodable bytes from ``rows`` to ``rejects``.

    Undecodable bytes were replaced by U+FFFD while decoding; the row that
    starts at or before the bad line and holds U+FFFD is the one to reject
    (a row already rejected for another reason is left alone).
    """
    i = start_index
    found = bad.found
    drop: dict[int, str] = {}
    while i < len(found):
        line, offset, data = found[i]
        if not final and line > last_line:
            break
        # the record containing this line is the last one starting at or before it
        k = _last_at_or_before(lines, line)
        if k is not None and k not in drop and any("\ufffd" in (cell or "") for cell in rows[k]):
            drop[k] = (
                f"bytes {data.hex(' ')} at byte offset {offset + bad.offset_shift} (line {line + bad.line_shift}) "
                f"are not valid {encoding}"
            )
        i += 1
    if drop:
        for k in sorted(drop, reverse=True):
            rejects.append(ParseReject(positions[k], drop[k], lines[k], rows[k]))
            del rows[k], positions[k], lines[k]
        rejects.sort(key=lambda r: r.position)
    return i


def _last_at_or_before(lines: list[int], line: int) -> int | None:
    import bisect

    k = bisect.bisect_right(lines, line) - 1
    return k if k >= 0 else None


def _sniff(text, default: str) -> tuple[str, list[str]]:
    """The delimiter guessed from the first lines, and those lines (to be read again)."""
    sample: list[str] = []
    size = 0
    while size < 64 * 1024:
        line = text.readline()
        if not line:
            break
        sample.append(line)
        size += len(line)
    try:
        return csv.Sniffer().sniff("".join(sample), delimiters=",;\t|:").delimiter, sample
    except csv.Error:
        return default, sample


class _LoneCarriageReturn(Exception):
    """A line break the scan cannot see (CR alone): the file is read whole."""


class _CrWatch(io.RawIOBase):
    """Passes bytes through, noting whether any CR stands alone (not before LF), a block at a time.

    While ``keep`` is set it also keeps what passed (the header region of the file).
    """

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self._stream = stream
        self._cr_last = False
        self.lone_cr = False
        self.keep = True
        self.kept = bytearray()
        self._pos = 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        if not data:
            self.lone_cr = self.lone_cr or self._cr_last
            return 0
        lone = data.count(b"\r") - data.count(b"\r\n")
        if self._cr_last and not data.startswith(b"\n"):
            self.lone_cr = True
        if data.endswith(b"\r"):
            lone -= 1  # decided by the next block's first byte
        self._cr_last = data.endswith(b"\r")
        self.lone_cr = self.lone_cr or lone > 0
        if self.keep:
            self.kept += data
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


#: rows between two looks at the stream's position while scanning (a part ends within this many rows
#: past its nominal size)
_LOOK_EVERY = 256


class _CsvScan:
    """One pass over a CSV file with the parser's own reader, noting where records end.

    Lines are decoded as Latin-1 (one character per byte): in an ASCII-compatible
    encoding the delimiter, quote and newline bytes are the characters the
    parser sees. Reading happens in C (line splitting, decoding, the CSV
    reader), and after a row the stream's position is where that row ends.
    """

    def __init__(self, parser: CsvParser, item: Item, part_size: int) -> None:
        self.opts = parser.options
        self.item = item
        self.part_size = part_size

    def run(self, stream: IO[bytes]) -> list[ByteRange] | None:
        opts = self.opts
        watch = _CrWatch(stream)
        raw = io.BufferedReader(watch, buffer_size=1 << 20)
        for _ in range(opts.skip_rows):
            if not raw.readline():
                return None
        reader = csv.reader(
            map(operator.methodcaller("decode", "latin-1"), raw),
            delimiter=opts.delimiter,
            quotechar=opts.quote,
            doublequote=True,
            strict=True,
        )
        if opts.header and not _header_row(reader):
            return None
        header_end = raw.tell()
        cutter = Cutter(self.item, self.part_size, bytes(watch.kept[:header_end]))
        watch.keep, watch.kept = False, bytearray()
        n = since = 0
        last = header_end
        while True:
            try:
                for row in reader:
                    if not row:
                        continue
                    n += 1
                    since += 1
                    if since >= _LOOK_EVERY:
                        since = 0
                        if raw.tell() - last >= self.part_size:
                            last = raw.tell()
                            cutter.record_end(last, n, opts.skip_rows + reader.line_num)
                break
            except csv.Error:  # the parser rejects this record and reads on from the next line, as here
                n += 1
        if watch.lone_cr:
            raise _LoneCarriageReturn()
        return cutter.parts(raw.tell())


def _header_row(reader: Any) -> bool:
    """Read up to the header row (blank rows first are skipped, as the parser does)."""
    while True:
        try:
            row = next(reader)
        except (StopIteration, csv.Error):  # an empty file, or one the parser refuses as a whole
            return False
        if row:
            return True
