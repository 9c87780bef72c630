"""Mappings and records checked against the record a target takes (a GraphQL input type)."""

from __future__ import annotations

import pytest
from graphql import build_schema, is_specified_scalar_type

from engine.contracts import RecordShape
from engine.errors import SpecError
from engine.fluent.schemas import SHIPPED_HINT, rest, shipped
from engine.mapping.conformance import record_problems
from engine.spec.compile import compile_file

SDL = """
type Query { x: Int }
enum Kind { A B }
input Line { sku: String! qty: Int! }
input Thing {
  ref: String! count: Int size: Float when: DateTime kind: Kind lines: [Line] tags: [String]
  extra: Json flag: Boolean id: ID nested: Line
}
scalar DateTime
scalar Json
"""
THING = build_schema(SDL).type_map["Thing"]
SHAPE = RecordShape("Thing", THING.fields)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("record", "problems"),
    [
        ({"ref": "a"}, []),
        ({"ref": "a", "count": 3, "size": 2, "when": "2025-01-01", "kind": "A", "flag": True, "id": 7}, []),
        ({"ref": "a", "tags": "one", "extra": {"any": [1]}}, []),  # one value fits a list of it
        ({"ref": "a", "lines": [{"sku": "S", "qty": 1}], "nested": {"sku": "S", "qty": 2}}, []),
        ({}, ["ref: required by Thing (String!), missing"]),
        ({"ref": None}, ["ref is String!: it takes a value, not null"]),
        ({"ref": "a", "count": "5"}, ["count is Int: it takes an integer, not '5'"]),
        ({"ref": "a", "count": True}, ["count is Int: it takes an integer, not True"]),
        ({"ref": "a", "size": "x"}, ["size is Float: it takes an integer or a number, not 'x'"]),
        ({"ref": "a", "kind": "C"}, ["kind is Kind: it takes one of A, B, not 'C'"]),
        ({"ref": ["a"]}, ["ref is String!: it takes a string, not ['a']"]),
        ({"ref": "a", "cuont": 1}, ["cuont: Thing has no field 'cuont' (did you mean 'count'?)"]),
        (
            {"ref": "a", "lines": [{"sku": "S", "qty": "1"}, {"qty": 2}]},
            [
                "lines[0].qty is Int!: it takes an integer, not '1'",
                "lines[1].sku: required by Line (String!), missing",
            ],
        ),
        ({"ref": "a", "nested": "S"}, ["nested is Line: it takes an object, not 'S'"]),
        ([1], ["(record): Thing is an object, not a list"]),
    ],
)
def test_a_record_is_checked_field_by_field(record, problems) -> None:
    assert record_problems(record, SHAPE) == problems


def test_fields_the_target_fills_need_not_be_mapped() -> None:
    shape = RecordShape("Thing", THING.fields, filled=frozenset({"ref"}))  # type: ignore[attr-defined]
    assert record_problems({}, shape) == []


def test_the_shipped_schemas_are_fluents_types_with_their_provenance() -> None:
    entity = rest().type_map["InventoryBatchEntity"]
    required = [name for name, f in entity.fields.items() if str(f.type).endswith("!")]  # type: ignore[attr-defined]
    assert required == ["locationRef", "skuRef", "qty"]
    assert str(entity.fields["correctedQty"].type) == "Int"  # type: ignore[attr-defined]
    event = rest().type_map["Event"]
    assert event.description.startswith("[Fluent]")
    for name, type_ in shipped().type_map.items():
        if not name.startswith("__") and not is_specified_scalar_type(type_) and type_.description:
            assert type_.description.startswith(("[Fluent]", "[inferred]")), name


SPEC = """
version: 1
name: t
connections:
  fluent: {{type: fluent, base_url: embedded, retailer_id: "1"}}
source: {{type: local, path: data}}
parser: {{type: csv}}
mapping:
  fields:
{fields}
target:
{target}
"""


def _diagnostics(write_spec, fields: str, target: str) -> list[str]:
    path = write_spec(SPEC.format(fields=fields, target=target))
    try:
        compile_file(path)
    except SpecError as exc:
        return [f"{d.line}:{d.col} {d.path}: {d.message}" for d in exc.diagnostics if d.severity == "error"]
    return []


GRAPHQL = "  type: fluent.graphql\n  connection: fluent\n  mutation: createLocation\n"


def test_a_resolver_s_declared_output_is_checked_against_the_field(write_spec) -> None:
    fields = (
        "    ref: {source: a}\n    name: {source: b, resolver: [trim, int]}\n    type: {source: c}\n"
        "    openingSchedule: {fields: {monStart: {source: d, resolver: upper}, monEnd: {source: e, resolver: int}}}"
    )
    assert _diagnostics(write_spec, fields, GRAPHQL) == [
        "10:40 mapping.fields.name.resolver[1]: CreateLocationInput.name is String!: "
        "it takes a string, not an integer (resolver 'int' returns an integer)",
        "12:64 mapping.fields.openingSchedule.fields.monStart.resolver: OpeningScheduleInput.monStart is Int: "
        "it takes an integer, not a string (resolver 'upper' returns a string)",
    ]


def test_a_list_into_a_scalar_and_dotted_keys_into_objects(write_spec) -> None:
    fields = (
        "    ref: {source: a}\n    name: {each: items, fields: {x: {source: x}}}\n    type: {source: c}\n"
        "    primaryAddress.city: {source: d}\n    primaryAddress.postcod: {source: e}"
    )
    assert _diagnostics(write_spec, fields, GRAPHQL) == [
        "10:5 mapping.fields.name: CreateLocationInput.name is String!: it takes a string, not a list",
        "13:5 mapping.fields[\"primaryAddress.postcod\"]: AddressInput has no field 'postcod' (did you mean 'postcode'?). "
        + SHIPPED_HINT,
    ]


def test_a_document_s_variables_are_the_record(write_spec) -> None:
    target = (
        "  type: fluent.graphql\n  connection: fluent\n  document: |\n"
        "    mutation M($input: UpdateOrderInput!, $note: Int) { updateOrder(input: $input) { id } }\n"
    )
    fields = "    input: {fields: {status: {value: HELD}}}\n    note: {value: x}"
    assert _diagnostics(write_spec, fields, target) == [
        "9:5 mapping.fields.input: UpdateOrderInput requires id (ID!): map it "
        "(with a default if the source may lack a value)",
        "10:19 mapping.fields.note.value: variables.note is Int: it takes an integer, not 'x'",
        "14:13 target.document: Variable '$note' is never used in operation 'M'.",
    ]


def test_schema_none_checks_nothing_and_a_missing_file_says_how_to_get_one(write_spec) -> None:
    fields = "    nope: {source: a}"
    assert _diagnostics(write_spec, fields, GRAPHQL + "  schema: none\n") == []
    found = _diagnostics(write_spec, fields, GRAPHQL + "  schema: account.graphql\n")
    assert len(found) == 1 and "engine schema fluent --connection" in found[0], found


def test_a_fetched_schema_file_is_used_instead_of_the_shipped_one(write_spec, tmp_path) -> None:
    (tmp_path / "account.graphql").write_text(
        "type Query { x: Int }\ntype Location { id: ID }\n"
        "input CreateLocationInput { ref: String! storeCode: String }\n"
        "type Mutation { createLocation(input: CreateLocationInput!): Location }\n"
    )
    fields = "    ref: {source: a}\n    storeCode: {source: b}"
    assert _diagnostics(write_spec, fields, GRAPHQL + "  schema: account.graphql\n  returning: id\n") == []
    assert _diagnostics(write_spec, fields, GRAPHQL + "  returning: id\n")[0].endswith(
        "CreateLocationInput requires name (String!), type (String!): map them "
        "(with a default if the source may lack a value)"
    )


def _locations(write_spec, schema: str):
    return write_spec(f"""
    version: 1
    name: locations
    connections:
      fluent: {{type: fluent, base_url: embedded, retailer_id: "1"}}
    source: {{type: local, path: in}}
    parser: {{type: csv}}
    mapping:
      fields:
        ref: {{source: ref}}
        name: {{source: name}}
        type: {{value: STORE}}
        storeName: {{source: store}}
        primaryAddress: {{fields: {{town: {{source: city}}}}}}
    target: {{type: fluent.graphql, connection: fluent, mutation: createLocation, returning: "id reff",
              schema: {schema}}}
    """)


def test_unknown_names_against_the_shipped_schema_say_once_per_block_how_to_go_on(
    write_spec, tmp_path
) -> None:
    from graphql import print_schema

    hint = "engine schema fluent --connection SPEC -o FILE and set schema: FILE, or schema: none."
    with pytest.raises(SpecError) as shipped_one:
        compile_file(_locations(write_spec, "shipped"))
    said = {d.path: d.message for d in shipped_one.value.diagnostics}
    first = said["mapping.fields.storeName"]
    assert first.startswith("CreateLocationInput has no field 'storeName'") and first.endswith(hint)
    assert hint not in said["mapping.fields.primaryAddress.fields.town"]  # once for the mapping
    assert hint in said["target.returning"]  # and once for the target's options
    (tmp_path / "account.graphql").write_text(print_schema(shipped()), encoding="utf-8")
    with pytest.raises(SpecError) as fetched:
        compile_file(_locations(write_spec, "account.graphql"))
    messages = [d.message for d in fetched.value.diagnostics]
    assert len(messages) == 3 and not any(hint in m for m in messages)
