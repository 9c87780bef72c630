"""Mapped records into a REST API: one request per record, or batches.

```yaml
connections:
  erp: {type: http, base_url: "https://erp.example/api", auth: {bearer: "${env:ERP_TOKEN}"}}
target:
  type: http
  connection: erp
  method: POST
  path: /stock/{sku}
  idempotency_key: {header: Idempotency-Key}
```

``path``, ``params`` and ``headers`` may hold ``{path}`` placeholders read
from the mapped record (``/items/{ref}``; values are percent-encoded) or
``$context``. ``body: record`` sends each mapped record as the JSON body
(``wrapper: item`` sends ``{"item": {...}}``); ``body: batch`` sends
``batch_size`` records of one file as a JSON array (``wrapper: items``:
``{"items": [...]}``), and ``results`` maps a per-item answer back to each
record by position. ``body_schema`` names the body's JSON Schema (a
schema file, or an OpenAPI 3 document and the schema in it): ``engine
validate`` checks the mapping against it and ``engine test`` every expected
record (:mod:`engine.http.body_schema`).

``message: {text: TEMPLATE}`` makes the target a chat webhook sender
(Slack, Teams, Google Chat): each record is posted as ``{"text": ...}``
(``key: content`` for Discord) rendered from ``{{ jmespath }}``
placeholders over ``record`` and ``run``, so a route of alerts reaches a
channel. Put the webhook's URL, which is its credential, in the
connection's ``base_url`` as a secret reference and leave ``path: ""``: an
empty path is the base URL exactly.

Every record ends accepted or rejected: a status in ``success`` accepts, a
4xx rejects with the status, the start of the answer and the record's
lineage; 429 and 408 are sent again after ``Retry-After``; ``on_status``
rules override these (``{status: [409], action: accept}``). A request whose
outcome is unknown (5xx, timeout, dropped connection) is sent again only
when that is safe: ``idempotency_key`` sends a key derived from the
connector, the source file as it was, the records' positions and the body,
the same on every attempt and every rerun, so the server can recognise a
repeat; ``idempotent: true`` declares that repeats are harmless (PUT of a
whole resource). Without either, such records are rejected as "may or may
not have been applied". Up to ``concurrency`` requests are in flight;
progress is checkpointed, so a killed run resumes after the last settled
record and treats the ones in flight the same way.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from pathlib import Path
from typing import Any

from typing_extensions import override

from engine.contracts import Batch, Item, RecordShape, RunContext
from engine.delivery.target import PooledTarget
from engine.delivery.window import RecordWindow
from engine.errors import ConfigError, DataError
from engine.http import body_schema
from engine.http.templates import Missing, Structure, Template
from engine.jsonutil import dumps, dumps_bytes, non_finite
from engine.mapping.paths import PathSyntaxError, compile_getter, parse_path
from engine.retry import RateLimiter
from engine.targets._http_send import Outgoing, Results, Sender, parse_statuses
from engine.text_templates import TextTemplate

#: what a chat message's placeholders start from
MESSAGE_NAMES = ("record", "run")

_STATUSES = {
    "type": "array",
    "minItems": 1,
    "items": {"type": ["integer", "string"]},
    "description": "statuses: 201, '2xx' or '200-299'",
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["connection", "path"],
    "properties": {
        "connection": {"type": "string", "x-connection": "http"},
        "method": {"enum": ["POST", "PUT", "PATCH"], "default": "POST"},
        "path": {
            "type": "string",
            "description": "relative to base_url, with {field} placeholders: /items/{ref}",
        },
        "params": {
            "type": "object",
            "default": {},
            "x-secret": "credential-names",
            "description": "query parameters, with placeholders",
        },
        "headers": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "default": {},
            "x-secret": "credential-names",
            "description": "headers of each request, with placeholders",
        },
        "body": {
            "enum": ["record", "batch"],
            "default": "record",
            "description": "one request per record, or batch_size records per request",
        },
        "batch_size": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100},
        "wrapper": {
            "type": "string",
            "minLength": 1,
            "description": "key the body is wrapped in: {WRAPPER: record} or {WRAPPER: [records]}",
        },
        "success": {
            **_STATUSES,
            "default": ["200-299"],
            "description": "statuses meaning the request was applied",
        },
        "on_status": {
            "type": "array",
            "description": "rules checked first: {status: [409], action: accept|reject|retry|fail}",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["status", "action"],
                "properties": {
                    "status": _STATUSES,
                    "action": {
                        "enum": ["accept", "reject", "retry", "fail"],
                        "description": "retry: the server did not apply it (sent again); fail: stop the run",
                    },
                },
            },
        },
        "results": {
            "type": "object",
            "additionalProperties": False,
            "required": ["path"],
            "description": "per-record results of a batch answer, in the order of the records sent",
            "properties": {
                "path": {"type": "string", "description": "path of the results list in the answer"},
                "status": {
                    "type": "string",
                    "description": "path of a result's status (true/false, an HTTP "
                    "status, or a word from ok_values)",
                },
                "error": {"type": "string", "description": "path of a result's error message"},
                "ok_values": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": ["ok", "success", "succeeded", "created", "updated", "accepted"],
                },
            },
        },
        "message": {
            "type": "object",
            "additionalProperties": False,
            "required": ["text"],
            "description": "a chat webhook (Slack, Teams, Google Chat): each record is sent as {KEY: TEXT} "
            "instead of itself",
            "properties": {
                "text": {
                    "type": "string",
                    "minLength": 1,
                    "description": "the message, with {{ jmespath }} placeholders over record and run",
                },
                "key": {
                    "type": "string",
                    "minLength": 1,
                    "default": "text",
                    "description": "the key the message is sent under (Discord: content)",
                },
            },
        },
        "idempotency_key": {
            "type": "object",
            "additionalProperties": False,
            "description": "send a deterministic key per request, so a request with an unknown outcome can be "
            "sent again safely",
            "properties": {"header": {"type": "string", "minLength": 1, "default": "Idempotency-Key"}},
        },
        "idempotent": {
            "type": "boolean",
            "default": False,
            "description": "repeating a request is harmless (resent after an unknown outcome)",
        },
        "concurrency": {
            "type": "integer",
            "minimum": 1,
            "maximum": 64,
            "default": 4,
            "description": "requests in flight at once (1 keeps the file's order)",
        },
        "rate_limit": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "at most this many requests/s",
        },
        "body_schema": body_schema.SCHEMA_OPTION,
    },
}


@dataclasses.dataclass
class HttpTargetOptions:
    """A validated ``target: {type: http}`` block; defaults and meanings are in :data:`SCHEMA`."""

    connection: str
    method: str
    path: str
    params: dict
    headers: dict
    body: str
    batch_size: int
    wrapper: str | None
    success: list
    on_status: list | None
    results: dict | None
    message: dict | None
    idempotency_key: dict | None
    idempotent: bool
    concurrency: int
    rate_limit: float | None
    body_schema: dict | None


class HttpTarget(PooledTarget):
    """Sends mapped records to a REST API through a connection, one request per record or per batch.

    Requests run on a pool of ``concurrency`` threads; :meth:`finish_item`
    returns once every record of the item is accepted or rejected.
    """

    name = "http"
    summary = (
        "records into a REST API, per record or in batches, with idempotency keys and per-record outcomes"
    )
    schema = SCHEMA
    Options = HttpTargetOptions

    def __init__(self, options: HttpTargetOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        o = options
        self._problems: list[tuple[tuple, str]] = []
        self.path_t = Template(o.path, f"{path}.path")
        self.params = Structure(o.params or {}, f"{path}.params")
        self.headers = Structure(o.headers or {}, f"{path}.headers")
        self.success = self._statuses(o.success, ("success",))
        self.rules = [
            (self._statuses(r["status"], ("on_status", k, "status")), r["action"])
            for k, r in enumerate(o.on_status or [])
        ]
        self.results = self._results(o.results)
        self.batched = o.body == "batch"
        self.safe = bool(o.idempotency_key is not None or o.idempotent)
        if self.batched:
            templates = [self.path_t, *self.params.templates, *self.headers.templates]
            per_record = sorted({p for t in templates for p in t.paths if not p.startswith("$context")})
            if per_record:
                self._problems.append(
                    (
                        (),
                        f"body: batch sends many records per request, so the path, params and "
                        f"headers cannot read a record's fields ({', '.join(per_record)}); use "
                        "$context values or body: record",
                    )
                )
        elif o.results is not None:
            self._problems.append(
                (("results",), "results maps a batch answer to its records; use it with body: batch")
            )
        self.message = self._message(o.message)
        if o.message is not None and o.body_schema is not None:
            self._problems.append(
                (("body_schema",), "a chat message's body is the message, not the record: drop body_schema")
            )
        self.sender: Sender | None = None
        self.buffers: dict[str, list[tuple[Batch, int]]] = {}
        self.batches = 0

    def _message(self, message: dict[str, Any] | None) -> TextTemplate | None:
        """The chat message template (``message.text``), checked like every template."""
        if message is None:
            return None
        if self.batched:
            self._problems.append((("message",), "a chat message is sent per record; use body: record"))
        found: list[tuple[str, str]] = []
        template = TextTemplate(message["text"], MESSAGE_NAMES, "text", found)
        self._problems.extend((("message", where), text) for where, text in found)
        return template

    def _statuses(self, values: list[Any], where: tuple) -> list[tuple[int, int]]:
        try:
            return parse_statuses(values)
        except ValueError as exc:
            self._problems.append((where, f"expected statuses such as 201, '2xx' or '200-299': {exc}"))
            return []

    def _results(self, r: dict[str, Any] | None) -> Results | None:
        if r is None:
            return None
        if not r.get("status") and not r.get("error"):
            self._problems.append(
                (("results",), "say how a result reads: status (its outcome), error (its message), or both")
            )
        try:
            getters = [
                compile_getter(parse_path(r[k])) if r.get(k) else None for k in ("path", "status", "error")
            ]
        except PathSyntaxError as exc:
            self._problems.append((("results",), exc.message))
            return None
        return Results(
            getters[0], getters[1], getters[2], frozenset(v.lower() for v in r.get("ok_values") or ())
        )

    def problems(self) -> list[tuple[tuple, str]]:
        """Bad statuses, result paths and option combinations, each at its own spec path."""
        return self._problems

    @override
    def schema_problems(self, spec_dir: Path) -> list[tuple[tuple[str | int, ...], str]]:
        """The ``body_schema`` file unreadable, its pointer leading nowhere, or the body not holding records."""
        try:
            self._body_shape(spec_dir)
        except ConfigError as exc:
            return [(("body_schema", exc.details.get("option", "file")), exc.message)]
        return []

    @override
    def record_shape(self, spec_dir: Path) -> RecordShape | None:
        """The record as ``body_schema`` describes it inside the body (None without one)."""
        try:
            return self._body_shape(spec_dir)
        except ConfigError:
            return None  # schema_problems reports it

    def _body_shape(self, spec_dir: Path) -> RecordShape | None:
        o = self.options
        if o.body_schema is None or o.message is not None:
            return None
        located = body_schema.locate(o.body_schema, spec_dir)
        return body_schema.record_shape(located, wrapper=o.wrapper, batched=self.batched)

    @override
    def open(self, run: RunContext) -> None:
        o = self.options
        self.run = run
        self.client = run.connection(o.connection).client
        window = 4 * o.concurrency * (o.batch_size if self.batched else 1)
        self.start(run, workers=o.concurrency, window=window, name="http-target")
        self.sender = Sender(
            self.client,
            run,
            method=o.method,
            success=self.success,
            rules=self.rules,
            safe=self.safe,
            results=self.results,
            limiter=RateLimiter(o.rate_limit),
            on_settled=self.window.settled,
        )

    # -- building requests -------------------------------------------------------------------

    def _outgoing(self, record: Any, body: Any, members: list[tuple[Batch, int]]) -> Outgoing:
        """The request for ``members`` (a DataError when a placeholder has no value)."""
        context = self.run.context
        try:
            # an empty path is the connection's base_url exactly (a chat webhook's URL is the whole secret)
            url = str(self.path_t.render(record, context, encode=True)).lstrip(
                "/"
            ) or self.client.base_url.rstrip("/")
            params = self.params.render(record, context) or None
            headers = {k: str(v) for k, v in self.headers.render(record, context).items()}
        except Missing as exc:
            raise exc.data_error() from None
        for key, value in (params or {}).items():
            if isinstance(value, dict):
                raise DataError(
                    f"{self.path}.params.{key}: an object cannot be a query parameter",
                    field=f"{self.path}.params.{key}",
                )
        if self.options.wrapper:
            body = {self.options.wrapper: body}
        content = dumps_bytes(body)
        out = Outgoing(url, params, headers, content, members)
        if self.options.idempotency_key is not None:
            out.key = self._key(members, content)
            out.headers[self.options.idempotency_key.get("header", "Idempotency-Key")] = out.key
        return out

    def _key(self, members: list[tuple[Batch, int]], content: bytes) -> str:
        """The same for the same records of the same file version with the same body, whatever the run."""
        item = members[0][0].chunk.item
        version = item.fingerprint()
        version.pop("mtime" if version.get("etag") else "etag", None)
        positions = [RecordWindow.position(b, i) for b, i in members]
        identity = dumps([self.run.connector, self.options.method, self.options.path, version, positions])
        return hashlib.sha256(identity.encode("utf-8") + b"\0" + content).hexdigest()

    # -- the target contract --------------------------------------------------------------

    @override
    def parts_refused(self) -> str | None:
        """Each request is sent and settled on its own: a file's parts may go from several workers at once."""
        return None

    @override
    def write(self, batch: Batch) -> None:
        assert self.sender is not None
        item = batch.chunk.item
        for i, record in enumerate(batch.records):
            if self.window.doubt(batch, i) is not None and not self.safe:
                self.sender.count("rejected")
                self.run.outcomes.rejected(
                    batch,
                    i,
                    "an interrupted run was sending this record; it may or may "
                    "not have been applied, so it was not sent again",
                )
                continue
            bad = non_finite(record)
            if bad is not None:  # JSON has no NaN: refused here, never sent as null
                self.sender.count("rejected")
                self.run.outcomes.rejected(batch, i, bad.reason, field=bad.path or None)
                continue
            if self.batched:
                members = self.buffers.setdefault(item.uri, [])
                members.append((batch, i))
                if len(members) >= self.options.batch_size:
                    self.flush(item)
                continue
            body: Any = record
            if self.message is not None:
                run = {"run_id": self.run.run_id, "connector": self.run.connector}
                text = self.message.render({"record": record, "run": run}, "text")
                body = {self.options.message["key"]: text}
            try:
                out = self._outgoing(record, body, [(batch, i)])
            except DataError as exc:
                self.sender.count("rejected")
                self.run.outcomes.rejected(batch, i, exc.message, field=exc.field)
                continue
            self._submit(item, out)

    @override
    def flush(self, item: Item) -> None:
        """Send the item's last, partial batch (``body: batch``)."""
        members = self.buffers.pop(item.uri, [])
        if not members:
            return
        records = [b.records[i] for b, i in members]
        try:
            out = self._outgoing({}, records, members)
        except DataError as exc:  # only $context placeholders: the same for every record
            assert self.sender is not None
            for b, i in members:
                self.sender.count("rejected")
                self.run.outcomes.rejected(b, i, exc.message, field=exc.field)
            return
        self.batches += 1
        self._submit(item, out)

    def _submit(self, item: Item, out: Outgoing) -> None:
        assert self.sender is not None
        self.submit(item, out.members, functools.partial(self.sender.send, out))

    @override
    def answer_fields(self) -> list[str] | None:
        """The response body (or, with ``results``, the record's entry of it): fields known only at run time."""
        return ["*"]

    def stats(self) -> dict[str, Any]:
        """Counters for the run report: requests, accepted, rejected, retries, resent, unknown outcomes (and batches)."""
        if self.sender is None:
            return {}
        out: dict[str, Any] = dict(self.sender.counts)
        if self.batched:
            out["batches"] = self.batches
        return out
