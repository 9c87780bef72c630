"""The Fluent GraphQL schema the engine ships, as text: one SDL for the checks and the emulator.

``schema.graphql`` beside this module is the subset of Fluent's schema the
product uses, each type marked with its provenance ([Fluent] or [inferred]).
The engine checks mappings, ``returning`` selections and lookup queries
against it, and the emulator serves it, so what validates is what the
emulator accepts. Lines marked ``#switch:NAME`` belong to emulator settings
that change the schema's shape; without switches they are left out, which is
Fluent's shape. Standard library only: the emulator imports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

#: the shipped SDL of Fluent's GraphQL API
GRAPHQL = Path(__file__).with_name("schema.graphql")
#: the Batch and Event APIs' bodies, written as GraphQL input types so one checker reads both
REST = Path(__file__).with_name("rest.graphql")


def _on(condition: str, enabled: set[str]) -> bool:
    """``NAME`` holds when that switch is on, ``!NAME`` when it is off."""
    name = condition.strip()
    return name[1:] not in enabled if name.startswith("!") else name in enabled


def graphql_sdl(switches: Iterable[str] = ()) -> str:
    """The shipped SDL with the lines of the ``switches`` that are on (none: Fluent's own shape)."""
    enabled = set(switches)
    lines = []
    block: str | None = None
    for line in GRAPHQL.read_text(encoding="utf-8").splitlines():
        if line.startswith("#switch-begin:"):
            block = line.partition(":")[2]
            continue
        if line.startswith("#switch-end:"):
            block = None
            continue
        if block is not None and not _on(block, enabled):
            continue
        text, marker, switch = line.partition("#switch:")
        if marker and not _on(switch, enabled):
            continue
        lines.append(text if marker else line)
    return "\n".join(lines)
