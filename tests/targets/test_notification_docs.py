"""docs/notifications.md documents every option of the smtp connection and email target with its
default, and its YAML examples compile as parts of a spec."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.registry import default_registries
from engine.spec.compile import compile_document
from engine.spec.loader import load_text

DOC = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text(encoding="utf-8")
REGS = default_registries()


def rows(option: str) -> list[str]:
    return [line for line in DOC.splitlines() if line.startswith(f"| `{option}` |")]


def shown(default: Any) -> str:
    if isinstance(default, str) and "\n" in default:
        return json.dumps(default)
    return default if isinstance(default, str) else json.dumps(default)


@pytest.mark.parametrize(("kind", "name"), [("connections", "smtp"), ("targets", "email")])
def test_every_option_has_a_row_showing_its_default(kind: str, name: str) -> None:
    missing = []
    for option, sub in REGS.kind(kind).get(name).schema["properties"].items():
        found = rows(option)
        if not found:
            missing.append(f"{option}: no row")
        elif "default" in sub and not any(f"`{shown(sub['default'])}`" in row for row in found):
            missing.append(f"{option}: default {sub['default']!r} not shown")
    assert missing == []


def test_the_chat_message_options_have_rows() -> None:
    message = REGS.kind("targets").get("http").schema["properties"]["message"]["properties"]
    for option, sub in message.items():
        [row] = rows(f"message.{option}")
        assert "default" not in sub or f"`{sub['default']}`" in row


def test_the_examples_compile(tmp_path: Path) -> None:
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", DOC, re.DOTALL)]
    connections: dict[str, Any] = {}
    targets = []
    for block in blocks:
        connections.update(block.get("connections", {}))
        if "target" in block:
            targets.append(block["target"])
    assert [t["type"] for t in targets] == ["email", "http"]
    for target in targets:
        spec = {
            "version": 1,
            "name": "docs-example",
            "connections": connections,
            "source": {"type": "local", "path": "in"},
            "parser": {"type": "jsonl"},
            "target": target,
        }
        plan = compile_document(
            load_text(yaml.safe_dump(spec), str(tmp_path / "example.yaml"), base_dir=tmp_path)
        )
        plan.close()
