"""Parquet parser: row groups streamed batch by batch through pyarrow.

```yaml
parser:
  type: parquet
  columns: [sku, qty, updatedOn]
```

Only one record batch (``chunk_size`` rows) is in memory at a time, and with
``columns`` only those columns are read from disk. Values become plain
Python values that map and write back exactly:

* integers, floats, booleans and strings as themselves; decimals as
  :class:`~decimal.Decimal` (exact, never floats);
* timestamps as ISO-8601 text in UTC with the column's precision
  (``2024-01-31T10:00:05.120Z`` for milliseconds; no ``Z`` when the column
  has no time zone), dates as ``2024-01-31``, times as ``10:00:05.120``,
  durations as an integer count of the column's unit. Text is what the
  mapping's date resolvers read and what every writer can store without a
  loss of precision (nanoseconds included);
* structs as dicts, lists as lists, maps as dicts, binary as bytes.

Each record's locator is ``row_group 3 row 120``: pyarrow's own indexes
(0-based), so ``pq.ParquetFile(f).read_row_group(3).slice(120, 1)`` shows the
record. Positions count records from 1 across the file. A stream from a
network source is first copied to a temporary file (bounded memory): the
Parquet index lives at the end of the file and reading it means seeking.

When the mapping can work on columns (``mapping.columnar``), a batch whose
columns are all flat goes to it as :class:`~engine.contracts.ArrowRows`
(the same values, read row by row only where needed); one with a struct,
list or map column is given as dicts.

A file that decodes to far more than it stores (a compression or
dictionary bomb) stops before pyarrow allocates for it: see
:mod:`engine.parsers._parquet_guard` and the options ``max_row_group_bytes``,
``max_expansion`` and ``max_record_bytes``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import IO, Any

from typing_extensions import override

from engine.contracts import ArrowRows, Chunk, Item, Parser, RunContext
from engine.errors import ConfigError, ParseError
from engine.parsers._parquet_guard import Budget, Guard, TooLarge
from engine.parsers._spool import seekable
from engine.units import size_bytes

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "columns": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "minItems": 1,
            "uniqueItems": True,
            "description": "read only these columns (others are not read from disk)",
        },
        "chunk_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1000000,
            "default": 5000,
            "description": "rows per record batch; one batch is in memory at a time",
        },
        "max_row_group_bytes": {
            "type": ["integer", "string"],
            "default": "256MiB",
            "description": "a row group whose metadata says it decompresses to more (its columns read) stops "
            "the file before it is read (protects memory against compression bombs)",
        },
        "max_expansion": {
            "type": "integer",
            "minimum": 10,
            "default": 1000,
            "description": "a column chunk that decompresses to more than this many times its stored size "
            "(past 16 MiB) stops the file: a compression bomb",
        },
        "max_record_bytes": {
            "type": ["integer", "string"],
            "default": "64MiB",
            "description": "a single row that decodes to more stops the file before it becomes a record",
        },
    },
}


@dataclasses.dataclass
class ParquetOptions:
    """A validated ``parser: {type: parquet}`` block; defaults and meanings are in :data:`SCHEMA`."""

    columns: list[str] | None
    chunk_size: int
    max_row_group_bytes: int | str
    max_expansion: int
    max_record_bytes: int | str


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ConfigError("the parquet parser needs pyarrow", hint="pip install 'engine[parquet]'") from None
    return pyarrow


class ParquetParser(Parser):
    """Streams Parquet record batches as plain Python records (needs the ``parquet`` extra)."""

    name = "parquet"
    summary = "Apache Parquet, streamed by row group and record batch"
    schema = SCHEMA
    Options = ParquetOptions
    arrow_rows = True

    def __init__(self, options: ParquetOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self._problems: list[tuple[tuple, str]] = []
        try:
            limit = size_bytes(options.max_row_group_bytes) or 0
        except ConfigError as exc:
            self._problems.append((("max_row_group_bytes",), str(exc)))
            limit = 256 << 20
        if limit < 1 << 20:
            self._problems.append((("max_row_group_bytes",), "must be at least 1MiB"))
        self.guard = Guard(limit, options.max_expansion)
        try:
            self.budget = Budget(size_bytes(options.max_record_bytes) or 0)
        except ConfigError as exc:
            self._problems.append((("max_record_bytes",), str(exc)))
            self.budget = Budget(64 << 20)

    def problems(self) -> list[tuple[tuple, str]]:
        """Every mistake in the options, each at its own spec path."""
        return self._problems

    @override
    def parse(self, stream: IO[bytes], item: Item, run: RunContext | None = None) -> Iterator[Chunk]:
        pa = _pyarrow()
        with seekable(stream) as source:
            pf = self._open(pa, source, item)
            columns = self._columns(pf, item)
            n = 0
            for group in range(pf.num_row_groups):
                row = 0
                try:
                    self.guard.check_row_group(pf.metadata, group, columns)
                    batches = pf.iter_batches(
                        batch_size=self.options.chunk_size,
                        row_groups=[group],
                        columns=columns,
                        use_threads=False,
                    )
                    for batch in batches:
                        for piece in self.budget.slices(pa, batch, row):
                            chunk = self._chunk(pa, piece, item, group)
                            count = len(chunk.records)
                            chunk.positions = list(range(n + 1, n + count + 1))
                            chunk.locators = [f"row_group {group} row {r}" for r in range(row, row + count)]
                            n += count
                            row += count
                            yield chunk
                except TooLarge as exc:
                    raise ParseError(
                        f"{item.name} row_group {group}: {exc}",
                        hint=f"raise parser.{exc.option} if the file is genuine",
                    ) from None
                except (pa.ArrowException, OSError, ValueError) as exc:
                    raise ParseError(
                        f"{item.name} row_group {group} row {row}: cannot read the data: {_first_line(exc)}",
                        hint="the file is damaged or truncated",
                    ) from None

    def _chunk(self, pa: Any, batch: Any, item: Item, group: int) -> Chunk:
        """The batch as dicts, or, for a mapping that takes columns, as Arrow rows when every column is flat.

        Flat columns (numbers, text, booleans, decimals, binary, and dates and
        times once written as text) give the same Python values row by row as
        in dicts; nested ones (structs, lists, maps) stay dicts.
        """
        if self.columnar:
            prepared = _prepared(pa, batch)
            if not any(pa.types.is_nested(f.type) for f in prepared.schema):
                return Chunk(item, ArrowRows(prepared), [], tuple(prepared.schema.names))  # type: ignore[arg-type]
        return Chunk(item, _records(pa, batch, item, group), [])

    def _open(self, pa: Any, source: IO[bytes], item: Item) -> Any:
        import pyarrow.parquet as pq

        try:
            metadata = pq.ParquetFile(source).metadata
            dictionaries = self.guard.dictionary_columns(metadata)
            return pq.ParquetFile(source, metadata=metadata, read_dictionary=dictionaries or None)
        except (pa.ArrowException, OSError, ValueError) as exc:
            size = _size(source)
            what = "the file is empty" if size == 0 else f"{_first_line(exc)} ({size} bytes)"
            raise ParseError(
                f"{item.name}: not a readable Parquet file: {what}",
                hint="a Parquet file ends with its footer; a truncated copy has none",
            ) from None

    def _columns(self, pf: Any, item: Item) -> list[str] | None:
        wanted = self.options.columns
        if not wanted:
            return None
        names = pf.schema_arrow.names
        missing = [c for c in wanted if c not in names]
        if missing:
            raise ParseError(
                f"{item.name}: no column(s) {', '.join(missing)} in the file",
                hint=f"its columns are: {', '.join(names)}",
            )
        return list(wanted)


def _prepared(pa: Any, batch: Any) -> Any:
    """The batch with temporal values turned into ISO text (and dictionaries decoded)."""
    if any(_needs_prepare(pa, f.type) for f in batch.schema):
        arrays = [_prepare(pa, col) for col in batch.columns]
        batch = pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
    return batch


def _records(pa: Any, batch: Any, item: Item, group: int) -> list[dict[str, Any]]:
    """The batch as dicts, temporal values turned into ISO text first."""
    batch = _prepared(pa, batch)
    try:
        return batch.to_pylist(maps_as_pydicts="strict")
    except (pa.ArrowException, ValueError, KeyError) as exc:
        raise ParseError(
            f"{item.name} row_group {group}: cannot convert a value: {_first_line(exc)}"
        ) from None


def _needs_prepare(pa: Any, t: Any) -> bool:
    types = pa.types
    if types.is_temporal(t) or types.is_dictionary(t):
        return True
    if types.is_struct(t):
        return any(_needs_prepare(pa, t.field(i).type) for i in range(t.num_fields))
    if types.is_list(t) or types.is_large_list(t) or types.is_fixed_size_list(t):
        return _needs_prepare(pa, t.value_type)
    if types.is_map(t):
        return _needs_prepare(pa, t.key_type) or _needs_prepare(pa, t.item_type)
    return False


def _prepare(pa: Any, arr: Any) -> Any:
    """``arr`` with temporal values as text (durations as integers), at any depth."""
    import pyarrow.compute as pc

    t = arr.type
    types = pa.types
    if not _needs_prepare(pa, t):
        return arr
    if arr.offset:  # a slice: rebuilt children need offsets that start at zero
        arr = pa.concat_arrays([arr])
    if types.is_dictionary(t):
        return _prepare(pa, arr.dictionary_decode())
    if types.is_timestamp(t):
        if t.tz is not None:
            arr = arr.cast(pa.timestamp(t.unit, "UTC"))
        text = arr.cast(pa.string())
        return pc.replace_substring(text, pattern=" ", replacement="T", max_replacements=1)
    if types.is_duration(t):
        return arr.cast(pa.int64())
    if types.is_temporal(t):  # dates and times
        return arr.cast(pa.string())
    if types.is_struct(t):
        children = [_prepare(pa, child) for child in arr.flatten()]
        names = [t.field(i).name for i in range(t.num_fields)]
        return pa.StructArray.from_arrays(children, names=names, mask=arr.is_null())
    if types.is_list(t):
        return pa.ListArray.from_arrays(arr.offsets, _prepare(pa, arr.values), mask=arr.is_null())
    if types.is_large_list(t):
        return pa.LargeListArray.from_arrays(arr.offsets, _prepare(pa, arr.values), mask=arr.is_null())
    if types.is_fixed_size_list(t):
        values = _prepare(pa, arr.values.slice(0, len(arr) * t.list_size))
        return pa.FixedSizeListArray.from_arrays(values, t.list_size, mask=arr.is_null())
    if types.is_map(t):
        keys = _prepare(pa, arr.keys)
        items = _prepare(pa, arr.items)
        return pa.MapArray.from_arrays(arr.offsets, keys, items, mask=arr.is_null())
    return arr


def _size(source: IO[bytes]) -> int:
    try:
        return source.seek(0, 2)
    except (OSError, ValueError):
        return -1


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
