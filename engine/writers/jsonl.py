"""JSON Lines writer: one compact JSON object per line.

```yaml
target:
  type: file
  writer: {type: jsonl}
  destination: {type: local, path: out}
```

A record JSON cannot hold (a NaN or infinite number) is rejected naming
the field; the others are written. Records mapped on Arrow columns are
written from the columns (:meth:`MappedColumns.json`, the same text);
a batch with a value JSON cannot hold is written record by record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from typing_extensions import override

from engine.contracts import Writer
from engine.jsonutil import dumps, encode_each

if TYPE_CHECKING:
    from engine.mapping.columnar.mapped import MappedColumns

SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}


@dataclasses.dataclass
class JsonlWriterOptions:
    """A ``writer: {type: jsonl}`` block, which takes no options."""


class JsonlWriter(Writer):
    """Writes one JSON Lines file; it keeps no state between batches."""

    name = "jsonl"
    summary = "one JSON object per line"
    extension = "jsonl"
    schema = SCHEMA
    Options = JsonlWriterOptions

    @override
    def begin(self, stream: IO[bytes], meta: Mapping[str, Any]) -> None:
        self.stream = stream

    @override
    def write(self, records: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]] | None:
        texts, problems = encode_each(records)
        if texts:
            self.stream.write(("\n".join(texts) + "\n").encode("utf-8"))
        return problems or None

    @override
    def write_columns(self, columns: MappedColumns) -> bool:
        texts = columns.json(dumps)
        if texts is None:
            return False
        if texts:
            self.stream.write(("\n".join(texts) + "\n").encode("utf-8"))
        return True

    @override
    def end(self) -> None:
        pass
