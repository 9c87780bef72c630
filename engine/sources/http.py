"""Records from a REST API: paginated, optionally incremental on a watermark.

```yaml
connections:
  shop: {type: http, base_url: "https://api.shop.example/v2", auth: {bearer: "${env:SHOP_TOKEN}"}}
source:
  type: http
  connection: shop
  path: /orders
  params: {status: cancelled}
  records: data
  pagination: {cursor: {path: meta.next_cursor, param: cursor, size_param: limit, size: 100}}
  watermark: {field: updated_at, param: updated_since, initial: "2026-01-01T00:00:00Z", overlap: 60s}
```

Each page becomes one chunk of records (``records`` is the path to them in
an answer; without it the answer must be the list). ``pagination`` names one
kind (``page``, ``offset``, ``cursor``, ``next_url``, ``link``; see
``_http_pages``); without it one request is made. ``max_records`` is exact:
the last page is asked for only what is still needed where the API allows
it, and sliced. ``max_pages`` (default 10,000) fails the run rather than
follow a server that never stops paginating. Records are deduplicated by
``id_field`` across pages (rows shift between offset pages while an API is
being written to). The next page is fetched while the runner maps and
writes the current one.

``path``, ``params``, ``body`` and ``headers`` may hold ``{$context.x}``
placeholders; a parameter whose placeholder has no value is left out. With
``watermark`` the lower bound (the last run's watermark minus ``overlap``,
``initial`` on a first run) goes in ``watermark.param`` and is readable as
``{$context.watermark}``; records already delivered in the overlap are
dropped. The new watermark is stored only after the target acknowledged
every record, and not at all when ``max_records`` cut the crawl short.
``engine run --since/--until`` backfills a window without reading or moving
the stored watermark (``--until`` goes in ``until_param`` or
``{$context.until}``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import IO, Any

from typing_extensions import override

from engine.contracts import Chunk, Item, RunContext, Source
from engine.errors import ConfigError, SourceError
from engine.http.templates import Missing, Structure, Template
from engine.mapping.paths import PathSyntaxError, Scope, compile_getter, parse_path
from engine.sources import _http_stamps as stamps
from engine.sources._http_pages import Page, Request, make_pager, page_cap
from engine.sources._http_read import fetch
from engine.sources.watermark import Crawl, Tracker, Watermark, parse_instant, store
from engine.units import duration

STATE_KEY = "http.watermark"


_SIZE = {"type": "integer", "minimum": 1, "description": "records per page asked for"}
_SIZE_PARAM = {"type": "string", "minLength": 1, "description": "parameter carrying the page size"}
_HAS_MORE = {
    "type": "string",
    "description": "path of the answer's 'more pages' flag (it then decides the end)",
}
_IN = {
    "enum": ["query", "body"],
    "default": "query",
    "description": "paging values go in the query string or in the JSON body (POST searches)",
}


def _kind(
    properties: dict[str, Any], required: tuple[str, ...] = (), description: str = ""
) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(required),
        "description": description,
        "properties": properties,
    }


PAGINATION: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "maxProperties": 1,
    "description": "one of page, offset, cursor, next_url, link (leave out for a single request)",
    "x-error": "give exactly one kind of pagination: page, offset, cursor, next_url or link (or leave "
    "pagination out: one request)",
    "properties": {
        "page": _kind(
            {
                "param": {"type": "string", "default": "page"},
                "start": {"type": "integer", "default": 1, "description": "number of the first page"},
                "size": {
                    **_SIZE,
                    "description": "page size (asked for with size_param); a shorter page is the last",
                },
                "size_param": _SIZE_PARAM,
                "has_more": _HAS_MORE,
                "in": _IN,
            },
            description="page numbers: ?page=1, 2, 3 ... until an empty or short page",
        ),
        "offset": _kind(
            {
                "param": {"type": "string", "default": "offset"},
                "limit_param": {"type": "string", "default": "limit"},
                "start": {"type": "integer", "minimum": 0, "default": 0},
                "size": {**_SIZE, "default": 100},
                "has_more": _HAS_MORE,
                "in": _IN,
            },
            description="?offset=0&limit=100, moved by the records received, until an empty or short page",
        ),
        "cursor": _kind(
            {
                "path": {
                    "type": "string",
                    "description": "path of the next cursor in the answer (meta.next_cursor)",
                },
                "param": {
                    "type": "string",
                    "default": "cursor",
                    "description": "parameter the cursor is sent in",
                },
                "size": _SIZE,
                "size_param": _SIZE_PARAM,
                "has_more": _HAS_MORE,
                "in": _IN,
            },
            ("path",),
            "an opaque cursor from each answer, sent back until there is none",
        ),
        "next_url": _kind(
            {
                "path": {
                    "type": "string",
                    "description": "path of the next page's address in the answer (links.next)",
                },
                "size": _SIZE,
                "size_param": _SIZE_PARAM,
                "has_more": _HAS_MORE,
            },
            ("path",),
            "the next page's address from each answer, followed until there is none",
        ),
        "link": _kind(
            {
                "rel": {"type": "string", "default": "next"},
                "size": _SIZE,
                "size_param": _SIZE_PARAM,
            },
            description='the Link: <...>; rel="next" header (RFC 8288), followed until there is none',
        ),
    },
}

WATERMARK: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["field"],
    "properties": {
        "field": {"type": "string", "description": "path of each record's update time, e.g. updated_at"},
        "param": {
            "type": "string",
            "description": "query parameter receiving the lower bound "
            "(or use {$context.watermark} in params or body)",
        },
        "until_param": {
            "type": "string",
            "description": "query parameter receiving --until (or use {$context.until})",
        },
        "initial": {"type": "string", "description": "lower bound of the first run (ISO-8601)"},
        "overlap": duration("re-read this far behind the watermark (late writes, clock skew)", default="60s"),
        "format": {
            "type": "string",
            "default": "iso",
            "description": "how bounds are sent and record times read: iso, epoch, epoch_ms, or a "
            "strftime pattern such as %Y-%m-%d %H:%M:%S",
        },
    },
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["connection", "path"],
    "properties": {
        "connection": {"type": "string", "x-connection": "http"},
        "path": {
            "type": "string",
            "description": "relative to the connection's base_url; may hold {$context.x} placeholders",
        },
        "method": {"enum": ["GET", "POST"], "default": "GET", "description": "POST for search endpoints"},
        "params": {
            "type": "object",
            "default": {},
            "x-secret": "credential-names",
            "description": "query parameters; values may hold {$context.x} and {$context.watermark}",
        },
        "body": {
            "type": ["object", "array"],
            "description": "JSON body of a POST, with placeholders like params",
        },
        "headers": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "default": {},
            "x-secret": "credential-names",
        },
        "records": {
            "type": "string",
            "description": "path of the records in an answer (data.items); leave out "
            "when the answer is the list itself",
        },
        "pagination": PAGINATION,
        "max_records": {"type": "integer", "minimum": 1, "description": "deliver exactly this many at most"},
        "max_pages": {
            "type": "integer",
            "minimum": 1,
            "default": 10000,
            "description": "fail the run rather than read more pages than this (a server that never "
            "stops paginating); the watermark does not move",
        },
        "id_field": {
            "type": ["string", "null"],
            "default": "id",
            "description": "path of each record's id, for deduplication (null: no deduplication)",
        },
        "watermark": WATERMARK,
    },
}


@dataclasses.dataclass
class HttpSourceOptions:
    """The validated ``http`` source block; ``connection`` names an ``http`` connection."""

    connection: str
    path: str
    method: str
    params: dict
    body: Any
    headers: dict
    records: str | None
    pagination: dict | None
    max_records: int | None
    max_pages: int
    id_field: str | None
    watermark: dict | None


class HttpSource(Source):
    """Pages through one API endpoint and yields each page as a chunk of records.

    A run is one item. Templates and record paths are compiled at construction
    (mistakes become :meth:`problems`); the watermark reached is held until
    :meth:`complete` confirms the item succeeded.
    """

    name = "http"
    summary = "records from a REST API: page, offset, cursor or Link pagination, incremental on a watermark"
    schema = SCHEMA
    Options = HttpSourceOptions
    produces = "records"

    def __init__(self, options: HttpSourceOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        o = options
        self._problems: list[tuple[tuple, str]] = []
        self.path_t = Template(o.path, f"{path}.path")
        self.params = Structure(o.params or {}, f"{path}.params")
        self.body = Structure(o.body, f"{path}.body") if o.body is not None else None
        self.headers = Structure(o.headers or {}, f"{path}.headers")
        self.records_of = self._getter(o.records, "records")
        self.id_of = self._getter(o.id_field, "id_field")
        wm = o.watermark or {}
        self.stamp_of = self._getter(wm.get("field"), "watermark.field")
        self.overlap: float = wm.get("overlap", 0.0)
        self.format = str(wm.get("format", "iso"))
        self._check(o, wm)
        self.counts: dict[str, Any] = {}
        self.pending: dict[str, Watermark | None] = {}
        self.client: Any = None
        self.tally: dict[str, int] = {}

    def _getter(self, text: str | None, key: str) -> Any:
        if not text:
            return None
        try:
            return compile_getter(parse_path(text))
        except PathSyntaxError as exc:
            self._problems.append(((*key.split("."),), exc.message))
            return None

    def _templated(self, name: str) -> bool:
        parts = [self.path_t.uses(name), self.params.uses(name), self.headers.uses(name)]
        return any(parts) or (self.body is not None and self.body.uses(name))

    def _check(self, o: HttpSourceOptions, wm: dict[str, Any]) -> None:
        if o.method == "GET" and o.body is not None:
            self._problems.append((("body",), "a GET sends no body; use method: POST, or params"))
        paging = next(iter((o.pagination or {}).values()), None) or {}
        if paging.get("in") == "body" and o.method != "POST":
            self._problems.append((("pagination",), "paging values in the body need method: POST"))
        if "size_param" in paging and "size" not in paging:
            self._problems.append((("pagination",), "size_param needs size (the page size to ask for)"))
        if not wm:
            return
        if wm.get("initial"):
            try:
                parse_instant(wm["initial"], "initial")
            except ConfigError as exc:
                self._problems.append((("watermark", "initial"), exc.message))
        if not stamps.valid_format(self.format):
            self._problems.append(
                (
                    ("watermark", "format"),
                    f"unknown format {self.format!r}: use iso, epoch, "
                    "epoch_ms or a strftime pattern such as %Y-%m-%d",
                )
            )
        if not wm.get("param") and not self._templated("$context.watermark"):
            self._problems.append(
                (
                    ("watermark",),
                    "the lower bound is not sent: set watermark.param, or use "
                    "{$context.watermark} in params or body",
                )
            )

    def problems(self) -> list[tuple[tuple, str]]:
        """Mistakes found at construction: bad paths, a GET body, unworkable paging or watermark settings."""
        return self._problems

    @override
    def items(self, run: RunContext) -> Iterator[Item]:
        # one item per run: the ledger must never judge an API done, nor hold a failed read back;
        # what was delivered is the watermark's business
        yield Item(
            uri=f"http-source://{self.options.connection}{self._where()}?run={run.run_id}",
            name=self._where(),
            etag=run.run_id,
            mtime=run.started,
        )

    def _where(self) -> str:
        text = str(self.options.path)
        return text if text.startswith("/") else "/" + text

    @override
    def read(self, item: Item) -> IO[bytes]:
        raise ConfigError(
            f"{self.path}: this source yields records, not bytes (state.dedupe: checksum does "
            "not apply; use the watermark)"
        )

    # -- the crawl -----------------------------------------------------------------------

    def _bounds(self, run: RunContext) -> tuple[Tracker | None, dict[str, Any]]:
        """The watermark tracker of this run and the values placeholders see."""
        wm = self.options.watermark
        backfill = bool(run.since or run.until)
        if backfill and not wm:
            raise ConfigError(f"{self.path}: --since/--until need a watermark block in the source")
        if run.until and not (wm or {}).get("until_param") and not self._templated("$context.until"):
            raise ConfigError(
                f"{self.path}: --until needs watermark.until_param or {{$context.until}} in params"
            )
        context: dict[str, Any] = dict(run.context)
        if not wm:
            return None, context
        previous = (
            Watermark(None, {}) if backfill else Watermark.load(run.state.kv_get(run.connector, STATE_KEY))
        )
        tracker = Tracker(previous, self.overlap, datetime.now(UTC))
        lower = parse_instant(run.since, "--since") if run.since else tracker.lower_bound(wm.get("initial"))
        if lower is not None:
            context["watermark"] = stamps.send(lower, self.format)
        if run.until:
            context["until"] = stamps.send(parse_instant(run.until, "--until"), self.format)
        return tracker, context

    def _first(self, context: dict[str, Any]) -> Request:
        wm = self.options.watermark or {}
        try:
            url = self.path_t.render({}, context, encode=True)
        except Missing as exc:
            raise ConfigError(f"{exc}: the path cannot be built") from None
        params = self.params.render({}, context, omit_missing=True)
        for key, value in params.items():
            if isinstance(value, dict):
                raise ConfigError(f"{self.path}.params.{key}: an object cannot be a query parameter")
        for key, name in (("param", "watermark"), ("until_param", "until")):
            if wm.get(key) and name in context:
                params[wm[key]] = context[name]
        body = self.body.render({}, context, omit_missing=True) if self.body is not None else None
        url = str(url)
        if url.startswith(("http://", "https://")):
            return Request(
                url, params, body, relative_to=url
            )  # checked: credentials stay on base_url's server
        return Request(url.lstrip("/"), params, body)

    def _fetch(self, request: Request, number: int, headers: dict[str, str]) -> Page:
        return fetch(
            self.client,
            self.options.method,
            request,
            number,
            headers,
            self.records_of,
            self.options.records,
            self.tally,
        )

    @override
    def read_records(self, item: Item, run: RunContext) -> Iterator[Chunk]:
        o = self.options
        self.client = run.connection(o.connection).client
        tracker, context = self._bounds(run)
        headers = {str(k): str(v) for k, v in self.headers.render({}, context, omit_missing=True).items()}
        crawl = Crawl(
            tracker,
            o.max_records,
            id_of=self.id_of,
            stamp_of=self._stamp if self.stamp_of is not None else None,
            field=(o.watermark or {}).get("field"),
        )
        counts = self.counts = crawl.counts
        self.tally = {"requests": 0, "retries": 0}
        if tracker is not None:
            counts["watermark_from"] = context.get("watermark")
        _, pager = make_pager(o.pagination)
        request = pager.first(self._first(context), o.max_records)
        # the next page is asked for while the runner maps and writes this one
        ahead = ThreadPoolExecutor(1, thread_name_prefix="http-page")
        try:
            pending: Future | None = ahead.submit(self._fetch, request, 1, headers)
            while pending is not None:
                page = pending.result()
                out, first = crawl.keep(page.records, page.number)
                pending = None
                if crawl.full:
                    counts["truncated"] = counts["truncated"] or _more(pager, page, request)
                else:
                    nxt = pager.next(page, request, crawl.remaining)
                    if nxt is not None:
                        page_cap(page.number, o.max_pages)
                        request = nxt
                        pending = ahead.submit(self._fetch, request, page.number + 1, headers)
                if out:
                    yield Chunk(
                        item,
                        out,
                        list(range(first, first + len(out))),
                        locators=[f"page {page.number}"] * len(out),
                    )
        finally:
            ahead.shutdown(wait=False, cancel_futures=True)
        backfill = bool(run.since or run.until)
        self.pending[item.uri] = crawl.finish(run.log, "api read", backfill=backfill, path=self._where())

    def _stamp(self, record: Any, scope: Scope, where: str) -> str | None:
        """A record's update time in the watermark's form (the API writes it in ``format``)."""
        return stamps.read(self.stamp_of(record, scope), self.format, where)

    @override
    def complete(self, item: Item, ok: bool, run: RunContext) -> str | None:
        store(run, STATE_KEY, self.pending.pop(item.uri, None), ok)
        return None

    def stats(self) -> dict[str, Any]:
        """The last read's counters for the run report: pages, records, drops, watermarks, requests."""
        return {**self.counts, **self.tally}


def _more(pager: Any, page: Page, request: Request) -> bool:
    """Whether the API had more pages when ``max_records`` was reached."""
    try:
        return pager.next(page, request, 1) is not None
    except SourceError:
        return True
