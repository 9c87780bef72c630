"""Deterministic bulk data for seeds (``generate:``): locations, products, inventory positions.

Extraction tests need tens of thousands of rows that nobody wants to write out, and the same
seed must always give the same rows. Values come from simple arithmetic on the row number (no
random module), so they are stable across Python versions.

Ref lists accept a list or an inclusive range string ``"SKU-0001..SKU-0050"``.
"""

from __future__ import annotations

import re
from typing import Any

from engine.emulator import entities
from engine.emulator.store import Row, Store

STAGES = ("locations", "products", "inventory_positions")

_ADJECTIVES = (
    "Classic",
    "Everyday",
    "Organic",
    "Heritage",
    "Slim",
    "Relaxed",
    "Premium",
    "Essential",
    "Vintage",
    "Active",
)
_NOUNS = (
    "T-Shirt",
    "Hoodie",
    "Jeans",
    "Sneaker",
    "Backpack",
    "Jacket",
    "Cap",
    "Scarf",
    "Sock Pack",
    "Water Bottle",
    "Belt",
    "Polo",
    "Sweater",
    "Chino",
    "Tote Bag",
    "Beanie",
    "Rain Shell",
    "Trail Shoe",
    "Wallet",
    "Watch",
)
_COLOURS = ("Black", "White", "Navy", "Olive", "Red", "Grey", "Sand", "Teal")


def check(generate: Any) -> None:
    """Raise ValueError unless ``generate`` maps known generator names (see :data:`STAGES`)."""
    if not isinstance(generate, dict):
        raise ValueError("seed.generate: expected a mapping of generator name to options")
    for key in generate:
        if key not in STAGES:
            raise ValueError(f"seed.generate.{key}: unknown generator (expected one of {', '.join(STAGES)})")


def run(store: Store, generate: dict[str, Any], now: str, stage: str) -> None:
    """Run the one generator named ``stage``, if the seed's ``generate`` block has it.

    The seed loader calls this once per stage, right after that stage's explicit
    entities, so generated rows can refer to them. A bare number is taken as
    ``{count: N}``. Raises ValueError for bad options, rows that already
    exist, or references to rows that are not seeded.
    """
    check(generate)
    spec = generate.get(stage)
    if spec is None:
        return
    if isinstance(spec, int):
        spec = {"count": spec}
    if not isinstance(spec, dict):
        raise ValueError(f"seed.generate.{stage}: expected a count or a mapping")
    {"locations": _locations, "products": _products, "inventory_positions": _positions}[stage](
        store, spec, now
    )


def expand_refs(value: Any) -> list[str]:
    """A list of refs, or ``"A-001..A-010"`` expanded keeping the number's width."""
    if isinstance(value, list):
        return [str(v) for v in value]
    match = re.fullmatch(r"(.*?)(\d+)\.\.(.*?)(\d+)", str(value))
    if not match or match.group(1) != match.group(3):
        raise ValueError(f"{value!r} is not a ref range like 'SKU-0001..SKU-0050'")
    prefix, first, last = match.group(1), match.group(2), match.group(4)
    width = len(first)
    return [f"{prefix}{n:0{width}d}" for n in range(int(first), int(last) + 1)]


def gtin14(n: int) -> str:
    """A valid GTIN-14 with a leading zero (a GTIN-13 padded), unique per n."""
    body = f"0{400000000000 + n:012d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _spread(i: int, low: int, high: int) -> int:
    return low + ((i * 2654435761 + 12345) % 4294967296) % (high - low + 1)


def _first_catalogue(store: Store, kind: str, ref: str | None) -> Row:
    if ref:
        catalogue = store.catalogue(ref, kind)
        if catalogue is None:
            raise ValueError(f"catalogue {ref!r} is not a seeded {kind.lower()} catalogue")
        return catalogue
    for catalogue in store.catalogues:
        if catalogue["type"] == kind:
            return catalogue
    raise ValueError(f"no {kind.lower()} catalogue is seeded")


def _locations(store: Store, spec: dict[str, Any], now: str) -> None:
    rid = str(spec.get("retailerId") or store.retailers.ids[0])
    fmt = spec.get("ref", "LOC-{n:03d}")
    start = int(spec.get("start", 1))
    for n in range(start, start + int(spec.get("count", 10))):
        if store.locations.find((rid, fmt.format(n=n))) is not None:
            raise ValueError(f"seed.generate.locations: location {fmt.format(n=n)!r} is already seeded")
        entities.new_location(
            store,
            {
                "ref": fmt.format(n=n),
                "name": f"Store {n:03d}",
                "type": spec.get("type", "STORE"),
                "primaryAddress": {
                    "street": f"{n} Market Street",
                    "city": "Sydney",
                    "state": "NSW",
                    "postcode": f"{2000 + n % 100:04d}",
                    "country": "AU",
                },
            },
            rid,
            now,
        )


def _products(store: Store, spec: dict[str, Any], now: str) -> None:
    catalogue = _first_catalogue(store, "PRODUCT", spec.get("catalogue"))
    fmt = spec.get("ref", "SKU-{n:04d}")
    start = int(spec.get("start", 1))
    for n in range(start, start + int(spec.get("count", 100))):
        _product(store, catalogue, fmt.format(n=n), n, spec, now)


def _product(store: Store, catalogue: Row, ref: str, n: int, spec: dict[str, Any], now: str) -> Row:
    if store.products.find((catalogue["ref"], ref)) is not None:
        raise ValueError(f"seed.generate.products: product {ref!r} is already in {catalogue['ref']}")
    name = (
        f"{_ADJECTIVES[n % len(_ADJECTIVES)]} {_NOUNS[(n // len(_ADJECTIVES)) % len(_NOUNS)]}"
        f" {_COLOURS[n % len(_COLOURS)]}"
    )
    return entities.new_product(
        store,
        {
            "ref": ref,
            "name": name,
            "gtin": gtin14(n),
            "status": spec.get("status", "ACTIVE"),
            "type": spec.get("type", "VARIANT"),
            "summary": f"{name} (generated product {n})",
        },
        catalogue,
        now,
    )


def _positions(store: Store, spec: dict[str, Any], now: str) -> None:
    catalogue = _first_catalogue(store, "INVENTORY", spec.get("catalogue"))
    rid = catalogue["retailerId"]
    if "products" in spec:
        skus = expand_refs(spec["products"])
    else:
        skus = [p["ref"] for p in store.products if p["retailerId"] == rid]
    if "locations" in spec:
        locs = expand_refs(spec["locations"])
    else:
        locs = [loc["ref"] for loc in store.locations if loc["retailerId"] == rid]
    known = store.product_refs.get(rid, set())
    for sku in skus:
        if sku not in known:
            raise ValueError(f"seed.generate.inventory_positions: product {sku!r} is not seeded")
    for loc in locs:
        if loc not in store.location_refs.get(rid, ()):
            raise ValueError(f"seed.generate.inventory_positions: location {loc!r} is not seeded")
    if not locs:
        raise ValueError("seed.generate.inventory_positions: no locations to place stock at")
    count = spec.get("count")
    count = len(skus) * len(locs) if count is None else int(count)
    extra_needed = max(0, -(-(count - len(skus) * len(locs)) // len(locs)))
    if extra_needed:
        product_catalogue = _first_catalogue(store, "PRODUCT", spec.get("product_catalogue"))
        fmt = spec.get("product_ref", "BULK-{n:06d}")
        for n in range(1, extra_needed + 1):
            skus.append(_product(store, product_catalogue, fmt.format(n=n), 100000 + n, {}, now)["ref"])
    low, high = int(spec.get("on_hand_min", 0)), int(spec.get("on_hand_max", 100))
    made = 0
    for sku in skus:
        for loc in locs:
            if made >= count:
                return
            if store.inventory_positions.find((catalogue["ref"], sku, loc)) is None:
                entities.new_position(store, catalogue["ref"], rid, sku, loc, _spread(made, low, high), now)
                made += 1
