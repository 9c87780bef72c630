"""`make bench`: throughput and peak memory of real runs, printed as JSON lines.

Generates a deterministic inventory CSV (columns sku,location,qty,status,
updated,price), runs a connector over it in a fresh process, and reads the
run's duration from its JSON report and the process's peak RSS from the
kernel (wait4). Each size runs in its own process so peak memory is its own.

    python benchmarks/bench.py                    # csv mode at 100k and 1M rows
    python benchmarks/bench.py --rows 5000000     # one size
    python benchmarks/bench.py --mode fluent      # through fluent.batch to the emulator
    python benchmarks/bench.py --compare-sdk      # also the Fluent SDK on the same file (make bench-sdk)
    python benchmarks/bench.py --mode parquet     # through the file target to Parquet (a temp folder)
    python benchmarks/bench.py --mode jsonl       # the same rows as JSON Lines (objects of text), parse + map

Each size runs on both mapping paths (``"path": "columnar"``: Arrow columns,
``mapping.columnar: true``, the default; ``"path": "row"``: row by row), and
csv mode adds ``"mode": "pyarrow"``: pyarrow alone reading the same file and
computing the same fields (``_pyarrow_ref.py``), the limit to measure against.
``--path`` runs one path only. ``cpu_seconds`` is the engine process's own
user + system time (``wait4``), ``load`` the machine's load average when the
run ended: figures on a shared machine are only as good as that.

``--compare-sdk`` (csv mode) adds ``"mode": "sdk"``: the public Fluent SDK
(``CSVParserService`` streaming the file, ``UniversalMapper`` with the same
eight fields, ``_sdk_anchor.mjs``) under node on the largest size's file, with
its peak RSS from ``wait4``, and a line with the ratio of the engine's
columnar rows/s to the SDK's. The SDK is the one ``make test-sdk-setup``
installs (exact version and hashes from ``tests/emulator/sdk``); the bench
runs that target when it is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".bench"
SPECS = {
    "csv": ROOT / "benchmarks" / "bench_csv.yaml",
    "fluent": ROOT / "benchmarks" / "bench_fluent.yaml",
    "parquet": ROOT / "benchmarks" / "bench_parquet.yaml",
    "jsonl": ROOT / "benchmarks" / "bench_jsonl.yaml",
}
STATUSES = ("ACTIVE", "active", "INACTIVE", "Active")
SDK_FOLDER = ROOT / "tests" / "emulator" / "sdk"


def generate(rows: int) -> Path:
    """The CSV for ``rows`` rows (made once, reused)."""
    folder = DATA / f"rows-{rows}-v2"
    path = folder / f"bench_{rows}.csv"
    if path.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write("sku,location,qty,status,updated,price\n")
        block = []
        for i in range(rows):
            block.append(
                f" sku-{1 + i % 50000:05d} ,loc-{1 + (i * 7) % 300:03d},{i % 1000},{STATUSES[i % 4]},"
                f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z,{i % 1000}.{i % 100:02d}\n"
            )
            if len(block) == 10000:
                f.write("".join(block))
                block = []
        f.write("".join(block))
    tmp.replace(path)
    return folder


def generate_jsonl(rows: int) -> Path:
    """The CSV's rows as JSON Lines, one object of text per row in the header's key order (made once)."""
    import csv

    folder = generate(rows)
    path = folder / f"bench_{rows}.jsonl"
    if path.exists():
        return folder
    tmp = path.with_suffix(".partial")
    with open(folder / f"bench_{rows}.csv", encoding="utf-8", newline="") as src, open(tmp, "w") as out:
        for row in csv.DictReader(src):
            out.write(json.dumps(row, separators=(",", ":")) + "\n")
    tmp.replace(path)
    return folder


class EmulatorProcess:
    """``engine emulator`` in its own process, so it does not share the engine's CPU time slices.

    Batches complete when they are received (as a real Fluent cluster has long
    finished a batch by the time it is polled), so the bench measures the engine
    rather than the emulator's step-by-step batch progression.
    """

    def __enter__(self) -> str:
        seed = ROOT / "benchmarks" / "emulator_seed.yaml"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "engine",
                "emulator",
                "--port",
                "0",
                "--seed",
                str(seed),
                "--setting",
                "request_log_limit=1000",
                "--setting",
                "batch_complete_on_receipt=true",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if "listening on" in line:
                return line.split("listening on", 1)[1].split()[0]
        raise SystemExit("the emulator did not start")

    def cpu_seconds(self) -> float:
        """User + system CPU the emulator has used so far (from /proc)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)


PATHS = {"columnar": "true", "row": "false"}


def run_once(mode: str, rows: int, path: str = "columnar") -> dict:
    folder = generate_jsonl(rows) if mode == "jsonl" else generate(rows)
    columnar = ["--set", f"mapping.columnar={PATHS[path]}"]
    if mode == "fluent":
        emulator = EmulatorProcess()
        with emulator as url:
            before = emulator.cpu_seconds()
            result = _run(mode, rows, folder, ["--set", f"connections.fluent.base_url={url}", *columnar])
            result["emulator_cpu_seconds"] = round(emulator.cpu_seconds() - before, 2)
    else:
        result = _run(mode, rows, folder, columnar)
    result = {"mode": mode, "path": path, **result}
    result["cpu_seconds_per_million"] = round(result["cpu_seconds"] * 1_000_000 / max(1, result["rows"]), 2)
    result["load"] = os.getloadavg()[0]
    return result


def pyarrow_reference(rows: int) -> dict:
    """pyarrow alone on the same file and fields, in its own process."""
    folder = generate(rows)
    with tempfile.TemporaryDirectory(prefix="engine-bench-") as tmp:
        out = Path(tmp) / "ref.json"
        script = ROOT / "benchmarks" / "_pyarrow_ref.py"
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(script), str(folder / f"bench_{rows}.csv"), str(out)])
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit("the pyarrow reference failed")
        data = json.loads(out.read_text())
    return {
        "mode": "pyarrow",
        "rows": data["rows"],
        "seconds": round(data["seconds"], 3),
        "rows_per_s": round(data["rows"] / data["seconds"]),
        "peak_rss_mb": round(data["peak_kb"] / 1024, 1),
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "load": os.getloadavg()[0],
    }


def sdk_anchor(rows: int) -> dict:
    """The Fluent SDK parsing and mapping the same file under node, in its own process."""
    node = shutil.which("node")
    if node is None:
        raise SystemExit("--compare-sdk needs node 20 or later on PATH")
    if not (SDK_FOLDER / "node_modules" / ".package-lock.json").exists():
        subprocess.run(["make", "--no-print-directory", "test-sdk-setup"], cwd=ROOT, check=True)
    folder = generate(rows)
    script = ROOT / "benchmarks" / "_sdk_anchor.mjs"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [node, str(script), str(SDK_FOLDER), str(folder / f"bench_{rows}.csv")], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("the SDK anchor failed")
    data = json.loads(output.decode().strip().splitlines()[-1])
    if data["mapped"] != rows:
        raise SystemExit(f"the SDK anchor mapped {data['mapped']} of {rows} rows ({data['errors']} errors)")
    return {
        "mode": "sdk",
        "rows": data["rows"],
        "seconds": round(data["seconds"], 3),
        "rows_per_s": round(data["rows"] / data["seconds"]),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "load": os.getloadavg()[0],
    }


def _run(mode: str, rows: int, folder: Path, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="engine-bench-") as state:
        report = Path(state) / "report.json"
        peak_file = Path(state) / "peak"
        cmd = [
            sys.executable,
            str(ROOT / "benchmarks" / "_peak.py"),
            str(peak_file),
            "run",
            str(SPECS[mode]),
            "--quiet",
            "--log-level",
            "warning",
            "--set",
            f"source.path={folder}",
            "--report",
            str(report),
            *extra,
        ]
        if mode == "parquet":
            cmd += ["--set", f"target.destination.path={Path(state) / 'out'}"]
        env = {**os.environ, "ENGINE_STATE_DIR": state}
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _pid, status, usage = os.wait4(proc.pid, 0)
        cpu = usage.ru_utime + usage.ru_stime
        wall = time.perf_counter() - started
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        code = os.waitstatus_to_exitcode(status)
        if code != 0 or not report.exists():
            raise SystemExit(f"bench run failed (exit {code}):\n{stderr}")
        data = json.loads(report.read_text())
        peak_mb = int(peak_file.read_text()) / 1024
    seconds = data["seconds"]
    read = data["records"]["read"]
    return {
        "rows": read,
        "seconds": round(seconds, 3),
        "rows_per_s": round(read / seconds) if seconds else None,
        "peak_rss_mb": round(peak_mb, 1),
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 2),
        "written": data["records"]["written"],
        "rejected": data["records"]["rejected"]["total"],
        **({"target": data["target"]} if data.get("target") else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=sorted(SPECS), default="csv")
    parser.add_argument("--rows", type=int, action="append", help="row counts (default: 100000 and 1000000)")
    parser.add_argument(
        "--path", choices=sorted(PATHS), action="append", help="mapping paths (default: both)"
    )
    parser.add_argument(
        "--compare-sdk",
        action="store_true",
        help="also run the Fluent SDK on the largest size (csv mode) and print the ratio",
    )
    args = parser.parse_args()
    if args.compare_sdk and args.mode != "csv":
        parser.error("--compare-sdk runs in csv mode (parse + map), not with --mode fluent")
    sizes = args.rows or [100_000, 1_000_000]
    largest: dict[str, dict] = {}
    for path in args.path or ["columnar", "row"]:
        results = []
        for rows in sizes:
            result = run_once(args.mode, rows, path)
            results.append(result)
            largest[path] = result
            print(json.dumps(result), flush=True)
        if len(results) >= 2:
            small, large = results[0], results[-1]
            print(
                json.dumps(
                    {
                        "mode": args.mode,
                        "path": path,
                        "memory_growth": round(large["peak_rss_mb"] / small["peak_rss_mb"], 2),
                        "from_rows": small["rows"],
                        "to_rows": large["rows"],
                    }
                ),
                flush=True,
            )
    if args.mode == "csv":
        print(json.dumps(pyarrow_reference(sizes[-1])), flush=True)
    if args.compare_sdk:
        sdk = sdk_anchor(sizes[-1])
        print(json.dumps(sdk), flush=True)
        ratios = {
            f"{path}_vs_sdk": round(r["rows_per_s"] / sdk["rows_per_s"], 1) for path, r in largest.items()
        }
        print(
            json.dumps({"mode": "ratio", "rows": sdk["rows"], **ratios, "load": os.getloadavg()[0]}),
            flush=True,
        )


if __name__ == "__main__":
    main()
