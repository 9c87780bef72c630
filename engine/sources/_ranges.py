"""Reading one part of a file: a window of a seekable stream, for sources that read byte ranges."""

from __future__ import annotations

import io
from typing import IO, Any


class _Window(io.RawIOBase):
    """At most ``length`` bytes of ``stream`` from where it stands; closing it closes ``stream``."""

    def __init__(self, stream: IO[bytes], length: int) -> None:
        super().__init__()
        self._stream = stream
        self._left = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer)[: min(len(buffer), self._left)]
        n = self._stream.readinto(view)  # type: ignore[attr-defined]
        n = n or 0
        self._left -= n
        return n

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


def window(stream: IO[bytes], start: int, end: int) -> IO[bytes]:
    """Bytes ``[start, end)`` of a seekable ``stream``, buffered; closing it closes ``stream``."""
    stream.seek(start)
    return io.BufferedReader(_Window(stream, end - start), buffer_size=1 << 20)
