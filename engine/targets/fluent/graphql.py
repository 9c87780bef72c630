"""Records as Fluent GraphQL mutations, many per request (alias batching), with optional upsert.

```yaml
connections:
  fluent: {type: fluent, base_url: embedded}
target:
  type: fluent.graphql
  connection: fluent
  mutation: createLocation
  returning: "id ref"
  aliases_per_request: 10
  upsert: {lookup: location, key: ref, update: updateLocation, update_omit: [ref, retailer]}
```

With ``mutation`` the mapped record is the mutation's ``input`` (of type
``input_type``, default ``<Mutation>Input``: ``CreateLocationInput``). With
``document`` you write the whole mutation and the mapped record's keys are
its variables (``{input: {...}}`` for ``$input``). Either way
``aliases_per_request`` records travel in one request as aliased copies, and
each record gets its own outcome: applied, or rejected with Fluent's code and
message and the record's source file and row. Throttling and server codes
are retried, never rejected.

``upsert`` looks every record up by ``key`` first (aliased too: one query
per request), creates the missing and updates the found, passing the found
``id`` and leaving out ``update_omit`` fields the update input does not take.
A mutation whose outcome is unknown (timeout, 5xx) is settled by that lookup;
without ``upsert`` it is rejected as "may or may not have been applied"
rather than resent, unless the mutation is declared ``idempotent``. The same
rules settle the records a killed run may have sent, when the next run
resumes the file after its settled prefix.
``update_only`` (the same ``lookup``, ``key``, ``argument``, ``arguments``
and ``update_omit``) sends only ``mutation``, the update, with the found
``id``: a record whose entity does not exist is rejected as "not found",
never created. With ``merge_attributes`` (either block) the lookup also
reads the entity's stored ``attributes`` and the update sends them with the
mapped ones replacing those of the same name, so attributes the mapping does
not set are kept whatever the API does with a list.
``rate_limit`` caps requests per second; ``concurrency`` requests run at once.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    Undefined,
    get_named_type,
    parse,
    type_from_ast,
)
from typing_extensions import override

from engine.contracts import Batch, Item, Planner, RecordShape, RunContext
from engine.delivery.target import PooledTarget
from engine.errors import ConfigError
from engine.fluent.schemas import (
    SCHEMA_OPTION,
    SHIPPED,
    SHIPPED_HINT,
    SchemaProblem,
    document_problems,
    hinted,
    load,
)
from engine.jsonutil import non_finite
from engine.mapping.paths import PathSyntaxError, Scope, compile_getter, parse_path
from engine.retry import RateLimiter
from engine.suggest import did_you_mean
from engine.targets.fluent._graphql import Operation, mutation_text, operation
from engine.targets.fluent._mutations import MutationSender, Rec, Upsert
from engine.targets.fluent._plan import GraphqlPlanner

NAME = {"type": "string", "pattern": "^[_A-Za-z][_0-9A-Za-z]*$"}
#: the type of a field the target leaves out before sending: any value fits it
_ANY = GraphQLScalarType("Omitted")

#: how upsert and update_only find the entity a record updates
_FINDING: dict[str, Any] = {
    "lookup": {**NAME, "description": "query field that finds one entity, e.g. location"},
    "key": {
        "type": "string",
        "default": "ref",
        "description": "path of the key in the mapped record",
    },
    "argument": {
        **NAME,
        "description": "lookup argument taking the key (default: the key's name)",
    },
    "arguments": {
        "type": "object",
        "default": {},
        "description": "further literal lookup arguments, e.g. {catalogue: {ref: PC:1}}",
    },
    "update_omit": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "input fields the update does not take (e.g. ref, retailer)",
    },
    "merge_attributes": {
        "type": "boolean",
        "default": False,
        "description": "an update sends the entity's stored attributes with the mapped ones replacing "
        "those of the same name (instead of the mapped list alone)",
    },
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["connection"],
    "properties": {
        "connection": {"type": "string", "x-connection": "fluent"},
        "mutation": {**NAME, "description": "mutation name; the mapped record is its input"},
        "input_type": {**NAME, "description": "GraphQL type of the input (default: <Mutation>Input)"},
        "returning": {"type": "string", "default": "id", "description": "fields selected from the result"},
        "document": {
            "type": "string",
            "description": "a whole mutation; the mapped record's keys are its "
            "variables (instead of mutation)",
        },
        "schema": SCHEMA_OPTION,
        "aliases_per_request": {
            "type": "integer",
            "minimum": 1,
            "maximum": 100,
            "default": 10,
            "description": "records sent as aliased mutations in one request",
        },
        "concurrency": {
            "type": "integer",
            "minimum": 1,
            "maximum": 16,
            "default": 2,
            "description": "requests in flight at once",
        },
        "rate_limit": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "at most this many requests/s",
        },
        "idempotent": {
            "type": "boolean",
            "default": False,
            "description": "the mutation may be resent safely (an update setting fixed values)",
        },
        "upsert": {
            "type": "object",
            "additionalProperties": False,
            "required": ["lookup", "update"],
            "description": "create or update, decided by looking each record up by its key",
            "properties": {
                **_FINDING,
                "update": {**NAME, "description": "mutation for records that exist, e.g. updateLocation"},
                "update_input_type": {**NAME, "description": "default: <Update>Input"},
            },
        },
        "update_only": {
            "type": "object",
            "additionalProperties": False,
            "required": ["lookup"],
            "description": "only update: each record is looked up by its key and sent as mutation (the "
            "update) with the found id; a record whose entity does not exist is rejected, never created",
            "properties": _FINDING,
        },
    },
}


@dataclasses.dataclass
class GraphqlOptions:
    """A validated ``target: {type: fluent.graphql}`` block; defaults and meanings are in :data:`SCHEMA`."""

    connection: str
    mutation: str | None
    input_type: str | None
    returning: str
    document: str | None
    aliases_per_request: int
    concurrency: int
    rate_limit: float | None
    idempotent: bool
    upsert: dict | None
    update_only: dict | None
    schema: str


def returned_fields(selection: str) -> list[str]:
    """The top-level field names of a GraphQL selection: ``"id ref items { id }"`` -> ``["id", "ref", "items"]``."""
    names: list[str] = []
    depth = 0
    for token in re.findall(r"[_A-Za-z][_0-9A-Za-z]*|[{}()]", selection):
        if token in "{(":
            depth += 1
        elif token in "})":
            depth -= 1
        elif depth == 0:
            names.append(token)
    return names


def _type_of(mutation: str) -> str:
    return mutation[:1].upper() + mutation[1:] + "Input"


def _input_type(schema: GraphQLSchema, mutation: str) -> str | None:
    """The name of the ``input`` argument's type of ``mutation`` in ``schema``, if it has one."""
    field = schema.mutation_type.fields.get(mutation) if schema.mutation_type else None
    argument = field.args.get("input") if field else None
    return get_named_type(argument.type).name if argument else None


def _mutation_problems(
    schema: GraphQLSchema, mutation: str, input_type: str | None, returning: str, at: tuple[str, ...]
) -> list[SchemaProblem]:
    """A mutation taking ``input`` exists, its input type is the one named, and ``returning`` selects."""
    fields = schema.mutation_type.fields if schema.mutation_type else {}
    if mutation not in fields:
        return [
            SchemaProblem(at, f"Mutation has no field '{mutation}'{did_you_mean(mutation, fields)}", True)
        ]
    actual = _input_type(schema, mutation)
    if actual is None:
        return [
            SchemaProblem(
                at, f"{mutation} takes no input argument; write the whole mutation as document", False
            )
        ]
    named = input_type or _type_of(mutation)
    if named != actual:
        where = (*at[:-1], "input_type" if at == ("mutation",) else "update_input_type")
        return [
            SchemaProblem(where, f"{mutation} takes {actual}, not {named} (set {where[-1]}: {actual})", False)
        ]
    text = mutation_text(mutation, actual, returning)
    where = (*at[:-1], "returning") if at == ("mutation",) else at
    return [SchemaProblem(where, m, unknown) for m, unknown in document_problems(schema, text)]


def _variables_shape(schema: GraphQLSchema, document: str) -> RecordShape | None:
    """A document's variables as a record: the mapped record's keys are its variables."""
    try:
        node = parse(document)
    except GraphQLError:
        return None  # the target's own parse reported it
    fields: dict[str, GraphQLInputField] = {}
    for definition in node.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for variable in definition.variable_definitions or ():
                type_ = type_from_ast(schema, variable.type)
                if type_ is None:
                    return None  # document_problems names the unknown type
                default = Undefined if variable.default_value is None else variable.default_value
                fields[variable.variable.name.value] = GraphQLInputField(type_, default_value=default)  # type: ignore[arg-type]
    return RecordShape("variables", fields)


class GraphqlTarget(PooledTarget):
    """Sends one mutation per mapped record, up to ``aliases_per_request`` aliased in one request.

    With ``upsert``, records are looked up by key first, and two requests in
    flight never touch the same entity: a group waits until no other group
    holds any of its keys.
    """

    name = "fluent.graphql"
    summary = "GraphQL mutations per record, alias-batched, with upsert by lookup"
    schema = SCHEMA
    Options = GraphqlOptions

    def __init__(self, options: GraphqlOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        o = options
        self.create: Operation | None = None
        self.upsert: Upsert | None = None
        self.key: Any = None
        self.key_option = "ref"
        self.sender: MutationSender | None = None
        self._problem: str | None = None
        if bool(o.mutation) == bool(o.document):
            self._problem = "give either mutation (the record is its input) or document (a whole mutation)"
            return
        if o.document:
            if o.upsert or o.update_only:
                self._problem = (
                    f"{'upsert' if o.upsert else 'update_only'} works with mutation, not with a document"
                )
                return
            self.create = operation(o.document, f"{path}.document")
            return
        mutation = str(o.mutation)
        self.create = operation(
            mutation_text(mutation, o.input_type or _type_of(mutation), o.returning), f"{path}.returning"
        )
        if o.upsert and o.update_only:
            self._problem = "give upsert (create or update) or update_only, not both"
            return
        found_by = o.upsert or o.update_only
        if found_by:
            if o.update_only:
                update = self.create  # the mutation is the update; nothing is ever created
            else:
                u = found_by
                update = operation(
                    mutation_text(
                        u["update"], u.get("update_input_type") or _type_of(u["update"]), o.returning
                    ),
                    f"{path}.upsert",
                )
            self.key_option = str(found_by.get("key", "ref"))
            try:
                self.key = compile_getter(parse_path(self.key_option))
            except PathSyntaxError as exc:
                block = "update_only" if o.update_only else "upsert"
                raise ConfigError(f"{path}.{block}.key: {exc.message}") from None
            self.upsert = Upsert(
                found_by["lookup"],
                found_by.get("argument") or self.key_option.rsplit(".", 1)[-1],
                dict(found_by.get("arguments") or {}),
                update,
                tuple(found_by.get("update_omit") or ()),
                creates=not o.update_only,
                merge_attributes=bool(found_by.get("merge_attributes")),
            )

    @override
    def answer_fields(self) -> list[str] | None:
        """A created or updated entity's ``returning`` fields; with ``document``, the whole ``data`` (any field)."""
        if self.options.document:
            return ["*"]
        return returned_fields(self.options.returning)

    def problems(self) -> list[tuple[tuple, str]]:
        """The options' one contradiction (mutation vs document, upsert with a document), at the block's path."""
        return [((), self._problem)] if self._problem else []

    @override
    def schema_problems(self, spec_dir: Path) -> list[tuple[tuple[str | int, ...], str]]:
        """The mutation, input type, ``returning``, document and upsert checked against ``schema``."""
        try:
            schema = load(self.options.schema, spec_dir)
        except ConfigError as exc:
            return [(("schema",), exc.message)]
        if schema is None or self._problem:
            return []
        return hinted(self.options.schema, self._schema_problems(schema))

    def _schema_problems(self, schema: GraphQLSchema) -> list[SchemaProblem]:
        o = self.options
        if o.document:
            return [
                SchemaProblem(("document",), m, unknown)
                for m, unknown in document_problems(schema, o.document)
            ]
        out = _mutation_problems(schema, str(o.mutation), o.input_type, o.returning, ("mutation",))
        if o.upsert:
            u = o.upsert
            update = _mutation_problems(
                schema, u["update"], u.get("update_input_type"), o.returning, ("upsert", "update")
            )
            said = {p.message for p in out}  # a wrong returning is reported once
            out += [p for p in update if p.message not in said]
            fields = schema.query_type.fields if schema.query_type else {}
            if u["lookup"] not in fields:
                hint = did_you_mean(u["lookup"], fields)
                out.append(
                    SchemaProblem(("upsert", "lookup"), f"Query has no field '{u['lookup']}'{hint}", True)
                )
        return out

    @override
    def planner(self, run: RunContext) -> Planner:
        """Requests as :meth:`write` groups them; records it cannot send are rejected, as in a run."""
        self.run = run
        return GraphqlPlanner(self)

    @override
    def record_shape(self, spec_dir: Path) -> RecordShape | None:
        """The mutation's input type, or the document's variables."""
        try:
            schema = load(self.options.schema, spec_dir)
        except ConfigError:
            return None  # schema_problems reports it
        if schema is None or self._problem:
            return None
        hint = SHIPPED_HINT if self.options.schema == SHIPPED else None
        if self.options.document:
            shape = _variables_shape(schema, self.options.document)
            return dataclasses.replace(shape, hint=hint) if shape is not None else None
        mutation = str(self.options.mutation)
        named = schema.type_map.get(self.options.input_type or _input_type(schema, mutation) or "")
        if not isinstance(named, GraphQLInputObjectType):
            return None  # schema_problems reported it
        if self.upsert is not None and not self.upsert.creates:
            # update_only sends the update with the found id, and leaves update_omit fields out
            omitted = {name: GraphQLInputField(_ANY) for name in self.upsert.omit if name not in named.fields}
            return RecordShape(named.name, {**named.fields, **omitted}, filled=frozenset({"id"}), hint=hint)
        return RecordShape(named.name, named.fields, hint=hint)

    @override
    def open(self, run: RunContext) -> None:
        self.run = run
        client = run.connection(self.options.connection).client
        assert self.create is not None
        self.sender = MutationSender(
            client,
            run,
            create=self.create,
            upsert=self.upsert,
            variables="record" if self.options.document else "input",
            idempotent=self.options.idempotent,
            limiter=RateLimiter(self.options.rate_limit),
            policy=client.policy,
        )
        concurrency = self.options.concurrency
        window = 2 * self.options.aliases_per_request * concurrency
        self.start(run, workers=concurrency, window=window, name="fluent-graphql")
        self.busy: set[Any] = set()
        self.cond = threading.Condition()
        self.sender.on_settled = lambda rec: self.window.settled(rec.batch, rec.index)

    def _doubtful(self, batch: Batch, i: int) -> bool:
        """An interrupted run may have applied record ``i``: True when it must not be sent (rejected)."""
        if self.window.doubt(batch, i) is None or self.upsert is not None or self.options.idempotent:
            return False  # the lookup settles it, or sending again is harmless
        assert self.sender is not None
        self.sender.refuse(
            batch,
            i,
            "an interrupted run was sending this mutation; it may or may not have "
            "been applied, so it was not sent again",
        )
        return True

    @override
    def parts_refused(self) -> str | None:
        """Each mutation is sent and settled on its own: a file's parts may go from several workers at once."""
        return None

    @override
    def write(self, batch: Batch) -> None:
        for group, keys in self.groups(batch, self._doubtful):
            self._submit(batch.chunk.item, group, keys)

    def groups(
        self, batch: Batch, doubtful: Callable[[Batch, int], bool] = lambda _b, _i: False
    ) -> Iterator[tuple[list[Rec], set[Any]]]:
        """The batch's records as requests: up to ``aliases_per_request`` each, one entity once per request.

        Records that cannot be sent (a NaN, no upsert key, ``doubtful``) are
        rejected here; :meth:`write` sends the groups, a plan prints them.
        """
        group: list[Rec] = []
        keys: set[Any] = set()
        size = self.options.aliases_per_request
        for i, record in enumerate(batch.records):
            rec = None if doubtful(batch, i) else self._admit(batch, i, record)
            if rec is None:
                continue
            if rec.key is not None:
                if rec.key in keys:  # the same entity twice: the second must see the first applied
                    yield group, keys
                    group, keys = [], set()
                keys.add(rec.key)
            group.append(rec)
            if len(group) >= size:
                yield group, keys
                group, keys = [], set()
        if group:
            yield group, keys

    def _admit(self, batch: Batch, i: int, record: dict[str, Any]) -> Rec | None:
        """Record ``i`` ready to send (with its upsert key), or None when it was rejected."""
        bad = non_finite(record)
        if bad is not None:  # JSON has no NaN: refused here, never sent as null
            self.run.outcomes.rejected(batch, i, bad.reason, field=bad.path or None)
            return None
        rec = Rec(batch, i, record)
        if self.key is not None:
            rec.key = self.key(record, Scope(root=record))
            if rec.key is None or rec.key == "" or isinstance(rec.key, dict | list):
                self.run.outcomes.rejected(
                    batch,
                    i,
                    f"the key {self.key_option!r} has no value in the mapped record",
                    field=self.key_option,
                )
                return None
        return rec

    def _submit(self, item: Item, group: list[Rec], keys: set[Any]) -> None:
        assert self.pool is not None and self.sender is not None
        sender, pool = self.sender, self.pool
        members = [(rec.batch, rec.index) for rec in group]
        if not keys or pool.workers == 1:
            self.submit(item, members, lambda: sender.send(group))
            return
        with self.cond:  # concurrent requests never touch the same entity
            while keys & self.busy:
                self.cond.wait(0.2)
                pool.check()
            self.busy |= keys

        def task() -> None:
            try:
                sender.send(group)
            finally:
                with self.cond:
                    self.busy -= keys
                    self.cond.notify_all()

        self.submit(item, members, task)

    def stats(self) -> dict[str, Any]:
        """The sender's counters for the run report, plus retries; lookup counters only with ``upsert``."""
        if self.sender is None:
            return {}
        counts = dict(self.sender.counts)
        if self.upsert is None:
            for name in ("created", "updated", "lookups", "not_found"):
                counts.pop(name)
        elif self.upsert.creates:
            counts.pop("not_found")
        else:
            counts.pop("created")
        counts["retries"] = self.sender.client.stats["retries"]
        return counts
