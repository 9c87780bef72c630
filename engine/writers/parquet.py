"""Parquet writer: typed columns from a declared schema, or inferred from whole row groups.

The types are never guessed from one record.

```yaml
target:
  type: file
  writer:
    type: parquet
    schema: {sku: string, qty: int64, price: "decimal(12,2)", updatedOn: "timestamp[ms, UTC]"}
  destination: {type: local, path: out}
```

With ``schema``, the columns are exactly those, in that order, and every
record is converted as it arrives: ``"42"`` into int64, ``"12.50"`` into
decimal(12,2), ISO text into timestamps; a value that does not fit (or a
field the schema lacks) rejects that record with the field named, and the
others are written. Without ``schema``, the first row group's records are
held until it is full and the type of each column is inferred from all of
them (mixed integers and floats become float64, any other mix text; see
:mod:`engine.writers._arrow_types`); later row groups must fit that schema
or their records are rejected with the reason.

Records mapped on Arrow columns are written from the columns once the
schema is known: a column of the column's own type is taken as it is, an
integer or decimal one is cast where the cast is exact, and any other is
converted value by value as records are. A batch with a field the schema
lacks, a nested field or a value that would be refused is written record by
record instead, so the file and the rejects are the same either way.

Records are buffered up to ``row_group_size`` rows (as Arrow columns once
the schema is known) and written one row group at a time. An empty result
is a valid Parquet file with the declared schema and no rows; with no
schema and no records there is nothing to describe, so no file is written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from typing_extensions import override

from engine.contracts import Writer
from engine.errors import ConfigError, TargetError
from engine.writers._arrow_types import TypeSyntaxError, infer, parse_type, to_arrow, type_text
from engine.writers._arrow_values import Refused, converter

if TYPE_CHECKING:
    from engine.mapping.columnar.mapped import MappedColumn, MappedColumns

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "schema": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {"type": "string"},
            "description": "column: type, in file order; e.g. {sku: string, qty: int64, "
            'price: "decimal(12,2)", at: "timestamp[ms, UTC]"}; inferred when absent',
        },
        "compression": {"enum": ["snappy", "zstd", "gzip", "brotli", "lz4", "none"], "default": "snappy"},
        "row_group_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": 10000000,
            "default": 50000,
            "description": "rows per row group; one row group per file is held in memory",
        },
    },
}


@dataclasses.dataclass
class ParquetWriterOptions:
    """A validated ``writer: {type: parquet}`` block; defaults and meanings are in :data:`SCHEMA`."""

    schema: dict[str, str] | None
    compression: str
    row_group_size: int


class ParquetWriter(Writer):
    """Writes one Parquet file a row group at a time (needs the ``parquet`` extra).

    Column types are parsed when the spec compiles (see :meth:`problems`);
    pyarrow is imported only by :meth:`begin`.
    """

    name = "parquet"
    summary = "Apache Parquet with a declared or inferred schema"
    extension = "parquet"
    schema = SCHEMA
    Options = ParquetWriterOptions

    def __init__(self, options: ParquetWriterOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self._problems: list[tuple[tuple, str]] = []
        self.declared: list[tuple[str, tuple]] | None = None
        if options.schema:
            self.declared = []
            for column, text in options.schema.items():
                try:
                    self.declared.append((column, parse_type(text)))
                except TypeSyntaxError as exc:
                    self._problems.append((("schema", column), str(exc)))

    def problems(self) -> list[tuple[tuple, str]]:
        """Each malformed column type, at its own line in the spec."""
        return self._problems

    @override
    def begin(self, stream: IO[bytes], meta: Mapping[str, Any]) -> None:
        try:
            import pyarrow
            import pyarrow.parquet
        except ImportError:
            raise ConfigError(
                "the parquet writer needs pyarrow", hint="pip install 'engine[parquet]'"
            ) from None
        self.pa, self.pq = pyarrow, pyarrow.parquet
        self.stream = stream
        self.file: Any = None
        self.columns: list[tuple[str, Any]] | None = None  # (name, converter) once the schema is known
        self.arrow_schema: Any = None
        #: the first row group while its schema is inferred: lists of records and columns, in order
        self.raw: list[list[Mapping[str, Any]] | MappedColumns] = []
        self.raw_rows = 0
        self.batches: list[Any] = []
        self.buffered = 0
        self.buffered_bytes = 0
        if self.declared is not None:
            self._fix(self.declared)

    def _fix(self, columns: list[tuple[str, tuple]]) -> None:
        pa = self.pa
        self.columns = [(name, converter(t, name)) for name, t in columns]
        self.kinds = [t[0] for _, t in columns]
        self.known = {name for name, _ in columns}
        self.arrow_schema = pa.schema([pa.field(name, to_arrow(pa, t)) for name, t in columns])
        self.type_texts = ", ".join(f"{name}: {type_text(t)}" for name, t in columns)

    # -- records in ------------------------------------------------------------------------

    @override
    def write(self, records: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]] | None:
        if self.columns is None:
            self._hold(list(records))
            return None
        problems = self._convert(records)
        self._flush(final=False)
        return problems or None

    @override
    def write_columns(self, columns: MappedColumns) -> bool:
        if len({c.target for c in columns.columns}) < len(columns.columns) or any(
            len(c.target) != 1 for c in columns.columns
        ):
            return False  # a nested field (a struct column) or a name twice: the records decide
        if self.columns is None:
            self._hold(columns)
            return True
        arrays = self._arrays(columns)
        if arrays is None:
            return False
        batch = self.pa.RecordBatch.from_arrays(arrays, schema=self.arrow_schema)
        self.batches.append(batch)
        self.buffered += batch.num_rows
        self.buffered_bytes += batch.nbytes
        self._flush(final=False)
        return True

    def _arrays(self, columns: MappedColumns) -> list[Any] | None:
        """One array per column of the file, as :meth:`_convert` would build it; None where it might not."""
        assert self.columns is not None
        by_name = {c.target[0]: c for c in columns.columns}
        if any(_first(c, len(columns)) is not None for name, c in by_name.items() if name not in self.known):
            return None  # a field the file lacks: its records are rejected
        arrays = []
        for (name, conv), kind, field in zip(self.columns, self.kinds, self.arrow_schema, strict=True):
            column = by_name.get(name)
            if column is None:
                array = self.pa.nulls(len(columns), field.type)
            else:
                array = self._array(columns, column, conv, kind, field.type)
            if array is None:
                return None
            arrays.append(array)
        return arrays

    def _array(self, columns: MappedColumns, column: MappedColumn, conv: Any, kind: str, to: Any) -> Any:
        pa = self.pa

        def direct(data: Any) -> Any:
            if kind == "string" and (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
                return data.cast(to)
            if kind != "json" and data.type == to:
                return data
            if _exact_cast(pa, data.type, to):
                try:
                    return data.cast(to, safe=True)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    pass  # out of range or inexact: the values decide, one by one
            return None

        try:
            return columns.converted(column, to, conv, direct)
        except (Refused, pa.ArrowException, ValueError, TypeError, OverflowError):
            return None

    def _hold(self, rows: list[Mapping[str, Any]] | MappedColumns) -> None:
        self.raw.append(rows)
        self.raw_rows += len(rows)
        if self.raw_rows >= self.options.row_group_size:
            self._infer()

    def _infer(self) -> None:
        """The schema from every value of the first row group, held as records or columns, then that row group."""
        raw, self.raw, self.raw_rows = self.raw, [], 0
        names: dict[str, None] = {}
        values: dict[str, list[Any]] = {}
        for rows in raw:
            if isinstance(rows, list):
                for record in rows:
                    names.update(dict.fromkeys(record))
                for name in names:
                    values.setdefault(name, []).extend(r.get(name) for r in rows)
                continue
            present = [(_first(c, len(rows)), k, c) for k, c in enumerate(rows.columns)]
            for _, _, column in sorted((p for p in present if p[0] is not None), key=lambda p: p[:2]):
                names.setdefault(column.target[0], None)  # in the order the records would name them
            for column in rows.columns:
                values.setdefault(column.target[0], []).extend(_samples(rows, column))
        self._fix([(name, infer(values[name])) for name in names])
        for rows in raw:
            if isinstance(rows, list):
                problems = self._convert(rows)
                if problems:  # inference chose types that hold every value; anything else is a defect
                    raise TargetError(f"parquet writer: inferred schema refused a record: {problems[0][1]}")
            elif not self.write_columns(rows):
                raise TargetError("parquet writer: inferred schema refused the columns of a batch")
        self._flush(final=False)

    def _convert(self, records: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]]:
        assert self.columns is not None
        columns = self.columns
        known = self.known
        values: list[list[Any]] = [[] for _ in columns]
        problems: list[tuple[int, str]] = []
        for i, record in enumerate(records):
            extra = [k for k in record if k not in known]
            if extra:
                problems.append(
                    (
                        i,
                        f"field(s) {', '.join(map(str, extra))} are not columns of the Parquet file "
                        f"({self.type_texts}); "
                        + (
                            "add them to writer.schema"
                            if self.declared
                            else "they were absent from the first row group, from which the schema was "
                            "inferred: declare writer.schema"
                        ),
                    )
                )
                continue
            try:
                row = [conv(record.get(name)) for name, conv in columns]
            except Refused as exc:
                how = "" if self.declared else " (inferred from the first row group; declare writer.schema)"
                problems.append((i, f"{exc}{how}"))
                continue
            for column, value in zip(values, row, strict=True):
                column.append(value)
        if columns and len(records) > len(problems):
            pa = self.pa
            try:
                arrays = [pa.array(v, type=f.type) for v, f in zip(values, self.arrow_schema, strict=True)]
            except (pa.ArrowException, ValueError, TypeError, OverflowError) as exc:
                raise TargetError(f"parquet writer: cannot build the column data: {exc}") from None
            batch = pa.RecordBatch.from_arrays(arrays, schema=self.arrow_schema)
            self.batches.append(batch)
            self.buffered += batch.num_rows
            self.buffered_bytes += batch.nbytes
        return problems

    # -- row groups out ------------------------------------------------------------------------

    def _flush(self, final: bool) -> None:
        size = self.options.row_group_size
        if not self.batches or (self.buffered < size and not final):
            return
        pa = self.pa
        table = pa.Table.from_batches(self.batches, schema=self.arrow_schema)
        self.batches, self.buffered, self.buffered_bytes = [], 0, 0
        writer = self._file()
        start = 0
        while table.num_rows - start >= size or (final and start < table.num_rows):
            n = min(size, table.num_rows - start)
            writer.write_table(table.slice(start, n), row_group_size=size)
            start += n
        if start < table.num_rows:
            rest = table.slice(start)
            self.batches = rest.to_batches()
            self.buffered = rest.num_rows
            self.buffered_bytes = rest.nbytes

    def _file(self) -> Any:
        if self.file is None:
            compression = self.options.compression
            self.file = self.pq.ParquetWriter(
                self.stream, self.arrow_schema, compression="none" if compression == "none" else compression
            )
        return self.file

    @override
    def size_hint(self) -> int:
        """Bytes the file would hold if closed now (buffered rows at their uncompressed size)."""
        return self.stream.tell() + self.buffered_bytes

    @override
    def publishable(self) -> bool:
        """False when no schema is known: there is no valid Parquet file to write."""
        return self.columns is not None

    @override
    def end(self) -> None:
        if self.columns is None and self.raw:
            self._infer()
        if self.columns is None:
            return
        self._flush(final=True)
        self._file().close()
        self.file = None


def _exact_cast(pa: Any, source: Any, to: Any) -> bool:
    """Whether Arrow's safe cast from ``source`` to ``to`` keeps every value or fails, as the converters do.

    Integers into integers, floats or decimals, decimals into decimals, and
    timestamps into timestamps (both count from the epoch in UTC).
    """
    types = pa.types
    if types.is_integer(source):
        return bool(types.is_integer(to) or types.is_floating(to) or types.is_decimal(to))
    if types.is_decimal(source):
        return bool(types.is_decimal(to))
    return bool(types.is_timestamp(source) and types.is_timestamp(to))


def _first(column: MappedColumn, count: int) -> int | None:
    """The first record whose dict holds ``column``'s key (None: none does; a missing value is left out)."""
    if not count:
        return None
    if column.always_present:
        return 0
    if column.is_constant:
        return None if column.constant is None else 0
    if isinstance(column.data, list):
        return next((i for i, v in enumerate(column.data) if v is not None), None)
    if column.data.null_count == len(column.data):
        return None
    import pyarrow.compute as pc

    found: int = pc.index(pc.is_valid(column.data), True).as_py()
    return found


def _samples(columns: MappedColumns, column: MappedColumn) -> list[Any]:
    """Values of ``column`` from which :func:`infer` decides as from all of them (all of them, short of a rule).

    Every value of an Arrow column has its type: for integers and decimals
    the smallest and largest decide width and scale, for text, floats,
    booleans, dates and times any one value does.
    """
    if column.is_constant:
        return [column.constant]
    if isinstance(column.data, list):
        return column.data
    import pyarrow as pa
    import pyarrow.compute as pc

    data = columns.array(column)
    types = pa.types
    if data.null_count == len(data):
        return []
    if types.is_integer(data.type) or types.is_decimal(data.type):
        least, most = pc.min_max(data).values()
        return [least.as_py(), most.as_py()]
    one = (
        types.is_string(data.type)
        or types.is_large_string(data.type)
        or types.is_floating(data.type)
        or types.is_boolean(data.type)
        or types.is_date32(data.type)
        or (types.is_timestamp(data.type) and data.type.unit != "ns")
    )
    if one:
        return [pc.drop_null(data)[0].as_py()]
    found: list[Any] = data.to_pylist()
    return found
