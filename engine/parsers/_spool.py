"""A seekable view of any byte stream, for formats that read from the end.

Parquet keeps its schema and row-group index in a footer at the end of the
file, so its reader must seek, many times. Local files are read in place.
Streams from network sources are copied to an anonymous temporary file
first, block by block: an S3 body cannot seek at all, and an SFTP file can
but each seek is a round trip. Memory stays bounded whatever the size, and
the copy disappears when it is closed.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from collections.abc import Iterator
from typing import IO

BLOCK = 1 << 20


def is_local(stream: IO[bytes]) -> bool:
    """Seekable and cheap to seek: an OS file or bytes in memory (not a remote file handle)."""
    try:
        if not (stream.seekable() and stream.tell() >= 0):
            return False
    except (AttributeError, OSError, ValueError):
        return False
    if isinstance(stream, io.BytesIO):
        return True
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


@contextlib.contextmanager
def seekable(stream: IO[bytes], directory: str | None = None) -> Iterator[IO[bytes]]:
    """``stream`` itself when it is a local file (or in memory), else a temporary copy of it."""
    if is_local(stream):
        yield stream
        return
    with tempfile.TemporaryFile(prefix="engine-spool-", dir=directory) as copy:
        shutil.copyfileobj(stream, copy, BLOCK)
        copy.seek(0)
        yield copy
