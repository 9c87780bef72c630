"""Every spec under connectors/ validates and passes its own tests offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli.common import expand_specs
from engine.spec.compile import compile_file
from engine.testing.spec_tests import run_tests

ROOT = Path(__file__).resolve().parent.parent.parent / "connectors"
SPECS = [Path(p) for p in expand_specs((str(ROOT),))]


def test_there_are_connectors() -> None:
    assert any(p.parent.name == "quickstart" for p in SPECS)


@pytest.mark.parametrize("spec", SPECS, ids=[str(p.relative_to(ROOT)) for p in SPECS])
def test_connector_validates_and_its_tests_pass(spec: Path) -> None:
    plan = compile_file(spec, allow_custom_code=True)
    assert [d.render() for d in plan.warnings if d.severity == "error"] == []
    assert plan.tests, f"{spec.relative_to(ROOT)} has no tests: cases"
    failures = [(r.name, r.problems) for r in run_tests(plan) if not r.ok]
    assert failures == []


def test_quickstart_runs_end_to_end_against_the_embedded_emulator(run_spec, tmp_path) -> None:
    import json

    report = run_spec(ROOT / "quickstart" / "quickstart.yaml")
    assert report.exit_code == 0 and report.status == "ok"
    assert report.counts["read"] == 20 and report.counts["written"] == 18
    assert report.counts["rejected"]["target"] == 2
    rows = sorted(json.loads(x)["lineage"]["row"] for x in Path(report.rejects_path).read_text().splitlines())
    assert rows == [7, 9]
    assert report.target["jobs"] == 1 and report.target["batches"] == 2


def test_rerunning_the_quickstart_skips_its_file_until_state_is_cleared(run_spec, cli) -> None:
    spec = ROOT / "quickstart" / "quickstart.yaml"
    assert run_spec(spec).items[0].status == "done"
    again = run_spec(spec)
    assert [i.status for i in again.items] == ["skipped"] and "unchanged since run" in again.items[0].reason
    assert cli("state", "clear", "--yes", str(spec)).exit_code == 0
    assert run_spec(spec).items[0].status == "done"
