"""Architecture held by tests.

The interpreter (engine/spec, engine/runtime) never imports a concrete plugin, and the Fluent
emulator stays apart: it imports nothing from the rest of ``engine`` but ``engine.suggest`` (a
stdlib-only did-you-mean helper, shared rather than copied) and `engine.fluent.sdl` (the shipped
Fluent SDL it serves, which the engine checks specs against), and within ``engine`` only the Fluent
connection's ``embedded`` mode and the CLI import it. A private module (``_name``) belongs to its
package: nothing outside that package imports it (shared pieces live in public modules).
"""

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


EMULATOR = "engine.emulator"
# What the emulator may import from the rest of the package, and who in the package may import it.
EMULATOR_MAY_IMPORT = ("engine.suggest", "engine.fluent.sdl")
MAY_IMPORT_EMULATOR = ("engine/connections/fluent.py", "engine/cli/__init__.py")


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def emulator_offenders(root: Path) -> list[str]:
    """Emulator modules importing other engine modules, and engine modules importing the emulator."""
    offenders = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).as_posix()
        in_emulator = rel.startswith("engine/emulator/")
        for name in imports_of(path):
            if in_emulator and _inside(name, "engine") and not _inside(name, EMULATOR):
                if not any(_inside(name, allowed) for allowed in EMULATOR_MAY_IMPORT):
                    offenders.append(f"{rel} imports {name}")
            elif not in_emulator and _inside(name, EMULATOR) and rel not in MAY_IMPORT_EMULATOR:
                offenders.append(f"{rel} imports {name}")
    return offenders


def test_the_emulator_stays_apart_from_the_engine() -> None:
    assert emulator_offenders(ROOT) == []


def test_the_emulator_check_would_catch_offenders(tmp_path) -> None:
    root = tmp_path / "engine"
    (root / "emulator").mkdir(parents=True)
    (root / "sources").mkdir()
    (root / "connections").mkdir()
    (root / "emulator" / "app.py").write_text(
        "from engine.suggest import did_you_mean\nfrom engine.errors import EngineError\n"
        "from engine.emulator.core import Core\n"
    )
    (root / "sources" / "local.py").write_text("from engine.emulator import Emulator\n")
    (root / "connections" / "fluent.py").write_text("from engine.emulator import Emulator\n")
    assert emulator_offenders(root) == [
        "engine/emulator/app.py imports engine.errors",
        "engine/emulator/app.py imports engine.errors.EngineError",
        "engine/sources/local.py imports engine.emulator",
        "engine/sources/local.py imports engine.emulator.Emulator",
    ]


# --- a private module belongs to its package --------------------------------------------------------


def module_name(path: Path, root: Path) -> str:
    """``engine/targets/fluent/event.py`` -> ``engine.targets.fluent.event`` (a package's ``__init__``: the package)."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def private_owner(name: str, root: Path) -> str | None:
    """The package a private name in ``name`` belongs to, or None when ``name`` reaches nothing private.

    ``engine.targets.fluent._pool.SendPool`` belongs to ``engine.targets.fluent``; a private name
    inside a module (``engine.mapping.paths._walk``) belongs to the module's package.
    """
    parts = name.split(".")
    for i, part in enumerate(parts[1:], 1):
        if part.startswith("_") and not part.startswith("__"):
            owner = parts[:i]
            if not root.parent.joinpath(*owner).is_dir():
                owner = owner[:-1]
            return ".".join(owner)
    return None


def private_imports(root: Path) -> list[str]:
    """Imports of a private module (or name) from outside the package it belongs to."""
    offenders = []
    for path in sorted(root.rglob("*.py")):
        importer = module_name(path, root)
        for name in imports_of(path):
            owner = private_owner(name, root)
            if owner is not None and not _inside(importer, owner):
                offenders.append(f"{path.relative_to(root.parent).as_posix()} imports {name}")
    return offenders


def test_no_module_imports_another_package_s_private_module() -> None:
    assert private_imports(ROOT) == [], "move what is shared into a public module"


def test_the_private_import_check_would_catch_offenders(tmp_path) -> None:
    root = tmp_path / "engine"
    for package in ("targets/fluent", "connections", "sources/fluent", "mapping"):
        (root / package).mkdir(parents=True, exist_ok=True)
    (root / "targets" / "http.py").write_text(
        "from engine.targets.fluent._pool import SendPool\nfrom engine.connections import _http_auth\n"
    )
    (root / "targets" / "fluent" / "event.py").write_text(
        "from engine.targets.fluent._pool import SendPool\n"
    )
    (root / "sources" / "fluent" / "graphql.py").write_text(
        "from engine.sources._http_pages import page_cap\n"
    )
    (root / "mapping" / "codegen.py").write_text("from engine.mapping.paths import _walk\n")
    (root / "sources" / "s3.py").write_text("import engine.connections._s3_errors\n")
    assert private_imports(root) == [
        "engine/sources/s3.py imports engine.connections._s3_errors",
        "engine/targets/http.py imports engine.targets.fluent._pool",
        "engine/targets/http.py imports engine.targets.fluent._pool.SendPool",
        "engine/targets/http.py imports engine.connections._http_auth",
    ]


# --- hooks are declared, never looked up ----------------------------------------------------------


def _hook_names() -> set[str]:
    """Every method and attribute the plugin contracts declare (the hooks a plugin may offer)."""
    from engine import contracts

    names: set[str] = set()
    for cls in (
        contracts.Plugin,
        contracts.Connection,
        contracts.Source,
        contracts.Parser,
        contracts.Target,
        contracts.Writer,
        contracts.Destination,
        contracts.StateStore,
    ):
        names.update(n for n in vars(cls) if not n.startswith("_"))
    return names - {"kind", "name", "schema", "Options", "summary"}


def _looked_up(path: Path, names: set[str]) -> list[str]:
    """``getattr``/``hasattr`` calls in ``path`` whose attribute is a literal in ``names``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in names
        ):
            where = path.relative_to(ROOT.parent) if path.is_relative_to(ROOT.parent) else path.name
            found.append(f"{where}:{node.lineno} {node.func.id}(..., {node.args[1].value!r})")
    return found


def test_plugin_hooks_are_declared_on_the_contracts_not_looked_up() -> None:
    names = _hook_names()
    assert {"stats", "resume", "commit_scope", "problems", "static_context", "staging_dir"} <= names
    offenders = [hit for path in ROOT.rglob("*.py") for hit in _looked_up(path, names)]
    assert offenders == [], "declare the hook on engine/contracts.py and call it"


def test_the_hook_check_would_catch_a_lookup(tmp_path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("stats = getattr(target, 'stats', None)\nok = hasattr(source, 'accepts_payload')\n")
    hits = _looked_up(bad, _hook_names())
    assert [h.split(" ", 1)[1] for h in hits] == [
        "getattr(..., 'stats')",
        "hasattr(..., 'accepts_payload')",
    ]


def test_the_interpreter_looks_up_no_attribute_by_name() -> None:
    allowed = {"engine/runtime/logs.py"}  # logging's LogRecord carries our fields as an `extra` attribute
    offenders = []
    for package in ("spec", "runtime"):
        for path in (ROOT / package).rglob("*.py"):
            rel = str(path.relative_to(ROOT.parent))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in ("getattr", "hasattr")
                    and len(node.args) >= 2
                    and isinstance(node.args[1], ast.Constant)
                    and rel not in allowed
                ):
                    offenders.append(f"{rel}:{node.lineno}")
    assert offenders == []
