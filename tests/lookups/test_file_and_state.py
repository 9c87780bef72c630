"""Lookups from a file and from the state store, end to end through engine runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import SpecError
from engine.runtime.report import EXIT_FAILED, EXIT_OK, EXIT_REJECTS
from engine.spec.compile import compile_file

SPEC = """
version: 1
name: prices
source: {type: local, path: inbox, pattern: "*.csv"}
parser: {type: csv}
lookups:
  price:
    type: file
    path: prices.csv
    parser: {type: csv}
    key: sku
    match: SKU
    on_missing: %(on_missing)s
mapping:
  fields:
    ref:   {source: sku, required: true}
    price: {source: $lookup.price.PRICE, resolver: decimal}
    qty:   {source: qty, resolver: int}
target: {type: file, writer: jsonl, destination: {type: local, path: out}, name: "{run_id}.jsonl"}
on_error: {max_reject_ratio: 1}
"""


def outputs(tmp_path: Path) -> list[dict]:
    return [
        json.loads(line)
        for f in sorted((tmp_path / "out").glob("*.jsonl"))
        for line in f.read_text().splitlines()
    ]


def rejects(report) -> list[dict]:
    if not report.rejects_path:
        return []
    return [json.loads(line) for line in Path(report.rejects_path).read_text().splitlines()]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "prices.csv").write_text("SKU,PRICE\nA1,10.50\nB2,3.00\n")
    (tmp_path / "inbox" / "stock.csv").write_text("sku,qty\nA1,5\nZ9,1\nB2,2\n")
    return tmp_path


def test_a_record_reads_its_row_of_the_table_and_a_missing_key_is_a_reject_naming_lookup_and_key(
    files, write_spec, run_spec
) -> None:
    report = run_spec(write_spec(SPEC % {"on_missing": "reject"}))
    assert report.exit_code == EXIT_OK and report.status == "ok", report.error
    assert outputs(files) == [
        {"ref": "A1", "price": "10.50", "qty": 5},
        {"ref": "B2", "price": "3.00", "qty": 2},
    ]
    [entry] = rejects(report)
    assert entry["stage"] == "lookup" and entry["lineage"]["row"] == 2 and entry["original"]["sku"] == "Z9"
    assert entry["reasons"] == ["lookup price: no answer for key 'Z9'"]
    assert entry["errors"][0] == {
        "lookup": "price",
        "key": {"key": "Z9"},
        "answer": None,
        "message": "lookup price: no answer for key 'Z9'",
    }
    assert report.counts["rejected"]["lookup"] == 1
    assert report.lookups["price"]["found"] == 2 and report.lookups["price"]["not_found"] == 1
    assert report.lookups["price"]["rows"] == 2


@pytest.mark.parametrize(
    "policy,expected,skipped",
    [
        (
            '"null"',
            [
                {"ref": "A1", "price": "10.50", "qty": 5},
                {"ref": "Z9", "qty": 1},
                {"ref": "B2", "price": "3.00", "qty": 2},
            ],
            0,
        ),
        ("skip", [{"ref": "A1", "price": "10.50", "qty": 5}, {"ref": "B2", "price": "3.00", "qty": 2}], 1),
    ],
)
def test_a_missing_key_reads_null_or_skips_the_record_when_asked(
    files, write_spec, run_spec, policy, expected, skipped
) -> None:
    report = run_spec(write_spec(SPEC % {"on_missing": policy}))
    assert report.exit_code == EXIT_OK and rejects(report) == []
    assert outputs(files) == expected
    assert report.counts["skipped_by_lookup"] == skipped


def test_a_duplicate_key_in_the_table_stops_the_run_naming_both_rows(files, write_spec, run_spec) -> None:
    (files / "prices.csv").write_text("SKU,PRICE\nA1,10.50\nB2,3.00\nA1,11.00\n")
    report = run_spec(write_spec(SPEC % {"on_missing": "reject"}))
    assert report.exit_code == EXIT_FAILED
    assert "key {'key': 'A1'} is in prices.csv:2 and again in prices.csv:4" in report.error
    assert (files / "inbox" / "stock.csv").exists(), "nothing was delivered; the file waits"


def test_a_mapping_reading_an_undeclared_lookup_fails_validation_with_a_suggestion(files, write_spec) -> None:
    path = write_spec((SPEC % {"on_missing": "reject"}).replace("$lookup.price.PRICE", "$lookup.prise.PRICE"))
    with pytest.raises(SpecError) as caught:
        compile_file(path)
    [d] = caught.value.diagnostics
    assert d.path == "mapping.fields.price.source"
    assert d.message == "$lookup.prise: no lookup of that name (did you mean 'price'?)"


STATE_SPEC = """
version: 1
name: channel
source: {type: local, path: inbox, pattern: "*.csv"}
parser: {type: csv}
lookups:
  last:
    type: state
    namespace: sent
    key: {sku: sku, loc: loc}
    on_missing: "null"
mapping:
  fields:
    sku: {source: sku}
    loc: {source: loc}
    qty: {source: qty, resolver: int}
    before: {source: $lookup.last.qty}
target: {type: file, writer: jsonl, destination: {type: local, path: out}, name: "{run_id}.jsonl"}
"""


def test_a_state_lookup_reads_values_the_connector_stored(tmp_path, write_spec, run_spec) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "stock.csv").write_text("sku,loc,qty\nA1,L1,5\nB2,L1,7\n")
    path = write_spec(STATE_SPEC)
    plan = compile_file(path)
    plan.state_store.open_for(tmp_path)
    plan.state_store.values_set("channel", "sent", {'["A1","L1"]': {"qty": 3}})
    plan.state_store.close()
    report = run_spec(path)
    assert report.exit_code == EXIT_OK, report.error
    assert outputs(tmp_path) == [
        {"sku": "A1", "loc": "L1", "qty": 5, "before": 3},
        {"sku": "B2", "loc": "L1", "qty": 7},
    ]


def test_every_key_part_must_be_present(tmp_path, write_spec, run_spec) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "stock.csv").write_text("sku,loc,qty\nA1,,5\n")
    report = run_spec(write_spec(STATE_SPEC.replace('on_missing: "null"', "on_missing: reject")))
    assert report.exit_code == EXIT_REJECTS
    [entry] = rejects(report)
    assert entry["reasons"] == ["lookup last: the key is empty for sku 'A1', loc ''"]


def test_an_unquoted_yaml_null_is_explained(files, write_spec) -> None:
    with pytest.raises(SpecError) as caught:
        compile_file(write_spec(SPEC % {"on_missing": "null"}))
    [d] = caught.value.diagnostics
    assert d.path == "lookups.price.on_missing" and 'write "null" in quotes' in d.message
