"""Relay-style cursor pagination with stable, opaque cursors.

A cursor is base64 of ``"<Type>:<id>"``; ``after`` means "ids greater than", so rows inserted
while a client crawls never shift the pages it has yet to read, and the same data always gives
the same cursors. ``hasNextPage``/``hasPreviousPage`` are computed exactly in both directions.
With ``pagination_order: updatedOn_desc`` the cursor also carries the row's ``updatedOn``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from engine.emulator.graphql_errors import FluentError
from engine.emulator.store import Row, Table

Predicate = Callable[[Row], bool]


def encode_cursor(type_name: str, row: Row, with_time: bool = False) -> str:
    """The opaque cursor of ``row``; ``with_time`` adds its ``updatedOn`` (for ``updatedOn_desc`` order)."""
    text = f"{type_name}:{row['id']}" + (f":{row['updatedOn']}" if with_time else "")
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def decode_cursor(cursor: str, type_name: str) -> tuple[int, str | None]:
    """The row id and ``updatedOn`` (None if absent) a cursor holds.

    Raises FluentError C0142E for a malformed cursor or one of another type's connection.
    """
    try:
        text = base64.b64decode(cursor.encode("ascii"), validate=True).decode("utf-8")
        kind, _, rest = text.partition(":")
        row_id, _, updated = rest.partition(":")
        if kind != type_name:
            raise ValueError(kind)
        return int(row_id), updated or None
    except (ValueError, UnicodeError, binascii.Error):
        raise FluentError("C0142E", f"Invalid cursor '{cursor}' for {type_name} connection") from None


class ListRows:
    """A small id-ordered list of rows (nested connections) with the Table's seek interface."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self.rows = list(rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def after(self, row_id: int) -> Iterator[Row]:
        """Rows with id > row_id, ascending (as ``Table.after``)."""
        return (r for r in self.rows if int(r["id"]) > row_id)

    def before(self, row_id: int) -> Iterator[Row]:
        """Rows with id < row_id, descending (as ``Table.before``)."""
        return (r for r in reversed(self.rows) if int(r["id"]) < row_id)


def page_size(settings: Any, value: int | None, name: str) -> int | None:
    """Check a ``first``/``last`` argument (``name``) against ``max_page_size``.

    Returns the size to use (clamped under ``page_size_overflow: clamp``) or
    None when not given; raises FluentError C0142E when negative and C0001E
    when too large.
    """
    if value is None:
        return None
    if value < 0:
        raise FluentError("C0142E", f"'{name}' must not be negative, got {value}")
    if value > settings.max_page_size:
        if settings.page_size_overflow == "clamp":
            return settings.max_page_size
        raise FluentError(
            "C0001E",
            f"Query complexity too high: '{name}' is {value}, at most {settings.max_page_size} per page",
        )
    return value


def connection(
    settings: Any, rows: Table | ListRows, type_name: str, args: dict[str, Any], keep: Predicate
) -> dict[str, Any]:
    """One page of a Relay connection (``edges`` and ``pageInfo``) over the rows ``keep`` accepts.

    ``args`` are the connection's ``first``/``after``/``last``/``before``;
    ``type_name`` scopes the cursors. Raises FluentError for bad arguments
    (both ``first`` and ``last``, a bad cursor, a bad page size).
    """
    first = page_size(settings, args.get("first"), "first")
    last = page_size(settings, args.get("last"), "last")
    if first is not None and last is not None:
        raise FluentError("C0142E", "'first' and 'last' cannot be used together")
    if settings.pagination_order == "updatedOn_desc":
        return _by_update_time(settings, rows, type_name, args, keep, first, last)
    after = decode_cursor(args["after"], type_name)[0] if args.get("after") else None
    before = decode_cursor(args["before"], type_name)[0] if args.get("before") else None
    if last is None:
        size = settings.default_page_size if first is None else first
        source = rows.after(after) if after is not None else iter(rows)
        picked = _take(source, keep, size + 1, stop=lambda r: before is not None and int(r["id"]) >= before)
        has_next = len(picked) > size
        picked = picked[:size]
        has_previous = after is not None and any(keep(r) for r in rows.before(after + 1))
    else:
        source = rows.before(before) if before is not None else reversed(list(iter(rows)))
        picked = _take(source, keep, last + 1, stop=lambda r: after is not None and int(r["id"]) <= after)
        has_previous = len(picked) > last
        picked = picked[:last][::-1]
        has_next = before is not None and any(keep(r) for r in rows.after(before - 1))
    return _shape(settings, type_name, picked, has_next, has_previous, with_time=False)


def _take(source: Iterable[Row], keep: Predicate, limit: int, stop: Callable[[Row], bool]) -> list[Row]:
    picked: list[Row] = []
    for row in source:
        if stop(row):
            break
        if keep(row):
            picked.append(row)
            if len(picked) >= limit:
                break
    return picked


def _by_update_time(
    settings: Any,
    rows: Table | ListRows,
    type_name: str,
    args: dict[str, Any],
    keep: Predicate,
    first: int | None,
    last: int | None,
) -> dict[str, Any]:
    ordered = sorted((r for r in rows if keep(r)), key=lambda r: (r["updatedOn"], int(r["id"])), reverse=True)

    def position(cursor: str) -> tuple[str, int]:
        row_id, updated = decode_cursor(cursor, type_name)
        return (updated or "", row_id)

    low = position(args["after"]) if args.get("after") else None
    high = position(args["before"]) if args.get("before") else None
    window = [
        r
        for r in ordered
        if (low is None or (r["updatedOn"], int(r["id"])) < low)
        and (high is None or (r["updatedOn"], int(r["id"])) > high)
    ]
    if last is None:
        size = settings.default_page_size if first is None else first
        picked, has_next = window[:size], len(window) > size
        has_previous = low is not None and len(window) < len(ordered)
    else:
        picked, has_previous = window[-last:] if last else [], len(window) > last
        has_next = high is not None and len(window) < len(ordered)
    return _shape(settings, type_name, picked, has_next, has_previous, with_time=True)


def _shape(
    settings: Any, type_name: str, picked: list[Row], has_next: bool, has_previous: bool, with_time: bool
) -> dict[str, Any]:
    edges = [{"node": row, "cursor": encode_cursor(type_name, row, with_time)} for row in picked]
    info: dict[str, Any] = {"hasNextPage": has_next, "hasPreviousPage": has_previous}
    if settings.pageinfo_end_cursor:
        info["startCursor"] = edges[0]["cursor"] if edges else None
        info["endCursor"] = edges[-1]["cursor"] if edges else None
    return {"edges": edges, "pageInfo": info}
