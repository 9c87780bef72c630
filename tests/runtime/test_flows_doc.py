"""docs/flows.md: every example compiles, every option is in a table with its default, quoted diagnostics are real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.spec import sections
from engine.spec.compile import compile_document
from engine.spec.loader import load_text

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "flows.md").read_text()
EXAMPLES = [b for b in re.findall(r"```yaml\n(.*?)```", DOC, re.DOTALL) if b.startswith("version: 1")]


def test_the_page_has_its_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("text", EXAMPLES, ids=[re.search(r"name: (\S+)", t).group(1) for t in EXAMPLES])
def test_every_example_compiles(text: str, tmp_path: Path) -> None:
    plan = compile_document(load_text(text, str(tmp_path / "example.yaml"), base_dir=tmp_path))
    assert plan.routes is not None and plan.target is None
    plan.close()


@pytest.mark.parametrize(
    ("schema", "option"),
    [(sections.ROUTE, o) for o in sections.ROUTE["properties"] if o != "steps"]
    + [(sections.STEP, o) for o in sections.STEP["properties"]]
    + [(sections.SKELETON, "routing")],
)
def test_every_option_has_a_row_with_its_default(schema: dict, option: str) -> None:
    rows = [line for line in DOC.splitlines() if line.startswith(f"| `{option}` |")]
    assert rows, f"{option} has no row"
    default = schema["properties"][option].get("default")
    if default is not None:
        shown = str(default).lower() if isinstance(default, bool) else default
        assert any(f"`{shown}`" in row for row in rows)


def test_the_quoted_diagnostics_are_what_validation_says() -> None:
    expected = (ROOT / "tests" / "spec" / "invalid" / "steps.expected").read_text().splitlines()
    quoted = [line for line in DOC.splitlines() if line.startswith("steps.yaml:")]
    assert quoted and all(line in expected for line in quoted)


def test_the_tested_example_passes_its_own_tests(tmp_path: Path) -> None:
    from engine.testing.spec_tests import run_case

    [text] = [t for t in EXAMPLES if "tests:" in t]
    plan = compile_document(load_text(text, str(tmp_path / "example.yaml"), base_dir=tmp_path))
    results = [run_case(plan, case) for case in plan.tests]
    assert [(r.ok, r.problems) for r in results] == [(True, [])]
    wrong = {**plan.tests[0], "steps": {"create": {"answer": {"id": "L-8"}}}}
    assert not run_case(plan, wrong).ok
    assert run_case(plan, {**plan.tests[0], "step": "crate"}).problems == [
        "route main has no step 'crate' (steps: create, update)"
    ]


def test_a_case_of_a_later_route_sees_only_the_records_a_run_would_send_it(tmp_path: Path) -> None:
    from engine.testing.spec_tests import run_case

    [text] = [t for t in EXAMPLES if "name: asn-lines" in t]
    plan = compile_document(load_text(text, str(tmp_path / "example.yaml"), base_dir=tmp_path))
    lines = [
        {"type": "XD", "asn": "A-1", "sku": "S1", "location": "L1", "qty": "2"},
        {"type": "ST", "asn": "A-1", "sku": "S2", "location": "L1", "qty": "3"},
    ]
    receipt = {"name": "otherwise", "route": "receipt", "input": lines}
    expected = [{"locationRef": "L1", "skuRef": "S2", "qty": 3, "type": "DELTA"}]
    assert run_case(plan, {**receipt, "expect": expected}).ok, "the cross-dock line is the other route's"
    crossdock = {
        "name": "first",
        "route": "crossdock",
        "input": lines,
        "expect": [{"ref": "A-1", "sku": "S1"}],
    }
    assert run_case(plan, crossdock).ok
    plan.close()


def test_a_case_of_a_step_sees_only_the_records_its_when_and_after_take(tmp_path: Path) -> None:
    from engine.testing.spec_tests import run_case

    text = """\
version: 1
name: releases
connections:
  fluent: {type: fluent, base_url: embedded}
source: {type: local, path: inbox}
parser: {type: jsonl}
steps:
  - name: release
    when: "date_diff(now(), record.endsAt) >= `0`"
    mapping:
      fields:
        ref: {source: ref}
    target:
      type: fluent.event
      connection: fluent
      event: {name: Released, entityType: INVENTORY_QUANTITY, entityRef: "{ref}",
              rootEntityType: INVENTORY_CATALOGUE, rootEntityRef: "DEFAULT:1"}
  - name: review
    after: failed
    mapping: {fields: {ref: {source: ref}}}
    target: {type: file, writer: jsonl, destination: {type: local, path: out}, name: "r-{run_id}.jsonl"}
"""
    plan = compile_document(load_text(text, str(tmp_path / "releases.yaml"), base_dir=tmp_path))
    held = [
        {"ref": "R-1", "endsAt": "2026-01-05T21:00:00Z"},
        {"ref": "R-2", "endsAt": "2099-01-01T00:00:00Z"},
    ]
    ended = {"name": "ended", "input": held, "expect": [{"ref": "R-1"}]}
    assert run_case(plan, ended).ok, run_case(plan, ended).problems
    review = {"name": "review", "step": "review", "input": held}
    assert run_case(plan, {**review, "expect": []}).ok, (
        "no earlier step failed: the review step takes nothing"
    )
    failed = {"release": {"outcome": "failed"}}
    assert run_case(plan, {**review, "steps": failed, "expect": [{"ref": "R-1"}, {"ref": "R-2"}]}).ok
    plan.close()
