"""Fetching one page of the ``http`` source and finding its records.

Strict where a lax reader would deliver nothing and call it success: an
answer that is not JSON (an HTML login page behind a wrong ``base_url``), a
``records`` path that finds nothing on the first page (the message lists
what the answer does have), records that are not objects. A later page
without the list counts as empty: some APIs leave it out of the last page.
"""

from __future__ import annotations

from typing import Any

from engine.errors import SOURCE, SourceError
from engine.http.client import HttpClient
from engine.http.guard import json_of
from engine.http.status import path_of
from engine.jsonutil import dumps_bytes
from engine.mapping.paths import Scope
from engine.sources._http_pages import Page, Request


def fetch(
    client: HttpClient,
    method: str,
    request: Request,
    number: int,
    headers: dict[str, str],
    records_of: Any,
    records_path: str | None,
    tally: dict[str, int],
) -> Page:
    url = (
        client.resolve(request.url, request.relative_to, phase=SOURCE) if request.relative_to else request.url
    )
    content = dumps_bytes(request.body) if request.body is not None else None
    if content is not None:
        headers = {**headers, "Content-Type": "application/json"}
    resp = client.read(
        method,
        url,
        params=request.params or None,
        content=content,
        headers=headers,
        phase=SOURCE,
        tally=tally,
    )
    try:
        data = json_of(resp) if resp.content.strip() else None
    except ValueError:
        kind = "an HTML page" if resp.text.lstrip().startswith("<") else "not JSON"
        raise SourceError(
            f"page {number}: the answer to {method} {path_of(url)} is {kind}",
            hint="check the connection's base_url and the path",
        ) from None
    return Page(number, records(data, number, records_of, records_path), data, str(resp.url), resp.links)


def records(data: Any, number: int, records_of: Any, records_path: str | None) -> list[dict[str, Any]]:
    if records_of is None:
        found = data
        if not isinstance(found, list):
            raise SourceError(
                f"page {number}: the answer is not a list; set records to the path of its records "
                f"(the answer has: {_keys(data)})"
            )
    else:
        found = records_of(data, Scope(root=data))
        if found is None:
            if number > 1:
                return []
            raise SourceError(f"page 1: nothing at records {records_path!r} (the answer has: {_keys(data)})")
    found = found if isinstance(found, list) else [found]
    for i, record in enumerate(found):
        if not isinstance(record, dict):
            raise SourceError(
                f"page {number}: record {i + 1} is a {type(record).__name__}, not an object; "
                "point records at a list of objects"
            )
    return found


def _keys(data: Any) -> str:
    return ", ".join(sorted(data)[:10]) if isinstance(data, dict) else type(data).__name__
