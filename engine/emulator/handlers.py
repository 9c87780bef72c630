"""Every built-in workflow handler by name, and the event rules a seed without ``eventRules`` gets.

One list, so the event router and the seed loader (which rejects an unknown handler name) agree.
Rule names that Fluent or the SDK's templates use are kept as they spell them; the others are the
emulator's own (docs/emulator.md marks them inferred). A rule's ``status`` is passed to handlers
that set one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.emulator import workflows, workflows_inventory, workflows_orders

HANDLERS: dict[str, Callable[..., None]] = {
    **workflows.HANDLERS,
    **workflows_inventory.HANDLERS,
    **workflows_orders.HANDLERS,
}

BUILTIN_RULES: list[dict[str, Any]] = [
    {"name": "UPSERT_PRODUCT", "entityType": "PRODUCT_CATALOGUE", "handler": "upsert_product"},
    {"name": "UPSERT_PRODUCTS", "entityType": "PRODUCT_CATALOGUE", "handler": "upsert_products"},
    {"name": "UPSERT_LOCATION", "entityType": "LOCATION", "handler": "upsert_location"},
    {"name": "OrderCancel", "entityType": "ORDER", "handler": "cancel_order"},
    {"name": "SET_STATUS", "entityType": "*", "handler": "set_status"},
    {"name": "InventoryReceived", "entityType": "INVENTORY_QUANTITY", "handler": "receive_inventory"},
    {"name": "InventoryReceiptCrossDock", "entityType": "INVENTORY", "handler": "flag_crossdock"},
    {"name": "InventoryReserved", "entityType": "INVENTORY_POSITION", "handler": "reserve_inventory"},
    {
        "name": "InventoryReservationReleased",
        "entityType": "INVENTORY_QUANTITY",
        "handler": "release_reservation",
    },
    {
        "name": "InventoryTransferDispatched",
        "entityType": "INVENTORY_POSITION",
        "handler": "dispatch_transfer",
    },
    {"name": "ReturnOrderReceived", "entityType": "RETURN_ORDER", "handler": "receive_return"},
    {"name": "PaymentCaptured", "entityType": "ORDER", "handler": "record_payment", "status": "CAPTURED"},
    {"name": "PaymentRefunded", "entityType": "ORDER", "handler": "record_payment", "status": "REFUNDED"},
    {
        "name": "PaymentAuthorizationCancelled",
        "entityType": "ORDER",
        "handler": "record_payment",
        "status": "AUTHORIZATION_CANCELLED",
    },
    {
        "name": "PaymentReauthorized",
        "entityType": "ORDER",
        "handler": "record_payment",
        "status": "AUTHORIZED",
    },
]
