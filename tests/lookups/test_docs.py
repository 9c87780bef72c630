"""docs/lookups.md: every example compiles, every common option is in the table with its default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.lookups.base import COMMON
from engine.spec.compile import compile_document
from engine.spec.loader import load_text

DOC = (Path(__file__).resolve().parents[2] / "docs" / "lookups.md").read_text()
EXAMPLES = [b for b in re.findall(r"```yaml\n(.*?)```", DOC, re.DOTALL) if b.startswith("version: 1")]


def test_the_page_has_its_examples() -> None:
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("text", EXAMPLES, ids=[re.search(r"name: (\S+)", t).group(1) for t in EXAMPLES])
def test_every_example_compiles(text: str, tmp_path: Path) -> None:
    plan = compile_document(load_text(text, str(tmp_path / "example.yaml"), base_dir=tmp_path))
    plan.close()


@pytest.mark.parametrize("option", sorted(COMMON))
def test_every_common_option_has_a_row_with_its_default(option: str) -> None:
    [row] = [line for line in DOC.splitlines() if line.startswith(f"| `{option}` |")]
    if "default" in COMMON[option]:
        assert f"`{COMMON[option]['default']}`" in row


def test_the_examples_tests_pass() -> None:
    from engine.testing.spec_tests import run_tests

    tested = [t for t in EXAMPLES if "\ntests:" in t]
    assert tested
    for text in tested:
        plan = compile_document(load_text(text, "example.yaml"))
        results = run_tests(plan)
        plan.close()
        assert results and all(r.ok for r in results), [r.problems for r in results]
