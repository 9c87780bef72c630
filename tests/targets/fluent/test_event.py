"""fluent.event against the emulator over HTTP: outcomes, rejects with lineage, and faults
that must neither lose nor duplicate an event."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.targets.fluent._support import connection, posts, rejects, write_csv

PRODUCTS = [
    ["SKU-0001", "Tee renamed", "ACTIVE"],
    ["NEW-001", "New tee", "ACTIVE"],
    ["NEW-002", "Other tee", "INACTIVE"],
]


def product_spec(
    emu,
    tmp_path: Path,
    *,
    mode: str = "async",
    concurrency: int = 2,
    read_timeout: str = "10s",
    rows: list[list[str]] | None = None,
) -> str:
    write_csv(tmp_path / "in" / "products.csv", ["sku", "title", "status"], rows or PRODUCTS)
    return f"""
version: 1
name: products
{connection(emu, read_timeout=read_timeout)}
source: {{type: local, path: in, pattern: "*.csv"}}
parser: {{type: csv}}
mapping:
  fields:
    ref: {{source: sku, required: true}}
    name: {{source: title}}
    status: {{source: status}}
    type: {{value: VARIANT}}
target:
  type: fluent.event
  connection: fluent
  mode: {mode}
  concurrency: {concurrency}
  attributes: $record
  reconcile: {{settle: 50ms}}
  event:
    name: UPSERT_PRODUCT
    entityType: PRODUCT_CATALOGUE
    entitySubtype: MASTER
    entityRef: "PC:MASTER:{{$context.retailer_id}}"
    rootEntityType: PRODUCT_CATALOGUE
    rootEntityRef: "PC:MASTER:{{$context.retailer_id}}"
"""


def product_events(emu) -> list[dict]:
    return [e for e in emu.state("events") if e["name"] == "UPSERT_PRODUCT"]


def test_async_product_events_upsert_products(emu, tmp_path, write_spec, run_spec) -> None:
    report = run_spec(write_spec(product_spec(emu, tmp_path)))
    assert report.status == "ok", report.error
    assert report.counts["written"] == 3 and report.counts["rejected"]["total"] == 0
    assert report.target["events"] == 3 and report.target["accepted"] == 3
    assert emu.state("products", ref="NEW-001")[0]["name"] == "New tee"
    assert emu.state("products", ref="NEW-002")[0]["status"] == "INACTIVE"
    assert emu.state("products", ref="SKU-0001")[0]["name"] == "Tee renamed"
    sent = posts(emu, "^/api/v4.1/event/async$")
    assert len(sent) == 3
    body = next(r["json"] for r in sent if r["json"]["attributes"]["ref"] == "NEW-001")
    assert body == {
        "name": "UPSERT_PRODUCT",
        "entityType": "PRODUCT_CATALOGUE",
        "entitySubtype": "MASTER",
        "entityRef": "PC:MASTER:1",
        "rootEntityType": "PRODUCT_CATALOGUE",
        "rootEntityRef": "PC:MASTER:1",
        "retailerId": "1",
        "attributes": {"ref": "NEW-001", "name": "New tee", "status": "ACTIVE", "type": "VARIANT"},
    }


ORDERS = """\
version: 1
name: cancel
{connection}
source: {{type: local, path: in, pattern: "*.csv"}}
parser: {{type: csv}}
mapping:
  fields:
    ref: {{source: order}}
    attributes.reason: {{source: reason}}
target:
  type: fluent.event
  connection: fluent
  mode: sync
  concurrency: 1
  event: {{name: OrderCancel, entityType: ORDER, entityRef: "{{ref}}", rootEntityType: ORDER,
           rootEntityRef: "{{ref}}"}}
on_error: {{max_reject_ratio: 1}}
"""


def test_sync_failures_become_rejects_with_their_rows(emu, tmp_path, write_spec, run_spec) -> None:
    write_csv(
        tmp_path / "in" / "cancel.csv",
        ["order", "reason"],
        [
            ["ORD-1001", "customer"],
            ["ORD-9999", "typo"],
            ["ORD-1001", "twice"],
            ["ORD-1002", "stock"],
            ["", "no ref"],
        ],
    )
    report = run_spec(write_spec(ORDERS.format(connection=connection(emu))))
    assert report.status == "ok", report.error
    assert report.counts["written"] == 2
    assert report.counts["rejected"]["target"] == 3
    assert {o["ref"]: o["status"] for o in emu.state("orders") if o["ref"] in ("ORD-1001", "ORD-1002")} == {
        "ORD-1001": "CANCELLED",
        "ORD-1002": "CANCELLED",
    }
    by_line = {r["lineage"]["line"]: r for r in rejects(report)}
    assert sorted(by_line) == [3, 4, 6]
    assert "no workflow rule matched" in by_line[3]["reasons"][0] and by_line[3]["response"]["status"] == 404
    assert by_line[3]["mapped"] == {"ref": "ORD-9999", "attributes": {"reason": "typo"}}
    assert by_line[4]["reasons"][0].startswith("event FAILED: Order ORD-1001 is CANCELLED")
    assert "{ref} has no value" in by_line[6]["reasons"][0]
    assert len(posts(emu, "^/api/v4.1/event/sync$")) == 4  # the row without a ref was never sent


def test_an_invalid_event_is_rejected_and_the_rest_flow(emu, tmp_path, write_spec, run_spec) -> None:
    spec = product_spec(emu, tmp_path).replace("name: UPSERT_PRODUCT", 'name: "{eventName}"')
    spec = spec.replace(
        "    type: {value: VARIANT}\n", "    type: {value: VARIANT}\n    eventName: {source: ev}\n"
    )
    spec = spec.replace("attributes: $record", "attributes: $record\n  concurrency: 1").replace(
        "  concurrency: 2\n", ""
    )
    write_csv(
        tmp_path / "in" / "products.csv",
        ["sku", "title", "status", "ev"],
        [["A-1", "One", "ACTIVE", "UPSERT_PRODUCT"], ["A-2", "Two", "ACTIVE", "NoSuchEvent"]],
    )
    report = run_spec(write_spec(spec + "on_error: {max_reject_ratio: 1}\n"))
    assert report.counts["written"] == 1 and report.counts["rejected"]["target"] == 1
    (reject,) = rejects(report)
    assert reject["lineage"]["line"] == 3 and reject["response"]["status"] == 400
    assert "Fluent refused the event (400)" in reject["reasons"][0]


def test_429_with_retry_after_is_honoured(emu, tmp_path, write_spec, run_spec) -> None:
    emu.add_fault(
        {
            "match": {"method": "POST", "path_regex": "^/api/v4.1/event/"},
            "when": {"nth": 1},
            "action": {"status": 429, "headers": {"Retry-After": "1"}},
        }
    )
    report = run_spec(write_spec(product_spec(emu, tmp_path, concurrency=1)))
    assert report.status == "ok" and report.counts["written"] == 3
    sent = posts(emu, "^/api/v4.1/event/async$")
    assert [r["status"] for r in sent] == [429, 200, 200, 200]
    assert sent[1]["time"] >= sent[0]["time"]
    waited = _seconds(sent[1]["time"]) - _seconds(sent[0]["time"])
    assert waited >= 1.0, f"retried after {waited:.3f}s despite Retry-After: 1"
    assert len(product_events(emu)) == 3


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_503_before_commit_is_resent_once_checked(emu, tmp_path, write_spec, run_spec, mode) -> None:
    emu.add_fault(
        {
            "match": {"method": "POST", "path_regex": "^/api/v4.1/event/"},
            "when": {"times": 2},
            "action": {"status": 503, "html": True},
        }
    )
    report = run_spec(write_spec(product_spec(emu, tmp_path, mode=mode, concurrency=1)))
    assert report.status == "ok" and report.counts["written"] == 3
    assert len(product_events(emu)) == 3
    assert len(posts(emu, f"^/api/v4.1/event/{mode}$")) == 5
    assert report.target["reconciled"] == 0
    assert len(emu.requests(path="/api/v4.1/event")) >= 2  # the log was searched before each resend


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_503_after_commit_is_found_in_the_log_and_not_resent(
    emu, tmp_path, write_spec, run_spec, mode
) -> None:
    emu.add_fault(
        {
            "match": {"method": "POST", "path_regex": "^/api/v4.1/event/"},
            "when": {"nth": 2},
            "action": {"status": 503, "after_commit": True},
        }
    )
    report = run_spec(write_spec(product_spec(emu, tmp_path, mode=mode, concurrency=1)))
    assert report.status == "ok" and report.counts["written"] == 3
    assert len(posts(emu, f"^/api/v4.1/event/{mode}$")) == 3
    events = product_events(emu)
    assert len(events) == 3 and len({e["attributes"][0]["value"] for e in events}) == 3
    assert report.target["reconciled"] == 1


def test_a_hung_event_post_times_out_and_is_settled(emu, tmp_path, write_spec, run_spec) -> None:
    emu.add_fault(
        {
            "match": {"method": "POST", "path_regex": "^/api/v4.1/event/"},
            "when": {"nth": 1},
            "action": {"hang": 5},
        }
    )
    emu.add_fault(
        {
            "match": {"method": "POST", "path_regex": "^/api/v4.1/event/"},
            "when": {"nth": 3},
            "action": {"hang": 5, "after_commit": True},
        }
    )
    report = run_spec(
        write_spec(product_spec(emu, tmp_path, mode="sync", concurrency=1, read_timeout="1500ms"))
    )
    assert report.status == "ok", report.error
    assert report.counts["written"] == 3
    assert len(product_events(emu)) == 3
    assert report.target["reconciled"] == 1  # the one applied before hanging; the other was resent
    assert len(posts(emu, "^/api/v4.1/event/sync$")) == 4


def test_identical_events_are_each_sent_and_each_settled(emu, tmp_path, write_spec, run_spec) -> None:
    emu.add_fault(
        {
            "match": {"method": "POST", "path_regex": "^/api/v4.1/event/"},
            "when": {"every": 1},
            "action": {"status": 502, "after_commit": True},
        }
    )
    rows = [["SAME-1", "Same", "ACTIVE"], ["SAME-1", "Same", "ACTIVE"]]
    report = run_spec(write_spec(product_spec(emu, tmp_path, mode="sync", concurrency=1, rows=rows)))
    assert report.status == "ok" and report.counts["written"] == 2
    assert len(product_events(emu)) == 2 and report.target["reconciled"] == 2


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
