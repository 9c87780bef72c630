"""Mutation resolvers with Fluent-style per-field validation.

Each failure raises a coded ``FluentError`` (C0120E not found, C0121E duplicate order ref,
C0122E negative number, C0123E unique constraint, C0141E over-long string, C0020E permission),
which graphql-core turns into ``data.<alias> = null`` plus an error with ``path: [<alias>]``.
Aliased mutations in one request therefore succeed or fail independently, as on Fluent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.emulator import entities
from engine.emulator.graphql_errors import FluentError
from engine.emulator.store import Row

if TYPE_CHECKING:
    from engine.emulator.core import Core

NON_NEGATIVE = (
    "quantity",
    "price",
    "paidPrice",
    "totalPrice",
    "taxPrice",
    "totalTaxPrice",
    "amount",
    "value",
)


LOCATION_DETAILS = ("supportPhoneNumber", "defaultCarrier", "defaultCarrierName")


def context(info: Any) -> tuple[Core, dict[str, Any], str]:
    """The emulator core, the caller's principal and the emulator time of one resolver call."""
    core = info.context["core"]
    return core, info.context["principal"], core.clock.now_iso()


def check_input(value: Any, path: str, max_length: int) -> None:
    """Over-long strings (C0141E) and negative amounts (C0122E), anywhere in the input."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in NON_NEGATIVE and isinstance(item, int | float) and item < 0:
                raise FluentError("C0122E", f"Field '{path}.{key}' must not be negative, got {item}")
            check_input(item, f"{path}.{key}", max_length)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_input(item, f"{path}[{index}]", max_length)
    elif isinstance(value, str) and len(value) > max_length:
        raise FluentError("C0141E", f"Field '{path}' exceeds the maximum length of {max_length}")


def retailer_of(core: Core, principal: dict[str, Any], given: dict[str, Any] | None) -> str:
    """The retailer an input names (C0120E unknown, C0020E not the caller's), else the caller's first."""
    if given and given.get("id") is not None:
        rid = str(given["id"])
        if core.store.retailers.get(rid) is None:
            raise FluentError("C0120E", f"Retailer with id '{rid}' not found")
        if rid not in principal["retailerIds"]:
            raise FluentError("C0020E", f"Insufficient permissions for retailer '{rid}'")
        return rid
    if not principal["retailerIds"]:
        raise FluentError("C0020E", "The caller has no retailer")
    return sorted(principal["retailerIds"])[0]


def _visible(principal: dict[str, Any], row: Row | None, what: str, key: Any) -> Row:
    if row is None or row.get("retailerId") not in principal["retailerIds"]:
        raise FluentError("C0120E", f"{what} with id '{key}' not found")
    return row


def _check_payments(order: dict[str, Any]) -> None:
    """Each payment of a new order needs an amount and a currency (its own or the order's): C0140E."""
    for index, payment in enumerate(order.get("financialTransactions") or []):
        currency = payment.get("currency") or order.get("currency")
        for key, value in (("amount", payment.get("amount")), ("currency", currency)):
            if value is None:
                raise FluentError("C0140E", f"Field 'input.financialTransactions[{index}].{key}' is required")


def create_order(_root: Any, info: Any, input: dict[str, Any]) -> Row:
    """``createOrder``: a new order in status CREATED, with its items.

    The ref must be new for the retailer (C0121E); every item's product and any
    pickup location must exist (C0120E). The first fulfilment choice becomes
    the order's ``fulfilmentChoice``; payments become its financial transactions.
    """
    core, principal, now = context(info)
    check_input(input, "input", core.settings.max_string_length)
    rid = retailer_of(core, principal, input.get("retailer"))
    if core.store.orders.find((rid, input["ref"])) is not None:
        raise FluentError("C0121E", f"Order with ref '{input['ref']}' already exists")
    for index, item in enumerate(input.get("items") or []):
        if core.store.find_product(rid, item["productRef"], item.get("productCatalogueRef")) is None:
            raise FluentError("C0120E", f"Product with ref '{item['productRef']}' not found (items[{index}])")
    choices = list(input.get("fulfilmentChoices") or [])
    if input.get("fulfilmentChoice"):
        choices.insert(0, input["fulfilmentChoice"])
    for choice in choices:
        pickup = choice.get("pickupLocationRef")
        if pickup and core.store.locations.find((rid, pickup)) is None:
            raise FluentError("C0120E", f"Location with ref '{pickup}' not found")
    _check_payments(input)
    fields = {**input, "status": "CREATED", "fulfilmentChoice": choices[0] if choices else None}
    return entities.new_order(core.store, fields, rid, now)


def update_order(_root: Any, info: Any, input: dict[str, Any]) -> Row:
    """``updateOrder``: merge attributes and change the status (a change fires the status webhook)."""
    core, principal, now = context(info)
    check_input(input, "input", core.settings.max_string_length)
    order = _visible(principal, core.store.orders.get(input["id"]), "Order", input["id"])
    if input.get("attributes") is not None:
        order["attributes"] = entities.upsert_attributes(order["attributes"], input["attributes"])
    if input.get("status") and input["status"] != order["status"]:
        order["status"] = input["status"]
        core.webhooks.entity_status_changed("ORDER", order)
    order["updatedOn"] = now
    return order


def create_location(_root: Any, info: Any, input: dict[str, Any]) -> Row:
    """``createLocation``: a new location; its ref must be new for the retailer (C0123E)."""
    core, principal, now = context(info)
    check_input(input, "input", core.settings.max_string_length)
    rid = retailer_of(core, principal, input.get("retailer"))
    if core.store.locations.find((rid, input["ref"])) is not None:
        raise FluentError("C0123E", f"Location with ref '{input['ref']}' already exists")
    return entities.new_location(core.store, input, rid, now)


def update_location(_root: Any, info: Any, input: dict[str, Any]) -> Row:
    """``updateLocation``: replace the fields given (address whole), merge attributes by name."""
    core, principal, now = context(info)
    check_input(input, "input", core.settings.max_string_length)
    location = _visible(principal, core.store.locations.get(input["id"]), "Location", input["id"])
    for key in ("name", "type", "status", "openingSchedule", *LOCATION_DETAILS):
        if input.get(key) is not None:
            location[key] = input[key]
    if input.get("primaryAddress") is not None:
        location["primaryAddress"] = entities.address(input["primaryAddress"])
    if input.get("attributes") is not None:
        location["attributes"] = entities.upsert_attributes(location["attributes"], input["attributes"])
    location["updatedOn"] = now
    return location


def _create_product(info: Any, input: dict[str, Any], kind: str) -> Row:
    core, principal, now = context(info)
    check_input(input, "input", core.settings.max_string_length)
    ref = input["catalogue"]["ref"]
    catalogue = core.store.catalogue(ref, "PRODUCT")
    if catalogue is None or catalogue["retailerId"] not in principal["retailerIds"]:
        raise FluentError("C0120E", f"Product catalogue with ref '{ref}' not found")
    if core.store.products.find((ref, input["ref"])) is not None:
        raise FluentError("C0123E", f"Product with ref '{input['ref']}' already exists in catalogue '{ref}'")
    parent = (input.get("product") or {}).get("ref")
    if parent and core.store.products.find((ref, parent)) is None:
        raise FluentError("C0120E", f"Product with ref '{parent}' not found in catalogue '{ref}'")
    return entities.new_product(core.store, {**input, "kind": kind}, catalogue, now)


def create_variant_product(_root: Any, info: Any, input: dict[str, Any]) -> Row:
    """``createVariantProduct``: a variant in a product catalogue, optionally under a parent product."""
    return _create_product(info, input, "VARIANT")


def create_standard_product(_root: Any, info: Any, input: dict[str, Any]) -> Row:
    """``createStandardProduct``: a standard product in a product catalogue."""
    return _create_product(info, input, "STANDARD")


def create_product(_root: Any, info: Any, input: dict[str, Any]) -> Row:
    """``createProduct`` (``create_product_alias`` setting): standard if ``type`` says so, else variant."""
    kind = "STANDARD" if str(input.get("type") or "").upper() == "STANDARD" else "VARIANT"
    return _create_product(info, input, kind)


def update_product(_root: Any, info: Any, input: dict[str, Any]) -> Row:
    """``updateProduct``: found by ``id``, or by ``ref`` and ``catalogue`` (C0140E with neither).

    Replaces the scalar fields and prices given and merges attributes by name.
    """
    core, principal, now = context(info)
    check_input(input, "input", core.settings.max_string_length)
    if input.get("id") is not None:
        product = core.store.products.get(input["id"])
        key = input["id"]
    elif input.get("ref") and input.get("catalogue"):
        product = core.store.products.find((input["catalogue"]["ref"], input["ref"]))
        key = input["ref"]
    else:
        raise FluentError("C0140E", "updateProduct needs 'id', or 'ref' and 'catalogue'")
    product = _visible(principal, product, "Product", key)
    for field in ("name", "summary", "gtin", "status", "type", "prices"):
        if input.get(field) is not None:
            product[field] = input[field]
    if input.get("attributes") is not None:
        product["attributes"] = entities.upsert_attributes(product["attributes"], input["attributes"])
    product["updatedOn"] = now
    return product


def update_fulfilment(_root: Any, info: Any, input: dict[str, Any]) -> Row:
    """``updateFulfilment``: merge attributes and change the status (a change fires the status webhook)."""
    core, principal, now = context(info)
    check_input(input, "input", core.settings.max_string_length)
    fulfilment = _visible(principal, core.store.fulfilments.get(input["id"]), "Fulfilment", input["id"])
    if input.get("attributes") is not None:
        fulfilment["attributes"] = entities.upsert_attributes(fulfilment["attributes"], input["attributes"])
    if input.get("status") and input["status"] != fulfilment["status"]:
        fulfilment["status"] = input["status"]
        core.webhooks.entity_status_changed("FULFILMENT", fulfilment)
    fulfilment["updatedOn"] = now
    return fulfilment


MUTATIONS = {
    "createOrder": create_order,
    "updateOrder": update_order,
    "createLocation": create_location,
    "updateLocation": update_location,
    "createVariantProduct": create_variant_product,
    "createStandardProduct": create_standard_product,
    "createProduct": create_product,
    "updateProduct": update_product,
    "updateFulfilment": update_fulfilment,
}
