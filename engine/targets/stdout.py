"""Print mapped records as JSON lines on standard output.

```yaml
target: {type: stdout, pretty: false}
```
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from typing_extensions import override

from engine.contracts import Batch, RunContext, Target
from engine.jsonutil import dumps, dumps_pretty

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "pretty": {
            "type": "boolean",
            "default": False,
            "description": "indented JSON instead of one line each",
        },
    },
}


@dataclasses.dataclass
class StdoutOptions:
    """A validated ``target: {type: stdout}`` block; defaults and meanings are in :data:`SCHEMA`."""

    pretty: bool


class StdoutTarget(Target):
    """Prints each batch to standard output (flushed per batch) and reports its records accepted."""

    name = "stdout"
    summary = "print records as JSON lines"
    schema = SCHEMA
    Options = StdoutOptions

    @override
    def open(self, run: RunContext) -> None:
        self.run = run

    @override
    def write(self, batch: Batch) -> None:
        encode = dumps_pretty if self.options.pretty else dumps
        out = sys.stdout
        out.write("".join(encode(r) + "\n" for r in batch.records))
        out.flush()
        self.run.outcomes.accepted(batch)
