"""Mapped records as columns: the one columnar form a target may take instead of dicts.

A columnar mapping (:mod:`engine.mapping.columnar.chunks`) ends with one
value per field for every record of a chunk: an Arrow array, one constant,
or, for a field computed row by row, a list. :class:`MappedColumns` keeps
them so, and a target that can use columns takes them from
:attr:`engine.contracts.Batch.columns` instead of building a dict per record:

- :meth:`MappedColumns.json` gives each record's JSON text, byte for byte
  what :func:`engine.jsonutil.dumps_bytes` writes for the record the row
  path builds (the ``fluent.batch`` target, the ``jsonl`` writer);
- :meth:`MappedColumns.arrays` gives each field as an Arrow array (the
  ``parquet`` and ``csv`` writers).

The records themselves, as dicts, stay what :class:`engine.contracts.LateRecords`
builds when somebody reads them. A value JSON cannot hold (NaN, a type with
no JSON form) makes :meth:`~MappedColumns.json` answer None: the target then
takes the records, and rejects exactly as it always did.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from engine.jsonutil import dumps_bytes

#: text that JSON writes as it is between quotes (no quote, backslash or control character)
_PLAIN_TEXT = '^[^"\\\\\\x00-\\x1f]*$'


class NoJsonForm(Exception):
    """A value of the columns has no JSON form as the row path writes it: the records are needed."""


@dataclasses.dataclass(frozen=True, slots=True)
class MappedColumn:
    """One field's values for every record of a chunk.

    ``data`` is an Arrow array (or chunked array) of one value per record, or
    a list of Python values (a field the row path computed); for a constant
    field it is None and ``constant`` holds the value.
    """

    target: tuple[str, ...]
    data: Any = None
    constant: Any = None
    is_constant: bool = False
    #: a missing value is written as null; otherwise the key is left out, as the row path does
    always_present: bool = False


class MappedColumns:
    """A chunk's mapped records as one column per field, in the mapping's field order."""

    __slots__ = ("columns", "count")

    def __init__(self, columns: Sequence[MappedColumn], count: int) -> None:
        self.columns = list(columns)
        self.count = count

    def __len__(self) -> int:
        return self.count

    @property
    def targets(self) -> list[tuple[str, ...]]:
        """Each column's output path (``("attributes", "colour")`` for ``attributes.colour``)."""
        return [c.target for c in self.columns]

    def array(self, column: MappedColumn) -> Any:
        """``column`` as an Arrow array of :attr:`count` values (constants repeated, lists converted)."""
        if column.is_constant:
            if column.constant is None:
                return pa.nulls(self.count)
            return pa.array([column.constant] * self.count)
        if isinstance(column.data, list):
            return pa.array(column.data)
        data = column.data
        return data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data

    def arrays(self) -> list[Any]:
        """Every column as an Arrow array, in field order."""
        return [self.array(c) for c in self.columns]

    def json(self) -> list[str] | None:
        """Each record's JSON text, exactly as ``dumps_bytes(record)`` writes it; None when a value has none.

        Keys come in the row path's order (a nested object where its first
        field is), a missing value is left out unless its field is always
        present, and an object left empty is left out too.
        """
        tree: dict[str, Any] = {}
        for column in self.columns:
            node = tree
            for part in column.target[:-1]:
                node = node.setdefault(part, {})
            node[column.target[-1]] = column
        try:
            texts = self._object(tree, top=True)
        except NoJsonForm:
            return None
        if isinstance(texts, str):
            return [texts] * self.count
        found: list[str] = texts.to_pylist()
        return found

    def _object(self, node: dict[str, Any], *, top: bool) -> Any:
        """``{...}`` for every record (an Arrow string array, or one str when every member is constant).

        Each member is ``,"key":value`` or empty where the value is left out;
        the members are joined and the first comma dropped. (Arrow's join
        that skips nulls loses rows in some releases, so nulls never reach it.)
        """
        members: list[Any] = []
        for key, value in node.items():
            name = "," + dumps_bytes(key).decode() + ":"
            text = self._value(value) if isinstance(value, MappedColumn) else self._object(value, top=False)
            if text is None:
                continue
            if isinstance(text, str):
                members.append(name + text)
            else:
                members.append(pc.fill_null(pc.binary_join_element_wise(name, text, ""), ""))
        if all(isinstance(m, str) for m in members):
            body = "".join(members)[1:]
            return "{" + body + "}" if body or top else None
        body = pc.utf8_slice_codeunits(pc.binary_join_element_wise(*members, ""), 1)
        text = pc.binary_join_element_wise("{", body, "}", "")
        if top:
            return text
        return pc.if_else(pc.equal(body, ""), pa.scalar(None, pa.string()), text)

    def _value(self, column: MappedColumn) -> Any:
        """The JSON text of ``column``'s values: one str (a constant), None (always left out), or an array."""
        if column.is_constant:
            if column.constant is None:
                return "null" if column.always_present else None
            return _encode(column.constant)
        if isinstance(column.data, list):
            texts = pa.array([None if v is None else _encode(v) for v in column.data], pa.string())
        else:
            texts = _texts(column.data)
        return pc.fill_null(texts, "null") if column.always_present else texts


def _encode(value: Any) -> str:
    """One value's JSON text as the row path writes it."""
    if isinstance(value, float | Decimal) and not math.isfinite(value):
        raise NoJsonForm(f"{value} is not a number JSON can hold")
    try:
        return dumps_bytes(value).decode()
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise NoJsonForm(str(exc)) from None


def _texts(data: Any) -> Any:
    """JSON texts of an Arrow array's values (null where the value is null)."""
    if isinstance(data, pa.ChunkedArray):
        data = data.combine_chunks()
    kind = data.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        plain = pc.fill_null(pc.match_substring_regex(data, _PLAIN_TEXT), True)
        quoted = pc.binary_join_element_wise('"', data, '"', "")
        if pc.all(plain).as_py():
            return quoted
        escaped = pc.filter(data, pc.invert(plain)).to_pylist()
        return pc.replace_with_mask(
            quoted, pc.invert(plain), pa.array([_encode(v) for v in escaped], pa.string())
        )
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return pc.cast(data, pa.string())
    if pa.types.is_null(kind):
        return pa.nulls(len(data), pa.string())
    return pa.array([None if v is None else _encode(v) for v in data.to_pylist()], pa.string())
