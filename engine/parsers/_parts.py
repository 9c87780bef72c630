"""Reading a large file in parts: where parts may start, and numbering that stays the file's own.

A parser that can split a file scans it once (:meth:`Parser.split`) and cuts
it only where a record ends, as its own reader would see it; each part then
parses alone, after the file's header bytes, and its positions and lines are
moved on by what came before it, so a reject names the file's own row.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from typing import IO, Any

from engine.contracts import ByteRange, Chunk, Item, ParseReject


def ascii_compatible(encoding: str) -> bool:
    """Whether every newline and quote byte in this encoding is that character (UTF-8, Latin-1, cp1252)."""
    try:
        codecs.lookup(encoding)
        return 'a,"\n\r'.encode(encoding).removeprefix(codecs.BOM_UTF8) == b'a,"\n\r'
    except (LookupError, UnicodeError):
        return False


class Cutter:
    """Where to cut a file into parts of about ``part_size`` bytes, as the scan reaches record ends."""

    def __init__(self, item: Item, part_size: int, header: bytes = b"") -> None:
        self.item = item
        self.part_size = part_size
        self.header = header
        self.cuts: list[tuple[int, int, int]] = []  # (offset, records before, lines before)
        self._last = 0

    def record_end(self, offset: int, records: int, lines: int) -> None:
        """A record ends at ``offset`` after ``records`` records and ``lines`` lines: cut here if the part is full."""
        if offset - self._last >= self.part_size:
            self.cuts.append((offset, records, lines))
            self._last = offset

    def parts(self, size: int, start: int = 0, records: int = 0, lines: int = 0) -> list[ByteRange]:
        """The parts between the cuts, the last ending at ``size`` (a cut at the very end is dropped)."""
        bounds = [(start, records, lines)] + [c for c in self.cuts if c[0] < size]
        out = []
        for k, (begin, before, lines_before) in enumerate(bounds):
            end = bounds[k + 1][0] if k + 1 < len(bounds) else size
            out.append(
                ByteRange(
                    self.item.uri,
                    begin,
                    end,
                    k + 1,
                    len(bounds),
                    before,
                    lines_before,
                    self.header if k else b"",
                )
            )
        return out


class _Prefixed(io.RawIOBase):
    """``head`` then the bytes of ``stream``; closing it closes ``stream``."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


def prefixed(head: bytes, stream: IO[bytes]) -> IO[bytes]:
    """A stream of ``head`` followed by ``stream`` (a part read after its file's header)."""
    if not head:
        return stream
    return io.BufferedReader(_Prefixed(head, stream), buffer_size=1 << 20)


def renumbered(chunks: Iterator[Chunk], records_before: int, line_shift: int) -> Iterator[Chunk]:
    """Chunks of a part with positions and lines moved on to the file's own numbering."""
    if not records_before and not line_shift:
        yield from chunks
        return
    for chunk in chunks:
        chunk.positions = [p + records_before for p in chunk.positions]
        if chunk.lines is not None:
            chunk.lines = [n + line_shift for n in chunk.lines]
        if chunk.rejects:
            chunk.rejects = [
                ParseReject(
                    r.position + records_before,
                    r.reason,
                    None if r.line is None else r.line + line_shift,
                    r.raw,
                    r.locator,
                )
                for r in chunk.rejects
            ]
        yield chunk
