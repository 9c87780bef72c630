"""Inventory positions and their quantities, as Fluent names them, for mutations, seeds and workflows.

Fluent names a quantity by its ref within an inventory catalogue, and a position may hold any
number of quantities of each type: LAST_ON_HAND, EXPECTED (an expected receipt or a transfer in
transit), RESERVED (a reservation), ADJUSTMENT. Batch ingestion keeps one LAST_ON_HAND quantity
per position under the table key ``(position id, "LAST_ON_HAND")`` because it updates it for every
entity; every other quantity is listed under its position in ``Store.position_quantities``, so
positions stay rows of scalars (cheap to hold by the hundred thousand).

Stock a reservation holds is the sum of the position's RESERVED quantities whose status is not
a released one; what a position can still give (to a reservation or a transfer) is its on-hand
minus that.
"""

from __future__ import annotations

from typing import Any

from engine.emulator import entities
from engine.emulator.store import Row, Store

ON_HAND = "LAST_ON_HAND"
# Statuses of a RESERVED quantity that no longer hold stock.
RELEASED = frozenset({"RELEASED", "EXPIRED", "CANCELLED", "INACTIVE", "CONSUMED"})
QUANTITY_FIELDS = ("condition", "expectedOn", "storageAreaRef")


def find_position(store: Store, catalogue_ref: str, ref: str) -> Row | None:
    """The position with this ref in the catalogue: ``SKU:LOC`` refs by key, any other ref by a scan."""
    sku, _, loc = ref.partition(":")
    found: Row | None = store.inventory_positions.find((catalogue_ref, sku, loc))
    if found is not None and found["ref"] == ref:
        return found
    return next(
        (r for r in store.inventory_positions if r["ref"] == ref and r["catalogueRef"] == catalogue_ref),
        found,
    )


def find_quantity(store: Store, catalogue_ref: str, ref: str) -> Row | None:
    """The quantity with this ref in the catalogue, or None."""
    return store.quantity_refs.get((catalogue_ref, ref))


def quantities_of(store: Store, position: Row) -> list[Row]:
    """Every quantity of ``position``, in id order."""
    table = store.inventory_quantities
    rows = [row for row in (table.get(i) for i in store.position_quantities.get(position["id"], ())) if row]
    kept = table.find((position["id"], ON_HAND))
    if kept is not None and all(row is not kept for row in rows):
        rows.append(kept)
    return sorted(rows, key=lambda row: int(row["id"]))


def held(store: Store, position: Row, besides: Row | None = None) -> int:
    """Stock the position's active RESERVED quantities hold (``besides`` one of them left out)."""
    return sum(
        int(q.get("qty") or 0)
        for q in quantities_of(store, position)
        if q["type"] == "RESERVED" and q.get("status") not in RELEASED and q is not besides
    )


def available(store: Store, position: Row) -> int:
    """What the position can still give: its on-hand less what reservations hold."""
    return int(position.get("onHand") or 0) - held(store, position)


def new_quantity(store: Store, position: Row, fields: dict[str, Any], now: str) -> Row:
    """Insert a quantity of ``position`` from input ``fields`` (``ref``, ``type``, ``quantity`` ...).

    The caller checks that the ref is new in the position's catalogue. Status defaults to
    CREATED, as on Fluent. A LAST_ON_HAND quantity of a position that has none becomes the one
    batch ingestion keeps up to date.
    """
    row = {
        "ref": fields["ref"],
        "positionId": position["id"],
        "productRef": position["productRef"],
        "locationRef": position["locationRef"],
        "qty": int(fields.get("quantity") or 0),
        "type": fields["type"],
        "status": fields.get("status") or "CREATED",
        "attributes": entities.attributes_list(fields.get("attributes")),
        "catalogueRef": position["catalogueRef"],
        "retailerId": position["retailerId"],
        "createdOn": now,
        "updatedOn": now,
    }
    for key in QUANTITY_FIELDS:
        row[key] = fields.get(key)
    kept = (position["id"], ON_HAND)
    if row["type"] == ON_HAND and store.inventory_quantities.find(kept) is None:
        store.inventory_quantities.insert(row, key=kept)
    else:
        store.inventory_quantities.insert(row)
        store.position_quantities.setdefault(position["id"], []).append(row["id"])
    store.quantity_refs[(row["catalogueRef"], row["ref"])] = row
    return row


def retype(store: Store, quantity: Row, kind: str) -> None:
    """Change a quantity's type; the kept LAST_ON_HAND quantity leaves batch ingestion's key."""
    keys = store.inventory_quantities.keys
    old = (quantity["positionId"], quantity["type"])
    if kind != quantity["type"] and keys.get(old) is quantity:
        del keys[old]
        store.position_quantities.setdefault(quantity["positionId"], []).append(quantity["id"])
    quantity["type"] = kind


def set_on_hand(store: Store, position: Row, on_hand: int, now: str) -> None:
    """Set a position's on-hand; its LAST_ON_HAND quantity follows (created when missing)."""
    position["onHand"] = on_hand
    position["updatedOn"] = now
    entities.set_quantity(store, position, on_hand, now)


def position_at(store: Store, catalogue: Row, sku: str, loc: str, now: str) -> Row:
    """The position of ``sku`` at ``loc`` in ``catalogue``, created with nothing on hand when missing."""
    found: Row | None = store.inventory_positions.find((catalogue["ref"], sku, loc))
    if found is not None:
        return found
    return entities.new_position(store, catalogue["ref"], catalogue["retailerId"], sku, loc, 0, now)


def catalogues_of(store: Store, retailer_id: str, ref: str | None = None) -> list[Row]:
    """The retailer's inventory catalogues in id order; only ``ref`` when it names one of them."""
    found = [c for c in store.catalogues if c["type"] == "INVENTORY" and c["retailerId"] == retailer_id]
    return [c for c in found if c["ref"] == ref] if ref else found


def quantity_named(store: Store, retailer_id: str, ref: str, catalogue_ref: str | None = None) -> Row | None:
    """A quantity of the retailer by ref, in the named catalogue or the first of its catalogues that has it."""
    for catalogue in catalogues_of(store, retailer_id, catalogue_ref):
        found = find_quantity(store, catalogue["ref"], ref)
        if found is not None:
            return found
    return None


def position_named(store: Store, retailer_id: str, ref: str, catalogue_ref: str | None = None) -> Row | None:
    """A position of the retailer by ref, in the named catalogue or the first of its catalogues that has it."""
    for catalogue in catalogues_of(store, retailer_id, catalogue_ref):
        found = find_position(store, catalogue["ref"], ref)
        if found is not None:
            return found
    return None
