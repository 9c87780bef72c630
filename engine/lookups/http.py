"""Answers from a REST API: one request per key, or one per batch of keys where the API takes a list.

```yaml
connections:
  shop: {type: http, base_url: "https://api.shop.example/v2", auth: {bearer: "${env:SHOP_TOKEN}"}}
lookups:
  product:
    type: http
    connection: shop
    key: {sku: sku}              # the key's part sku comes from the record's sku
    path: /products/{sku}        # the key's parts are the placeholders
    records: data                # where the answer is in the response (default: all of it)
    concurrency: 4               # requests in flight at once
```

Per key (the default), every key of a batch is one request whose ``path``,
``params``, ``headers`` and ``body`` have the key's parts filled in
(``{sku}``, or ``{key}`` for ``key: sku``; ``{$context.x}`` reads the run's
context); up to
``concurrency`` of them are in flight at once. A status in
``missing_status`` (``404`` by default) or an empty answer means the key
has no answer, and its ``on_missing`` policy applies.

With ``batch: true`` one request carries a whole batch of keys (up to
``batch_size``): each part's placeholder is the list of the batch's
distinct values (``params: {sku: "{sku}"}`` sends ``?sku=A1&sku=B2``; with
``join: ","`` it is the text ``A1,B2``; in a JSON ``body`` it stays a list).
The answer's ``records`` are matched back to the keys by ``match`` (the
answer's path of each part, by default the part's own name); records nobody
asked for are ignored, and two records for one key fail the batch.

Every request goes through the connection's client: its auth, timeouts,
guard and retry policy (5xx, 408, 429 and a server that cannot be reached
are retried; after the last attempt the lookup's ``on_error`` decides).
``rate_limit`` caps this lookup's own requests per second, below the
connection's ``rate_limit``.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from typing_extensions import override

from engine.contracts import RunContext
from engine.errors import LOOKUP, AuthError, ConfigError, LookupFailedError, PartialLookupError
from engine.http.client import HttpClient
from engine.http.guard import json_of
from engine.http.status import check
from engine.http.templates import Missing, Structure, Template
from engine.jsonutil import dumps_bytes
from engine.lookups.base import MATCH, CommonOptions, LookupBase, match_parts, schema
from engine.mapping.paths import PathSyntaxError, Scope, compile_getter, parse_path
from engine.retry import RateLimiter

SCHEMA: dict[str, Any] = schema(
    {
        "connection": {"type": "string", "x-connection": "http"},
        "method": {"enum": ["GET", "POST"], "default": "GET", "description": "GET, or POST for a search"},
        "path": {
            "type": "string",
            "description": "relative to the connection's base_url; {part} placeholders",
        },
        "params": {
            "type": "object",
            "default": {},
            "description": "query parameters; values may hold {part} placeholders",
        },
        "headers": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "default": {},
            "description": "headers of the lookup's requests (the connection's are added)",
        },
        "body": {"description": "a JSON body (with POST); strings may hold {part} placeholders"},
        "records": {
            "type": "string",
            "description": "path of the answer in a response (a list of answers with batch: true); "
            "default: the whole response",
        },
        "batch": {
            "type": "boolean",
            "default": False,
            "description": "one request per batch of keys: each {part} is the list of the batch's values",
        },
        "join": {
            "type": "string",
            "description": "with batch: true, a part's values joined into one text by this separator "
            "(?sku=A1,B2) instead of a list",
        },
        "match": MATCH,
        "missing_status": {
            "type": "array",
            "items": {"type": "integer", "minimum": 400, "maximum": 499},
            "default": [404],
            "description": "statuses that mean 'no answer for this key' (not a failure)",
        },
        "concurrency": {
            "type": "integer",
            "minimum": 1,
            "maximum": 64,
            "default": 4,
            "description": "requests in flight at once (per key)",
        },
        "rate_limit": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "at most this many of the lookup's requests per second",
        },
    },
    ["connection", "path"],
)


@dataclasses.dataclass
class HttpLookupOptions(CommonOptions):
    """The validated ``http`` lookup block; ``connection`` names an ``http`` connection."""

    connection: str
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]
    body: Any
    records: str | None
    batch: bool
    join: str | None
    match: str | dict[str, str] | None
    missing_status: list[int]
    concurrency: int
    rate_limit: float | None


class HttpLookup(LookupBase):
    """Asks a REST API for each key (concurrently) or for each batch of keys, through the connection's client."""

    name = "http"
    summary = "answers from a REST API, a request per key (concurrent) or per batch of keys"
    schema = SCHEMA
    Options = HttpLookupOptions

    def __init__(self, options: HttpLookupOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.client: HttpClient | None = None
        self.context: dict[str, Any] = {}
        self.limiter = RateLimiter(options.rate_limit)
        self.counts = {"requests": 0, "retries": 0}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self.url: Template | None = None
        self.request = Structure({}, path)
        self.records_of: Any = None
        self.getters: list[Any] = []
        self._compile(options, path)

    def _compile(self, o: HttpLookupOptions, path: str) -> None:
        try:
            self.url = Template(o.path, f"{path}.path")
            self.request = Structure({"params": o.params, "headers": o.headers, "body": o.body}, path)
        except ConfigError as exc:
            self._problems.append(((), exc.message))
        try:
            self.records_of = compile_getter(parse_path(o.records)) if o.records else None
        except PathSyntaxError as exc:
            self._problems.append((("records",), exc.message))
        match = match_parts(o.match, self.parts)
        try:
            self.getters = [compile_getter(parse_path(match[p])) for p in self.parts]
        except PathSyntaxError as exc:
            self._problems.append((("match",), exc.message))
        except KeyError as exc:
            self._problems.append((("match",), f"no path for the key's part {exc}"))
        if o.body is not None and o.method == "GET":
            self._problems.append((("body",), "a body needs method: POST"))
        if o.join is not None and not o.batch:
            self._problems.append((("join",), "join is for batch: true (a batch of keys in one request)"))
        for template in [*([self.url] if self.url else []), *self.request.templates]:
            where = tuple(template.where.removeprefix(f"{path}.").split("."))
            for name in template.paths:
                if not name.startswith("$context") and name not in self.parts:
                    self._problems.append(
                        (
                            where,
                            f"{{{name}}} is not a part of the key (parts: {', '.join(self.parts)}; "
                            "key: sku has the one part 'key')",
                        )
                    )
        if o.batch and self.url is not None and any(p in self.parts for p in self.url.paths) and not o.join:
            self._problems.append(
                (
                    ("path",),
                    "with batch: true a key part in the path needs join (a list is not one path segment)",
                )
            )

    @override
    def open(self, run: RunContext) -> None:
        self.client = run.connection(self.options.connection).client
        self.context = dict(run.context)
        if self.options.concurrency > 1 and not self.options.batch:
            self._pool = ThreadPoolExecutor(
                self.options.concurrency, thread_name_prefix=f"lookup-{self.path}"
            )

    @override
    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        super().close()

    @override
    def fetch(self, keys: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], Any]:
        if self.options.batch:
            return self._batch(keys)
        found: dict[tuple[str, ...], Any] = {}
        failed: dict[tuple[str, ...], LookupFailedError] = {}
        if self._pool is not None:
            futures = [(key, self._pool.submit(self._one, key)) for key in keys]
            outcomes = [(key, _outcome(future.result)) for key, future in futures]
        else:
            outcomes = [(key, _outcome(functools.partial(self._one, key))) for key in keys]
        for key, answer in outcomes:
            if isinstance(answer, LookupFailedError):
                failed[key] = answer
            elif answer is not None and answer != [] and answer != {}:
                found[key] = answer
        if failed:
            first = next(iter(failed.values()))
            if len(failed) == len(keys):
                raise first
            raise PartialLookupError(
                f"{self.path}: {len(failed)} of {len(keys)} keys failed; the first: "
                f"{str(first).removeprefix(self.path + ': ')}",
                answers=found,
                failed={key: str(error) for key, error in failed.items()},
            )
        return found

    def _one(self, key: tuple[str, ...]) -> Any:
        """The answer for one key, or None when the API has none."""
        data = self._ask(dict(zip(self.parts, key, strict=True)))
        if data is None or self.records_of is None:
            return data
        return self.records_of(data, Scope(root=data))

    def _batch(self, keys: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], Any]:
        values: dict[str, Any] = {}
        for n, part in enumerate(self.parts):
            distinct = sorted({k[n] for k in keys})
            values[part] = self.options.join.join(distinct) if self.options.join is not None else distinct
        data = self._ask(values)
        if data is None:
            return {}
        found_list = self.records_of(data, Scope(root=data)) if self.records_of is not None else data
        if found_list is None:
            return {}
        if not isinstance(found_list, list):
            raise LookupFailedError(
                f"{self.path}: the answer to a batch of keys is a {type(found_list).__name__}, not a list; "
                "point records at the list of answers"
            )
        wanted = set(keys)
        found: dict[tuple[str, ...], Any] = {}
        for item in found_list:
            key = self._key_of(item)
            if key is None or key not in wanted:
                continue
            if key in found:
                raise LookupFailedError(
                    f"{self.path}: two answers for {dict(zip(self.parts, key, strict=True))}; "
                    "a lookup never picks one of two"
                )
            found[key] = item
        return found

    def _key_of(self, item: Any) -> tuple[str, ...] | None:
        if not isinstance(item, dict):
            return None
        scope = Scope(root=item)
        parts = []
        for get in self.getters:
            value = get(item, scope)
            if value is None:
                return None
            parts.append(value if isinstance(value, str) else str(value))
        return tuple(parts)

    def _ask(self, values: dict[str, Any]) -> Any:
        """One request (retried by the connection's policy) filled in from ``values``; None for a missing status."""
        assert self.client is not None and self.url is not None, "the lookup is used before the run opened it"
        client = self.client
        try:
            url = self.url.render(values, self.context, encode=True)
            parts = self.request.render(values, self.context, omit_missing=True)
        except Missing as exc:
            raise LookupFailedError(f"{self.path}: {{{exc.path}}} has no value") from None
        body = parts.get("body")
        content = dumps_bytes(body) if body is not None else None
        headers = {str(k): str(v) for k, v in parts.get("headers", {}).items()}
        if content is not None:
            headers["Content-Type"] = "application/json"
        method = self.options.method
        what = client.what(method, url)

        def once(attempt: int) -> Any:
            self.limiter.acquire()
            self._count("requests")
            if attempt:
                self._count("retries")
            resp = client.exchange(
                method,
                url,
                write=False,
                phase=LOOKUP,
                params=parts.get("params") or None,
                content=content,
                headers=headers,
            )
            if resp.status_code in self.options.missing_status:
                return None
            check(resp, what, LOOKUP, write=False)
            if not resp.content.strip():
                return None
            try:
                return json_of(resp)
            except ValueError:
                raise LookupFailedError(
                    f"{self.path}: the answer to {what} is not JSON",
                    hint="check the connection's base_url and path",
                ) from None

        try:
            return client.retrying(once, what)
        except LookupFailedError as exc:
            exc.message = f"{self.path}: {exc.message}"
            raise

    def _count(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    @override
    def stats(self) -> dict[str, Any]:
        return dict(self.counts)


def _outcome(ask: Callable[[], Any]) -> Any:
    """``ask()``, or the lookup error it raised (credentials refused are raised: never one key's matter)."""
    try:
        return ask()
    except AuthError:
        raise
    except LookupFailedError as exc:
        return exc
