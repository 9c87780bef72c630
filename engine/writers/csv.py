"""CSV writer: columns known up front, nested values flattened, nothing dropped.

```yaml
target:
  type: file
  writer: {type: csv, delimiter: ","}
  destination: {type: local, path: out}
```

Columns come from ``columns``, else from the mapping's target fields (in spec
order, nested keys joined with dots), else from the first record. A record
with a value outside those columns is rejected with the column named, never
silently cut (the SDK's builders drop such values). Lists and objects in a
cell are written as JSON. A NaN or infinite number in a cell is written as
Python spells it (``nan``, ``inf``, ``-inf``, which ``float()`` and pandas read
back); inside a list or object cell, JSON has no form for it and the record
is rejected naming the field.

Records mapped on Arrow columns are written from the columns, cell for cell
the text above; a batch with a column outside ``columns``, an object value
(flattened into columns) or a cell JSON cannot hold is written record by
record instead, with the same result.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from typing_extensions import override

from engine.contracts import Writer
from engine.jsonutil import dumps, non_finite

if TYPE_CHECKING:
    from engine.mapping.columnar.mapped import MappedColumn, MappedColumns

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "columns": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "delimiter": {"type": "string", "minLength": 1, "maxLength": 1, "default": ","},
        "header": {"type": "boolean", "default": True},
        "quote_all": {"type": "boolean", "default": False},
        "line_terminator": {"enum": ["\n", "\r\n"], "default": "\n"},
        "encoding": {"type": "string", "default": "utf-8"},
        "bom": {
            "type": "boolean",
            "default": False,
            "description": "start with a UTF-8 byte order mark (Excel)",
        },
    },
}


@dataclasses.dataclass
class CsvWriterOptions:
    """A validated ``writer: {type: csv}`` block; defaults and meanings are in :data:`SCHEMA`."""

    columns: list[str] | None
    delimiter: str
    header: bool
    quote_all: bool
    line_terminator: str
    encoding: str
    bom: bool


def flatten(record: Mapping[str, Any], prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Nested dicts as dotted column names (``{"a": {"b": 1}}`` is ``{"a.b": 1}``).

    An empty dict stays one value (written as ``{}``); pass ``out`` to collect into an existing dict.
    """
    out = {} if out is None else out
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flatten(value, name + ".", out)
        else:
            out[name] = value
    return out


def cell(value: Any) -> Any:
    """A value as the csv module should write it: None is empty, booleans ``true``/``false``, lists and dicts JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return dumps(value)
    return value


class CsvWriter(Writer):
    """Writes one CSV file; a record with a value outside the columns is rejected, never cut.

    The columns are fixed by the first :meth:`write` at the latest, and so is the header.
    """

    name = "csv"
    summary = "comma (or other) separated values"
    extension = "csv"
    schema = SCHEMA
    Options = CsvWriterOptions

    @override
    def begin(self, stream: IO[bytes], meta: Mapping[str, Any]) -> None:
        self.stream = stream
        self.columns: list[str] | None = list(self.options.columns or meta.get("fields") or []) or None
        self.buffer = io.StringIO()
        self.writer = csv.writer(
            self.buffer,
            delimiter=self.options.delimiter,
            quoting=csv.QUOTE_ALL if self.options.quote_all else csv.QUOTE_MINIMAL,
            lineterminator=self.options.line_terminator,
        )
        self.wrote_header = False
        if self.options.bom:
            stream.write("\ufeff".encode(self.options.encoding))

    def _header(self) -> None:
        if self.options.header and self.columns:
            self.writer.writerow(self.columns)
        self.wrote_header = True

    @override
    def write(self, records: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]] | None:
        problems: list[tuple[int, str]] = []
        if self.columns is None and records:
            self.columns = list(flatten(records[0]))
        if not self.wrote_header:
            self._header()
        columns = self.columns or []
        known = set(columns)
        writerow = self.writer.writerow
        for i, record in enumerate(records):
            flat = flatten(record)
            extra = [k for k in flat if k not in known]
            if extra:
                problems.append(
                    (
                        i,
                        f"field(s) {', '.join(extra)} are not among the CSV columns "
                        f"({', '.join(columns)}); declare writer.columns",
                    )
                )
                continue
            try:
                row = [v if type(v) is str else cell(v) for v in map(flat.get, columns)]
            except (ValueError, TypeError, RecursionError):  # a list or object cell JSON cannot hold
                bad = non_finite({k: v for k, v in flat.items() if isinstance(v, dict | list)})
                problems.append((i, str(bad) if bad else "a list or object in a cell has no JSON form"))
                continue
            writerow(row)
        self.stream.write(self.buffer.getvalue().encode(self.options.encoding))
        self.buffer.seek(0)
        self.buffer.truncate()
        return problems or None

    @override
    def write_columns(self, columns: MappedColumns) -> bool:
        """The rows from columns; False (nothing written) where :meth:`write` could flatten or reject.

        Each cell's text is what the csv module writes for the cell :meth:`write`
        gives it; a batch with no cell to quote is joined by Arrow, else the
        csv module writes it.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        if self.columns is None:
            return False  # the first record names the columns
        by_name = {".".join(c.target): c for c in columns.columns}
        if len(by_name) < len(columns.columns) or not by_name.keys() <= set(self.columns):
            return False
        texts: list[Any] = []
        for name in self.columns:
            column = by_name.get(name)
            found = pa.nulls(len(columns), pa.string()) if column is None else _texts(columns, column)
            if found is None:
                return False
            texts.append(pc.fill_null(found, ""))
        if not self.wrote_header:
            self._header()
        if len(texts) > 1 and not self.options.quote_all and not any(map(self._quoted, texts)):
            lines = pc.binary_join_element_wise(*texts, self.options.delimiter).to_pylist()
            terminator = self.options.line_terminator
            self.buffer.write(terminator.join(lines) + terminator if lines else "")
        else:
            self.writer.writerows(zip(*(t.to_pylist() for t in texts), strict=True))
        self.stream.write(self.buffer.getvalue().encode(self.options.encoding))
        self.buffer.seek(0)
        self.buffer.truncate()
        return True

    def _quoted(self, texts: Any) -> bool:
        """Whether the csv module would quote (or refuse) some cell of ``texts``."""
        import pyarrow.compute as pc

        return any(
            pc.any(pc.match_substring(texts, special)).as_py()
            for special in (self.options.delimiter, '"', "\r", "\n", "\x00")
        )

    @override
    def end(self) -> None:
        if not self.wrote_header:
            self._header()
            self.stream.write(self.buffer.getvalue().encode(self.options.encoding))


def _texts(columns: MappedColumns, column: MappedColumn) -> Any | None:
    """One column's cells as text (null: empty); None where a value would be flattened or has no cell."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def direct(data: Any) -> Any:
        if pa.types.is_string(data.type) or pa.types.is_large_string(data.type):
            return data.cast(pa.string())
        if pa.types.is_integer(data.type):
            return pc.cast(data, pa.string())
        return None

    try:
        return columns.converted(column, pa.string(), _text, direct)
    except (_Flattened, ValueError, TypeError, RecursionError):
        return None


class _Flattened(Exception):
    """An object value: :meth:`CsvWriter.write` flattens it into columns of its own."""


def _text(value: Any) -> str | None:
    """The text the csv module writes for ``value`` as :meth:`CsvWriter.write` hands it over."""
    if value is None:
        return None
    if isinstance(value, dict):
        raise _Flattened
    found = value if type(value) is str else cell(value)
    return found if type(found) is str else str(found)
