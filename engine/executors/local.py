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
    pass


class LocalExecutor(Plugin):
    kind = "executors"
    name = "local"
    summary = "in this process (the default)"
    schema = SCHEMA
    Options = LocalOptions
    workers = 1

    def map(self, fn: Callable[[Any], Any], tasks: list[Any]) -> list[Any]:
        out: list[Any] = []
        for task in tasks:
            try:
                out.append(fn(task))
            except Exception as exc:
                out.append(exc)
        return out
