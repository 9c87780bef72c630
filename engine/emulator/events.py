"""Event API: ``POST /api/v4.1/event/{async|sync}`` routed to workflow handlers.

Outcomes follow live observations where they exist (async accepted with HTTP 200 and no id;
unknown event name rejected with 400; sync on an unknown entity answered 404 "No workflow rule
matched this event") and settings where the evidence conflicts (``event_async_body``,
``strict_event_names``, ``sync_no_match``). Faults ``event_no_match`` and ``event_status`` force
an outcome without touching state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.emulator import eventlog
from engine.emulator.handlers import HANDLERS
from engine.emulator.responses import ApiError
from engine.emulator.store import Row
from engine.emulator.workflows import HandlerFailed, NoMatch

if TYPE_CHECKING:
    from engine.emulator.core import Core

NO_MATCH_MESSAGE = "No workflow rule matched this event"


def _validate(core: Core, principal: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    missing = [k for k in ("name", "entityType", "retailerId") if body.get(k) in (None, "")]
    if missing:
        raise ApiError(400, *(f"{k}: required" for k in missing))
    attrs = body.get("attributes")
    if attrs is None:
        attrs = {}
    elif isinstance(attrs, list):
        if not all(isinstance(a, dict) and "name" in a for a in attrs):
            raise ApiError(400, "attributes: expected an object or a list of {name, type, value}")
        attrs = {a["name"]: a.get("value") for a in attrs}
    elif not isinstance(attrs, dict):
        raise ApiError(400, "attributes: expected an object or a list of {name, type, value}")
    rid = str(body["retailerId"])
    if core.store.retailers.get(rid) is None:
        raise ApiError(400, f"retailerId: retailer {rid} does not exist")
    core.require_retailer(principal, rid)
    return attrs


def rule_for(core: Core, body: dict[str, Any]) -> Row | None:
    """The workflow rule for the event's name and entity type, else its name's ``*`` rule, else None."""
    rules = core.store.event_rules
    return rules.get((body["name"], body["entityType"])) or rules.get((body["name"], "*"))


def receive(
    core: Core, principal: dict[str, Any], body: dict[str, Any], mode: str, fault: dict[str, Any]
) -> tuple[int, Any]:
    """Accept one event; answer (status, body) where body None means an empty response."""
    attrs = _validate(core, principal, body)
    rule = rule_for(core, body)
    if rule is None and mode == "async" and core.settings.strict_event_names:
        raise ApiError(400, "Bad Request")
    context = {
        k: body.get(k)
        for k in (
            "entityType",
            "entityId",
            "entityRef",
            "entitySubtype",
            "rootEntityType",
            "rootEntityId",
            "rootEntityRef",
        )
    }
    entry = eventlog.add(
        core,
        name=body["name"],
        event_type=body.get("type") or "NORMAL",
        retailer_id=str(body["retailerId"]),
        context=context,
        status="PENDING",
        attributes=body.get("attributes"),
        source=body.get("source"),
        generated_by=principal["name"],
    )
    entry["_event"] = {
        "body": body,
        "attrs": attrs,
        "fault": {k: fault[k] for k in ("event_no_match", "event_status") if k in fault},
    }
    if mode == "async":
        delay = core.settings.event_delay_seconds
        if delay > 0:
            entry["_due"] = core.clock.timestamp() + delay
            core.pending_events.append(entry["id"])
        else:
            handle(core, entry)
        if core.settings.event_async_body == "id":
            return 200, {"id": entry["id"]}
        return 200, None
    handle(core, entry)
    status = entry["eventStatus"]
    if status == "NO_MATCH" and core.settings.sync_no_match == "404":
        return 404, {"message": NO_MATCH_MESSAGE}
    answer = {"eventId": entry["id"], "eventStatus": status}
    if entry.get("_message"):
        answer["message"] = entry["_message"]
    return 200, answer


def handle(core: Core, entry: Row) -> None:
    """Run the workflow for a received event and record its outcome on the log entry."""
    work = entry.pop("_event")
    body, attrs, fault = work["body"], work["attrs"], work["fault"]
    rule = rule_for(core, body)
    if fault.get("event_no_match") or rule is None:
        entry["eventStatus"] = "NO_MATCH"
    elif fault.get("event_status"):
        entry["eventStatus"] = str(fault["event_status"])
        if entry["eventStatus"] == "FAILED":
            entry["_message"] = "Injected failure (event_status fault)"
    else:
        try:
            HANDLERS[rule["handler"]](core, body, attrs, rule)
            entry["eventStatus"] = "COMPLETE"
        except NoMatch:
            entry["eventStatus"] = "NO_MATCH"
        except HandlerFailed as exc:
            entry["eventStatus"] = "FAILED"
            entry["_message"] = str(exc)
    core.webhooks.event_handled(entry, body)


def process_due(core: Core) -> None:
    """Handle async events whose ``event_delay_seconds`` has passed on the emulator clock."""
    if not core.pending_events:
        return
    now = core.clock.timestamp()
    waiting = []
    for event_id in core.pending_events:
        entry = core.store.events.get(event_id)
        if entry is None or "_event" not in entry:
            continue
        if entry["_due"] <= now:
            handle(core, entry)
        else:
            waiting.append(event_id)
    core.pending_events = waiting


def run_all(core: Core) -> int:
    """Handle every pending async event now (a tick)."""
    count = 0
    for event_id in core.pending_events:
        entry = core.store.events.get(event_id)
        if entry is not None and "_event" in entry:
            handle(core, entry)
            count += 1
    core.pending_events = []
    return count
