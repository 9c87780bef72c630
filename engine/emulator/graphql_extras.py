"""Resolvers for what the Fluent SDK reads beyond the connector subset.

``me`` with roles, contexts and language (the SDK's connection check), retailer contact details,
workflow references, a fulfilment's articles and their consignments, customers, retailers,
control groups and controls, and ``inventoryPosition(ref, catalogue)``. Values come from the
seed; what a seed does not say is derived the way Fluent does (``workflowRef`` is
``<ENTITY>::<type>``) or left null.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo

from engine.emulator import inventory
from engine.emulator.graphql_resolvers import make_filter
from engine.emulator.pagination import ListRows, connection
from engine.emulator.store import Row

# Permissions of the role a seeded user holds when the seed names none.
DEFAULT_PERMISSIONS = (
    "ORDER_VIEW",
    "FULFILMENT_VIEW",
    "INVENTORYPOSITION_VIEW",
    "PRODUCT_VIEW",
    "LOCATION_VIEW",
    "EVENT_CREATE",
)


def _core(info: GraphQLResolveInfo) -> Any:
    return info.context["core"]


def _principal(info: GraphQLResolveInfo) -> dict[str, Any]:
    principal: dict[str, Any] = info.context["principal"]
    return principal


def user_roles(row: Row, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    """The seeded ``roles``, else one role named after the user's type in each of its retailers.

    A seeded role is ``{name, permissions?: [names], contexts?: [{contextType, contextId}]}``.
    """
    seeded = row.get("roles")
    if seeded:
        return [
            {
                "role": {"id": str(index), "name": role["name"], "permissions": _permissions(role)},
                "contexts": list(role.get("contexts") or []),
            }
            for index, role in enumerate(seeded, start=1)
        ]
    contexts = [{"contextType": "RETAILER", "contextId": rid} for rid in row.get("retailerIds") or []]
    location = _primary_location(row, info)
    if location is not None:
        contexts.append({"contextType": "LOCATION", "contextId": location["id"]})
    if not contexts:
        contexts.append({"contextType": "ACCOUNT", "contextId": row.get("accountId") or "0"})
    name = str(row.get("type") or "ADMIN")
    return [{"role": {"id": "1", "name": name, "permissions": _permissions({})}, "contexts": contexts}]


def _permissions(role: dict[str, Any]) -> list[dict[str, str]]:
    return [{"name": str(name)} for name in role.get("permissions") or DEFAULT_PERMISSIONS]


def _primary_location(row: Row, info: GraphQLResolveInfo) -> Row | None:
    ids = row.get("retailerIds") or []
    if not ids or not row.get("primaryLocationRef"):
        return None
    found: Row | None = _core(info).store.locations.find((ids[0], row["primaryLocationRef"]))
    return found


def user_language(row: Row, _info: GraphQLResolveInfo) -> dict[str, str] | None:
    """A seeded ``language`` (a code, or ``{value, label}``) as Fluent's SettingValueType."""
    value = row.get("language")
    if value is None:
        return None
    if isinstance(value, dict):
        return {key: str(value[key]) for key in ("value", "label") if value.get(key) is not None}
    return {"value": str(value), "label": str(value)}


def workflow_ref(entity: str) -> Callable[[Row, GraphQLResolveInfo], str]:
    """Fluent's ``<ENTITY>::<type>`` workflow reference of a row."""
    return lambda row, _info: f"{entity}::{row.get('type') or 'DEFAULT'}"


def workflow_version(row: Row, _info: GraphQLResolveInfo) -> int:
    """The seeded ``workflowVersion``, else 1."""
    return int(row.get("workflowVersion") or 1)


def inventory_quantity(row: Row, _info: GraphQLResolveInfo) -> Any:
    """``InventoryQuantity.quantity``: the row's ``qty``."""
    return row.get("qty")


def _listed(table_name: str, ids_key: str, type_name: str) -> Callable[..., dict[str, Any]]:
    def resolve(row: Row, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        core = _core(info)
        table = core.store.table(table_name)
        rows = ListRows(r for r in (table.get(i) for i in row.get(ids_key) or []) if r is not None)
        wanted = {f: set(args[f]) for f in ("ref", "status") if args.get(f)}
        return connection(
            core.settings,
            rows,
            type_name,
            args,
            lambda item: all(item.get(f) in values for f, values in wanted.items()),
        )

    return resolve


def consignment_articles(row: Row, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    """``Article.consignmentArticles``: the article paired with each consignment carrying it."""
    core = _core(info)
    pairs = ListRows(
        {"id": consignment["id"], "article": row, "consignment": consignment}
        for consignment in (core.store.consignments.get(i) for i in row.get("_consignments") or [])
        if consignment is not None
    )
    return connection(core.settings, pairs, "ConsignmentArticle", args, lambda _pair: True)


def order_customer(row: Row, info: GraphQLResolveInfo) -> Row | None:
    """An order's customer: the stored customer with its ref, else the order's inline details."""
    inline = row.get("customer")
    if isinstance(inline, dict) and inline.get("ref"):
        stored: Row | None = _core(info).store.customers.find((row.get("retailerId"), inline["ref"]))
        if stored is not None:
            return stored
    return inline if isinstance(inline, dict) else None


def _by_retailer(row: Row, info: GraphQLResolveInfo) -> Row | None:
    return _core(info).store.retailers.get(row.get("retailerId"))  # type: ignore[no-any-return]


def customers(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    """``customers``: the callers' retailers' customers, filtered by any listed field."""
    fields = {
        f: f for f in ("ref", "status", "firstName", "lastName", "username", "primaryEmail", "primaryPhone")
    }
    keep = make_filter(args, fields, _principal(info)["retailerIds"])
    core = _core(info)
    return connection(core.settings, core.store.customers, "Customer", args, keep)


def customer(_root: Any, info: GraphQLResolveInfo, ref: str) -> Row | None:
    """``customer(ref)``: the first of the callers' retailers that has it."""
    store = _core(info).store
    for rid in sorted(_principal(info)["retailerIds"]):
        found: Row | None = store.customers.find((rid, ref))
        if found is not None:
            return found
    return None


def retailers(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    """``retailers``: the retailers the caller may use."""
    keep = make_filter(
        args, {f: f for f in ("ref", "status", "tradingName")}, _principal(info)["retailerIds"]
    )
    core = _core(info)
    return connection(
        core.settings, core.store.retailers, "Retailer", args, lambda r: keep({**r, "retailerId": r["id"]})
    )


def retailer_by_id(_root: Any, info: GraphQLResolveInfo, id: str) -> Row | None:
    """``retailerById``: null when unknown or not the caller's."""
    return _core(info).store.retailers.get(id) if id in _principal(info)["retailerIds"] else None  # type: ignore[no-any-return]


def control_group(_root: Any, info: GraphQLResolveInfo, ref: str) -> Row | None:
    """``controlGroup(ref)``: null when unknown or another retailer's."""
    group: Row | None = _core(info).store.control_groups.find(ref)
    return group if group is not None and group["retailerId"] in _principal(info)["retailerIds"] else None


def control(_root: Any, info: GraphQLResolveInfo, ref: str, controlGroup: dict[str, str]) -> Row | None:
    """``control(ref, controlGroup)``: null when unknown or another retailer's."""
    found: Row | None = _core(info).store.controls.find((controlGroup["ref"], ref))
    return found if found is not None and found["retailerId"] in _principal(info)["retailerIds"] else None


def control_group_of(row: Row, info: GraphQLResolveInfo) -> Row | None:
    """``Control.controlGroup``."""
    return _core(info).store.control_groups.get(row.get("controlGroupId"))  # type: ignore[no-any-return]


def inventory_position(
    _root: Any, info: GraphQLResolveInfo, ref: str, catalogue: dict[str, str]
) -> Row | None:
    """``inventoryPosition(ref, catalogue)``: null when unknown or another retailer's."""
    row = inventory.find_position(_core(info).store, catalogue["ref"], ref)
    return row if row is not None and row["retailerId"] in _principal(info)["retailerIds"] else None


QUERY_RESOLVERS: dict[str, Callable[..., Any]] = {
    "customers": customers,
    "customer": customer,
    "retailers": retailers,
    "retailerById": retailer_by_id,
    "controlGroup": control_group,
    "control": control,
    "inventoryPosition": inventory_position,
}

FIELD_RESOLVERS: dict[str, dict[str, Callable[..., Any]]] = {
    "User": {"roles": user_roles, "language": user_language},
    "Location": {"workflowRef": workflow_ref("LOCATION"), "workflowVersion": workflow_version},
    "Order": {
        "customer": order_customer,
        "workflowRef": workflow_ref("ORDER"),
        "workflowVersion": workflow_version,
    },
    "Fulfilment": {
        "articles": _listed("articles", "_articles", "Article"),
        "workflowRef": workflow_ref("FULFILMENT"),
        "workflowVersion": workflow_version,
    },
    "Article": {
        "consignmentArticles": consignment_articles,
        "workflowRef": workflow_ref("ARTICLE"),
        "workflowVersion": workflow_version,
    },
    "Consignment": {
        "retailer": _by_retailer,
        "workflowRef": workflow_ref("CONSIGNMENT"),
        "workflowVersion": workflow_version,
    },
    "Customer": {"retailer": _by_retailer},
    "InventoryQuantity": {"quantity": inventory_quantity},
    "Control": {"controlGroup": control_group_of},
}
