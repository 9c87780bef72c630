"""`make bench-scale`: items/s and rows/s with 1, 2 and 4 workers, printed as JSON lines.

Two workloads, each run as ``engine run`` in a fresh process over local
files into the ``null`` target (so the figures are the engine's own: listing,
claiming, parsing, mapping, state), with the state in SQLite or in a
PostgreSQL server (``--postgres DSN``):

* ``items``: many small CSV files (200 rows each), shared between workers;
* ``rows``: one large CSV file read in parts (``split_size``).

1 worker is the in-process default (``executor: {type: local}``); 2 and 4
are ``executor: {type: processes, workers: N}``. Each figure is the best of
``--repeat`` runs (the machine is shared), from the run's own report.

    python benchmarks/bench_scale.py
    python benchmarks/bench_scale.py --files 400 --rows 2000000 --postgres "host=... dbname=..."
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SPEC = """
version: 1
name: bench-scale
source: {type: local, path: inbox, pattern: "*.csv"}
parser: {type: csv}
mapping:
  fields:
    skuRef: {source: sku, required: true}
    locationRef: {source: location, required: true}
    qty: {source: qty, resolver: int}
target: {type: "null"}
state:
  %(store)s
executor: %(executor)s
"""


def write_csv(path: Path, rows: int, offset: int = 0) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write("sku,location,qty\n")
        for i in range(offset, offset + rows):
            f.write(f"SKU-{i % 5000:05d},LOC-{i % 40:03d},{i % 97}\n")


def run(spec: Path, state: Path) -> dict:
    env = {**os.environ, "ENGINE_STATE_DIR": str(state)}
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "run", str(spec), "--quiet", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    report = json.loads(proc.stdout)
    if report["status"] != "ok":
        raise SystemExit(f"run failed: {report.get('error')}")
    return report


def measure(kind: str, workers: int, args: argparse.Namespace, root: Path) -> dict:
    best = None
    for _ in range(args.repeat):
        work = root / f"{kind}-{workers}"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(root / f"data-{kind}", work / "inbox")
        split = f", split_size: {args.split}" if kind == "rows" else ""
        executor = "{type: local}" if workers == 1 else f"{{type: processes, workers: {workers}{split}}}"
        store = (
            f'store: {{type: postgres, dsn: "{args.postgres}", schema: bench_{kind}_{workers}}}'
            if args.postgres
            else "checkpoint: true"
        )
        if args.postgres:
            import psycopg

            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS bench_{kind}_{workers} CASCADE")
        spec = work / "spec.yaml"
        spec.write_text(SPEC % {"store": store, "executor": executor})
        report = run(spec, work / "state")
        seconds = report["seconds"]
        if best is None or seconds < best["seconds"]:
            best = {
                "workload": kind,
                "workers": workers,
                "store": "postgres" if args.postgres else "sqlite",
                "seconds": seconds,
                "items": report["files"]["done"],
                "rows": report["records"]["read"],
                "items_per_s": round(report["files"]["done"] / seconds, 1),
                "rows_per_s": round(report["records"]["read"] / seconds),
            }
    assert best is not None
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200, help="small files of the items workload")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the large file")
    parser.add_argument("--split", default="4MB", help="split_size for the large file")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--postgres", help="a DSN: keep the state in PostgreSQL instead of SQLite")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="engine-bench-scale-"))
    try:
        (root / "data-items").mkdir()
        for n in range(args.files):
            write_csv(root / "data-items" / f"f{n:05d}.csv", 200, n * 200)
        (root / "data-rows").mkdir()
        write_csv(root / "data-rows" / "big.csv", args.rows)
        for kind in ("items", "rows"):
            for workers in (int(w) for w in args.workers.split(",")):
                print(json.dumps(measure(kind, workers, args, root)), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
