"""Return orders (Fluent's ``ReturnOrder``) and their items: checking references and building rows.

Fluent links a return to its customer, order, order items, products and locations by key
objects (``{ref}``, ``{ref, retailer: {id}}``), and keeps amounts, quantities and reasons as small
objects (``{amount}``, ``{quantity, unit}``, ``{value, label}``). Rows keep those objects in the
shape the GraphQL types serve. Seeds may write the short forms (``order: ORD-1``,
``totalAmount: 9.5``, ``quantity: 1``, ``returnReason: DAMAGED``), which ``normalise`` expands,
so the mutation, the seed and the workflows build the same rows.
"""

from __future__ import annotations

from typing import Any

from engine.emulator import entities
from engine.emulator.store import Row, Store

AMOUNTS = ("subTotalAmount", "totalTax", "totalAmount")
ITEM_AMOUNTS = ("unitAmount", "itemTaxAmount", "itemAmount")
SETTINGS = ("returnAuthorisationDisposition",)
ITEM_SETTINGS = ("returnReason", "returnCondition", "returnPaymentAction", "returnDispositionAction")
LOCATIONS = ("lodgedLocation", "destinationLocation")
ORDER_LINKS = ("order", "exchangeOrder")
SCALARS = ("returnAuthorisationKey", "returnAuthorisationKeyExpiry")
ITEM_TEXT = ("returnReasonComment", "returnConditionComment")


class Unknown(LookupError):
    """A return names a customer, order, item, product or location that does not exist."""


def _link(value: Any, key: str = "ref") -> dict[str, Any] | None:
    return {key: value} if isinstance(value, str | int) else value


def _amount(value: Any) -> dict[str, Any] | None:
    return {"amount": float(value)} if isinstance(value, int | float) else value


def _setting(value: Any) -> dict[str, Any] | None:
    return {"value": value} if isinstance(value, str) else value


def normalise(fields: dict[str, Any], retailer_id: str) -> dict[str, Any]:
    """``fields`` with the seed short forms expanded into Fluent's key and value objects."""
    out = dict(fields)
    out["customer"] = _link(fields.get("customer"))
    out["currency"] = _link(fields.get("currency"), "alphabeticCode")
    out["creditMemo"] = _link(fields.get("creditMemo"))
    for name in LOCATIONS:
        out[name] = _link(fields.get(name))
    for name in ORDER_LINKS:
        link = _link(fields.get(name))
        if link is not None and not link.get("retailer"):
            link = {**link, "retailer": {"id": retailer_id}}
        out[name] = link
    for name in AMOUNTS:
        out[name] = _amount(fields.get(name))
    for name in SETTINGS:
        out[name] = _setting(fields.get(name))
    out["returnOrderItems"] = [
        _normalise_item(item, out["order"]) for item in fields.get("returnOrderItems") or []
    ]
    return out


def _normalise_item(item: dict[str, Any], order: dict[str, Any] | None) -> dict[str, Any]:
    out = dict(item)
    product = item.get("product") or item.get("productRef")
    out["product"] = _link(product)
    order_item = _link(item.get("orderItem"))
    if order_item is not None and not order_item.get("order") and order is not None:
        order_item = {**order_item, "order": order}
    out["orderItem"] = order_item
    quantity = item.get("unitQuantity", item.get("quantity"))
    out["unitQuantity"] = {"quantity": int(quantity)} if isinstance(quantity, int) else quantity
    for name in ITEM_AMOUNTS:
        out[name] = _amount(item.get(name))
    for name in ITEM_SETTINGS:
        out[name] = _setting(item.get(name))
    return out


def check(store: Store, fields: dict[str, Any], retailer_id: str, new: bool = True) -> None:
    """Raise Unknown for the first customer, order, location, order item or product that is missing.

    Fills each item's product catalogue (the first product catalogue of the retailer holding
    the ref) when the input names none, and an item's product from its order item when seeds
    leave the product out. Items of an update (``new`` false) may name no product.
    """
    customer = fields.get("customer")
    if customer and store.customers.find((retailer_id, customer["ref"])) is None:
        raise Unknown(f"Customer with ref '{customer['ref']}' not found")
    for name in ORDER_LINKS:
        if fields.get(name):
            _order(store, fields[name])
    for name in LOCATIONS:
        link = fields.get(name)
        if link and store.locations.find((retailer_id, link["ref"])) is None:
            raise Unknown(f"Location with ref '{link['ref']}' not found ({name})")
    for index, item in enumerate(fields.get("returnOrderItems") or []):
        _check_item(store, item, retailer_id, f"returnOrderItems[{index}]", new)


def _order(store: Store, link: dict[str, Any]) -> Row:
    rid = str((link.get("retailer") or {}).get("id"))
    found: Row | None = store.orders.find((rid, link["ref"]))
    if found is None:
        raise Unknown(f"Order with ref '{link['ref']}' not found for retailer '{rid}'")
    return found


def _check_item(store: Store, item: dict[str, Any], retailer_id: str, where: str, new: bool) -> None:
    link = item.get("orderItem")
    order_item: Row | None = None
    if link:
        if not link.get("order"):
            raise Unknown(f"Order item '{link['ref']}' names no order ({where}.orderItem)")
        order = _order(store, link["order"])
        order_item = store.order_items.find((order["id"], link["ref"]))
        if order_item is None:
            raise Unknown(f"Order '{order['ref']}' has no item with ref '{link['ref']}' ({where}.orderItem)")
    product = item.get("product")
    if not product and order_item is not None:
        product = item["product"] = {"ref": order_item["productRef"]}
    if not product:
        if not new:
            return
        raise Unknown(f"Return item names no product ({where}.product)")
    catalogue = (product.get("catalogue") or {}).get("ref")
    found = store.find_product(retailer_id, product["ref"], catalogue)
    if found is None:
        raise Unknown(f"Product with ref '{product['ref']}' not found ({where}.product)")
    item["product"] = {"ref": product["ref"], "catalogue": {"ref": found["catalogueRef"]}}


def new_return_order(store: Store, fields: dict[str, Any], retailer_id: str, now: str) -> Row:
    """Insert a checked, normalised return order and its items; status defaults to CREATED."""
    row: Row = {
        "ref": fields["ref"],
        "type": fields.get("type") or "DEFAULT",
        "status": fields.get("status") or "CREATED",
        "retailerId": retailer_id,
        "retailer": {"id": retailer_id},
        "customer": fields.get("customer"),
        "attributes": entities.attributes_list(fields.get("attributes")),
        "pickupAddress": entities.address(fields.get("pickupAddress")),
        "creditMemo": fields.get("creditMemo"),
        "currency": fields.get("currency"),
        "defaultTaxType": fields.get("defaultTaxType"),
        "createdOn": now,
        "updatedOn": now,
        "_items": [],
    }
    for name in (*LOCATIONS, *ORDER_LINKS, *AMOUNTS, *SETTINGS, *SCALARS):
        row[name] = fields.get(name)
    store.return_orders.insert(row, key=(retailer_id, row["ref"]))
    for index, item in enumerate(fields.get("returnOrderItems") or [], start=1):
        new_item(store, item, row, index, now)
    return row


def new_item(store: Store, fields: dict[str, Any], return_order: Row, index: int, now: str) -> Row:
    """Insert one item of ``return_order``; the ref defaults to ``<return ref>-<index>``."""
    row: Row = {
        "ref": fields.get("ref") or f"{return_order['ref']}-{index}",
        "type": fields.get("type") or "DEFAULT",
        "status": fields.get("status") or "CREATED",
        "attributes": entities.attributes_list(fields.get("attributes")),
        "product": fields.get("product"),
        "orderItem": fields.get("orderItem"),
        "unitQuantity": fields.get("unitQuantity"),
        "unitTaxType": fields.get("unitTaxType"),
        "returnOrderId": return_order["id"],
        "retailerId": return_order["retailerId"],
        "createdOn": now,
        "updatedOn": now,
    }
    for name in (*ITEM_AMOUNTS, *ITEM_SETTINGS, *ITEM_TEXT):
        row[name] = fields.get(name)
    store.return_order_items.insert(row, key=(return_order["id"], row["ref"]))
    return_order["_items"].append(row["id"])
    return row


def items_of(store: Store, return_order: Row) -> list[Row]:
    """The items of a return order, in id order."""
    table = store.return_order_items
    return [row for row in (table.get(i) for i in return_order["_items"]) if row is not None]


def returned_quantity(item: Row) -> int:
    """How many units an item returns (``unitQuantity.quantity``, 0 when unset)."""
    return int((item.get("unitQuantity") or {}).get("quantity") or 0)
