"""A run killed while events or mutations are in flight: the next run resumes after the settled
prefix and settles what may have been sent before sending it, so nothing is applied twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.targets.fluent._support import connection, rejects, write_csv

ROWS = 40


def start(spec: Path, state: Path) -> subprocess.Popen:
    env = {**os.environ, "ENGINE_STATE_DIR": str(state)}
    return subprocess.Popen(
        [sys.executable, "-m", "engine", "run", str(spec)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_when(proc: subprocess.Popen, done, what: str) -> None:
    """SIGKILL ``proc`` as soon as ``done()`` holds (it must, while the run is still busy)."""
    deadline = time.monotonic() + 60
    while not done():
        assert proc.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def event_spec(emu, tmp_path: Path) -> Path:
    write_csv(tmp_path / "in" / "products.csv", ["sku"], [[f"R-{n:03d}"] for n in range(ROWS)])
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"""
version: 1
name: resume-events
{connection(emu)}
source: {{type: local, path: in}}
parser: {{type: csv}}
mapping:
  fields:
    ref: {{source: sku}}
    name: {{value: Resumed}}
target:
  type: fluent.event
  connection: fluent
  mode: sync
  concurrency: 3
  attributes: $record
  reconcile: {{settle: 50ms}}
  event: {{name: UPSERT_PRODUCT, entityType: PRODUCT_CATALOGUE, entityRef: "PC:MASTER:1",
           rootEntityType: PRODUCT_CATALOGUE, rootEntityRef: "PC:MASTER:1"}}
""")
    return spec


def product_events(emu) -> list[str]:
    return [
        a["value"]
        for e in emu.state("events")
        if e["name"] == "UPSERT_PRODUCT"
        for a in e["attributes"] or []
        if a["name"] == "ref"
    ]


def test_killed_event_run_resumes_without_sending_anything_twice(
    emu, tmp_path, run_spec, monkeypatch
) -> None:
    # every event is applied, then its answer is lost: in-flight events at the kill have all been applied
    emu.add_fault(
        {
            "match": {"method": "POST", "path_regex": "^/api/v4.1/event/"},
            "action": {"hang": 0.2, "after_commit": True},
        }
    )
    spec, state = event_spec(emu, tmp_path), tmp_path / "state"
    kill_when(start(spec, state), lambda: len(product_events(emu)) >= 12, "12 events")
    emu.clear_faults()
    monkeypatch.setenv("ENGINE_STATE_DIR", str(state))
    report = run_spec(spec)
    assert report.status == "ok", report.error
    sent = product_events(emu)
    assert sorted(sent) == [f"R-{n:03d}" for n in range(ROWS)]  # every row exactly once
    (item,) = report.items
    assert report.counts["written"] == ROWS - (item.resumed_after or 0)  # the settled prefix is skipped


def location_spec(emu, tmp_path: Path, *, upsert: bool) -> Path:
    write_csv(tmp_path / "in" / "locations.csv", ["ref"], [[f"K-{n:03d}"] for n in range(ROWS)])
    block = "  upsert: {lookup: location, update: updateLocation, update_omit: [ref]}\n" if upsert else ""
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"""
version: 1
name: resume-locations
{connection(emu)}
source: {{type: local, path: in}}
parser: {{type: csv}}
mapping:
  fields:
    ref: {{source: ref}}
    name: {{value: Resumed}}
    type: {{value: STORE}}
target:
  type: fluent.graphql
  connection: fluent
  mutation: createLocation
  aliases_per_request: 2
  concurrency: 2
{block}on_error: {{max_reject_ratio: 1}}
""")
    return spec


def created(emu) -> list[str]:
    return [loc["ref"] for loc in emu.state("locations") if loc["ref"].startswith("K-")]


def test_killed_upsert_run_resumes_and_settles_by_lookup(emu, tmp_path, run_spec, monkeypatch) -> None:
    emu.add_fault(
        {
            "match": {"path_regex": "^/graphql$", "graphql_root_field": "createLocation"},
            "action": {"hang": 0.2, "after_commit": True},
        }
    )
    spec, state = location_spec(emu, tmp_path, upsert=True), tmp_path / "state"
    kill_when(start(spec, state), lambda: len(created(emu)) >= 10, "10 locations")
    emu.clear_faults()
    monkeypatch.setenv("ENGINE_STATE_DIR", str(state))
    report = run_spec(spec)
    assert report.status == "ok", report.error
    assert sorted(created(emu)) == [f"K-{n:03d}" for n in range(ROWS)]
    assert report.counts["rejected"]["total"] == 0


def test_killed_create_run_never_resends_what_may_have_been_applied(
    emu, tmp_path, run_spec, monkeypatch
) -> None:
    emu.add_fault({"match": {"path_regex": "^/graphql$"}, "action": {"delay_ms": 100}})
    spec, state = location_spec(emu, tmp_path, upsert=False), tmp_path / "state"
    kill_when(start(spec, state), lambda: len(created(emu)) >= 10, "10 locations")
    emu.clear_faults()
    monkeypatch.setenv("ENGINE_STATE_DIR", str(state))
    report = run_spec(spec)
    assert report.status == "ok", report.error
    refused = [r for r in rejects(report)]
    assert refused and all(
        "interrupted run" in r["reasons"][0] for r in refused
    )  # never a duplicate (C0123E)
    settled = set(created(emu)) | {r["mapped"]["ref"] for r in refused}
    assert settled == {f"K-{n:03d}" for n in range(ROWS)}
