"""Decoding byte streams without losing track of bad bytes.

Text formats are decoded by :class:`io.TextIOWrapper` (C speed). Underneath,
a checking stream decodes the same bytes once more with an error handler
that records where undecodable bytes are (byte offset and line), so a parser
can reject exactly the records that hold them while every other record flows.
A UTF-8 byte order mark is removed.
"""

from __future__ import annotations

import codecs
import io
import threading
from typing import IO

from engine.errors import ConfigError

_local = threading.local()


def _record_bad_bytes(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    sink = getattr(_local, "sink", None)
    if sink is not None:
        sink.append((exc.start, exc.end, exc.object))
    return "\ufffd", exc.end


codecs.register_error("engine-record-bad-bytes", _record_bad_bytes)


def normalise_encoding(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ConfigError(
            f"unknown encoding {encoding!r}", hint="e.g. utf-8, latin-1, cp1252, utf-16"
        ) from None
    return "utf-8-sig" if name == "utf-8" else name


class BadBytes:
    """Where undecodable bytes were found: ``(line, byte_offset, bytes)``, in order.

    Lines and offsets count from the start of the stream read; a part of a
    file (read after its header) sets ``line_shift`` and ``offset_shift`` so
    messages name the file's own line and byte offset.
    """

    def __init__(self) -> None:
        self.found: list[tuple[int, int, bytes]] = []
        self.line_shift = 0
        self.offset_shift = 0

    def __bool__(self) -> bool:
        return bool(self.found)


class _CheckingReader(io.RawIOBase):
    def __init__(self, stream: IO[bytes], encoding: str, bad: BadBytes) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder(encoding)("engine-record-bad-bytes")
        self._bad = bad
        self._offset = 0
        self._lines = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self._stream.read(len(buffer))
        final = not data
        sink: list = []
        _local.sink = sink
        try:
            self._decoder.decode(data, final=final)
        finally:
            _local.sink = None
        for start, end, obj in sink:
            pending = len(obj) - len(data)
            offset = self._offset - pending + start
            line = self._lines + obj[:start].count(b"\n") + 1
            self._bad.found.append((line, offset, bytes(obj[start:end])))
        if final:
            return 0
        n = len(data)
        buffer[:n] = data
        self._offset += n
        self._lines += data.count(b"\n")
        return n


def open_text(
    stream: IO[bytes], encoding: str, bad: BadBytes, buffer_size: int = 1 << 20
) -> io.TextIOWrapper:
    """A text stream over ``stream`` that records undecodable bytes in ``bad``."""
    raw = _CheckingReader(stream, encoding, bad)
    buffered = io.BufferedReader(raw, buffer_size=buffer_size)
    return io.TextIOWrapper(buffered, encoding=encoding, errors="replace", newline="")
