"""The committed schemas/ match what the code exports (make schemas)."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

from engine.cli.inspect import export_schemas

COMMITTED = Path(__file__).resolve().parent.parent / "schemas"


def test_committed_schemas_do_not_drift(tmp_path) -> None:
    export_schemas(tmp_path)
    fresh = {p.relative_to(tmp_path).as_posix(): p.read_text() for p in tmp_path.rglob("*.json")}
    committed = {p.relative_to(COMMITTED).as_posix(): p.read_text() for p in COMMITTED.rglob("*.json")}
    assert sorted(fresh) == sorted(committed), "run `make schemas` and commit schemas/"
    for name, text in fresh.items():
        assert committed[name] == text, f"schemas/{name} is out of date: run `make schemas`"


def test_composed_schema_is_valid_and_accepts_a_connector(tmp_path) -> None:
    export_schemas(tmp_path)
    schema = json.loads((tmp_path / "engine.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    spec = {
        "version": 1,
        "name": "x",
        "source": {"type": "local", "path": "in"},
        "parser": {"type": "csv"},
        "target": {"type": "file", "writer": "csv", "destination": {"type": "local", "path": "out"}},
    }
    assert list(Draft202012Validator(schema).iter_errors(spec)) == []
    spec["parser"]["delimeter"] = ";"
    errors = list(Draft202012Validator(schema).iter_errors(spec))
    assert errors and "delimeter" in str(errors[0])
