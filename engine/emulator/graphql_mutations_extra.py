"""Fluent's inventory, customer and control mutations, with the same coded errors as the rest.

Inventory positions are keyed ``(catalogue, productRef, locationRef)`` as batch ingestion keys
them, so a position created here is the one a later batch updates; quantities are found by ref
within a catalogue (see ``inventory``). Unknown catalogues, positions, retailers and control groups are C0120E,
duplicates C0123E.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import GraphQLResolveInfo

from engine.emulator import entities, inventory
from engine.emulator.graphql_errors import FluentError
from engine.emulator.graphql_mutations import check_input, context, retailer_of
from engine.emulator.store import Row

if TYPE_CHECKING:
    from engine.emulator.core import Core


def _catalogue(core: Core, principal: dict[str, Any], ref: str) -> Row:
    catalogue: Row | None = core.store.catalogue(ref, "INVENTORY")
    if catalogue is None or catalogue["retailerId"] not in principal["retailerIds"]:
        raise FluentError("C0120E", f"Inventory catalogue with ref '{ref}' not found")
    return catalogue


def create_inventory_position(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Row:
    """``createInventoryPosition``: a new position of a product at a location (C0123E if it exists)."""
    core, principal, now = context(info)
    check_input(input, "input", core.settings.max_string_length)
    catalogue = _catalogue(core, principal, input["catalogue"]["ref"])
    sku, loc = input["productRef"], input["locationRef"]
    if core.store.inventory_positions.find((catalogue["ref"], sku, loc)) is not None:
        raise FluentError("C0123E", f"Inventory position of '{sku}' at '{loc}' already exists")
    row = entities.new_position(
        core.store, catalogue["ref"], catalogue["retailerId"], sku, loc, int(input.get("onHand") or 0), now
    )
    row.update(
        ref=input["ref"], type=input["type"], attributes=entities.attributes_list(input.get("attributes"))
    )
    return row


def update_inventory_position(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Row:
    """``updateInventoryPosition``: status, type, onHand and attributes of a position named by ref."""
    core, principal, now = context(info)
    check_input(input, "input", core.settings.max_string_length)
    catalogue = _catalogue(core, principal, input["catalogue"]["ref"])
    row = inventory.find_position(core.store, catalogue["ref"], input["ref"])
    if row is None:
        raise FluentError("C0120E", f"Inventory position with ref '{input['ref']}' not found")
    for key in ("status", "type", "onHand"):
        if input.get(key) is not None:
            row[key] = input[key]
    if input.get("attributes") is not None:
        row["attributes"] = entities.upsert_attributes(row.get("attributes") or [], input["attributes"])
    row["updatedOn"] = now
    return row


def create_inventory_quantity(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Row:
    """``createInventoryQuantity``: a typed quantity of a position (an expected receipt, a reservation ...).

    The position must exist in the catalogue (C0120E); the ref must be new in the catalogue
    (C0123E). A position may hold any number of quantities of one type; status starts CREATED.
    """
    core, principal, now = context(info)
    check_input(input, "input", core.settings.max_string_length)
    catalogue = _catalogue(core, principal, input["catalogue"]["ref"])
    key = input["position"]
    position = inventory.find_position(core.store, key["catalogue"]["ref"], key["ref"])
    if position is None or position["catalogueRef"] != catalogue["ref"]:
        raise FluentError("C0120E", f"Inventory position with ref '{key['ref']}' not found")
    if inventory.find_quantity(core.store, catalogue["ref"], input["ref"]) is not None:
        raise FluentError(
            "C0123E", f"Inventory quantity with ref '{input['ref']}' already exists in '{catalogue['ref']}'"
        )
    return inventory.new_quantity(core.store, position, input, now)


def update_inventory_quantity(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Row:
    """``updateInventoryQuantity``: the fields given of a quantity named by ref within a catalogue."""
    core, principal, now = context(info)
    check_input(input, "input", core.settings.max_string_length)
    catalogue = _catalogue(core, principal, input["catalogue"]["ref"])
    row = inventory.find_quantity(core.store, catalogue["ref"], input["ref"])
    if row is None:
        raise FluentError("C0120E", f"Inventory quantity with ref '{input['ref']}' not found")
    if input.get("quantity") is not None:
        row["qty"] = input["quantity"]
    if input.get("type") is not None:
        inventory.retype(core.store, row, input["type"])
    for key in ("status", *inventory.QUANTITY_FIELDS):
        if input.get(key) is not None:
            row[key] = input[key]
    if input.get("attributes") is not None:
        row["attributes"] = entities.upsert_attributes(row.get("attributes") or [], input["attributes"])
    row["updatedOn"] = now
    return row


def create_customer(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Row:
    """``createCustomer``: a customer of the given retailer; its username must be new (C0123E)."""
    core, principal, now = context(info)
    check_input(input, "input", core.settings.max_string_length)
    rid = retailer_of(core, principal, input["retailer"])
    if core.store.customers.find((rid, input["username"])) is not None:
        raise FluentError("C0123E", f"Customer with username '{input['username']}' already exists")
    return entities.new_customer(core.store, {**input, "ref": input["username"]}, rid, now)


def _group(core: Core, principal: dict[str, Any], ref: str) -> Row:
    group: Row | None = core.store.control_groups.find(ref)
    if group is None or group["retailerId"] not in principal["retailerIds"]:
        raise FluentError("C0120E", f"Control group with ref '{ref}' not found")
    return group


def create_control(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Row:
    """``createControl``: a control in a control group; its ref must be new there (C0123E)."""
    core, principal, now = context(info)
    check_input(input, "input", core.settings.max_string_length)
    group = _group(core, principal, input["controlGroup"]["ref"])
    if core.store.controls.find((group["ref"], input["ref"])) is not None:
        raise FluentError("C0123E", f"Control with ref '{input['ref']}' already exists in '{group['ref']}'")
    return entities.new_control(core.store, input, group, now)


def update_control(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Row:
    """``updateControl``: the fields given of a control, found in its group or in any of the caller's."""
    core, principal, now = context(info)
    check_input(input, "input", core.settings.max_string_length)
    groups = [_group(core, principal, input["controlGroup"]["ref"])] if input.get("controlGroup") else None
    candidates = groups or [
        g for g in core.store.control_groups if g["retailerId"] in principal["retailerIds"]
    ]
    row = next(
        (c for g in candidates if (c := core.store.controls.find((g["ref"], input["ref"]))) is not None),
        None,
    )
    if row is None:
        raise FluentError("C0120E", f"Control with ref '{input['ref']}' not found")
    for key in ("type", "status", "name", "description", "executionOrder"):
        if input.get(key) is not None:
            row[key] = input[key]
    for key in ("values", "attributes"):
        if input.get(key) is not None:
            row[key] = entities.upsert_attributes(row.get(key) or [], input[key])
    row["updatedOn"] = now
    return row


MUTATIONS = {
    "createInventoryPosition": create_inventory_position,
    "updateInventoryPosition": update_inventory_position,
    "createInventoryQuantity": create_inventory_quantity,
    "updateInventoryQuantity": update_inventory_quantity,
    "createCustomer": create_customer,
    "createControl": create_control,
    "updateControl": update_control,
}
