"""What the Fluent targets would send, request by request, for ``engine run --plan``.

The planners group records exactly as the targets do and build bodies with
the targets' own functions (:func:`job_body`, :func:`batch_body`, the
GraphQL merger, the event builder), so a plan is the run's requests less the
answers: ids the server would assign are placeholders (``{job 1}``).
"""

from __future__ import annotations

from typing import Any

from engine.contracts import Batch, Item, PlannedRequest, Planner, RunContext
from engine.errors import DataError
from engine.targets.fluent._batches import batch_body
from engine.targets.fluent._graphql import Merger
from engine.targets.fluent._jobs import job_body
from engine.targets.fluent._mutations import lookup_text, values_of

#: the headers every Fluent request carries, the token redacted
HEADERS = {"Authorization": "Bearer ***", "Content-Type": "application/json"}


def retailer_of(run: RunContext, connection: str, configured: str | None) -> str:
    """The retailer the target would use: its option, else the connection's, else a placeholder."""
    if configured is not None:
        return str(configured)
    known = run.connection(connection).retailer_id  # opening the connection sends nothing
    return str(known) if known is not None else "{retailer from the token}"


class BatchPlanner(Planner):
    """Jobs by strategy and batches of ``batch_size`` per file, as ``fluent.batch`` sends them."""

    def __init__(self, target: Any, run: RunContext) -> None:
        self.target = target
        self.run = run
        self.retailer = retailer_of(run, target.options.connection, target.options.retailer_id)
        self.jobs: dict[str, str] = {}
        self.buffers: dict[str, list[dict[str, Any]]] = {}
        self.batches = 0

    def write(self, batch: Batch) -> list[PlannedRequest]:
        """Full batches of the file so far (the rest waits for more records or the file's end)."""
        o = self.target.options
        item = batch.chunk.item
        buf = self.buffers.setdefault(item.uri, [])
        out: list[PlannedRequest] = []
        for record in batch.records:
            buf.append(self._entity(dict(record)))
            if len(buf) >= o.batch_size:
                out += self._batch(item, buf)
                buf = self.buffers[item.uri] = []
        return out

    def finish_item(self, item: Item) -> list[PlannedRequest]:
        """The file's last, partial batch."""
        buf = self.buffers.pop(item.uri, None)
        return self._batch(item, buf) if buf else []

    def _entity(self, record: dict[str, Any]) -> dict[str, Any]:
        if self.target.options.add_retailer_id and "retailerId" not in record:
            record["retailerId"] = int(self.retailer) if self.retailer.isdigit() else self.retailer
        return record

    def _batch(self, item: Item, entities: list[dict[str, Any]]) -> list[PlannedRequest]:
        out: list[PlannedRequest] = []
        strategy = self.target.strategy
        key = item.uri if strategy == "per_file" else "run"
        job = self.jobs.get(key)
        if job is None:
            job = self.jobs[key] = f"{{job {len(self.jobs) + 1}}}"
            note = " (unless today's job is stored in the state)" if strategy == "daily" else ""
            body = job_body(self.run, item, self.target.job_name, self.retailer, self.target.job_meta)
            out.append(PlannedRequest("POST", "/api/v4.1/job", body, HEADERS, f"job {job}{note}"))
        self.batches += 1
        body = batch_body(self.target.options, entities)
        group = f"batch {self.batches} ({len(entities)} entities, {item.name}) into {job}"
        out.append(PlannedRequest("POST", f"/api/v4.1/job/{job}/batch", body, HEADERS, group))
        return out


class GraphqlPlanner(Planner):
    """Aliased mutations per request (a lookup first with ``upsert``), as ``fluent.graphql`` sends them."""

    def __init__(self, target: Any) -> None:
        assert target.create is not None
        self.target = target
        self.merger = Merger(f"engine_{target.create.label}")
        self.variables = "record" if target.options.document else "input"
        self.requests = 0

    def write(self, batch: Batch) -> list[PlannedRequest]:
        """One request per group of records (and its lookup), grouped by the target's own rule."""
        out: list[PlannedRequest] = []
        upsert = self.target.upsert
        for group, _keys in self.target.groups(batch):
            self.requests += 1
            n = self.requests
            if upsert is not None:
                lookup = {"query": lookup_text(upsert, group)}
                what = (
                    f"request {n}: looks up {len(group)} record(s) by {upsert.argument} with {upsert.lookup}"
                )
                out.append(PlannedRequest("POST", "/graphql", lookup, HEADERS, what))
            merged = self.merger.merge([self.target.create] * len(group))
            values = [values_of(rec, self.variables, upsert) for rec in group]
            body = {"query": merged.text, "variables": merged.variables(values)}
            what = f"request {n}: {len(group)} aliased {self.target.create.label}"
            if upsert is not None:
                what += f" (those the lookup finds go as {upsert.update.label} with their id)"
            out.append(PlannedRequest("POST", "/graphql", body, HEADERS, what))
        return out


class EventPlanner(Planner):
    """One event per record, as ``fluent.event`` builds and posts it."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.events = 0

    def write(self, batch: Batch) -> list[PlannedRequest]:
        """Each record's event (a record whose event cannot be built is rejected, as in a run)."""
        out: list[PlannedRequest] = []
        path = f"/api/v4.1/event/{self.target.options.mode}"
        for i, record in enumerate(batch.records):
            try:
                event = self.target.build(record)
            except DataError as exc:
                self.target.run.outcomes.rejected(batch, i, exc.message, field=exc.field)
                continue
            self.events += 1
            out.append(
                PlannedRequest("POST", path, event, HEADERS, f"event {self.events}: {event.get('name')}")
            )
        return out
