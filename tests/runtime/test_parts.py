"""A large file read in parts by several workers: one file in the report, its own row numbers, exact after a crash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from engine.emulator import Emulator

SPEC = """
version: 1
name: parts
source: {type: local, path: inbox, pattern: "*.csv", on_success: {move_to: "processed/{name}"}}
parser: {type: csv, chunk_size: 500}
mapping: {fields: {sku: {source: sku, required: true}, qty: {source: qty, resolver: int}}}
target: {type: "null"}
on_error: {max_reject_ratio: 0.1}
executor: {type: processes, workers: 2, split_size: 30KB}
"""


def _big(path: Path, rows: int) -> list[int]:
    """A CSV with quoted newlines; returns the rows (file's own numbers) whose qty is bad."""
    lines, bad = ["sku,qty"], []
    for i in range(1, rows + 1):
        if i % 701 == 0:
            lines.append(f"S{i},ten")
            bad.append(i)
        elif i % 500 == 0:
            lines.append(f'"S{i}\nsecond line",{i}')
        else:
            lines.append(f"S{i},{i}")
    path.write_text("\n".join(lines) + "\n")
    return bad


def test_a_file_read_in_parts_is_one_file_in_the_report_with_its_own_row_numbers(tmp_path, write_spec, cli):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    bad = _big(inbox / "big.csv", 20000)
    (inbox / "small.csv").write_text("sku,qty\nA,1\n")
    spec = write_spec(SPEC)
    result = cli("run", str(spec), "--quiet", "--format", "json")
    report = json.loads(result.stdout)
    assert result.exit_code == 0, report
    big = [i for i in report["items"] if i["name"] == "big.csv"]
    assert len(big) == 1 and big[0]["status"] == "done" and big[0]["reason"].startswith("read in ")
    parts = int(big[0]["reason"].split()[2])
    assert parts >= 4 and report["target"]["workers"] == 2
    assert report["files"] == {"seen": 2, "done": 2, "failed": 0, "skipped": 0, "partial": 0}
    assert report["records"]["read"] == 20001 and report["records"]["rejected"]["mapping"] == len(bad)
    entries = [json.loads(x) for x in Path(report["rejects_path"]).read_text().splitlines()]
    assert sorted(e["lineage"]["row"] for e in entries) == bad, "the file's own rows"
    assert {e["lineage"]["uri"] for e in entries} == {(inbox / "big.csv").resolve().as_uri()}
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == ["big.csv", "small.csv"]
    again = json.loads(cli("run", str(spec), "--quiet", "--format", "json").stdout)
    assert again["files"]["seen"] == 0


DELTA = """
version: 1
name: parts-delta
connections: {fluent: %(conn)s}
source: {type: local, path: inbox, pattern: "*.csv", on_success: {move_to: "processed/{name}"}}
parser: {type: csv, chunk_size: 200}
mapping:
  fields: {locationRef: loc, skuRef: sku, qty: {source: qty, resolver: int}, type: {value: DELTA}}
target: {type: fluent.batch, connection: fluent, batch_size: 100, poll: {interval: 20ms}}
executor: %(executor)s
"""


def test_a_crash_in_the_middle_of_a_part_is_resumed_exactly_also_by_one_process(tmp_path) -> None:
    emu = Emulator(settings={"batch_polls_per_step": 1})
    emu.start()
    try:
        before = {(p["productRef"], p["locationRef"]): p["onHand"] for p in emu.state("inventory_positions")}
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        expected: Counter = Counter()
        lines = ["loc,sku,qty"]
        for i in range(6000):
            loc, sku, qty = f"LOC-00{1 + i % 5}", f"SKU-{1 + (i * 3) % 40:04d}", 1 + i % 7
            lines.append(f"{loc},{sku},{qty}")
            expected[(sku, loc)] += qty
        (inbox / "big.csv").write_text("\n".join(lines) + "\n")
        c = emu.credentials
        conn = json.dumps(
            {
                "type": "fluent",
                "base_url": emu.url,
                "client_id": c["client_id"],
                "client_secret": c["client_secret"],
                "username": c["username"],
                "password": c["password"],
                "retailer_id": "1",
            }
        )
        spec = tmp_path / "spec.yaml"
        state = tmp_path / "state"
        env = {**os.environ, "ENGINE_STATE_DIR": str(state)}
        spec.write_text(DELTA % {"conn": conn, "executor": "{type: processes, workers: 2, split_size: 20KB}"})
        # every worker process dies at its 7th batch: parts half delivered, one file, nothing moved
        crashed = subprocess.run(
            [sys.executable, "-m", "engine", "run", str(spec), "--quiet", "--format", "json"],
            env={**env, "ENGINE_FAILPOINTS": "batch.after_checkpoint=7"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert crashed.returncode == 1, crashed.stdout[-2000:]
        assert (inbox / "big.csv").exists()
        # the rest is read by one process: the stored parts are reused, none delivered twice
        spec.write_text(DELTA % {"conn": conn, "executor": "{type: local}"})
        done = subprocess.run(
            [sys.executable, "-m", "engine", "run", str(spec), "--quiet", "--format", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        report = json.loads(done.stdout)
        assert done.returncode == 0, report
        assert report["items"][0]["reason"].startswith("read in "), "the stored parts, in one process"
        after = {(p["productRef"], p["locationRef"]): p["onHand"] for p in emu.state("inventory_positions")}
        for key, delta in expected.items():
            assert after[key] == before.get(key, 0) + delta, (
                f"{key} off by {after[key] - before.get(key, 0) - delta}"
            )
        assert (inbox / "processed" / "big.csv").exists()
    finally:
        emu.stop()
