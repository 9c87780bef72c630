"""How the mapping package holds together: one semantics, declared resolver descriptors."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from engine.contracts import Resolver, ResolverFunction

MAPPING = Path(__file__).resolve().parents[2] / "engine" / "mapping"


def imported(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def looked_up(path: Path, names: set[str]) -> list[str]:
    """``getattr``/``hasattr`` calls whose attribute is a literal in ``names``."""
    return [
        f"{path.name}:{node.lineno} {node.args[1].value}"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("getattr", "hasattr")
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and node.args[1].value in names
    ]


def test_the_code_generator_and_the_explainer_share_only_the_steps() -> None:
    assert "engine.mapping.explain" not in imported(MAPPING / "codegen.py")
    assert "engine.mapping.codegen" not in imported(MAPPING / "explain.py")
    assert "engine.mapping.steps" in imported(MAPPING / "codegen.py") & imported(MAPPING / "explain.py")


def test_resolver_declarations_are_read_as_fields_never_looked_up_by_name() -> None:
    names = {f.name for f in dataclasses.fields(ResolverFunction)} | {
        f.name for f in dataclasses.fields(Resolver)
    }
    names |= {"str_method"}  # the attribute resolvers once carried
    offenders = [hit for path in MAPPING.rglob("*.py") for hit in looked_up(path, names)]
    assert offenders == []
    assert "type: ignore" not in "".join(p.read_text(encoding="utf-8") for p in MAPPING.rglob("*.py"))


def test_the_lookup_check_would_catch_one(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("reads = getattr(fn, 'reads', None)\nfast = hasattr(fn, 'str_method')\n")
    assert looked_up(bad, {"reads", "str_method"}) == ["bad.py:1 reads", "bad.py:2 str_method"]
