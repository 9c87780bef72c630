"""The public Python API: what ``engine`` exports, with which signatures, and that it works from code."""

from __future__ import annotations

import inspect
import io
import subprocess
import sys
from pathlib import Path

import pytest

import engine

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "connectors" / "quickstart" / "quickstart.yaml"

#: the stable surface: changing it is a breaking change (update docs/python-api.md and this table together)
SIGNATURES = {
    "check": "(spec: 'str | Path', *, allow_custom_code: 'bool' = False) -> 'list[Check]'",
    "compile_spec": "(spec: 'str | Path', *, overrides: 'list[str] | None' = None, allow_custom_code: 'bool' = False) -> 'Plan'",
    "run": (
        "(spec: 'str | Path', *, dry_run: 'bool' = False, limit: 'int | None' = None, "
        "overrides: 'list[str] | None' = None, since: 'str | None' = None, until: 'str | None' = None, "
        "replay: 'str | Path | None' = None, payload: 'bytes | None' = None, "
        "report_path: 'str | Path | None' = None, out: 'IO[str] | None' = None, "
        "allow_custom_code: 'bool' = False) -> 'RunReport'"
    ),
    "test": "(spec: 'str | Path', *, allow_custom_code: 'bool' = False) -> 'list[CaseResult]'",
    "validate": "(spec: 'str | Path', *, allow_custom_code: 'bool' = False) -> 'list[Diagnostic]'",
}
CLASSES = {"Check", "CaseResult", "ConfigError", "Diagnostic", "EngineError", "RunReport", "SpecError"}


def test_the_exported_names_stay_the_same() -> None:
    assert sorted(engine.__all__) == sorted([*SIGNATURES, *CLASSES, "__version__"])
    for name in engine.__all__:
        assert getattr(engine, name) is not None


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_each_function_keeps_its_signature(name: str) -> None:
    assert str(inspect.signature(getattr(engine, name))) == SIGNATURES[name]


def test_every_export_is_documented() -> None:
    doc = (ROOT / "docs" / "python-api.md").read_text(encoding="utf-8")
    for name in engine.__all__:
        assert f"`{name}" in doc or f"engine.{name}" in doc, f"docs/python-api.md does not mention {name}"


def test_import_engine_stays_cheap() -> None:
    code = "import sys, engine; print(sorted(m for m in ('engine.api', 'engine.runtime.runner', 'httpx') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_validate_test_and_run_from_python(tmp_path, monkeypatch) -> None:
    assert engine.validate(QUICKSTART) == []
    results = engine.test(QUICKSTART)
    assert len(results) == 4 and all(r.ok for r in results)
    out = io.StringIO()
    dry = engine.run(QUICKSTART, dry_run=True, limit=3, out=out)
    assert dry.status == "stopped" and len(out.getvalue().splitlines()) == 3
    report = engine.run(QUICKSTART, report_path=tmp_path / "report.json")
    assert isinstance(report, engine.RunReport)
    assert report.exit_code == 0 and report.counts["written"] == 18
    assert (tmp_path / "report.json").is_file()


def test_an_invalid_spec_is_diagnostics_from_validate_and_an_exception_from_run(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: bad\nsource: {type: local}\ntarget: {type: stdout}\n")
    problems = engine.validate(bad)
    assert [d.render() for d in problems] == [f"{bad}:3:9 source: missing required option 'path'"]
    assert problems[0].severity == "error" and isinstance(problems[0], engine.Diagnostic)
    with pytest.raises(engine.SpecError) as caught:
        engine.run(bad)
    assert caught.value.diagnostics == problems
    assert issubclass(engine.SpecError, engine.EngineError)


def test_a_payload_spec_runs_with_a_body_and_other_specs_refuse_one() -> None:
    spec = ROOT / "connectors" / "webhook-order-cancel" / "webhook-order-cancel.yaml"
    body = (ROOT / "connectors" / "webhook-order-cancel" / "data" / "cancel-request.json").read_bytes()
    report = engine.run(spec, payload=body)
    assert report.counts["read"] == 1, report.error
    with pytest.raises(engine.ConfigError):
        engine.run(QUICKSTART, payload=b"{}")


def test_check_from_python(tmp_path) -> None:
    lines = engine.check(QUICKSTART)
    assert all(isinstance(c, engine.Check) and c.ok for c in lines)
    assert [c.subject for c in lines] == ["connections.fluent", "source"]
