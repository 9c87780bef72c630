"""Resolvers for the entities inbound, return, payment and control flows touch.

Return orders (``returnOrder``, ``returnOrders``, nested items), financial transactions
(``financialTransactions``, ``Order.financialTransactions``), control lists (``controls``,
``controlGroups``, ``ControlGroup.controls``) and ``inventoryQuantity(ref, catalogue)``, which
names expected receipts, reservations and transfers in transit. Every query is scoped to the
caller's retailers; link objects (``{ref}``, ``{ref, retailer}``) are stored on the rows as the
GraphQL types serve them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo

from engine.emulator import inventory
from engine.emulator.graphql_extras import workflow_ref, workflow_version
from engine.emulator.graphql_resolvers import make_filter
from engine.emulator.pagination import ListRows, connection
from engine.emulator.store import Row

RETURN_FIELDS = {f: f for f in ("ref", "type", "status", "returnAuthorisationKey")}
RETURN_LINKS = ("customer", "order", "lodgedLocation", "destinationLocation", "exchangeOrder")
TRANSACTION_FIELDS = {
    f: f
    for f in (
        "ref",
        "type",
        "status",
        "total",
        "currency",
        "externalTransactionCode",
        "externalTransactionId",
        "cardType",
        "paymentMethod",
        "paymentProviderName",
    )
}
CONTROL_FIELDS = {f: f for f in ("ref", "type", "status", "name", "executionOrder")}
GROUP_FIELDS = {f: f for f in ("ref", "type", "status", "name")}


def _core(info: GraphQLResolveInfo) -> Any:
    return info.context["core"]


def _allowed(info: GraphQLResolveInfo) -> set[str]:
    allowed: set[str] = info.context["principal"]["retailerIds"]
    return allowed


def _listing(table_name: str, type_name: str, fields: dict[str, str]) -> Callable[..., dict[str, Any]]:
    def resolve(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        core = _core(info)
        keep = make_filter(args, fields, _allowed(info))
        return connection(core.settings, core.store.table(table_name), type_name, args, keep)

    return resolve


def _children(
    table_name: str, ids_key: str, type_name: str, fields: dict[str, str]
) -> Callable[..., dict[str, Any]]:
    """A nested connection over the child ids a parent row lists, with the parent's retailer."""

    def resolve(row: Row, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        core = _core(info)
        table = core.store.table(table_name)
        rows = ListRows(r for r in (table.get(i) for i in row.get(ids_key) or []) if r is not None)
        keep = make_filter(args, fields, {row["retailerId"]})
        return connection(core.settings, rows, type_name, args, keep)

    return resolve


def inventory_quantity(
    _root: Any, info: GraphQLResolveInfo, ref: str, catalogue: dict[str, str]
) -> Row | None:
    """``inventoryQuantity(ref, catalogue)``: null when unknown or another retailer's."""
    row = inventory.find_quantity(_core(info).store, catalogue["ref"], ref)
    return row if row is not None and row["retailerId"] in _allowed(info) else None


def return_order(_root: Any, info: GraphQLResolveInfo, ref: str, retailer: dict[str, Any]) -> Row | None:
    """``returnOrder(ref, retailer)``: null when unknown or not the caller's."""
    rid = str(retailer["id"])
    if rid not in _allowed(info):
        return None
    found: Row | None = _core(info).store.return_orders.find((rid, ref))
    return found


def _link_ref(row: Row, name: str) -> Any:
    link = row.get(name)
    return link.get("ref") if isinstance(link, dict) else None


def return_orders(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    """``returnOrders``: filtered by their fields, their retailer and what they link to (by ref)."""
    core = _core(info)
    base = make_filter(args, RETURN_FIELDS, _allowed(info))
    wanted = {name: args[name]["ref"] for name in RETURN_LINKS if args.get(name)}
    retailer = str(args["retailer"]["id"]) if args.get("retailer") else None

    def keep(row: Row) -> bool:
        if not base(row) or (retailer is not None and row["retailerId"] != retailer):
            return False
        return all(_link_ref(row, name) == ref for name, ref in wanted.items())

    return connection(core.settings, core.store.return_orders, "ReturnOrder", args, keep)


def _by_id(table_name: str, key: str) -> Callable[[Row, GraphQLResolveInfo], Row | None]:
    def resolve(row: Row, info: GraphQLResolveInfo) -> Row | None:
        found: Row | None = _core(info).store.table(table_name).get(row.get(key))
        return found

    return resolve


QUERY_RESOLVERS: dict[str, Callable[..., Any]] = {
    "controlGroups": _listing("control_groups", "ControlGroup", GROUP_FIELDS),
    "controls": _listing("controls", "Control", CONTROL_FIELDS),
    "financialTransactions": _listing("financial_transactions", "FinancialTransaction", TRANSACTION_FIELDS),
    "inventoryQuantity": inventory_quantity,
    "returnOrder": return_order,
    "returnOrders": return_orders,
}

FIELD_RESOLVERS: dict[str, dict[str, Callable[..., Any]]] = {
    "ControlGroup": {"controls": _children("controls", "_controls", "Control", CONTROL_FIELDS)},
    "Order": {
        "financialTransactions": _children(
            "financial_transactions", "_transactions", "FinancialTransaction", TRANSACTION_FIELDS
        )
    },
    "FinancialTransaction": {
        "order": _by_id("orders", "orderId"),
        "workflowRef": workflow_ref("FINANCIAL_TRANSACTION"),
        "workflowVersion": workflow_version,
    },
    "ReturnOrder": {
        "returnOrderItems": _children(
            "return_order_items", "_items", "ReturnOrderItem", {"ref": "ref", "status": "status"}
        ),
        "workflowRef": workflow_ref("RETURN_ORDER"),
        "workflowVersion": workflow_version,
    },
    "ReturnOrderItem": {"returnOrder": _by_id("return_orders", "returnOrderId")},
}
