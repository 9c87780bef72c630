"""Workflow handlers for payment-gateway events on orders and for received returns (all inferred).

* ``record_payment`` (``PaymentCaptured``, ``PaymentRefunded``, ``PaymentAuthorizationCancelled``,
  ``PaymentReauthorized`` on an ORDER): the order gets a financial transaction with the rule's
  ``status``. Its ref is ``attributes.ref`` or the gateway reference the payment templates send
  (``paymentReference``, ``refundReference``, ``cancellationReference``, ``reauthReference``);
  its total ``attributes.amount``, else that of the transaction ``originalPaymentReference``
  names; its currency ``attributes.currency``, else the original's, else the order's. The type is
  REFUND for a REFUNDED status, else PAYMENT. A ref the order already has fails, so a replayed
  event is visible (FAILED) instead of counted twice.
* ``receive_return`` (``ReturnOrderReceived`` on a RETURN_ORDER): the returned units go back into
  stock at ``attributes.locationRef`` (else the return's destination, else its lodged location),
  in the retailer's default inventory catalogue; ``attributes.items`` (``[{ref, quantity}]``)
  restocks only those, else every item in full. The return and its restocked items become
  RECEIVED (or the rule's ``status``); a return already in that status fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.emulator import entities, inventory, return_orders
from engine.emulator.store import Row
from engine.emulator.workflows import HandlerFailed, find_entity

if TYPE_CHECKING:
    from engine.emulator.core import Core

GATEWAY_REFERENCES = (
    "ref",
    "paymentReference",
    "refundReference",
    "cancellationReference",
    "reauthReference",
)


def _transactions(core: Core, order: Row) -> list[Row]:
    table = core.store.financial_transactions
    return [row for row in (table.get(i) for i in order.get("_transactions") or []) if row is not None]


def _amount(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise HandlerFailed(f"attributes.amount must be a number, got {value!r}") from None


def record_payment(core: Core, event: dict[str, Any], attrs: dict[str, Any], rule: Row) -> None:
    """Record what the payment gateway did on the order (see the module)."""
    _, order = find_entity(core, event, "ORDER")
    status = str(rule.get("status") or attrs.get("status") or "")
    if not status:
        raise HandlerFailed("the rule has no status and attributes.status is missing")
    existing = _transactions(core, order)
    original = next((t for t in existing if t["ref"] == attrs.get("originalPaymentReference")), None)
    ref = next((str(attrs[k]) for k in GATEWAY_REFERENCES if attrs.get(k)), None)
    ref = ref or f"{order['ref']}-{status}-{len(existing) + 1}"
    twin = next((t for t in existing if t["ref"] == ref), None)
    if twin is not None:
        raise HandlerFailed(f"Order {order['ref']} already has transaction {ref} ({twin['status']})")
    if attrs.get("amount") is not None:
        amount = _amount(attrs["amount"])
    elif original is not None:
        amount = original["total"]
    else:
        raise HandlerFailed("attributes.amount is required (or an originalPaymentReference of the order)")
    currency = attrs.get("currency") or (original or {}).get("currency") or order.get("currency")
    if not currency:
        raise HandlerFailed(
            "attributes.currency is required: neither the order nor an original payment has one"
        )
    fields = {
        "ref": ref,
        "type": attrs.get("type") or ("REFUND" if status == "REFUNDED" else "PAYMENT"),
        "status": status,
        "amount": amount,
        "currency": currency,
        "externalTransactionId": attrs.get("originalPaymentReference"),
        "paymentMethod": attrs.get("paymentMethod"),
        "paymentProvider": attrs.get("paymentProvider"),
    }
    entities.new_financial_transaction(core.store, fields, order, core.clock.now_iso())
    order["updatedOn"] = core.clock.now_iso()


def _restock_counts(items: list[Row], wanted: Any) -> list[tuple[Row, int]]:
    if wanted is None:
        return [(item, return_orders.returned_quantity(item)) for item in items]
    if not isinstance(wanted, list):
        raise HandlerFailed("attributes.items must be a list of {ref, quantity}")
    by_ref = {item["ref"]: item for item in items}
    counts = []
    for index, entry in enumerate(wanted):
        item = by_ref.get(entry.get("ref")) if isinstance(entry, dict) else None
        if item is None:
            raise HandlerFailed(f"attributes.items[{index}]: the return has no item {entry!r}")
        count = entry.get("quantity", return_orders.returned_quantity(item))
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise HandlerFailed(f"attributes.items[{index}].quantity must be a count, got {count!r}")
        counts.append((item, count))
    return counts


def receive_return(core: Core, event: dict[str, Any], attrs: dict[str, Any], rule: Row) -> None:
    """Put a return's units back into stock and mark it received (see the module)."""
    store, now = core.store, core.clock.now_iso()
    _, row = find_entity(core, event, "RETURN_ORDER")
    status = str(rule.get("status") or "RECEIVED")
    if row["status"] == status:
        raise HandlerFailed(f"Return order {row['ref']} is already {status}")
    links = (attrs.get("locationRef"), row.get("destinationLocation"), row.get("lodgedLocation"))
    location = next((link.get("ref") if isinstance(link, dict) else link for link in links if link), None)
    if not location or store.locations.find((row["retailerId"], location)) is None:
        raise HandlerFailed(f"No location of the retailer to restock return {row['ref']} at: {location!r}")
    catalogue_ref = attrs.get("catalogueRef") or core.settings.default_inventory_catalogue.format(
        retailerId=row["retailerId"]
    )
    catalogue = store.catalogue(catalogue_ref, "INVENTORY")
    if catalogue is None or catalogue["retailerId"] != row["retailerId"]:
        raise HandlerFailed(f"Inventory catalogue {catalogue_ref} is not the retailer's")
    for item, count in _restock_counts(return_orders.items_of(store, row), attrs.get("items")):
        position = inventory.position_at(store, catalogue, item["product"]["ref"], location, now)
        inventory.set_on_hand(store, position, int(position.get("onHand") or 0) + count, now)
        item["status"] = status
        item["updatedOn"] = now
    row["status"] = status
    row["updatedOn"] = now


HANDLERS = {"record_payment": record_payment, "receive_return": receive_return}
