"""``POST /graphql``: parse, validate, execute, and shape errors the Fluent way.

Validation errors come back with HTTP 200, no ``data`` and ``classification: ValidationError``;
missing variables carry ``C0140E``. Parsed and validated documents are cached by query text, so
a paginating client pays for parsing once. GraphQL-level faults (throttling errors, partial
data, pagination anomalies) are applied here because they need the GraphQL structure.
"""

from __future__ import annotations

import copy
import json
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from graphql import ExecutionResult, GraphQLError, execute, parse, validate
from graphql.language import OperationDefinitionNode

from engine.emulator.graphql_errors import coded, format_error
from engine.emulator.graphql_schema import schema_for
from engine.emulator.responses import ApiError

if TYPE_CHECKING:
    from engine.emulator.core import Core

_CACHE: OrderedDict[tuple[int, str], Any] = OrderedDict()
_CACHE_SIZE = 256


def _document(schema: Any, query: str) -> tuple[Any, list[GraphQLError]]:
    key = (id(schema), query)
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    try:
        document = parse(query)
        errors = list(validate(schema, document))
    except GraphQLError as exc:
        document, errors = None, [exc]
    _CACHE[key] = (document, errors)
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return document, errors


def request_facts(body: bytes) -> dict[str, Any]:
    """Operation name and root field names, for fault matching (parses only when asked)."""
    try:
        data = json.loads(body)
        document = parse(data["query"])
    except (ValueError, KeyError, TypeError, GraphQLError):
        return {"graphql_operation": None, "graphql_root_fields": []}
    name = data.get("operationName")
    fields: list[str] = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            if name is None and definition.name:
                name = definition.name.value
            fields.extend(
                sel.name.value for sel in definition.selection_set.selections if hasattr(sel, "name")
            )
    return {"graphql_operation": name, "graphql_root_fields": fields}


def run(core: Core, principal: dict[str, Any], body: bytes, fault: dict[str, Any]) -> dict[str, Any]:
    """Execute one GraphQL request body and return the response envelope (always sent with 200).

    The request's GraphQL faults (``graphql_error``, ``graphql_partial``,
    ``pagination_anomaly``) are applied to the result. A body that is not a
    JSON object with a non-empty ``query`` raises ApiError(400).
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(
            400, body={"errors": [{"message": "Malformed JSON: the body must be a JSON object"}]}
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("query"), str) or not data["query"].strip():
        raise ApiError(
            400, body={"errors": [{"message": "The request must have a non-empty 'query' string"}]}
        )
    classification = core.settings.graphql_error_classification
    if fault.get("graphql_error"):
        spec = (
            fault["graphql_error"]
            if isinstance(fault["graphql_error"], dict)
            else {"code": fault["graphql_error"]}
        )
        code = spec.get("code", "C0011E")
        message = spec.get("message") or ("Rate limit exceeded" if code == "C0011E" else "Injected error")
        return {"data": None, "errors": [coded(code, message, classification=classification)]}
    schema = schema_for(core.settings)
    document, errors = _document(schema, data["query"])
    if errors:
        return {"errors": [format_error(e, classification, default_class="ValidationError") for e in errors]}
    variables = data.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise ApiError(400, body={"errors": [{"message": "'variables' must be a JSON object"}]})
    result = execute(
        schema,
        document,
        variable_values=variables,
        operation_name=data.get("operationName"),
        context_value={"core": core, "principal": principal},
    )
    assert isinstance(result, ExecutionResult)  # every resolver is synchronous
    payload: dict[str, Any] = {}
    if result.errors and result.data is None:
        payload["errors"] = [
            format_error(e, classification, default_code="C0140E", default_class="ValidationError")
            for e in result.errors
        ]
        return payload
    payload["data"] = result.data
    if result.errors:
        payload["errors"] = [format_error(e, classification) for e in result.errors]
    if fault.get("graphql_partial"):
        _partial(payload, fault["graphql_partial"], classification)
    if fault.get("pagination_anomaly"):
        _anomaly(payload, str(fault["pagination_anomaly"]), variables or {})
    return payload


def _partial(payload: dict[str, Any], spec: Any, classification: bool) -> None:
    spec = spec if isinstance(spec, dict) else {"paths": spec}
    code = spec.get("code", "S0002E")
    paths = spec.get("paths") or [next(iter(payload.get("data") or {}), None)]
    for raw in paths:
        if raw is None:
            continue
        path = [
            int(p) if isinstance(p, str) and p.isdigit() else p
            for p in (raw.split(".") if isinstance(raw, str) else raw)
        ]
        parent: Any = payload.get("data")
        try:
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]] = None
        except (KeyError, IndexError, TypeError):
            continue
        payload.setdefault("errors", []).append(
            coded(code, "Injected partial failure", path, classification=classification)
        )


def _find_connection(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        if isinstance(value.get("edges"), list) and isinstance(value.get("pageInfo"), dict):
            return value
        for item in value.values():
            found = _find_connection(item)
            if found is not None:
                return found
    elif isinstance(value, list):
        for item in value:
            found = _find_connection(item)
            if found is not None:
                return found
    return None


def _anomaly(payload: dict[str, Any], kind: str, variables: dict[str, Any]) -> None:
    conn = _find_connection(payload.get("data"))
    if conn is None:
        return
    edges = conn["edges"]
    if kind == "empty_page_with_has_next":
        conn["edges"] = []
        conn["pageInfo"]["hasNextPage"] = True
    elif kind == "missing_cursor":
        for edge in edges:
            if isinstance(edge, dict):
                edge["cursor"] = None
    elif kind == "repeat_cursor" and edges:
        sent = next((v for k, v in variables.items() if "after" in k.lower() and isinstance(v, str)), None)
        edges[-1]["cursor"] = sent or edges[0].get("cursor")
    elif kind == "duplicate_node_ids" and edges:
        edges.insert(1, copy.deepcopy(edges[0]))
