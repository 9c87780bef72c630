"""A lookup table read from a file once per run: CSV, JSON, JSON Lines or Parquet, local, S3 or SFTP.

```yaml
lookups:
  price:
    type: file
    path: reference/prices.csv        # relative to the spec; or source: {type: s3, ...} below
    parser: {type: csv}
    key: sku                          # the record's part of the key
    match: SKU                        # where the key is in each row of the file
```

The file is read when the run opens, through a source and a parser like any
input (``source:`` takes any source block, e.g. ``{type: s3, connection:
wms, prefix: reference/, pattern: prices.csv}``; ``path:`` is short for a
local file), and indexed by ``match``. Every row of the file is an answer;
``$lookup.price.PRICE`` reads a column of the row whose key matches. The
whole table is held in memory for the run: about the size of its parsed rows
(a 100,000-row CSV of ten short columns takes some 60 MB). A key that
appears twice is an error naming both rows: a lookup never silently keeps
one of two answers.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from typing_extensions import override

from engine.contracts import Item, Lookup, Parser, RunContext, Source
from engine.errors import ConfigError, DataError
from engine.lookups.base import MATCH, CommonOptions, LookupBase, match_parts, schema
from engine.mapping.paths import PathSyntaxError, Scope, compile_getter, parse_path

SCHEMA: dict[str, Any] = schema(
    {
        "path": {"type": "string", "description": "a local file, relative to the spec"},
        "source": {"x-plugin": "sources", "description": "where the file is: any source block"},
        "parser": {"x-plugin": "parsers", "description": "how to read it: any parser block"},
        "match": MATCH,
    },
    ["parser"],
)


@dataclasses.dataclass
class FileLookupOptions(CommonOptions):
    """The validated ``file`` lookup block; ``source`` and ``parser`` are built plugins."""

    path: str | None
    source: Source | None
    parser: Parser
    match: str | dict[str, str] | None


class FileLookup(LookupBase):
    """Indexes a file's rows by key when the run opens; answers come from that index."""

    name = "file"
    summary = "a table read from a file (local, S3, SFTP) once per run"
    schema = SCHEMA
    Options = FileLookupOptions

    def __init__(self, options: FileLookupOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.match = match_parts(options.match, self.parts)
        if set(self.match) != set(self.parts):
            self._problems.append((("match",), f"needs the key's parts: {', '.join(self.parts)}"))
        if (options.path is None) == (options.source is None):
            self._problems.append(((), "give the file as path: (local) or source: (any source), not both"))
        self.getters = []
        for part, text in self.match.items():
            try:
                self.getters.append(compile_getter(parse_path(text)))
            except PathSyntaxError as exc:
                self._problems.append(
                    (("match", part) if isinstance(options.match, dict) else ("match",), exc.message)
                )
        self.index: dict[tuple[str, ...], Any] = {}
        self.rows = 0

    @override
    def open(self, run: RunContext) -> None:
        seen: dict[tuple[str, ...], str] = {}
        if self.options.path is not None:
            file = Path(self.options.path).expanduser()
            file = file if file.is_absolute() else Path(run.spec_dir) / file
            try:
                stream = file.open("rb")
            except OSError as exc:
                raise ConfigError(f"{self.path}.path: {file} cannot be read: {exc.strerror or exc}") from None
            self._load(stream, Item(uri=file.as_uri(), name=file.name), run, seen)
        else:
            self._from_source(self.options.source, run, seen)
        run.log.info("lookup table loaded", lookup=self.path, rows=self.rows)

    def _from_source(self, source: Source | None, run: RunContext, seen: dict[tuple[str, ...], str]) -> None:
        assert source is not None
        if source.connection_name:
            run.connection(source.connection_name)
        source.open(run)
        try:
            items = list(source.items(run))
            if not items:
                raise ConfigError(f"{self.path}.source: no file matches; the lookup has no table")
            for item in items:
                self._load(source.read(item), item, run, seen)
        finally:
            source.close()

    def _load(self, stream: IO[bytes], item: Item, run: RunContext, seen: dict[tuple[str, ...], str]) -> None:
        """Index the rows of one file; a duplicate key or an unreadable row stops the run naming both."""
        self.options.parser.open(run)
        try:
            for chunk in self.options.parser.parse(stream, item, run):
                if chunk.rejects:
                    bad = chunk.rejects[0]
                    raise DataError(
                        f"{self.path}: {item.name} row {bad.position} cannot be read: {bad.reason}"
                    )
                for i in range(len(chunk.records)):
                    self._add(chunk.original(i), chunk.where(i), seen)
        finally:
            stream.close()

    def _add(self, row: Any, where: str, seen: dict[tuple[str, ...], str]) -> None:
        """Index one row; a key seen before stops the run naming both rows."""
        key = self._key(row)
        if key is None:
            return
        if key in seen:
            raise DataError(
                f"{self.path}: key {dict(zip(self.parts, key, strict=True))} is in {seen[key]} "
                f"and again in {where}; a lookup table needs one row per key"
            )
        seen[key] = where
        self.index[key] = row
        self.rows += 1

    @override
    def with_fixture(self, fixture: Mapping[str, Any]) -> Lookup:
        """``rows``: the table's rows, indexed by ``match`` as the file's would be."""
        if "rows" not in fixture:
            return super().with_fixture(fixture)
        if set(fixture) != {"rows"}:
            raise ConfigError(f"{self.path}: give rows or answers in a test case, not both")
        table = copy.copy(self)
        table.index, table.rows = {}, 0
        seen: dict[tuple[str, ...], str] = {}
        for n, row in enumerate(fixture["rows"]):
            table._add(row, f"rows[{n}]", seen)
        return table

    def _key(self, row: Any) -> tuple[str, ...] | None:
        scope = Scope(root=row)
        parts = []
        for get in self.getters:
            value = get(row, scope)
            if value is None or value == "":
                return None
            parts.append(str(value))
        return tuple(parts)

    @override
    def fetch(self, keys: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], Any]:
        return {k: self.index[k] for k in keys if k in self.index}

    @override
    def stats(self) -> dict[str, Any]:
        return {"rows": self.rows}
