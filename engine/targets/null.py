"""Discard records, counting them: for benchmarks and dry checks of a mapping.

```yaml
target: {type: "null"}
```
"""

from __future__ import annotations

import dataclasses
from typing import Any

from typing_extensions import override

from engine.contracts import Batch, RunContext, Target

SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}


@dataclasses.dataclass
class NullOptions:
    """A ``target: {type: "null"}`` block, which takes no options."""


class NullTarget(Target):
    """Reports every record accepted and keeps none of them."""

    name = "null"
    summary = "accept and discard every record"
    schema = SCHEMA
    Options = NullOptions

    @override
    def open(self, run: RunContext) -> None:
        self.run = run

    @override
    def parts_refused(self) -> str | None:
        """Nothing is sent: a file's parts may go from several workers at once."""
        return None

    @override
    def write(self, batch: Batch) -> None:
        self.run.outcomes.accepted(batch)
