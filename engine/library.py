"""The connector library: the catalogue of ``connectors/`` and the folders it names.

``engine init --list`` prints the catalogue and ``engine init --template``
copies one of its connectors. The catalogue is ``connectors/README.md`` itself
(people read it, the engine parses it), so the two cannot drift: one table row
per scenario, naming the folder that does it or, with no folder, the exact
capability missing.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

CATALOGUE = "README.md"
STATUSES = ("working", "partial", "missing", "planned")
_ROW = re.compile(r"^\|(.+)\|\s*$")
_CONNECTOR = re.compile(r"`([A-Za-z0-9_./-]+)`")
_LINK = re.compile(r"\]\(([A-Za-z0-9_./-]+)/[^/()]+\.ya?ml\)")


def default_library() -> Path:
    """The ``connectors/`` folder next to the installed package (a source checkout)."""
    return Path(__file__).resolve().parent.parent / "connectors"


@dataclasses.dataclass(frozen=True)
class Entry:
    """One catalogue row: a scenario, the connector folder doing it (if any) and its status."""

    scenario: str
    connector: str | None
    flow: str
    status: str
    #: what the connector cell says besides the folder (a variant's ``--set`` values)
    note: str = ""

    @property
    def working(self) -> bool:
        """Whether the scenario runs as a connector today."""
        return self.status.startswith("working")


def _cells(line: str) -> list[str] | None:
    match = _ROW.match(line.strip())
    return [c.strip() for c in match.group(1).split("|")] if match else None


def read_catalogue(text: str) -> tuple[list[Entry], list[str]]:
    """The scenario rows and the other connectors the catalogue names.

    Scenario rows are those of the table whose header starts with
    ``scenario`` (the first backticked name in the connector cell is the
    folder); in a table whose header starts with ``connector`` the first
    cell's link to a spec names the folder.
    """
    entries: list[Entry] = []
    others: list[str] = []
    header: list[str] | None = None
    for line in text.splitlines():
        cells = _cells(line)
        if cells is None:
            header = None
        elif header is None:
            header = [c.lower() for c in cells]
        elif set("".join(cells)) <= set("-: "):
            continue
        elif header[0] == "scenario":
            folder = _CONNECTOR.search(cells[1])
            note = cells[1][folder.end() :].strip() if folder else ""
            entries.append(
                Entry(cells[0].strip("`"), folder.group(1) if folder else None, cells[2], cells[3], note)
            )
        elif header[0] == "connector":
            folder = _LINK.search(cells[0]) or _CONNECTOR.search(cells[0])
            if folder:
                others.append(folder.group(1))
    return entries, others


def connector_folders(library: Path) -> list[str]:
    """Folders (relative to ``library``) holding a spec named after the folder."""
    return sorted(
        str(p.parent.relative_to(library))
        for p in library.rglob("*.yaml")
        if p.stem == p.parent.name and not any(part.startswith(".") for part in p.relative_to(library).parts)
    )


def find(library: Path, name: str) -> tuple[Entry | None, str | None]:
    """The catalogue entry and folder a name means: a folder, or a scenario's template name."""
    entries, others = read_catalogue((library / CATALOGUE).read_text(encoding="utf-8"))
    for entry in entries:
        if name in (entry.scenario, entry.scenario.removesuffix(".md"), entry.connector):
            return entry, entry.connector
    folders = {*others, *(e.connector for e in entries if e.connector)}
    for folder in folders:
        if name in (folder, Path(folder).name):
            return None, folder
    return None, None
