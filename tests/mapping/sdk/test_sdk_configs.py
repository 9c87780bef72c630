"""The SDK's own mapping files load unchanged and give the SDK's results for valid input.

Expected outputs follow the SDK's documented UniversalMapper semantics
(reference sdk-behaviour §3.1–3.3): ``_array``/``_type``/``comment`` are
ignored, ``fields`` with ``source`` are relative to it, ``isArray`` needs
``fields``, ``sdk.parseInt`` is JavaScript's parseInt, ``sdk.formatDate`` is
``toISOString``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.spec.compile import compile_file

HERE = Path(__file__).parent


def compile_with(tmp_path: Path, config: str, *, plugins: bool = False):
    shutil.copy(HERE / config, tmp_path / config)
    shutil.copy(HERE / "location_resolvers.py", tmp_path / "location_resolvers.py")
    extra = "plugins: [location_resolvers]\n" if plugins else ""
    (tmp_path / "spec.yaml").write_text(
        f"version: 1\nname: sdk\n{extra}source: {{type: local, path: in}}\nparser: {{type: json}}\n"
        f"mapping: {{sdk_config: {config}}}\ntarget: {{type: stdout}}\n"
    )
    return compile_file(tmp_path / "spec.yaml", allow_custom_code=plugins)


def warnings_of(plan) -> list[str]:
    return [f"{d.path}: {d.message}" for d in plan.warnings if d.severity == "warning"]


def test_csv_location_ingestion(tmp_path: Path) -> None:
    plan = compile_with(tmp_path, "csv-location-ingestion.json", plugins=True)
    assert "fields.ref.comment: 'comment' is ignored (the SDK's mapper ignores it too)" in warnings_of(plan)
    record = {
        "locationCode": " LOC-7 ",
        "locationType": "STORE ",
        "status": "ACTIVE",
        "region": "North",
        "manager": "Kim",
    }
    out, issues = plan.mapping.map_record(record, {"retailerId": "12"})
    assert issues == []
    assert out == {
        "retailerId": 12,
        "ref": "LOC-7",
        "type": "STORE",
        "status": "ACTIVE",
        "attributes": [
            {"name": "manager", "type": "STRING", "value": "Kim"},
            {"name": "region", "type": "STRING", "value": "North"},
        ],
    }


def test_csv_location_needs_its_custom_resolver(tmp_path: Path) -> None:
    from engine.errors import SpecError

    with pytest.raises(SpecError) as info:
        compile_with(tmp_path, "csv-location-ingestion.json", plugins=False)
    assert any(
        "unknown resolver 'custom.extractLocationAttributes'" in d.message for d in info.value.diagnostics
    )


def test_graphql_to_parquet_extraction(tmp_path: Path) -> None:
    plan = compile_with(tmp_path, "graphql-to-parquet-extraction.json")
    edge = {
        "node": {
            "location": {"ref": " LOC-1 "},
            "product": {"ref": "SKU-1"},
            "quantity": "42",
            "updatedOn": "2026-01-05T10:00:00Z",
            "attributes": [{"name": "a", "value": 1}],
        }
    }
    out, issues = plan.mapping.map_record(edge)
    assert issues == []
    assert out == {
        "locationRef": "LOC-1",
        "productRef": "SKU-1",
        "quantity": 42,
        "lastUpdated": "2026-01-05T10:00:00.000Z",
        "attributes": [{"name": "a", "value": 1}],
    }


def test_graphql_extraction_rejects_what_the_sdk_would_zero(tmp_path: Path) -> None:
    plan = compile_with(tmp_path, "graphql-to-parquet-extraction.json")
    edge = {"node": {"location": {"ref": "L"}, "product": {"ref": "P"}, "quantity": "lots"}}
    out, issues = plan.mapping.map_record(edge)
    assert out is None and issues[0].field == "quantity" and "sdk.parseInt" in issues[0].render()


def test_json_product_to_mutation(tmp_path: Path) -> None:
    plan = compile_with(tmp_path, "json-product-to-mutation.json")
    assert "mutation: 'mutation' is not used by a field mapping; ignored" in warnings_of(plan)
    assert "fields.attributes._array: '_array' is ignored (the SDK's mapper ignores it too)" in warnings_of(
        plan
    )
    record = {
        "product": {
            "sku": "TEE-1",
            "product_type": "VARIANT",
            "status": "ACTIVE",
            "key": "colour",
            "value": "red",
            "type": "STRING",
        }
    }
    out, issues = plan.mapping.map_record(record, {"retailerId": "1"})
    assert issues == []
    # _array and _resolver are ignored: attributes is the nested object relative to 'product'
    assert out == {
        "retailerId": "1",
        "ref": "TEE-1",
        "type": "VARIANT",
        "status": "ACTIVE",
        "attributes": {"name": "colour", "value": "red", "type": "STRING"},
    }


def test_xml_order_to_mutation(tmp_path: Path) -> None:
    plan = compile_with(tmp_path, "xml-order-to-mutation.json")
    record = {
        "order": {
            "@orderNo": "O-1",
            "orderType": "HD",
            "items": {
                "item": [
                    {"@productId": "P1", "quantity": "2", "unitPrice": "9.5"},
                    {"@productId": "P2", "quantity": "1", "unitPrice": "3"},
                ]
            },
        }
    }
    out, issues = plan.mapping.map_record(record, {"retailerId": "1"})
    assert issues == []
    # as in the SDK: '_array' is ignored, so 'items' is a nested object relative to the item list,
    # whose 'item.@productId' paths find nothing: no items at all
    assert out == {"retailerId": "1", "ref": "O-1", "type": "HD"}


def test_the_same_order_with_is_array_maps_every_item_and_sees_the_order(tmp_path: Path) -> None:
    import json

    config = json.loads((HERE / "xml-order-to-mutation.json").read_text())
    items = config["fields"]["items"]
    items["isArray"] = True
    items["fields"] = {
        "productRef": {"source": "@productId"},
        "quantity": {"source": "quantity", "resolver": "sdk.parseInt"},
        "orderRef": {"source": "$parent.order.@orderNo"},
    }
    (tmp_path / "fixed.json").write_text(json.dumps(config))
    (tmp_path / "spec.yaml").write_text(
        "version: 1\nname: sdk\nsource: {type: local, path: in}\nparser: {type: json}\n"
        "mapping: {sdk_config: fixed.json}\ntarget: {type: stdout}\n"
    )
    plan = compile_file(tmp_path / "spec.yaml")
    record = {
        "order": {
            "@orderNo": "O-1",
            "orderType": "HD",
            "items": {"item": [{"@productId": "P1", "quantity": "2"}, {"@productId": "P2", "quantity": "1"}]},
        }
    }
    out, _ = plan.mapping.map_record(record, {"retailerId": "1"})
    assert out["items"] == [
        {"productRef": "P1", "quantity": 2, "orderRef": "O-1"},
        {"productRef": "P2", "quantity": 1, "orderRef": "O-1"},
    ]
    single = {
        "order": {
            "@orderNo": "O-2",
            "orderType": "CC",
            "items": {"item": {"@productId": "P9", "quantity": "5"}},
        }
    }
    out, _ = plan.mapping.map_record(single, {"retailerId": "1"})
    assert out["items"] == [{"productRef": "P9", "quantity": 5, "orderRef": "O-2"}], (
        "one item is still a list"
    )
