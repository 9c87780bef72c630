"""The http target's ``body_schema``: mappings and expected records checked against an API's schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ConfigError
from engine.http.body_schema import locate, record_shape
from engine.mapping.conformance import kind_of, kind_problem, record_problems

FIXTURES = Path(__file__).parents[1] / "fixtures" / "schemas"
OPENAPI = FIXTURES / "erp-openapi.yaml"
ORDER = FIXTURES / "order.schema.json"
BULK = "#/paths/~1stock~1bulk/post/requestBody/content/application~1json/schema"


def _stock_spec(write_spec, target: str, expect: str) -> Path:
    return write_spec(f"""
    version: 1
    name: erp-stock
    connections:
      erp: {{type: http, base_url: "https://erp.example/api/v2"}}
    source: {{type: local, path: in}}
    parser: {{type: csv}}
    mapping:
      fields:
        sku: {{source: sku}}
        location.ref: {{source: store}}
        quantity: {{source: onHand, resolver: int}}
    target: {target}
    tests:
{expect}
    """)


def test_engine_test_fails_an_expect_the_openapi_document_refuses(write_spec, cli) -> None:
    target = (
        f'{{type: http, connection: erp, method: PUT, path: "/stock/{{sku}}", '
        f'body_schema: {{file: "{OPENAPI}", pointer: "#/components/schemas/StockLevel"}}}}'
    )
    spec = _stock_spec(
        write_spec,
        target,
        """      - {name: fits, input: [{sku: A, store: S1, onHand: "5"}],
         expect: [{sku: A, location: {ref: S1}, quantity: 5}]}
      - {name: refused, input: [{sku: A, store: S1, onHand: "5"}],
         expect: [{sku: A, location: {kind: shop}, quantity: "5", lots: [{quantity: 1}]}]}""",
    )
    assert cli("validate", str(spec)).exit_code == 0
    result = cli("test", str(spec))
    assert result.exit_code == 1
    assert "1 passed, 1 failed" in result.output
    assert "the target would refuse what expect holds (http: StockLevel)" in result.output
    for line in (
        "expect[0].location: 'ref' is a required property",
        "expect[0].location.kind: 'shop' is not one of ['store', 'warehouse']",
        "expect[0].lots[0]: 'code' is a required property",
        "expect[0].quantity: '5' is not of type 'integer'",
    ):
        assert line in result.output


def test_a_batch_is_checked_as_the_items_of_the_body_it_is_sent_in(write_spec, cli) -> None:
    target = (
        f"{{type: http, connection: erp, path: /stock/bulk, body: batch, wrapper: items, "
        f'body_schema: {{file: "{OPENAPI}", pointer: "{BULK}"}}}}'
    )
    spec = _stock_spec(
        write_spec,
        target,
        """      - {name: refused, input: [{sku: A, store: S1, onHand: "5"}],
         expect: [{sku: "", location: {ref: S1}, quantity: 5}]}""",
    )
    result = cli("test", str(spec))
    assert result.exit_code == 1
    # jsonschema's own words: "should be non-empty" since 4.21, "is too short" before
    assert re.search(r"expect\[0\]\.sku: '' (should be non-empty|is too short)", result.output)


def test_openapi_3_0_nullable_lets_null_through_and_nothing_else() -> None:
    located = locate({"file": str(OPENAPI), "pointer": "#/components/schemas/StockLevel"}, FIXTURES)
    shape = record_shape(located, wrapper=None, batched=False)
    assert shape is not None and shape.open
    record = {"sku": "A", "location": {"ref": "S1"}, "quantity": 5}
    assert record_problems({**record, "note": None}, shape) == []
    assert record_problems({**record, "note": 5}, shape) == ["note: 5 is not of type 'string', 'null'"]
    assert record_problems({**record, "status": None}, shape) == [
        "status: None is not of type 'string'",
        "status: None is not one of ['available', 'reserved', 'damaged']",
    ]


def test_a_closed_json_schema_refuses_undeclared_fields_in_expected_records() -> None:
    shape = record_shape(locate({"file": str(ORDER)}, FIXTURES), wrapper=None, batched=False)
    assert shape is not None and not shape.open
    good = {"ref": "O1", "lines": [{"sku": "A", "qty": 1}], "customer": {"email": "a@b", "first-name": "Al"}}
    assert record_problems(good, shape) == []
    assert record_problems({**good, "lines": [{"sku": "A", "qty": 1, "price": 2}]}, shape) == [
        "lines[0]: Additional properties are not allowed ('price' was unexpected)"
    ]


def test_a_recursive_schema_is_read_without_end(tmp_path: Path, write_spec, cli) -> None:
    (tmp_path / "tree.json").write_text(
        json.dumps(
            {
                "$defs": {
                    "Node": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string"},
                            "children": {"items": {"$ref": "#/$defs/Node"}},
                        },
                    }
                },
                "$ref": "#/$defs/Node",
            }
        ),
        encoding="utf-8",
    )
    spec = write_spec("""
    version: 1
    name: tree
    connections:
      api: {type: http, base_url: "https://api.example"}
    source: {type: local, path: in}
    parser: {type: json}
    mapping:
      fields:
        name: {source: name}
        children: {each: kids, fields: {name: {source: n}, children: {each: kids, fields: {nmae: {source: n}}}}}
    target: {type: http, connection: api, path: /tree, body_schema: {file: tree.json}}
    """)
    out = json.loads(cli("validate", "--format", "json", str(spec)).output)
    assert [(d["path"], d["severity"], d["code"]) for d in out] == [
        ("mapping.fields.children.fields.children.fields.nmae", "error", "target-schema")
    ]
    assert "Node has no field 'nmae' (did you mean 'name'?)" in out[0]["message"]


def test_a_body_that_holds_no_records_is_a_problem_of_the_pointer() -> None:
    located = locate(
        {"file": str(OPENAPI), "pointer": "#/components/schemas/StockLevel/properties/lots"}, FIXTURES
    )
    with pytest.raises(ConfigError) as caught:
        record_shape(located, wrapper=None, batched=False)
    assert caught.value.details["option"] == "pointer"
    assert "takes array of Lot, but each mapped record is an object" in caught.value.message


def test_undeclared_fields_are_warnings_in_every_format(cli, monkeypatch) -> None:
    monkeypatch.chdir(Path(__file__).parents[1] / "spec" / "invalid")
    found = json.loads(cli("validate", "--format", "json", "http-body-openapi.yaml").output)
    typo = next(d for d in found if d["path"] == "mapping.fields.updatedat")
    assert (typo["line"], typo["col"], typo["severity"], typo["code"]) == (18, 5, "warning", "target-schema")
    github = cli("validate", "--format", "github", "http-body-openapi.yaml").output
    assert "::warning file=http-body-openapi.yaml,line=18,col=5::mapping.fields.updatedat" in github


ANY_OBJECT = {"type": "object", "properties": {"a": {"type": "string"}}}


@pytest.mark.parametrize(
    "schema,value,problem",
    [
        ({"type": "integer"}, 5, None),
        ({"type": "integer"}, 5.5, "it takes an integer, not 5.5"),
        ({"type": "number"}, 5, None),
        ({"type": ["string", "null"]}, True, "it takes a string, not True"),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, "x", None),
        (
            {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            [1],
            "it takes an integer or a string, not [1]",
        ),
        ({"oneOf": [{"$ref": "#/$defs/Id"}, {"type": "null"}]}, 7, "it takes a string, not 7"),
        ({"anyOf": [ANY_OBJECT, {"type": "array"}]}, 7, None),
        ({"allOf": [{"$ref": "#/$defs/Id"}]}, 7, "it takes a string, not 7"),
        ({"const": "FULL"}, "DELTA", "it takes one of 'FULL', not 'DELTA'"),
        ({"enum": [1, 2]}, 2, None),
        (True, {"any": "thing"}, None),
        ({"description": "no type said"}, [1], None),
        ({"type": "array", "items": {"type": "string"}}, "one", "it takes a list, not 'one'"),
        ({"type": "object"}, "text", "it takes an object, not 'text'"),
    ],
)
def test_json_schema_types_as_the_mapping_checker_reads_them(
    tmp_path: Path, schema: Any, value: Any, problem: str | None
) -> None:
    document = {"type": "object", "properties": {"v": schema}, "$defs": {"Id": {"type": "string"}}}
    (tmp_path / "s.json").write_text(json.dumps(document), encoding="utf-8")
    shape = record_shape(locate({"file": "s.json"}, tmp_path), wrapper=None, batched=False)
    assert shape is not None
    assert kind_problem(shape.fields["v"].type, kind_of(value), value) == problem


@pytest.mark.parametrize(
    "text,pointer,option,message",
    [
        ("{not: [json", "#", "file", "is not JSON or YAML"),
        ("- a list", "#", "file", "is not a JSON Schema or an OpenAPI document"),
        ('{"$ref": "#/$defs/Gone"}', "#", "pointer", "body: $ref '#/$defs/Gone' leads nowhere"),
        ('{"$ref": "#"}', "#", "pointer", "more than 32 $refs in a row"),
        (
            '{"$defs": {"A": {"type": "object"}}}',
            "$defs/B",
            "pointer",
            "has nothing at #/$defs/B: #/$defs has no 'B' (it has A)",
        ),
        ('{"items": [1, 2]}', "#/items/5", "pointer", "#/items has no '5'"),
    ],
)
def test_a_body_schema_that_cannot_be_used_says_which_option_is_wrong(
    tmp_path: Path, text: str, pointer: str, option: str, message: str
) -> None:
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        record_shape(locate({"file": "s.yaml", "pointer": pointer}, tmp_path), wrapper=None, batched=False)
    assert caught.value.details["option"] == option
    assert message in caught.value.message


@pytest.mark.parametrize(
    "document",
    [
        {"openapi": "3.1.0", "components": {"schemas": {"S": {"$ref": "#/components/schemas/T"}, "T": {}}}},
        {"$schema": "http://json-schema.org/draft-07/schema#", "components": {"schemas": {"S": {}}}},
    ],
    ids=["openapi-3.1", "draft-07"],
)
def test_dialects_are_read_from_the_document(tmp_path: Path, document: dict[str, Any]) -> None:
    document["components"]["schemas"]["S"] = {
        "type": "object",
        "required": ["qty"],
        "properties": {"qty": {"type": ["integer", "null"]}},
    }
    (tmp_path / "d.json").write_text(json.dumps(document), encoding="utf-8")
    shape = record_shape(
        locate({"file": "d.json", "pointer": "#/components/schemas/S"}, tmp_path), wrapper=None, batched=False
    )
    assert shape is not None and shape.name == "S"
    assert record_problems({"qty": None}, shape) == []
    assert record_problems({}, shape) == ["(record): 'qty' is a required property"]
    assert kind_problem(shape.fields["qty"].type, "string", "5") == "it takes an integer, not '5'"


def test_refs_to_files_beside_the_document_are_followed_and_urls_are_not(tmp_path: Path) -> None:
    (tmp_path / "common.yaml").write_text(
        "components:\n  schemas:\n    Location:\n      type: object\n      required: [ref]\n"
        "      additionalProperties: false\n      properties:\n        ref: {type: string, nullable: true}\n",
        encoding="utf-8",
    )
    (tmp_path / "api.yaml").write_text(
        "openapi: 3.0.3\ninfo: {title: split, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n"
        "    Stock:\n      type: object\n      properties:\n"
        "        location: {$ref: 'common.yaml#/components/schemas/Location'}\n"
        "        remote: {$ref: 'https://schemas.example/x.json'}\n"
        "        outside: {$ref: '../secret.yaml'}\n",
        encoding="utf-8",
    )
    located = locate({"file": "api.yaml", "pointer": "#/components/schemas/Stock"}, tmp_path)
    with pytest.raises(ConfigError) as caught:  # the remote $ref: nothing is fetched
        record_shape(located, wrapper=None, batched=False)
    assert "Stock.remote: $ref 'https://schemas.example/x.json' leads nowhere" in caught.value.message
    (tmp_path.parent / "secret.yaml").write_text("{type: object, properties: {pin: {type: string}}}")
    local = (tmp_path / "api.yaml").read_text(encoding="utf-8")
    (tmp_path / "outside.yaml").write_text(
        local.replace("https://schemas.example/x.json", "#/components/schemas/Stock")
    )
    with pytest.raises(ConfigError) as caught:  # a file outside the document's directory is not read
        record_shape(
            locate({"file": "outside.yaml", "pointer": "#/components/schemas/Stock"}, tmp_path),
            wrapper=None,
            batched=False,
        )
    assert "Stock.outside: $ref '../secret.yaml' leads nowhere" in caught.value.message
    local = (tmp_path / "api.yaml").read_text(encoding="utf-8")
    local = local.replace("        remote: {$ref: 'https://schemas.example/x.json'}\n", "")
    local = local.replace("        outside: {$ref: '../secret.yaml'}\n", "")
    (tmp_path / "local.yaml").write_text(local, encoding="utf-8")  # a new file: documents are cached by mtime
    shape = record_shape(
        locate({"file": "local.yaml", "pointer": "#/components/schemas/Stock"}, tmp_path),
        wrapper=None,
        batched=False,
    )
    assert shape is not None
    location = shape.fields["location"].type
    assert location.extensions == {"label": "Location", "open": False} and "ref" in location.fields
    assert record_problems({"location": {"ref": None}}, shape) == []  # nullable, read from the other file
    assert record_problems({"location": {"ref": "S1", "kind": "x"}}, shape) == [
        "location: Additional properties are not allowed ('kind' was unexpected)"
    ]
