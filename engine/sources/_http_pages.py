"""Which page to ask for next, for each kind of REST pagination, strictly.

* ``page``: a page number (``start``, ``start + 1`` ...), optionally with a page size;
* ``offset``: an offset moved by the records received, and a limit;
* ``cursor``: an opaque cursor read from each answer and sent back as a parameter;
* ``next_url``: the next page's address read from each answer (``links.next``);
* ``link``: the ``Link: <...>; rel="next"`` header (RFC 8288).

A crawl ends on an empty page, a page shorter than the size asked for (page
and offset), a ``has_more`` flag that says so, or no next cursor / link.
Where a lax client loops or stops silently, this stops with an error saying
what the server did: a cursor or address it already gave, a page identical
to the one before (the page parameter is probably ignored), or an endless
run of empty pages.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from engine.errors import SourceError
from engine.jsonutil import dumps_safe
from engine.mapping.paths import Scope, compile_getter, parse_path

MAX_EMPTY_PAGES = 50


@dataclasses.dataclass
class Request:
    url: str
    params: dict[str, Any]
    body: Any = None
    #: the page whose answer gave ``url`` (an address to resolve against it and check)
    relative_to: str | None = None


@dataclasses.dataclass
class Page:
    number: int
    records: list[dict[str, Any]]
    data: Any
    url: str
    links: dict[str | None, dict[str, str]]


def _getter(path: str | None) -> Any:
    return compile_getter(parse_path(path)) if path else None


class Pager:
    """No pagination: one request."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.o = options
        self.size = options.get("size")
        self.has_more = _getter(options.get("has_more"))
        self.where = options.get("in", "query")
        self.empty_run = 0
        self.previous: bytes | None = None

    def first(self, base: Request, remaining: int | None) -> Request:
        return base

    def next(self, page: Page, request: Request, remaining: int | None) -> Request | None:
        return None

    # -- shared rules ------------------------------------------------------------------

    def _set(self, request: Request, values: dict[Any, Any]) -> Request:
        values = {k: v for k, v in values.items() if k and v is not None}
        if self.where == "body":
            body = dict(request.body or {})
            body.update(values)
            return Request(request.url, dict(request.params), body)
        return Request(request.url, {**request.params, **values}, request.body)

    def _size(self, remaining: int | None) -> int | None:
        if self.size is None:
            return None
        return self.size if remaining is None else max(1, min(self.size, remaining))

    def _flag_says_done(self, page: Page) -> bool:
        if self.has_more is None:
            return False
        value = self.has_more(page.data, Scope(root=page.data))
        if value is None:
            raise SourceError(
                f"page {page.number}: has_more {self.o['has_more']!r} is not in the answer",
                hint="point has_more at the answer's 'more pages' flag, or leave it out",
            )
        return value is False or value in (0, "false", "False")

    def _guard(self, page: Page) -> None:
        if not page.records:
            self.empty_run += 1
            if self.empty_run >= MAX_EMPTY_PAGES:
                raise SourceError(
                    f"page {page.number}: {MAX_EMPTY_PAGES} empty pages in a row that still point "
                    "to a next page; stopping instead of looping"
                )
            return
        self.empty_run = 0
        digest = hashlib.sha256(dumps_safe(page.records).encode()).digest()
        if digest == self.previous:
            raise SourceError(
                f"page {page.number} holds the same records as page {page.number - 1}; the server "
                "seems to ignore the paging parameter, so the crawl would never end",
                hint="check the pagination parameter names against the API's documentation",
            )
        self.previous = digest


class PageNumbers(Pager):
    def first(self, base: Request, remaining: int | None) -> Request:
        self.page = int(self.o.get("start", 1))
        return self._set(base, {self.o.get("param", "page"): self.page, self.o.get("size_param"): self.size})

    def next(self, page: Page, request: Request, remaining: int | None) -> Request | None:
        if not page.records or self._flag_says_done(page):
            return None
        if self.size is not None and len(page.records) < self.size and self.has_more is None:
            return None
        self._guard(page)
        self.page += 1
        return self._set(request, {self.o.get("param", "page"): self.page})


class Offsets(Pager):
    def first(self, base: Request, remaining: int | None) -> Request:
        self.offset = int(self.o.get("start", 0))
        self.asked = self._size(remaining)
        return self._set(
            base, {self.o.get("param", "offset"): self.offset, self.o.get("limit_param", "limit"): self.asked}
        )

    def next(self, page: Page, request: Request, remaining: int | None) -> Request | None:
        if not page.records or self._flag_says_done(page):
            return None
        if self.asked is not None and len(page.records) < self.asked and self.has_more is None:
            return None
        self._guard(page)
        # moved by what arrived, so a server capping the limit below ``size`` loses nothing
        self.offset += len(page.records)
        self.asked = self._size(remaining)
        return self._set(
            request,
            {self.o.get("param", "offset"): self.offset, self.o.get("limit_param", "limit"): self.asked},
        )


class Cursors(Pager):
    """``cursor`` (a token sent back as a parameter) and ``next_url`` (an address to follow)."""

    def __init__(self, options: dict[str, Any], *, follow: bool) -> None:
        super().__init__(options)
        self.follow = follow
        self.cursor_of = _getter(options["path"])
        self.used: set[str] = set()

    def first(self, base: Request, remaining: int | None) -> Request:
        return self._set(base, {self.o.get("size_param"): self._size(remaining)})

    def next(self, page: Page, request: Request, remaining: int | None) -> Request | None:
        if self._flag_says_done(page):
            return None
        cursor = self.cursor_of(page.data, Scope(root=page.data))
        if cursor is None or cursor == "" or cursor is False:
            return None
        if isinstance(cursor, dict | list):
            raise SourceError(
                f"page {page.number}: {self.o['path']!r} holds a {type(cursor).__name__}, not a "
                "cursor; point pagination path at the cursor value itself"
            )
        cursor = str(cursor)
        self._guard(page)
        if cursor in self.used:
            what = "next address" if self.follow else "cursor"
            raise SourceError(
                f"page {page.number}: the server returned the {what} {cursor!r} again; stopping "
                "instead of reading the same pages forever"
            )
        self.used.add(cursor)
        if self.follow:
            return Request(cursor, {}, request.body, relative_to=page.url)
        return self._set(
            request, {self.o.get("param", "cursor"): cursor, self.o.get("size_param"): self._size(remaining)}
        )


class Links(Pager):
    """``Link: <https://api.example/orders?page=3>; rel="next"``."""

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        self.rel = options.get("rel", "next")
        self.used: set[str] = set()

    def first(self, base: Request, remaining: int | None) -> Request:
        return self._set(base, {self.o.get("size_param"): self._size(remaining)})

    def next(self, page: Page, request: Request, remaining: int | None) -> Request | None:
        link = (page.links.get(self.rel) or {}).get("url")
        if not link:
            return None
        self._guard(page)
        if link in self.used:
            raise SourceError(
                f"page {page.number}: the Link header points to {link!r} again; stopping instead "
                "of reading the same pages forever"
            )
        self.used.add(link)
        return Request(link, {}, request.body, relative_to=page.url)


def page_cap(number: int, max_pages: int) -> None:
    """Stop a crawl whose page ``number`` says there is another, once ``max_pages`` were read.

    Raised before page ``number`` is delivered; the run fails, so the
    watermark stays where it was (used by every paginated source).
    """
    if number >= max_pages:
        raise SourceError(
            f"page {number}: max_pages ({max_pages}) pages read and the server still offers another; "
            "stopping, and the watermark stays where it was",
            hint="raise max_pages if there really are that many pages, narrow the query, or check "
            "that the server's pagination ends",
        )


KINDS = ("page", "offset", "cursor", "next_url", "link")


def make_pager(pagination: dict[str, Any] | None) -> tuple[str, Pager]:
    """The pagination kind named in the block and a fresh pager for one crawl."""
    if not pagination:
        return "none", Pager({})
    kind, options = next(iter(pagination.items()))
    options = options or {}
    if kind == "page":
        return kind, PageNumbers(options)
    if kind == "offset":
        return kind, Offsets(options)
    if kind in ("cursor", "next_url"):
        return kind, Cursors(options, follow=kind == "next_url")
    return kind, Links(options)
