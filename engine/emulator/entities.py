"""Row builders shared by the seed loader, event handlers, batch ingestion and mutations.

Every writer builds rows here, so an entity looks the same whichever API created it. Rows use
the GraphQL field names directly; keys starting with ``_`` are internal (never served).
"""

from __future__ import annotations

from typing import Any

from engine.emulator.store import Row, Store

ADDRESS_FIELDS = (
    "ref",
    "name",
    "companyName",
    "street",
    "street2",
    "city",
    "state",
    "postcode",
    "region",
    "country",
    "latitude",
    "longitude",
    "timeZone",
)


def attributes_list(value: Any) -> list[dict[str, Any]]:
    """Attributes as Fluent serves them: ``[{name, type, value}]`` (objects are converted)."""
    if not value:
        return []
    if isinstance(value, dict):
        return [{"name": k, "type": _attr_type(v), "value": v} for k, v in value.items()]
    return [
        {"name": a.get("name"), "type": a.get("type") or _attr_type(a.get("value")), "value": a.get("value")}
        for a in value
    ]


def _attr_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "INTEGER"
    if isinstance(value, float):
        return "FLOAT"
    if isinstance(value, dict | list):
        return "JSON"
    return "STRING"


def upsert_attributes(current: list[dict[str, Any]], changes: Any) -> list[dict[str, Any]]:
    """Attributes replaced by name, new names appended (updateOrder semantics)."""
    merged = {a["name"]: a for a in current}
    for attr in attributes_list(changes):
        merged[attr["name"]] = attr
    return list(merged.values())


def address(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """The known address fields of ``value`` (others dropped); None for an empty address."""
    if not value:
        return None
    return {k: value.get(k) for k in ADDRESS_FIELDS if k in value}


def new_location(store: Store, fields: dict[str, Any], retailer_id: str, now: str) -> Row:
    """Insert a location for ``retailer_id`` from input ``fields``.

    ``ref`` is required (KeyError without it); name, type and status default
    to the ref, ``STORE`` and ``ACTIVE``.
    """
    row = {
        "ref": fields["ref"],
        "name": fields.get("name") or fields["ref"],
        "type": fields.get("type") or "STORE",
        "status": fields.get("status") or "ACTIVE",
        "retailerId": retailer_id,
        "primaryAddress": address(fields.get("primaryAddress")),
        "openingSchedule": fields.get("openingSchedule"),
        "attributes": attributes_list(fields.get("attributes")),
        "supportPhoneNumber": fields.get("supportPhoneNumber"),
        "defaultCarrier": fields.get("defaultCarrier"),
        "defaultCarrierName": fields.get("defaultCarrierName"),
        "createdOn": now,
        "updatedOn": now,
    }
    return store.add_location(row)


def new_product(store: Store, fields: dict[str, Any], catalogue: Row, now: str) -> Row:
    """Insert a product into ``catalogue`` from input ``fields``.

    ``ref`` is required (KeyError without it). ``kind`` (or the internal
    ``_kind``) says STANDARD or VARIANT (the default); ``product`` names a
    variant's parent, as a ref or ``{ref}``.
    """
    kind = (fields.get("_kind") or fields.get("kind") or "VARIANT").upper()
    parent = fields.get("product")
    row = {
        "ref": fields["ref"],
        "name": fields.get("name") or fields["ref"],
        "summary": fields.get("summary"),
        "gtin": fields.get("gtin"),
        "type": fields.get("type") or kind,
        "status": fields.get("status") or "ACTIVE",
        "catalogueRef": catalogue["ref"],
        "retailerId": catalogue["retailerId"],
        "parentRef": parent.get("ref") if isinstance(parent, dict) else parent,
        "attributes": attributes_list(fields.get("attributes")),
        "prices": fields.get("prices") or [],
        "_kind": "STANDARD" if kind == "STANDARD" else "VARIANT",
        "createdOn": now,
        "updatedOn": now,
    }
    return store.add_product(row)


def new_position(
    store: Store, catalogue_ref: str, retailer_id: str, sku: str, loc: str, on_hand: int, now: str
) -> Row:
    """Insert the inventory position of ``sku`` at location ``loc``, with its LAST_ON_HAND quantity.

    The position's ref is ``SKU:LOC`` and its key ``(catalogue_ref, sku, loc)``;
    the caller checks that no such position exists yet.
    """
    row = {
        "ref": f"{sku}:{loc}",
        "productRef": sku,
        "locationRef": loc,
        "onHand": on_hand,
        "type": "DEFAULT",
        "status": "ACTIVE",
        "catalogueRef": catalogue_ref,
        "retailerId": retailer_id,
        "createdOn": now,
        "updatedOn": now,
    }
    store.inventory_positions.insert(row, key=(catalogue_ref, sku, loc))
    set_quantity(store, row, on_hand, now)
    return row


def set_quantity(store: Store, position: Row, qty: int, now: str) -> Row:
    """Upsert the position's LAST_ON_HAND quantity (the one batch ingestion keeps up to date).

    Positions hold no list of their quantities: a row with only scalar values is never tracked
    by Python's cyclic GC, which keeps 100k-position stores cheap to grow. This quantity is found
    by key ``(position id, "LAST_ON_HAND")`` instead (see ``inventory`` for the others).
    """
    key = (position["id"], "LAST_ON_HAND")
    row = store.inventory_quantities.find(key)
    if row is not None:
        row["qty"] = qty
        row["updatedOn"] = now
        return row
    row = {
        "ref": f"{position['ref']}:LAST_ON_HAND",
        "positionId": position["id"],
        "productRef": position["productRef"],
        "locationRef": position["locationRef"],
        "qty": qty,
        "type": "LAST_ON_HAND",
        "status": "ACTIVE",
        "expectedOn": None,
        "catalogueRef": position["catalogueRef"],
        "retailerId": position["retailerId"],
        "createdOn": now,
        "updatedOn": now,
    }
    store.inventory_quantities.insert(row, key=key)
    store.quantity_refs.setdefault((row["catalogueRef"], row["ref"]), row)
    return row


def new_order(store: Store, fields: dict[str, Any], retailer_id: str, now: str) -> Row:
    """Insert an order and its items (``fields["items"]``).

    Unnamed items get refs ``ORDER-1``, ``ORDER-2`` ... Raises KeyError when
    the order has no ``ref`` or an item no ``productRef``.
    """
    row = {
        "ref": fields["ref"],
        "type": fields.get("type") or "HD",
        "status": fields.get("status") or "CREATED",
        "retailerId": retailer_id,
        "customer": fields.get("customer"),
        "totalPrice": fields.get("totalPrice"),
        "totalTaxPrice": fields.get("totalTaxPrice"),
        "currency": fields.get("currency"),
        "billingAddress": address(fields.get("billingAddress")),
        "fulfilmentChoice": fields.get("fulfilmentChoice"),
        "attributes": attributes_list(fields.get("attributes")),
        "createdOn": now,
        "updatedOn": now,
        "_items": [],
        "_fulfilments": [],
        "_transactions": [],
    }
    store.orders.insert(row, key=(retailer_id, row["ref"]))
    for index, payment in enumerate(fields.get("financialTransactions") or [], start=1):
        new_financial_transaction(store, {"ref": f"{row['ref']}-P{index}", **payment}, row, now)
    customer = row["customer"]
    known = isinstance(customer, dict) and customer.get("ref")
    if known and store.customers.find((retailer_id, customer["ref"])) is None:
        new_customer(store, customer, retailer_id, now)
    for index, item in enumerate(fields.get("items") or [], start=1):
        item_row = {
            "ref": item.get("ref") or f"{row['ref']}-{index}",
            "productRef": item["productRef"],
            "productCatalogueRef": item.get("productCatalogueRef"),
            "quantity": item.get("quantity", 1),
            "price": item.get("price"),
            "paidPrice": item.get("paidPrice"),
            "totalPrice": item.get("totalPrice"),
            "taxPrice": item.get("taxPrice"),
            "currency": item.get("currency"),
            "status": "CREATED",
            "orderId": row["id"],
            "retailerId": retailer_id,
            "attributes": attributes_list(item.get("attributes")),
            "createdOn": now,
            "updatedOn": now,
        }
        store.order_items.insert(item_row, key=(row["id"], item_row["ref"]))
        row["_items"].append(item_row["id"])
    return row


def new_fulfilment(store: Store, fields: dict[str, Any], order: Row, now: str) -> Row:
    """Insert a fulfilment of ``order`` and its items.

    Without ``fields["items"]`` the fulfilment requests every order item in
    full. Raises KeyError when an item names an ``orderItem`` ref the order
    does not have.
    """
    row = {
        "ref": fields.get("ref") or f"{order['ref']}-F{len(order['_fulfilments']) + 1}",
        "status": fields.get("status") or "CREATED",
        "type": fields.get("type") or "HD_WH",
        "deliveryType": fields.get("deliveryType") or "STANDARD",
        "orderId": order["id"],
        "retailerId": order["retailerId"],
        "fromLocationRef": fields.get("fromLocation"),
        "toAddress": address(fields.get("toAddress")),
        "fromAddress": address(fields.get("fromAddress")),
        "attributes": attributes_list(fields.get("attributes")),
        "eta": fields.get("eta"),
        "expiryTime": fields.get("expiryTime"),
        "createdOn": now,
        "updatedOn": now,
        "_items": [],
        "_articles": [],
    }
    store.fulfilments.insert(row, key=row["ref"])
    for index, article in enumerate(fields.get("articles") or [], start=1):
        row["_articles"].append(new_article(store, article, row, index, now)["id"])
    order["_fulfilments"].append(row["id"])
    wanted = fields.get("items")
    order_items = [item for item in (store.order_items.get(i) for i in order["_items"]) if item is not None]
    if wanted is None:
        wanted = [{"orderItem": item["ref"], "requestedQuantity": item["quantity"]} for item in order_items]
    by_ref = {item["ref"]: item for item in order_items}
    for index, item in enumerate(wanted, start=1):
        order_item = by_ref.get(item.get("orderItem"))
        if order_item is None:
            raise KeyError(f"order {order['ref']} has no item {item.get('orderItem')!r}")
        requested = item.get("requestedQuantity", order_item["quantity"])
        item_row = {
            "ref": item.get("ref") or f"{row['ref']}-{index}",
            "requestedQuantity": requested,
            "filledQuantity": item.get("filledQuantity", 0),
            "rejectedQuantity": item.get("rejectedQuantity", 0),
            "status": item.get("status") or "CREATED",
            "orderItemId": order_item["id"],
            "fulfilmentId": row["id"],
            "createdOn": now,
            "updatedOn": now,
        }
        store.fulfilment_items.insert(item_row)
        row["_items"].append(item_row["id"])
    return row


def new_article(store: Store, fields: dict[str, Any], fulfilment: Row, index: int, now: str) -> Row:
    """Insert a parcel of ``fulfilment`` and, when ``fields["consignment"]`` names one, its consignment."""
    row = {
        "ref": fields.get("ref") or f"{fulfilment['ref']}-A{index}",
        "type": fields.get("type") or "DEFAULT",
        "status": fields.get("status") or "CREATED",
        "name": fields.get("name"),
        "description": fields.get("description"),
        "quantity": fields.get("quantity", 1),
        "height": fields.get("height"),
        "length": fields.get("length"),
        "weight": fields.get("weight"),
        "width": fields.get("width"),
        "attributes": attributes_list(fields.get("attributes")),
        "retailerId": fulfilment["retailerId"],
        "_consignments": [],
        "createdOn": now,
        "updatedOn": now,
    }
    store.articles.insert(row, key=(fulfilment["retailerId"], row["ref"]))
    consignment = fields.get("consignment")
    if consignment:
        found = store.consignments.find((fulfilment["retailerId"], consignment.get("ref")))
        if found is None:
            found = store.consignments.insert(
                {
                    "ref": consignment.get("ref") or f"{row['ref']}-C",
                    "status": consignment.get("status") or "CREATED",
                    "consignmentReference": consignment.get("consignmentReference"),
                    "trackingLabel": consignment.get("trackingLabel"),
                    "labelUrl": consignment.get("labelUrl"),
                    "orderSummaryUrl": consignment.get("orderSummaryUrl"),
                    "retailerId": fulfilment["retailerId"],
                    "createdOn": now,
                    "updatedOn": now,
                },
                key=(fulfilment["retailerId"], consignment.get("ref")),
            )
        row["_consignments"].append(found["id"])
    return row


def new_customer(store: Store, fields: dict[str, Any], retailer_id: str, now: str) -> Row:
    """Insert a customer of ``retailer_id`` keyed by ``(retailerId, ref)``; ref defaults to the username."""
    ref = fields.get("ref") or fields.get("username") or fields.get("primaryEmail")
    row = {
        "ref": ref,
        "username": fields.get("username") or ref,
        "status": fields.get("status") or "ACTIVE",
        "retailerId": retailer_id,
        "attributes": attributes_list(fields.get("attributes")),
        "createdOn": now,
        "updatedOn": now,
    }
    for key in CUSTOMER_FIELDS:
        row[key] = fields.get(key)
    return store.customers.insert(row, key=(retailer_id, ref))


CUSTOMER_FIELDS = (
    "title",
    "firstName",
    "lastName",
    "primaryEmail",
    "primaryPhone",
    "department",
    "country",
    "timezone",
    "promotionOptIn",
)


def new_financial_transaction(store: Store, fields: dict[str, Any], order: Row, now: str) -> Row:
    """Insert a payment or refund of ``order``; ``amount`` (or ``total``) is its total.

    Type defaults to PAYMENT, status to CREATED and the currency to the order's, as unnamed
    fields do on Fluent; the caller checks that the ref is new on the order.
    """
    row = {
        "ref": fields.get("ref"),
        "type": fields.get("type") or "PAYMENT",
        "status": fields.get("status") or "CREATED",
        "total": float(fields.get("amount", fields.get("total")) or 0),
        "currency": fields.get("currency") or order.get("currency"),
        "paymentProviderName": fields.get("paymentProvider") or fields.get("paymentProviderName"),
        "orderId": order["id"],
        "retailerId": order["retailerId"],
        "createdOn": now,
        "updatedOn": now,
    }
    for key in TRANSACTION_FIELDS:
        row[key] = fields.get(key)
    store.financial_transactions.insert(row, key=(order["id"], row["ref"]))
    order.setdefault("_transactions", []).append(row["id"])
    return row


TRANSACTION_FIELDS = ("externalTransactionCode", "externalTransactionId", "cardType", "paymentMethod")


def new_control_group(store: Store, fields: dict[str, Any], retailer_id: str, now: str) -> Row:
    """Insert a control group of ``retailer_id`` keyed by its ref (unique across the account)."""
    group = {
        "ref": fields["ref"],
        "type": fields.get("type") or "DEFAULT",
        "status": fields.get("status") or "ACTIVE",
        "name": fields.get("name") or fields["ref"],
        "description": fields.get("description"),
        "retailerRefs": fields.get("retailerRefs")
        or [row["ref"] for row in store.retailers if row["id"] == retailer_id],
        "attributes": attributes_list(fields.get("attributes")),
        "retailerId": retailer_id,
        "createdOn": now,
        "updatedOn": now,
        "_controls": [],
    }
    return store.control_groups.insert(group, key=group["ref"])


def new_control(store: Store, fields: dict[str, Any], group: Row, now: str) -> Row:
    """Insert a control of ``group`` keyed by ``(group ref, ref)``."""
    row = {
        "ref": fields["ref"],
        "type": fields.get("type") or "DEFAULT",
        "status": fields.get("status") or "ACTIVE",
        "name": fields.get("name") or fields["ref"],
        "description": fields.get("description"),
        "values": attributes_list(fields.get("values")),
        "attributes": attributes_list(fields.get("attributes")),
        "executionOrder": fields.get("executionOrder"),
        "controlGroupId": group["id"],
        "retailerId": group["retailerId"],
        "createdOn": now,
        "updatedOn": now,
    }
    store.controls.insert(row, key=(group["ref"], row["ref"]))
    group.setdefault("_controls", []).append(row["id"])
    return row
