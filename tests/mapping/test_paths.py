"""The path language: every form, edge and hostile input, and precise syntax errors."""

from __future__ import annotations

import pytest

from engine.mapping.paths import PathSyntaxError, Scope, compile_getter, evaluate, parse_path

ORDER = {
    "order": {
        "@id": "O1",
        "ref": "HD-1",
        "lines": {
            "line": [
                {"@sku": "S1", "qty": {"#text": "2", "@unit": "ea"}, "tags": ["a", "b"]},
                {"@sku": "S2", "qty": "3", "tags": []},
            ]
        },
        "customer": {"first-name": "Ann", "first.name": "dotted", "Qty On Hand": 7},
    },
    "Qty On Hand": "5",
    "a.b": "literal",
    "a": {"b": "nested"},
    "matrix": [[1, 2], [3, 4]],
}


@pytest.mark.parametrize(
    "path,expected",
    [
        ("order.ref", "HD-1"),
        ("order.@id", "O1"),
        ("order@id", "O1"),
        ("@missing", None),
        ("order.lines.line[0].@sku", "S1"),
        ("order.lines.line[0]@sku", "S1"),
        ("order.lines.line[-1].@sku", "S2"),
        ("order.lines.line[5].@sku", None),
        ("order.lines.line[*].@sku", ["S1", "S2"]),
        ("order.lines.line[sku=S2].qty", "3"),
        ("order.lines.line[@sku=S2].qty", "3"),
        ("order.lines.line['sku'='S2'].qty", "3"),
        ('order.lines.line["@sku"="S1"].@sku', "S1"),
        ("order.lines.line[sku=S9].qty", None),
        ("order.lines.line[0].qty.#text", "2"),
        ("order.lines.line[1].qty.#text", "3"),
        ("order.lines.line[*].tags[*]", ["a", "b"]),
        ("order.customer.first-name", "Ann"),
        ('order.customer."first.name"', "dotted"),
        ('order.customer["first.name"]', "dotted"),
        ("order.customer.Qty On Hand", 7),
        ("Qty On Hand", "5"),
        ("a.b", "literal"),
        ("matrix[1][0]", 3),
        ("matrix[*][1]", [2, 4]),
        ("order.nope.deeper.still", None),
        ("order.ref.sub", None),
        ("order.lines.line.qty", None),
    ],
)
def test_paths_on_a_record(path: str, expected) -> None:
    assert evaluate(path, ORDER) == expected


def test_variables_see_root_parent_context_file_and_row() -> None:
    scope = Scope(
        root={"hdr": {"ref": "R"}},
        parents=({"ref": "P0"}, {"ref": "P1"}),
        context={"retailer_id": "7"},
        file={"name": "in.csv"},
        row=42,
    )
    rec = {"x": 1}
    get = lambda text: compile_getter(parse_path(text))(rec, scope)  # noqa: E731
    assert get("$root.hdr.ref") == "R"
    assert get("$parent.ref") == "P1"
    assert get("$parent.$parent.ref") == "P0"
    assert get("$parent.$parent.$parent.ref") is None
    assert get("$context.retailer_id") == "7"
    assert get("$file.name") == "in.csv"
    assert get("$row") == 42
    assert get("$record.x") == 1
    assert get("$record") == rec


@pytest.mark.parametrize(
    "text,offset,problem",
    [
        ("", 0, "the path is empty"),
        ("a[", 2, "expected ']'"),
        ("a[x]", 2, "expected an index, '*' or key=value"),
        ("a..b", 2, "expected a key"),
        ('a."unterminated', 2, "unterminated quote"),
        ("$nope.x", 0, "unknown variable '$nope'"),
        ("$roots.x", 0, "unknown variable '$roots' (did you mean '$root'?)"),
        ("a[=v]", 2, "expected a key before '='"),
        ("a.@", 3, "expected an attribute name"),
    ],
)
def test_syntax_errors_point_at_the_character(text: str, offset: int, problem: str) -> None:
    with pytest.raises(PathSyntaxError) as info:
        parse_path(text)
    assert info.value.offset == offset and problem in info.value.problem


@pytest.mark.parametrize("record", [None, [], "text", 5, {"a": None}, {"a": []}, {"a": {"b": None}}])
def test_hostile_or_missing_shapes_give_missing_not_errors(record) -> None:
    for path in ("a.b.c", "a[0].b", "a[*].b", "a[k=v]", "a.@x", "a.#text"):
        assert evaluate(path, record) in (None, [])


def test_unicode_and_whitespace_keys() -> None:
    rec = {"prix €": 3, "naïve": {"clé": "v"}}
    assert evaluate("prix €", rec) == 3
    assert evaluate("naïve.clé", rec) == "v"
