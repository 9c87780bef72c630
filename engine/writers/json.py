"""JSON writer: an array of records, or an object wrapping them with metadata.

```yaml
target:
  type: file
  writer: {type: json, layout: object, records_key: items}
  destination: {type: local, path: out}
```

Records are streamed into the file as they arrive; with ``layout: object``
the metadata (connector, run id, generation time, record count) follows the
records, so the count is exact without holding anything in memory. A
record JSON cannot hold (a NaN or infinite number) is rejected naming the
field; the others are written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from typing_extensions import override

from engine.contracts import Writer
from engine.jsonutil import dumps, dumps_pretty, encode_each

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "layout": {
            "enum": ["array", "object"],
            "default": "array",
            "description": "a bare array, or an object with the records and metadata",
        },
        "records_key": {"type": "string", "minLength": 1, "default": "records"},
        "metadata": {
            "type": "boolean",
            "default": True,
            "description": "add a metadata object (layout: object)",
        },
        "pretty": {"type": "boolean", "default": False},
    },
}


@dataclasses.dataclass
class JsonWriterOptions:
    """A validated ``writer: {type: json}`` block; defaults and meanings are in :data:`SCHEMA`."""

    layout: str
    records_key: str
    metadata: bool
    pretty: bool


class JsonWriter(Writer):
    """Writes one JSON document, streamed: records are appended as they come, closed by :meth:`end`."""

    name = "json"
    summary = "a JSON array, or an object with records and metadata"
    extension = "json"
    schema = SCHEMA
    Options = JsonWriterOptions

    @override
    def begin(self, stream: IO[bytes], meta: Mapping[str, Any]) -> None:
        self.stream = stream
        self.meta = dict(meta)
        self.count = 0
        self.encode = dumps_pretty if self.options.pretty else dumps
        if self.options.layout == "object":
            stream.write(("{" + dumps(self.options.records_key) + ":[").encode("utf-8"))
        else:
            stream.write(b"[")

    @override
    def write(self, records: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]] | None:
        texts, problems = encode_each(records, self.encode)
        if texts:
            sep = ",\n" if self.options.pretty else ","
            prefix = sep if self.count else ("\n" if self.options.pretty else "")
            self.stream.write((prefix + sep.join(texts)).encode("utf-8"))
            self.count += len(texts)
        return problems or None

    @override
    def end(self) -> None:
        tail = "\n]" if self.options.pretty and self.count else "]"
        if self.options.layout == "object" and self.options.metadata:
            meta = {
                "connector": self.meta.get("connector"),
                "run_id": self.meta.get("run_id"),
                "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "count": self.count,
                **({"part": self.meta["part"]} if self.meta.get("part") else {}),
            }
            tail += "," + dumps("metadata") + ":" + dumps(meta) + "}"
        elif self.options.layout == "object":
            tail += "}"
        self.stream.write((tail + "\n").encode("utf-8"))
