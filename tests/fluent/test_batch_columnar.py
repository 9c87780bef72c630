"""fluent.batch sends entities written from the mapping's columns: the same bytes as from the records."""

from __future__ import annotations

import json
from pathlib import Path

from engine.runtime.report import EXIT_OK

SPEC = """
version: 1
name: batch-columns
%(connections)s
source: {type: local, path: inbox, pattern: "*.csv"}
parser: {type: csv, quote: "~"}
mapping:
  columnar: %(columnar)s
  fields:
    locationRef: {source: loc, required: true, resolver: [trim, upper]}
    skuRef: {source: sku, required: true}
    qty: {source: qty, required: true, resolver: int}
    type: {source: type, default: LAST_ON_HAND}
    attributes.note: {source: note}
    attributes.none: {source: nosuch}
    %(more)s
target:
  type: fluent.batch
  connection: fluent
  batch_size: 7
  poll: {interval: 20ms, max_interval: 200ms}
on_error: {max_reject_ratio: 0.5}
state: {dedupe: none, lock: false}
"""

ROWS = [
    "loc,sku,qty,type,note",
    ' loc-001 ,SKU-0001,5,,a "quoted" note',
    "LOC-002,SKU-0002,0,LAST_ON_HAND,",
    "LOC-003,SKU-0003,-2,ADJUSTMENT,tab\there",
    "LOC-001,SKU-0004,7,,é and \\ backslash",
] + [f"LOC-00{1 + i % 5},SKU-{10 + i:04d},{i},," for i in range(20)]


def _run(
    tmp_path: Path, emulator, write_spec, run_spec, fluent_block, columnar: bool, more: str = ""
) -> tuple:
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / "stock.csv").write_text("\n".join(ROWS) + "\n")
    before = len(emulator.requests(method="POST", path_regex=r"/batch$"))
    spec = write_spec(
        SPEC % {"connections": fluent_block(), "columnar": str(columnar).lower(), "more": more},
        name=f"spec-{columnar}.yaml",
    )
    report = run_spec(spec)
    assert report.exit_code == EXIT_OK, report.error
    posts = emulator.requests(method="POST", path_regex=r"/batch$")[before:]
    return report, [p["body"] for p in posts]


def test_entities_from_columns_are_byte_for_byte_the_entities_from_records(
    tmp_path, emulator, write_spec, run_spec, fluent_block
):
    on, on_bodies = _run(tmp_path, emulator, write_spec, run_spec, fluent_block, True)
    off, off_bodies = _run(tmp_path, emulator, write_spec, run_spec, fluent_block, False)
    assert on.target["entities_from_columns"] == 24 and off.target["entities_from_columns"] == 0
    assert on_bodies == off_bodies and len(on_bodies) == 4
    first = json.loads(on_bodies[0])["entities"]
    assert first[0] == {
        "locationRef": "LOC-001",
        "skuRef": "SKU-0001",
        "qty": 5,
        "type": "LAST_ON_HAND",
        "attributes": {"note": 'a "quoted" note'},
        "retailerId": int(emulator.credentials["retailer_id"]),
    }
    assert first[1]["attributes"] == {"note": ""}
    assert first[3]["attributes"]["note"] == "é and \\ backslash"
    assert on.counts["written"] == off.counts["written"] == 23
    # the entity Fluent refused is in the rejects file as it was sent, retailer id included
    refused = [json.loads(x) for x in Path(on.rejects_path).read_text().splitlines()]
    assert [r["lineage"]["row"] for r in refused] == [3]
    assert refused[0]["mapped"]["retailerId"] == int(emulator.credentials["retailer_id"])
