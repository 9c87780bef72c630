"""Seeds: the default demo data, determinism, bulk generation and clear errors (§11.1)."""

from __future__ import annotations

import re

import pytest
import yaml

from engine.emulator import Emulator, return_orders
from engine.emulator.core import Core
from engine.emulator.handlers import BUILTIN_RULES
from engine.emulator.seed import DEFAULT_SEED, SeedError


def test_default_seed_contents():
    core = Core()
    store = core.store
    assert store.accounts["DEMO"] == {"id": "DEMO", "clientSecret": "demo-secret", "refreshTokens": True}
    assert [(r["id"], r["ref"]) for r in store.retailers][:2] == [
        ("1", "demo-retailer"),
        ("2", "other-retailer"),
    ]
    user = store.users.find("demo")
    assert user["password"] == "demo-password" and user["retailerIds"] == ["1"]
    assert store.catalogue("DEFAULT:1", "INVENTORY") and store.catalogue("PC:MASTER:1", "PRODUCT")
    locations = [loc for loc in store.locations if loc["retailerId"] == "1"]
    assert [loc["ref"] for loc in locations] == [f"LOC-{n:03d}" for n in range(1, 11)]
    assert [loc["type"] for loc in locations] == ["STORE"] * 8 + ["WAREHOUSE"] * 2
    assert all(loc["name"] and loc["primaryAddress"]["city"] for loc in locations)
    products = [p for p in store.products if p["catalogueRef"] == "PC:MASTER:1"]
    assert [p["ref"] for p in products] == [f"SKU-{n:04d}" for n in range(1, 201)]
    assert all(
        re.fullmatch(r"0\d{13}", p["gtin"]) and p["status"] == "ACTIVE" and p["name"] for p in products
    )
    assert len({p["gtin"] for p in products}) == 200
    positions = list(store.inventory_positions)
    assert len(positions) == 250
    assert {p["productRef"] for p in positions} == {f"SKU-{n:04d}" for n in range(1, 51)}
    assert {p["locationRef"] for p in positions} == {f"LOC-{n:03d}" for n in range(1, 6)}
    orders = list(store.orders)
    assert [o["ref"] for o in orders] == [f"ORD-{n}" for n in range(1001, 1006)]
    assert all(o["status"] == "BOOKED" and 1 <= len(o["_items"]) <= 3 for o in orders)
    assert len(store.fulfilments) == 1
    assert Emulator().credentials == {
        "client_id": "DEMO",
        "client_secret": "demo-secret",
        "username": "demo",
        "password": "demo-password",
        "retailer_id": "1",
    }


def test_default_seed_has_flow_examples_and_the_builtin_rules():
    store = Core().store
    expected = store.quantity_refs[("DEFAULT:1", "ASN-1001-1")]
    assert (expected["type"], expected["qty"], expected["locationRef"]) == ("EXPECTED", 24, "LOC-002")
    assert expected["expectedOn"] == "2030-01-15T00:00:00.000Z"
    reservation = store.quantity_refs[("DEFAULT:1", "RES-1001")]
    assert (reservation["type"], reservation["status"], reservation["qty"]) == ("RESERVED", "RESERVED", 2)
    returned = store.return_orders.find(("1", "RET-1001"))
    assert returned["customer"] == {"ref": "CUST-1"} and returned["order"]["ref"] == "ORD-1001"
    [item] = return_orders.items_of(store, returned)
    assert item["product"] == {"ref": "SKU-0001", "catalogue": {"ref": "PC:MASTER:1"}}
    assert item["unitQuantity"] == {"quantity": 1}
    [paid] = list(store.financial_transactions)
    assert (paid["ref"], paid["status"], paid["total"], paid["currency"]) == (
        "ORD-1001-P1",
        "AUTHORIZED",
        89.9,
        "AUD",
    )
    default_rules = yaml.safe_load(DEFAULT_SEED.read_text(encoding="utf-8"))["eventRules"]
    assert default_rules == BUILTIN_RULES
    assert Core({"retailers": [{"id": 1, "ref": "r"}]}).store.event_rules.keys() == store.event_rules.keys()


def test_seed_sections_for_quantities_and_returns_take_short_forms():
    seed = {
        "extends": "default",
        "inventoryQuantities": [
            {
                "catalogue": "DEFAULT:1",
                "productRef": "SKU-0002",
                "locationRef": "LOC-003",
                "ref": "Q1",
                "type": "ADJUSTMENT",
                "quantity": -4,
                "condition": "DAMAGED",
            }
        ],
        "returnOrders": [
            {
                "ref": "R1",
                "retailerId": 1,
                "order": "ORD-1003",
                "lodgedLocation": "LOC-002",
                "totalAmount": 10,
                "items": [{"orderItem": "ORD-1003-2", "quantity": 1, "returnReason": "CHANGED_MIND"}],
            }
        ],
    }
    seed["inventoryQuantities"].append(
        {
            "catalogue": "DEFAULT:1",
            "productRef": "SKU-0002",
            "locationRef": "LOC-009",
            "ref": "Q2",
            "type": "EXPECTED",
        }
    )
    store = Core(seed).store
    new_position = store.inventory_positions.find(("DEFAULT:1", "SKU-0002", "LOC-009"))
    assert (
        new_position["onHand"] == 0
        and store.quantity_refs[("DEFAULT:1", "Q2")]["positionId"] == new_position["id"]
    )
    adjustment = store.quantity_refs[("DEFAULT:1", "Q1")]
    assert (adjustment["qty"], adjustment["condition"], adjustment["status"]) == (-4, "DAMAGED", "CREATED")
    returned = store.return_orders.find(("1", "R1"))
    assert returned["customer"] == {"ref": "CUST-3"} and returned["lodgedLocation"] == {"ref": "LOC-002"}
    assert returned["totalAmount"] == {"amount": 10.0}
    [item] = return_orders.items_of(store, returned)
    assert item["ref"] == "R1-1" and item["product"]["ref"] == "SKU-0021"
    assert item["returnReason"] == {"value": "CHANGED_MIND"}


def test_seeds_are_deterministic():
    one, two = Core(), Core()
    strip = ("createdOn", "updatedOn")
    for name in ("inventory_positions", "products", "orders", "locations"):
        rows_one = [{k: v for k, v in r.items() if k not in strip} for r in one.store.table(name)]
        rows_two = [{k: v for k, v in r.items() if k not in strip} for r in two.store.table(name)]
        assert rows_one == rows_two


def test_seeds_extending_the_default_may_generate_other_positions():
    seed = {
        "extends": "default",
        "generate": {
            "inventory_positions": {
                "catalogue": "DEFAULT:1",
                "products": "SKU-0100..SKU-0101",
                "locations": "LOC-009..LOC-010",
            }
        },
    }
    store = Core(seed).store
    assert len(store.inventory_positions) == 6  # four generated, two for the default seed's quantities
    assert store.quantity_refs[("DEFAULT:1", "ASN-1001-1")]["locationRef"] == "LOC-002"


def test_bulk_positions_for_extraction_tests():
    core = Core({"extends": "default", "generate": {"inventory_positions": 25000}})
    assert len(core.store.inventory_positions) == 25000
    keys = {(p["productRef"], p["locationRef"]) for p in core.store.inventory_positions}
    assert len(keys) == 25000
    assert all(p["productRef"] in core.store.product_refs["1"] for p in core.store.inventory_positions)


def test_seed_file_with_extends(tmp_path):
    seed_file = tmp_path / "seed.yaml"
    seed_file.write_text(
        "extends: default\nlocations:\n  - {ref: LOC-011, retailerId: 1, type: STORE}\n"
        "settings: {job_shape: sdk_types}\n"
    )
    core = Core(seed_file)
    assert core.store.locations.find(("1", "LOC-011")) and core.settings.job_shape == "sdk_types"
    assert Core(seed_file, {"job_shape": "inferred"}).settings.job_shape == "inferred"


@pytest.mark.parametrize(
    "seed, message",
    [
        ({"locatons": []}, "seed.locatons: unknown seed section (did you mean 'locations'?)"),
        ({"version": 2}, "seed.version: 2 is not supported"),
        (
            {"extends": "default", "locations": [{"ref": "X", "retailerId": 9}]},
            "seed.locations[11]: retailerId '9' is not a seeded retailer",
        ),
        (
            {"extends": "default", "products": [{"ref": "SKU-0001", "catalogue": "PC:MASTER:1"}]},
            "seed.generate.products: product 'SKU-0001' is already in PC:MASTER:1",
        ),
        ({"extends": "default", "generate": {"positions": 5}}, "seed.generate.positions: unknown generator"),
        (
            {
                "extends": "default",
                "orders": [{"ref": "O", "retailerId": 1, "items": [{"productRef": "NOPE"}]}],
            },
            "seed.orders[5]: items[0].productRef 'NOPE' is not a seeded product",
        ),
        (
            {
                "extends": "default",
                "orders": [{"ref": "O", "retailerId": 1, "financialTransactions": [{"amount": 1}]}],
            },
            "seed.orders[5]: financialTransactions[0]: missing 'currency' (the order has none)",
        ),
        (
            {
                "extends": "default",
                "inventoryQuantities": [
                    {"catalogue": "DEFAULT:1", "position": "SKU-0001:LOC-404", "ref": "Q", "type": "EXPECTED"}
                ],
            },
            "seed.inventoryQuantities[2]: location 'LOC-404' of position SKU-0001:LOC-404 is not a seeded "
            "location of retailer 1",
        ),
        (
            {
                "extends": "default",
                "inventoryQuantities": [
                    {
                        "catalogue": "DEFAULT:1",
                        "position": "SKU-0001:LOC-001",
                        "ref": "RES-1001",
                        "type": "RESERVED",
                    }
                ],
            },
            "seed.inventoryQuantities[2]: quantity 'RES-1001' is already seeded in DEFAULT:1",
        ),
        (
            {
                "extends": "default",
                "returnOrders": [
                    {"ref": "R", "retailerId": 1, "order": "ORD-1002", "items": [{"orderItem": "ORD-1001-1"}]}
                ],
            },
            "seed.returnOrders[1]: Order 'ORD-1002' has no item with ref 'ORD-1001-1' (returnOrderItems[0].orderItem)",
        ),
        (
            {"eventRules": [{"name": "X", "entityType": "ORDER", "handler": "recieve_return"}]},
            "record_payment, release_reservation, reserve_inventory, set_status, upsert_location, "
            "upsert_product, upsert_products (did you mean 'receive_return'?)",
        ),
    ],
)
def test_seed_errors_name_the_problem(seed, message):
    with pytest.raises(SeedError) as caught:
        Core(seed)
    assert message in str(caught.value)


def test_missing_seed_file(tmp_path):
    with pytest.raises(SeedError, match="cannot read seed"):
        Core(tmp_path / "absent.yaml")
