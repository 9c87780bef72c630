"""Records from a paginated Fluent GraphQL query, optionally incremental on a watermark.

```yaml
connections:
  fluent: {type: fluent, base_url: embedded}
source:
  type: fluent.graphql
  connection: fluent
  query: |
    query Positions($first: Int, $after: String, $from: DateTime) {
      inventoryPositions(first: $first, after: $after, updatedOn: {from: $from}) {
        edges { cursor node { id ref productRef locationRef onHand updatedOn } }
        pageInfo { hasNextPage }
      }
    }
  records: inventoryPositions.edges[*].node
  page_size: 500
  watermark: {field: updatedOn, variable: from, overlap: 60s, initial: "2026-01-01T00:00:00Z"}
```

Every page is requested with ``page_size`` in ``page_size_variable`` and the
previous page's last edge cursor (or ``pageInfo.endCursor`` with
``cursor_from: page_info``) in ``cursor_variable``; each page becomes one
chunk of records. ``max_records`` is exact: the last page is asked for only
what is still needed and sliced, never exceeded. Records are deduplicated by
``id_field`` across pages. A page with errors, a missing cursor while
``hasNextPage`` is true, a cursor the server already gave, or more than
``max_pages`` pages (default 10,000) stop the run with an error instead of
delivering partial data or looping.

With ``watermark`` the query gets ``variable`` = the last run's watermark
minus ``overlap`` (``initial`` on the first run); records already delivered
in that overlap are dropped. The new watermark is stored only after the
target acknowledged every record (a file published), and not at all when
``max_records`` cut the crawl short. ``engine run --since/--until`` backfills
a window without reading or moving the stored watermark (``--until`` needs
``until_variable``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from graphql import GraphQLError, parse
from graphql.language import OperationDefinitionNode
from typing_extensions import override

from engine.contracts import Chunk, Item, RunContext, Source
from engine.errors import SOURCE, ConfigError
from engine.fluent.pages import Cursors, Shape, read_page
from engine.fluent.schemas import SCHEMA_OPTION, SchemaProblem, document_problems, hinted, load
from engine.secrets import reveal
from engine.sources._http_pages import page_cap
from engine.sources.watermark import Crawl, Tracker, Watermark, parse_instant, render, store
from engine.units import duration

STATE_KEY = "fluent.graphql.watermark"
VARIABLE = {"type": "string", "pattern": "^[_A-Za-z][_0-9A-Za-z]*$"}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["connection", "query", "records"],
    "properties": {
        "connection": {"type": "string", "x-connection": "fluent"},
        "query": {"type": "string", "description": "one GraphQL query declaring the paging variables"},
        "schema": SCHEMA_OPTION,
        "variables": {"type": "object", "default": {}, "description": "further variables of the query"},
        "records": {
            "type": "string",
            "description": "path to the records in an answer, through the "
            "connection's edges: inventoryPositions.edges[*].node",
        },
        "page_size": {"type": "integer", "minimum": 1, "maximum": 5000, "default": 500},
        "page_size_variable": {**VARIABLE, "default": "first"},
        "cursor_variable": {**VARIABLE, "default": "after"},
        "cursor_from": {
            "enum": ["edge", "page_info"],
            "default": "edge",
            "description": "the last edge's cursor, or pageInfo.endCursor",
        },
        "max_records": {"type": "integer", "minimum": 1, "description": "deliver exactly this many at most"},
        "max_pages": {
            "type": "integer",
            "minimum": 1,
            "default": 10000,
            "description": "fail the run rather than read more pages than this; the watermark does not move",
        },
        "id_field": {
            "type": ["string", "null"],
            "default": "id",
            "description": "path of each record's id, for deduplication (null: no deduplication)",
        },
        "watermark": {
            "type": "object",
            "additionalProperties": False,
            "required": ["field", "variable"],
            "properties": {
                "field": {
                    "type": "string",
                    "description": "path of the record's update time, e.g. updatedOn",
                },
                "variable": {**VARIABLE, "description": "query variable receiving the lower bound"},
                "overlap": duration(
                    "re-read this far behind the watermark (late writes, clock skew)", default="60s"
                ),
                "initial": {"type": "string", "description": "lower bound of the first run (ISO-8601)"},
                "until_variable": {**VARIABLE, "description": "query variable receiving --until"},
            },
        },
    },
}


@dataclasses.dataclass
class GraphqlSourceOptions:
    """The validated ``fluent.graphql`` source block; ``connection`` names a ``fluent`` connection."""

    connection: str
    query: str
    variables: dict
    records: str
    page_size: int
    page_size_variable: str
    cursor_variable: str
    cursor_from: str
    max_records: int | None
    max_pages: int
    id_field: str | None
    watermark: dict | None
    schema: str


class GraphqlSource(Source):
    """Pages through one Fluent GraphQL query and yields each page as a chunk of records.

    A run is one item. The watermark it reached is held until :meth:`complete`
    confirms the item succeeded, and only then stored in the state store.
    """

    name = "fluent.graphql"
    summary = "records from a paginated Fluent GraphQL query, incremental on a watermark"
    schema = SCHEMA
    Options = GraphqlSourceOptions
    produces = "records"
    reads_recorded_pages = True

    def __init__(self, options: GraphqlSourceOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        o = options
        wm = o.watermark or {}
        self.shape = Shape.of(o.records, o.id_field, wm.get("field"), path)
        self.overlap: float = wm.get("overlap", 0.0)
        if wm.get("initial"):
            parse_instant(wm["initial"], f"{path}.watermark.initial")
        self.declared, self.root, self._problems = _declared(o.query)
        needed = [o.page_size_variable, o.cursor_variable, wm.get("variable"), wm.get("until_variable")]
        for name in filter(None, needed):
            if self.declared is not None and name not in self.declared:
                self._problems.append(
                    (
                        (),
                        f"the query does not declare ${name}; declare it (e.g. "
                        f"query (${name}: ...)) or name the variable the query uses",
                    )
                )
        self.counts: dict[str, Any] = {}
        self.pending: dict[str, Watermark | None] = {}

    def problems(self) -> list[tuple[tuple, str]]:
        """Query mistakes found at construction: unparseable, not one query, an undeclared variable."""
        return self._problems

    @override
    def schema_problems(self, spec_dir: Path) -> list[tuple[tuple[str | int, ...], str]]:
        """The query checked against ``schema`` (fields, arguments, variable types)."""
        try:
            schema = load(self.options.schema, spec_dir)
        except ConfigError as exc:
            return [(("schema",), exc.message)]
        if schema is None or self.declared is None:
            return []
        found = document_problems(schema, self.options.query)
        return hinted(self.options.schema, [SchemaProblem(("query",), m, unknown) for m, unknown in found])

    @override
    def items(self, run: RunContext) -> Iterator[Item]:
        # one item per run: the ledger must never judge a query done, nor hold a failed one back;
        # what was delivered is the watermark's business
        yield Item(
            uri=f"fluent-graphql://{self.options.connection}/{self.root}?run={run.run_id}",
            name=self.root,
            etag=run.run_id,
            mtime=run.started,
        )

    @override
    def read(self, item: Item) -> IO[bytes]:
        raise ConfigError(
            f"{self.path}: this source yields records, not bytes (state.dedupe: checksum does "
            "not apply; use the watermark)"
        )

    @override
    def recorded_page(self, answer: Any) -> list[Any]:
        """The records of one recorded GraphQL answer, read as a run reads a page (for ``tests:``)."""
        return read_page(answer, self.shape, 1, self.options.cursor_from).records

    @override
    def read_records(self, item: Item, run: RunContext) -> Iterator[Chunk]:
        o = self.options
        wm = o.watermark
        client = run.connection(o.connection).client
        variables = {k: reveal(v) for k, v in (o.variables or {}).items()}
        backfill = bool(run.since or run.until)
        if backfill and not wm:
            raise ConfigError(f"{self.path}: --since/--until need a watermark block in the source")
        if run.until and not (wm or {}).get("until_variable"):
            raise ConfigError(
                f"{self.path}: --until needs watermark.until_variable (the query's upper bound)"
            )
        tracker = None
        if wm:
            previous = (
                Watermark(None, {})
                if backfill
                else Watermark.load(run.state.kv_get(run.connector, STATE_KEY))
            )
            tracker = Tracker(previous, self.overlap, datetime.now(UTC))
            lower = (
                parse_instant(run.since, "--since") if run.since else tracker.lower_bound(wm.get("initial"))
            )
            if lower is not None:
                variables[wm["variable"]] = render(lower)
            if run.until:
                variables[wm["until_variable"]] = render(parse_instant(run.until, "--until"))
        shape = self.shape
        crawl = Crawl(
            tracker,
            o.max_records,
            id_of=shape.node_id,
            stamp_of=(lambda node, scope, where: shape.stamp(node, scope)) if shape.stamp else None,
            field=(wm or {}).get("field"),
        )
        counts = self.counts = crawl.counts
        if wm:
            counts["watermark_from"] = variables.get(wm["variable"])
        cursors = Cursors(o.cursor_from)
        # the next page is asked for while the runner maps and writes this one
        ahead = ThreadPoolExecutor(1, thread_name_prefix="fluent-graphql-page")
        try:
            pending: Future | None = ahead.submit(
                client.graphql, o.query, self._page_variables(variables, None, o.max_records), phase=SOURCE
            )
            while pending is not None:
                page = read_page(pending.result(), self.shape, counts["pages"] + 1, o.cursor_from)
                out, first = crawl.keep(page.records, page.number)
                pending = None
                if crawl.full:
                    counts["truncated"] = counts["truncated"] or page.has_next
                elif page.has_next:
                    page_cap(page.number, o.max_pages)
                    pending = ahead.submit(
                        client.graphql,
                        o.query,
                        self._page_variables(variables, cursors.next(page), crawl.remaining),
                        phase=SOURCE,
                    )
                if out:
                    yield Chunk(
                        item,
                        out,
                        list(range(first, first + len(out))),
                        locators=[f"page {page.number}"] * len(out),
                    )
        finally:
            ahead.shutdown(wait=False, cancel_futures=True)
        self.pending[item.uri] = crawl.finish(run.log, "query read", backfill=backfill, query=self.root)

    def _page_variables(
        self, base: dict[str, Any], cursor: str | None, remaining: int | None
    ) -> dict[str, Any]:
        o = self.options
        out = {k: v for k, v in base.items() if k != o.cursor_variable}
        out[o.page_size_variable] = o.page_size if remaining is None else min(o.page_size, remaining)
        if cursor is not None:
            out[o.cursor_variable] = cursor
        return out

    @override
    def complete(self, item: Item, ok: bool, run: RunContext) -> str | None:
        store(run, STATE_KEY, self.pending.pop(item.uri, None), ok)
        return None

    def stats(self) -> dict[str, Any]:
        """The last read's counters for the run report: pages, records, drops, truncation, watermark range."""
        return dict(self.counts)


def _declared(query: str) -> tuple[set[str] | None, str, list[tuple[tuple, str]]]:
    """Variables the query declares, its first root field, and problems with it."""
    try:
        document = parse(query)
    except GraphQLError as exc:
        return None, "query", [(("query",), f"not a valid GraphQL document: {exc.message}")]
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(ops) != 1 or ops[0].operation.value != "query":
        return None, "query", [(("query",), "expected exactly one query operation")]
    op = ops[0]
    roots = [getattr(s, "name", None) for s in op.selection_set.selections]
    root = roots[0].value if roots and roots[0] is not None else "query"
    return {v.variable.name.value for v in op.variable_definitions or ()}, root, []
