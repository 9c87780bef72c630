"""Reading one page of a Relay connection and deciding the next request, strictly.

Fluent pages with ``first``/``after``: the next cursor is the ``cursor`` of
the page's last edge (``pageInfo.endCursor`` only where the schema has it).
Where the SDK stops silently or loops, this stops with an error saying what
the server did: a page that says there is more but gives no cursor, a cursor
the server already gave (the crawl would repeat itself), a page of errors.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from engine.errors import SOURCE, ConfigError, Phase
from engine.fluent.codes import code_of
from engine.mapping.paths import Path, PathSyntaxError, Scope, compile_getter, parse_path

MAX_EMPTY_PAGES = 3


@dataclasses.dataclass(frozen=True)
class Shape:
    """Where the records, the connection and each record's id are in an answer."""

    records: Any
    connection: Any
    node_id: Any
    stamp: Any

    @classmethod
    def of(cls, records: str, id_field: str | None, stamp: str | None, where: str) -> Shape:
        """Compile the paths; ``where`` names the options block in errors."""
        try:
            path = parse_path(records)
            conn = _connection_path(path)
            node_id = compile_getter(parse_path(id_field)) if id_field else None
            stamp_of = compile_getter(parse_path(stamp)) if stamp else None
        except PathSyntaxError as exc:
            raise ConfigError(f"{where}: {exc.message}") from None
        if conn is None:
            raise ConfigError(
                f"{where}.records: {records!r} does not go through a connection's edges "
                "(expected e.g. inventoryPositions.edges[*].node)"
            )
        return cls(compile_getter(path), conn, node_id, stamp_of)


def _connection_path(path: Path) -> Any:
    names = [getattr(s, "name", None) for s in path.steps]
    if path.variable is not None or "edges" not in names:
        return None
    cut = names.index("edges")
    prefix = Path(path.text, None, path.steps[:cut])
    return (lambda data, scope: data) if cut == 0 else compile_getter(prefix)


@dataclasses.dataclass
class Page:
    """One page read: its records, whether more follow and the cursor to ask for them."""

    number: int
    records: list[dict[str, Any]]
    has_next: bool
    cursor: str | None


def read_page(envelope: Any, shape: Shape, number: int, cursor_from: str, phase: Phase = SOURCE) -> Page:
    """Read page ``number`` of a GraphQL answer, or raise a located error of the reader's ``phase``."""
    if not isinstance(envelope, dict):
        raise phase.fatal(f"page {number}: the answer is not a GraphQL response")
    errors = [e for e in envelope.get("errors") or [] if isinstance(e, dict)]
    data = envelope.get("data")
    if errors:
        first = errors[0]
        code = code_of(first)
        detail = f"{first.get('message')}" + (
            f" at {'.'.join(map(str, first['path']))}" if first.get("path") else ""
        )
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        if data is None:
            raise phase.fatal(
                f"page {number}: the query failed: {detail}{more}",
                hint="C0001E means the page is too large: lower page_size" if code == "C0001E" else None,
            )
        raise phase.fatal(
            f"page {number}: Fluent answered with partial data: {detail}{more}",
            hint="records would be incomplete; nothing of this page was delivered",
        )
    scope = Scope(root=data)
    conn = shape.connection(data, scope)
    if not isinstance(conn, dict):
        raise phase.fatal(f"page {number}: no connection found in the answer (is the records path right?)")
    edges = conn.get("edges")
    if not isinstance(edges, list):
        raise phase.fatal(f"page {number}: the connection has no edges list")
    records = shape.records(data, scope) or []
    records = [r for r in (records if isinstance(records, list) else [records]) if isinstance(r, dict)]
    info = conn.get("pageInfo") or {}
    has_next = info.get("hasNextPage")
    if not isinstance(has_next, bool):
        raise phase.fatal(
            f"page {number}: pageInfo.hasNextPage is missing; select pageInfo {{ hasNextPage }} in the query"
        )
    if cursor_from == "page_info":
        cursor = info.get("endCursor")
    else:
        last = edges[-1] if edges else None
        cursor = last.get("cursor") if isinstance(last, dict) else None
    return Page(number, records, has_next, cursor)


class Cursors:
    """The cursors of one crawl: the next one must be new, and present when more pages exist."""

    def __init__(self, cursor_from: str, phase: Phase = SOURCE) -> None:
        self.cursor_from = cursor_from
        self.phase = phase
        self.used: set[str] = set()
        self.empty_run = 0

    def next(self, page: Page) -> str:
        """The cursor to ask for after ``page``, or an error saying why there is none."""
        where = "the last edge's cursor" if self.cursor_from == "edge" else "pageInfo.endCursor"
        if not page.records:
            self.empty_run += 1
            if self.empty_run >= MAX_EMPTY_PAGES or page.cursor is None:
                raise self.phase.fatal(
                    f"page {page.number} is empty but says hasNextPage; stopping instead of looping",
                    hint="the server's pagination is inconsistent; retry later",
                )
        else:
            self.empty_run = 0
        if not page.cursor:
            raise self.phase.fatal(
                f"page {page.number}: hasNextPage is true but {where} is missing, so the next page "
                "cannot be asked for",
                hint="select edges { cursor } in the query"
                if self.cursor_from == "edge"
                else "select pageInfo { endCursor }, or use cursor_from: edge",
            )
        if page.cursor in self.used:
            raise self.phase.fatal(
                f"page {page.number}: the server returned cursor {page.cursor!r} again; stopping "
                "instead of reading the same pages forever"
            )
        self.used.add(page.cursor)
        return page.cursor
