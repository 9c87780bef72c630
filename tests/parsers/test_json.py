"""JSON documents and JSON Lines: streaming, positions, clear errors."""

from __future__ import annotations

import pytest

from engine.errors import ConfigError, ParseError


def test_top_level_array_yields_each_element(parse) -> None:
    records, _, chunks = parse("json", b'[{"sku": "A"}, {"sku": "B", "n": 1.5}]')
    assert [r[2] for r in records] == [{"sku": "A"}, {"sku": "B", "n": 1.5}]
    assert chunks[0].locators == ["[0]", "[1]"]


def test_a_top_level_object_is_one_record(parse) -> None:
    records, _, _ = parse("json", b'\xef\xbb\xbf  {"order": {"ref": "O1"}}')
    assert [r[2] for r in records] == [{"order": {"ref": "O1"}}]


def test_records_path_streams_a_nested_array(parse) -> None:
    data = b'{"meta": {"n": 2}, "data": {"items": [{"a": 1}, {"a": 2}]}}'
    records, _, chunks = parse("json", data, records="data.items")
    assert [r[2] for r in records] == [{"a": 1}, {"a": 2}]
    assert chunks[0].locators == ["data.items[0]", "data.items[1]"]
    records, _, _ = parse("json", b'{"orders": [{"lines": [1, 2]}, {"lines": [3]}]}', records="orders[*].lines")
    assert [r[2] for r in records] == [1, 2, 3]


def test_records_path_that_matches_nothing_is_an_error(parse) -> None:
    with pytest.raises(ParseError, match="no array found at 'data.items'"):
        parse("json", b'{"data": {"other": []}}', records="data.items")


def test_a_truncated_document_fails_after_the_good_records(parse) -> None:
    with pytest.raises(ParseError, match="invalid JSON after record 2"):
        parse("json", b'[{"a": 1}, {"a": 2}, {"a": ')


def test_a_records_path_with_an_index_is_refused_at_compile_time() -> None:
    from engine.mapping.paths import PathSyntaxError
    from engine.parsers.json import ijson_prefix

    assert ijson_prefix("a.b") == "a.b.item"
    with pytest.raises(PathSyntaxError):
        ijson_prefix("a[0]")
    assert ConfigError  # the parser turns it into a spec diagnostic


def test_jsonl_rejects_bad_lines_with_line_numbers(parse) -> None:
    data = b'{"a": 1}\n\n{"a": 2\n{"a": 3}\n[1,2]\n'
    records, rejects, _ = parse("jsonl", data)
    assert [(r[0], r[1], r[2]) for r in records] == [(1, 1, {"a": 1}), (3, 4, {"a": 3}), (4, 5, [1, 2])]
    [bad] = rejects
    assert (bad.position, bad.line) == (2, 3) and bad.reason.startswith("invalid JSON:")


def test_jsonl_rejects_undecodable_and_overlong_lines(parse) -> None:
    data = b'{"a": "\xff"}\n' + b'{"big": "' + b"x" * 2000 + b'"}\n{"ok": 1}\n'
    records, rejects, _ = parse("jsonl", data, max_line_bytes=1024)
    assert [r[2] for r in records] == [{"ok": 1}]
    assert [r.line for r in rejects] == [1, 2]
    assert "not valid utf-8" in rejects[0].reason and "longer than 1024 bytes" in rejects[1].reason
