"""The mapping compiler: field kinds, modifiers, arrays with parent context, errors with lineage."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.contracts import Chunk, Item
from engine.spec.compile import compile_file


@pytest.fixture
def mapping(write_spec):
    def build(fields: str, *, lenient: bool = False):
        options = "\n  options: {lenient: true}" if lenient else ""
        path = write_spec(
            f"version: 1\nname: m\nsource: {{type: local, path: in}}\nparser: {{type: json}}\n"
            f"mapping:{options}\n  fields:\n{fields}\ntarget: {{type: stdout}}\n"
        )
        return compile_file(path).mapping

    return build


def test_every_field_kind(mapping) -> None:
    m = mapping("""
    ref: {source: order.ref}
    kind: {value: HD}
    lines_total: {expr: "sum(record.order.lines[*].qty)"}
    customer: {source: order.customer, fields: {name: {source: name}, email: {source: mail}}}
    shipping: {fields: {city: {source: order.city}}}
    items:
      each: order.lines
      fields:
        sku: {source: sku}
        orderRef: {source: $parent.order.ref}
        rootRef: {source: $root.order.ref}
        row: {source: $row}
""")
    record = {
        "order": {
            "ref": "O1",
            "city": "Perth",
            "customer": {"name": "Ann", "mail": "a@x"},
            "lines": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 3}],
        }
    }
    out, issues = m.map_record(record, row=9)
    assert issues == []
    assert out == {
        "ref": "O1",
        "kind": "HD",
        "lines_total": 5,
        "customer": {"name": "Ann", "email": "a@x"},
        "shipping": {"city": "Perth"},
        "items": [
            {"sku": "A", "orderRef": "O1", "rootRef": "O1", "row": 9},
            {"sku": "B", "orderRef": "O1", "rootRef": "O1", "row": 9},
        ],
    }


def test_default_is_applied_before_required_and_resolvers(mapping) -> None:
    m = mapping("""
    qty: {source: q, default: "0", required: true, resolver: int}
    note: {source: n, default: none}
""")
    assert m.map_record({"q": ""})[0] == {"qty": 0, "note": "none"}
    assert m.map_record({"q": " 7 ", "n": "x"})[0] == {"qty": 7, "note": "x"}


def test_missing_optional_values_are_omitted_not_nulled(mapping) -> None:
    m = mapping("""
    a: {source: a}
    b.c: {source: c}
    b.d: {source: d}
""")
    assert m.map_record({"a": 1})[0] == {"a": 1}
    assert m.map_record({"c": 0})[0] == {"b": {"c": 0}}


def test_when_omits_the_field(mapping) -> None:
    m = mapping("""
    gift: {value: true, when: "record.total > `100`"}
    total: {source: total}
""")
    assert m.map_record({"total": 150})[0] == {"gift": True, "total": 150}
    assert m.map_record({"total": 50})[0] == {"total": 50}


@pytest.mark.parametrize(
    "fields,record,message",
    [
        (
            "sku: {source: sku, pattern: '[A-Z]+-\\\\d+'}",
            {"sku": "abc"},
            "sku: 'abc' does not match the pattern",
        ),
        ("kind: {source: k, enum: [HD, CC]}", {"k": "XX"}, "kind: 'XX' is not one of: HD, CC"),
        ("qty: {source: q, resolver: int, min: 1}", {"q": "0"}, "qty: 0 is below the minimum 1"),
        ("qty: {source: q, resolver: int, max: 10}", {"q": "11"}, "qty: 11 is above the maximum 10"),
        ("ref: {source: r, max_length: 3}", {"r": "ABCD"}, "ref: 'ABCD' is longer than 3 characters"),
        (
            "qty: {source: q, resolver: int}",
            {"q": "ten"},
            "qty: 'ten' is not an integer (resolver int, source q)",
        ),
        ("ref: {source: r, required: true}", {}, "ref: required value is missing (source r)"),
    ],
)
def test_validation_rejects_with_a_clear_reason(mapping, fields, record, message) -> None:
    out, issues = mapping("    " + fields).map_record(record)
    assert out is None and message in issues[0].render()


def test_all_field_problems_of_a_record_are_reported_together(mapping) -> None:
    m = mapping("""
    a: {source: a, resolver: int}
    b: {source: b, required: true}
    lines: {each: lines, fields: {q: {source: q, resolver: int}}}
""")
    _out, issues = m.map_record({"a": "x", "lines": [{"q": "1"}, {"q": "two"}]})
    assert [i.field for i in issues] == ["a", "b", "lines[1].q"]


def test_sdk_resolvers_reject_by_default_and_fall_back_when_lenient(mapping) -> None:
    strict = mapping("    n: {source: n, resolver: sdk.parseInt}")
    assert strict.map_record({"n": "abc"})[0] is None
    lenient = mapping("    n: {source: n, resolver: sdk.parseInt}", lenient=True)
    assert lenient.map_record({"n": "abc"})[0] == {"n": 0}
    assert lenient.map_record({"n": "12abc"})[0] == {"n": 12}


def test_row_form_and_dict_form_map_identically(mapping) -> None:
    m = mapping("""
    sku: {source: sku, required: true, resolver: [trim, upper]}
    qty: {source: qty, resolver: int}
    ref: {source: sku, resolver: [trim, {name: concat, args: {paths: [loc], sep: ":"}}]}
    retailer: {source: $context.rid}
    file: {source: $file.name}
""")
    item = Item("file:///x/in.csv", "in.csv")
    rows = [[" a ", "1", "L1"], ["b", "x", "L2"], [" c", "", None]]
    row_chunk = Chunk(item, rows, [1, 2, 3], ("sku", "qty", "loc"), [2, 3, 4], text=True)
    dict_chunk = Chunk(item, [dict(zip(("sku", "qty", "loc"), r, strict=True)) for r in rows], [1, 2, 3])
    a = m.map_chunk(row_chunk, {"rid": "7"})
    b = m.map_chunk(dict_chunk, {"rid": "7"})
    assert (
        a[0]
        == b[0]
        == [
            {"sku": "A", "qty": 1, "ref": "a:L1", "retailer": "7", "file": "in.csv"},
            {"sku": "C", "ref": "c", "retailer": "7", "file": "in.csv"},
        ]
    )
    assert a[1] == b[1] == [0, 2]
    assert (
        [i.render() for i in a[2][0][1]]
        == [i.render() for i in b[2][0][1]]
        == ["qty: 'x' is not an integer (resolver int, source qty)"]
    )


def test_a_column_missing_from_the_header_reads_as_missing(mapping) -> None:
    m = mapping("    a: {source: nope, default: d}")
    chunk = Chunk(Item("file:///f", "f"), [["1"]], [1], ("other",), text=True)
    assert m.map_chunk(chunk, {})[0] == [{"a": "d"}]


def test_custom_resolvers_need_the_allow_custom_code_switch(write_spec, tmp_path, cli) -> None:
    (tmp_path / "my_resolvers.py").write_text("def shout(value):\n    return value.upper() + '!'\n")
    path = write_spec("""
    version: 1
    name: custom
    plugins: [my_resolvers]
    source: {type: local, path: in}
    parser: {type: json}
    mapping: {fields: {a: {source: a, resolver: custom.shout}}}
    target: {type: stdout}
    tests: [{name: shouts, input: [{a: hi}], expect: [{a: "HI!"}]}]
    """)
    refused = cli("validate", str(path))
    assert refused.exit_code == 2 and "--allow-custom-code" in refused.output
    assert cli("test", "--allow-custom-code", str(path)).exit_code == 0


def test_parent_is_the_record_around_an_each_item_or_a_sourced_fields_block(mapping) -> None:
    m = mapping("""
    customer:
      source: order.customer
      fields: {name: {source: name}, orderRef: {source: $parent.order.ref}}
    lines:
      each: order.lines
      fields:
        sku: {source: sku}
        orderRef: {source: $parent.order.ref}
        ref: {source: sku, resolver: {name: concat, args: {paths: [$parent.order.ref], sep: "/"}}}
""")
    record = {"order": {"ref": "O1", "customer": {"name": "Ann"}, "lines": [{"sku": "A"}]}}
    assert m.map_record(record)[0] == {
        "customer": {"name": "Ann", "orderRef": "O1"},
        "lines": [{"sku": "A", "orderRef": "O1", "ref": "A/O1"}],
    }


def test_a_record_path_of_an_item_that_is_not_an_object_rejects_it(mapping) -> None:
    m = mapping("""
    tags: {each: tags, fields: {name: {source: name}}}
""")
    out, issues = m.map_record({"tags": [{"name": "a"}, "b"]})
    assert out is None
    assert [i.render() for i in issues] == [
        "tags[1].name: cannot read the value: the record is 'b', not an object (source name)"
    ]


def test_a_csv_row_reads_a_path_as_its_dict_would(mapping) -> None:
    m = mapping("""
    text: {source: "a.#text"}
    all: {source: "a[*]"}
""")
    chunk = Chunk(Item("file:///f", "f"), [["x"]], [1], ("a",), text=True)
    assert m.map_chunk(chunk, {})[0] == [{"text": "x", "all": ["x"]}] == [m.map_record({"a": "x"})[0]]


def test_a_custom_resolver_declares_the_paths_it_reads(write_spec, tmp_path) -> None:
    """The example of docs/resolvers.md, as a spec's plugin: its declared read comes by column index."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "resolvers.md").read_text(encoding="utf-8")
    section = doc.split("## Writing your own resolver", 1)[1]
    (tmp_path / "pairs.py").write_text(section.split("```python\n", 1)[1].split("```", 1)[0])
    path = write_spec("""
    version: 1
    name: pairs
    plugins: [pairs]
    source: {type: local, path: in}
    parser: {type: csv}
    mapping: {fields: {p: {source: a, resolver: {name: custom.pair, args: {other: b}}}}}
    target: {type: stdout}
    """)
    m = compile_file(path, allow_custom_code=True).mapping
    chunk = Chunk(Item("file:///f", "f"), [["1", "2"]], [1], ("a", "b"), text=True)
    assert m.map_chunk(chunk, {})[0] == [{"p": "1+2"}]
    assert "recd = None" in m.source_text  # the row is read by column, never built as a dict


def test_a_resolver_on_a_sourced_block_decodes_a_payload_its_fields_read_inside(mapping) -> None:
    m = mapping("""
    order:
      source: body.payload
      resolver: json
      fields:
        ref: {source: ref, required: true}
        first: {source: "lines[0].sku"}
        lines: {each: lines, fields: {sku: {source: sku}, orderRef: {source: $parent.ref}}}
        hook: {source: $parent.body.id}
    doc: {source: body.xml, resolver: [trim, xml], fields: {id: {source: "@id"}, note: {source: Note}}}
    skus: {each: body.skus, resolver: json, fields: {sku: {source: sku}}}
""")
    record = {
        "body": {
            "id": "W1",
            "payload": '{"ref": "O1", "lines": [{"sku": "A"}, {"sku": "B"}]}',
            "xml": ' <Order id="7"><Note>hi &amp; bye</Note></Order> ',
            "skus": '[{"sku": "C"}]',
        }
    }
    out, issues = m.map_record(record)
    assert issues == []
    assert out == {
        "order": {
            "ref": "O1",
            "first": "A",
            "lines": [{"sku": "A", "orderRef": "O1"}, {"sku": "B", "orderRef": "O1"}],
            "hook": "W1",
        },
        "doc": {"id": "7", "note": "hi & bye"},
        "skus": [{"sku": "C"}],
    }
    bad = {"body": {"payload": "{oops", "xml": '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', "skus": "[]"}}
    _out, issues = m.map_record(bad)
    rendered = [i.render() for i in issues]
    assert [i.field for i in issues] == ["order", "doc"]
    assert (
        "'{oops' is not valid JSON" in rendered[0] and "(resolver json, source body.payload)" in rendered[0]
    )
    assert (
        "entity declarations are refused" in rendered[1] and "(resolver xml, source body.xml)" in rendered[1]
    )


def test_a_resolver_needs_a_block_with_a_source_and_checks_stay_on_single_values(write_spec) -> None:
    from engine.errors import SpecError

    path = write_spec("""
    version: 1
    name: m
    source: {type: local, path: in}
    parser: {type: json}
    mapping:
      fields:
        a: {resolver: json, fields: {x: {source: x}}}
        b: {source: b, resolver: json, enum: [1], fields: {x: {source: x}}}
    target: {type: stdout}
    """)
    with pytest.raises(SpecError) as caught:
        compile_file(path)
    found = {(d.path, d.message.split(":")[0]) for d in caught.value.diagnostics}
    assert found == {
        (
            "mapping.fields.a",
            "a resolver on 'fields' decodes the value read at its source before the fields read inside it",
        ),
        ("mapping.fields.b", "checks apply to single values, not to 'fields' or 'each'"),
    }
