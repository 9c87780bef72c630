"""A text file read with Arrow block by block while each block qualifies, then with the row reader.

Arrow's readers are many times faster than a row loop but do not promise
what a hardened row reader promises (located rejects while the other rows
flow, blank lines skipped, the raw text of a record it could not read). So a
format's Arrow reader (:mod:`engine.parsers._csv_arrow`,
:mod:`engine.parsers._jsonl_arrow`) cuts the file into blocks of whole
lines, and a block goes to Arrow only when the format's own check says
Arrow reads it exactly as the row reader would, one record a line. The first
block that does not qualify, and everything after it, is read by the row
reader, numbered as the file's own records and lines; the run's debug log
says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, ClassVar, Protocol

from engine.contracts import ArrowRows, ByteRange, Chunk, Item, RunContext
from engine.parsers._parts import prefixed

#: bytes read at a time; a block is cut after its last full line
BLOCK = 1 << 20


def refused_by_all(parser: Any, item: Item) -> str | None:
    """Why no format reads ``item`` with Arrow (the mapping, a part of a file, the encoding), or None."""
    if not parser.columnar:
        return "the mapping has no columnar form"
    if item.range is not None:
        return "the file is read in parts"
    if parser.encoding != "utf-8-sig":
        return f"the encoding is {parser.options.encoding}, not UTF-8"
    return None


def arrow_or_rows(
    parser: Any,
    reader: Callable[[], ArrowBlocks],
    refused: str | None,
    stream: IO[bytes],
    item: Item,
    run: RunContext | None,
) -> Iterator[Chunk]:
    """``item`` read by ``reader`` (with Arrow), or when ``refused`` says why not, by the parser's row reader."""
    if refused is None:
        yield from reader().chunks(stream)
        return
    if parser.columnar and run is not None:
        run.log.debug(f"{parser.name} read row by row", file=item.name, reason=refused)
    yield from parser.read_rows(stream, item, item.range)


class RowReader(Exception):
    """The rest of the file goes to the row reader, for ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RowParser(Protocol):
    """The parser whose row reader takes what Arrow may not read."""

    name: ClassVar[str]

    def read_rows(self, stream: IO[bytes], item: Item, part: ByteRange | None) -> Iterator[Chunk]: ...


class ArrowBlocks:
    """One file read with Arrow while every block qualifies, then with the row reader.

    A format says where its records start (:meth:`_header`, which also sets
    ``columns``), and how a block becomes a table or why it does not
    (:meth:`_table`).
    """

    def __init__(self, parser: RowParser, item: Item, run: RunContext | None, chunk_size: int) -> None:
        self.parser = parser
        self.item = item
        self.run = run
        self.chunk_size = chunk_size
        #: bytes before the first record (BOM, skipped lines, header), and lines they hold
        self.head = b""
        self.head_lines = 0
        self.columns: tuple[str, ...] = ()
        #: every byte read before the header was found (all of them go to the row reader if need be)
        self.start = b""
        #: the file so far: bytes, records and lines before the block being read
        self.offset = 0
        self.records = 0
        self.lines = 0

    def _header(self, stream: IO[bytes]) -> bytes:
        """Read what comes before the first record (``self.start`` holds what was read); returns the bytes after it.

        Raises:
            RowReader: the file's start is not for Arrow.
        """
        raise NotImplementedError

    def _table(self, block: bytes) -> tuple[Any, int]:
        """The block's rows as a table (columns named ``self.columns``), and the lines it holds (one a row).

        Raises:
            RowReader: the block does not qualify, or Arrow refused it.
        """
        raise NotImplementedError

    @staticmethod
    def _read(stream: IO[bytes]) -> bytes:
        return stream.read(BLOCK)

    def chunks(self, stream: IO[bytes]) -> Iterator[Chunk]:
        """The file's chunks: Arrow rows while blocks qualify, row lists from the first one that does not.

        The next block is read and parsed in a second thread while the
        current one's chunks are mapped: Arrow parses without the GIL, so on
        two cores reading costs little more than mapping alone.
        """
        self.start = self._read(stream)
        try:
            pending = self._header(stream)
        except RowReader as fallback:
            self._note(fallback.reason)
            yield from self.parser.read_rows(prefixed(self.start, stream), self.item, None)
            return
        if not self.columns:
            return
        self.offset, self.lines = len(self.head), self.head_lines
        blocks = _Blocks(pending, stream)
        with ThreadPoolExecutor(1, thread_name_prefix=f"{self.parser.name}-read") as reader:
            ahead = reader.submit(self._parsed, blocks)
            while (parsed := ahead.result()) is not None:
                block, table, lines = parsed
                if isinstance(table, RowReader):
                    self._note(table.reason)
                    yield from self._rest(block + blocks.pending, stream)
                    return
                ahead = reader.submit(self._parsed, blocks)
                yield from self._chunked(table)
                self.offset += len(block)
                self.lines += lines

    def _parsed(self, blocks: _Blocks) -> tuple[bytes, Any, int] | None:
        """The next block with its table and lines, or with why the row reader takes it; None at the end."""
        block = blocks.next()
        if block is None:
            return None
        try:
            return (block, *self._table(block))
        except RowReader as fallback:
            return block, fallback, 0

    def _note(self, reason: str) -> None:
        if self.run is not None:
            self.run.log.debug(
                f"{self.parser.name} read row by row from here",
                file=self.item.name,
                row=self.records + 1,
                reason=reason,
            )

    def _chunked(self, table: Any) -> Iterator[Chunk]:
        size = self.chunk_size
        for at in range(0, table.num_rows, size):
            part = table.slice(at, size)
            n = part.num_rows
            first = self.records + 1
            positions = list(range(first, first + n))
            line = self.lines + at + 1
            yield Chunk(
                self.item,
                ArrowRows(part, table, at),  # type: ignore[arg-type]
                positions,
                self.columns,
                list(range(line, line + n)),
                text=True,
            )
            self.records += n

    def _rest(self, pending: bytes, stream: IO[bytes]) -> Iterator[Chunk]:
        """The file from the current block on, through the row reader, numbered as the file's own."""
        part = ByteRange(self.item.file_uri, self.offset, 0, 2, 2, self.records, self.lines, header=self.head)
        yield from self.parser.read_rows(prefixed(pending, stream), self.item, part)


class _Blocks:
    """A stream cut into blocks of whole lines (the last may lack its newline); ``pending`` holds what is left."""

    def __init__(self, pending: bytes, stream: IO[bytes]) -> None:
        self.pending = pending
        self.stream = stream
        self.eof = False

    def next(self) -> bytes | None:
        """The next block, or None at the end of the stream."""
        while self.pending or not self.eof:
            if not self.eof:
                more = self.stream.read(BLOCK)
                self.eof = not more
                self.pending += more
            cut = len(self.pending) if self.eof else self.pending.rfind(b"\n") + 1
            if cut:
                block, self.pending = self.pending[:cut], self.pending[cut:]
                return block
        return None
