"""Query and field resolvers: connections with filters, singular lookups, nested relations.

Rows are the store's plain dicts, so scalar fields use graphql-core's default resolver; only
relations and connections have resolvers here. Every query is scoped to the retailers the
caller's token may access.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.emulator import inventory
from engine.emulator.pagination import ListRows, connection
from engine.emulator.store import Row

# Connection argument -> row field, per query.
LIST_FILTERS = {
    "inventoryPositions": (
        "inventory_positions",
        "InventoryPosition",
        {
            "ref": "ref",
            "productRef": "productRef",
            "locationRef": "locationRef",
            "type": "type",
            "status": "status",
        },
    ),
    "inventoryQuantities": (
        "inventory_quantities",
        "InventoryQuantity",
        {
            "ref": "ref",
            "productRef": "productRef",
            "locationRef": "locationRef",
            "type": "type",
            "status": "status",
            "quantity": "qty",
            "condition": "condition",
            "storageAreaRef": "storageAreaRef",
        },
    ),
    "virtualPositions": (
        "virtual_positions",
        "VirtualPosition",
        {
            "ref": "ref",
            "productRef": "productRef",
            "groupRef": "groupRef",
            "type": "type",
            "status": "status",
        },
    ),
    "products": ("products", "Product", {"ref": "ref", "type": "type", "status": "status", "gtin": "gtin"}),
    "locations": ("locations", "Location", {"ref": "ref", "type": "type", "status": "status"}),
    "orders": ("orders", "Order", {"ref": "ref", "type": "type", "status": "status"}),
    "fulfilments": (
        "fulfilments",
        "Fulfilment",
        {"ref": "ref", "status": "status", "deliveryType": "deliveryType"},
    ),
}


# DateRange arguments, each filtering the row field of its name (expectedOn: inventory quantities).
DATE_RANGES = ("createdOn", "updatedOn", "expectedOn")


def make_filter(args: dict[str, Any], fields: dict[str, str], allowed: set[str]) -> Callable[[Row], bool]:
    """A cheap predicate for one request's filter arguments (values compiled to sets once)."""
    checks = [(field, set(args[arg])) for arg, field in fields.items() if args.get(arg)]
    catalogues = set()
    if args.get("catalogue"):
        catalogues.add(args["catalogue"]["ref"])
    catalogues.update(c["ref"] for c in args.get("catalogues") or [] if c)
    if catalogues:
        checks.append(("catalogueRef", catalogues))
    ranges = []
    for name in DATE_RANGES:
        window = args.get(name)
        if window:
            ranges.append((name, window.get("from") or window.get("after"), window.get("to")))

    def keep(row: Row) -> bool:
        if row.get("retailerId") not in allowed:
            return False
        for field, values in checks:
            if row.get(field) not in values:
                return False
        for field, low, high in ranges:
            value = row.get(field)
            if value is None or (low and value < low) or (high and value > high):
                return False
        return True

    return keep


def _ctx(info: Any) -> tuple[Any, dict[str, Any]]:
    return info.context["core"], info.context["principal"]


def _list_resolver(query: str) -> Callable[..., Any]:
    table_name, type_name, fields = LIST_FILTERS[query]

    def resolve(_root: Any, info: Any, **args: Any) -> dict[str, Any]:
        core, principal = _ctx(info)
        keep = make_filter(args, fields, principal["retailerIds"])
        return connection(core.settings, core.store.table(table_name), type_name, args, keep)

    return resolve


def _nested(key: str, table_name: str, type_name: str) -> Callable[..., Any]:
    def resolve(row: Row, info: Any, **args: Any) -> dict[str, Any]:
        core, _ = _ctx(info)
        table = core.store.table(table_name)
        rows = ListRows(table.get(i) for i in row.get(key) or [])
        wanted = {f: set(args[f]) for f in ("type", "status") if args.get(f)}

        def keep(item: Row) -> bool:
            return all(item.get(f) in values for f, values in wanted.items())

        return connection(core.settings, rows, type_name, args, keep)

    return resolve


def _quantities(row: Row, info: Any, **args: Any) -> dict[str, Any]:
    core = info.context["core"]
    rows = ListRows(inventory.quantities_of(core.store, row))
    wanted = {f: set(args[f]) for f in ("type", "status") if args.get(f)}
    return connection(
        core.settings,
        rows,
        "InventoryQuantity",
        args,
        lambda q: all(q.get(f) in values for f, values in wanted.items()),
    )


def _visible(principal: dict[str, Any], row: Row | None) -> Row | None:
    return row if row is not None and row.get("retailerId") in principal["retailerIds"] else None


def resolve_me(_root: Any, info: Any) -> Row:
    """``me``: the token's user, or a synthetic API user for a client-credentials token."""
    principal = info.context["principal"]
    user = principal["user"]
    if user is not None:
        return user
    return {
        "id": "0",
        "ref": principal["accountId"],
        "username": principal["accountId"],
        "type": "API",
        "status": "ACTIVE",
        "retailerIds": sorted(principal["retailerIds"]),
        "primaryLocationRef": None,
    }


def resolve_order(_root: Any, info: Any, id: str | None = None, ref: str | None = None) -> Row | None:
    """``order(id | ref)``: by ref, the first match among the caller's retailers; null when not visible."""
    core, principal = _ctx(info)
    if id is not None:
        return _visible(principal, core.store.orders.get(id))
    for rid in sorted(principal["retailerIds"]):
        row = core.store.orders.find((rid, ref))
        if row is not None:
            return row
    return None


def resolve_location(_root: Any, info: Any, id: str | None = None, ref: str | None = None) -> Row | None:
    """``location(id | ref)``: by ref, the first match among the caller's retailers; null when not visible."""
    core, principal = _ctx(info)
    if id is not None:
        return _visible(principal, core.store.locations.get(id))
    for rid in sorted(principal["retailerIds"]):
        row = core.store.locations.find((rid, ref))
        if row is not None:
            return row
    return None


def resolve_product(_root: Any, info: Any, ref: str, catalogue: dict[str, str] | None = None) -> Row | None:
    """``product(ref, catalogue)``: in the named catalogue, else in any of the caller's product catalogues."""
    core, principal = _ctx(info)
    for rid in sorted(principal["retailerIds"]):
        row = core.store.find_product(rid, ref, catalogue["ref"] if catalogue else None)
        if row is not None:
            return _visible(principal, row)
    return None


def resolve_fulfilment(_root: Any, info: Any, id: str) -> Row | None:
    """``fulfilment(id)``: null when unknown or another retailer's."""
    core, principal = _ctx(info)
    return _visible(principal, core.store.fulfilments.get(id))


def product_type(row: Row, *_: Any) -> str:
    """Which concrete type a ``Product`` interface value is (graphql-core's ``resolve_type``)."""
    return "StandardProduct" if row.get("_kind") == "STANDARD" else "VariantProduct"


def _by_id(table_name: str, key: str) -> Callable[..., Any]:
    return lambda row, info: info.context["core"].store.table(table_name).get(row.get(key))


def _catalogue(row: Row, info: Any) -> Row | None:
    return info.context["core"].store.catalogue(row.get("catalogueRef"))


def _retailer(row: Row, info: Any) -> Row | None:
    return info.context["core"].store.retailers.get(row.get("retailerId"))


def _product_of(row: Row, info: Any) -> Row | None:
    store = info.context["core"].store
    rid = row.get("retailerId")
    return store.find_product(rid, row.get("productRef"), row.get("productCatalogueRef"))


def _location_of(ref_key: str) -> Callable[..., Any]:
    return lambda row, info: info.context["core"].store.locations.find(
        (row.get("retailerId"), row.get(ref_key))
    )


def _parent_product(row: Row, info: Any) -> Row | None:
    if not row.get("parentRef"):
        return None
    return info.context["core"].store.products.find((row["catalogueRef"], row["parentRef"]))


def _primary_retailer(row: Row, info: Any) -> Row | None:
    ids = row.get("retailerIds") or []
    return info.context["core"].store.retailers.get(ids[0]) if ids else None


def _primary_location(row: Row, info: Any) -> Row | None:
    ids = row.get("retailerIds") or []
    if not ids or not row.get("primaryLocationRef"):
        return None
    return info.context["core"].store.locations.find((ids[0], row["primaryLocationRef"]))


def _fulfilment_choice(row: Row, info: Any) -> dict[str, Any] | None:
    return row.get("fulfilmentChoice")


QUERY_RESOLVERS: dict[str, Callable[..., Any]] = {name: _list_resolver(name) for name in LIST_FILTERS}
QUERY_RESOLVERS.update(
    me=resolve_me,
    order=resolve_order,
    location=resolve_location,
    product=resolve_product,
    fulfilment=resolve_fulfilment,
)

FIELD_RESOLVERS: dict[str, dict[str, Callable[..., Any]]] = {
    "Query": QUERY_RESOLVERS,
    "User": {"primaryRetailer": _primary_retailer, "primaryLocation": _primary_location},
    "Location": {"retailer": _retailer},
    "InventoryPosition": {
        "catalogue": _catalogue,
        "product": _product_of,
        "location": _location_of("locationRef"),
        "quantities": _quantities,
    },
    "InventoryQuantity": {"catalogue": _catalogue, "position": _by_id("inventory_positions", "positionId")},
    "VirtualPosition": {"catalogue": _catalogue},
    "VariantProduct": {"catalogue": _catalogue, "product": _parent_product},
    "StandardProduct": {"catalogue": _catalogue},
    "Order": {
        "retailer": _retailer,
        "fulfilmentChoice": _fulfilment_choice,
        "items": _nested("_items", "order_items", "OrderItem"),
        "fulfilments": _nested("_fulfilments", "fulfilments", "Fulfilment"),
    },
    "OrderItem": {"product": _product_of, "order": _by_id("orders", "orderId")},
    "Fulfilment": {
        "order": _by_id("orders", "orderId"),
        "fromLocation": _location_of("fromLocationRef"),
        "items": _nested("_items", "fulfilment_items", "FulfilmentItem"),
    },
    "FulfilmentItem": {
        "orderItem": _by_id("order_items", "orderItemId"),
        "fulfilment": _by_id("fulfilments", "fulfilmentId"),
    },
}
