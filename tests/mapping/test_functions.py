"""The functions of expressions: exact arithmetic, dates, strings; a non-number is an error, never a zero."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from engine.mapping.functions import RUN_CLOCK, ExprError, compile_expression

RECORD = {"a": "10.10", "b": "0.20", "q": "7", "n": 5, "f": 2.5, "s": " Abc-12 ", "d": "2026-01-31T10:00:00Z"}


@pytest.mark.parametrize(
    "expr,expected",
    [
        ("add(a, b)", Decimal("10.30")),
        ("add(q, n, `1`)", 13),
        ("subtract(a, b)", Decimal("9.90")),
        ("subtract(q, n)", 2),
        ("multiply(q, `1.05`)", Decimal("7.35")),
        ("ceil(multiply(q, `1.05`))", 8),
        ("floor(f)", 2),
        ("divide(q, `2`)", Decimal("3.5")),
        ("divide(`6`, `3`)", 2),
        ("round(divide(`7`, `3`), `2`)", Decimal("2.33")),
        ("round(`2.675`, `2`)", Decimal("2.68")),
        ("round(`2.675`, `2`, 'half_even')", Decimal("2.68")),
        ("round(`2.5`)", 3),
        ("abs(subtract(n, q))", 2),
        ("sum([a, b, q])", Decimal("17.30")),
        ("max([q, a, `3`])", "10.10"),
        ("min([q, a, `3`])", 3),
        ("to_decimal(f)", Decimal("2.5")),
        ("subtract(subtract(n, `1`), `1`) > `2`", True),
        ("format_date(d, '%Y-%m-%d')", "2026-01-31"),
        ("add_duration(d, '36h')", "2026-02-01T22:00:00.000Z"),
        ("subtract_duration(d, '1d')", "2026-01-30T10:00:00.000Z"),
        ("date_diff(add_duration(d, '2d'), d, 'd')", 2),
        ("parse_date('31/01/2026', '%d/%m/%Y')", "2026-01-31T00:00:00.000Z"),
        ("split('a;b;c', ';')", ["a", "b", "c"]),
        ("replace(s, '-', '/')", " Abc/12 "),
        ("pad_left(q, `4`, '0')", "0007"),
        ("pad_right(q, `3`, '.')", "7.."),
        ("substring(trim(s), `0`, `3`)", "Abc"),
        ("regex_match(s, '\\d+')", True),
        ("regex_extract(s, '([A-Z])([a-z]+)', `2`)", "bc"),
        ("upper(trim(s))", "ABC-12"),
        ("coalesce(missing, '', b)", "0.20"),
    ],
)
def test_functions(expr, expected) -> None:
    got = compile_expression(expr).search(RECORD)
    assert got == expected and type(got) is type(expected), (got, expected)


@pytest.mark.parametrize(
    "expr,message",
    [
        ("multiply(s, `2`)", "multiply: ' Abc-12 ' is not a number"),
        ("add(a, missing)", "add: None is not a number"),
        ("divide(q, `0`)", "divide: '7' / 0 divides by zero"),
        ("round(a, `2`, 'sideways')", "round: mode 'sideways' is not one of"),
        ("add_duration(d, 'soon')", "add_duration: 'soon' is not a duration"),
        ("format_date('yesterday', '%Y')", "format_date: 'yesterday' is not an ISO-8601 date"),
        ("subtract(a)", "subtract() takes 2 arguments, got 1"),
    ],
)
def test_a_value_the_function_cannot_use_is_an_error_naming_it(expr, message) -> None:
    with pytest.raises(ExprError) as caught:
        compile_expression(expr).search(RECORD)
    assert str(caught.value).startswith(message)


def test_now_is_the_runs_clock() -> None:
    token = RUN_CLOCK.set(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    try:
        assert compile_expression("now()").search({}) == "2026-03-01T12:00:00.000Z"
    finally:
        RUN_CLOCK.reset(token)


def test_in_a_mapping_a_bad_value_rejects_the_record_naming_the_field(tmp_path, write_spec, run_spec) -> None:
    import json

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "s.csv").write_text("sku,onhand,reserved\nA1,10,3\nB2,ten,1\n")
    report = run_spec(
        write_spec(
            """
version: 1
name: atp
source: {type: local, path: in}
parser: {type: csv}
mapping:
  fields:
    sku: {source: sku}
    atp: {expr: "subtract(record.onhand, record.reserved)"}
    buffered: {source: onhand, resolver: {name: math, args: "ceil(value * 1.05)"}}
target: {type: file, writer: jsonl, destination: {type: local, path: out}, name: out.jsonl}
on_error: {max_reject_ratio: 1}
"""
        )
    )
    out = [json.loads(x) for x in (tmp_path / "out" / "out.jsonl").read_text().splitlines()]
    assert out == [{"sku": "A1", "atp": 7, "buffered": 11}]
    [entry] = [json.loads(x) for x in Path(report.rejects_path).read_text().splitlines()]
    assert entry["lineage"]["row"] == 2
    fields = {e["field"]: e["message"] for e in entry["errors"]}
    assert "subtract: 'ten' is not a number" in fields["atp"]
    assert "math: 'ten' is not a number" in fields["buffered"]
