"""The columnar path and the row path give the same answer, record for record and reject for reject.

Each case reads the same CSV bytes twice through the real CSV parser and the
compiled mapping: once with ``columnar`` on (Arrow blocks, fields computed on
columns, rows in doubt through the row path) and once off (the row reader
and the generated code). Outputs (by ``repr``, so ``5`` and ``5.0`` and
``"5"`` differ), the rows they came from, mapping rejects with their
rendered issues, and parse rejects with their lines must all be equal. The
cases are every connector under ``connectors/`` whose parser is CSV, on its
own data files, a table of resolver cases (decimals, leading zeros, empty
text versus missing, time zones, bad values), and files Hypothesis writes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.contracts import ArrowRows, Batch, Item, LateRecords, ResolverOptions
from engine.errors import EngineError
from engine.jsonutil import dumps_bytes
from engine.mapping.columnar.mapped import MappedColumns
from engine.mapping.compiler import CompiledMapping, compile_fields
from engine.parsers.csv import CsvOptions, CsvParser
from engine.registry import default_registries
from engine.spec.compile import compile_file
from engine.spec.loader import SpecDocument

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = {"retailer_id": "1", "run_started": "2026-01-05T10:00:00Z", "run_id": "run-1"}


def _parser(**options: Any) -> CsvParser:
    base: dict[str, Any] = {
        "delimiter": ",",
        "quote": '"',
        "escape": None,
        "encoding": "utf-8",
        "header": True,
        "columns": None,
        "skip_rows": 0,
        "comment": None,
        "ragged_rows": "reject",
        "sniff": False,
        "chunk_size": 3,
    }
    return CsvParser(CsvOptions(**{**base, **options}))


def _run(parser: Any, mapping: CompiledMapping, data: bytes, columnar: bool) -> dict[str, Any]:
    """Everything a user would see of one file: outputs, their rows, rejects of both kinds, and the path taken."""
    parser.columnar = columnar
    mapping.columnar = columnar
    item = Item("file:///in/stock.csv", "stock.csv")
    out: list[tuple[int, str]] = []
    refused: list[tuple[int, int | None, list[str]]] = []
    parsed: list[tuple[int, str, int | None]] = []
    arrow = 0
    on_columns = 0
    error = None
    try:
        for chunk in parser.parse(io.BytesIO(data), item, None):
            arrow += isinstance(chunk.records, ArrowRows)
            records, index, rejects = mapping.map_chunk_late(chunk, CONTEXT)
            if isinstance(records, LateRecords) and records.columns is not None:
                _same_as_columns(records.columns, records)
                on_columns += 1
            out.extend((chunk.positions[i], repr(r)) for i, r in zip(index, records, strict=True))
            refused.extend(
                (chunk.positions[i], chunk.lines[i] if chunk.lines else None, [x.render() for x in issues])
                for i, issues in rejects
            )
            parsed.extend((r.position, r.reason, r.line, repr(r.raw)) for r in chunk.rejects or ())
    except EngineError as exc:  # a file refused as a whole (its header) is refused alike
        error = (type(exc).__name__, str(exc))
    return {
        "out": out,
        "rejects": refused,
        "parse": parsed,
        "error": error,
        "arrow_chunks": arrow,
        "columns": on_columns,
    }


def _same_as_columns(columns: MappedColumns, records: Sequence[dict[str, Any]]) -> None:
    """The columnar form of mapped records says what the records say: as JSON, and field by field."""
    texts = columns.json()
    if texts is not None:
        assert texts == [dumps_bytes(r).decode() for r in records]
    for column, array in zip(columns.columns, columns.arrays(), strict=True):
        assert len(array) == len(records)
        for r, value in zip(records, array.to_pylist(), strict=True):
            node: Any = r
            for key in column.target:
                node = node.get(key) if isinstance(node, dict) else None
            assert node == value or (node is None and value is None), column.target


def assert_same(parser: Any, mapping: CompiledMapping, data: bytes) -> dict[str, Any]:
    """Both paths agree on ``data``; returns the columnar run (for what it took)."""
    columnar = _run(parser, mapping, data, True)
    rows = _run(parser, mapping, data, False)
    assert rows["arrow_chunks"] == 0
    for key in ("out", "rejects", "parse", "error"):
        assert columnar[key] == rows[key], key
    return columnar


def _mapping(fields: dict[str, Any], timezone: str | None = None) -> CompiledMapping:
    doc = SpecDocument("spec.yaml", {"fields": fields}, "", ROOT)
    compiled, diags = compile_fields(
        doc,
        fields,
        ("mapping", "fields"),
        default_registries().resolvers,
        ResolverOptions(timezone=timezone),
    )
    assert compiled is not None, [d.message for d in diags]
    return compiled


# -- every CSV connector on its own data --------------------------------------------------


def _column_connectors() -> list[tuple[Path, Any, str]]:
    """Every connector whose parser can give Arrow rows (CSV, Parquet), mapping of its own, data files beside it."""
    found = []
    for spec in sorted(ROOT.glob("connectors/**/*.yaml")):
        text = spec.read_text()
        for kind in ("csv", "parquet"):
            if (
                f"type: {kind}" not in text
                or "mapping:" not in text
                or not list(spec.parent.glob(f"**/*.{kind}"))
            ):
                continue
            plan = compile_file(spec)
            if plan.parser is not None and plan.parser.name == kind and plan.mapping is not None:
                found.append((spec, plan, kind))
    return found


CONNECTORS = _column_connectors()


def test_the_connectors_are_found() -> None:
    kinds = [kind for _spec, _plan, kind in CONNECTORS]
    assert kinds.count("csv") >= 15 and kinds.count("parquet") >= 1


@pytest.mark.parametrize(
    ("spec", "plan", "kind"), CONNECTORS, ids=[p.parent.name + "/" + p.stem for p, _plan, _kind in CONNECTORS]
)
def test_connector_outputs_and_rejects_are_the_same_on_both_paths(spec: Path, plan: Any, kind: str) -> None:
    for data_file in sorted(spec.parent.glob(f"**/*.{kind}")):
        assert_same(plan.parser, plan.mapping, data_file.read_bytes())


# -- resolver cases -----------------------------------------------------------------------

DECIMALS = [
    "2.675",
    "-2.675",
    "2.5",
    "-2.5",
    "3.5",
    "-0.004",
    "0",
    "-0",
    "0.125",
    "999999999999999999.9999995",
]
DECIMALS += ["123456789012345678.123456789012345678", "1.", ".5", "+1", "1e3", " 1", "1_0", "-", "٣"]

CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "trim-upper",
        {"v": {"source": "a", "resolver": ["trim", "upper"]}},
        [" ab ", "", "ß x", "\x1cq\x1f", "é"],
    ),
    (
        "trim-chars",
        {"v": {"source": "a", "resolver": {"name": "trim", "args": {"chars": "0"}}}},
        ["007", "0", "x"],
    ),
    ("lower", {"v": {"source": "a", "resolver": "lower"}}, ["AB", "İ", ""]),
    (
        "int",
        {"v": {"source": "a", "resolver": "int"}},
        [
            *("007", "-0", "+5", "5.0", "5.5", " 7 ", "", "  ", "1_000", "١", "99999999999999999999", "ten"),
            *("--5", "-", "5-", "-5", "123456789012345678", "-123456789012345678", "1234567890123456789"),
        ],
    ),
    (
        "int-required",
        {"v": {"source": "a", "required": True, "resolver": "int"}},
        ["1", "", " ", "x", "0012"],
    ),
    (
        "float",
        {"v": {"source": "a", "resolver": "float"}},
        ["0.1", "-0", "-0.0", "2.675", "1e3", "nan", "inf", "", "007.50", "1.7976931348623157", ".5", "5."],
    ),
    (
        "decimal",
        {"v": {"source": "a", "resolver": {"name": "decimal", "args": {"scale": 2}}}},
        ["2.675", "007.5", "", "x", "-0.001"],
    ),
    *(
        (
            f"decimal-{rounding}-{scale}",
            {
                "v": {
                    "source": "a",
                    "resolver": {"name": "decimal", "args": {"scale": scale, "rounding": rounding}},
                }
            },
            DECIMALS,
        )
        for rounding in ("half_up", "half_even", "half_down", "up", "down", "ceiling", "floor")
        for scale in (0, 2, 6)
    ),
    (
        "decimal-other-outputs",
        {
            "n": {"source": "a", "resolver": {"name": "decimal", "args": {"scale": 2, "as": "number"}}},
            "e": {"source": "a", "resolver": "decimal"},
        },
        ["2.675", "007.50", ""],
    ),
    (
        "datetime",
        {"v": {"source": "a", "resolver": "datetime"}},
        [
            "2026-01-05T10:00:00Z",
            "2026-02-30T10:00:00Z",
            "2026-01-05T10:00:00",
            "2026-01-05T10:00:00+02:00",
            "2026-01-05",
            "0000-01-01T00:00:00Z",
            "2026-01-05T24:00:00Z",
            "2026-01-05T10:00:60Z",
            "",
            "soon",
        ],
    ),
    (
        "datetime-zone",
        {"v": {"source": "a", "resolver": {"name": "datetime", "args": {"timezone": "Europe/London"}}}},
        ["2026-06-05T10:00:00Z", "2026-06-05T10:00:00", "2026-03-29T01:30:00"],
    ),
    (
        "datetime-to-zone",
        {"v": {"source": "a", "resolver": {"name": "datetime", "args": {"to_timezone": "Australia/Sydney"}}}},
        ["2026-06-05T10:00:00Z", "2026-06-05"],
    ),
    (
        "datetime-format",
        {"v": {"source": "a", "resolver": {"name": "datetime", "args": {"formats": ["%d/%m/%Y %H:%M"]}}}},
        [
            "05/01/2026 10:30",
            "5/1/2026 10:30",
            "30/02/2026 10:00",
            "05/01/0999 10:00",
            " 05/01/2026 10:30",
            "",
            "x",
        ],
    ),
    (
        "date-format",
        {"v": {"source": "a", "resolver": {"name": "date", "args": {"formats": ["%Y%m%d"]}}}},
        ["20260105", "2026015", "20261305", "20240229", "20230229", ""],
    ),
    (
        "datetime-formats",
        {
            "v": {
                "source": "a",
                "resolver": {"name": "datetime", "args": {"formats": ["%d/%m/%Y", "%Y-%m-%d"]}},
            }
        },
        ["05/01/2026", "2026-01-05", "x"],
    ),
    (
        "datetime-format-zone",
        {
            "v": {
                "source": "a",
                "resolver": {
                    "name": "datetime",
                    "args": {"formats": ["%d/%m/%Y %H:%M"], "timezone": "Europe/London"},
                },
            }
        },
        ["05/06/2026 10:30", "29/03/2026 01:30"],
    ),
    ("date", {"v": {"source": "a", "resolver": "date"}}, ["2026-01-05", "2026-02-29", "2024-02-29", "x", ""]),
    (
        "concat",
        {
            "v": {
                "source": "a",
                "resolver": ["trim", "upper", {"name": "concat", "args": {"paths": ["b"], "sep": ":"}}],
            }
        },
        ["a", "", " ", "é", "\t", "\x1c", " \x1fa"],
    ),
    ("default", {"v": {"source": "a", "default": "NONE"}}, ["", "x", " "]),
    (
        "default-resolver",
        {"v": {"source": "a", "resolver": {"name": "default", "args": {"value": "NONE"}}}},
        ["", "x", " ", "\x1f", "\u00a0", "é"],
    ),
    (
        "coalesce",
        {"v": {"source": "a", "resolver": {"name": "coalesce", "args": {"paths": ["b"]}}}},
        ["", "x", " ", "\u2003", "é"],
    ),
    (
        "coalesce-missing-column",
        {"v": {"source": "a", "resolver": {"name": "coalesce", "args": {"paths": ["nope", "b"]}}}},
        ["", "x"],
    ),
    ("enum", {"v": {"source": "a", "resolver": "upper", "enum": ["A", "B"]}}, ["a", "b", "c", ""]),
    ("pattern", {"v": {"source": "a", "pattern": "[A-Z]{2}[0-9]+"}}, ["AB1", "ab1", "AB", "ÀB1", ""]),
    ("pattern-inline-flag", {"v": {"source": "a", "pattern": "(?i)ab[0-9]"}}, ["AB1", "ab2", "abc", "ÅB1"]),
    ("pattern-lookahead", {"v": {"source": "a", "pattern": "(?!x)[a-z]+"}}, ["ab", "xb", ""]),
    ("bounds", {"v": {"source": "a", "resolver": "int", "min": 0, "max": 10}}, ["0", "10", "11", "-1", ""]),
    ("constant", {"v": {"source": "a"}, "k": {"value": "LAST_ON_HAND"}, "n": {"value": 5}}, ["x", ""]),
    ("missing-column", {"v": {"source": "nope", "default": "d"}, "w": {"source": "nope"}}, ["x"]),
    (
        "nested-target",
        {"attributes.v": {"source": "a", "resolver": "upper"}, "w": {"source": "b"}},
        ["x", ""],
    ),
    (
        "when",
        {"v": {"source": "a", "when": "record.b != ''"}, "u": {"source": "a", "resolver": "upper"}},
        ["x", ""],
    ),
    (
        "concat-columns",
        {"v": {"source": "a", "resolver": {"name": "concat", "args": {"paths": ["b", "a"], "sep": "-"}}}},
        ["x", "", " ", "é", "y"],
    ),
    (
        "template",
        {
            "v": {"source": "a", "resolver": {"name": "template", "args": {"template": "{b}:{}/{a}"}}},
            "w": {"source": "a", "resolver": {"name": "template", "args": {"template": "{{{b}}}-é"}}},
        },
        ["x", "", " ", "é", "y"],
    ),
    (
        "template-missing-empty",
        {
            "v": {
                "source": "a",
                "resolver": {"name": "template", "args": {"template": "<{}|{b}|{nope}>", "missing": "empty"}},
            },
            "w": {"source": "nope", "resolver": {"name": "template", "args": {"template": "{a}"}}},
        },
        ["x", "", " ", "é", "\u2003"],
    ),
    (
        "when-and-or-required",
        {
            "v": {
                "source": "a",
                "resolver": "int",
                "required": True,
                "when": "record.b == 'q' && record.a != 'x' || record.a == '7'",
            },
            "w": {"source": "a", "when": "!(record.b)", "resolver": "upper"},
        },
        ["1", "x", "7", "", "y", "2", "é"],
    ),
    (
        "when-literals",
        {
            "n": {"source": "a", "when": "record.a == `5`"},
            "m": {"source": "a", "when": "record.nope == null"},
            "p": {"source": "a", "when": 'record.nope != `null` || record.a == `"5"`'},
            "k": {"value": 5, "when": "record.b"},
            "t": {"value": "T", "when": "`0`"},
            "f": {"value": "F", "when": "''"},
        },
        ["5", "6", ""],
    ),
    (
        "when-without-a-columnar-form",
        {"v": {"source": "a", "when": "regex_match(record.a, '^[0-9]+$')", "resolver": "int"}},
        ["1", "x"],
    ),
    (
        "bool",
        {"v": {"source": "a", "resolver": "bool"}, "u": {"source": "b", "resolver": "int"}},
        ["yes", "no", "x"],
    ),
]


def _csv(values: list[str], other: str = "q") -> bytes:
    lines = ["a,b"] + [f"{v},{other if n % 2 else ''}" for n, v in enumerate(values)]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(("fields", "values"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_resolver_cases_are_the_same_on_both_paths(fields: dict[str, Any], values: list[str]) -> None:
    mapping = _mapping(fields, timezone=None)
    got = assert_same(_parser(), mapping, _csv(values))
    assert got["arrow_chunks"] > 0  # the columnar path was taken, rows in doubt or not


def test_values_in_doubt_keep_their_located_rejects() -> None:
    mapping = _mapping({"qty": {"source": "a", "required": True, "resolver": "int"}})
    got = assert_same(_parser(), mapping, _csv(["1", "ten", "3", ""]))
    assert got["out"] == [(1, "{'qty': 1}"), (3, "{'qty': 3}")]
    assert got["rejects"] == [
        (2, 3, ["qty: 'ten' is not an integer (resolver int, source a)"]),
        (4, 5, ["qty: required value is missing (source a)"]),
    ]


def test_files_arrow_cannot_read_exactly_fall_back_to_the_row_reader_with_the_files_own_rows() -> None:
    mapping = _mapping({"v": {"source": "a", "resolver": "upper"}, "w": {"source": "b"}})
    big = b"".join(b"x%d,y\n" % n for n in range(20))
    cases = {
        "quoted": b'a,b\nx,"y,z"\n',
        "ragged late": b"a,b\n" + big + b"x,y,z\nlast,one\n",
        "blank line": b"a,b\nx,y\n\nz,w\n",
        "blank line, CRLF": b"a,b\r\nx,y\r\n\r\nz,w\r\n",
        "blank line, one column": b"a\nx\n\nz\n",
        "trailing blank lines": b"a,b\nx,y\n\n\n",
        "blank line before the header": b"\na,b\nx,y\n",
        "lone CR": b"a,b\rx,y\rz,w\r",
        "CRLF": b"a,b\r\nx,y\r\nz,w\r\n",
        "bad bytes": b"a,b\nx,\xff\nz,w\n",
        "BOM": b"\xef\xbb\xbfa,b\nx,y\n",
        "no final newline": b"a,b\nx,y\nz,w",
        "header only": b"a,b\n",
        "empty": b"",
        "duplicate header": b"a,a\nx,y\n",
    }
    for name, data in cases.items():
        try:
            assert_same(_parser(), mapping, data)
        except Exception as exc:
            raise AssertionError(name) from exc


@pytest.mark.parametrize(
    "options",
    [{"skip_rows": 2}, {"header": False, "columns": ["a", "b"]}, {"columns": ["p", "q"]}, {"delimiter": ";"}],
    ids=["skip_rows", "no header", "renamed", "semicolon"],
)
def test_parser_options_read_the_same_on_both_paths(options: dict[str, Any]) -> None:
    mapping = _mapping(
        {"v": {"source": "a", "resolver": "upper"}, "p": {"source": "p"}, "w": {"source": "b"}}
    )
    sep = options.get("delimiter", ",").encode()
    data = b"first\nsecond\n" if "skip_rows" in options else b""
    data += b"a,b\n".replace(b",", sep) if options.get("header", True) else b""
    data += b"".join(b"x%d%sy\n" % (n, sep) for n in range(7))
    got = assert_same(_parser(**options), mapping, data)
    assert got["arrow_chunks"] > 0 and got["out"]


def test_a_header_longer_than_a_block_is_read_whole_by_the_row_reader(monkeypatch: Any) -> None:
    from engine.parsers import _arrow_blocks

    monkeypatch.setattr(_arrow_blocks, "BLOCK", 8)
    mapping = _mapping({"v": {"source": "a", "resolver": "upper"}, "w": {"source": "long, quoted"}})
    data = b'a,"long, quoted",' + b"c" * 40 + b"\nx,y,z\n" + b"".join(b"r%d,s,t\n" % n for n in range(9))
    got = assert_same(_parser(), mapping, data)
    assert got["arrow_chunks"] == 0 and len(got["out"]) == 10


def test_a_fallback_block_keeps_the_rows_and_lines_of_the_file(monkeypatch: Any) -> None:
    from engine.parsers import _arrow_blocks

    monkeypatch.setattr(_arrow_blocks, "BLOCK", 64)
    mapping = _mapping({"v": {"source": "a", "required": True, "resolver": "int"}})
    rows = [str(n) for n in range(40)]
    rows[30] = '"3,1"'  # a quote: that block and the rest go to the row reader
    rows[35] = "x"
    got = assert_same(_parser(), mapping, _csv(rows))
    assert got["arrow_chunks"] > 0
    assert [r[:2] for r in got["rejects"]] == [(31, 32), (36, 37)]


def test_templates_and_concats_of_columns_are_computed_on_columns() -> None:
    mapping = _mapping(
        {
            "t": {"source": "a", "resolver": {"name": "template", "args": {"template": "{b}:{}"}}},
            "c": {"source": "a", "resolver": {"name": "concat", "args": {"paths": ["b", "a"]}}},
            "r": {"source": "a", "resolver": {"name": "template", "args": {"template": "{$file.name}"}}},
        }
    )
    assert mapping.columnar_for(("a", "b")).columnar_fields == ["t", "c"]


def test_decimals_to_a_scale_as_text_are_computed_on_columns() -> None:
    mapping = _mapping(
        {
            "d": {"source": "a", "resolver": {"name": "decimal", "args": {"scale": 2}}},
            "n": {"source": "a", "resolver": {"name": "decimal", "args": {"scale": 2, "as": "number"}}},
            "e": {"source": "a", "resolver": "decimal"},
        }
    )
    assert mapping.columnar_for(("a", "b")).columnar_fields == ["d"]


def test_fields_with_a_when_that_compares_columns_are_computed_on_columns() -> None:
    mapping = _mapping(
        {
            "v": {"source": "a", "when": "record.b == 'q' || !(record.a)", "resolver": "upper"},
            "w": {"source": "a", "when": "length(record.a) > `1`"},
        }
    )
    assert mapping.columnar_for(("a", "b")).columnar_fields == ["v"]


def test_a_field_without_a_columnar_form_runs_row_by_row_beside_the_others() -> None:
    mapping = _mapping(
        {
            "v": {"source": "a", "resolver": "upper"},
            "w": {"source": "b", "resolver": {"name": "pad", "args": {"width": 3}}},
        }
    )
    table_form = mapping.columnar_for(("a", "b"))
    assert table_form.columnar_fields == ["v"]
    assert_same(_parser(), mapping, _csv(["x", "y", "z"]))


CELL = st.one_of(
    st.sampled_from(
        ["", " ", "0", "007", "-0", "5.5", "1e3", "ten", "AB1", "2026-01-05T10:00:00Z", "é", "\x1f"]
    ),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='",\n\r\x00'), max_size=5
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(CELL, CELL), min_size=1, max_size=12))
def test_generated_files_are_the_same_on_both_paths(rows: list[tuple[str, str]]) -> None:
    mapping = _mapping(
        {
            "sku": {"source": "a", "required": True, "resolver": ["trim", "upper"]},
            "qty": {"source": "b", "resolver": "int"},
            "price": {"source": "b", "resolver": "float"},
            "at": {"source": "a", "resolver": "datetime"},
            "ref": {
                "source": "a",
                "resolver": ["trim", {"name": "concat", "args": {"paths": ["b"], "sep": ":"}}],
            },
            "kind": {"source": "b", "default": "NONE", "enum": ["NONE", "0", "007"]},
        }
    )
    data = ("a,b\n" + "".join(f"{a},{b}\n" for a, b in rows)).encode()
    assert_same(_parser(), mapping, data)


def test_records_mapped_on_columns_are_built_when_a_target_first_reads_them() -> None:
    mapping = _mapping({"v": {"source": "a", "resolver": "upper"}, "w": {"source": "b"}})
    parser = _parser(chunk_size=100)
    parser.columnar = True
    chunk = next(iter(parser.parse(io.BytesIO(_csv(["x", "y"])), Item("file:///s.csv", "s.csv"), None)))
    records, index, rejects = mapping.map_chunk_late(chunk, CONTEXT)
    assert isinstance(records, LateRecords) and len(records) == 2 and index == [0, 1] and not rejects
    calls = []

    def make() -> list[dict[str, Any]]:
        calls.append(1)
        return list(records)

    batch = Batch(chunk, LateRecords(2, make), index)
    assert len(batch) == 2 and not calls  # counting builds nothing
    assert batch.records == [{"v": "X", "w": ""}, {"v": "Y", "w": "q"}]
    assert batch.records is batch.records and len(calls) == 1


# -- Parquet ---------------------------------------------------------------------------------


def _parquet(table: Any, row_group_size: int = 4) -> bytes:
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=row_group_size)
    return sink.getvalue()


def _parquet_parser() -> Any:
    from engine.parsers.parquet import ParquetOptions, ParquetParser

    return ParquetParser(
        ParquetOptions(
            columns=None,
            chunk_size=3,
            max_row_group_bytes="256MiB",
            max_expansion=1000,
            max_record_bytes="64MiB",
        )
    )


PARQUET_FIELDS = {
    "sku": {"source": "sku", "required": True, "resolver": ["trim", "upper"]},
    "qty": {"source": "qty", "resolver": "int"},
    "qtyText": {"source": "qty_text", "resolver": "int"},
    "price": {"source": "price", "resolver": "float"},
    "at": {"source": "at", "resolver": "datetime"},
    "day": {"source": "day", "resolver": "date"},
    "ref": {
        "source": "sku",
        "resolver": ["trim", {"name": "concat", "args": {"paths": ["loc"], "sep": ":"}}],
    },
    "loc": {"source": "loc", "default": "NONE", "enum": ["L1", "L2", "NONE"]},
    "amount": {"source": "amount"},
    "ok": {"source": "ok"},
    "type": {"value": "LAST_ON_HAND"},
    "qtyUpper": {"source": "qty", "resolver": "upper"},  # a text resolver given numbers: row by row
    "okText": {"source": "ok", "resolver": "trim"},
}


def test_parquet_files_are_the_same_on_both_paths() -> None:
    import datetime as dt
    import decimal

    import pyarrow as pa

    table = pa.table(
        {
            "sku": [" a ", "b", None, "é", "", "c", "d"],
            "qty": pa.array([1, None, 3, -4, 5, 6, 7], pa.int64()),
            "qty_text": ["007", "x", "", None, "-0", "5.0", "8"],
            "price": pa.array([1.5, None, -0.0, 2.675, 3.0, 0.1, 9.0], pa.float64()),
            "at": pa.array(
                [
                    dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC),
                    None,
                    dt.datetime(2026, 2, 28, 23, 59, 59, tzinfo=dt.UTC),
                ]
                + [dt.datetime(2026, 3, 1, tzinfo=dt.UTC)] * 4,
                pa.timestamp("s", tz="UTC"),
            ),
            "day": pa.array([dt.date(2026, 1, 5), None] + [dt.date(2024, 2, 29)] * 5, pa.date32()),
            "loc": ["L1", None, "L3", "", "L2", "L1", "L2"],
            "amount": pa.array(
                [decimal.Decimal("1.20"), None] + [decimal.Decimal("0.05")] * 5, pa.decimal128(6, 2)
            ),
            "ok": [True, False, None, True, True, False, True],
        }
    )
    mapping = _mapping(PARQUET_FIELDS)
    got = assert_same(_parquet_parser(), mapping, _parquet(table))
    assert got["arrow_chunks"] > 0 and got["out"] and got["rejects"]
    on_columns = mapping.columnar_for(tuple(table.column_names)).columnar_fields
    assert {"sku", "qtyText", "at", "day", "ref", "loc", "type"} <= set(on_columns)  # qty, price: not text


def test_parquet_with_nested_columns_stays_in_dicts() -> None:
    import pyarrow as pa

    table = pa.table({"sku": ["a", "b"], "tags": [["x"], []]})
    mapping = _mapping({"sku": {"source": "sku", "resolver": "upper"}, "first": {"source": "tags[0]"}})
    got = assert_same(_parquet_parser(), mapping, _parquet(table))
    assert got["arrow_chunks"] == 0 and got["out"]


def test_without_pyarrow_csv_specs_map_row_by_row(monkeypatch: Any, tmp_path: Path) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now fails, as without the extra
    for name in [m for m in sys.modules if m.startswith("engine.mapping.columnar")]:
        monkeypatch.delitem(sys.modules, name)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "version: 1\nname: s\nsource: {type: local, path: in}\nparser: {type: csv}\n"
        "mapping: {fields: {v: {source: a, resolver: upper}}}\ntarget: {type: 'null'}\n"
    )
    plan = compile_file(spec)
    assert plan.parser is not None and plan.parser.columnar is False
    got = _run(plan.parser, plan.mapping, _csv(["x"]), False)
    assert got["out"] == [(1, "{'v': 'X'}")]
