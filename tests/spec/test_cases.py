"""Spec cases as files: each invalid spec beside the exact diagnostics it must produce."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import SpecError
from engine.spec.compile import compile_file

HERE = Path(__file__).parent
INVALID = sorted((HERE / "invalid").glob("*.yaml"))
VALID = sorted((HERE / "valid").glob("*.yaml"))


def render(spec: Path) -> list[str]:
    try:
        plan = compile_file(spec)
    except SpecError as exc:
        diags = exc.diagnostics
    else:
        diags = plan.warnings
    return [d.render().replace(str(spec), spec.name) for d in diags]


@pytest.mark.parametrize("spec", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_spec_gives_exactly_its_diagnostics(spec: Path) -> None:
    expected = spec.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    assert render(spec) == expected


@pytest.mark.parametrize("spec", VALID, ids=[p.stem for p in VALID])
def test_valid_spec_compiles_without_errors(spec: Path) -> None:
    plan = compile_file(spec)
    assert [d for d in plan.warnings if d.severity == "error"] == []


def test_validate_command_reports_all_problems_sorted_with_exit_2(cli, monkeypatch) -> None:
    monkeypatch.chdir(HERE / "invalid")
    result = cli("validate", "mapping-errors.yaml")
    assert result.exit_code == 2
    lines = [
        line
        for line in result.output.splitlines()
        if line.startswith("mapping-errors.yaml:") and "problems" not in line
    ]
    positions = [tuple(int(x) for x in line.split(" ")[0].split(":")[1:3]) for line in lines]
    assert len(lines) == 9
    assert positions == sorted(positions)


def test_validate_json_format_has_the_same_diagnostics_as_objects(cli, monkeypatch) -> None:
    monkeypatch.chdir(HERE / "invalid")
    result = cli("validate", "--format", "json", "unknown-keys.yaml")
    assert result.exit_code == 2
    data = json.loads(result.output)
    assert [(d["line"], d["col"], d["path"]) for d in data] == [
        (3, 1, "sourse"),
        (4, 33, "source.patern"),
        (5, 21, "parser.delimeter"),
    ]
    assert data[1]["message"] == "unknown option 'patern' (did you mean 'pattern'?)"
    assert all(d["severity"] == "error" and d["file"] == "unknown-keys.yaml" for d in data)


@pytest.mark.parametrize("fmt", ["sarif", "junit", "github"])
def test_validate_ci_formats_carry_every_problem(cli, monkeypatch, fmt: str) -> None:
    monkeypatch.chdir(HERE / "invalid")
    result = cli("validate", "--format", fmt, "unknown-keys.yaml")
    assert result.exit_code == 2
    assert result.output.count("patern") >= 1 and result.output.count("delimeter") >= 1
    if fmt == "sarif":
        assert len(json.loads(result.output)["runs"][0]["results"]) == 3
    if fmt == "github":
        assert result.output.splitlines()[0].startswith("::error file=unknown-keys.yaml,line=3,col=1::")


def test_target_schema_problems_come_in_every_format(cli, monkeypatch) -> None:
    monkeypatch.chdir(HERE / "invalid")
    found = json.loads(cli("validate", "--format", "json", "fluent-graphql-schema.yaml").output)
    misspelt = next(d for d in found if d["path"] == "mapping.fields.primaryAdress")
    assert (misspelt["line"], misspelt["col"], misspelt["code"]) == (26, 5, "target-schema")
    assert "did you mean 'primaryAddress'?" in misspelt["message"]
    github = cli("validate", "--format", "github", "fluent-graphql-schema.yaml").output
    assert "::error file=fluent-graphql-schema.yaml,line=29,col=27::mapping.fields.openingSchedule" in github
    sarif = json.loads(cli("validate", "--format", "sarif", "fluent-graphql-schema.yaml").output)
    rules = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert rules == {"target-schema"}
