"""``explode:``: one record per element of a nested list, with chosen fields of its parent.

```yaml
explode:
  path: lines                               # the list whose elements become the records
  parent: {orderRef: ref, orderDate: date}  # parent fields copied into every element's record
```

An order with three lines becomes three records, each the line's own fields
plus ``orderRef`` and ``orderDate``; the mapping, lookups and target then see
order lines. Exploded records are numbered 1, 2, 3 ... through the item (so
checkpoints and resume stay exact); each keeps its parent's line and a
locator naming the parent and the element (``record 2 lines[1]``), which is
what rejects show. An element that is not an object becomes ``{value:
...}``. A parent without elements is rejected (``empty: reject``, the
default) or left out (``empty: skip``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.contracts import Chunk, ParseReject
from engine.mapping.paths import Scope, compile_getter, parse_path
from engine.plan import ExplodePolicy


class Exploder:
    """Turns the chunks of one item into chunks of exploded records (see the module docstring)."""

    def __init__(self, policy: ExplodePolicy) -> None:
        self.policy = policy
        self.items = compile_getter(parse_path(policy.path))
        self.parent = {name: compile_getter(parse_path(path)) for name, path in policy.parent.items()}

    def chunks(self, chunks: Iterator[Chunk]) -> Iterator[Chunk]:
        """The item's chunks, exploded; numbering runs on across chunks."""
        number = 0
        for chunk in chunks:
            records: list[Any] = []
            positions: list[int] = []
            lines: list[int] | None = [] if chunk.lines is not None else None
            locators: list[Any] = []
            rejects: list[ParseReject] = list(chunk.rejects or [])
            for i in range(len(chunk.records)):
                record = chunk.original(i)
                where = chunk.locators[i] if chunk.locators is not None else f"record {chunk.positions[i]}"
                line = chunk.lines[i] if chunk.lines is not None else None
                elements = self.items(record, Scope(root=record))
                if isinstance(elements, dict):
                    elements = [elements]
                if not isinstance(elements, list) or not elements:
                    if self.policy.empty == "reject":
                        number += 1
                        rejects.append(
                            ParseReject(
                                number, f"no elements at {self.policy.path} to explode", line, record, where
                            )
                        )
                    continue
                scope = Scope(root=record)
                inherited = {name: get(record, scope) for name, get in self.parent.items()}
                for j, element in enumerate(elements):
                    number += 1
                    own = element if isinstance(element, dict) else {"value": element}
                    records.append({**own, **inherited})
                    positions.append(number)
                    if lines is not None and line is not None:
                        lines.append(line)
                    locators.append(f"{where} {self.policy.path}[{j}]")
            yield Chunk(chunk.item, records, positions, None, lines, locators, rejects=rejects or None)
