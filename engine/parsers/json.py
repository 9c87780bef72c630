"""JSON parser: the records of one JSON document, streamed with ijson.

```yaml
parser:
  type: json
  records: data.items
```

Without ``records``, a top-level array yields one record per element and a
top-level object is one record. With ``records: a.b`` the array at that path
is streamed element by element (``a[*].b`` reaches arrays inside arrays), so
memory stays flat however large the file; a file without that key is an
error, an empty array is not. A syntax error (a truncated file, bytes that
are not UTF-8, ``NaN``) stops the file naming the last good record, the byte
range and the text around the error; records before it have already flowed.
Numbers and repeated keys follow :mod:`engine.parsers._json_values` (the
same rules as ``jsonl``): integers exact at any size, a number a float would
turn into 0 or infinity kept as a Decimal, a record with a repeated key
rejected naming it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import IO, Any

from typing_extensions import override

from engine.contracts import Chunk, Item, Parser, ParseReject, RunContext
from engine.errors import ParseError
from engine.jsonutil import dumps
from engine.mapping.paths import Key, PathSyntaxError, Wildcard, parse_path
from engine.parsers._json_guard import NestingGuard, TooDeep
from engine.parsers._json_values import ObjectBuilder

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "records": {"type": "string", "description": "path to the array of records, e.g. data.items"},
        "chunk_size": {"type": "integer", "minimum": 1, "maximum": 1000000, "default": 5000},
        "max_depth": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1000,
            "default": 64,
            "description": "deeper nesting stops the file (protects memory against nesting bombs)",
        },
    },
}


@dataclasses.dataclass
class JsonOptions:
    """A validated ``parser: {type: json}`` block; defaults and meanings are in :data:`SCHEMA`."""

    records: str | None
    chunk_size: int
    max_depth: int


_BLOCK = 16 * 1024


def ijson_prefix(path_text: str) -> str:
    """Our path (``data.items``, ``orders[*].lines``) as an ijson prefix of array items."""
    path = parse_path(path_text)
    if path.variable is not None:
        raise PathSyntaxError(path_text, 0, "a records path starts at the document, not a variable")
    parts = []
    for step in path.steps:
        if isinstance(step, Key):
            if "." in step.name:
                raise PathSyntaxError(path_text, 0, "keys containing '.' cannot be streamed")
            parts.append(step.name)
        elif isinstance(step, Wildcard):
            parts.append("item")
        else:
            raise PathSyntaxError(path_text, 0, "only keys and [*] can be used in a records path")
    parts.append("item")
    return ".".join(parts)


class JsonParser(Parser):
    """Streams the records of one JSON document; ``records`` is turned into an ijson prefix once."""

    name = "json"
    summary = "JSON documents; arrays streamed element by element"
    schema = SCHEMA
    Options = JsonOptions

    def __init__(self, options: JsonOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.prefix = ijson_prefix(options.records) if options.records else None

    def problems(self) -> list[tuple[tuple, str]]:
        """None: a bad ``records`` path already fails in the constructor, with its position."""
        return []

    @override
    def parse(self, stream: IO[bytes], item: Item, run: RunContext | None = None) -> Iterator[Chunk]:
        import ijson

        size = self.options.chunk_size
        prefix = self.prefix
        head, skipped = _peek(stream)
        if head in (b"\xfe", b"\xff", b"\x00"):
            raise ParseError(
                f"{item.name}: the file looks like UTF-16 or UTF-32 JSON; JSON files must be UTF-8",
                hint="convert it, e.g. iconv -f UTF-16 -t UTF-8",
            )
        if prefix is None:
            if head == b"{":
                prefix = ""
            elif head == b"[":
                prefix = "item"
            elif head == b"":
                return
            else:
                raise ParseError(f"{item.name}: not a JSON document (it starts with {head!r})")
        key = _last_key(self.options.records)
        counted = _Counted(_Prepend(head, stream), key, skipped, NestingGuard(self.options.max_depth, _BLOCK))
        label = self.options.records or ""
        builder = ObjectBuilder()
        out = _Pending(item, size)
        n = 0
        try:
            for value in ijson.items(counted, prefix, buf_size=_BLOCK, map_type=builder.map_type):
                n += 1
                record, problem = builder.finish(value)
                out.add(n, record, f"{label}[{n - 1}]" if prefix else "$", problem)
                if out.full():
                    yield out.take()
        except TooDeep as exc:
            if out.records or out.rejects:
                yield out.take()
            raise ParseError(
                f"{item.name}: {exc} {counted.where()}, after record {n}", hint=exc.hint
            ) from None
        except (ijson.common.IncompleteJSONError, ijson.common.JSONError, UnicodeDecodeError) as exc:
            if out.records or out.rejects:
                yield out.take()
            last = f" (the last good one is {label}[{n - 1}])" if n and prefix else ""
            raise ParseError(
                f"{item.name}: invalid JSON after record {n}{last}, {counted.where()}: {_describe(exc)}"
            ) from None
        if out.records or out.rejects:
            yield out.take()
        if n == 0 and key is not None and not counted.found:
            raise ParseError(
                f"{item.name}: no array found at '{self.options.records}' (the file has no key "
                f"'{key.decode(errors='replace')[1:-1]}')",
                hint="check parser.records against the file's structure",
            )


class _Pending:
    """The chunk being filled: records with their positions and locators, and the records rejected."""

    def __init__(self, item: Item, size: int) -> None:
        self.item = item
        self.size = size
        self.records: list[Any] = []
        self.positions: list[int] = []
        self.locators: list[str] = []
        self.rejects: list[ParseReject] = []

    def add(self, n: int, record: Any, locator: str, problem: str | None) -> None:
        if problem is None:
            self.records.append(record)
            self.positions.append(n)
            self.locators.append(locator)
        else:
            self.rejects.append(ParseReject(n, problem, None, record, locator))

    def full(self) -> bool:
        return len(self.records) + len(self.rejects) >= self.size

    def take(self) -> Chunk:
        chunk = Chunk(
            self.item, self.records, self.positions, None, None, self.locators, rejects=self.rejects or None
        )
        self.records, self.positions, self.locators, self.rejects = [], [], [], []
        return chunk


def _last_key(records: str | None) -> bytes | None:
    """The records path's last key as it appears in the file (``"items"``), to tell a wrong path from an empty array."""
    if not records:
        return None
    keys = [s.name for s in parse_path(records).steps if isinstance(s, Key)]
    return dumps(keys[-1]).encode("utf-8") if keys else None


def _describe(exc: BaseException) -> str:
    raw = exc.args[0] if exc.args else ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return "unexpected end of data (the file looks truncated)"
    detail = lines[0]
    if "premature EOF" in detail:
        return "unexpected end of data (the file looks truncated)"
    if "invalid bytes in UTF8" in detail:
        detail += " (JSON files must be UTF-8)"
    if len(lines) >= 2 and "(right here)" in lines[-1]:
        detail += f", near `{lines[1].strip()}`"
    return detail


class _Counted:
    """The stream, counting bytes, watching for the records key and guarding nesting."""

    def __init__(self, stream: Any, key: bytes | None, offset: int, guard: NestingGuard) -> None:
        self.stream = stream
        self.guard = guard
        self.key = key
        self.found = key is None
        self.tail = b""
        self.before = self.count = offset

    def where(self) -> str:
        if self.before == self.count:
            return f"at byte {self.count} (the end of the file)"
        return f"between bytes {self.before} and {self.count}"

    def read(self, n: int = -1) -> bytes:
        if 0 < n < self.guard.string_run:
            # inside a long string: yajl lexes an unfinished token again from its start at every
            # read, so fixed blocks cost time quadratic in its length (a 50 MB string: 31 s);
            # blocks as long as the string so far make it linear
            n = self.guard.string_run
        data = self.stream.read(n)
        self.before = self.count
        self.count += len(data)
        if data:
            self.guard.feed(data)
        if not self.found and data:
            window = self.tail + data
            self.found = self.key in window  # type: ignore[operator]
            self.tail = window[-len(self.key) :]  # type: ignore[arg-type]
        return data


def _peek(stream: IO[bytes]) -> tuple[bytes, int]:
    """The first significant byte, and how many bytes (BOM, white space) came before it."""
    skipped = 0
    while True:
        b = stream.read(1)
        if not b:
            return b"", skipped
        if b == b"\xef":  # UTF-8 byte order mark
            skipped += 1 + len(stream.read(2))
            continue
        if not b.isspace():
            return b, skipped
        skipped += 1


class _Prepend:
    """A stream with a few bytes put back in front."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head = head
        self._stream = stream

    def read(self, n: int = -1) -> bytes:
        if n == 0:
            return b""
        if self._head:
            head, self._head = self._head, b""
            if n is None or n < 0:
                return head + self._stream.read()
            return head + self._stream.read(max(0, n - len(head)))
        return self._stream.read(n)
