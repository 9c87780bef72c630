"""Crash consistency: SIGKILL at 20 points, rerun, and nothing is lost or applied twice.

The same holds for a routed file (a batch route and an event route, fanned out): each route
resumes after its own settled prefix, so no DELTA and no event is applied twice.

A multi-file DELTA inventory run (any record applied twice would change a
quantity) is killed at an exact moment — while parsing, just before or just
after a batch POST, between the POST and its checkpoint, while polling,
while moving files — and rerun until it completes. The emulator's inventory
must then equal the expected totals exactly and every input file must be in
processed/.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from engine.emulator import Emulator

FILES, ROWS, BATCH = 3, 120, 25

SPEC = """
version: 1
name: crash-test
connections:
  fluent: %(conn)s
source:
  type: local
  path: inbox
  pattern: "delta_*.csv"
  on_success: {move_to: "processed/{name}"}
  on_failure: {move_to: "errors/{name}"}
parser: {type: csv, chunk_size: 40}
mapping:
  fields:
    locationRef: {source: loc, required: true}
    skuRef: {source: sku, required: true}
    qty: {source: qty, required: true, resolver: int}
    type: {value: DELTA}
target:
  type: fluent.batch
  connection: fluent
  batch_size: %(batch)d
  max_in_flight: 3
  poll: {interval: 20ms, max_interval: 100ms}
"""

POINTS = [
    "chunk.done=1",
    "chunk.done=5",
    "batch.before_post=1",
    "batch.before_post=6",
    "batch.after_post=1",
    "batch.after_post=4",
    "batch.after_post=11",
    "batch.after_checkpoint=3",
    "batch.after_checkpoint=9",
    "batch.poll=2",
    "batch.poll=8",
    "batch.settled=1",
    "batch.settled=7",
    "batch.settled=14",
    "item.before_move=1",
    "item.before_move=3",
    "item.after_move=1",
    "item.after_move=2",
    "item.done=2",
    "random",
]


def _rows(f: int) -> list[tuple[str, str, int]]:
    return [
        (f"LOC-00{1 + (i + f) % 5}", f"SKU-{1 + (i * 3 + f) % 40:04d}", 1 + (i * 7 + f) % 9)
        for i in range(ROWS)
    ]


def _positions(emu: Emulator) -> dict[tuple[str, str], int]:
    return {(p["productRef"], p["locationRef"]): p["onHand"] for p in emu.state("inventory_positions")}


def _connection(emu: Emulator) -> str:
    c = emu.credentials
    return json.dumps(
        {
            "type": "fluent",
            "base_url": emu.url,
            "client_id": c["client_id"],
            "client_secret": c["client_secret"],
            "username": c["username"],
            "password": c["password"],
            "retailer_id": str(c["retailer_id"]),
            "retry": {"backoff": "50ms", "max_backoff": "500ms"},
        }
    )


def _run(spec: Path, state: Path, failpoint: str | None) -> int:
    env = {**os.environ, "ENGINE_STATE_DIR": str(state)}
    env.pop("ENGINE_FAILPOINTS", None)
    if failpoint and failpoint != "random":
        env["ENGINE_FAILPOINTS"] = failpoint
    cmd = [sys.executable, "-m", "engine", "run", str(spec), "--quiet", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if failpoint == "random":
        time.sleep(1.2)  # mid-run, after imports, while batches flow
        proc.send_signal(signal.SIGKILL)
    proc.wait(120)
    return proc.returncode


@pytest.mark.parametrize("point", POINTS)
def test_killed_run_resumes_without_loss_or_duplicates(point: str, tmp_path: Path) -> None:
    emu = Emulator(settings={"batch_polls_per_step": 1})
    emu.start()
    try:
        before = _positions(emu)
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        expected = Counter()
        for f in range(FILES):
            lines = ["loc,sku,qty"] + [f"{loc},{sku},{qty}" for loc, sku, qty in _rows(f)]
            (inbox / f"delta_{f}.csv").write_text("\n".join(lines) + "\n")
            for loc, sku, qty in _rows(f):
                expected[(sku, loc)] += qty
        spec = tmp_path / "spec.yaml"
        spec.write_text(SPEC % {"conn": _connection(emu), "batch": BATCH})
        state = tmp_path / "state"

        first = _run(spec, state, point)
        if point != "random":
            assert first == -signal.SIGKILL, f"the failpoint {point} was never reached"
        for _ in range(3):
            if _run(spec, state, None) == 0:
                break
        else:
            pytest.fail("the rerun did not complete")

        after = _positions(emu)
        for key, delta in expected.items():
            assert after[key] == before.get(key, 0) + delta, (
                f"{point}: {key} off by {after[key] - before.get(key, 0) - delta}"
            )
        assert sorted(p.name for p in (tmp_path / "inbox" / "processed").iterdir()) == [
            f"delta_{f}.csv" for f in range(FILES)
        ]
        assert not list(inbox.glob("delta_*.csv"))
    finally:
        emu.stop()


# --- routes: one file fanned out to a batch route and an event route --------------------------------

ROUTED = """
version: 1
name: crash-routes
connections:
  fluent: %(conn)s
source:
  type: local
  path: inbox
  pattern: "delta_*.csv"
  on_success: {move_to: "processed/{name}"}
parser: {type: csv, chunk_size: 40}
routing: all
routes:
  - name: stock
    mapping:
      fields:
        locationRef: {source: loc, required: true}
        skuRef: {source: sku, required: true}
        qty: {source: qty, required: true, resolver: int}
        type: {value: DELTA}
    target:
      type: fluent.batch
      connection: fluent
      batch_size: %(batch)d
      max_in_flight: 3
      poll: {interval: 20ms, max_interval: 100ms}
  - name: notify
    when: "record.qty != '0'"
    mapping:
      fields:
        ref: {source: ref}
    target:
      type: fluent.event
      connection: fluent
      mode: sync
      concurrency: 3
      attributes: $record
      reconcile: {settle: 50ms}
      event: {name: UPSERT_PRODUCT, entityType: PRODUCT_CATALOGUE, entityRef: "PC:MASTER:1",
              rootEntityType: PRODUCT_CATALOGUE, rootEntityRef: "PC:MASTER:1"}
"""

ROUTED_POINTS = [
    "chunk.done=1",
    "route.written=1",
    "route.written=2",
    "route.written=5",
    "batch.after_post=2",
    "batch.after_checkpoint=3",
    "batch.settled=2",
    "item.before_move=1",
    "item.after_move=1",
    "item.done=1",
    "random",
]


def _routed_refs(emu: Emulator) -> Counter[str]:
    return Counter(
        a["value"]
        for e in emu.state("events")
        if e["name"] == "UPSERT_PRODUCT"
        for a in e["attributes"] or []
        if a["name"] == "ref"
    )


@pytest.mark.parametrize("point", ROUTED_POINTS)
def test_killed_routed_run_resumes_each_route_after_its_own_settled_prefix(
    point: str, tmp_path: Path
) -> None:
    emu = Emulator(settings={"batch_polls_per_step": 1})
    emu.start()
    try:
        before = _positions(emu)
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        expected: Counter[tuple[str, str]] = Counter()
        refs = []
        for f in range(2):
            rows = _rows(f)[:80]
            lines = ["loc,sku,qty,ref"] + [
                f"{loc},{sku},{qty},R-{f}-{i:03d}" for i, (loc, sku, qty) in enumerate(rows)
            ]
            (inbox / f"delta_{f}.csv").write_text("\n".join(lines) + "\n")
            refs += [f"R-{f}-{i:03d}" for i in range(len(rows))]
            for loc, sku, qty in rows:
                expected[(sku, loc)] += qty
        spec = tmp_path / "spec.yaml"
        spec.write_text(ROUTED % {"conn": _connection(emu), "batch": BATCH})
        state = tmp_path / "state"

        first = _run(spec, state, point)
        if point != "random":
            assert first == -signal.SIGKILL, f"the failpoint {point} was never reached"
        for _ in range(3):
            if _run(spec, state, None) == 0:
                break
        else:
            pytest.fail("the rerun did not complete")

        after = _positions(emu)
        for key, delta in expected.items():  # the batch route applied every DELTA once
            assert after[key] == before.get(key, 0) + delta, f"{point}: {key} off"
        sent = _routed_refs(emu)  # the event route sent every event once
        assert sorted(sent) == sorted(refs) and set(sent.values()) == {1}, f"{point}: events {sent}"
        assert sorted(p.name for p in (inbox / "processed").iterdir()) == ["delta_0.csv", "delta_1.csv"]
    finally:
        emu.stop()


# --- steps: create a location, then update it by the id the create answered with ---------------------

CHAIN = """
version: 1
name: crash-steps
connections:
  fluent: %(conn)s
source:
  type: local
  path: inbox
  pattern: "loc_*.csv"
  on_success: {move_to: "processed/{name}"}
parser: {type: csv, chunk_size: 10}
steps:
  - name: create
    mapping:
      fields:
        ref: {source: ref}
        name: {value: Draft}
        type: {value: STORE}
    target:
      type: fluent.graphql
      connection: fluent
      mutation: createLocation
      returning: "id ref"
      aliases_per_request: 3
      upsert: {lookup: location, update: updateLocation, update_omit: [ref]}
  - name: update
    mapping:
      fields:
        id: {source: $steps.create.answer.id, required: true}
        name: {source: name}
    target:
      type: fluent.graphql
      connection: fluent
      mutation: updateLocation
      aliases_per_request: 3
      idempotent: true
"""

#: step.done passes: 1 after the first chunk's creates, 2 after its updates, 3 after the second chunk's creates ...
CHAIN_POINTS = [
    "step.done=1",
    "step.done=2",
    "step.done=3",
    "step.done=6",
    "route.written=1",
    "route.written=4",
    "item.before_move=1",
    "item.done=1",
    "random",
]


def _mutations(emu: Emulator, name: str) -> Counter[str]:
    """How many times each location (by ref for creates, by id for updates) was sent in ``name`` mutations."""
    sent: Counter[str] = Counter()
    for r in emu.requests(path_regex="^/graphql$"):
        body = r.get("json") or {}
        if r["method"] != "POST" or f"{name}(" not in str(body.get("query")):
            continue
        for value in (body.get("variables") or {}).values():
            if isinstance(value, dict):
                sent[str(value.get("ref") if name == "createLocation" else value.get("id"))] += 1
    return sent


@pytest.mark.parametrize("point", CHAIN_POINTS)
def test_killed_chain_resumes_each_step_after_its_own_settled_prefix(point: str, tmp_path: Path) -> None:
    emu = Emulator()
    emu.start()
    try:
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        refs = {f"C-{f}-{i:02d}": f"Store {f}/{i}" for f in range(2) for i in range(30)}
        for f in range(2):
            rows = [f"{ref},{name}" for ref, name in refs.items() if ref.startswith(f"C-{f}-")]
            (inbox / f"loc_{f}.csv").write_text("ref,name\n" + "\n".join(rows) + "\n")
        spec = tmp_path / "spec.yaml"
        spec.write_text(CHAIN % {"conn": _connection(emu)})
        state = tmp_path / "state"

        first = _run(spec, state, point)
        if point != "random":
            assert first == -signal.SIGKILL, f"the failpoint {point} was never reached"
        for _ in range(3):
            if _run(spec, state, None) == 0:
                break
        else:
            pytest.fail("the rerun did not complete")

        found = [loc for loc in emu.state("locations") if loc["ref"].startswith("C-")]
        assert sorted(loc["ref"] for loc in found) == sorted(refs), f"{point}: every location exactly once"
        assert {loc["ref"]: loc["name"] for loc in found} == refs, f"{point}: every location updated"
        if point.startswith("step.done") or point.startswith("item."):
            # killed between steps: nothing was in flight, so every step was applied exactly once
            assert set(_mutations(emu, "createLocation").values()) == {1}, point
            updates = _mutations(emu, "updateLocation")
            assert sorted(updates) == sorted(str(loc["id"]) for loc in found) and set(updates.values()) == {
                1
            }, point
        assert sorted(p.name for p in (inbox / "processed").iterdir()) == ["loc_0.csv", "loc_1.csv"]
    finally:
        emu.stop()
