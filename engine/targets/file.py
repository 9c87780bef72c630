"""Write records to files: a writer (format) plus a destination (where).

```yaml
target:
  type: file
  writer: {type: csv}
  destination: {type: local, path: out}
  name: "inventory-{date:%Y%m%d}-{part:03d}.{ext}"
  per: run
  max_records: 100000
```

Files are written under temporary names and published when their scope
commits: at the end of the run (``per: run``) or of each input item
(``per: item``). A run that fails publishes nothing and removes its
temporary files, so readers never see half a result; records count as
written only once their file is published.

Splitting: ``max_records`` and ``max_bytes`` (``64MB``) start a new part
when a file reaches them; sizes are checked as records are written, so a
part passes ``max_bytes`` by at most about one record (Parquet: by the rows
of the row group it is flushing). Partitioning: ``partition_by`` sends each
record to a folder named by a field or date (see
:mod:`engine.targets._partitions`); at most ``max_open_files`` files are
open at once, the least recently used one is finished when another is
needed, and a partition seen again continues in a new part. Nothing is held
in memory beyond what the writers buffer (Parquet: one row group per open
file).

Records mapped on Arrow columns go to the writer as columns
(:meth:`engine.contracts.Writer.write_columns`: ``csv``, ``jsonl``,
``parquet``) unless the target partitions or sizes parts by bytes, or the
writer cannot take them; the file is the same either way.

Placeholders: ``{run_id}``, ``{connector}``, ``{date:FMT}``, ``{time:FMT}``,
``{part}`` (numbered per partition), ``{partition}``, ``{source}``,
``{source_stem}``, ``{ext}``. Without ``{partition}`` in ``name``, the
partition folder is put in front of it.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

from typing_extensions import override

from engine.contracts import Batch, Check, Destination, Item, RunContext, Target, Writer
from engine.errors import ConfigError
from engine.targets import _partitions
from engine.targets._outputs import Output, discard, start_output
from engine.templates import NameTemplate, leaves_directory
from engine.units import size

NAME_FIELDS = ("run_id", "connector", "date", "time", "part", "partition", "source", "source_stem", "ext")

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "writer": {
            "x-plugin": "writers",
            "default": {"type": "jsonl"},
            "description": "file format: a writer block, or its type name",
        },
        "destination": {"x-plugin": "destinations", "description": "where files go: a destination block"},
        "name": {"type": "string", "description": "file name template"},
        "per": {
            "enum": ["run", "item"],
            "default": "run",
            "description": "one output per run, or one per input item",
        },
        "max_records": {
            "type": "integer",
            "minimum": 1,
            "description": "start a new part after this many records",
        },
        "max_bytes": size("start a new part once a file reaches this size: 500000, 64MB, 1GiB"),
        "partition_by": _partitions.SCHEMA,
        "max_open_files": {
            "type": "integer",
            "minimum": 1,
            "maximum": 10000,
            "default": 32,
            "description": "partitioned output: files open at once (bounds memory)",
        },
        "write_empty": {
            "type": "boolean",
            "default": False,
            "description": "publish a file (e.g. a header-only CSV) even when no record arrived",
        },
    },
    "required": ["destination"],
}


@dataclasses.dataclass
class FileOptions:
    """The validated ``file`` target block; ``writer`` and ``destination`` are built plugins."""

    writer: Writer
    destination: Destination
    name: str | None
    per: str
    max_records: int | None
    max_bytes: int | None
    partition_by: Any
    max_open_files: int
    write_empty: bool


class FileTarget(Target):
    """Writes mapped records through a writer into files a destination publishes atomically.

    Names come from the ``name`` template, which may not lead outside the
    destination (checked when the spec compiles).
    """

    name = "file"
    summary = "write files (csv, json, jsonl, xml, parquet) to a destination, atomically"
    schema = SCHEMA
    Options = FileOptions

    def __init__(self, options: FileOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self._problems: list[tuple[tuple, str]] = []
        self.max_bytes = options.max_bytes
        if self.max_bytes is not None and self.max_bytes < 1:
            self._problems.append((("max_bytes",), "must be at least 1 byte"))
        self.partitioner = _partitions.Partitioner(options.partition_by) if options.partition_by else None
        if self.partitioner:
            self._problems.extend(
                (("partition_by", *where), message) for where, message in self.partitioner.problems
            )
        split = bool(options.max_records or self.max_bytes or self.partitioner)
        default = "{connector}-{run_id}.{ext}" if options.per == "run" else "{source_stem}.{ext}"
        if split and not options.name:
            default = default.replace(".{ext}", "-{part:03d}.{ext}")
        text = options.name or default
        if self.partitioner and "{partition" not in text:
            text = "{partition}/" + text
        try:
            self.template = NameTemplate(text, NAME_FIELDS)
        except ConfigError as exc:
            self._problems.append((("name",), str(exc)))
            self.template = NameTemplate("{connector}-{run_id}-{part:03d}.{ext}", NAME_FIELDS)
        escape = leaves_directory(self.template)
        if escape:
            self._problems.append((("name",), escape))
        if split and "part" not in self.template.fields:
            why = "max_records" if options.max_records else "max_bytes" if self.max_bytes else "partition_by"
            self._problems.append(
                (("name",), f"with {why}, the name needs a {{part}} placeholder (e.g. out-{{part:03d}}.csv)")
            )
        if "partition" in self.template.fields and not self.partitioner:
            self._problems.append((("name",), "the name uses {partition} but partition_by is not set"))
        self.commit_scope = options.per
        self.open_files: collections.OrderedDict[str | None, Output] = collections.OrderedDict()
        self.finished: list[Output] = []
        self.parts: dict[str | None, int] = {}
        self.published: list[str] = []
        #: records written from columns rather than dicts (see :meth:`_write_columns`)
        self.from_columns = 0

    def problems(self) -> list[tuple[tuple, str]]:
        """Every mistake in the options, each at its own spec path."""
        return self._problems

    @override
    def check(self, run: RunContext) -> list[Check]:
        """The destination's check: where files would go is reachable."""
        return self.options.destination.check(run)

    @override
    def open(self, run: RunContext) -> None:
        """Open the writer and the destination for ``run``."""
        self.run = run
        self.destination: Destination = self.options.destination
        self.options.writer.open(run)
        self.destination.open(run)

    # -- target ----------------------------------------------------------------------------

    @override
    def write(self, batch: Batch) -> None:
        """Write a batch into its open files (by partition), starting new parts at the limits."""
        item = batch.chunk.item
        if self.options.per == "item":
            self._drop_unfinished(item)
        written = self._write_columns(batch, item)
        if written == len(batch):
            return
        records = batch.records
        if written:
            self._write(None, records[written:], range(written, len(records)), batch, item)
            return
        if self.partitioner is None:
            self._write(None, records, range(len(records)), batch, item)
            return
        groups: dict[str, list[int]] = {}
        folder = self.partitioner.folder
        for i, record in enumerate(records):
            try:
                groups.setdefault(folder(record), []).append(i)
            except _partitions.BadPartitionValue as exc:
                self.run.outcomes.rejected(batch, i, str(exc), stage="target")
        for key, index in groups.items():
            self._write(key, [records[i] for i in index], index, batch, item)

    def _write_columns(self, batch: Batch, item: Item) -> int:
        """Write the batch from its columns as far as the writer takes them; how many records were written.

        Only a plain batch goes as columns: no partitions, no ``max_bytes`` (its
        parts are sized record by record). ``max_records`` slices the columns.
        """
        columns = batch.columns
        if columns is None or self.partitioner is not None or self.max_bytes:
            return 0
        start = 0
        while start < len(columns):
            out, room = self._next(None, item, len(columns) - start)
            part = columns if room == len(columns) else columns.slice(start, start + room)
            if not out.writer.write_columns(part):
                break
            out.add(item, room)
            self.from_columns += room
            start += room
            if self.options.max_records and out.count >= self.options.max_records:
                self._finish(None)
        return start

    def _write(self, key: str | None, records: list, index: Any, batch: Batch, item: Item) -> None:
        limit, max_bytes = self.options.max_records, self.max_bytes
        start = 0
        while start < len(records):
            out, room = self._next(key, item, len(records) - start)
            if max_bytes:
                room = min(room, out.room(max_bytes))
            part = records[start : start + room]
            problems = out.writer.write(part) or []
            for i, reason in problems:
                self.run.outcomes.rejected(batch, index[start + i], reason, stage="target")
            out.add(item, len(part) - len(problems))
            start += room
            if (limit and out.count >= limit) or (max_bytes and out.size() >= max_bytes):
                self._finish(key)

    def _next(self, key: str | None, item: Item, left: int) -> tuple[Output, int]:
        """The file the next records go to, and how many of ``left`` it takes before ``max_records``."""
        out = self._output(key, item)
        limit = self.options.max_records
        return out, min(left, limit - out.count) if limit else left

    def _output(self, key: str | None, item: Item | None) -> Output:
        out = self.open_files.get(key)
        if out is not None:
            self.open_files.move_to_end(key)
            return out
        if len(self.open_files) >= self.options.max_open_files:
            self._finish(next(iter(self.open_files)))
        self.parts[key] = number = self.parts.get(key, 0) + 1
        out = start_output(
            self.options.writer,
            self.destination,
            self.run,
            number,
            key,
            item if self.options.per == "item" else None,
        )
        self.open_files[key] = out
        return out

    def _finish(self, key: str | None) -> None:
        """Complete an open file; it waits, closed, for its scope to commit."""
        out = self.open_files.pop(key)
        if out.close():
            self.finished.append(out)
        else:
            self.run.log.info(
                "no file written",
                reason="no records and no schema to describe an empty file",
                writer=out.writer.name,
            )

    def _publish(self, item: Item | None = None) -> None:
        for key in [k for k, o in self.open_files.items() if item is None or _same(o.item, item)]:
            self._finish(key)
        ready = [o for o in self.finished if item is None or _same(o.item, item)]
        self.finished = [o for o in self.finished if o not in ready]
        for n, out in enumerate(ready):
            try:
                name = self.template.render(self._values(out), self.run.started)
                final = self.destination.publish(out.path, name, self.run)
            except BaseException:
                self.finished.extend(ready[n:])  # close() removes what was not published
                raise
            discard(out)  # a remote destination uploaded a copy; a local one moved the file already
            self.published.append(final)
            self.run.log.info("file published", file=final, records=out.count)
            for pending_item, count in out.pending:
                self.run.outcomes.accepted_count(count, pending_item)

    def _values(self, out: Output) -> dict[str, Any]:
        item = out.item
        return {
            "run_id": self.run.run_id,
            "connector": self.run.connector,
            "part": out.part,
            "partition": out.partition,
            "ext": self.options.writer.extension,
            "source": item.name if item else "",
            "source_stem": item.file_vars()["stem"] if item else "",
        }

    def _drop_unfinished(self, item: Item) -> None:
        """Output of an earlier item that never finished (it failed) is not published."""
        stale = [k for k, o in self.open_files.items() if o.item is not None and o.item.uri != item.uri]
        stale_finished = [o for o in self.finished if o.item is not None and o.item.uri != item.uri]
        for key in stale:
            discard(self.open_files.pop(key))
        for out in stale_finished:
            self.finished.remove(out)
            discard(out)
        if stale or stale_finished:
            self.run.log.warning(
                "output of an unfinished item discarded", files=len(stale) + len(stale_finished)
            )
            self.parts.clear()

    @override
    def finish_item(self, item: Item) -> None:
        """With ``per: item``, publish the item's files: its records count as written then."""
        if self.options.per != "item":
            return
        if (
            self.options.write_empty
            and self.partitioner is None
            and not any(_same(o.item, item) for o in [*self.open_files.values(), *self.finished])
        ):
            self._output(None, item)
        self._publish(item)
        self.parts.clear()

    @override
    def finish_run(self) -> None:
        """With ``per: run``, publish every file of the run."""
        if self.options.per != "run":
            return
        if (
            self.options.write_empty
            and self.partitioner is None
            and not self.published
            and not self.open_files
            and not self.finished
        ):
            self._output(None, None)
        self._publish()

    def stats(self) -> dict[str, Any]:
        """Files published, and how many records were written from columns, for the run report."""
        return {"files": len(self.published), "records_from_columns": self.from_columns}

    def close(self) -> None:
        """A failed run: drop every unpublished file, publish nothing."""
        outputs = [*self.open_files.values(), *self.finished]
        self.open_files.clear()
        self.finished = []
        for out in outputs:
            discard(out)
        for plugin in (self.options.writer, self.options.destination):
            if plugin is not None:
                plugin.close()
        super().close()


def _same(a: Item | None, b: Item) -> bool:
    return a is not None and a.uri == b.uri
