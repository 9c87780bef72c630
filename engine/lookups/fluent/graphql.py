"""Answers from Fluent's GraphQL API, many keys per request.

```yaml
connections:
  fluent: {type: fluent, base_url: embedded}
lookups:
  position:
    type: fluent.graphql
    connection: fluent
    key: {sku: sku, location: location_code}
    query: |
      query($sku: [String], $location: [String], $after: String) {
        inventoryPositions(productRef: $sku, locationRef: $location, first: 500, after: $after) {
          edges { cursor node { productRef locationRef onHand } }
          pageInfo { hasNextPage }
        }
      }
    records: inventoryPositions.edges[*].node
    match: {sku: productRef, location: locationRef}
```

Each key part is a list variable of the query named like the part: a batch
of keys (``batch_size``, 500 by default) becomes one request whose variables
hold the distinct values of each part, so a chunk of 5,000 records asks 10
requests, not 5,000. The answer is paged through (``cursor_variable``,
``after`` by default, with the last edge's cursor) until ``hasNextPage`` is
false; its nodes are matched back to the keys by ``match`` (a node whose
parts equal the key's). A query over several parts may return combinations
nobody asked for; they are ignored. Two nodes answering the same key are an
error for the batch (a lookup never picks one of two answers). Throttling and
server errors are retried by the connection's policy.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from typing_extensions import override

from engine.contracts import Lookup, RunContext
from engine.errors import LOOKUP, ConfigError, DataError, LookupFailedError, Phase
from engine.fluent.pages import Cursors, Shape, read_page
from engine.fluent.schemas import SCHEMA_OPTION, SchemaProblem, document_problems, hinted, load
from engine.lookups.base import MATCH, CommonOptions, LookupBase, match_parts, schema
from engine.mapping.paths import PathSyntaxError, Scope, compile_getter, parse_path

VARIABLE = {"type": "string", "pattern": "^[_A-Za-z][_0-9A-Za-z]*$"}

SCHEMA: dict[str, Any] = schema(
    {
        "connection": {"type": "string", "x-connection": "fluent"},
        "query": {"type": "string", "description": "a GraphQL query with a list variable per key part"},
        "schema": SCHEMA_OPTION,
        "variables": {"type": "object", "default": {}, "description": "further variables of the query"},
        "records": {
            "type": "string",
            "description": "path to the answers, through the connection's edges: inventoryPositions.edges[*].node",
        },
        "match": MATCH,
        "cursor_variable": {**VARIABLE, "default": "after"},
        "max_pages": {
            "type": "integer",
            "minimum": 1,
            "default": 100,
            "description": "pages one batch of keys may take before the lookup fails",
        },
    },
    ["connection", "query", "records"],
)


@dataclasses.dataclass
class GraphqlLookupOptions(CommonOptions):
    """The validated ``fluent.graphql`` lookup block; ``connection`` names a ``fluent`` connection."""

    connection: str
    query: str
    variables: dict[str, Any]
    records: str
    match: str | dict[str, str] | None
    cursor_variable: str
    max_pages: int
    schema: str


class GraphqlLookup(LookupBase):
    """Asks one query per batch of keys, paged, and matches the answers back to the keys."""

    name = "fluent.graphql"
    summary = "answers from Fluent GraphQL, a batch of keys per request"
    schema = SCHEMA
    Options = GraphqlLookupOptions

    def __init__(self, options: GraphqlLookupOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.connection_name = options.connection
        self.match = match_parts(options.match, self.parts)
        self.client: Any = None
        self.counts = {"requests": 0, "pages": 0}
        self.shape: Shape | None = None
        self.getters: list[Any] = []
        try:
            self.shape = Shape.of(options.records, None, None, path)
            self.getters = [compile_getter(parse_path(self.match[p])) for p in self.parts]
        except (ConfigError, PathSyntaxError, KeyError) as exc:
            message = (
                exc.message if isinstance(exc, ConfigError | PathSyntaxError) else f"no path for part {exc}"
            )
            self._problems.append((("records",), message))
        self._problems.extend(self._check_query(options))

    def _check_query(self, options: GraphqlLookupOptions) -> list[tuple[tuple[str | int, ...], str]]:
        from graphql import GraphQLError, OperationDefinitionNode, parse

        try:
            document = parse(options.query)
        except GraphQLError as exc:
            return [(("query",), f"not a GraphQL query: {exc.message}")]
        declared = {
            v.variable.name.value
            for op in document.definitions
            if isinstance(op, OperationDefinitionNode)
            for v in op.variable_definitions or ()
        }
        wanted = [*self.parts, options.cursor_variable]
        missing = [name for name in wanted if name not in declared]
        if missing:
            return [
                (
                    ("query",),
                    f"the query must declare ${', $'.join(missing)} (one list variable per key part, "
                    f"and the cursor)",
                )
            ]
        return []

    @override
    def schema_problems(self, spec_dir: Path) -> list[tuple[tuple[str | int, ...], str]]:
        """The query checked against ``schema`` (fields, arguments, variable types)."""
        try:
            schema = load(self.options.schema, spec_dir)
        except ConfigError as exc:
            return [(("schema",), exc.message)]
        if schema is None or any(where == ("query",) for where, _ in self._problems):
            return []
        found = document_problems(schema, self.options.query)
        return hinted(self.options.schema, [SchemaProblem(("query",), m, unknown) for m, unknown in found])

    @override
    def open(self, run: RunContext) -> None:
        self.client = run.connection(self.options.connection).client

    @override
    def fetch(self, keys: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], Any]:
        assert self.shape is not None and self.client is not None
        wanted = set(keys)
        variables = dict(self.options.variables)
        for n, part in enumerate(self.parts):
            variables[part] = sorted({k[n] for k in keys})
        found: dict[tuple[str, ...], Any] = {}
        cursors = Cursors("edge", LOOKUP)
        cursor: str | None = None
        for number in range(1, self.options.max_pages + 1):
            if cursor is not None:
                variables[self.options.cursor_variable] = cursor
            self.counts["requests"] += 1
            envelope = self.client.graphql(self.options.query, variables, phase=LOOKUP)
            page = read_page(envelope, self.shape, number, "edge", LOOKUP)
            self.counts["pages"] += 1
            for node in page.records:
                key = self._key_of(node)
                if key is None or key not in wanted:
                    continue
                if key in found:
                    raise DataError(
                        f"{self.path}: two answers for {dict(zip(self.parts, key, strict=True))}; "
                        "the query must select one node per key"
                    )
                found[key] = node
            if not page.has_next:
                return found
            cursor = cursors.next(page)
        raise DataError(
            f"{self.path}: more than max_pages ({self.options.max_pages}) pages for one batch of keys"
        )

    def _key_of(self, node: dict[str, Any]) -> tuple[str, ...] | None:
        scope = Scope(root=node)
        parts = []
        for get in self.getters:
            value = get(node, scope)
            if value is None:
                return None
            parts.append(value if isinstance(value, str) else str(value))
        return tuple(parts)

    @override
    def stats(self) -> dict[str, Any]:
        return dict(self.counts)

    @override
    def with_fixture(self, fixture: Mapping[str, Any]) -> Lookup:
        """``responses``: recorded GraphQL answers, one per request in order, read as a live answer is."""
        if "responses" not in fixture:
            return super().with_fixture(fixture)
        if set(fixture) != {"responses"}:
            raise ConfigError(f"{self.path}: give responses or answers in a test case, not both")
        replay = copy.copy(self)
        replay.client = RecordedResponses(list(fixture["responses"]), self.path)
        replay.counts = {"requests": 0, "pages": 0}
        return replay


class RecordedResponses:
    """Answers a lookup's queries from recorded GraphQL responses, in order (``engine test``)."""

    def __init__(self, responses: list[Any], where: str) -> None:
        self.responses = responses
        self.where = where
        self.asked = 0

    def graphql(self, query: str, variables: dict[str, Any], *, phase: Phase) -> Any:
        """The next recorded response; asking past the last one fails the lookup."""
        self.asked += 1
        if self.asked > len(self.responses):
            raise LookupFailedError(
                f"{self.where}: request {self.asked} has no recorded response ({len(self.responses)} given); "
                "record one response per request (a page is a request)"
            )
        return self.responses[self.asked - 1]
