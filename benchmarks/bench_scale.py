"""`make bench-scale`: items/s and rows/s with 1, 2 and 4 workers, printed as JSON lines.

Two workloads, each run as ``engine run`` in a fresh process over local
files into the ``null`` target (so the figures are the engine's own: listing,
claiming, parsing, mapping, state), with the state in SQLite or in a
PostgreSQL server (``--postgres DSN``):

* ``items``: many small CSV files (200 rows each), shared between workers;
* ``rows``: one large CSV file read in parts (``split_size``);
* ``latency``: CSV files into the ``http`` target, posting batches of 500 records one
  at a time (``concurrency: 1``) to a local server that answers each request after
  ``--latency`` (20 ms): a target slower than the engine, as real APIs are.

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
%(target)s
state:
  %(store)s
executor: %(executor)s
"""


HTTP_TARGET = """connections: {api: {type: http, base_url: "http://127.0.0.1:%d"}}
target: {type: http, connection: api, method: POST, path: /stock, body: batch, batch_size: 500, concurrency: 1, idempotent: true}"""


class SlowApi:
    """A local HTTP server that accepts every request after a fixed delay (threads: many at once)."""

    def __init__(self, delay: float) -> None:
        import http.server
        import threading
        import time

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                time.sleep(delay)
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


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
        target = HTTP_TARGET % args.api.port if kind == "latency" else 'target: {type: "null"}'
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
        spec.write_text(SPEC % {"store": store, "executor": executor, "target": target})
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
    parser.add_argument(
        "--latency", type=float, default=0.02, help="seconds the latency target takes per request"
    )
    parser.add_argument(
        "--latency-files", type=int, default=120, help="files (2,000 rows) of the latency workload"
    )
    parser.add_argument("--workloads", default="items,rows,latency")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="engine-bench-scale-"))
    try:
        (root / "data-items").mkdir()
        for n in range(args.files):
            write_csv(root / "data-items" / f"f{n:05d}.csv", 200, n * 200)
        (root / "data-rows").mkdir()
        write_csv(root / "data-rows" / "big.csv", args.rows)
        (root / "data-latency").mkdir()
        for n in range(args.latency_files):
            write_csv(root / "data-latency" / f"f{n:03d}.csv", 2000, n * 2000)
        args.api = SlowApi(args.latency)
        for kind in args.workloads.split(","):
            for workers in (int(w) for w in args.workers.split(",")):
                print(json.dumps(measure(kind, workers, args, root)), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
