"""Discard records, counting them: for benchmarks and dry checks of a mapping.

```yaml
target: {type: "null"}
```
"""

from __future__ import annotations

import dataclasses
from typing import Any

from engine.contracts import Batch, RunContext, Target

SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}


@dataclasses.dataclass
class NullOptions:
    pass


class NullTarget(Target):
    name = "null"
    summary = "accept and discard every record"
    schema = SCHEMA
    Options = NullOptions

    def open(self, run: RunContext) -> None:
        self.run = run

    def write(self, batch: Batch) -> None:
        self.run.outcomes.accepted(batch)
