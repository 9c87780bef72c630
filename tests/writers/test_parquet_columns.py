"""The Parquet writer infers a column's type from a few of its values: the type all of them give."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.mapping.columnar.mapped import MappedColumn, MappedColumns
from engine.writers._arrow_types import infer
from engine.writers.parquet import _first, _samples


def _column(values: list, kind) -> MappedColumns:
    return MappedColumns([MappedColumn(("v",), pa.array(values, kind))], len(values))


def _agrees(values: list, kind) -> None:
    columns = _column(values, kind)
    column = columns.columns[0]
    assert infer(_samples(columns, column)) == infer(columns.array(column).to_pylist())
    first = next((i for i, v in enumerate(values) if v is not None), None)
    assert _first(column, len(values)) == first


def _with_nulls(values):
    return st.lists(st.one_of(st.none(), values), max_size=30)


@settings(max_examples=150, deadline=None)
@given(_with_nulls(st.integers(-(2**63), 2**63 - 1)))
def test_integers(values) -> None:
    _agrees(values, pa.int64())


@settings(max_examples=100, deadline=None)
@given(_with_nulls(st.integers(0, 2**64 - 1)))
def test_unsigned_integers_past_int64(values) -> None:
    _agrees(values, pa.uint64())


@settings(max_examples=150, deadline=None)
@given(_with_nulls(st.decimals(min_value=-(10**9), max_value=10**9, places=3, allow_nan=False)))
def test_decimals(values) -> None:
    _agrees(values, pa.decimal128(13, 3))


@settings(max_examples=100, deadline=None)
@given(_with_nulls(st.one_of(st.text(), st.just(""))))
def test_text(values) -> None:
    _agrees(values, pa.string())


@settings(max_examples=50, deadline=None)
@given(_with_nulls(st.floats()))
def test_floats(values) -> None:
    _agrees(values, pa.float64())


def test_booleans_dates_and_times() -> None:
    _agrees([None, True, False], pa.bool_())
    _agrees([None, date(2024, 1, 31)], pa.date32())
    _agrees([datetime(2024, 1, 31, 10, tzinfo=UTC), None], pa.timestamp("ms", "UTC"))
    _agrees([datetime(2024, 1, 31, 10), None], pa.timestamp("us"))
    _agrees([None, None], pa.string())
    _agrees([Decimal("0.000"), Decimal("-0.001")], pa.decimal128(5, 3))
