"""Remote file operations over an open paramiko SFTP client.

Reads go in pipelined windows: paramiko's plain ``read`` waits for each
32 KiB reply before asking for the next (a few MB/s), and its ``prefetch``
buffers the whole file in memory when the reader is slower than the
network. A bounded window of parallel requests gives most of the speed with
memory that does not grow with the file.
"""

from __future__ import annotations

import errno
import posixpath
import stat
from typing import Any

REQUEST = 32768
WINDOW = 8 << 20


class WindowedReader:
    """``read(n)`` over an SFTP file from ``offset``, fetching ``WINDOW`` bytes at a time."""

    def __init__(self, handle: Any, offset: int, size: int) -> None:
        self.handle = handle
        self.offset = offset
        self.size = size
        self.blocks: Any = iter(())
        self.pending = b""

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes, from the current window (the next one is fetched when it is used up)."""
        while not self.pending:
            block = next(self.blocks, None)
            if block is not None:
                self.pending = block
                break
            if self.offset >= self.size:
                return self._tail(n)
            end = min(self.size, self.offset + WINDOW)
            chunks = [(o, min(REQUEST, end - o)) for o in range(self.offset, end, REQUEST)]
            self.blocks = iter(self.handle.readv(chunks))
            self.offset = end
        out, self.pending = self.pending[:n], self.pending[n:]
        return out

    def _tail(self, n: int) -> bytes:
        """Bytes beyond the listed size (the file grew); read plainly to the real end."""
        self.handle.seek(self.offset)
        data = self.handle.read(n)
        self.offset += len(data)
        return data

    def close(self) -> None:
        """Close the remote file."""
        self.handle.close()


def exists(client: Any, path: str) -> bool:
    """Whether ``path`` exists on the server (any other failure is raised)."""
    try:
        client.stat(path)
        return True
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise


def makedirs(client: Any, path: str) -> None:
    """``mkdir -p``: tolerant of directories another process creates at the same time."""
    parts = [p for p in path.split("/") if p]
    current = "/" if path.startswith("/") else ""
    for part in parts:
        current = posixpath.join(current, part) if current else part
        try:
            attrs = client.stat(current)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise
            try:
                client.mkdir(current)
            except OSError:
                if not exists(client, current):
                    raise
            continue
        if not stat.S_ISDIR(attrs.st_mode or 0):
            raise NotADirectoryError(errno.ENOTDIR, f"{current} is not a directory")


def is_dir(client: Any, path: str) -> bool:
    """Whether ``path`` is a directory on the server."""
    return stat.S_ISDIR(client.stat(path).st_mode or 0)
