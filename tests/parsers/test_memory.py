"""Memory stays flat: a 1 GB XML file and a 1 GB JSON array parse in well under 200 MB.

The files are generated on the fly from large repeated blocks (seconds, not
minutes), parsed in a fresh process, and that process's peak resident memory
is read from the kernel (``os.wait4``). Every record must arrive: a parser
that stopped early would also use little memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

GIB = 1 << 30
LIMIT_MB = 200
DESCRIPTION = "A sturdy everyday item with a long description that makes records realistically large. " * 4

PARSE = """
import sys, time
from engine.contracts import Item
from engine.registry import default_registries
from engine.spec.options import build_options

kind, path, options = sys.argv[1], sys.argv[2], eval(sys.argv[3])
cls = default_registries().parsers.get(kind)
parser = cls(build_options(cls.Options, cls.schema, options, ("parser",), None), path="parser")
records = rejects = 0
last = None
started = time.perf_counter()
with open(path, "rb") as stream:
    for chunk in parser.parse(stream, Item(path, path), None):
        records += len(chunk.records)
        rejects += len(chunk.rejects or ())
        last = chunk.records[-1]
seconds = time.perf_counter() - started
# this process's own peak (VmHWM): a child's ru_maxrss would also count the parent's pages at fork time
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(records, rejects, seconds, peak_kb, repr(last))
"""


def _write_blocks(
    path: Path, head: bytes, block: bytes, per_block: int, tail: bytes, sep: bytes = b""
) -> int:
    """Repeat ``block`` until the file passes 1 GiB; returns the number of records written."""
    count = 0
    with open(path, "wb") as f:
        f.write(head)
        size = len(head)
        while size < GIB:
            if count and sep:
                f.write(sep)
            f.write(block)
            size += len(block) + len(sep)
            count += per_block
        f.write(tail)
    return count


def _peak(kind: str, path: Path, options: dict) -> tuple[int, int, float, float, str]:
    """(records, rejects, seconds, peak RSS in MB, last record) of parsing ``path`` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [sys.executable, "-c", PARSE, kind, str(path), repr(options)],
            stdout=subprocess.PIPE,
            stderr=errors,
            env=env,
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.stdout.close()
        _, status, _usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        assert proc.returncode == 0, errors.read().decode()[-2000:]
    records, rejects, seconds, peak_kb, last = out.decode().split(" ", 4)
    return int(records), int(rejects), float(seconds), int(peak_kb) / 1024, last.strip()


@pytest.mark.slow
def test_a_1gb_xml_file_parses_with_flat_memory(tmp_path: Path) -> None:
    records = []
    for i in range(2000):
        records.append(
            f'<Item sku="SKU-{i:06d}" location="LOC-{i % 300:03d}"><GTIN>0{i:013d}</GTIN><Qty>{i % 97:04d}</Qty>'
            f"<Status>ACTIVE</Status><Description>{DESCRIPTION}</Description>"
            f'<Lines><Line n="1">a</Line><Line n="2">b</Line></Lines></Item>\n'
        )
    block = "".join(records).encode()
    path = tmp_path / "inventory.xml"
    started = time.perf_counter()
    expected = _write_blocks(
        path,
        b'<?xml version="1.0" encoding="UTF-8"?>\n<InventoryUpdate><Items>\n',
        block,
        2000,
        b"</Items></InventoryUpdate>\n",
    )
    generated = time.perf_counter() - started
    size = path.stat().st_size
    got, rejects, seconds, peak_mb, last = _peak(
        "xml", path, {"records": "InventoryUpdate/Items/Item", "force_list": ["Line"]}
    )
    path.unlink()
    print(
        f"\nxml: {size / GIB:.2f} GiB, {got} records in {seconds:.1f} s ({got / seconds:,.0f} records/s, "
        f"{size / seconds / 1e6:.0f} MB/s), peak RSS {peak_mb:.0f} MB (generated in {generated:.1f} s)"
    )
    assert (got, rejects) == (expected, 0), "every record arrives"
    assert "'@sku': 'SKU-001999'" in last and "'GTIN': '00000000001999'" in last
    assert peak_mb < LIMIT_MB


@pytest.mark.slow
def test_a_1gb_json_array_parses_with_flat_memory(tmp_path: Path) -> None:
    records = [
        json.dumps(
            {
                "sku": f"SKU-{i:06d}",
                "location": f"LOC-{i % 300:03d}",
                "gtin": f"0{i:013d}",
                "qty": i % 97,
                "price": 12.5,
                "status": "ACTIVE",
                "description": DESCRIPTION,
                "lines": [{"n": 1, "v": "a"}, {"n": 2, "v": "b"}],
            }
        )
        for i in range(2000)
    ]
    block = ",\n".join(records).encode()
    path = tmp_path / "inventory.json"
    started = time.perf_counter()
    expected = _write_blocks(
        path, b'{"exported": "2024-01-31", "data": {"items": [\n', block, 2000, b"\n]}}\n", sep=b",\n"
    )
    generated = time.perf_counter() - started
    size = path.stat().st_size
    got, rejects, seconds, peak_mb, last = _peak("json", path, {"records": "data.items"})
    path.unlink()
    print(
        f"\njson: {size / GIB:.2f} GiB, {got} records in {seconds:.1f} s ({got / seconds:,.0f} records/s, "
        f"{size / seconds / 1e6:.0f} MB/s), peak RSS {peak_mb:.0f} MB (generated in {generated:.1f} s)"
    )
    assert (got, rejects) == (expected, 0), "every record arrives"
    assert "'sku': 'SKU-001999'" in last and "'gtin': '00000000001999'" in last
    assert peak_mb < LIMIT_MB


BOMB = """
import sys
from engine.contracts import Item
from engine.errors import ParseError
from engine.registry import default_registries
from engine.spec.options import build_options

path, options = sys.argv[1], eval(sys.argv[2])
cls = default_registries().parsers.get("parquet")
parser = cls(build_options(cls.Options, cls.schema, options, ("parser",), None), path="parser")
records, error = 0, ""
try:
    with open(path, "rb") as stream:
        for chunk in parser.parse(stream, Item(path, path.rsplit("/", 1)[-1]), None):
            records += len(chunk.records)
except ParseError as exc:
    error = str(exc)
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(records, peak_kb, error)
"""

HOSTILE = Path(__file__).parent / "hostile"


def _bomb(name: str, **options: object) -> tuple[int, float, str]:
    """(records, peak RSS in MB, error) of parsing a hostile Parquet file in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", BOMB, str(HOSTILE / name), repr(options)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    records, peak_kb, error = (done.stdout.strip() + " ").split(" ", 2)
    return int(records), int(peak_kb) / 1024, error.strip()


def test_a_13_kb_zstd_bomb_is_refused_from_its_metadata_in_little_memory() -> None:
    """Was 1.66 GB: one 400 MB value that zstd stores in 13 KB."""
    records, peak_mb, error = _bomb("zstd_bomb.parquet")
    assert records == 0 and peak_mb < 300
    assert error.startswith(
        "zstd_bomb.parquet row_group 0: column s decompresses to 400 MiB from 12,858 bytes stored, more than "
        "max_expansion (1000) times as much (a compression bomb); nothing of the row group was read"
    )
    records, peak_mb, error = _bomb("zstd_bomb.parquet", max_expansion=100_000)
    assert records == 0 and peak_mb < 300
    assert "decompresses to 400 MiB (its metadata says so), more than max_row_group_bytes (256 MiB)" in error
    assert error.endswith("(raise parser.max_row_group_bytes if the file is genuine)")


def test_a_dictionary_bomb_is_read_as_a_dictionary_and_flows_in_flat_memory() -> None:
    """Was 4 GB: 517 bytes whose dictionary holds one 1 MiB value that 2,000 rows repeat."""
    records, peak_mb, error = _bomb("dictionary_bomb.parquet")
    assert (records, error) == (2000, "") and peak_mb < 300


def test_a_row_decoding_to_more_than_max_record_bytes_never_becomes_a_record() -> None:
    """639 bytes, one row with 20 million run-length encoded integers (was 750 MB as Python values)."""
    records, _peak_mb, error = _bomb("list_bomb.parquet")
    assert records == 0
    assert error == (
        "list_bomb.parquet row_group 0: row 0 decodes to 155 MiB, more than max_record_bytes (64 MiB) "
        "(raise parser.max_record_bytes if the file is genuine)"
    )
