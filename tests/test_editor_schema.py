"""The schema editors use: self-contained, file-relative ids, durations and cron checked, examples offered."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
SCHEMA = json.loads((SCHEMAS / "engine.schema.json").read_text(encoding="utf-8"))

SPEC = {
    "version": 1,
    "name": "nightly",
    "source": {"type": "local", "path": "in", "min_age": "5m"},
    "parser": {"type": "csv"},
    "target": {"type": "stdout"},
    "trigger": {"schedule": "0 2 * * mon-fri"},
}


def _errors(spec: dict) -> list[str]:
    return [e.message for e in Draft202012Validator(SCHEMA).iter_errors(spec)]


def test_every_id_is_a_file_name_and_nothing_points_at_the_network() -> None:
    for path in SCHEMAS.rglob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert "://" not in str(schema.get("$id", "")), f"{path}: $id {schema['$id']} is not file-relative"
        refs = [v for v in _values(schema, "$ref")]
        assert all(r.startswith("#") for r in refs), f"{path}: a $ref leaves the file"
    assert SCHEMA["$id"] == "engine.schema.json"
    assert "Point editors here" in SCHEMA["description"]
    skeleton = json.loads((SCHEMAS / "connector.schema.json").read_text(encoding="utf-8"))
    assert "For editors use engine.schema.json" in skeleton["description"]


def _values(node: object, key: str):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from _values(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from _values(v, key)


def test_a_valid_spec_passes_and_durations_and_cron_are_checked_while_typing() -> None:
    assert _errors(SPEC) == []
    assert _errors({**SPEC, "trigger": {"schedule": "every night"}})
    assert _errors({**SPEC, "source": {**SPEC["source"], "min_age": "5 minutes"}})


def test_the_schema_offers_examples() -> None:
    assert _errors(SCHEMA["examples"][0]) == []
    assert "@daily" in SCHEMA["properties"]["trigger"]["properties"]["schedule"]["examples"]
    ttl = SCHEMA["$defs"]["targets.fluent.batch"]["properties"]["job"]["properties"]["ttl"]
    assert ttl["examples"] == ["30s", "15m", "2h", "1d"]


def test_the_editors_page_names_the_schema_and_each_editor() -> None:
    doc = (ROOT / "docs" / "editors.md").read_text(encoding="utf-8")
    for needle in (
        "schemas/engine.schema.json",
        "yaml-language-server: $schema=",
        "VS Code",
        "JetBrains",
        "Neovim",
    ):
        assert needle in doc
