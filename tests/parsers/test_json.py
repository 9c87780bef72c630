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
    records, _, _ = parse(
        "json", b'{"orders": [{"lines": [1, 2]}, {"lines": [3]}]}', records="orders[*].lines"
    )
    assert [r[2] for r in records] == [1, 2, 3]


def test_records_path_that_matches_nothing_is_an_error(parse) -> None:
    with pytest.raises(ParseError, match=r"no array found at 'data\.items'"):
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


def _true_depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max((_true_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_true_depth(v) for v in value), default=0)
    return 0


def test_the_nesting_guard_agrees_with_the_document_whatever_the_block_boundaries() -> None:
    import json
    import random

    from engine.parsers._json_guard import NestingGuard

    rng = random.Random(7)
    alphabet = ['"', "\\", "[", "]", "{", "}", "a", " ", "\u00e9", "\n"]

    def value(depth: int):
        kind = rng.random()
        if depth > 0 and kind < 0.3:
            return [value(depth - 1) for _ in range(rng.randint(0, 3))]
        if depth > 0 and kind < 0.6:
            return {"".join(rng.choices(alphabet, k=rng.randint(0, 6))): value(depth - 1) for _ in range(3)}
        return "".join(rng.choices(alphabet, k=rng.randint(0, 12)))

    for _ in range(300):
        doc = value(rng.randint(0, 8))
        data = json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode("utf-8")
        guard = NestingGuard(max_depth=1000, block=1 << 20)
        deepest = 0
        at = 0
        while at < len(data):
            step = rng.randint(1, 9)
            guard.feed(data[at : at + step])
            deepest = max(deepest, guard.depth)
            at += step
        assert guard.depth == 0 and not guard.in_string, data
        limited = NestingGuard(max_depth=max(_true_depth(doc) - 1, 0), block=1 << 20)
        if _true_depth(doc) > 0:
            with pytest.raises(Exception, match="nested deeper"):
                for i in range(0, len(data), 5):
                    limited.feed(data[i : i + 5])


@pytest.mark.parametrize("step", [1, 5, 16])
def test_long_keys_are_caught_wherever_blocks_end_and_long_values_pass(step: int) -> None:
    from engine.parsers._json_guard import NestingGuard, TooDeep

    def feed_all(data: bytes) -> None:
        guard = NestingGuard(max_depth=64, block=16)
        for i in range(0, len(data), step):
            guard.feed(data[i : i + step])

    feed_all(b'{"short": "' + b'v\\"' * 40 + b'", "k": {"x": 1}}')
    for spacing in (b"", b" ", b" \n  " * 9):
        with pytest.raises(TooDeep, match="an object key is 40 bytes long"):
            feed_all(b'{"a": {"' + b"k" * 40 + b'"' + spacing + b": 1}}")


def test_a_deep_or_long_keyed_document_is_refused_before_it_eats_memory(parse) -> None:
    with pytest.raises(ParseError, match=r"nested deeper than max_depth \(64\)"):
        parse("json", b"[" * 100_000 + b"]" * 100_000)
    records, _, _ = parse("json", b"[" * 10 + b"1" + b"]" * 10, max_depth=10)
    assert [r[2] for r in records] == [[[[[[[[[[1]]]]]]]]]]
    long_value = b'[{"note": "' + b"x" * 100_000 + b'"}]'
    assert len(parse("json", long_value)[0][0][2]["note"]) == 100_000, (
        "long values are fine, long keys are not"
    )


def test_empty_array_at_the_records_path_is_not_an_error_but_a_missing_key_is(parse) -> None:
    assert parse("json", b'{"data": {"items": []}}', records="data.items")[0] == []
    with pytest.raises(ParseError, match="the file has no key 'items'"):
        parse("json", b'{"data": {"things": [1]}}', records="data.items")


def test_a_byte_order_mark_before_a_records_path_and_utf16_files(parse) -> None:
    records, _, _ = parse("json", b'\xef\xbb\xbf{"data": {"items": [1, 2]}}', records="data.items")
    assert [r[2] for r in records] == [1, 2]
    with pytest.raises(ParseError, match="UTF-16 or UTF-32 JSON; JSON files must be UTF-8"):
        parse("json", '[{"a": "é"}]'.encode("utf-16"))


def test_json_errors_name_the_last_good_record_and_the_bytes(parse) -> None:
    with pytest.raises(ParseError) as info:
        parse("json", b'[{"a": 1}, {"a" 2}]')
    assert str(info.value) == (
        "stock.json: invalid JSON after record 1 (the last good one is [0]), between bytes 0 and "
        "19: parse error: object key and value must be separated by a colon (':'), near "
        '`[{"a": 1}, {"a" 2}]`'
    )


# --- values parsers disagree on: the same answer from json and jsonl -----------------------


def _both(parse, values: list[bytes]):
    """(json records, json rejects, jsonl records, jsonl rejects) of the same values."""
    as_json = parse("json", b"[" + b",\n".join(values) + b"]")
    as_jsonl = parse("jsonl", b"\n".join(values) + b"\n")
    return as_json[0], as_json[1], as_jsonl[0], as_jsonl[1]


def test_integers_of_any_size_are_exact_in_json_and_jsonl(parse) -> None:
    """A valid JSON file with 2**63 used to go to errors/ as "integer overflow"."""
    big = [
        b'{"id": 9223372036854775808}',
        b'{"id": -99999999999999999999999999}',
        b'{"id": [18446744073709551616]}',
    ]
    json_records, json_rejects, jsonl_records, jsonl_rejects = _both(parse, big)
    expected = [{"id": 2**63}, {"id": -99999999999999999999999999}, {"id": [2**64]}]
    assert [r[2] for r in json_records] == [r[2] for r in jsonl_records] == expected
    assert json_rejects == jsonl_rejects == []
    assert all(type(r[2]["id"]) in (int, list) for r in json_records)


def test_numbers_a_float_would_zero_or_make_infinite_stay_exact(parse) -> None:
    from decimal import Decimal

    values = [
        b'{"n": 1e-999}',
        b'{"n": -1e999}',
        b'{"n": [0.5, 1E+400]}',
        b'{"n": 0.0}',
        b'{"n": -0e5}',
        b'{"n": 12.5}',
    ]
    json_records, _, jsonl_records, _ = _both(parse, values)
    expected = [Decimal("1e-999"), Decimal("-1e999"), [0.5, Decimal("1E+400")], 0.0, -0.0, 12.5]
    for records in (json_records, jsonl_records):
        got = [r[2]["n"] for r in records]
        assert got == expected
        assert [type(v) for v in got] == [Decimal, Decimal, list, float, float, float]
        assert type(got[2][0]) is float


def test_a_repeated_key_rejects_its_record_naming_the_key_in_json_and_jsonl(parse) -> None:
    values = [
        b'{"sku": "A", "qty": 1}',
        b'{"sku": "B", "qty": 1, "qty": 500}',
        b'{"sku": "C", "x": {"k": 1, "k": 2}}',
    ]
    values += [b'{"sku": "D", "qty": 4}']
    json_records, json_rejects, jsonl_records, jsonl_rejects = _both(parse, values)
    assert [r[2]["sku"] for r in json_records] == [r[2]["sku"] for r in jsonl_records] == ["A", "D"]
    assert (
        [(r.position, r.reason) for r in json_rejects]
        == [(r.position, r.reason) for r in jsonl_rejects]
        == [
            (
                2,
                "key 'qty' repeated in an object (JSON readers disagree on which value counts, so the record is not guessed at)",
            ),
            (
                3,
                "key 'k' repeated in an object (JSON readers disagree on which value counts, so the record is not guessed at)",
            ),
        ]
    )
    assert [r.locator for r in json_rejects] == ["[1]", "[2]"] and [r.line for r in jsonl_rejects] == [2, 3]


def test_repeated_keys_are_charged_to_their_own_record_across_parser_blocks(parse) -> None:
    """ijson builds a block of records ahead of the one it hands over: the reject must not slip."""
    values = [b'{"i": %d, "pad": "%s"}' % (n, b"x" * 300) for n in range(400)]
    values[250] = b'{"i": 250, "i": 250}'
    records, rejects, _ = parse("json", b"[" + b",".join(values) + b"]", chunk_size=7)
    assert [r.position for r in rejects] == [251] and len(records) == 399
    assert [r[2]["i"] for r in records] == [n for n in range(400) if n != 250]
    assert all(type(r[2]) is dict for r in records), "records are plain dicts"


def test_nan_and_infinity_are_not_json(parse) -> None:
    records, rejects, _ = parse("jsonl", b'{"a": 1}\n{"a": {"b": [NaN]}}\n{"a": -Infinity}\n{"a": 2}\n')
    assert [r[2] for r in records] == [{"a": 1}, {"a": 2}]
    assert [(r.line, r.reason) for r in rejects] == [
        (2, "invalid JSON: a.b[0]: NaN is not a number JSON can hold (JSON has no NaN or Infinity)"),
        (3, "invalid JSON: a: -Infinity is not a number JSON can hold (JSON has no NaN or Infinity)"),
    ]
    with pytest.raises(ParseError, match=r"invalid JSON after record 1 .*invalid char in json text"):
        parse("json", b'[{"a": 1}, {"a": NaN}]')
