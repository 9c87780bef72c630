"""Parquet: streaming by row group and batch, exact value mapping, lineage, clear errors."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.errors import ParseError


def parquet_bytes(table: pa.Table, **kwargs) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **kwargs)
    return sink.getvalue()


def test_rows_stream_by_row_group_with_positions_and_locators(parse) -> None:
    table = pa.table({"sku": [f"S{i}" for i in range(25)], "qty": list(range(25))})
    data = parquet_bytes(table, row_group_size=10)
    records, _, chunks = parse("parquet", data, chunk_size=4)
    assert [r[2] for r in records] == [{"sku": f"S{i}", "qty": i} for i in range(25)]
    assert [r[0] for r in records] == list(range(1, 26))
    assert [len(c) for c in chunks] == [4, 4, 2, 4, 4, 2, 4, 1]  # batches never cross row groups
    locators = [loc for c in chunks for loc in c.locators]
    assert locators[0] == "row_group 0 row 0" and locators[9] == "row_group 0 row 9"
    assert locators[10] == "row_group 1 row 0" and locators[24] == "row_group 2 row 4"
    assert chunks[-1].where(0) == "stock.parquet row_group 2 row 4"


def test_the_locator_finds_the_record_with_pyarrow() -> None:
    table = pa.table({"n": list(range(30))})
    pf = pq.ParquetFile(io.BytesIO(parquet_bytes(table, row_group_size=7)))
    assert pf.read_row_group(3).slice(2, 1).to_pylist() == [{"n": 23}]


def test_values_map_exactly(parse) -> None:
    table = pa.table(
        {
            "gtin": pa.array(["01234567890128", None]),
            "qty": pa.array([5, None], pa.int32()),
            "big": pa.array([2**63 - 1, -1], pa.int64()),
            "ratio": pa.array([0.5, float("inf")]),
            "ok": pa.array([True, False]),
            "price": pa.array([Decimal("12.50"), Decimal("-0.01")], pa.decimal128(12, 2)),
            "at_ms": pa.array([1706695205120, 0], pa.timestamp("ms", "UTC")),
            "at_s": pa.array([1706695205, None], pa.timestamp("s", "UTC")),
            "at_ns": pa.array([1706695205123456789, 1], pa.timestamp("ns", "UTC")),
            "local": pa.array([1706695205000000, 0], pa.timestamp("us")),
            "berlin": pa.array([1706695205000, 0], pa.timestamp("ms", "Europe/Berlin")),
            "day": pa.array([dt.date(2024, 1, 31), dt.date(1999, 12, 31)]),
            "clock": pa.array([36005120, 0], pa.time32("ms")),
            "wait": pa.array([1500, None], pa.duration("ms")),
            "blob": pa.array([b"\x00\x01", None]),
            "kind": pa.array(["x", "y"]).dictionary_encode(),
        }
    )
    records, _, _ = parse("parquet", parquet_bytes(table))
    assert records[0][2] == {
        "gtin": "01234567890128",
        "qty": 5,
        "big": 2**63 - 1,
        "ratio": 0.5,
        "ok": True,
        "price": Decimal("12.50"),
        "at_ms": "2024-01-31T10:00:05.120Z",
        "at_s": "2024-01-31T10:00:05.000Z",  # Parquet stores seconds as ms
        "at_ns": "2024-01-31T10:00:05.123456789Z",
        "local": "2024-01-31T10:00:05.000000",
        "berlin": "2024-01-31T10:00:05.000Z",
        "day": "2024-01-31",
        "clock": "10:00:05.120",
        "wait": 1500,
        "blob": b"\x00\x01",
        "kind": "x",
    }
    assert records[1][2]["gtin"] is None and records[1][2]["qty"] is None and records[1][2]["at_s"] is None
    assert records[1][2]["price"] == Decimal("-0.01") and str(records[1][2]["price"]) == "-0.01"
    assert records[1][2]["ratio"] == float("inf")


def test_nested_structs_lists_and_maps_become_dicts_and_lists(parse) -> None:
    table = pa.table(
        {
            "order": pa.array(
                [{"ref": "O1", "placed": 1706695205000, "lines": [{"sku": "A", "qty": 1}]}, None],
                pa.struct(
                    [
                        ("ref", pa.string()),
                        ("placed", pa.timestamp("ms", "UTC")),
                        ("lines", pa.list_(pa.struct([("sku", pa.string()), ("qty", pa.int64())]))),
                    ]
                ),
            ),
            "tags": pa.array([["a", "b"], []], pa.list_(pa.string())),
            "days": pa.array([[dt.date(2024, 1, 1)], None], pa.list_(pa.date32())),
            "attrs": pa.array(
                [[("colour", "red")], [("size", "L"), ("fit", "slim")]], pa.map_(pa.string(), pa.string())
            ),
        }
    )
    records, _, _ = parse("parquet", parquet_bytes(table))
    assert [r[2] for r in records] == [
        {
            "order": {"ref": "O1", "placed": "2024-01-31T10:00:05.000Z", "lines": [{"sku": "A", "qty": 1}]},
            "tags": ["a", "b"],
            "days": ["2024-01-01"],
            "attrs": {"colour": "red"},
        },
        {"order": None, "tags": [], "days": None, "attrs": {"size": "L", "fit": "slim"}},
    ]


def test_columns_projection_reads_only_those_columns(parse) -> None:
    data = parquet_bytes(pa.table({"a": [1], "b": ["x"], "c": [True]}))
    records, _, _ = parse("parquet", data, columns=["c", "a"])
    assert records[0][2] == {"c": True, "a": 1}
    with pytest.raises(ParseError, match=r"no column\(s\) nope in the file \(its columns are: a, b, c\)"):
        parse("parquet", data, columns=["a", "nope"])


class _Pipe(io.RawIOBase):
    """A stream that cannot seek, like a network body."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer) -> int:
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def test_a_stream_that_cannot_seek_is_spooled_to_a_temporary_file() -> None:
    from engine.contracts import Item
    from engine.parsers.parquet import ParquetOptions, ParquetParser

    data = parquet_bytes(pa.table({"n": list(range(100))}), row_group_size=30)
    parser = ParquetParser(
        ParquetOptions(
            columns=None,
            chunk_size=1000,
            max_row_group_bytes="256MiB",
            max_expansion=1000,
            max_record_bytes="64MiB",
        )
    )
    chunks = list(parser.parse(_Pipe(data), Item("s3://b/k.parquet", "k.parquet")))
    assert [r["n"] for c in chunks for r in c.records] == list(range(100))


def test_an_empty_table_yields_no_records(parse) -> None:
    data = parquet_bytes(pa.table({"a": pa.array([], pa.int64())}))
    assert parse("parquet", data)[0] == []


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "stock.parquet: not a readable Parquet file: the file is empty"),
        (b"sku,qty\nA,1\n", "stock.parquet: not a readable Parquet file: "),
        (b"PAR1" + b"\x00" * 100, "stock.parquet: not a readable Parquet file: "),
    ],
)
def test_not_parquet_is_a_clear_error(parse, data: bytes, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse("parquet", data)
    assert str(info.value).startswith(message)


def test_a_truncated_file_is_an_error_never_fewer_records(parse) -> None:
    data = parquet_bytes(pa.table({"n": list(range(1000))}), row_group_size=100)
    for cut in (len(data) - 1, len(data) // 2, 8):
        with pytest.raises(ParseError, match="not a readable Parquet file") as info:
            parse("parquet", data[:cut])
        assert "truncated" in str(info.value)


def test_a_compression_bomb_fails_its_file_and_the_run_goes_on(tmp_path, write_spec, run_spec) -> None:
    import shutil

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(Path(__file__).parent / "hostile" / "zstd_bomb.parquet", inbox / "a_bomb.parquet")
    pq.write_table(pa.table({"s": ["fine"]}), inbox / "b_good.parquet")
    spec = write_spec("""
        version: 1
        name: bombs
        source:
          type: local
          path: inbox
          pattern: "*.parquet"
          on_success: {move_to: "done/{name}"}
          on_failure: {move_to: "errors/{name}"}
        parser: {type: parquet}
        target: {type: file, writer: jsonl, destination: {type: local, path: out}}
    """)
    report = run_spec(spec)
    by_name = {i.name: i for i in report.items}
    assert by_name["b_good.parquet"].status == "done"
    assert by_name["a_bomb.parquet"].status == "failed"
    assert "a compression bomb" in by_name["a_bomb.parquet"].reason
    assert [p.name for p in (inbox / "errors").iterdir()] == ["a_bomb.parquet"]
    assert [p.name for p in (inbox / "done").iterdir()] == ["b_good.parquet"]


def test_parquet_limits_are_checked_when_the_spec_compiles() -> None:
    from engine.parsers.parquet import ParquetOptions, ParquetParser

    bad = ParquetOptions(
        columns=None, chunk_size=10, max_row_group_bytes="lots", max_expansion=1000, max_record_bytes="1KiB"
    )
    problems = ParquetParser(bad).problems()
    assert [where for where, _ in problems] == [("max_row_group_bytes",)]
    assert "expected a size" in problems[0][1]
