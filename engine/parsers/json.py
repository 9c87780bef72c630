"""JSON parser: the records of one JSON document, streamed with ijson.

```yaml
parser:
  type: json
  records: data.items
```

Without ``records``, a top-level array yields one record per element and a
top-level object is one record. With ``records: a.b`` the array at that path
is streamed element by element (``a[*].b`` reaches arrays inside arrays), so
memory stays flat however large the file. A syntax error stops the file with
the byte position; records before it have already flowed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import IO, Any

from engine.contracts import Chunk, Item, Parser, RunContext
from engine.errors import ParseError
from engine.mapping.paths import Key, PathSyntaxError, Wildcard, parse_path

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "records": {"type": "string", "description": "path to the array of records, e.g. data.items"},
        "chunk_size": {"type": "integer", "minimum": 1, "maximum": 1000000, "default": 5000},
    },
}


@dataclasses.dataclass
class JsonOptions:
    records: str | None
    chunk_size: int


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
    name = "json"
    summary = "JSON documents; arrays streamed element by element"
    schema = SCHEMA
    Options = JsonOptions

    def __init__(self, options: JsonOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.prefix = ijson_prefix(options.records) if options.records else None

    def problems(self) -> list[tuple[tuple, str]]:
        return []

    def parse(self, stream: IO[bytes], item: Item, run: RunContext | None = None) -> Iterator[Chunk]:
        import ijson

        size = self.options.chunk_size
        prefix = self.prefix
        if prefix is None:
            head = _peek(stream)
            if head == b"{":
                prefix = ""
            elif head == b"[":
                prefix = "item"
            elif head == b"":
                return
            else:
                raise ParseError(f"{item.name}: not a JSON document (it starts with {head!r})")
            stream = _Prepend(head, stream)
        label = self.options.records or ""
        records: list[Any] = []
        positions: list[int] = []
        locators: list[str] = []
        n = 0
        try:
            for value in ijson.items(stream, prefix, use_float=True):
                n += 1
                records.append(value)
                positions.append(n)
                locators.append(f"{label}[{n - 1}]" if prefix else "$")
                if len(records) >= size:
                    yield Chunk(item, records, positions, None, None, locators)
                    records, positions, locators = [], [], []
        except ijson.common.IncompleteJSONError as exc:
            if records:
                yield Chunk(item, records, positions, None, None, locators)
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "unexpected end of data"
            raise ParseError(f"{item.name}: invalid JSON after record {n}: {detail}") from None
        except UnicodeDecodeError as exc:
            if records:
                yield Chunk(item, records, positions, None, None, locators)
            raise ParseError(f"{item.name}: bytes are not valid UTF-8 after record {n}: {exc.reason}") from None
        if records:
            yield Chunk(item, records, positions, None, None, locators)
        if n == 0 and self.options.records:
            raise ParseError(f"{item.name}: no array found at '{self.options.records}'",
                             hint="check parser.records against the file's structure")


def _peek(stream: IO[bytes]) -> bytes:
    while True:
        b = stream.read(1)
        if not b:
            return b""
        if b == b"\xef":  # UTF-8 byte order mark
            stream.read(2)
            continue
        if not b.isspace():
            return b


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
