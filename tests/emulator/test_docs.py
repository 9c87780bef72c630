"""docs/emulator.md documents every setting, fault action and seed section users can reach."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.emulator.faults import ACTIONS, MATCH_KEYS, WHEN_KEYS
from engine.emulator.seed import SECTIONS
from engine.emulator.settings import OPTIONS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "emulator.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_every_setting_is_documented_with_its_default(name):
    default = OPTIONS[name].default
    if isinstance(default, bool):
        shown = "true" if default else "false"
    else:
        shown = str(default) if default != "" else "(empty)"
    line = next((row for row in DOC.splitlines() if row.startswith(f"| `{name}` ")), None)
    assert line is not None, f"docs/emulator.md has no table row for setting {name}"
    assert f"`{shown}`" in line, f"docs/emulator.md row for {name} does not show its default {shown}"


@pytest.mark.parametrize("name", sorted({*ACTIONS, *MATCH_KEYS, *WHEN_KEYS, *SECTIONS}))
def test_every_fault_key_and_seed_section_is_documented(name):
    assert f"`{name}" in DOC
