"""Mapped records as columns write the same JSON, byte for byte, as the records themselves."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.jsonutil import dumps, dumps_bytes
from engine.mapping.columnar.mapped import MappedColumn, MappedColumns


def _records(columns: MappedColumns) -> list[dict[str, Any]]:
    """The records the row path builds from the same values (a missing value left out, empty objects too)."""
    arrays = [
        [c.constant] * columns.count
        if c.is_constant
        else list(c.data)
        if isinstance(c.data, list)
        else c.data.to_pylist()
        for c in columns.columns
    ]
    out: list[dict[str, Any]] = []
    for i in range(columns.count):
        record: dict[str, Any] = {}
        for c, values in zip(columns.columns, arrays, strict=True):
            node = record
            for part in c.target[:-1]:
                node = node.setdefault(part, {})
            node[c.target[-1]] = values[i]
        out.append(_prune(record, columns))
    return out


def _prune(record: dict[str, Any], columns: MappedColumns) -> dict[str, Any]:
    for c in columns.columns:
        node: Any = record
        for part in c.target[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and node.get(c.target[-1]) is None and not c.always_present:
            node.pop(c.target[-1], None)

    def empty(node: dict[str, Any]) -> None:
        for key in list(node):
            if isinstance(node[key], dict):
                empty(node[key])
                if not node[key]:
                    del node[key]

    empty(record)
    return record


def _same(columns: MappedColumns) -> list[str]:
    texts = columns.json()
    assert texts is not None
    assert texts == [dumps_bytes(r).decode() for r in _records(columns)]
    return texts


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text()), min_size=1, max_size=20))
def test_any_text_is_escaped_as_the_row_path_escapes_it(values: list[str | None]) -> None:
    _same(MappedColumns([MappedColumn(("v",), pa.array(values, pa.string()))], len(values)))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), min_size=1, max_size=20))
def test_integers_and_missing_values(values: list[int | None]) -> None:
    present = MappedColumn(("q",), pa.array(values, pa.int64()), always_present=True)
    _same(MappedColumns([MappedColumn(("v",), pa.array(values, pa.int64())), present], len(values)))


def test_nested_objects_keep_the_row_paths_key_order_and_vanish_when_empty() -> None:
    columns = MappedColumns(
        [
            MappedColumn(("ref",), pa.array(["a", "b", None])),
            MappedColumn(("attributes", "colour"), pa.array(["red", None, None])),
            MappedColumn(("type",), constant="LAST_ON_HAND", is_constant=True),
            MappedColumn(("attributes", "size"), [None, None, {"eu": 42}]),
            MappedColumn(("gone",), constant=None, is_constant=True),
            MappedColumn(("kept",), constant=None, is_constant=True, always_present=True),
        ],
        3,
    )
    assert _same(columns) == [
        '{"ref":"a","attributes":{"colour":"red"},"type":"LAST_ON_HAND","kept":null}',
        '{"ref":"b","type":"LAST_ON_HAND","kept":null}',
        '{"attributes":{"size":{"eu":42}},"type":"LAST_ON_HAND","kept":null}',
    ]


def test_every_member_constant_gives_one_text_per_record() -> None:
    columns = MappedColumns([MappedColumn(("a", "b"), constant=[1, "x"], is_constant=True)], 2)
    assert _same(columns) == ['{"a":{"b":[1,"x"]}}'] * 2


def test_numbers_dates_and_booleans_of_other_types_are_written_as_the_row_path_writes_them() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    columns = MappedColumns(
        [
            MappedColumn(("price",), pa.array([1.5, 1e16, None, 0.1])),
            MappedColumn(
                ("exact",), pa.array([Decimal("2.68"), Decimal("7"), None, Decimal("0.1000000000000000055")])
            ),
            MappedColumn(("on",), pa.chunked_array([pa.array([when, None]), pa.array([when, when])])),
            MappedColumn(("ok",), pa.array([True, False, None, True])),
            MappedColumn(("row",), [Decimal("1.10"), "x", None, 3]),
        ],
        4,
    )
    _same(columns)


def test_a_value_json_cannot_hold_sends_the_target_to_the_records() -> None:
    nan = MappedColumns([MappedColumn(("price",), pa.array([1.0, math.nan]))], 2)
    assert nan.json() is None
    in_a_list = MappedColumns([MappedColumn(("price",), [1.0, Decimal("Infinity")])], 2)
    assert in_a_list.json() is None
    no_form = MappedColumns([MappedColumn(("x",), [object(), 1])], 2)
    assert no_form.json() is None


def test_arrays_give_every_field_one_value_per_record() -> None:
    columns = MappedColumns(
        [
            MappedColumn(("a",), pa.chunked_array([pa.array(["x"]), pa.array(["y"])])),
            MappedColumn(("b",), constant=7, is_constant=True),
            MappedColumn(("c",), constant=None, is_constant=True),
            MappedColumn(("d",), [Decimal("1.5"), None]),
        ],
        2,
    )
    assert [a.to_pylist() for a in columns.arrays()] == [
        ["x", "y"],
        [7, 7],
        [None, None],
        [Decimal("1.5"), None],
    ]
    assert columns.targets == [("a",), ("b",), ("c",), ("d",)] and len(columns) == 2


def test_each_encoder_spells_the_values_arrow_does_not_write_its_own_way() -> None:
    columns = MappedColumns(
        [
            MappedColumn(("tiny",), pa.array([1e-7, 2.5])),
            MappedColumn(("ref",), pa.array(['a"b', "c"])),
            MappedColumn(("n",), constant=1e-7, is_constant=True),
        ],
        2,
    )
    records = _records(columns)
    assert (
        columns.json(dumps)
        == [dumps(r) for r in records]
        == ['{"tiny":1e-07,"ref":"a\\"b","n":1e-07}', '{"tiny":2.5,"ref":"c","n":1e-07}']
    )
    assert columns.json() == [dumps_bytes(r).decode() for r in records]
