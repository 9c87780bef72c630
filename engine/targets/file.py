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

Each file is written to a temporary name and published atomically when it is
complete, so readers never see half a file. Records count as written only
once their file is published. ``per: run`` gathers a run's records into one
output (split by ``max_records``); ``per: item`` writes one output per input
file. Placeholders: ``{run_id}``, ``{connector}``, ``{date:FMT}``,
``{time:FMT}``, ``{part}``, ``{source}``, ``{source_stem}``, ``{ext}``.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import IO, Any

from engine.contracts import Batch, Destination, Item, RunContext, Target, Writer
from engine.errors import ConfigError
from engine.templates import NameTemplate

NAME_FIELDS = ("run_id", "connector", "date", "time", "part", "source", "source_stem", "ext")

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "writer": {"x-plugin": "writers", "default": {"type": "jsonl"},
                   "description": "file format: a writer block, or its type name"},
        "destination": {"x-plugin": "destinations", "description": "where files go: a destination block"},
        "name": {"type": "string", "description": "file name template"},
        "per": {"enum": ["run", "item"], "default": "run",
                "description": "one output per run, or one per input item"},
        "max_records": {"type": "integer", "minimum": 1, "description": "start a new part after this many records"},
        "write_empty": {"type": "boolean", "default": False,
                        "description": "publish a file (e.g. a header-only CSV) even when no record arrived"},
    },
    "required": ["destination"],
}


@dataclasses.dataclass
class FileOptions:
    writer: Writer
    destination: Destination
    name: str | None
    per: str
    max_records: int | None
    write_empty: bool


@dataclasses.dataclass
class _Open:
    path: str
    stream: IO[bytes]
    part: int
    item: Item | None
    count: int = 0
    #: (item, accepted records) waiting for this file to be published
    pending: list[tuple[Item, int]] = dataclasses.field(default_factory=list)


class FileTarget(Target):
    name = "file"
    summary = "write files (csv, json, jsonl ...) to a destination, atomically"
    schema = SCHEMA
    Options = FileOptions

    def __init__(self, options: FileOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        default = "{connector}-{run_id}.{ext}" if options.per == "run" else "{source_stem}.{ext}"
        if options.max_records and not options.name:
            default = default.replace(".{ext}", "-{part:03d}.{ext}")
        self.template = NameTemplate(options.name or default, NAME_FIELDS)
        if options.max_records and "part" not in self.template.fields:
            raise ConfigError("with max_records, the name needs a {part} placeholder (e.g. out-{part:03d}.csv)")
        self.commit_scope = options.per
        self.current: _Open | None = None
        self.parts = 0
        self.published: list[str] = []

    def open(self, run: RunContext) -> None:
        self.run = run
        self.writer: Writer = self.options.writer
        self.destination: Destination = self.options.destination
        self.writer.open(run)
        self.destination.open(run)

    # -- files -------------------------------------------------------------------------

    def _start(self, item: Item | None) -> _Open:
        self.parts += 1
        staging = getattr(self.destination, "staging_dir", None)
        directory = str(staging()) if staging else None
        fd, path = tempfile.mkstemp(prefix=".engine-", suffix=".partial", dir=directory)
        stream = os.fdopen(fd, "wb", buffering=1 << 20)
        meta = {"connector": self.run.connector, "run_id": self.run.run_id, "part": self.parts,
                "fields": getattr(self.run, "output_fields", None)}
        self.writer.begin(stream, meta)
        self.current = _Open(path, stream, self.parts, item)
        return self.current

    def _publish(self) -> None:
        cur = self.current
        if cur is None:
            return
        self.current = None
        self.writer.end()
        cur.stream.close()
        item = cur.item
        values = {
            "run_id": self.run.run_id,
            "connector": self.run.connector,
            "part": cur.part,
            "ext": self.writer.extension,
            "source": item.name if item else "",
            "source_stem": item.file_vars()["stem"] if item else "",
        }
        name = self.template.render(values, self.run.started)
        try:
            final = self.destination.publish(cur.path, name, self.run)
        finally:
            if os.path.exists(cur.path):
                os.unlink(cur.path)
        self.published.append(final)
        self.run.log.info("file published", file=final, records=cur.count)
        for pending_item, n in cur.pending:
            self.run.outcomes.accepted_count(n, pending_item)

    # -- target ----------------------------------------------------------------------------

    def write(self, batch: Batch) -> None:
        records = batch.records
        item = batch.chunk.item
        start = 0
        limit = self.options.max_records
        while start < len(records):
            cur = self.current or self._start(item if self.options.per == "item" else None)
            end = len(records) if not limit else min(len(records), start + (limit - cur.count))
            part = records[start:end]
            problems = self.writer.write(part) or []
            for i, reason in problems:
                self.run.outcomes.rejected(batch, start + i, reason, stage="target")
            written = len(part) - len(problems)
            cur.count += written
            if written:
                cur.pending.append((item, written))
            start = end
            if limit and cur.count >= limit:
                self._publish()

    def finish_item(self, item: Item) -> None:
        if self.options.per == "item":
            if self.current is None and self.options.write_empty:
                self._start(item)
            self._publish()

    def finish_run(self) -> None:
        if self.options.per == "run":
            if self.current is None and self.options.write_empty and not self.published:
                self._start(None)
            self._publish()

    def close(self) -> None:
        cur = self.current
        if cur is not None:  # a failed run: drop the partial file, publish nothing
            self.current = None
            try:
                cur.stream.close()
            finally:
                if os.path.exists(cur.path):
                    os.unlink(cur.path)
        super().close()
