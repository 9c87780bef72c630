"""JSON Lines writer: one compact JSON object per line.

```yaml
target:
  type: file
  writer: {type: jsonl}
  destination: {type: local, path: out}
```
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import IO, Any

from typing_extensions import override

from engine.contracts import Writer
from engine.jsonutil import dumps

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
    def write(self, records: Sequence[Mapping[str, Any]]) -> None:
        self.stream.write("".join(dumps(r) + "\n" for r in records).encode("utf-8"))

    @override
    def end(self) -> None:
        pass
