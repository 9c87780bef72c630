"""Print mapped records as JSON lines on standard output.

```yaml
target: {type: stdout, pretty: false}
```
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

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
    pretty: bool


class StdoutTarget(Target):
    name = "stdout"
    summary = "print records as JSON lines"
    schema = SCHEMA
    Options = StdoutOptions

    def open(self, run: RunContext) -> None:
        self.run = run

    def write(self, batch: Batch) -> None:
        encode = dumps_pretty if self.options.pretty else dumps
        out = sys.stdout
        out.write("".join(encode(r) + "\n" for r in batch.records))
        out.flush()
        self.run.outcomes.accepted(batch)
