"""Records as Fluent events (``POST /api/v4.1/event/{async|sync}``), one event per record.

```yaml
connections:
  fluent: {type: fluent, base_url: embedded}
target:
  type: fluent.event
  connection: fluent
  mode: sync
  event:
    name: OrderCancel
    entityType: ORDER
    entityRef: "{ref}"
    rootEntityType: ORDER
    rootEntityRef: "{ref}"
```

``event`` holds the event's fixed fields; any value may contain ``{path}``
placeholders read from the mapped record or ``$context``
(``"PC:MASTER:{$context.retailer_id}"``). The value at ``attributes`` (a path
in the mapped record, default ``attributes``; ``$record`` sends the whole
record) becomes the event's attributes. ``retailerId`` defaults to the
connection's retailer.

With ``group: {size: N}`` up to N consecutive records whose event fields
are the same travel as one event whose attributes are ``{records: [each
record's attributes]}`` (``group.attribute`` names the list; the SDK's bulk
product upsert is ``UPSERT_PRODUCTS`` with ``attribute: products``). The
event's outcome is each of its records' outcome: a refused or failed event
rejects every record it held, each with its own file, row and place in the
group; an unknown outcome is looked up in the event log as for one record.

Up to ``concurrency`` events are in flight. In ``sync`` mode Fluent runs the
workflow before answering: ``FAILED``, ``NO_MATCH`` and 404 make the record a
reject with its source file, row, event and Fluent's answer; a 400 (invalid
event) is a reject in both modes. An event POST whose outcome is unknown (a
timeout or 5xx after sending) is looked up in the event log before it is
sent again (see ``_eventlog``); sync events and events found there are
exactly-once, async events are at-least-once when the log lags. A run that
was killed resumes after the file's settled prefix, and the events it may
have sent are looked up the same way before they are sent
(:mod:`engine.delivery.window`).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from datetime import UTC, datetime
from typing import Any

from typing_extensions import override

from engine.contracts import Batch, Planner, RunContext
from engine.delivery.target import PooledTarget
from engine.errors import TARGET, ConfigError, DataError
from engine.http.status import RefusedError
from engine.http.templates import Missing, Template
from engine.jsonutil import non_finite
from engine.mapping.paths import PathSyntaxError, Scope, compile_getter, parse_path
from engine.secrets import excerpt
from engine.targets.fluent._eventlog import FINAL, EventLog
from engine.targets.fluent._plan import EventPlanner, retailer_of
from engine.units import duration

EVENT_FIELDS = (
    "name",
    "type",
    "entityType",
    "entitySubtype",
    "entityRef",
    "entityId",
    "rootEntityType",
    "rootEntityRef",
    "rootEntityId",
    "retailerId",
    "source",
)
_TEXT = {"type": ["string", "integer"]}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["connection", "event"],
    "properties": {
        "connection": {"type": "string", "x-connection": "fluent"},
        "event": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "entityType"],
            "description": "the event's fields; values may hold {path} placeholders over the mapped record",
            "properties": {field: {**_TEXT} for field in EVENT_FIELDS},
        },
        "attributes": {
            "type": "string",
            "default": "attributes",
            "description": "path in the mapped record of the event attributes ($record: the whole record)",
        },
        "group": {
            "type": "object",
            "additionalProperties": False,
            "required": ["size"],
            "description": "send up to size records as one event whose attributes hold their list "
            "(a bulk upsert); records go together only when their event fields are the same",
            "properties": {
                "size": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 1000,
                    "description": "records per event",
                },
                "attribute": {
                    "type": "string",
                    "minLength": 1,
                    "default": "records",
                    "description": "the event attribute holding the records' attributes, in order",
                },
            },
        },
        "mode": {
            "enum": ["async", "sync"],
            "default": "async",
            "description": "sync waits for the workflow and rejects records whose event failed",
        },
        "concurrency": {
            "type": "integer",
            "minimum": 1,
            "maximum": 64,
            "default": 4,
            "description": "events in flight at once (1 keeps the file's order)",
        },
        "reconcile": {
            "type": "object",
            "additionalProperties": False,
            "description": "how an event with an unknown outcome is looked up in the event log",
            "properties": {
                "window": duration(
                    "search the log this far before the first attempt (clock skew)", default="10m"
                ),
                "settle": duration("search again after this pause before resending", default="2s"),
            },
            "default": {"window": "10m", "settle": "2s"},
        },
    },
}


@dataclasses.dataclass
class EventOptions:
    """A validated ``target: {type: fluent.event}`` block; defaults and meanings are in :data:`SCHEMA`."""

    connection: str
    event: dict
    attributes: str
    group: dict | None
    mode: str
    concurrency: int
    reconcile: dict


class EventTarget(PooledTarget):
    """Posts one Fluent event per mapped record from a thread pool and judges each answer.

    An answer lost in transit is looked up in Fluent's event log rather than
    the event being posted twice. :meth:`open` raises :class:`ConfigError`
    when no retailer id can be found.
    """

    name = "fluent.event"
    summary = "a Fluent event per record or per group of records (async or sync), with per-record results"
    schema = SCHEMA
    Options = EventOptions

    def __init__(self, options: EventOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.fields = {k: Template(v, f"{path}.event.{k}") for k, v in options.event.items()}
        try:
            self.attributes = compile_getter(parse_path(options.attributes))
        except PathSyntaxError as exc:
            raise ConfigError(f"{path}.attributes: {exc.message}") from None
        self.search: float = options.reconcile["window"]
        self.settle: float = options.reconcile["settle"]
        self.counts = {"events": 0, "accepted": 0, "rejected": 0, "reconciled": 0}
        self.lock = threading.Lock()

    @override
    def open(self, run: RunContext) -> None:
        self.run = run
        conn = run.connection(self.options.connection)
        self.client = conn.client
        if "retailerId" not in self.fields and conn.retailer_id is None:
            self.client.auth.token(TARGET)  # the token response may name the retailer
        self.retailer_id = conn.retailer_id
        if "retailerId" not in self.fields and self.retailer_id is None:
            raise ConfigError(
                f"{self.path}: no retailer id: set event.retailerId or the connection's retailer_id"
            )
        self.eventlog = EventLog(self.client, window=self.search, settle=self.settle, log=run.log)
        concurrency = self.options.concurrency
        self.start(run, workers=concurrency, window=4 * concurrency, name="fluent-event")

    @override
    def planner(self, run: RunContext) -> Planner:
        """Each record's event as :meth:`build` makes it; the retailer is the connection's (or a placeholder)."""
        self.run = run
        if "retailerId" not in self.fields:
            self.retailer_id = retailer_of(run, self.options.connection, None)
        return EventPlanner(self)

    def build(self, record: dict[str, Any]) -> dict[str, Any]:
        """The event for one mapped record (a DataError when a placeholder has no value)."""
        context = self.run.context
        try:
            event: dict[str, Any] = {k: t.render(record, context) for k, t in self.fields.items()}
        except Missing as exc:
            raise exc.data_error() from None
        if "retailerId" not in event:
            event["retailerId"] = self.retailer_id
        attributes = self.attributes(record, Scope(root=record, context=context))
        if attributes is not None:
            if not isinstance(attributes, dict | list):
                raise DataError(
                    f"{self.path}.attributes: expected an object at {self.options.attributes!r}, "
                    f"got {type(attributes).__name__}",
                    field="attributes",
                )
            event["attributes"] = attributes
        bad = non_finite(event)
        if bad is not None:  # JSON has no NaN: refused here, never sent as null
            raise DataError(bad.reason, field=bad.path or None)
        return event

    @override
    def parts_refused(self) -> str | None:
        """Each event is sent and settled on its own: a file's parts may go from several workers at once."""
        return None

    @override
    def write(self, batch: Batch) -> None:
        group = self.options.group
        members: list[int] = []
        parts: list[Any] = []
        envelope: dict[str, Any] | None = None
        for i in range(len(batch.records)):
            try:
                event = self.build(batch.records[i])
            except DataError as exc:
                self._count("rejected")
                self.run.outcomes.rejected(batch, i, exc.message, field=exc.field)
                continue
            if group is None:
                self._submit(batch, [i], event)
                continue
            fields = {k: v for k, v in event.items() if k != "attributes"}
            if members and (fields != envelope or len(members) >= group["size"]):
                self._submit(batch, members, self._grouped(envelope, parts))
                members, parts = [], []
            envelope = fields
            members.append(i)
            parts.append(event.get("attributes"))
        if members:
            self._submit(batch, members, self._grouped(envelope, parts))

    def _grouped(self, envelope: dict[str, Any] | None, parts: list[Any]) -> dict[str, Any]:
        """One event for a group: the shared fields, and the records' attributes as one list attribute."""
        assert envelope is not None and self.options.group is not None
        return {**envelope, "attributes": {self.options.group.get("attribute", "records"): parts}}

    def _submit(self, batch: Batch, members: list[int], event: dict[str, Any]) -> None:
        doubts = [d for d in (self.window.doubt(batch, i) for i in members) if d is not None]
        doubt = min(doubts) if doubts else None
        self.submit(
            batch.chunk.item,
            [(batch, i) for i in members],
            functools.partial(self._send, batch, members, event, doubt),
        )

    def _count(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n

    def _send(self, batch: Batch, members: list[int], event: dict[str, Any], doubt: datetime | None) -> None:
        """Send one event and settle its records (a doubtful one is looked up in the log first)."""
        answer = self._reconcile(event, doubt) if doubt is not None else None
        if answer is None:
            answer = self._post(batch, members, event)
        if answer is not None:
            self._judge(batch, members, event, answer)
        for i in members:
            self.window.settled(batch, i)

    def _post(self, batch: Batch, members: list[int], event: dict[str, Any]) -> dict[str, Any] | None:
        sent_at = datetime.now(UTC)
        self._count("events")
        try:
            answer = self.client.write(
                f"api/v4.1/event/{self.options.mode}",
                event,
                reconcile=lambda: self._reconcile(event, sent_at),
            )
        except RefusedError as exc:
            what = "no workflow rule matched the event" if exc.status == 404 else "Fluent refused the event"
            self._reject(
                batch,
                members,
                f"{what} ({exc.status}): {excerpt(exc.body, 300)}",
                {"status": exc.status, "body": exc.body},
                event,
            )
            return None
        return answer if isinstance(answer, dict) else {}

    def _judge(self, batch: Batch, members: list[int], event: dict[str, Any], answer: dict[str, Any]) -> None:
        mode = self.options.mode
        self.eventlog.claim(answer.get("eventId") or answer.get("id"))
        status = str(answer.get("eventStatus") or answer.get("status") or "").upper()
        if mode == "sync" and status in ("FAILED", "NO_MATCH"):
            message = answer.get("message") or (
                "no workflow rule matched the event" if status == "NO_MATCH" else "the workflow failed"
            )
            self._reject(batch, members, f"event {status}: {message}", answer, event)
            return
        self._count("accepted", len(members))
        self.run.outcomes.accepted_count(len(members), batch.chunk.item)
        for i in members:
            self.run.outcomes.answered(batch, i, _outcome(answer))

    @override
    def answer_fields(self) -> list[str] | None:
        """The event's outcome: its id and status (``sync``: the workflow's final status), as sent back."""
        return list(OUTCOME_FIELDS)

    def _reject(
        self, batch: Batch, members: list[int], reason: str, response: dict[str, Any], event: dict[str, Any]
    ) -> None:
        """Reject every record of the event, each with its own lineage (and its place in a group)."""
        self._count("rejected", len(members))
        if self.options.group is None:
            [i] = members
            self.run.outcomes.rejected(batch, i, reason, response={**response, "event": event})
            return
        shared = {k: v for k, v in event.items() if k != "attributes"}
        for n, i in enumerate(members, 1):
            where = f" (record {n} of {len(members)} in one grouped event)"
            self.run.outcomes.rejected(
                batch,
                i,
                reason + where,
                response={**response, "event": shared, "group": {"size": len(members), "position": n}},
            )

    def _reconcile(self, event: dict[str, Any], sent_at: datetime) -> dict[str, Any] | None:
        entry = self.eventlog.find(event, sent_at)
        if entry is None:
            return None
        self._count("reconciled")
        status = str(entry.get("eventStatus") or "").upper()
        if status not in FINAL:
            self.run.log.info(
                "event found in the log, outcome still pending",
                event=event["name"],
                id=entry.get("id"),
                status=status,
            )
        answer: dict[str, Any] = {
            "eventId": entry.get("id"),
            "eventStatus": status or None,
            "reconciled": True,
        }
        if status == "FAILED":
            answer["message"] = "the workflow failed (from the event log)"
        return answer

    def stats(self) -> dict[str, Any]:
        """Counters for the run report: events, accepted, rejected, reconciled, and the client's requests and retries."""
        out: dict[str, Any] = dict(self.counts)
        client = getattr(self, "client", None)
        if client is not None:
            out.update(requests=client.stats["requests"], retries=client.stats["retries"])
        return out


#: what an event's answer holds (``$steps.NAME.answer.id`` ...): Fluent's own fields and plain names for them
OUTCOME_FIELDS = ("id", "status", "reconciled", "eventId", "eventStatus", "message")


def _outcome(answer: dict[str, Any]) -> dict[str, Any]:
    """An event's answer as later steps and webhook answers read it: Fluent's fields plus ``{id, status, reconciled}``."""
    return {
        **answer,
        "id": answer.get("eventId") or answer.get("id"),
        "status": str(answer.get("eventStatus") or answer.get("status") or "").upper() or None,
        "reconciled": bool(answer.get("reconciled")),
    }
