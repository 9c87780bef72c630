"""Steps against the emulator: create a location, then update it by the id the create answered with."""

from __future__ import annotations

import json
from pathlib import Path

from engine.runtime.records import RecordLog
from tests.targets.fluent._support import connection, rejects, write_csv

ROWS = 6


def chain_spec(emu, tmp_path: Path, *, rows: list[list[str]]) -> Path:
    write_csv(
        tmp_path / "in" / "locations.csv",
        ["ref", "name", "floor", "phone"],
        [[*r, *[""] * (4 - len(r))] for r in rows],
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"""
version: 1
name: chain
{connection(emu)}
source: {{type: local, path: in}}
parser: {{type: csv}}
steps:
  - name: create
    mapping:
      fields:
        ref: {{source: ref}}
        name: {{value: Draft}}
        type: {{value: STORE}}
    target:
      type: fluent.graphql
      connection: fluent
      mutation: createLocation
      returning: "id ref"
      upsert: {{lookup: location, update: updateLocation, update_omit: [ref]}}
  - name: update
    mapping:
      fields:
        id: {{source: $steps.create.answer.id, required: true}}
        name: {{source: name}}
        defaultCarrier: {{source: floor, pattern: "[0-9]+"}}
        supportPhoneNumber: {{expr: "to_number(record.phone)"}}
    target: {{type: fluent.graphql, connection: fluent, mutation: updateLocation, idempotent: true}}
  - name: undo
    after: failed
    mapping:
      fields:
        ref: {{source: ref}}
        created: {{source: $steps.create.answer.id}}
    target: {{type: file, writer: jsonl, destination: {{type: local, path: undo}}, name: "undo-{{run_id}}.jsonl"}}
on_error: {{max_reject_ratio: 1}}
""")
    return spec


def locations(emu) -> dict[str, dict]:
    return {loc["ref"]: loc for loc in emu.state("locations") if loc["ref"].startswith("S-")}


def test_a_later_step_updates_what_the_earlier_step_created_by_its_answered_id(emu, tmp_path, run_spec):
    rows = [[f"S-{n}", f"Store {n}", str(n)] for n in range(ROWS)]
    log = RecordLog()  # the run's per-record results, as a webhook answer is built from them
    report = run_spec(chain_spec(emu, tmp_path, rows=rows), records=log)
    assert report.status == "ok", report.error
    found = locations(emu)
    assert sorted(found) == [f"S-{n}" for n in range(ROWS)]
    assert {ref: loc["name"] for ref, loc in found.items()} == {f"S-{n}": f"Store {n}" for n in range(ROWS)}
    assert report.routes["main.create"]["written"] == ROWS and report.routes["main.update"]["written"] == ROWS
    assert report.routes["main.undo"]["routed"] == 0 and not (tmp_path / "undo").exists()
    results = log.outcomes({i.uri for i in report.items})
    created = {r.answers["main.create"]["ref"]: r.answers["main.create"]["id"] for r in results}
    assert created == {ref: str(loc["id"]) for ref, loc in found.items()}  # each record's result holds its id
    assert [r.row for r in results if "main.update" in r.answers] == list(range(1, ROWS + 1))
    assert {r.status for r in results} == {"delivered"}


def test_a_step_that_fails_runs_the_compensating_step_and_its_reject_names_the_step(emu, tmp_path, run_spec):
    rows = [
        ["S-0", "Fine", "1"],
        ["S-1", "Bad floor", "first"],
        ["S-2", "Fine too", "2"],
        ["S-3", "Phone", "3", "5"],
    ]
    spec = chain_spec(emu, tmp_path, rows=rows)
    report = run_spec(spec)
    found = locations(emu)
    assert found["S-0"]["name"] == "Fine" and found["S-1"]["name"] == "Draft"  # created, never updated
    assert found["S-2"]["name"] == "Fine too" and found["S-3"]["name"] == "Draft"
    (undo,) = (tmp_path / "undo").iterdir()
    assert [json.loads(line) for line in undo.read_text().splitlines()] == [
        {"ref": "S-1", "created": str(found["S-1"]["id"])},
        {"ref": "S-3", "created": str(found["S-3"]["id"])},
    ]
    bad, refused = rejects(report)
    assert refused["route"] == "main" and refused["step"] == "update" and refused["stage"] == "target"
    assert refused["lineage"]["row"] == 4 and "supportPhoneNumber" in refused["reasons"][0]
    assert refused["response"]["errors"][0]["extensions"]["code"] == "C0140E"  # the target's answer
    assert bad["route"] == "main" and bad["step"] == "update" and bad["stage"] == "mapping"
    assert bad["lineage"]["file"] == "locations.csv" and bad["lineage"]["row"] == 2
    assert bad["original"]["$steps"]["create"]["answer"]["id"] == str(found["S-1"]["id"])
    assert report.routes["main.update"]["rejected"] == {"mapping": 1, "target": 1, "total": 2}
    assert report.routes["main.undo"]["written"] == 2

    # the fixed row replayed to the update step alone: the answer it needs travels in the reject
    fixed = tmp_path / "fixed.jsonl"
    bad["original"]["floor"] = "7"
    fixed.write_text(json.dumps(bad) + "\n")
    again = run_spec(spec, replay=fixed, route="main", step="update")
    assert again.status == "ok", again.error
    assert locations(emu)["S-1"]["name"] == "Bad floor"
    assert again.routes["main.update"]["written"] == 1 and again.routes["main.create"]["routed"] == 0


def test_a_later_step_reads_the_event_s_id_and_status(emu, tmp_path, run_spec):
    write_csv(tmp_path / "in" / "products.csv", ["sku"], [["P-1"], ["P-2"]])
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"""
version: 1
name: event-then-log
{connection(emu)}
source: {{type: local, path: in}}
parser: {{type: csv}}
steps:
  - name: notify
    mapping: {{fields: {{ref: {{source: sku}}}}}}
    target:
      type: fluent.event
      connection: fluent
      mode: sync
      attributes: $record
      event: {{name: UPSERT_PRODUCT, entityType: PRODUCT_CATALOGUE, entityRef: "PC:MASTER:1",
               rootEntityType: PRODUCT_CATALOGUE, rootEntityRef: "PC:MASTER:1"}}
  - name: log
    mapping:
      fields:
        sku: {{source: sku}}
        event: {{source: $steps.notify.answer.id}}
        status: {{source: $steps.notify.answer.status}}
    target: {{type: file, writer: jsonl, destination: {{type: local, path: out}}, name: "log.jsonl"}}
""")
    report = run_spec(spec)
    assert report.status == "ok", report.error
    logged = [json.loads(line) for line in (tmp_path / "out" / "log.jsonl").read_text().splitlines()]
    ids = {e["id"] for e in emu.state("events") if e["name"] == "UPSERT_PRODUCT"}
    assert [r["sku"] for r in logged] == ["P-1", "P-2"]
    assert {r["event"] for r in logged} == ids and len(ids) == 2
    assert {r["status"] for r in logged} == {"COMPLETE"}


def test_plan_prints_a_step_s_requests_and_sends_nothing(emu, tmp_path, run_spec):
    import io

    spec = chain_spec(emu, tmp_path, rows=[["S-7", "Seven", "7"]])
    text = spec.read_text()
    spec.write_text(text[: text.index("  - name: update")] + "on_error: {max_reject_ratio: 1}\n")
    out = io.StringIO()
    report = run_spec(spec, plan="text", out=out)
    assert report.error is None, report.error
    assert "createLocation" in out.getvalue() and "S-7" in out.getvalue()
    assert "S-7" not in locations(emu)  # nothing was sent
