"""explode: one record per element of a nested list, with fields of its parent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import SpecError
from engine.spec.compile import compile_file

SPEC = """
version: 1
name: lines
source: {type: local, path: inbox, pattern: "*.json"}
parser: {type: json, records: orders}
explode:
  path: lines
  parent: {orderRef: ref, placed: date}
mapping:
  fields:
    ref: {expr: "join('-', [record.orderRef, record.sku])"}
    orderRef: {source: orderRef, required: true}
    placed: {source: placed}
    qty: {source: qty, resolver: int}
target: {type: file, writer: jsonl, destination: {type: local, path: out}, name: out.jsonl}
on_error: {max_reject_ratio: 1}
"""

ORDERS = {
    "orders": [
        {"ref": "O1", "date": "2026-01-02", "lines": [{"sku": "A", "qty": "1"}, {"sku": "B", "qty": "2"}]},
        {"ref": "O2", "date": "2026-01-03", "lines": []},
        {"ref": "O3", "date": "2026-01-04", "lines": {"sku": "C", "qty": "x"}},
    ]
}


def test_each_line_is_a_record_with_its_orders_fields(tmp_path: Path, write_spec, run_spec) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "orders.json").write_text(json.dumps(ORDERS))
    report = run_spec(write_spec(SPEC))
    out = [json.loads(x) for x in (tmp_path / "out" / "out.jsonl").read_text().splitlines()]
    assert out == [
        {"ref": "O1-A", "orderRef": "O1", "placed": "2026-01-02", "qty": 1},
        {"ref": "O1-B", "orderRef": "O1", "placed": "2026-01-02", "qty": 2},
    ]
    entries = [json.loads(x) for x in Path(report.rejects_path).read_text().splitlines()]
    assert [(e["stage"], e["lineage"]["row"], e["lineage"]["at"]) for e in entries] == [
        ("parse", 3, "orders[1]"),
        ("mapping", 4, "orders[2] lines[0]"),
    ]
    assert entries[0]["reasons"] == ["no elements at lines to explode"]
    assert entries[1]["original"] == {"sku": "C", "qty": "x", "orderRef": "O3", "placed": "2026-01-04"}
    assert report.counts["read"] == 4


def test_a_csv_spec_cannot_explode(tmp_path: Path, write_spec) -> None:
    path = write_spec(SPEC.replace("parser: {type: json, records: orders}", "parser: {type: csv}"))
    with pytest.raises(SpecError) as caught:
        compile_file(path)
    assert [d.path for d in caught.value.diagnostics] == ["explode"]
