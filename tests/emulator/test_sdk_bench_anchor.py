"""The SDK anchor of ``bench.py --compare-sdk`` reads and maps every row it is given.

``benchmarks/_sdk_anchor.mjs`` runs the public Fluent SDK (``make test-sdk-setup``)
over the bench CSV; the bench divides by its rows/s, so an anchor that read
nothing, or mapped nothing, would make the engine look infinitely fast.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.emulator.sdk_corpus import PACKAGE, SDK_PROJECT

ROOT = Path(__file__).resolve().parents[2]
ANCHOR = ROOT / "benchmarks" / "_sdk_anchor.mjs"
NODE = shutil.which("node")


def run_anchor(csv: Path, batch_size: int) -> dict:
    assert NODE, "node is not installed (the SDK tests need node 20 or later)"
    assert PACKAGE.is_dir(), "the Fluent SDK is not installed: run `make test-sdk-setup`"
    done = subprocess.run(
        [NODE, str(ANCHOR), str(SDK_PROJECT), str(csv), str(batch_size)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_anchor_reads_and_maps_every_row_with_the_bench_fields(tmp_path: Path) -> None:
    csv = tmp_path / "bench_7.csv"
    lines = ["sku,location,qty,status,updated,price"]
    lines.append(" sku-00042 ,loc-007,12,active,2026-03-04T05:06:00Z,9.50")
    lines += [f"sku-{i:05d},loc-{i:03d},{i},ACTIVE,2026-01-0{i}T00:00:00Z,{i}.25" for i in range(1, 7)]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")

    # batches of 3 over 7 rows: two full batches and a last short one must all be counted
    result = run_anchor(csv, batch_size=3)

    assert (result["rows"], result["mapped"], result["errors"]) == (7, 7, 0)
    assert result["seconds"] > 0
    assert result["first"] == {
        "skuRef": "SKU-00042",
        "locationRef": "LOC-007",
        "qty": 12,
        "status": "ACTIVE",
        "updatedOn": "2026-03-04T05:06:00.000Z",
        "price": 9.5,
        "ref": "SKU-00042:loc-007",
        "type": "LAST_ON_HAND",
    }
