"""Crash consistency: SIGKILL at 20 points, rerun, and nothing is lost or applied twice.

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
        c = emu.credentials
        conn = json.dumps(
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
        spec = tmp_path / "spec.yaml"
        spec.write_text(SPEC % {"conn": conn, "batch": BATCH})
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
