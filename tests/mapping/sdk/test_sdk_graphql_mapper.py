"""SDK ``GraphQLMutationMapper`` configs load unchanged and give the variables the SDK's own mapper gives.

The SDK side is the public package, unmodified, run under node
(``tests/emulator/sdk/map_mutation.mjs``; ``make test-sdk-setup`` installs it).
``graphql-create-location.json`` is copied verbatim from the SDK's template
docs (S3 JSON location ingestion, Pattern 6), ``graphql-sfcc-order.json``
from its mapping guide (use case 2, with the guide's custom resolvers in
``order_resolvers.mjs`` and as engine plugins in ``order_resolvers.py``);
``graphql-create-order.json`` joins the array examples of its GraphQL
mutation mapping guide.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from engine.errors import SpecError
from engine.spec.compile import compile_file
from tests.emulator.sdk_corpus import PACKAGE, SDK_PROJECT

HERE = Path(__file__).parent
NODE = shutil.which("node")

LOCATION = {
    "locationRef": " LOC-7 ",
    "locationName": " Bondi Store ",
    "locationType": "store",
    "address": {
        "street1": "1 Campbell Pde",
        "street2": "Level 2",
        "city": "Bondi",
        "state": "NSW",
        "postalCode": "2026",
        "country": "AU",
    },
    "geo": {"latitude": "-33.8915", "longitude": "151.2767"},
    "timeZone": "Australia/Sydney",
    "openingSchedule": {"allHours": "true", "monStart": "900", "monEnd": "1730"},
}
ORDER = {
    "@order-no": "ORD-1",
    "order-type": "cc",
    "product-lineitems": {
        "product-lineitem": [
            {
                "@lineitem-id": "1",
                "product-id": "SKU-1",
                "quantity": "2",
                "base-price": "9.50",
                "currency": "aud",
            },
            {
                "@lineitem-id": "2",
                "product-id": "SKU-2",
                "quantity": "1",
                "base-price": "3",
                "currency": "aud",
            },
        ]
    },
    "customer": {"addresses": {"address": {"@type": "shipping", "street": "1 Main St", "city": "Perth"}}},
}


def sdk_variables(
    config: dict[str, Any], records: list[dict[str, Any]], *, resolvers: str | None = None
) -> list[dict[str, Any]]:
    """What the SDK's own mapper builds for each record: variables, or what it threw.

    ``map()`` for a config with ``arguments``, ``mapWithNodes()`` for one with
    ``fields``; ``resolvers`` is a JS module exporting custom resolvers.
    """
    assert NODE, "node is not installed (the SDK tests need node 20 or later)"
    assert PACKAGE.is_dir(), "the Fluent SDK is not installed: run `make test-sdk-setup`"
    done = subprocess.run(
        [NODE, "map_mutation.mjs"],
        cwd=SDK_PROJECT,
        input=json.dumps({"config": config, "records": records, "resolvers": resolvers}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip(), f"the SDK did not answer: {done.stderr[-2000:]}"
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def compile_with(tmp_path: Path, config: str, *, mapping: str | None = None, plugins: bool = False):
    shutil.copy(HERE / config, tmp_path / config)
    shutil.copy(HERE / "location_resolvers.py", tmp_path / "location_resolvers.py")
    extra = "plugins: [location_resolvers]\n" if plugins else ""
    (tmp_path / "spec.yaml").write_text(
        f"version: 1\nname: sdk\n{extra}source: {{type: local, path: in}}\nparser: {{type: json}}\n"
        f"mapping: {mapping or f'{{sdk_graphql_mapper: {config}}}'}\ntarget: {{type: stdout}}\n"
    )
    return compile_file(tmp_path / "spec.yaml", allow_custom_code=plugins)


def warnings_of(plan) -> list[str]:
    return [f"{d.path}: {d.message}" for d in plan.warnings if d.severity == "warning"]


def engine_variables(plan, record: dict[str, Any]) -> Any:
    out, issues = plan.mapping.map_record(record)
    assert issues == [], [issue.render() for issue in issues]
    return json.loads(json.dumps(out))  # as sent: JSON numbers, no Python types


def test_the_sdks_location_config_gives_the_sdks_variables(tmp_path: Path) -> None:
    config = json.loads((HERE / "graphql-create-location.json").read_text())
    plan = compile_with(tmp_path, "graphql-create-location.json")
    records = [
        LOCATION,
        {**LOCATION, "locationType": "Warehouse", "address": {"city": "Perth"}},
        {
            **LOCATION,
            "geo": {"latitude": 12, "longitude": -0.5},
            "openingSchedule": {"allHours": False, "monStart": 0, "monEnd": "2359"},
        },
    ]
    expected = sdk_variables(config, records)
    for record, sdk in zip(records, expected, strict=True):
        assert "thrown" not in sdk, sdk
        assert engine_variables(plan, record) == sdk["variables"]
    assert expected[0]["variables"]["input"]["primaryAddress"]["latitude"] == -33.8915
    assert expected[0]["variables"]["input"]["openingSchedule"] == {
        "allHours": True,
        "monStart": 900,
        "monEnd": 1730,
    }


def test_the_order_config_maps_items_and_addresses_as_the_sdk_does(tmp_path: Path) -> None:
    config = json.loads((HERE / "graphql-create-order.json").read_text())
    plan = compile_with(tmp_path, "graphql-create-order.json")
    no_type = {key: value for key, value in ORDER.items() if key != "order-type"}
    two_addresses = {
        **ORDER,
        "customer": {
            "addresses": {
                "address": [
                    {"@type": "shipping", "street": "1 Main St", "city": "Perth", "country": "AU"},
                    {"@type": "billing", "street": "PO Box 9", "city": "Perth"},
                ]
            }
        },
    }
    records = [ORDER, no_type, two_addresses]
    for record, sdk in zip(records, sdk_variables(config, records), strict=True):
        assert "thrown" not in sdk, sdk
        assert engine_variables(plan, record) == sdk["variables"]
    items = engine_variables(plan, ORDER)["input"]["items"]
    # as in the SDK, items ignore 'resolver' (only 'transform' applies): quantity and price stay text
    assert items[0] == {
        "ref": "1",
        "productRef": "SKU-1",
        "quantity": "2",
        "price": "9.50",
        "currency": "AUD",
    }


def test_keys_the_sdk_skips_are_warnings_naming_the_key(tmp_path: Path) -> None:
    plan = compile_with(tmp_path, "graphql-create-order.json")
    warnings = warnings_of(plan)
    for expected in (
        "mutation: 'mutation' does not change the variables (names the mutation the target sends); ignored",
        "returnFields: 'returnFields' does not change the variables (lists what the mutation returns); ignored",
        "arguments.input._type: '_type' does not change the variables; ignored",
        "arguments.input.items.comment: 'comment' does not change the variables; ignored",
        "arguments.input.items.quantity.comment: 'comment' does not change the variables; ignored",
        "arguments.input.items.quantity.resolver: the SDK ignores 'resolver' on the fields of array items; ignored",
    ):
        assert expected in warnings
    assert all(d.line > 1 for d in plan.warnings), "each warning points at its key in the config file"


def test_invalid_numbers_reject_the_record_where_the_sdk_sends_null(tmp_path: Path) -> None:
    config = json.loads((HERE / "graphql-create-location.json").read_text())
    plan = compile_with(tmp_path, "graphql-create-location.json")
    bad = {**LOCATION, "geo": {"latitude": "north", "longitude": "151.2"}}
    [sdk] = sdk_variables(config, [bad])
    assert sdk["variables"]["input"]["primaryAddress"]["latitude"] is None, "the SDK sends NaN as null"
    out, issues = plan.mapping.map_record(bad)
    assert out is None
    [issue] = issues
    assert issue.field == "input.primaryAddress.latitude" and "sdk.parseFloat" in issue.render()


def test_a_missing_required_value_fails_in_both(tmp_path: Path) -> None:
    config = json.loads((HERE / "graphql-create-location.json").read_text())
    plan = compile_with(tmp_path, "graphql-create-location.json")
    record = {key: value for key, value in LOCATION.items() if key != "locationName"}
    [sdk] = sdk_variables(config, [record])
    assert "Required field 'name' is missing" in sdk["thrown"]
    out, issues = plan.mapping.map_record(record)
    assert out is None and [i.field for i in issues] == ["input.name"]


def test_a_single_item_is_a_list_of_one_where_the_sdk_drops_it(tmp_path: Path) -> None:
    config = json.loads((HERE / "graphql-create-order.json").read_text())
    plan = compile_with(tmp_path, "graphql-create-order.json")
    line = {"@lineitem-id": "1", "product-id": "SKU-1", "quantity": "2", "base-price": "9.50"}
    single = {**ORDER, "product-lineitems": {"product-lineitem": line}}
    [sdk] = sdk_variables(config, [single])
    assert sdk["variables"]["input"]["items"] == [], "without _autoWrap the SDK sends no items"
    items = engine_variables(plan, single)["input"]["items"]
    assert items == [{"ref": "1", "productRef": "SKU-1", "quantity": "2", "price": "9.50"}]


def test_inline_config_sdk_resolver_names_and_custom_resolvers(tmp_path: Path) -> None:
    inline = (
        "{sdk_graphql_mapper: {mutation: createLocation, arguments: {input: {"
        "ref: {source: code, resolver: sdk.trim}, name: {source: n, resolver: custom.nope}}}}}"
    )
    with pytest.raises(SpecError) as info:
        compile_with(tmp_path, "graphql-create-location.json", mapping=inline)
    messages = [f"{d.path}: {d.message}" for d in info.value.diagnostics]
    assert any("unknown resolver 'custom.nope'" in m for m in messages), messages
    assert any(
        m.startswith(
            "mapping.sdk_graphql_mapper.arguments.input.ref.resolver: 'sdk.trim' is not a "
            "GraphQLMutationMapper transform: the SDK leaves the value unchanged; ignored"
        )
        for m in messages
    ), messages


def test_what_cannot_load_is_an_error_at_its_place(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_text(json.dumps({"mutation": "createOrder", "arguments": {}}))
    with pytest.raises(SpecError) as info:
        compile_with(tmp_path, "graphql-create-location.json", mapping="{sdk_graphql_mapper: empty.json}")
    [diag] = [d for d in info.value.diagnostics if d.severity == "error"]
    assert diag.file.endswith("empty.json") and "needs 'arguments' or 'fields'" in diag.message

    no_source = "{sdk_graphql_mapper: {arguments: {input: {items: {_array: true, ref: id}}}}}"
    with pytest.raises(SpecError) as info:
        compile_with(tmp_path, "graphql-create-location.json", mapping=no_source)
    [diag] = [d for d in info.value.diagnostics if d.severity == "error"]
    assert (
        diag.path == "mapping.sdk_graphql_mapper.arguments.input.items" and "needs a 'source'" in diag.message
    )

    both = "{fields: {a: b}, sdk_graphql_mapper: graphql-create-location.json}"
    with pytest.raises(SpecError) as info:
        compile_with(tmp_path, "graphql-create-location.json", mapping=both)
    assert any("not fields and sdk_graphql_mapper" in d.message for d in info.value.diagnostics)


def test_a_null_source_value_is_left_out_where_the_sdk_sends_null(tmp_path: Path) -> None:
    config = json.loads((HERE / "graphql-create-location.json").read_text())
    plan = compile_with(tmp_path, "graphql-create-location.json")
    record = {**LOCATION, "timeZone": None}
    [sdk] = sdk_variables(config, [record])
    assert sdk["variables"]["input"]["primaryAddress"]["timeZone"] is None
    assert "timeZone" not in engine_variables(plan, record)["input"]["primaryAddress"]


def test_the_documented_example_maps_as_documented_and_as_the_sdk(tmp_path: Path) -> None:
    docs = (HERE.parents[2] / "docs" / "mapping.md").read_text()
    section = docs.split("### GraphQLMutationMapper configs", 1)[1]
    config = json.loads(section.split("```json", 1)[1].split("```", 1)[0])
    (tmp_path / "documented.json").write_text(json.dumps(config))
    plan = compile_with(
        tmp_path, "graphql-create-location.json", mapping="{sdk_graphql_mapper: documented.json}"
    )
    record = {
        "locationRef": " L1",
        "locationType": "store",
        "address": {"city": "Bondi"},
        "geo": {"latitude": "-33.89"},
        "lines": [{"lineNo": "1", "qty": "2"}],
    }
    [sdk] = sdk_variables(config, [record])
    stated = section.split("gives `", 1)[1].split("`", 1)[0]
    assert engine_variables(plan, record) == sdk["variables"] == json.loads(stated)


SFCC_ORDER = {
    "order": {
        "@id": "ORD-123",
        "@type": "Express",
        "customer": {"@email": "John@Example.com"},
        "total": {"@currency": "AUD", "#text": "99.99"},
        "items": {
            "item": [
                {"@id": "ITEM-1", "@sku": "PROD-001", "@qty": "2", "@unitPrice": "49.99"},
                {"@id": "ITEM-2", "@sku": "PROD-002", "@qty": "1", "@unitPrice": "0.01"},
            ]
        },
    }
}


def test_the_sdks_fields_config_gives_the_variables_of_map_with_nodes(tmp_path: Path) -> None:
    """The guide's SFCC order config (fields, `$.` item paths, custom resolvers) through mapWithNodes."""
    shutil.copy(HERE / "order_resolvers.py", tmp_path / "order_resolvers.py")
    config = json.loads((HERE / "graphql-sfcc-order.json").read_text())
    (tmp_path / "in").mkdir()
    shutil.copy(HERE / "graphql-sfcc-order.json", tmp_path / "order.json")
    (tmp_path / "spec.yaml").write_text(
        "version: 1\nname: sdk\nplugins: [order_resolvers]\nsource: {type: local, path: in}\n"
        "parser: {type: json}\nmapping: {sdk_graphql_mapper: order.json}\ntarget: {type: stdout}\n"
    )
    plan = compile_file(tmp_path / "spec.yaml", allow_custom_code=True)
    single = {"order": {**SFCC_ORDER["order"], "items": {"item": SFCC_ORDER["order"]["items"]["item"][0]}}}
    records = [SFCC_ORDER, single]
    resolvers = str(HERE / "order_resolvers.mjs")
    for record, sdk in zip(records, sdk_variables(config, records, resolvers=resolvers), strict=True):
        assert "thrown" not in sdk, sdk
        ours = engine_variables(plan, record)
        sdk_totals = [item.pop("totalPrice") for item in sdk["variables"]["input"]["items"]]
        our_totals = [item.pop("totalPrice") for item in ours["input"]["items"]]
        assert ours == sdk["variables"]
        # the guide's calculateItemTotal reads the item; the SDK hands it the whole record, so 0
        assert sdk_totals == [0] * len(sdk_totals) and our_totals[0] == 99.98
    assert engine_variables(plan, SFCC_ORDER)["input"]["type"] == "HD", "custom.mapOrderType ran"
    warnings = warnings_of(plan)
    assert (
        "fields.totalPrice.resolver: 'sdk.parseFloat' is not a GraphQLMutationMapper transform: "
        "the SDK leaves the value unchanged; ignored (use one of parseFloat, parseInt, toBoolean, "
        "toDate, toISO8601, toLowerCase, toString, toUpperCase, trim)"
    ) in warnings
    assert (
        "fields.items.fields.ref.required: the SDK does not apply 'required' to a '$.' item field; ignored"
        in (warnings)
    )


def test_nodes_name_paths_as_in_the_sdk(tmp_path: Path) -> None:
    config = {
        "mutation": "createOrder",
        "sourceFormat": "json",
        "nodes": {"order": {"extract": "body.order", "comment": "the webhook's order"}},
        "fields": {
            "ref": {"source": "$order.ref", "required": True},
            "lines[]": {
                "source": "$order.lines",
                "fields": {"sku": {"source": "$.sku"}, "ref": {"source": "order.ref"}},
            },
            "retailer": {"id": {"value": 1}},
            "channel": {"source": "body.channel", "resolver": "toUpperCase"},
            "unmapped": {"isArray": True},
        },
    }
    record = {"body": {"channel": "web", "order": {"ref": "O-1", "lines": [{"sku": "A"}, {"sku": "B"}]}}}
    (tmp_path / "nodes.json").write_text(json.dumps(config))
    plan = compile_with(tmp_path, "graphql-create-location.json", mapping="{sdk_graphql_mapper: nodes.json}")
    [sdk] = sdk_variables(config, [record])
    assert engine_variables(plan, record) == sdk["variables"]
    assert sdk["variables"]["input"]["lines"] == [{"sku": "A", "ref": "O-1"}, {"sku": "B", "ref": "O-1"}]
    assert "nodes.order.comment: 'comment' does not change the variables; ignored" in warnings_of(plan)


#: the SDK guide's "Embedded XML/JSON (nodes pattern)": an SFCC order whose custom attributes hold
#: HTML-encoded XML, here with a JSON payload beside it and lines that read both
EMBEDDED = {
    "mutation": "createOrder",
    "sourceFormat": "json",
    "nodes": {
        "metadata": {"extract": "order.customData.metadata", "unescape": True, "parse": "xml"},
        "payload": {"extract": "order.payload", "parse": "json"},
        "note": {"extract": "order.note", "unescape": True},
    },
    "fields": {
        "ref": {"source": "order.orderNo", "required": True},
        "type": {"value": "STANDARD"},
        "retailer": {"fields": {"id": {"value": "1"}}},
        "attributes": {
            "fields": {
                "priority": {"source": "$metadata.meta.priority"},
                "channel": {"source": "$metadata.meta.@channel"},
                "tags": {"source": "$metadata.meta.tags.tag"},
                "note": {"source": "$note"},
                "loyalty": {"source": "$payload.loyalty.tier", "resolver": "toUpperCase"},
            }
        },
        "items[]": {
            "source": "$payload.lines",
            "fields": {
                "ref": {"source": "$.id"},
                "productRef": {"source": "$.sku"},
                "quantity": {"source": "$.qty", "resolver": "parseInt"},
                "orderRef": {"source": "order.orderNo"},
                "priority": {"source": "$metadata.meta.priority"},
            },
        },
    },
}
EMBEDDED_ORDER = {
    "order": {
        "orderNo": "SF-100",
        "customData": {
            "metadata": "&lt;meta channel=&quot;web&quot;&gt;&lt;priority&gt;HIGH&lt;/priority&gt;"
            "&lt;tags&gt;&lt;tag&gt;gift&lt;/tag&gt;&lt;tag&gt;fragile &amp;amp; heavy&lt;/tag&gt;"
            "&lt;/tags&gt;&lt;/meta&gt;"
        },
        "payload": '{"loyalty": {"tier": "gold"}, "lines": [{"id": "L1", "sku": "A", "qty": "2"},'
        ' {"id": "L2", "sku": "B", "qty": "1"}]}',
        "note": "Leave at door &ndash; ring &#39;twice&#39; &#x263A; &NBSP;ok &hellip;",
    }
}


def test_nodes_that_decode_json_and_xml_held_in_a_field_map_as_the_sdk(tmp_path: Path) -> None:
    (tmp_path / "embedded.json").write_text(json.dumps(EMBEDDED))
    plan = compile_with(
        tmp_path, "graphql-create-location.json", mapping="{sdk_graphql_mapper: embedded.json}"
    )
    records = [
        EMBEDDED_ORDER,
        # no metadata, and the note empty: those nodes are left out, as the SDK leaves them out
        {"order": {**EMBEDDED_ORDER["order"], "customData": {}, "note": ""}},
    ]
    expected = sdk_variables(EMBEDDED, records)
    for record, sdk in zip(records, expected, strict=True):
        assert "thrown" not in sdk, sdk
        assert engine_variables(plan, record) == sdk["variables"]
    attributes = expected[0]["variables"]["input"]["attributes"]
    assert attributes["tags"] == ["gift", "fragile & heavy"] and attributes["channel"] == "web"
    assert expected[0]["variables"]["input"]["items"][1] == {
        "ref": "L2",
        "productRef": "B",
        "quantity": 1,
        "orderRef": "SF-100",
        "priority": "HIGH",
    }


def test_decoded_nodes_use_the_hardened_xml_parser_and_reject_what_they_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "embedded.json").write_text(json.dumps(EMBEDDED))
    plan = compile_with(
        tmp_path, "graphql-create-location.json", mapping="{sdk_graphql_mapper: embedded.json}"
    )
    bomb = '&lt;!DOCTYPE m [&lt;!ENTITY a "aaaaaaaaaa"&gt;&lt;!ENTITY b "&amp;a;&amp;a;&amp;a;"&gt;]&gt;&lt;meta&gt;&amp;b;&lt;/meta&gt;'
    for held, reason in (
        ({"customData": {"metadata": bomb}}, "entity declarations are refused"),
        ({"customData": {"metadata": "&lt;meta&gt;"}}, "node 'metadata' (xml)"),
        ({"payload": "{not json"}, "node 'payload' (json)"),
    ):
        _, issues = plan.mapping.map_record({"order": {**EMBEDDED_ORDER["order"], **held}})
        assert len(issues) == 1 and issues[0].field == "input", issues
        assert reason in issues[0].render()


def test_bad_node_options_are_errors_at_their_key(tmp_path: Path) -> None:
    config = {
        **EMBEDDED,
        "nodes": {"m": {"extract": "x", "parse": "yaml"}, "n": {"extract": "y", "unescape": "yes"}},
    }
    (tmp_path / "bad.json").write_text(json.dumps(config))
    with pytest.raises(SpecError) as info:
        compile_with(tmp_path, "graphql-create-location.json", mapping="{sdk_graphql_mapper: bad.json}")
    found = {(d.path, d.message) for d in info.value.diagnostics if d.severity == "error"}
    assert ("nodes.m.parse", "node 'm': parse is json or xml, not 'yaml'") in found
    assert ("nodes.n.unescape", "node 'n': unescape is true or false") in found


def test_the_documented_fields_example_maps_as_the_sdk(tmp_path: Path) -> None:
    docs = (HERE.parents[2] / "docs" / "mapping.md").read_text()
    section = docs.split("### GraphQLMutationMapper configs", 1)[1]
    config = json.loads(section.split("```json")[2].split("```", 1)[0])
    (tmp_path / "documented.json").write_text(json.dumps(config))
    shutil.copy(HERE / "order_resolvers.py", tmp_path / "order_resolvers.py")
    (tmp_path / "spec.yaml").write_text(
        "version: 1\nname: sdk\nplugins: [order_resolvers]\nsource: {type: local, path: in}\n"
        "parser: {type: json}\nmapping: {sdk_graphql_mapper: documented.json}\ntarget: {type: stdout}\n"
    )
    plan = compile_file(tmp_path / "spec.yaml", allow_custom_code=True)
    record = {"body": {"order": {"ref": "O-1", "type": "express", "lines": [{"sku": "A"}, {"sku": "B"}]}}}
    [sdk] = sdk_variables(config, [record], resolvers=str(HERE / "order_resolvers.mjs"))
    assert engine_variables(plan, record) == sdk["variables"]
    assert sdk["variables"] == {
        "input": {
            "ref": "O-1",
            "type": "HD",
            "retailer": {"id": 1},
            "items": [{"skuRef": "A", "orderRef": "O-1"}, {"skuRef": "B", "orderRef": "O-1"}],
        }
    }


def test_every_transform_gives_the_sdks_value_for_valid_input_and_rejects_the_rest(tmp_path: Path) -> None:
    names = [
        "parseInt",
        "parseFloat",
        "toString",
        "toUpperCase",
        "toLowerCase",
        "trim",
        "toISO8601",
        "toDate",
    ]
    fields = {name: {"source": name, "resolver": name} for name in names}
    config = {
        "mutation": "m",
        "sourceFormat": "json",
        "arguments": {"input": {**fields, "flag": {"source": "flag", "transform": "toBoolean"}}},
    }
    (tmp_path / "transforms.json").write_text(json.dumps(config))
    plan = compile_with(
        tmp_path, "graphql-create-location.json", mapping="{sdk_graphql_mapper: transforms.json}"
    )
    base = {
        "parseInt": "42",
        "parseFloat": "-1.25",
        "toString": 7,
        "toUpperCase": "abc",
        "toLowerCase": "ABC",
        "trim": "\t x \n",
        "toISO8601": "2026-01-05T10:00:00+02:00",
        "toDate": "2026-01-05",
    }
    records = [{**base, "flag": flag} for flag in ("on", "Yes", "1", 1, 0, True, "off", "n")]
    for record, sdk in zip(records, sdk_variables(config, records), strict=True):
        assert engine_variables(plan, record) == sdk["variables"], record["flag"]
    for field, bad in (("flag", "2"), ("parseInt", "12abc"), ("parseFloat", "n/a"), ("toDate", "someday")):
        out, issues = plan.mapping.map_record({**base, "flag": "on", field: bad})
        assert out is None and [i.field for i in issues] == [f"input.{field}"], (field, issues)


def test_min_items_is_checked_as_in_the_sdk(tmp_path: Path) -> None:
    items = {"_array": True, "source": "lines", "_validation": {"minItems": 1, "maxItems": 100}, "sku": "sku"}
    config = {"mutation": "m", "sourceFormat": "json", "arguments": {"input": {"ref": "ref", "items": items}}}
    (tmp_path / "min.json").write_text(json.dumps(config))
    plan = compile_with(tmp_path, "graphql-create-location.json", mapping="{sdk_graphql_mapper: min.json}")
    assert (
        "arguments.input.items._validation.maxItems: the SDK does not check 'maxItems'; ignored"
        in warnings_of(plan)
    )
    records = [{"ref": "A", "lines": [{"sku": "S"}]}, {"ref": "B", "lines": []}]
    good, empty = sdk_variables(config, records)
    assert engine_variables(plan, records[0]) == good["variables"]
    assert "at least 1 items" in empty["thrown"]
    out, issues = plan.mapping.map_record(records[1])
    assert out is None and [i.field for i in issues] == ["input.items"]

    items["_validation"]["minItems"] = 2
    (tmp_path / "min.json").write_text(json.dumps(config))
    with pytest.raises(SpecError) as info:
        compile_with(tmp_path, "graphql-create-location.json", mapping="{sdk_graphql_mapper: min.json}")
    assert any(d.path == "arguments.input.items._validation.minItems" for d in info.value.diagnostics)


def test_nested_objects_in_array_items_and_environment_values(tmp_path: Path) -> None:
    items = {
        "_array": True,
        "source": "lines",
        "ref": {"source": "no", "_type": "String!"},
        "price": {
            "source": "money",
            "mapping": {"amount": {"source": "value", "transform": "parseFloat"}, "currency": "cur"},
        },
        "note": 5,
    }
    config = {
        "mutation": "m",
        "sourceFormat": "json",
        "arguments": {"input": {"items": items, "channel": {"value": "${CHANNEL}"}}},
    }
    (tmp_path / "nested.json").write_text(json.dumps(config))
    plan = compile_with(tmp_path, "graphql-create-location.json", mapping="{sdk_graphql_mapper: nested.json}")
    warnings = warnings_of(plan)
    assert "arguments.input.items.ref._type: '_type' does not change the variables; ignored" in warnings
    assert (
        "arguments.input.items.note: 'note' is not a field config (the SDK gives nothing for it); ignored"
        in warnings
    )
    assert any(
        w.startswith("arguments.input.channel.value: the SDK reads ${CHANNEL} from its environment")
        for w in warnings
    )
    record = {
        "lines": [{"no": "1", "money": {"value": "2.50", "cur": "AUD"}}, {"no": "2", "money": {"value": "3"}}]
    }
    no_money = {"lines": [{"no": "3"}]}
    sdk, sdk_no_money = sdk_variables(config, [record, no_money])
    assert engine_variables(plan, record) == sdk["variables"]
    assert sdk["variables"]["input"]["items"][0]["price"] == {"amount": 2.5, "currency": "AUD"}
    # a missing nested object is left out; the SDK sends parseFloat(undefined) as null
    assert sdk_no_money["variables"]["input"]["items"] == [{"ref": "3", "price": {"amount": None}}]
    assert engine_variables(plan, no_money)["input"]["items"] == [{"ref": "3"}]


def test_a_problem_in_a_translated_field_is_reported_at_the_configs_own_key(tmp_path: Path) -> None:
    config = json.loads((HERE / "graphql-create-location.json").read_text())
    config["arguments"]["input"]["primaryAddress"]["city"]["resolver"] = "custom.nope"
    (tmp_path / "typo.json").write_text(json.dumps(config, indent=1))
    with pytest.raises(SpecError) as info:
        compile_with(tmp_path, "graphql-create-location.json", mapping="{sdk_graphql_mapper: typo.json}")
    [diag] = [d for d in info.value.diagnostics if d.severity == "error"]
    line = next(
        n
        for n, text in enumerate((tmp_path / "typo.json").read_text().splitlines(), 1)
        if "custom.nope" in text
    )
    assert (diag.file.endswith("typo.json"), diag.line, diag.path) == (
        True,
        line,
        "arguments.input.primaryAddress.city.resolver",
    )

    fields = {
        "mutation": "m",
        "sourceFormat": "json",
        "fields": {
            "items[]": {"source": "xs", "fields": {"n": {"source": "$.n", "resolver": "custom.nope"}}}
        },
    }
    (tmp_path / "typo.json").write_text(json.dumps(fields, indent=1))
    with pytest.raises(SpecError) as info:
        compile_with(tmp_path, "graphql-create-location.json", mapping="{sdk_graphql_mapper: typo.json}")
    [diag] = [d for d in info.value.diagnostics if d.severity == "error"]
    assert diag.path == 'fields["items[]"].fields.n.resolver' and diag.line == 10


def problems(tmp_path: Path, config: Any) -> list[str]:
    """Every diagnostic of loading ``config`` as ``severity path: message``."""
    (tmp_path / "odd.json").write_text(json.dumps(config))
    try:
        plan = compile_with(
            tmp_path, "graphql-create-location.json", mapping="{sdk_graphql_mapper: odd.json}"
        )
    except SpecError as exc:
        return [f"{d.severity} {d.path}: {d.message}" for d in exc.diagnostics]
    return [f"{d.severity} {d.path}: {d.message}" for d in plan.warnings]


def test_odd_arguments_configs_are_warnings_or_errors_at_their_key(tmp_path: Path) -> None:
    config = {
        "mutation": "m",
        "nodes": {},
        "fields": {},
        "extra": 1,
        "arguments": {
            "input": {
                "a": {"source": "a", "resolver": "trim", "transform": "toLowerCase"},
                "b": {"source": "b", "resolver": ["trim"]},
                "c": {"_nested": True, "source": "c", "d": "d", "required": True},
                "e": {"_array": True, "source": "es", "transform": "trim", "x": {"sub": "y"}},
            }
        },
    }
    found = problems(tmp_path, config)
    for expected in (
        "warning nodes: 'nodes' is read only by mapWithNodes, not next to 'arguments'; ignored",
        "warning fields: 'fields' is read only by mapWithNodes, not next to 'arguments'; ignored",
        "warning extra: unknown GraphQLMutationMapper key 'extra'; ignored",
        "warning arguments.input.a.transform: 'resolver' is used and 'transform' ignored (as in the SDK)",
        "error arguments.input.b.resolver: a resolver is one name (a string)",
        "warning arguments.input.c._nested: '_nested' does not change the variables; ignored",
        "warning arguments.input.c.required: 'required' is not a field of a nested object (the SDK skips it); ignored",
        "warning arguments.input.e.transform: the SDK does not apply 'transform' to an array; ignored",
    ):
        assert expected in found, (expected, found)
    assert any(p.startswith("warning arguments.input.e.x: the SDK leaves this item field out") for p in found)
    assert problems(tmp_path, ["not", "an", "object"]) == [
        "error (spec): a GraphQLMutationMapper config is an object"
    ]
    assert problems(tmp_path, {"fields": []}) == ["error fields: 'fields' must be an object"]


def test_odd_fields_configs_are_warnings_or_errors_at_their_key(tmp_path: Path) -> None:
    config = {
        "nodes": {"9bad": {"extract": "x"}, "noextract": {}, "o": {"extract": "body", "required": True}},
        "fields": {
            "a": {"source": "$missing.ref"},
            "b": {"source": "nodes.o.ref"},
            "c": {"source": ""},
            "d[]": {"fields": {"x": {"source": "$.x"}}},
            "e": 5,
            "f": {"source": "o.f", "fields": {"g": {"source": "g"}}},
            "h": {"source": "h", "resolver": "parseInt", "defaultValue": 0, "note": 1},
            "i": {"resolver": "trim"},
            "j[]": {"source": "js", "fields": {"k": {"source": "$.k", "required": True, "resolver": "trim"}}},
        },
    }
    found = problems(tmp_path, config)
    for expected in (
        "error nodes[\"9bad\"]: node name '9bad' must start with a letter or '_' (letters, digits, '_')",
        "error nodes.noextract: node 'noextract' needs an 'extract' path",
        "warning nodes.o.required: a node's 'required' is not checked (make its fields required); ignored",
        "warning fields.a.source: no node named 'missing': the SDK reads nothing here; ignored",
        "warning fields.b.source: 'nodes.NAME.path' reads nothing in the SDK (write '$NAME.path'); kept as written",
        "error fields.c.source: a source is a non-empty path",
        "warning fields.e: 'e' is not a field config (the SDK gives nothing for it); ignored",
        "warning fields.f.source: 'source' is not used next to 'fields' (as in the SDK); ignored",
        "warning fields.h.defaultValue: the SDK does not apply 'defaultValue' after a transform; ignored",
        "warning fields.h.note: unknown key 'note' of a field; ignored",
        "warning fields[\"j[]\"].fields.k.required: the SDK does not apply 'required' to a '$.' item field; ignored",
    ):
        assert expected in found, (expected, found)
    assert problems(tmp_path, {"nodes": [], "fields": {}}) == ["error nodes: 'nodes' must be an object"]

    config = {
        "nodes": {"o": {"extract": "body"}},
        "fields": {
            "d[]": {"fields": {"x": {"source": "$.x"}}},
            "j[]": config["fields"]["j[]"],
            "i": {"resolver": "trim"},
            "b": {"source": "o.ref"},
        },
    }
    (tmp_path / "ok.json").write_text(json.dumps(config))
    plan = compile_with(tmp_path, "graphql-create-location.json", mapping="{sdk_graphql_mapper: ok.json}")
    record = {"body": {"ref": "R"}, "js": [{"k": " K "}]}
    [sdk] = sdk_variables({**config, "sourceFormat": "json", "mutation": "m"}, [record])
    assert (
        engine_variables(plan, record)
        == sdk["variables"]
        == {"input": {"d": [], "j": [{"k": "K"}], "b": "R"}}
    )
