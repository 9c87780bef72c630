"""The interpreter (engine/spec, engine/runtime) never imports a concrete plugin."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "engine"
PLUGIN_PACKAGES = (
    "engine.connections",
    "engine.sources",
    "engine.parsers",
    "engine.targets",
    "engine.writers",
    "engine.destinations",
    "engine.state",
    "engine.mapping.resolvers",
    "engine.emulator",
    "engine.executors",
)


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_interpreter_does_not_import_concrete_plugins() -> None:
    offenders = []
    for package in ("spec", "runtime"):
        for path in (ROOT / package).rglob("*.py"):
            for name in imports_of(path):
                if name.startswith(PLUGIN_PACKAGES):
                    offenders.append(f"{path.relative_to(ROOT.parent)} imports {name}")
    assert offenders == []


def test_the_check_would_catch_an_offender(tmp_path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from engine.parsers.csv import CsvParser\nimport engine.sources.local\n")
    assert [n for n in imports_of(bad) if n.startswith(PLUGIN_PACKAGES)] == [
        "engine.parsers.csv",
        "engine.parsers.csv.CsvParser",
        "engine.sources.local",
    ]
