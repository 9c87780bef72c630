"""Did an event arrive? Fluent's event log decides, before anything is resent.

An event POST that timed out or got a 5xx may have been applied. Fluent
gives events no idempotency key, so the engine searches the event log
(``GET /api/v4.1/event`` by name, entity and time) for an entry equal to the
event it sent: same name, entity and root entity, retailer and attributes.
An entry found is claimed, so two identical ambiguous events cannot both be
settled by one entry, and the event is not sent again.

What this cannot decide: an async event accepted by Fluent but not yet
written to its log when the search runs. The search is repeated once after
``settle``; if the entry appears later still, the resent event is a
duplicate. That is why async events are at-least-once (docs/fluent.md).
An identical event sent earlier in the same window (the same row twice in a
file) also counts as "arrived": its effect is the same.
"""

from __future__ import annotations

import collections
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.errors import TARGET
from engine.fluent.client import FluentClient
from engine.jsonutil import dumps

CONTEXT_KEYS = ("entityType", "entityRef", "entityId", "rootEntityType", "rootEntityRef", "rootEntityId")
FINAL = {"COMPLETE", "SUCCESS", "FAILED", "NO_MATCH"}
MAX_PAGES = 20


def log_time(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _attributes(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {str(a.get("name")): a.get("value") for a in value if isinstance(a, dict)}
    return {}


def _same_value(a: Any, b: Any) -> bool:
    if a == b:
        return True
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return dumps(a) == dumps(b)
    return str(a) == str(b)  # logs may hold values as text


def same_event(entry: dict[str, Any], event: dict[str, Any]) -> bool:
    if entry.get("name") != event.get("name"):
        return False
    if event.get("retailerId") is not None and str(entry.get("retailerId")) != str(event["retailerId"]):
        return False
    context = entry.get("context") or {}
    for key in CONTEXT_KEYS:
        if event.get(key) not in (None, "") and str(context.get(key)) != str(event[key]):
            return False
    sent, logged = _attributes(event.get("attributes")), _attributes(entry.get("attributes"))
    if sent.keys() != logged.keys():
        return False
    return all(_same_value(sent[k], logged[k]) for k in sent)


class EventLog:
    """Searches the log for sent events; remembers which entries are already accounted for."""

    def __init__(self, client: FluentClient, *, window: float, settle: float, log: Any) -> None:
        self.client = client
        self.window = window
        self.settle = settle
        self.log = log
        #: log entries already accounted for, oldest first (forgotten once older than the window)
        self.claimed: collections.OrderedDict[str, float] = collections.OrderedDict()
        self.lock = threading.Lock()

    def claim(self, event_id: Any) -> None:
        if event_id:
            with self.lock:
                self._claim(str(event_id))

    def _claim(self, event_id: str) -> None:
        now = time.monotonic()
        self.claimed[event_id] = now
        self.claimed.move_to_end(event_id)
        while self.claimed and now - next(iter(self.claimed.values())) > self.window + 60:
            self.claimed.popitem(last=False)

    def find(self, event: dict[str, Any], sent_at: datetime) -> dict[str, Any] | None:
        """The log entry of ``event`` (sent first at ``sent_at``), or None when it is not there."""
        for attempt in range(2):
            with self.lock:
                entry = self._search(event, sent_at)
                if entry is not None:
                    self._claim(str(entry.get("id")))
                    return entry
            if attempt == 0 and self.settle > 0:
                time.sleep(self.settle)
        return None

    def _search(self, event: dict[str, Any], sent_at: datetime) -> dict[str, Any] | None:
        params: dict[str, Any] = {
            "name": event["name"],
            "from": log_time(sent_at - timedelta(seconds=self.window)),
            "count": 1000,
            "start": 0,
        }
        for key in ("entityType", "entityRef", "rootEntityRef"):
            if event.get(key) not in (None, ""):
                params[f"context.{key}"] = str(event[key])
        if event.get("retailerId") is not None:
            params["retailerId"] = str(event["retailerId"])
        for _ in range(MAX_PAGES):
            page = self.client.get("api/v4.1/event", params, phase=TARGET)
            results = page.get("results") or [] if isinstance(page, dict) else []
            for entry in results:
                if (
                    isinstance(entry, dict)
                    and str(entry.get("id")) not in self.claimed
                    and same_event(entry, event)
                ):
                    return entry
            if not results or not page.get("hasMore"):
                return None
            params["start"] += len(results)
        self.log.warning(
            "event log search stopped after many pages; treating the event as not arrived",
            event=event.get("name"),
            entity=event.get("entityRef"),
        )
        return None
