"""Fluent's return-order, financial-transaction and control-group mutations, with coded errors.

They store data only, as on Fluent, where a workflow reacts to the entity afterwards: what a
return or a payment does to stock or to the order is the work of the event workflows
(``workflows_orders``). Unknown retailers, customers, orders, order items, products, locations
and control groups are C0120E; a ref already taken is C0123E; a required field the loosened
input type leaves optional is C0140E.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import GraphQLResolveInfo

from engine.emulator import entities, return_orders
from engine.emulator.graphql_errors import FluentError
from engine.emulator.graphql_mutations import check_input, context, retailer_of
from engine.emulator.store import Row

if TYPE_CHECKING:
    from engine.emulator.core import Core

GROUP_FIELDS = ("type", "status", "name", "description", "retailerRefs")
# Fields of a return order (and of its items) an update replaces when given.
RETURN_UPDATES = (
    "status",
    "order",
    "returnAuthorisationKey",
    "returnAuthorisationDisposition",
    "returnAuthorisationKeyExpiry",
    "lodgedLocation",
    "destinationLocation",
    "exchangeOrder",
    "creditMemo",
    "currency",
    "defaultTaxType",
    *return_orders.AMOUNTS,
)
ITEM_UPDATES = (
    "status",
    "product",
    "orderItem",
    "unitQuantity",
    "unitTaxType",
    *return_orders.ITEM_AMOUNTS,
    *return_orders.ITEM_SETTINGS,
    *return_orders.ITEM_TEXT,
)
TRANSACTION_REQUIRED = ("ref", "type", "amount", "currency", "paymentMethod")


def _required(input: dict[str, Any] | None) -> dict[str, Any]:
    if input is None:
        raise FluentError("C0140E", "Variable 'input' is required")
    return input


def _group_retailer(core: Core, principal: dict[str, Any], refs: list[str] | None) -> str:
    """The retailer a control group belongs to: its first retailerRef, else the caller's first."""
    if not refs:
        return retailer_of(core, principal, None)
    retailer = core.store.retailers.find(refs[0])
    if retailer is None:
        raise FluentError("C0120E", f"Retailer with ref '{refs[0]}' not found")
    return retailer_of(core, principal, {"id": retailer["id"]})


def create_control_group(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any] | None = None) -> Row:
    """``createControlGroup``: a group of the retailer its first retailerRef names (C0123E if the ref exists)."""
    core, principal, now = context(info)
    fields = _required(input)
    check_input(fields, "input", core.settings.max_string_length)
    rid = _group_retailer(core, principal, fields.get("retailerRefs"))
    if core.store.control_groups.find(fields["ref"]) is not None:
        raise FluentError("C0123E", f"Control group with ref '{fields['ref']}' already exists")
    return entities.new_control_group(core.store, fields, rid, now)


def update_control_group(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any] | None = None) -> Row:
    """``updateControlGroup``: the fields given; attributes merge by name."""
    core, principal, now = context(info)
    fields = _required(input)
    check_input(fields, "input", core.settings.max_string_length)
    group: Row | None = core.store.control_groups.find(fields["ref"])
    if group is None or group["retailerId"] not in principal["retailerIds"]:
        raise FluentError("C0120E", f"Control group with ref '{fields['ref']}' not found")
    for key in GROUP_FIELDS:
        if fields.get(key) is not None:
            group[key] = fields[key]
    if fields.get("attributes") is not None:
        group["attributes"] = entities.upsert_attributes(group["attributes"], fields["attributes"])
    group["updatedOn"] = now
    return group


def _checked(core: Core, fields: dict[str, Any], rid: str, new: bool = True) -> None:
    try:
        return_orders.check(core.store, fields, rid, new)
    except return_orders.Unknown as exc:
        raise FluentError("C0120E", str(exc)) from None


def create_return_order(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any] | None = None) -> Row:
    """``createReturnOrder``: a return (status CREATED) with its items.

    The ref must be new for the retailer (C0123E), as must each item ref within the return;
    the customer, order, order items, products and locations it names must exist (C0120E).
    """
    core, principal, now = context(info)
    fields = _required(input)
    check_input(fields, "input", core.settings.max_string_length)
    rid = retailer_of(core, principal, fields["retailer"])
    if core.store.return_orders.find((rid, fields["ref"])) is not None:
        raise FluentError("C0123E", f"Return order with ref '{fields['ref']}' already exists")
    refs = [item["ref"] for item in fields["returnOrderItems"]]
    repeated = sorted({ref for ref in refs if refs.count(ref) > 1})
    if repeated:
        raise FluentError("C0123E", f"Return order item ref '{repeated[0]}' is given more than once")
    normalised = return_orders.normalise(fields, rid)
    _checked(core, normalised, rid)
    return return_orders.new_return_order(core.store, normalised, rid, now)


def update_return_order(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any] | None = None) -> Row:
    """``updateReturnOrder``: the fields given, attributes merged by name, items updated by ref.

    An item ref the return does not have is C0120E (items are added only at creation); every
    link given is checked as on creation.
    """
    core, principal, now = context(info)
    fields = _required(input)
    check_input(fields, "input", core.settings.max_string_length)
    rid = retailer_of(core, principal, fields["retailer"])
    row: Row | None = core.store.return_orders.find((rid, fields["ref"]))
    if row is None:
        raise FluentError("C0120E", f"Return order with ref '{fields['ref']}' not found")
    given = {key: value for key, value in fields.items() if value is not None}
    normalised = return_orders.normalise(given, rid)
    _checked(core, {key: normalised[key] for key in given if key in normalised}, rid, new=False)
    items = {item["ref"]: item for item in return_orders.items_of(core.store, row)}
    changes = [(items.get(item["ref"]), item) for item in normalised["returnOrderItems"]]
    missing = [item["ref"] for found, item in changes if found is None]
    if missing:
        raise FluentError("C0120E", f"Return order '{row['ref']}' has no item with ref '{missing[0]}'")
    for key in RETURN_UPDATES:
        if key in given:
            row[key] = normalised[key]
    if "pickupAddress" in given:
        row["pickupAddress"] = entities.address(given["pickupAddress"])
    if "attributes" in given:
        row["attributes"] = entities.upsert_attributes(row["attributes"], given["attributes"])
    for found, item in changes:
        assert found is not None
        _update_item(found, item, now)
    row["updatedOn"] = now
    return row


def _update_item(row: Row, changes: dict[str, Any], now: str) -> None:
    for key in ITEM_UPDATES:
        if changes.get(key) is not None:
            row[key] = changes[key]
    if changes.get("attributes") is not None:
        row["attributes"] = entities.upsert_attributes(row["attributes"], changes["attributes"])
    row["updatedOn"] = now


def create_financial_transaction(
    _root: Any, info: GraphQLResolveInfo, input: dict[str, Any] | None = None
) -> Row:
    """``createFinancialTransaction``: a payment of an order named by id (C0120E unknown).

    Fluent's required fields (ref, type, amount, currency, paymentMethod, order) are C0140E when
    missing; a ref the order already has is C0123E.
    """
    core, principal, now = context(info)
    fields = _required(input)
    check_input(fields, "input", core.settings.max_string_length)
    missing = [key for key in (*TRANSACTION_REQUIRED, "order") if fields.get(key) in (None, "")]
    if missing:
        raise FluentError("C0140E", f"Field 'input.{missing[0]}' is required")
    order: Row | None = core.store.orders.get(fields["order"]["id"])
    if order is None or order["retailerId"] not in principal["retailerIds"]:
        raise FluentError("C0120E", f"Order with id '{fields['order']['id']}' not found")
    if core.store.financial_transactions.find((order["id"], fields["ref"])) is not None:
        raise FluentError("C0123E", f"Order '{order['ref']}' already has a transaction '{fields['ref']}'")
    return entities.new_financial_transaction(core.store, fields, order, now)


MUTATIONS = {
    "createControlGroup": create_control_group,
    "updateControlGroup": update_control_group,
    "createReturnOrder": create_return_order,
    "updateReturnOrder": update_return_order,
    "createFinancialTransaction": create_financial_transaction,
}
