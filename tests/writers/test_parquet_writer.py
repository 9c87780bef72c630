"""Parquet writer: declared schemas convert exactly, inference sees whole row groups, empty results are valid."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest


def read(data: bytes) -> pq.ParquetFile:
    return pq.ParquetFile(io.BytesIO(data))


DECLARED = {
    "sku": "string",
    "qty": "int64",
    "price": "decimal(12,2)",
    "updatedOn": "timestamp[ms, UTC]",
    "day": "date",
    "active": "bool",
    "tags": "list<string>",
    "dims": "struct<w: float64, unit: string>",
}


def test_a_declared_schema_converts_text_exactly(write) -> None:
    record = {
        "sku": "01234567890128",
        "qty": "5",
        "price": "12.50",
        "updatedOn": "2024-01-31T10:00:05.120Z",
        "day": "2024-01-31",
        "active": "true",
        "tags": ["a", "b"],
        "dims": {"w": "1.5", "unit": "cm"},
    }
    data, problems, _ = write("parquet", [record], schema=DECLARED)
    assert problems == []
    table = read(data).read()
    assert [f"{f.name}: {f.type}" for f in table.schema] == [
        "sku: string",
        "qty: int64",
        "price: decimal128(12, 2)",
        "updatedOn: timestamp[ms, tz=UTC]",
        "day: date32[day]",
        "active: bool",
        "tags: list<element: string>",
        "dims: struct<w: double, unit: string>",
    ]
    row = table.to_pylist()[0]
    assert row["sku"] == "01234567890128" and row["qty"] == 5 and row["price"] == Decimal("12.50")
    assert row["updatedOn"] == dt.datetime(2024, 1, 31, 10, 0, 5, 120000, tzinfo=dt.UTC)
    assert row["day"] == dt.date(2024, 1, 31) and row["active"] is True
    assert row["tags"] == ["a", "b"] and row["dims"] == {"w": 1.5, "unit": "cm"}


@pytest.mark.parametrize(
    "record,reason",
    [
        ({"qty": "ten"}, "qty: 'ten' is not an int64"),
        ({"qty": 2**63}, "qty: 9223372036854775808 is not an int64 (out of range)"),
        ({"qty": 1.5}, "qty: 1.5 is not an int64"),
        ({"price": "12.505"}, "price: '12.505' is not a decimal(12,2) (more than 2 decimal places)"),
        ({"price": "12345678901.00"}, "price: '12345678901.00' is not a decimal(12,2) (more than 12 digits)"),
        (
            {"updatedOn": "2024-01-31T10:00:05.1234Z"},
            "updatedOn: '2024-01-31T10:00:05.1234Z' is not a timestamp[ms, UTC] (finer than the column's unit (ms))",
        ),
        (
            {"updatedOn": "31/01/2024"},
            "updatedOn: '31/01/2024' is not a timestamp[ms, UTC] (expected an ISO-8601 time",
        ),
        (
            {"updatedOn": "2024-02-30T00:00:00Z"},
            "updatedOn: '2024-02-30T00:00:00Z' is not a timestamp[ms, UTC] (day is",
        ),
        (
            {"day": "2024-01-31T10:00:00Z"},
            "day: '2024-01-31T10:00:00Z' is not a date (expected a date such as",
        ),
        ({"active": "yes"}, "active: 'yes' is not a bool"),
        ({"tags": "a,b"}, "tags: 'a,b' is not a list<string>"),
        ({"dims": {"w": 1, "depth": 2}}, "dims.depth: not a field of struct<w: float64, unit: string>"),
        ({"dims": {"w": "wide"}}, "dims.w: 'wide' is not a float64"),
        ({"colour": "red"}, "field(s) colour are not columns of the Parquet file (sku: string, qty: int64,"),
    ],
)
def test_a_value_that_does_not_fit_rejects_its_record_and_the_others_are_written(
    write, record, reason
) -> None:
    data, problems, _ = write(
        "parquet", [{"sku": "A"}, {"sku": "B", **record}, {"sku": "C"}], schema=DECLARED
    )
    assert [(b, i) for b, i, _ in problems] == [(0, 1)]
    assert problems[0][2].startswith(reason), problems[0][2]
    assert [r["sku"] for r in read(data).read().to_pylist()] == ["A", "C"]


@pytest.mark.parametrize(
    "column,value,stored",
    [
        ("string", 5, "5"),
        ("string", True, "true"),
        ("string", Decimal("1.50"), "1.50"),
        ("string", {"a": [1]}, '{"a":[1]}'),
        ("string", "", ""),
        ("int32", "", None),
        ("int32", "  ", None),
        ("int32", " 42 ", 42),
        ("int32", 42.0, 42),
        ("int32", Decimal("7"), 7),
        ("uint8", "255", 255),
        ("float64", "1e3", 1000.0),
        ("float64", 3, 3.0),
        ("float64", Decimal("0.1"), 0.1),
        ("decimal(5,2)", 1.1, Decimal("1.10")),
        ("decimal(5,2)", "-0.5", Decimal("-0.50")),
        ("decimal(5,2)", "12.500", Decimal("12.50")),
        ("decimal(38,0)", 10**37, Decimal(10**37)),
        ("bool", "FALSE", False),
        ("bool", 1, True),
        ("bool", "0", False),
        ("timestamp[s, UTC]", "2024-01-31T11:00:00+01:00", dt.datetime(2024, 1, 31, 10, tzinfo=dt.UTC)),
        ("timestamp[us]", "2024-01-31 10:00:00.000001", dt.datetime(2024, 1, 31, 10, 0, 0, 1)),
        (
            "timestamp[ms, UTC]",
            dt.datetime(2024, 1, 31, 10, tzinfo=dt.UTC),
            dt.datetime(2024, 1, 31, 10, tzinfo=dt.UTC),
        ),
        ("timestamp[ms, UTC]", "2024-01-31", dt.datetime(2024, 1, 31, tzinfo=dt.UTC)),
        ("date", dt.date(2024, 1, 31), dt.date(2024, 1, 31)),
        ("time[ms]", "10:00:05.120", dt.time(10, 0, 5, 120000)),
        ("binary", "héllo", "héllo".encode()),
        ("json", {"a": 1}, '{"a":1}'),
        ("json", "x", '"x"'),
        ("list<int64>", ["1", 2], [1, 2]),
        ("list<int64>", [], []),
    ],
)
def test_conversions_into_declared_types(write, column, value, stored) -> None:
    data, problems, _ = write("parquet", [{"v": value}], schema={"v": column})
    assert problems == []
    assert read(data).read().to_pylist() == [{"v": stored}]


def test_timestamps_read_back_to_the_same_text_through_the_parquet_parser(write) -> None:
    from engine.contracts import Item
    from engine.parsers.parquet import ParquetOptions, ParquetParser

    values = [
        "2024-01-31T10:00:05.123456789Z",
        "1969-12-31T23:59:59.999999999Z",
        "2262-04-11T23:47:16.854775807Z",
    ]
    data, problems, _ = write("parquet", [{"at": v} for v in values], schema={"at": "timestamp[ns, UTC]"})
    assert problems == []
    chunks = ParquetParser(
        ParquetOptions(
            columns=None,
            chunk_size=10,
            max_row_group_bytes="256MiB",
            max_expansion=1000,
            max_record_bytes="64MiB",
        )
    ).parse(io.BytesIO(data), Item("u", "x"))
    assert [r["at"] for c in chunks for r in c.records] == values


def test_inference_reads_the_whole_row_group_not_the_first_record(write) -> None:
    first = [{"sku": "A", "qty": 1}]
    later = [
        {"sku": "B", "qty": 2.5, "note": "only here"},
        {"sku": "C", "price": Decimal("1.25")},
        {"sku": "D", "price": 3, "when": dt.datetime(2024, 1, 31, tzinfo=dt.UTC), "mixed": 1},
        {"sku": "E", "mixed": "x", "nested": {"a": [1, 2]}},
    ]
    data, problems, _ = write("parquet", first, later, row_group_size=100)
    assert problems == []
    table = read(data).read()
    assert {f.name: str(f.type) for f in table.schema} == {
        "sku": "string",
        "qty": "double",
        "note": "string",
        "price": "decimal128(3, 2)",
        "when": "timestamp[us, tz=UTC]",
        "mixed": "string",
        "nested": "struct<a: list<element: int64>>",
    }
    rows = table.to_pylist()
    assert rows[0]["qty"] == 1.0 and rows[1]["note"] == "only here" and rows[3]["price"] == Decimal("3.00")
    assert [r["mixed"] for r in rows] == [None, None, None, "1", "x"]


def test_later_row_groups_must_fit_the_inferred_schema_or_are_rejected_with_the_reason(write) -> None:
    first = [{"sku": str(i), "qty": i} for i in range(3)]
    later = [{"sku": "x", "qty": "lots"}, {"sku": "y", "qty": 7, "extra": 1}, {"sku": "z", "qty": 8}]
    data, problems, _ = write("parquet", first, later, row_group_size=3)
    assert [(b, i) for b, i, _ in problems] == [(1, 0), (1, 1)]
    assert problems[0][2] == (
        "qty: 'lots' is not an int64 (inferred from the first row group; declare writer.schema)"
    )
    assert problems[1][2].startswith(
        "field(s) extra are not columns of the Parquet file (sku: string, qty: int64); "
        "they were absent from the first row group"
    )
    pf = read(data)
    assert pf.num_row_groups == 2 and [r["sku"] for r in pf.read().to_pylist()] == ["0", "1", "2", "z"]


def test_row_groups_compression_and_an_empty_result(write) -> None:
    records = [{"n": i} for i in range(25)]
    for codec in ("snappy", "zstd", "gzip", "brotli", "lz4", "none"):
        data, _, _ = write("parquet", records[:10], records[10:], row_group_size=10, compression=codec)
        meta = read(data).metadata
        assert meta.num_row_groups == 3 and [meta.row_group(i).num_rows for i in range(3)] == [10, 10, 5]
        assert meta.row_group(0).column(0).compression == (
            "UNCOMPRESSED" if codec == "none" else codec.upper()
        )
    data, _, writer = write("parquet", schema={"sku": "string", "qty": "int32"})
    assert writer.publishable() and read(data).metadata.num_rows == 0
    assert read(data).schema_arrow == pa.schema([("sku", pa.string()), ("qty", pa.int32())])
    data, _, writer = write("parquet")
    assert not writer.publishable(), "no records and no schema: there is no valid file to write"


@pytest.mark.parametrize(
    "schema,where,message",
    [
        ({"qty": "integer64"}, "qty", "unknown type 'integer64' in 'integer64' (did you mean 'integer'?)"),
        ({"price": "decimal(40,2)"}, "price", "decimal precision is 1 to 38"),
        ({"price": "decimal(12)"}, "price", "decimal needs (precision, scale)"),
        ({"at": "timestamp[minutes]"}, "at", "timestamp unit is one of s, ms, us, ns"),
        ({"at": "timestamp[ms, Mars/Olympus]"}, "at", "unknown time zone 'Mars/Olympus'"),
        ({"tags": "list<string"}, "tags", "expected '>'"),
        ({"dims": "struct<w float64>"}, "dims", "expected ':'"),
    ],
)
def test_schema_mistakes_are_reported_at_their_column(schema, where, message) -> None:
    from tests.writers.conftest import make_writer

    [(path, text)] = make_writer("parquet", schema={"ok": "string", **schema}).problems()
    assert path == ("schema", where) and text.startswith(message), text


def test_type_names_round_trip_through_their_text() -> None:
    from engine.writers._arrow_types import parse_type, type_text

    for text in (
        "string",
        "int8",
        "uint64",
        "float32",
        "decimal(12,2)",
        "date",
        "timestamp[ns, Europe/Berlin]",
        "timestamp[us]",
        "time[ms]",
        "binary",
        "json",
        "list<list<int32>>",
        "struct<sku: string, lines: list<struct<qty: int64>>>",
    ):
        assert type_text(parse_type(text)) == text
    assert type_text(parse_type("timestamp[ms, tz=UTC]")) == "timestamp[ms, UTC]"
    assert (
        type_text(parse_type("timestamp")) == "timestamp[ms, UTC]"
        and type_text(parse_type("double")) == "float64"
    )


def test_mixes_inference_cannot_type_become_json_text_and_unwritable_values_are_refused(write) -> None:
    data, problems, _ = write("parquet", [{"a": b"\x00x"}, {"a": "text"}, {"a": 5}, {"a": {"k": [1]}}])
    assert problems == []
    assert [r["a"] for r in read(data).read().to_pylist()] == ['"AHg="', '"text"', "5", '{"k":[1]}']
    data, problems, _ = write("parquet", [{"a": object()}, {"a": [1]}], schema={"a": "json"})
    assert [(i, reason.split(" (")[-1]) for _, i, reason in problems] == [
        (0, "object is not JSON serialisable)")
    ]
