"""The control API under ``/_emulator/``.

It covers faults, the request log, the clock, reset, seed, state, tick,
settings and webhooks.

Each operation is a plain function on the core, so the HTTP routes and the Python ``Emulator``
methods share one implementation. Control routes need no token and are never logged or faulted.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.emulator import seed
from engine.emulator.faults import FaultError
from engine.emulator.responses import ApiError, json_response, parse_json
from engine.emulator.settings import SettingsError
from engine.emulator.store import TABLES
from engine.suggest import did_you_mean

if TYPE_CHECKING:
    from engine.emulator.core import Core

ALIASES = {
    "inventoryPositions": "inventory_positions",
    "inventoryQuantities": "inventory_quantities",
    "virtualPositions": "virtual_positions",
    "orderItems": "order_items",
    "fulfilmentItems": "fulfilment_items",
    "positions": "inventory_positions",
    "controlGroups": "control_groups",
    "returnOrders": "return_orders",
    "returnOrderItems": "return_order_items",
    "financialTransactions": "financial_transactions",
}
SPECIAL = ("accounts", "tokens", "events", "event_rules", "webhooks", "faults", "settings", "clock")


# --- operations (shared with the Python API) -------------------------------------------


def add_faults(core: Core, payload: Any) -> list[dict[str, Any]]:
    """Add one rule, a list of rules, or ``{rules: [...]}``; returns the rules as stored (with ids).

    Raises FaultError on the first malformed rule; the rules before it stay added.
    """
    rules = payload.get("rules") if isinstance(payload, dict) and "rules" in payload else payload
    rules = rules if isinstance(rules, list) else [rules]
    added = []
    for rule in rules:
        core.faults.add(rule)
        added.append(core.faults.public()[-1])
    return added


def clock(core: Core) -> dict[str, Any]:
    """The emulator's time and how far (in seconds) it is from the wall clock."""
    return {"now": core.clock.now_iso(), "offset_seconds": core.clock.offset}


def move_clock(core: Core, payload: dict[str, Any]) -> dict[str, Any]:
    """Set or advance the clock, run the work that became due, and return the new :func:`clock`.

    Raises ValueError when ``payload`` has neither ``set`` nor ``advance_seconds``.
    """
    if payload.get("set"):
        core.clock.set(str(payload["set"]))
        core.process_due()
    elif "advance_seconds" in payload:
        core.advance(float(payload["advance_seconds"]))
    else:
        raise ValueError("expected {advance_seconds: N} or {set: ISO-instant}")
    return clock(core)


def state(core: Core, entity: str, filters: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The rows of one table (or of tokens, events, faults, settings ...), for tests to inspect.

    Due work is processed first, so the answer reflects the current emulator time.
    ``filters`` keep rows whose field equals the value as a string; ``limit``
    among them caps the count. Internal fields (``_``-prefixed) are left out.
    Raises KeyError for an unknown entity, with a suggestion.
    """
    core.process_due()
    name = ALIASES.get(entity, entity)
    if name in TABLES:
        rows = list(core.store.table(name))
    elif name == "accounts":
        rows = list(core.store.accounts.values())
    elif name == "tokens":
        rows = [
            {"access_token": k, **v, "retailerIds": sorted(v["retailerIds"])}
            for k, v in core.store.tokens.items()
        ]
    elif name == "events":
        rows = list(core.store.events.values())
    elif name == "event_rules":
        rows = list(core.store.event_rules.values())
    elif name == "webhooks":
        rows = list(core.store.webhooks)
    elif name == "faults":
        rows = core.faults.public()
    elif name == "settings":
        return [core.settings.as_dict()]
    elif name == "clock":
        return [clock(core)]
    else:
        known = [*TABLES, *ALIASES, *SPECIAL]
        raise KeyError(f"unknown entity {entity!r}{did_you_mean(entity, known)}")
    filters = dict(filters or {})
    limit = int(filters.pop("limit", 0) or 0)
    out = []
    for row in rows:
        if all(str(row.get(k)) == v for k, v in filters.items()):
            out.append({k: v for k, v in row.items() if not k.startswith("_")})
    return out[:limit] if limit else out


def load_seed(core: Core, payload: Any, merge: bool = False) -> dict[str, Any]:
    """Load a seed given as YAML text or parsed data, replacing the state unless ``merge``.

    Returns the new table counts; raises SeedError for an invalid seed.
    """
    data = seed.parse_text(payload) if isinstance(payload, str) else seed.read(payload)
    core.load_seed(data, merge=merge)
    return {"loaded": True, "merge": merge, "counts": counts(core)}


def counts(core: Core) -> dict[str, int]:
    """Rows per table, and the number of events."""
    return {name: len(core.store.table(name)) for name in TABLES} | {"events": len(core.store.events)}


async def send_webhook(core: Core, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Deliver ``payload["event"]`` now, to ``payload["url"]`` or else every registered webhook.

    ``payload["fault"]`` names a delivery fault to apply. Returns one delivery
    result per URL; raises ValueError without an event or anywhere to send it.
    """
    event = payload.get("event")
    if not isinstance(event, dict):
        raise ValueError("event: required, the JSON object to deliver")
    urls = [payload["url"]] if payload.get("url") else [w["url"] for w in core.store.webhooks]
    if not urls:
        raise ValueError("no url given and no webhook registered")
    return [await core.webhooks.deliver(url, event, payload.get("fault")) for url in urls]


# --- HTTP routes ------------------------------------------------------------------------


def _route(core: Core, path: str, method: str, handler: Callable[..., Any]) -> Route:
    async def endpoint(request: Request) -> Response:
        try:
            result = handler(core, request, await _payload(request))
            if inspect.isawaitable(result):
                result = await result
            return json_response(result)
        except ApiError as exc:
            return exc.response()
        except (FaultError, SettingsError, seed.SeedError, ValueError, KeyError, TypeError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            return json_response({"errors": [{"code": "400", "message": message}]}, 400)

    return Route(path, endpoint, methods=[method])


async def _payload(request: Request) -> Any:
    body = await request.body()
    if not body.strip():
        return {}
    if "yaml" in request.headers.get("content-type", "") or request.url.path.endswith("/seed"):
        text = body.decode("utf-8")
        return text if not text.lstrip().startswith(("{", "[")) else parse_json(body)
    return parse_json(body)


def routes(core: Core) -> list[Route]:
    """The Starlette routes of the control API, each answering JSON (errors as 400/404 bodies)."""

    def reset(c: Any, r: Request, p: Any) -> dict[str, Any]:
        c.reset()
        return {"reset": True, "counts": counts(c)}

    def clear_faults(c: Any, r: Request, p: Any) -> dict[str, Any]:
        c.faults.clear()
        return {"cleared": True}

    def remove_fault(c: Any, r: Request, p: Any) -> dict[str, Any]:
        if not c.faults.remove(r.path_params["rule_id"]):
            raise ApiError(404, f"No fault rule {r.path_params['rule_id']}")
        return {"removed": r.path_params["rule_id"]}

    def clear_requests(c: Any, r: Request, p: Any) -> dict[str, Any]:
        c.log.clear()
        return {"cleared": True}

    def configure(c: Any, r: Request, p: Any) -> dict[str, Any]:
        c.configure(p)
        return c.settings.as_dict()

    def seed_route(c: Any, r: Request, p: Any) -> dict[str, Any]:
        return load_seed(c, p, merge=r.query_params.get("merge") in ("1", "true"))

    def clear_webhooks(c: Any, r: Request, p: Any) -> dict[str, Any]:
        c.store.webhooks.clear()
        return {"cleared": True}

    table: list[tuple[str, str, Callable[..., Any]]] = [
        ("/_emulator/faults", "GET", lambda c, r, p: c.faults.public()),
        ("/_emulator/faults", "POST", lambda c, r, p: add_faults(c, p)),
        ("/_emulator/faults", "DELETE", clear_faults),
        ("/_emulator/faults/{rule_id}", "DELETE", remove_fault),
        ("/_emulator/requests", "GET", lambda c, r, p: c.log.query(dict(r.query_params))),
        ("/_emulator/requests", "DELETE", clear_requests),
        ("/_emulator/clock", "GET", lambda c, r, p: clock(c)),
        ("/_emulator/clock", "POST", lambda c, r, p: move_clock(c, p)),
        ("/_emulator/reset", "POST", reset),
        ("/_emulator/seed", "POST", seed_route),
        (
            "/_emulator/state/{entity}",
            "GET",
            lambda c, r, p: state(c, r.path_params["entity"], dict(r.query_params)),
        ),
        ("/_emulator/tick", "POST", lambda c, r, p: c.tick()),
        ("/_emulator/settings", "GET", lambda c, r, p: c.settings.as_dict()),
        ("/_emulator/settings", "POST", configure),
        ("/_emulator/webhooks", "GET", lambda c, r, p: list(c.store.webhooks)),
        ("/_emulator/webhooks", "POST", lambda c, r, p: c.webhooks.register(p)),
        ("/_emulator/webhooks", "DELETE", clear_webhooks),
        ("/_emulator/webhooks/send", "POST", lambda c, r, p: send_webhook(c, p)),
        ("/_emulator/webhooks/public-key", "GET", lambda c, r, p: c.webhooks.public_key()),
    ]
    return [_route(core, path, method, handler) for path, method, handler in table]
