"""Print mapped records as JSON lines on standard output.

```yaml
target: {type: stdout, pretty: false}
```

A record JSON cannot hold (a NaN or infinite number) is rejected naming the
field instead of being printed.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from typing_extensions import override

from engine.contracts import Batch, RunContext, Target
from engine.jsonutil import dumps, dumps_pretty, encode_each

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
        texts, problems = encode_each(batch.records, dumps_pretty if self.options.pretty else dumps)
        out = sys.stdout
        out.write("".join(t + "\n" for t in texts))
        out.flush()
        for i, reason in problems:
            self.run.outcomes.rejected(batch, i, reason)
        self.run.outcomes.accepted(batch, len(texts))
