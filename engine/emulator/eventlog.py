"""The event log (``GET /api/v4.1/event``): entries, batch audit entries and search.

Entries take the shape captured from a live environment: ``context`` holds entity and root
entity, ``attributes`` is null or ``[{name, type, value}]`` and ``generatedOn`` is an ISO instant
with a ``+00:00`` offset. Both API events and the audit trail of batch processing land here, so
connectors can reconcile batches through the log as the SDK's docs suggest.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from engine.emulator.clock import iso, parse_instant
from engine.emulator.entities import attributes_list
from engine.emulator.responses import ApiError
from engine.emulator.store import Row

if TYPE_CHECKING:
    from engine.emulator.core import Core

FILTERS = ("name", "category", "retailerId", "eventStatus")
CONTEXT_FILTERS = ("rootEntityType", "rootEntityId", "rootEntityRef", "entityType", "entityId", "entityRef")


def log_time(stored: str) -> str:
    """The log's timestamp form: ``...895+00:00`` (fixed width, so it sorts as text)."""
    return stored[:-1] + "+00:00"


def add(
    core: Core,
    *,
    name: str | None,
    event_type: str,
    retailer_id: str | None,
    context: dict[str, Any],
    status: str,
    category: str | None = None,
    attributes: Any = None,
    source: Any = None,
    generated_by: str = "Rubix User",
    event_id: str | None = None,
) -> Row:
    """Append an entry to the log, stamped with the emulator time, and return it.

    ``context`` names the entity and root entity; its ``sourceEvents`` (if
    any) is moved to the front, as the live log orders it. A fresh
    deterministic uuid is used unless ``event_id`` is given.
    """
    entry = {
        "id": event_id or core.store.next_uuid(),
        "name": name,
        "type": event_type,
        "accountId": core.account_id(retailer_id),
        "retailerId": retailer_id,
        "category": category,
        "context": {"sourceEvents": context.pop("sourceEvents", []), **context},
        "eventStatus": status,
        "attributes": attributes_list(attributes) or None,
        "source": source,
        "generatedBy": generated_by,
        "generatedOn": log_time(core.clock.now_iso()),
    }
    core.store.events[entry["id"]] = entry
    return entry


def batch_audit(core: Core, job: Row, batch: Row) -> None:
    """Log a completed batch: one BATCH_COMPLETE entry, and a BATCH_ENTITY_FAILED entry per failed record.

    The failures point at the BATCH_COMPLETE entry through ``context.sourceEvents``.
    """
    context = {
        "entityType": "BATCH",
        "entityId": batch["id"],
        "entityRef": batch["id"],
        "rootEntityType": "JOB",
        "rootEntityId": job["id"],
        "rootEntityRef": job["id"],
    }
    rid = job["retailerId"]
    completed = add(
        core,
        name="BATCH_COMPLETE",
        event_type="ORCHESTRATION_AUDIT",
        retailer_id=rid,
        context=dict(context),
        status="COMPLETE",
        category="BATCH",
        attributes=batch["summary"],
    )
    for failure in batch["results"]:
        add(
            core,
            name="BATCH_ENTITY_FAILED",
            event_type="ORCHESTRATION_AUDIT",
            retailer_id=rid,
            context={**context, "sourceEvents": [completed["id"]]},
            status="FAILED",
            category="BATCH",
            attributes=failure,
        )


def _int_param(params: dict[str, str], key: str, default: int) -> int:
    if key not in params or params[key] == "":
        return default
    try:
        return int(params[key])
    except ValueError:
        raise ApiError(400, f"{key}: expected an integer, got {params[key]!r}") from None


def _instant_param(params: dict[str, str], key: str) -> Any:
    if not params.get(key):
        return None
    try:
        return parse_instant(params[key])
    except ValueError:
        raise ApiError(400, f"{key}: expected an ISO-8601 date-time, got {params[key]!r}") from None


def search(core: Core, principal: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
    """Answer ``GET /api/v4.1/event``: the caller's entries matching the query, newest first.

    Without ``from`` the window is the last ``event_window_days``; entries of
    retailers the caller's token does not cover are never shown. Paged by
    ``start``/``count`` (1..5000); bad parameters raise ApiError(400).
    """
    settings = core.settings
    start = _int_param(params, "start", 0)
    count = _int_param(params, "count", 100)
    if count < 1 or count > 5000:
        raise ApiError(400, f"count: must be between 1 and 5000, got {count}")
    if start < 0:
        raise ApiError(400, f"start: must not be negative, got {start}")
    now = core.clock.now()
    since, until = _instant_param(params, "from"), _instant_param(params, "to")
    if since is not None and since < now - timedelta(days=settings.event_max_past_days):
        raise ApiError(400, f"from: must be within the last {settings.event_max_past_days} days")
    if until is not None and until > now + timedelta(days=settings.event_max_future_days):
        raise ApiError(400, f"to: must be at most {settings.event_max_future_days} days ahead")
    low = log_time(iso(since if since is not None else now - timedelta(days=settings.event_window_days)))
    high = log_time(iso(until if until is not None else now))
    wanted = {k: params[k] for k in FILTERS if params.get(k)}
    if params.get("eventType"):
        wanted["type"] = params["eventType"]
    if params.get("eventId"):
        wanted["id"] = params["eventId"]
    context = {k: params[f"context.{k}"] for k in CONTEXT_FILTERS if params.get(f"context.{k}")}
    source_event = params.get("context.sourceEvents")
    allowed = principal["retailerIds"]
    matched = []
    for entry in reversed(core.store.events.values()):
        if not low <= entry["generatedOn"] <= high:
            continue
        if entry["retailerId"] is not None and entry["retailerId"] not in allowed:
            continue
        if any(str(entry.get(k)) != v for k, v in wanted.items()):
            continue
        ctx = entry["context"] or {}
        if any(str(ctx.get(k)) != v for k, v in context.items()):
            continue
        if source_event and source_event not in (ctx.get("sourceEvents") or []):
            continue
        matched.append(entry)
    matched.sort(key=lambda e: e["generatedOn"], reverse=True)
    page = matched[start : start + count]
    return {"start": start, "count": len(page), "hasMore": start + len(page) < len(matched), "results": page}


def get(core: Core, principal: dict[str, Any], event_id: str) -> Row:
    """One entry by id; another retailer's entry is reported missing, like an unknown id.

    Raises ApiError with the ``event_not_found_status`` setting's status.
    """
    entry = core.store.events.get(event_id)
    if entry is None or (
        entry["retailerId"] is not None and entry["retailerId"] not in principal["retailerIds"]
    ):
        raise ApiError(core.settings.event_not_found_status, f"Event {event_id} not found")
    return entry
