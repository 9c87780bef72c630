"""One output file of the ``file`` target while it is being written.

Each output has its own writer (a fresh instance of the spec's writer, so
several partitions can be open at once) and a temporary file next to its
destination, so publishing is a rename. It remembers which items its records
came from, so they are credited as written only when it is published.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import IO

from engine.contracts import Destination, Item, RunContext, Writer
from engine.errors import TargetError


@dataclasses.dataclass
class Output:
    path: str
    stream: IO[bytes]
    writer: Writer
    part: int
    partition: str | None
    item: Item | None
    count: int = 0
    #: bytes written by begin() (a header, a declaration): not part of any record
    base: int = 0
    #: (item, records) waiting for this file to be published
    pending: list[tuple[Item, int]] = dataclasses.field(default_factory=list)
    closed: bool = False

    def add(self, item: Item, written: int) -> None:
        if written:
            self.count += written
            if self.pending and self.pending[-1][0] is item:
                self.pending[-1] = (item, self.pending[-1][1] + written)
            else:
                self.pending.append((item, written))

    def size(self) -> int:
        hint = self.writer.size_hint()
        return hint if hint is not None else self.stream.tell()

    def room(self, max_bytes: int) -> int:
        """How many records to write next so the file approaches ``max_bytes`` without passing it by much.

        Each slice fills at most half the space left, judged by the average
        record so far, and at most doubles the records written (the first
        estimates rest on few records): near the limit records go one by
        one, so a part ends less than one record past ``max_bytes``.
        """
        if not self.count:
            return 1
        size = self.size()
        per_record = max(1.0, (size - self.base) / self.count)
        return max(1, min(self.count, int((max_bytes - size) / per_record / 2)))

    def close(self) -> bool:
        """Finish the file; False when the writer has nothing to publish (it is removed)."""
        self.writer.end()
        self.stream.close()
        self.closed = True
        if not self.writer.publishable():
            _remove(self.path)
            return False
        return True


def start_output(
    prototype: Writer,
    destination: Destination,
    run: RunContext,
    part: int,
    partition: str | None,
    item: Item | None,
) -> Output:
    writer = type(prototype)(prototype.options, path=prototype.path)
    writer.open(run)
    staging = destination.staging_dir()
    directory = str(staging) if staging is not None else None
    try:
        fd, path = tempfile.mkstemp(prefix=".engine-", suffix=".partial", dir=directory)
    except OSError as exc:
        writer.close()
        raise TargetError(
            f"{destination.path}: cannot write a file in {directory or tempfile.gettempdir()}: "
            f"{exc.strerror or exc}",
            hint="check that the directory exists and that this user may write to it",
        ) from None
    stream = os.fdopen(fd, "wb", buffering=1 << 20)
    meta = {
        "connector": run.connector,
        "run_id": run.run_id,
        "part": part,
        "partition": partition,
        "fields": run.output_fields,
    }
    try:
        writer.begin(stream, meta)
    except BaseException:
        stream.close()
        _remove(path)
        raise
    out = Output(path, stream, writer, part, partition, item)
    out.base = out.size()
    return out


def discard(out: Output) -> None:
    """Close an output quietly and remove its local file (never published, or copied by a remote destination)."""
    try:
        if not out.closed:
            out.stream.close()
        out.writer.close()
    finally:
        _remove(out.path)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
