"""Seeds: the default demo data, determinism, bulk generation and clear errors (§11.1)."""

from __future__ import annotations

import re

import pytest

from engine.emulator import Emulator
from engine.emulator.core import Core
from engine.emulator.seed import SeedError


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


def test_seeds_are_deterministic():
    one, two = Core(), Core()
    strip = ("createdOn", "updatedOn")
    for name in ("inventory_positions", "products", "orders", "locations"):
        rows_one = [{k: v for k, v in r.items() if k not in strip} for r in one.store.table(name)]
        rows_two = [{k: v for k, v in r.items() if k not in strip} for r in two.store.table(name)]
        assert rows_one == rows_two


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
    ],
)
def test_seed_errors_name_the_problem(seed, message):
    with pytest.raises(SeedError) as caught:
        Core(seed)
    assert message in str(caught.value)


def test_missing_seed_file(tmp_path):
    with pytest.raises(SeedError, match="cannot read seed"):
        Core(tmp_path / "absent.yaml")
