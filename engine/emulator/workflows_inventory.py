"""Workflow handlers for inbound receipts, cross-dock, reservations and transfers (all inferred).

Fluent has no receipt, reservation or transfer entity: they are inventory quantities of a type
(EXPECTED, RESERVED) that a retailer's own workflows act on. These handlers apply the effect such
a workflow plausibly has, so a connector's flow can be run end to end against the emulator:

* ``receive_inventory``: an EXPECTED quantity arrives: its position's on-hand grows by the
  quantity received (``attributes.quantity``, default the expected one), the quantity becomes
  RECEIVED and records ``receivedQuantity`` and ``variance`` (received less expected) as
  attributes. A second receipt of the same quantity fails.
* ``flag_crossdock``: an EXPECTED quantity is marked for cross-dock (``crossDock: true`` and the
  event's attributes); stock does not change.
* ``reserve_inventory``: a position holds ``attributes.quantity`` in a new RESERVED quantity;
  fails when the position has less available (on-hand less what reservations already hold).
* ``release_reservation``: a RESERVED quantity stops holding stock (status RELEASED, or the
  rule's or event's ``status``).
* ``dispatch_transfer``: ``attributes.quantity`` leaves a position for ``attributes.toLocationRef``:
  the source's on-hand drops and the destination gets an EXPECTED quantity (status IN_TRANSIT,
  ref ``attributes.ref``) that ``receive_inventory`` later books in.

Entities are named by the event's ``entityRef`` within its ``rootEntityRef`` catalogue (when the
root is an INVENTORY_CATALOGUE), else within the first of the retailer's inventory catalogues
that has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.emulator import entities, inventory
from engine.emulator.clock import normalise
from engine.emulator.store import Row
from engine.emulator.workflows import HandlerFailed, find_entity

if TYPE_CHECKING:
    from engine.emulator.core import Core


def _count(attrs: dict[str, Any], name: str, default: int | None = None, positive: bool = False) -> int:
    """An integer attribute; HandlerFailed when it is missing (without a default) or not a count."""
    value = attrs.get(name, default)
    if value is None:
        raise HandlerFailed(f"attributes.{name} is required")
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise HandlerFailed(f"attributes.{name} must be a whole number, got {value!r}") from None
    if isinstance(value, float) and not value.is_integer():
        raise HandlerFailed(f"attributes.{name} must be a whole number, got {value!r}")
    if count < 0 or (positive and count == 0):
        raise HandlerFailed(f"attributes.{name} must be {'above' if positive else 'at least'} 0, got {count}")
    return count


def _instant(attrs: dict[str, Any]) -> str | None:
    """``attributes.expectedOn`` as the emulator stores instants; HandlerFailed when it is not one."""
    value = attrs.get("expectedOn")
    if value in (None, ""):
        return None
    try:
        return normalise(str(value))
    except ValueError:
        raise HandlerFailed(f"attributes.expectedOn must be an ISO-8601 instant, got {value!r}") from None


def _expected(core: Core, event: dict[str, Any]) -> Row:
    _, quantity = find_entity(core, event, "INVENTORY_QUANTITY")
    if quantity["type"] != "EXPECTED":
        raise HandlerFailed(f"Inventory quantity {quantity['ref']} is {quantity['type']}, not EXPECTED")
    if quantity.get("status") == "RECEIVED":
        raise HandlerFailed(f"Inventory quantity {quantity['ref']} has already been received")
    return quantity


def _position_of(core: Core, quantity: Row) -> Row:
    return core.store.inventory_positions.row(quantity["positionId"])


def receive_inventory(core: Core, event: dict[str, Any], attrs: dict[str, Any], rule: Row) -> None:
    """Book an EXPECTED quantity in: the position's on-hand grows by what arrived (see the module)."""
    now = core.clock.now_iso()
    quantity = _expected(core, event)
    received = _count(attrs, "quantity", default=quantity.get("qty") or 0)
    position = _position_of(core, quantity)
    inventory.set_on_hand(core.store, position, int(position.get("onHand") or 0) + received, now)
    quantity["status"] = "RECEIVED"
    quantity["attributes"] = entities.upsert_attributes(
        quantity.get("attributes") or [],
        {"receivedQuantity": received, "variance": received - int(quantity.get("qty") or 0)},
    )
    quantity["updatedOn"] = now


def flag_crossdock(core: Core, event: dict[str, Any], attrs: dict[str, Any], rule: Row) -> None:
    """Mark an EXPECTED quantity for cross-dock, keeping the event's attributes on it."""
    quantity = _expected(core, event)
    quantity["attributes"] = entities.upsert_attributes(
        quantity.get("attributes") or [], {"crossDock": True, **attrs}
    )
    quantity["updatedOn"] = core.clock.now_iso()


def _new_ref(core: Core, catalogue_ref: str, wanted: Any, default: str) -> str:
    ref = str(wanted) if wanted else default
    if inventory.find_quantity(core.store, catalogue_ref, ref) is not None:
        raise HandlerFailed(f"Inventory quantity {ref} already exists in {catalogue_ref}")
    return ref


def _take(core: Core, position: Row, count: int) -> None:
    can = inventory.available(core.store, position)
    if count > can:
        raise HandlerFailed(
            f"Only {can} of {position['productRef']} available at {position['locationRef']}, {count} asked"
        )


def _extra(attrs: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if k not in ("ref", "quantity", *names)}


def reserve_inventory(core: Core, event: dict[str, Any], attrs: dict[str, Any], rule: Row) -> None:
    """Hold stock of a position in a new RESERVED quantity, if the position has it available."""
    _, position = find_entity(core, event, "INVENTORY_POSITION")
    count = _count(attrs, "quantity", positive=True)
    _take(core, position, count)
    serial = len(inventory.quantities_of(core.store, position)) + 1
    ref = _new_ref(core, position["catalogueRef"], attrs.get("ref"), f"{position['ref']}:RESERVED:{serial}")
    fields = {
        "ref": ref,
        "type": "RESERVED",
        "quantity": count,
        "status": rule.get("status") or "RESERVED",
        "expectedOn": _instant(attrs),
        "attributes": _extra(attrs, "expectedOn"),
    }
    inventory.new_quantity(core.store, position, fields, core.clock.now_iso())


def release_reservation(core: Core, event: dict[str, Any], attrs: dict[str, Any], rule: Row) -> None:
    """Let a RESERVED quantity stop holding stock; releasing one that holds nothing fails."""
    _, quantity = find_entity(core, event, "INVENTORY_QUANTITY")
    if quantity["type"] != "RESERVED":
        raise HandlerFailed(f"Inventory quantity {quantity['ref']} is {quantity['type']}, not RESERVED")
    if quantity.get("status") in inventory.RELEASED:
        raise HandlerFailed(f"Reservation {quantity['ref']} is already {quantity['status']}")
    status = str(rule.get("status") or attrs.get("status") or "RELEASED")
    if status not in inventory.RELEASED:
        raise HandlerFailed(
            f"status {status!r} would not release anything: use one of {sorted(inventory.RELEASED)}"
        )
    quantity["status"] = status
    quantity["updatedOn"] = core.clock.now_iso()


def dispatch_transfer(core: Core, event: dict[str, Any], attrs: dict[str, Any], rule: Row) -> None:
    """Move stock out of a position towards another location, where it is expected (IN_TRANSIT)."""
    now = core.clock.now_iso()
    _, source = find_entity(core, event, "INVENTORY_POSITION")
    destination = attrs.get("toLocationRef")
    if not destination or core.store.locations.find((source["retailerId"], destination)) is None:
        raise HandlerFailed(f"attributes.toLocationRef {destination!r} is not a location of the retailer")
    if destination == source["locationRef"]:
        raise HandlerFailed(f"attributes.toLocationRef {destination!r} is where the stock already is")
    count = _count(attrs, "quantity", positive=True)
    _take(core, source, count)
    catalogue = core.store.catalogue(source["catalogueRef"])
    assert catalogue is not None  # a position's catalogue is never removed
    serial = len(core.store.inventory_quantities) + 1
    ref = _new_ref(core, catalogue["ref"], attrs.get("ref"), f"TRANSFER-{serial}")
    target = inventory.position_at(core.store, catalogue, source["productRef"], destination, now)
    inventory.set_on_hand(core.store, source, int(source.get("onHand") or 0) - count, now)
    fields = {
        "ref": ref,
        "type": "EXPECTED",
        "quantity": count,
        "status": rule.get("status") or "IN_TRANSIT",
        "expectedOn": _instant(attrs),
        "attributes": {
            "fromLocationRef": source["locationRef"],
            **_extra(attrs, "expectedOn", "toLocationRef"),
        },
    }
    inventory.new_quantity(core.store, target, fields, now)


HANDLERS = {
    "receive_inventory": receive_inventory,
    "flag_crossdock": flag_crossdock,
    "reserve_inventory": reserve_inventory,
    "release_reservation": release_reservation,
    "dispatch_transfer": dispatch_transfer,
}
