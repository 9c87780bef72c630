"""fluent.event with group: many records in one event (the bulk product upsert) against the emulator,
each record settled on its own: applied, rejected with its own row, or found in the event log."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.targets.fluent._support import connection, posts, rejects, write_csv


def spec(emu, tmp_path: Path, rows: list[list[str]], *, mode: str = "async", size: int = 3) -> str:
    write_csv(tmp_path / "in" / "products.csv", ["sku", "title", "catalogue"], rows)
    return f"""
version: 1
name: bulk-products
{connection(emu)}
source: {{type: local, path: in, pattern: "*.csv"}}
parser: {{type: csv}}
mapping:
  fields:
    ref:       {{source: sku}}
    name:      {{source: title}}
    type:      {{value: VARIANT}}
    catalogue: {{source: catalogue}}
target:
  type: fluent.event
  connection: fluent
  mode: {mode}
  concurrency: 1
  attributes: $record
  group: {{size: {size}, attribute: products}}
  reconcile: {{settle: 50ms}}
  event:
    name: UPSERT_PRODUCTS
    entityType: PRODUCT_CATALOGUE
    entityRef: "{{catalogue}}"
    rootEntityType: PRODUCT_CATALOGUE
    rootEntityRef: "{{catalogue}}"
on_error: {{max_reject_ratio: 1}}
"""


def rows(n: int, catalogue: str = "PC:MASTER:1") -> list[list[str]]:
    return [[f"BULK-{i:03d}", f"Bulk {i}", catalogue] for i in range(1, n + 1)]


def bulk_events(emu) -> list[dict]:
    return [e for e in emu.state("events") if e["name"] == "UPSERT_PRODUCTS"]


def created(emu) -> set[str]:
    return {p["ref"] for p in emu.state("products") if p["ref"].startswith("BULK-")}


def test_up_to_size_records_travel_as_one_event_holding_their_list(
    emu, tmp_path, write_spec, run_spec
) -> None:
    report = run_spec(write_spec(spec(emu, tmp_path, rows(7))))
    assert report.status == "ok", report.error
    assert report.counts["written"] == 7
    sent = posts(emu, "^/api/v4.1/event/async$")
    assert [len(r["json"]["attributes"]["products"]) for r in sent] == [3, 3, 1]
    assert [p["ref"] for p in sent[0]["json"]["attributes"]["products"]] == [
        "BULK-001",
        "BULK-002",
        "BULK-003",
    ]
    assert report.target["events"] == 3 and report.target["accepted"] == 7
    emu.tick()
    assert created(emu) == {f"BULK-{i:03d}" for i in range(1, 8)}


def test_records_with_different_event_fields_never_share_an_event(
    emu, tmp_path, write_spec, run_spec
) -> None:
    mixed = [*rows(2), ["BULK-900", "Other", "PC:OTHER:1"], ["BULK-003", "Bulk 3", "PC:MASTER:1"]]
    report = run_spec(write_spec(spec(emu, tmp_path, mixed)))
    assert report.status == "ok", report.error
    sent = posts(emu, "^/api/v4.1/event/async$")
    assert [(r["json"]["entityRef"], len(r["json"]["attributes"]["products"])) for r in sent] == [
        ("PC:MASTER:1", 2),
        ("PC:OTHER:1", 1),
        ("PC:MASTER:1", 1),
    ]


def test_a_failed_grouped_event_rejects_each_of_its_records_with_its_own_row(
    emu, tmp_path, write_spec, run_spec
) -> None:
    data = rows(6)
    data[4][0] = ""  # the second event holds a product without a ref: its workflow fails as a whole
    report = run_spec(write_spec(spec(emu, tmp_path, data, mode="sync")))
    assert report.status == "ok", report.error
    assert report.counts["written"] == 3 and report.counts["rejected"]["target"] == 3
    assert created(emu) == {"BULK-001", "BULK-002", "BULK-003"}
    entries = rejects(report)
    assert [e["lineage"]["row"] for e in entries] == [4, 5, 6]
    assert [e["response"]["group"] for e in entries] == [
        {"size": 3, "position": 1},
        {"size": 3, "position": 2},
        {"size": 3, "position": 3},
    ]
    assert entries[0]["reasons"][0].startswith("event FAILED: attributes.products[1].ref is required")
    assert entries[0]["reasons"][0].endswith("(record 1 of 3 in one grouped event)")
    assert [e["mapped"]["ref"] for e in entries] == ["BULK-004", "", "BULK-006"]


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_a_grouped_event_whose_answer_was_lost_is_found_in_the_log_and_not_resent(
    emu, tmp_path, write_spec, run_spec, mode
) -> None:
    emu.add_fault(
        {
            "match": {"method": "POST", "path_regex": "^/api/v4.1/event/"},
            "when": {"nth": 2},
            "action": {"status": 503, "after_commit": True},
        }
    )
    report = run_spec(write_spec(spec(emu, tmp_path, rows(6), mode=mode)))
    assert report.status == "ok" and report.counts["written"] == 6, report.error
    assert len(posts(emu, f"^/api/v4.1/event/{mode}$")) == 2
    assert len(bulk_events(emu)) == 2 and report.target["reconciled"] == 1


def test_a_killed_grouped_run_resumes_without_sending_a_product_twice(
    emu, tmp_path, run_spec, monkeypatch
) -> None:
    from tests.targets.fluent.test_resume import kill_when, start

    rows_total = 40
    path = tmp_path / "spec.yaml"
    text = spec(emu, tmp_path, rows(rows_total), mode="sync", size=4).replace(
        "concurrency: 1", "concurrency: 3"
    )
    path.write_text(text)
    # every event is applied, then its answer is lost: the events in flight at the kill were applied
    emu.add_fault(
        {
            "match": {"method": "POST", "path_regex": "^/api/v4.1/event/"},
            "action": {"hang": 0.2, "after_commit": True},
        }
    )

    def refs_sent() -> list[str]:
        return [p["ref"] for e in bulk_events(emu) for a in e["attributes"] or [] for p in a["value"]]

    state = tmp_path / "state"
    kill_when(start(path, state), lambda: len(bulk_events(emu)) >= 3, "3 grouped events")
    emu.clear_faults()
    monkeypatch.setenv("ENGINE_STATE_DIR", str(state))
    report = run_spec(path)
    assert report.status == "ok", report.error
    assert sorted(refs_sent()) == [f"BULK-{i:03d}" for i in range(1, rows_total + 1)]  # every product once
    (item,) = report.items
    assert report.counts["written"] == rows_total - (item.resumed_after or 0)
