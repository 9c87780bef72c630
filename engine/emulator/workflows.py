"""Built-in workflow handlers that seeded event rules route events to.

The real platform runs configurable Rubix workflows; the emulator offers a few fixed handlers
that cover what connectors send: product and location upserts, order cancellation and a generic
status setter. A handler succeeds, raises ``NoMatch`` (the entity does not exist: the platform
answers "No workflow rule matched") or raises ``HandlerFailed`` (the workflow ran and failed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.emulator import entities, inventory
from engine.emulator.store import Row, Store

if TYPE_CHECKING:
    from engine.emulator.core import Core


class NoMatch(Exception):
    """No entity the event can apply to."""


class HandlerFailed(Exception):
    """The workflow ran and rejected the event."""


def upsert_product(core: Core, event: dict[str, Any], attrs: dict[str, Any], rule: Row) -> None:
    """Create or update the product ``attrs["ref"]`` in the product catalogue the event names.

    An update changes only the fields present and merges attributes by name.
    NoMatch when the catalogue is not the retailer's; HandlerFailed without a ref.
    """
    store, now = core.store, core.clock.now_iso()
    rid = str(event["retailerId"])
    catalogue = store.catalogue(event.get("entityRef") or event.get("rootEntityRef"), "PRODUCT")
    if catalogue is None or catalogue["retailerId"] != rid:
        raise NoMatch(f"Product catalogue {event.get('entityRef')} not found")
    ref = attrs.get("ref")
    if not isinstance(ref, str) or not ref:
        raise HandlerFailed("attributes.ref is required to upsert a product")
    product = store.products.find((catalogue["ref"], ref))
    if product is None:
        entities.new_product(store, {**attrs, "kind": attrs.get("type") or "VARIANT"}, catalogue, now)
        return
    for key in ("name", "summary", "gtin", "status", "type"):
        if key in attrs:
            product[key] = attrs[key]
    if "attributes" in attrs:
        product["attributes"] = entities.upsert_attributes(product["attributes"], attrs["attributes"])
    product["updatedOn"] = now


def upsert_products(core: Core, event: dict[str, Any], attrs: dict[str, Any], rule: Row) -> None:
    """*Inferred*: many products in one event, ``attributes.products`` each as :func:`upsert_product` takes.

    All or nothing: HandlerFailed naming the first product without a ref, before any is changed.
    """
    products = attrs.get("products")
    if not isinstance(products, list) or not products:
        raise HandlerFailed("attributes.products must be a list of products")
    for n, product in enumerate(products):
        ref = product.get("ref") if isinstance(product, dict) else None
        if not isinstance(ref, str) or not ref:
            raise HandlerFailed(f"attributes.products[{n}].ref is required to upsert a product")
    for product in products:
        upsert_product(core, event, product, rule)


def upsert_location(core: Core, event: dict[str, Any], attrs: dict[str, Any], rule: Row) -> None:
    """Create or update the retailer's location named by ``entityRef`` (or ``attrs["ref"]``).

    An update changes only the name, type, status and address present.
    HandlerFailed when no ref is given.
    """
    store, now = core.store, core.clock.now_iso()
    rid = str(event["retailerId"])
    ref = event.get("entityRef") or attrs.get("ref")
    if not ref:
        raise HandlerFailed("entityRef or attributes.ref is required to upsert a location")
    location = store.locations.find((rid, ref))
    if location is None:
        entities.new_location(store, {**attrs, "ref": ref}, rid, now)
        return
    for key in ("name", "type", "status"):
        if key in attrs:
            location[key] = attrs[key]
    if "primaryAddress" in attrs:
        location["primaryAddress"] = entities.address(attrs["primaryAddress"])
    location["updatedOn"] = now


def _inventory_catalogue(event: dict[str, Any]) -> str | None:
    """The inventory catalogue an inventory event names as its root entity, if any."""
    return event.get("rootEntityRef") if event.get("rootEntityType") == "INVENTORY_CATALOGUE" else None


def _product(store: Store, rid: str, ref: Any, event: dict[str, Any]) -> Row | None:
    catalogue = event.get("rootEntityRef") if event.get("rootEntityType") == "PRODUCT_CATALOGUE" else None
    return store.find_product(rid, str(ref or ""), catalogue)


# How each entity type is found by ref: (store, retailer id, ref, event) -> row or None.
FINDERS: dict[str, Callable[[Store, str, Any, dict[str, Any]], Row | None]] = {
    "ORDER": lambda store, rid, ref, event: store.orders.find((rid, ref)),
    "FULFILMENT": lambda store, rid, ref, event: store.fulfilments.find(ref),
    "LOCATION": lambda store, rid, ref, event: store.locations.find((rid, ref)),
    "PRODUCT": _product,
    "RETURN_ORDER": lambda store, rid, ref, event: store.return_orders.find((rid, ref)),
    "INVENTORY_POSITION": lambda store, rid, ref, event: inventory.position_named(
        store, rid, str(ref or ""), _inventory_catalogue(event)
    ),
    "INVENTORY_QUANTITY": lambda store, rid, ref, event: inventory.quantity_named(
        store, rid, str(ref or ""), _inventory_catalogue(event)
    ),
}
TABLES = {
    "ORDER": "orders",
    "FULFILMENT": "fulfilments",
    "LOCATION": "locations",
    "PRODUCT": "products",
    "RETURN_ORDER": "return_orders",
    "INVENTORY_POSITION": "inventory_positions",
    "INVENTORY_QUANTITY": "inventory_quantities",
}


def find_entity(core: Core, event: dict[str, Any], kind: str | None = None) -> tuple[str, Row]:
    """The retailer's entity an event names (by ``entityId``, else ``entityRef``), and its type.

    ``kind`` overrides the event's ``entityType``. Raises NoMatch when there is none.
    """
    rid = str(event["retailerId"])
    kind = (kind or str(event.get("entityType") or "")).upper()
    ref, entity_id = event.get("entityRef"), event.get("entityId")
    row = None
    if kind in FINDERS:
        if entity_id:
            row = core.store.table(TABLES[kind]).get(entity_id)
        else:
            row = FINDERS[kind](core.store, rid, ref, event)
    if row is None or row.get("retailerId") != rid:
        raise NoMatch(f"{kind or 'entity'} {ref or entity_id} not found")
    return kind, row


def _set_status(core: Core, kind: str, row: Row, status: str) -> None:
    old = row.get("status")
    row["status"] = status
    row["updatedOn"] = core.clock.now_iso()
    if old != status and kind in ("ORDER", "FULFILMENT"):
        core.webhooks.entity_status_changed(kind, row)


def cancel_order(core: Core, event: dict[str, Any], attrs: dict[str, Any], rule: Row) -> None:
    """Set the order to CANCELLED; HandlerFailed when it is already CANCELLED or COMPLETE."""
    kind, order = find_entity(core, event, "ORDER")
    if order["status"] in ("CANCELLED", "COMPLETE"):
        raise HandlerFailed(f"Order {order['ref']} is {order['status']} and cannot be cancelled")
    _set_status(core, kind, order, "CANCELLED")


def set_status(core: Core, event: dict[str, Any], attrs: dict[str, Any], rule: Row) -> None:
    """Set the event's entity to the rule's ``status``, else the event's ``status`` attribute.

    Works on orders, fulfilments, locations, products, return orders and inventory
    positions and quantities; an order or fulfilment whose status changes fires the
    status webhook.
    """
    status = rule.get("status") or attrs.get("status")
    if not status:
        raise HandlerFailed("attributes.status is required")
    kind, row = find_entity(core, event)
    _set_status(core, kind, row, str(status))


HANDLERS = {
    "upsert_product": upsert_product,
    "upsert_products": upsert_products,
    "upsert_location": upsert_location,
    "cancel_order": cancel_order,
    "set_status": set_status,
}
