"""The file target writes columnar batches from their columns: the same files as from records.

Each case runs one connector twice, with ``mapping.columnar`` on (records
mapped on Arrow columns, written from the columns where the writer can) and
off (the row path, records as dicts), and compares the files: byte for byte
for CSV and JSON Lines, schema and rows for Parquet. The report's
``records_from_columns`` shows which path wrote them.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

HEAD = """
version: 1
name: out
source: {type: local, path: inbox, pattern: "*.csv"}
parser: {type: csv, chunk_size: 7}
state: {dedupe: none}
"""

FIELDS = """
mapping:
  fields:
    skuRef: {source: sku, required: true, resolver: [trim, upper]}
    qty: {source: qty, resolver: int}
    price: {source: price, resolver: decimal}
    ratio: {source: ratio, resolver: float}
    day: {source: day, resolver: date}
    at: {source: at, resolver: datetime}
    note: {source: note}
    status: {source: status, resolver: upper}
    type: {value: LAST_ON_HAND}
"""

NESTED = """
    attributes.colour: {source: colour}
    attributes.size: {source: size, resolver: int}
"""


def _row(
    i: int,
    nan_at: int | None = None,
    blank_qty_to: int = 0,
    blank_ratio_to: int = 0,
    blank_day_at: int | None = None,
) -> str:
    notes = ["plain", "semi;colon", "back\\slash", "", "ünïcode", "tab\there"]
    return ",".join(
        [
            f" sku-{i:03d} ",
            "" if i % 5 == 0 or i <= blank_qty_to else str(i * 7 - 20),
            "" if i % 6 == 0 else f"{i}.{i % 100:02d}",
            "nan"
            if i == nan_at
            else ""
            if i % 4 == 0 or i <= blank_ratio_to
            else f"{i / 8}"
            if i % 9
            else "0.0000001",
            "" if i == blank_day_at else f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
            f"2024-02-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
            notes[i % len(notes)],
            ["active", "", "Inactive"][i % 3],
            "" if i % 2 else ["red", "blue"][i % 4 // 2],
            "" if i % 3 == 1 else str(i % 5),
        ]
    )


def _csv(**odd: int) -> str:
    """The input; ``odd`` puts NaN in a row, leaves qty empty in the first rows or a date empty in one.

    An empty date is a value the columnar mapping is in doubt about: its chunk
    is mapped row by row and comes to the target as records.
    """
    return "sku,qty,price,ratio,day,at,note,status,colour,size\n" + "".join(
        _row(i, **odd) + "\n" for i in range(1, 61)
    )


def _run(tmp_path: Path, write_spec, run_spec, target: str, *, columnar: bool, nested: bool = False, **odd):
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / "stock.csv").write_text(_csv(**odd), encoding="utf-8")
    out = tmp_path / ("columns" if columnar else "rows")
    spec = write_spec(HEAD + FIELDS + (NESTED if nested else "") + "target:\n" + target)
    report = run_spec(
        spec,
        overrides=[f"mapping.columnar={'true' if columnar else 'false'}", f"target.destination.path={out}"],
    )
    assert report.counts["rejected"]["total"] == 0
    return out, report.target["records_from_columns"]


def _both(tmp_path: Path, write_spec, run_spec, target: str, *, nested: bool = False, **odd):
    on, from_columns = _run(tmp_path, write_spec, run_spec, target, columnar=True, nested=nested, **odd)
    off, from_rows = _run(tmp_path, write_spec, run_spec, target, columnar=False, nested=nested, **odd)
    assert from_rows == 0
    names = sorted(p.name for p in on.iterdir())
    assert names == sorted(p.name for p in off.iterdir()) and names
    return [(on / n, off / n) for n in names], from_columns


FILE = """
  type: file
  destination: {type: local, path: out}
  name: "stock-{part:02d}.{ext}"
"""


@pytest.mark.parametrize("writer", ["csv", "jsonl", "{type: csv, quote_all: true, delimiter: ';'}"])
@pytest.mark.parametrize("nested", [False, True])
def test_text_files_from_columns_are_the_files_from_records(tmp_path, write_spec, run_spec, writer, nested):
    pairs, from_columns = _both(
        tmp_path, write_spec, run_spec, FILE + f"  writer: {writer}\n  max_records: 25\n", nested=nested
    )
    assert [len(on.read_bytes().splitlines()) for on, _ in pairs] == (
        [26, 26, 11] if "csv" in writer else [25, 25, 10]
    )
    for on, off in pairs:
        assert on.read_bytes() == off.read_bytes()
    assert from_columns == 60


def test_a_value_json_cannot_hold_is_rejected_alike(tmp_path, write_spec, run_spec) -> None:
    """NaN has no JSON form: the row holding one is rejected as before, the rest of its chunk from columns."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stock.csv").write_text(_csv(nan_at=10), encoding="utf-8")
    reports = []
    for columnar in ("true", "false"):
        spec = write_spec(HEAD + FIELDS + "target:\n" + FILE + "  writer: jsonl\n")
        reports.append(
            run_spec(
                spec,
                overrides=[f"mapping.columnar={columnar}", f"target.destination.path={tmp_path / columnar}"],
            )
        )
    on, off = (tmp_path / "true" / "stock-01.jsonl"), (tmp_path / "false" / "stock-01.jsonl")
    assert on.read_bytes() == off.read_bytes()
    assert [r.counts["rejected"]["total"] for r in reports] == [1, 1]
    assert reports[0].target["records_from_columns"] == reports[0].counts["written"] == 59


def _same_tables(pairs) -> None:
    for on, off in pairs:
        a, b = pq.read_table(on), pq.read_table(off)
        assert a.schema == b.schema
        assert a.to_pylist() == b.to_pylist()


def test_parquet_with_an_inferred_schema_from_columns(tmp_path, write_spec, run_spec) -> None:
    """The first row group's values decide the schema, as columns or records: the same schema."""
    target = FILE + "  writer: {type: parquet, row_group_size: 10}\n  max_records: 40\n"
    pairs, from_columns = _both(tmp_path, write_spec, run_spec, target)
    _same_tables(pairs)
    assert [pq.read_metadata(on).num_rows for on, _ in pairs] == [40, 20]
    assert from_columns == 60


def test_parquet_infers_from_columns_and_records_mixed_in_the_first_row_group(
    tmp_path, write_spec, run_spec, monkeypatch
) -> None:
    """qty and ratio are empty in the first rows and first appear in the second chunk, ratio (row 9)
    before qty (row 11), and the third chunk comes as records: the columns are those of the records,
    in their order.

    A chunk with a row in doubt (the empty date of row 17) comes as records here, as it does when a
    value the row path gave does not fit its column."""
    from engine.mapping.columnar.chunks import ColumnarMapping

    monkeypatch.setattr(ColumnarMapping, "_merged", lambda self, *args: None)
    target = FILE + "  writer: {type: parquet, row_group_size: 30}\n"
    pairs, from_columns = _both(
        tmp_path, write_spec, run_spec, target, blank_qty_to=9, blank_ratio_to=8, blank_day_at=17
    )
    _same_tables(pairs)
    names = pq.read_table(pairs[0][0]).column_names
    assert names[-2:] == ["ratio", "qty"]
    assert from_columns == 53


SCHEMA = """
  writer:
    type: parquet
    row_group_size: 8
    schema:
      skuRef: string
      qty: int32
      price: "decimal(10,2)"
      ratio: float64
      day: date
      at: "timestamp[ms, UTC]"
      note: string
      status: string
      type: string
      extra: int64
"""


def test_parquet_with_a_declared_schema_from_columns(tmp_path, write_spec, run_spec) -> None:
    pairs, from_columns = _both(tmp_path, write_spec, run_spec, FILE + SCHEMA)
    _same_tables(pairs)
    table = pq.read_table(pairs[0][0])
    assert str(table.schema.field("price").type) == "decimal128(10, 2)"
    assert table.column("extra").null_count == 60
    assert from_columns == 60


def test_parquet_with_a_nested_field_is_written_from_records(tmp_path, write_spec, run_spec) -> None:
    """A nested target is a struct column: its records decide it, as always."""
    pairs, from_columns = _both(tmp_path, write_spec, run_spec, FILE + "  writer: parquet\n", nested=True)
    _same_tables(pairs)
    assert from_columns == 0


@pytest.mark.parametrize(
    ("qty", "max_records", "from_columns", "rejected"),
    [
        # 7 × row - 20 passes 127 from row 22, the first row of a chunk: whole chunks go as records
        ("int8", None, 21, 31),
        # below 0 in rows 1 and 2, past 255 from row 41 (rows 40 and 50 are empty); parts of 5:
        # rows 36-37 end a part and go as columns, the chunk's next slice (38-42) as records
        ("uint8", 5, 31, 18),
    ],
)
def test_a_value_the_declared_schema_refuses_is_rejected_from_records(
    tmp_path, write_spec, run_spec, qty, max_records, from_columns, rejected
) -> None:
    """A refused value sends the rest of its batch to the records, which reject it with the reason."""
    target = FILE + SCHEMA.replace("qty: int32", f"qty: {qty}")
    if max_records:
        target += f"  max_records: {max_records}\n"
    outcomes = []
    for columnar in ("true", "false"):
        inbox = tmp_path / "inbox"
        inbox.mkdir(exist_ok=True)
        (inbox / "stock.csv").write_text(_csv(), encoding="utf-8")
        spec = write_spec(HEAD + FIELDS + "target:\n" + target)
        out = tmp_path / columnar
        report = run_spec(spec, overrides=[f"mapping.columnar={columnar}", f"target.destination.path={out}"])
        files = sorted(out.iterdir())
        outcomes.append(
            (
                report.counts["rejected"]["total"],
                [p.name for p in files],
                [pq.read_table(p).to_pylist() for p in files],
            )
        )
        if columnar == "true":
            assert report.target["records_from_columns"] == from_columns
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == rejected


NOTES = ["a,b", 'say "hi"', "two\nlines", "cr\r", "", None, "plain"]


def _typed_parquet(path: Path) -> None:
    """A Parquet input whose columns reach the mapping typed: integers, decimals, floats, booleans."""
    import pyarrow as pa

    n = 40
    table = pa.table(
        {
            "sku": pa.array([f"S{i:03d}" for i in range(n)]),
            "qty": pa.array([None if i % 6 == 0 else i * 1000 - 7000 for i in range(n)], pa.int64()),
            "small": pa.array([None if i % 4 == 0 else i for i in range(n)], pa.int16()),
            "price": pa.array(
                [None if i % 5 == 0 else Decimal(f"{i * 37 - 400}.{i % 1000:03d}") for i in range(n)],
                pa.decimal128(10, 3),
            ),
            "ratio": pa.array([None if i % 7 == 0 else i / 3 for i in range(n)], pa.float64()),
            "active": pa.array([None if i % 9 == 0 else i % 2 == 0 for i in range(n)], pa.bool_()),
            "status": pa.array([["ACTIVE", "", None][i % 3] for i in range(n)]).dictionary_encode(),
            # text the CSV writer must quote, in rows 20 to 26 only: their batches take the csv module
            "note": pa.array([NOTES[i % len(NOTES)] if 20 <= i <= 26 else f"n{i}" for i in range(n)]),
        }
    )
    pq.write_table(table, path)


TYPED = """
version: 1
name: out
source: {type: local, path: inbox, pattern: "*.parquet"}
parser: {type: parquet, chunk_size: 9}
state: {dedupe: none}
mapping:
  fields:
    skuRef: {source: sku, required: true, resolver: [trim, upper]}
    qty: {source: qty}
    small: {source: small}
    price: {source: price}
    ratio: {source: ratio}
    active: {source: active}
    status: {source: status}
    note: {source: note}
    channel: {value: WEB}
target:
"""

TYPED_SCHEMA = """
  writer:
    type: parquet
    row_group_size: 10
    schema: {skuRef: string, qty: int32, small: int64, price: "decimal(12,3)", ratio: float64,
             active: bool, status: string, note: string, channel: string}
"""


@pytest.mark.parametrize(
    "writer",
    ["csv", "jsonl", "{type: parquet, row_group_size: 10}", TYPED_SCHEMA],
    ids=["csv", "jsonl", "parquet-inferred", "parquet-declared"],
)
def test_typed_columns_of_a_parquet_input(tmp_path, write_spec, run_spec, writer) -> None:
    """Integer, decimal, float and boolean columns (and a dictionary of text) as the Parquet parser gives them."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _typed_parquet(inbox / "stock.parquet")
    target = FILE + (writer if writer.startswith("\n") else f"  writer: {writer}\n") + "  max_records: 15\n"
    found = []
    for columnar in ("true", "false"):
        out = tmp_path / columnar
        report = run_spec(
            write_spec(TYPED + target),
            overrides=[f"mapping.columnar={columnar}", f"target.destination.path={out}"],
        )
        assert report.counts["rejected"]["total"] == 0
        found.append((sorted(out.iterdir()), report.target["records_from_columns"]))
    (on, from_columns), (off, from_rows) = found
    assert (
        [p.name for p in on]
        == [p.name for p in off]
        == ["stock-01" + on[0].suffix, "stock-02" + on[0].suffix, "stock-03" + on[0].suffix]
    )
    if on[0].suffix == ".parquet":
        _same_tables(zip(on, off, strict=True))
    else:
        for a, b in zip(on, off, strict=True):
            assert a.read_bytes() == b.read_bytes()
    assert (from_columns, from_rows) == (40, 0)
