"""docs/http.md documents every option of the http plugins with its default, and its examples compile."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.registry import default_registries
from engine.spec.compile import compile_document
from engine.spec.loader import load_text

DOC = (Path(__file__).resolve().parents[2] / "docs" / "http.md").read_text()
#: the OpenAPI document the body_schema example names
OPENAPI = Path(__file__).resolve().parents[1] / "fixtures" / "schemas" / "erp-openapi.yaml"
REGS = default_registries()
PLUGINS = [("connections", "http"), ("sources", "http"), ("targets", "http")]


def rows(option: str) -> list[str]:
    return [line for line in DOC.splitlines() if line.startswith(f"| `{option}` |")]


def shown(default: Any) -> str:
    if isinstance(default, bool):
        return "true" if default else "false"
    return default if isinstance(default, str) else json.dumps(default)


def documented(schema: dict[str, Any], where: str) -> list[str]:
    """Options without a table row, or whose row does not show the default."""
    missing = []
    for option, sub in schema.get("properties", {}).items():
        found = rows(option)
        if not found:
            missing.append(f"{where}.{option}: no row")
        elif "default" in sub and not any(f"`{shown(sub['default'])}`" in row for row in found):
            missing.append(f"{where}.{option}: default {sub['default']!r} not shown")
    return missing


@pytest.mark.parametrize("kind,name", PLUGINS, ids=[k for k, _ in PLUGINS])
def test_every_option_has_a_row_showing_its_default(kind: str, name: str) -> None:
    schema = REGS.kind(kind).get(name).schema
    missing = documented(schema, f"{kind}.{name}")
    if kind == "sources":
        missing += documented(schema["properties"]["watermark"], "watermark")
        for paging, sub in schema["properties"]["pagination"]["properties"].items():
            for option, spec in sub["properties"].items():
                found = rows(option)
                if not found or (
                    "default" in spec and not any(f"`{shown(spec['default'])}`" in r for r in found)
                ):
                    missing.append(f"pagination.{paging}.{option}")
    assert missing == []


CONNECTIONS = {
    "shop": {"type": "http", "base_url": "https://api.shop.example/v2"},
    "erp": {"type": "http", "base_url": "https://erp.example/api"},
}


@pytest.mark.parametrize("n", range(len(re.findall(r"```yaml\n", DOC))))
def test_every_yaml_example_compiles(n: int, tmp_path) -> None:
    block = yaml.safe_load(re.findall(r"```yaml\n(.*?)```", DOC, re.S)[n])
    shutil.copy(OPENAPI, tmp_path / OPENAPI.name)
    spec: dict[str, Any] = {
        "version": 1,
        "name": "doc",
        "connections": dict(CONNECTIONS),
        "source": {"type": "http", "connection": "shop", "path": "/x"},
        "target": {"type": "null"},
        **block,
    }
    spec["connections"] = {**CONNECTIONS, **(block.get("connections") or {})}
    doc = load_text(yaml.safe_dump(spec), str(tmp_path / "doc.yaml"), base_dir=tmp_path)
    plan = compile_document(doc)
    assert [d.render() for d in plan.warnings if d.severity == "error"] == []
    plan.close()
