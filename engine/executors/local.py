"""Everything in this process, one file after another (the default).

```yaml
executor: {type: local}
```
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from engine.contracts import Plugin

SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}


@dataclasses.dataclass
class LocalOptions:
    """The ``local`` executor takes no options."""


class LocalExecutor(Plugin):
    """Runs tasks one after another in this process; with one worker the run is never shared out."""

    kind = "executors"
    name = "local"
    summary = "in this process (the default)"
    schema = SCHEMA
    Options = LocalOptions
    workers = 1
    #: one process reads every file whole
    split_size = None
    #: everything runs on this machine
    spans_hosts = False

    def map(self, fn: Callable[[Any], Any], tasks: list[Any]) -> list[Any]:
        """Run ``fn(task)`` for each task in turn.

        Returns:
            One entry per task, in order: its result, or the exception it raised.
        """
        out: list[Any] = []
        for task in tasks:
            try:
                out.append(fn(task))
            except Exception as exc:
                out.append(exc)
        return out
