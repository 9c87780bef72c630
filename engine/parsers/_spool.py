"""A seekable view of any byte stream, for formats that read from the end.

Parquet keeps its schema and row-group index in a footer at the end of the
file, so its reader must seek. Local files are seekable already; streams from
network sources (S3 bodies, SFTP pipes, webhook payloads) may not be. Those
are copied to an anonymous temporary file block by block, so memory stays
bounded whatever the size, and the copy disappears when it is closed.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from typing import IO

BLOCK = 1 << 20


def is_seekable(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable()) and stream.tell() >= 0
    except (AttributeError, OSError, ValueError):
        return False


@contextlib.contextmanager
def seekable(stream: IO[bytes], directory: str | None = None) -> Iterator[IO[bytes]]:
    """``stream`` itself when it can seek, else a temporary copy of it."""
    if is_seekable(stream):
        yield stream
        return
    with tempfile.TemporaryFile(prefix="engine-spool-", dir=directory) as copy:
        shutil.copyfileobj(stream, copy, BLOCK)
        copy.seek(0)
        yield copy
