"""JSON Lines read with Arrow and mapped on columns give what the row reader and row mapping give.

The same bytes go through the real JSON Lines parser twice, as in
``test_columnar.py``: with ``columnar`` on (Arrow blocks where every line is
a flat object of text and nulls with the first line's keys, rows in doubt
through the row path) and off (the row reader, dicts, the generated code).
Outputs, mapping rejects with row and line, and parse rejects must be equal.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.parsers import _arrow_blocks
from engine.parsers.jsonl import JsonlOptions, JsonlParser
from tests.mapping.test_columnar import CASES, _mapping, assert_same

FIELDS = {
    "sku": {"source": "a", "required": True, "resolver": ["trim", "upper"]},
    "qty": {"source": "b", "resolver": "int"},
    "price": {"source": "b", "resolver": "float"},
    "ref": {"source": "a", "resolver": ["trim", {"name": "concat", "args": {"paths": ["b"], "sep": ":"}}]},
    "kind": {"source": "b", "default": "NONE", "enum": ["NONE", "0", "007"]},
}


def _parser(**options: Any) -> JsonlParser:
    base: dict[str, Any] = {"encoding": "utf-8", "chunk_size": 3, "max_line_bytes": 64 * 1024 * 1024}
    return JsonlParser(JsonlOptions(**{**base, **options}))


def _jsonl(rows: list[dict[str, Any]], **dumps: Any) -> bytes:
    return "".join(json.dumps(r, **dumps) + "\n" for r in rows).encode()


@pytest.mark.parametrize(("name", "fields", "values"), CASES, ids=[c[0] for c in CASES])
def test_resolver_cases_are_the_same_on_both_paths(
    name: str, fields: dict[str, Any], values: list[str]
) -> None:
    rows = [{"a": v, "b": v if n % 3 else None} for n, v in enumerate(values)]
    got = assert_same(_parser(), _mapping(fields), _jsonl(rows))
    assert got["arrow_chunks"] > 0


def test_values_in_doubt_keep_their_located_rejects() -> None:
    mapping = _mapping({"qty": {"source": "a", "required": True, "resolver": "int"}})
    got = assert_same(_parser(), mapping, _jsonl([{"a": "1"}, {"a": "ten"}, {"a": "3"}, {"a": None}]))
    assert got["arrow_chunks"] > 0
    assert got["out"] == [(1, "{'qty': 1}"), (3, "{'qty': 3}")]
    assert got["rejects"] == [
        (2, 2, ["qty: 'ten' is not an integer (resolver int, source a)"]),
        (4, 4, ["qty: required value is missing (source a)"]),
    ]


PLAIN = b'{"a": "x", "b": "1"}\n{"a":"y","b":null}\n'
FALLBACKS = {
    "a number": PLAIN + b'{"a": "z", "b": 7}\n',
    "a big number": b'{"a": "z", "b": 123456789012345678901234567890}\n' + PLAIN,
    "a float": PLAIN + b'{"a": "z", "b": 1.10}\n',
    "a boolean": PLAIN + b'{"a": "z", "b": true}\n',
    "a nested object": PLAIN + b'{"a": "z", "b": {"c": "1"}}\n',
    "an array": PLAIN + b'{"a": "z", "b": ["1"]}\n',
    "NaN": PLAIN + b'{"a": "z", "b": NaN}\n',
    "a bad line in the middle": PLAIN + b'{"a": "z", "b": \n' + PLAIN,
    "a blank line": PLAIN + b"\n" + PLAIN,
    "a blank line with spaces": PLAIN + b"  \n" + PLAIN,
    "trailing blank lines": PLAIN + b"\n\n",
    "a blank first line": b"\n" + PLAIN,
    "a missing key": PLAIN + b'{"a": "z"}\n',
    "an extra key": PLAIN + b'{"a": "z", "b": "2", "c": "3"}\n',
    "keys in another order": PLAIN + b'{"b": "2", "a": "z"}\n',
    "a repeated key": PLAIN + b'{"a": "z", "a": "w", "b": "2"}\n',
    "a repeated key on the first line": b'{"a": "z", "a": "w", "b": "2"}\n' + PLAIN,
    "two objects on a line": PLAIN + b'{"a": "z", "b": "2"} {"a": "w", "b": "3"}\n',
    "not an object": PLAIN + b'["z", "2"]\n',
    "text, not an object": b'"z"\n' + PLAIN,
    "an empty object": b"{}\n" + PLAIN,
    "unicode escapes": PLAIN + b'{"a": "\\u00e9\\u00df\\/\\"\\\\\\n\\t", "b": "\\u0031"}\n',
    "a surrogate pair": PLAIN + b'{"a": "\\ud83d\\ude00", "b": "1"}\n',
    "a lone surrogate": PLAIN + b'{"a": "\\ud800", "b": "1"}\n',
    "a NUL escape": PLAIN + b'{"a": "\\u0000", "b": "1"}\n',
    "a raw control character": PLAIN + b'{"a": "x\x01", "b": "1"}\n',
    "a key spelt with an escape": PLAIN + b'{"\\u0061": "z", "b": "2"}\n',
    "CRLF": PLAIN.replace(b"\n", b"\r\n"),
    "a CR inside a line": PLAIN + b'{"a": "z",\r"b": "2"}\n',
    "bad bytes": PLAIN + b'{"a": "\xff", "b": "2"}\n',
    "BOM": b"\xef\xbb\xbf" + PLAIN,
    "BOM on a later line": PLAIN + b'\xef\xbb\xbf{"a": "z", "b": "2"}\n',
    "no final newline": PLAIN + b'{"a": "z", "b": "2"}',
    "tabs and spaces": PLAIN + b'\t{ "a" :\t"z" , "b":"2" }  \n',
    "non-ASCII text": PLAIN + '{"a": "é€😀", "b": "٣"}\n'.encode(),
    "empty": b"",
    "only newlines": b"\n\n",
}


@pytest.mark.parametrize("block", [1 << 20, 48], ids=["one block", "small blocks"])
@pytest.mark.parametrize("data", FALLBACKS.values(), ids=FALLBACKS.keys())
def test_lines_arrow_cannot_read_exactly_go_to_the_row_reader_with_the_files_own_rows(
    data: bytes, block: int, monkeypatch: Any
) -> None:
    monkeypatch.setattr(_arrow_blocks, "BLOCK", block)
    assert_same(_parser(), _mapping(FIELDS), PLAIN * 3 + data if block < 100 else data)


def test_plain_lines_are_read_with_arrow_and_a_later_odd_line_falls_back(monkeypatch: Any) -> None:
    monkeypatch.setattr(_arrow_blocks, "BLOCK", 64)
    mapping = _mapping({"v": {"source": "a", "required": True, "resolver": "int"}})
    rows: list[dict[str, Any]] = [{"a": str(n)} for n in range(40)]
    rows[30] = {"a": 31}  # a number: that block and the rest go to the row reader
    rows[35] = {"a": "x"}
    data = _jsonl(rows)
    got = assert_same(_parser(), mapping, data)
    assert got["arrow_chunks"] > 0
    assert [r[:2] for r in got["rejects"]] == [(36, 36)]


def test_a_line_longer_than_max_line_bytes_is_rejected_alike() -> None:
    long = _jsonl([{"a": "x" * 2000, "b": "1"}])
    got = assert_same(_parser(max_line_bytes=1024), _mapping(FIELDS), PLAIN + long + PLAIN)
    assert [p[:3] for p in got["parse"]] == [(3, "line is longer than 1024 bytes", 3)]


def test_a_file_of_plain_lines_is_read_with_arrow_whole() -> None:
    rows = [{"a": f" s{n} ", "b": str(n) if n % 4 else None} for n in range(50)]
    for dumps in ({}, {"separators": (",", ":")}, {"ensure_ascii": False}):
        mapping = _mapping({"sku": FIELDS["sku"], "qty": FIELDS["qty"], "b": {"source": "b"}})
        got = assert_same(_parser(), mapping, _jsonl(rows, **dumps))
        assert got["arrow_chunks"] == 17 and got["columns"] == 17


def test_a_non_utf8_encoding_is_read_row_by_row() -> None:
    got = assert_same(_parser(encoding="latin-1"), _mapping(FIELDS), PLAIN)
    assert got["arrow_chunks"] == 0


TEXT = st.one_of(
    st.sampled_from(["", " ", "0", "007", "-0", "5.5", "1e3", "ten", "AB1", "é", "\x1f", "\\", '"']),
    st.text(max_size=5),
)
VALUE = st.one_of(TEXT, st.none(), st.integers(), st.booleans(), st.floats(allow_nan=False))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.fixed_dictionaries({"a": TEXT, "b": st.one_of(TEXT, st.none())}), min_size=1, max_size=12),
    st.lists(st.tuples(st.integers(0, 12), st.dictionaries(st.sampled_from("abc"), VALUE)), max_size=2),
    st.sampled_from([{}, {"ensure_ascii": False}, {"separators": (",", ":")}]),
    st.booleans(),
)
def test_generated_files_are_the_same_on_both_paths(
    rows: list[dict[str, Any]], odd: list[tuple[int, dict[str, Any]]], dumps: dict[str, Any], crlf: bool
) -> None:
    lines = [json.dumps(r, **dumps) for r in rows]
    for at, record in odd:
        lines.insert(at, json.dumps(record, **dumps))
    data = "".join(line + ("\r\n" if crlf else "\n") for line in lines).encode()
    assert_same(_parser(), _mapping(FIELDS), data)


def test_sources_the_lines_do_not_hold_are_missing_alike() -> None:
    mapping = _mapping(
        {
            "gone": {"source": "c", "default": "NONE"},
            "deep": {"source": "a.b"},
            "whole": {
                "source": "a",
                "resolver": {"name": "concat", "args": {"paths": ["c", "b"], "sep": "-"}},
            },
            "n": {"value": 5},
        }
    )
    got = assert_same(_parser(), mapping, PLAIN * 4)
    assert got["arrow_chunks"] > 0 and len(got["out"]) == 8


RUN = """
version: 1
name: out
source: {type: local, path: inbox, pattern: "*.jsonl"}
parser: {type: jsonl, chunk_size: 7}
state: {dedupe: none}
mapping:
  fields:
    skuRef: {source: sku, required: true, resolver: [trim, upper]}
    qty: {source: qty, resolver: int}
    price: {source: price, resolver: float}
    note: {source: note}
    type: {value: LAST_ON_HAND}
target:
  type: file
  destination: {type: local, path: out}
  name: "stock-{part:02d}.{ext}"
  writer: jsonl
  max_records: 25
"""


@pytest.mark.parametrize("odd", [None, 40], ids=["plain", "a number on line 40"])
def test_a_run_writes_the_same_files_from_a_jsonl_input(tmp_path, write_spec, run_spec, odd) -> None:
    rows: list[dict[str, Any]] = [
        {
            "sku": f" sku-{i:03d} ",
            "qty": str(i * 7 - 20),
            "price": f"{i}.5",
            "note": [None, "é", "a\tb"][i % 3],
        }
        for i in range(1, 61)
    ]
    if odd is not None:
        rows[odd - 1]["qty"] = odd
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "stock.jsonl").write_bytes(_jsonl(rows))
    spec = write_spec(RUN)
    outputs = []
    for columnar in ("true", "false"):
        out = tmp_path / columnar
        report = run_spec(spec, overrides=[f"mapping.columnar={columnar}", f"target.destination.path={out}"])
        outputs.append((report.counts["rejected"]["total"], {p.name: p.read_bytes() for p in out.iterdir()}))
        if columnar == "true":
            assert report.target["records_from_columns"] == (60 if odd is None else 0)
    assert outputs[0] == outputs[1] and len(outputs[0][1]) == 3


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.text(max_size=4).filter(lambda k: k != "a"), max_size=3, unique=True),
    st.integers(0, 3),
    st.lists(st.lists(st.one_of(TEXT, st.none()), min_size=4, max_size=4), min_size=1, max_size=6),
    st.booleans(),
)
def test_any_key_names_are_read_with_arrow_alike(
    others: list[str], at: int, values: list[list[str | None]], ascii_only: bool
) -> None:
    keys = [*others[:at], "a", *others[at:]]
    rows = [dict(zip(keys, row, strict=False)) for row in values]
    mapping = _mapping(
        {"v": {"source": "a", "resolver": ["trim", "upper"]}, "n": {"source": "a", "resolver": "int"}}
    )
    data = _jsonl(rows, ensure_ascii=ascii_only)
    got = assert_same(_parser(), mapping, data)
    if not re.search(rb"\\u[dD][89a-fA-F]", data):  # a surrogate escape (a character past U+FFFF) falls back
        assert got["arrow_chunks"] > 0
