"""The worked example of docs/architecture.md is a working plugin: registered, validated and run."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from engine.errors import SpecError
from engine.registry import build_registries
from engine.runtime.runner import Runner
from engine.spec.compile import compile_document
from engine.spec.loader import load_text

DOC = (Path(__file__).resolve().parent.parent / "docs" / "architecture.md").read_text(encoding="utf-8")


@pytest.fixture
def registries(tmp_path: Path, monkeypatch):
    code = re.search(r"~~~python\n(.*?)~~~", DOC, re.DOTALL)
    assert code, "docs/architecture.md lost its worked example"
    module_file = tmp_path / "tsv_example.py"
    module_file.write_text(code.group(1), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("tsv_example", module_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "tsv_example", module)
    spec.loader.exec_module(module)
    regs = build_registries(with_entry_points=False)
    regs.add_plugin(module.TsvParser, "docs/architecture.md")
    return regs


def test_the_documented_plugin_validates_and_runs(tmp_path: Path, registries, monkeypatch) -> None:
    monkeypatch.setenv("ENGINE_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "stock.tsv").write_text("sku\tqty\nA1\t5\nB2\t7\n", encoding="utf-8")
    text = """
version: 1
name: tsv-example
source: {type: local, path: in, pattern: "*.tsv"}
parser: {type: tsv, chunk_size: 1}
mapping:
  fields:
    skuRef: {source: sku, required: true}
    qty: {source: qty, resolver: int}
target: {type: file, writer: jsonl, destination: {type: local, path: out}, name: stock.jsonl}
"""
    plan = compile_document(
        load_text(text, str(tmp_path / "spec.yaml"), base_dir=tmp_path), registries=registries
    )
    report = Runner(plan).run()
    assert report.status == "ok", report.error
    lines = (tmp_path / "out" / "stock.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"skuRef": "A1", "qty": 5}, {"skuRef": "B2", "qty": 7}]


def test_its_options_are_checked_at_their_line(tmp_path: Path, registries) -> None:
    text = 'version: 1\nname: x\nsource: {type: local, path: in}\nparser: {type: tsv, chunk_size: 0}\ntarget: {type: "null"}\n'
    with pytest.raises(SpecError) as caught:
        compile_document(load_text(text, "x.yaml", base_dir=tmp_path), registries=registries)
    assert [d.render() for d in caught.value.diagnostics] == [
        "x.yaml:4:33 parser.chunk_size: 0 is too small (must be at least 1)"
    ]
