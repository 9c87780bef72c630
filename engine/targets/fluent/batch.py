"""Inventory into Fluent's Batch API: jobs, batches, polling, per-entity rejects.

```yaml
connections:
  fluent: {type: fluent, base_url: embedded}
target:
  type: fluent.batch
  connection: fluent
  batch_size: 1000
  job: {strategy: daily}
```

Records are grouped into batches of ``batch_size`` (never mixing files) and
sent one at a time by a background sender, so an ambiguous failure (a
timeout or 5xx after sending) is settled exactly: the job's batch list shows
whether the batch arrived, and only a batch that did not is sent again.
Up to ``max_in_flight`` batches may be processing on the server while more
records are read. With ``wait: true`` each batch is polled to completion and
every entity Fluent refused becomes a reject carrying its source file, row,
mapped entity and Fluent's message. An expired job is replaced and only the
batch it refused is sent again.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any

import orjson
from graphql import GraphQLInputObjectType
from typing_extensions import override

from engine.contracts import Batch, Checkpoint, Item, Planner, RecordShape, RunContext, Target
from engine.errors import TARGET, ConfigError
from engine.fluent.schemas import rest
from engine.jsonutil import non_finite
from engine.mapping.columnar.mapped import MappedColumn, MappedColumns
from engine.targets.fluent._batches import BatchPipeline
from engine.targets.fluent._jobs import JobKeeper
from engine.targets.fluent._plan import BatchPlanner
from engine.templates import NameTemplate
from engine.units import duration

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["connection"],
    "properties": {
        "connection": {"type": "string", "x-connection": "fluent"},
        "action": {
            "enum": ["UPSERT"],
            "default": "UPSERT",
            "x-error": "the Batch API only accepts UPSERT of INVENTORY, got {value!r}; for other changes "
            "use fluent.event or fluent.graphql",
        },
        "entity_type": {
            "enum": ["INVENTORY"],
            "default": "INVENTORY",
            "x-error": "the Batch API only accepts INVENTORY, got {value!r}; for products, locations "
            "or orders use fluent.event or fluent.graphql",
        },
        "batch_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": 5000,
            "default": 1000,
            "x-error": "batch_size must be between 1 and 5000 (Fluent's per-batch limit), got {value!r}",
        },
        "job": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "strategy": {
                    "enum": ["per_run", "per_file", "daily"],
                    "default": "per_run",
                    "description": "one job per run, per input file, or one per day reused by runs",
                },
                "name": {
                    "type": "string",
                    "description": "job name template ({connector} {run_id} {date} {source})",
                },
                "ttl": duration("how long a daily job is reused before a new one is made", default="23h"),
            },
            "default": {"strategy": "per_run", "ttl": "23h"},
        },
        "preprocessing": {
            "type": "boolean",
            "default": True,
            "description": "false sets meta.preprocessing: skip (no batch pre-processing; for deltas)",
        },
        "source": {"type": "string", "description": "batch 'source' tag"},
        "event": {"type": "string", "description": "batch 'event' name (Fluent's default: InventoryChanged)"},
        "catalogue_ref": {
            "type": "string",
            "description": "inventory catalogue (Fluent's default: DEFAULT:<retailer>)",
        },
        "retailer_id": {"type": ["string", "integer"], "description": "default: the connection's retailer"},
        "add_retailer_id": {
            "type": "boolean",
            "default": True,
            "description": "put the job's retailerId on entities that lack one",
        },
        "max_in_flight": {
            "type": "integer",
            "minimum": 1,
            "maximum": 256,
            "default": 8,
            "description": "batches sent but not yet complete",
        },
        "wait": {
            "type": "boolean",
            "default": True,
            "description": "poll every batch to completion and reject the entities Fluent refused",
        },
        "poll": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "interval": duration("first pause between status polls", default="500ms"),
                "max_interval": duration("longest pause between status polls", default="15s"),
                "timeout": duration("a batch not complete by then fails the run", default="30m"),
            },
            "default": {"interval": "500ms", "max_interval": "15s", "timeout": "30m"},
        },
        "entity_index_base": {
            "enum": [0, 1],
            "default": 0,
            "description": "entityIndex of the first entity in batch results",
        },
    },
}

JOB_FIELDS = ("connector", "run_id", "date", "time", "source", "retailer_id")
DEFAULT_JOB_NAMES = {
    "per_run": "{connector} {date:%Y-%m-%d %H:%M:%S} {run_id}",
    "per_file": "{connector} {source} {run_id}",
    "daily": "{connector} {date:%Y-%m-%d}",
}


@dataclasses.dataclass
class BatchOptions:
    """A validated ``target: {type: fluent.batch}`` block; defaults and meanings are in :data:`SCHEMA`."""

    connection: str
    action: str
    entity_type: str
    batch_size: int
    job: dict
    preprocessing: bool
    source: str | None
    event: str | None
    catalogue_ref: str | None
    retailer_id: Any
    add_retailer_id: bool
    max_in_flight: int
    wait: bool
    poll: dict
    entity_index_base: int


@dataclasses.dataclass
class _Buffer:
    """One file's records not yet sent, and their entities: dicts, or JSON texts made from columns."""

    refs: list[tuple[Batch, int]] = dataclasses.field(default_factory=list)
    entities: list[Any] = dataclasses.field(default_factory=list)
    #: how many of the entities are dicts (none: the batch body is one JSON array of texts)
    records: int = 0

    def take(self, size: int) -> _Buffer:
        """The first ``size`` records, as a buffer of their own; this one keeps the rest."""
        head = _Buffer(self.refs[:size], self.entities[:size])
        head.records = sum(1 for e in head.entities if not isinstance(e, str)) if self.records else 0
        self.records -= head.records
        del self.refs[:size], self.entities[:size]
        return head


class BatchTarget(Target):
    """Buffers mapped records per file into batches and hands them to a background :class:`BatchPipeline`.

    :meth:`open` resolves the retailer id (from the options, the connection or
    its token) and raises :class:`ConfigError` when there is none; the
    pipeline's failures surface on the next :meth:`write`.
    """

    name = "fluent.batch"
    summary = "inventory upserts through Fluent's Job/Batch API"
    schema = SCHEMA
    Options = BatchOptions

    def __init__(self, options: BatchOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        strategy = options.job.get("strategy", "per_run")
        self.strategy = strategy
        self.job_name = NameTemplate(options.job.get("name") or DEFAULT_JOB_NAMES[strategy], JOB_FIELDS)
        self.job_ttl: float = options.job["ttl"]
        self.poll: dict[str, float] = dict(options.poll)
        self.pipeline: BatchPipeline | None = None
        #: per file: the records not yet sent, and their entities (dicts, or JSON texts made from columns)
        self.buffers: dict[str, _Buffer] = {}
        self.from_columns = 0
        #: the job's ``meta``: deltas skip Fluent's batch pre-processing
        self.job_meta = {"preprocessing": "skip"} if not options.preprocessing else None

    @override
    def open(self, run: RunContext) -> None:
        self.run = run
        conn = run.connection(self.options.connection)
        client = conn.client
        retailer = self.options.retailer_id
        if retailer is None:
            retailer = conn.retailer_id
            if retailer is None:
                client.auth.token(TARGET)  # the token response may name the retailer
                retailer = conn.retailer_id
        if retailer is None:
            raise ConfigError(f"{self.path}: no retailer id: set retailer_id on the target or the connection")
        self.retailer_id = str(retailer)
        self.entity_retailer: Any = int(self.retailer_id) if self.retailer_id.isdigit() else self.retailer_id
        jobs = JobKeeper(
            client,
            run,
            self.strategy,
            self.job_name,
            self.job_ttl,
            self.retailer_id,
            meta=self.job_meta,
            log=run.log,
        )
        self.pipeline = BatchPipeline(
            client, run, jobs, self.options, self.poll, log=run.log, complete=self._entity
        )
        self.pipeline.start()

    @override
    def planner(self, run: RunContext) -> Planner:
        """Jobs and batches as :meth:`write` groups them (see :mod:`engine.targets.fluent._plan`)."""
        return BatchPlanner(self, run)

    @override
    def record_shape(self, spec_dir: Path) -> RecordShape:
        """The Batch API's INVENTORY entity (``InventoryBatchEntity`` in ``engine/fluent/rest.graphql``)."""
        entity = rest().type_map["InventoryBatchEntity"]
        assert isinstance(entity, GraphQLInputObjectType)
        return RecordShape(entity.name, entity.fields)

    def _entity(self, record: dict[str, Any]) -> dict[str, Any]:
        # the mapped record is this target's to complete: a reject then shows what was sent
        if self.options.add_retailer_id and "retailerId" not in record:
            record["retailerId"] = self.entity_retailer
        return record

    @override
    def parts_refused(self) -> str | None:
        """Batches never mix items and each part keeps its own checkpoint, but a daily job is shared state.

        Every part of a file would look for today's job at once and several
        would create one, so ``job: daily`` reads files whole.
        """
        if self.strategy == "daily":
            return "fluent.batch with job: daily shares one stored job between parts, which they would race to create"
        return None

    @override
    def write(self, batch: Batch) -> None:
        assert self.pipeline is not None
        self.pipeline.check()
        buf = self.buffers.setdefault(batch.chunk.item.uri, _Buffer())
        texts = self._texts(batch)
        if texts is not None:  # the entities' JSON written from the mapping's columns
            buf.refs.extend(zip(itertools.repeat(batch), range(len(texts)), strict=False))
            buf.entities.extend(texts)
            self.from_columns += len(texts)
        else:
            for i, record in enumerate(batch.records):
                bad = non_finite(record)
                if bad is not None:  # JSON has no NaN: refused here, never sent as null
                    self.run.outcomes.rejected(batch, i, bad.reason, field=bad.path or None)
                    continue
                buf.refs.append((batch, i))
                buf.entities.append(self._entity(record))
                buf.records += 1
        size = self.options.batch_size
        while len(buf.refs) >= size:
            self._submit(batch.chunk.item, buf.take(size))

    def _texts(self, batch: Batch) -> list[str] | None:
        """Each entity's JSON text from the batch's columns, or None when the records must be read.

        The retailer id joins as a constant column when the mapping has no
        ``retailerId``; a mapped one that may be missing leaves it to the records.
        """
        columns = batch.columns
        if columns is None:
            return None
        if self.options.add_retailer_id:
            mapped = [c for c in columns.columns if c.target[0] == "retailerId"]
            if not mapped:
                retailer = MappedColumn(("retailerId",), constant=self.entity_retailer, is_constant=True)
                columns = MappedColumns([*columns.columns, retailer], columns.count)
            elif len(mapped) > 1 or len(mapped[0].target) > 1 or columns.array(mapped[0]).null_count:
                return None
        return columns.json()

    def _submit(self, item: Item, buf: _Buffer) -> None:
        assert self.pipeline is not None
        if not buf.records:  # every entity is JSON text: one array
            body: Any = orjson.Fragment("[" + ",".join(buf.entities) + "]")
        else:
            body = [orjson.Fragment(e) if isinstance(e, str) else e for e in buf.entities]
        self.pipeline.submit(item, buf.refs, body, len(buf.refs))

    @override
    def resume(self, item: Item, saved: Checkpoint) -> int:
        """Continue a file an interrupted run was sending (see BatchPipeline.restore)."""
        assert self.pipeline is not None
        return self.pipeline.restore(item, saved)

    @override
    def finish_item(self, item: Item) -> None:
        buf = self.buffers.pop(item.uri, None)
        if buf is not None and buf.refs:
            self._submit(item, buf)
        assert self.pipeline is not None
        self.pipeline.wait_item(item)

    @override
    def finish_run(self) -> None:
        if self.pipeline is not None:
            self.pipeline.wait_all()

    def stats(self) -> dict[str, Any]:
        """Counters for the run report: jobs, batches, polls, expired jobs, requests, retries, tokens."""
        if self.pipeline is None:
            return {}
        return {**self.pipeline.stats(), "entities_from_columns": self.from_columns}

    @override
    def close(self) -> None:
        if self.pipeline is not None:
            self.pipeline.stop()
            self.pipeline = None
        super().close()
