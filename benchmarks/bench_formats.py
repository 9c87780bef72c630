"""Throughput and peak memory of every parser and writer, as JSON lines.

Each measurement runs in a fresh process whose peak resident memory is read
from the kernel (``os.wait4``), so figures do not leak into each other.
Inputs are generated from large repeated blocks (fast even at 1 GiB) into
``.bench/formats/`` and reused.

    python benchmarks/bench_formats.py                     # 1M records per format
    python benchmarks/bench_formats.py --size 1GiB         # parsers on 1 GiB files
    python benchmarks/bench_formats.py --only xml,parquet  # some formats
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".bench" / "formats"
BLOCK = 2000
DESCRIPTION = "A sturdy everyday item with a long description that makes records realistically large. " * 2


def record(i: int) -> dict:
    return {
        "sku": f"SKU-{i:06d}",
        "location": f"LOC-{i % 300:03d}",
        "gtin": f"0{i:013d}",
        "qty": i % 97,
        "price": f"{i % 1000}.{i % 100:02d}",
        "status": "ACTIVE" if i % 3 else "INACTIVE",
        "updatedOn": f"2024-01-{1 + i % 28:02d}T{i % 24:02d}:00:00.000Z",
        "description": DESCRIPTION,
    }


def xml_record(i: int) -> str:
    r = record(i)
    return (
        f'<Item sku="{r["sku"]}" location="{r["location"]}"><GTIN>{r["gtin"]}</GTIN><Qty>{r["qty"]}</Qty>'
        f"<Price>{r['price']}</Price><Status>{r['status']}</Status><UpdatedOn>{r['updatedOn']}</UpdatedOn>"
        f"<Description>{DESCRIPTION}</Description></Item>\n"
    )


FORMATS = {
    "csv": (
        b"sku,location,gtin,qty,price,status,updatedOn,description\n",
        b"",
        b"",
        lambda i: ",".join(str(v) for v in record(i).values()) + "\n",
        {},
    ),
    "json": (
        b'{"data": {"items": [\n',
        b",\n",
        b"\n]}}\n",
        lambda i: json.dumps(record(i)),
        {"records": "data.items"},
    ),
    "jsonl": (b"", b"", b"", lambda i: json.dumps(record(i)) + "\n", {}),
    "xml": (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<InventoryUpdate><Items>\n',
        b"",
        b"</Items></InventoryUpdate>\n",
        xml_record,
        {"records": "InventoryUpdate/Items/Item"},
    ),
}


def generate(kind: str, rows: int | None, size: int | None) -> tuple[Path, int]:
    """The input file for ``kind`` (made once): ``rows`` records, or at least ``size`` bytes."""
    DATA.mkdir(parents=True, exist_ok=True)
    label = f"{rows}r" if rows else f"{size}b"
    path = DATA / f"bench-{label}.{kind}"
    count_file = path.with_suffix(path.suffix + ".count")
    if path.exists() and count_file.exists():
        return path, int(count_file.read_text())
    if kind == "parquet":
        count = _parquet(path, rows, size)
    else:
        head, sep, tail, make, _ = FORMATS[kind]
        block = sep.join(make(i).encode() for i in range(BLOCK))
        count = 0
        with open(path, "wb") as f:
            f.write(head)
            written = len(head)
            while (rows and count < rows) or (size and written < size):
                if count and sep:
                    f.write(sep)
                f.write(block)
                written += len(block) + len(sep)
                count += BLOCK
            f.write(tail)
    count_file.write_text(str(count))
    return path, count


def _parquet(path: Path, rows: int | None, size: int | None) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    block = pa.Table.from_pylist([record(i) for i in range(BLOCK)])
    count = 0
    with pq.ParquetWriter(path, block.schema) as writer:
        batch = pa.concat_tables([block] * 50)
        while (rows and count < rows) or (size and path.stat().st_size < size):
            writer.write_table(batch, row_group_size=100_000)
            count += batch.num_rows
    return count


PEAK = """
def peak_kb():
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
"""

PARSE = (
    PEAK
    + """
import sys, time, json
from engine.contracts import Item
from engine.registry import default_registries
from engine.spec.options import build_options
kind, path, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
cls = default_registries().parsers.get(kind)
parser = cls(build_options(cls.Options, cls.schema, options, ("parser",), None), path="parser")
n = 0
t = time.perf_counter()
with open(path, "rb") as f:
    for chunk in parser.parse(f, Item(path, path), None):
        n += len(chunk.records) + len(chunk.rejects or ())
print(json.dumps({"records": n, "seconds": time.perf_counter() - t, "peak_kb": peak_kb()}))
"""
)

WRITE = (
    PEAK
    + """
import io, sys, time, json, tempfile, os
sys.path.insert(0, sys.argv[4])
from bench_formats import record
from engine.registry import default_registries
from engine.spec.options import build_options
kind, rows, options = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
cls = default_registries().writers.get(kind)
writer = cls(build_options(cls.Options, cls.schema, options, ("writer",), None), path="writer")
block = [record(i) for i in range(5000)]
fd, path = tempfile.mkstemp()
t = time.perf_counter()
with os.fdopen(fd, "wb", buffering=1 << 20) as stream:
    writer.begin(stream, {"fields": list(block[0])})
    done = 0
    while done < rows:
        writer.write(block)
        done += len(block)
    writer.end()
seconds = time.perf_counter() - t
size = os.path.getsize(path)
os.unlink(path)
print(json.dumps({"records": done, "seconds": seconds, "bytes": size, "peak_kb": peak_kb()}))
"""
)

WRITERS = {
    "csv": {},
    "json": {},
    "jsonl": {},
    "xml": {"root": "Items", "record": "Item"},
    "parquet": {
        "schema": {
            "sku": "string",
            "location": "string",
            "gtin": "string",
            "qty": "int32",
            "price": "decimal(12,2)",
            "status": "string",
            "updatedOn": "timestamp[ms, UTC]",
            "description": "string",
        }
    },
    "parquet-inferred": {},
}


def measure(code: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=errors, env=env
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, _usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            errors.seek(0)
            raise SystemExit(errors.read().decode())
    result = json.loads(out)
    # the child's own VmHWM: its ru_maxrss would also count this parent's pages at fork time
    result["peak_rss_mb"] = round(result.pop("peak_kb") / 1024, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="records per input and per writer run")
    parser.add_argument("--size", help="parse inputs of this size instead (e.g. 1GiB)")
    parser.add_argument("--only", help="comma-separated formats (csv,json,jsonl,xml,parquet)")
    args = parser.parse_args()
    from engine.units import size_bytes

    size = size_bytes(args.size) if args.size else None
    rows = None if size else args.rows
    only = set(args.only.split(",")) if args.only else None
    for kind in ("csv", "json", "jsonl", "xml", "parquet"):
        if only and kind not in only:
            continue
        path, count = generate(kind, rows, size)
        options = FORMATS[kind][4] if kind in FORMATS else {}
        result = measure(PARSE, kind, str(path), json.dumps(options))
        assert result["records"] == count, f"{kind}: {result['records']} records parsed, {count} written"
        print(
            json.dumps(
                {
                    "bench": "parse",
                    "format": kind,
                    "records": count,
                    "file_mb": round(path.stat().st_size / 1e6),
                    "seconds": round(result["seconds"], 2),
                    "records_per_s": round(count / result["seconds"]),
                    "mb_per_s": round(path.stat().st_size / 1e6 / result["seconds"], 1),
                    "peak_rss_mb": result["peak_rss_mb"],
                }
            ),
            flush=True,
        )
    for name, options in WRITERS.items():
        kind = name.split("-")[0]
        if only and kind not in only:
            continue
        result = measure(WRITE, kind, str(args.rows), json.dumps(options), str(ROOT / "benchmarks"))
        print(
            json.dumps(
                {
                    "bench": "write",
                    "format": name,
                    "records": result["records"],
                    "file_mb": round(result["bytes"] / 1e6),
                    "seconds": round(result["seconds"], 2),
                    "records_per_s": round(result["records"] / result["seconds"]),
                    "peak_rss_mb": result["peak_rss_mb"],
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
