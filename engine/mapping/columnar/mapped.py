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
from collections.abc import Callable, Sequence
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

    def slice(self, start: int, stop: int) -> MappedColumns:
        """Records ``start`` to ``stop`` (a file target splitting a batch between files)."""
        stop = min(stop, self.count)
        columns = [
            c
            if c.is_constant
            else dataclasses.replace(
                c, data=c.data[start:stop] if isinstance(c.data, list) else c.data.slice(start, stop - start)
            )
            for c in self.columns
        ]
        return MappedColumns(columns, max(0, stop - start))

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

    def converted(
        self, column: MappedColumn, to: Any, convert: Callable[[Any], Any], direct: Callable[[Any], Any]
    ) -> Any:
        """``column`` as an Arrow array of type ``to``, for a writer with its own value rules.

        ``direct(array)`` may give the array straight from Arrow's (None: it
        cannot); otherwise each value goes through ``convert`` (a constant
        once). What ``convert`` raises, the caller catches.
        """
        if column.is_constant:
            return pa.repeat(pa.scalar(convert(column.constant), to), self.count)
        if isinstance(column.data, list):
            values = column.data
        else:
            data = self.array(column)
            found = direct(data)
            if found is not None:
                return found
            values = data.to_pylist()
        return pa.array([convert(v) for v in values], type=to)

    def arrays(self) -> list[Any]:
        """Every column as an Arrow array, in field order."""
        return [self.array(c) for c in self.columns]

    def json(self, encode: Callable[[Any], str] | None = None) -> list[str] | None:
        """Each record's JSON text, exactly as ``encode(record)`` writes it; None when a value has none.

        ``encode`` is :func:`engine.jsonutil.dumps_bytes` as text (request bodies)
        unless given (the JSON Lines writer's :func:`engine.jsonutil.dumps`, which
        spells a few floats otherwise: ``1e-07``). Text, integers and booleans
        are written by Arrow, the same in both; other values by ``encode``.

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
            text = self._object(tree, encode or _as_text, top=True)
        except NoJsonForm:
            return None
        assert text is not None
        joined = _join(text.parts)
        if isinstance(joined, str):
            return [joined] * self.count
        found: list[str] = joined.to_pylist()
        return found

    def _object(self, node: dict[str, Any], encode: Callable[[Any], str], *, top: bool) -> _Text | None:
        """``{...}`` for every record, None where the object is left out (it would be empty).

        The members' texts are spliced into one join: ``{"a":`` value ``,"b":``
        value ... ``}``. A member that may be missing joins as ``,"key":value``
        or empty text; when the first member may be missing, the joined members'
        first comma is dropped afterwards. (Arrow's join that skips nulls loses
        rows in some releases, so nulls never reach a join.)
        """
        members: list[tuple[str, _Text]] = []
        for key, value in node.items():
            text = (
                self._value(value, encode)
                if isinstance(value, MappedColumn)
                else self._object(value, encode, top=False)
            )
            if text is not None:
                members.append((dumps_bytes(key).decode() + ":", text))
        if not members:
            return _Text(["{}"], True) if top else None
        if members[0][1].sure:
            name, first = members[0]
            args: list[Any] = ["{" + name, *first.parts]
            for name, text in members[1:]:
                args += ["," + name, *text.parts] if text.sure else [_member("," + name, text)]
            return _Text([*args, "}"], True)
        body = pc.utf8_slice_codeunits(_join([_member("," + name, text) for name, text in members]), 1)
        whole = pc.binary_join_element_wise("{", body, "}", "")
        if top:
            return _Text([whole], True)
        return _Text([pc.if_else(pc.equal(body, ""), pa.scalar(None, pa.string()), whole)], False)

    def _value(self, column: MappedColumn, encode: Callable[[Any], str]) -> _Text | None:
        """The JSON text of ``column``'s values, or None when the key is always left out."""
        if column.is_constant:
            if column.constant is None:
                return _Text(["null"], True) if column.always_present else None
            return _Text([_encode(column.constant, encode)], True)
        if isinstance(column.data, list):
            text = _Text(
                [pa.array([None if v is None else _encode(v, encode) for v in column.data], pa.string())]
            )
        else:
            text = _texts(column.data, encode)
        if text.sure or not column.always_present:
            return text
        return _Text([pc.fill_null(_join(text.parts), "null")], True)


@dataclasses.dataclass
class _Text:
    """JSON text for every record as the pieces that join into it (strs, and string arrays)."""

    parts: list[Any]
    #: there for every record; otherwise the arrays are null where the value is missing
    sure: bool = False

    def __post_init__(self) -> None:
        if not self.sure:
            self.sure = all(isinstance(p, str) or not p.null_count for p in self.parts)


def _join(parts: list[Any]) -> Any:
    """The pieces joined: one str when they all are, else a string array."""
    if all(isinstance(p, str) for p in parts):
        return "".join(parts)
    return pc.binary_join_element_wise(*parts, "")


def _member(name: str, text: _Text) -> Any:
    """``,"key":value`` for every record, empty text where the value is missing."""
    return pc.fill_null(pc.binary_join_element_wise(name, *text.parts, ""), "")


def _as_text(value: Any) -> str:
    return dumps_bytes(value).decode()


def _encode(value: Any, encode: Callable[[Any], str]) -> str:
    """One value's JSON text as the row path writes it."""
    if isinstance(value, float | Decimal) and not math.isfinite(value):
        raise NoJsonForm(f"{value} is not a number JSON can hold")
    try:
        return encode(value)
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise NoJsonForm(str(exc)) from None


def _texts(data: Any, encode: Callable[[Any], str]) -> _Text:
    """JSON texts of an Arrow array's values (null where the value is null)."""
    if isinstance(data, pa.ChunkedArray):
        data = data.combine_chunks()
    kind = data.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        plain = pc.fill_null(pc.match_substring_regex(data, _PLAIN_TEXT), True)
        if pc.all(plain).as_py():
            return _Text(['"', data, '"'])
        quoted = pc.binary_join_element_wise('"', data, '"', "")
        escaped = pc.filter(data, pc.invert(plain)).to_pylist()
        fixed = pa.array([_encode(v, encode) for v in escaped], pa.string())
        return _Text([pc.replace_with_mask(quoted, pc.invert(plain), fixed)])
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return _Text([pc.cast(data, pa.string())])
    if pa.types.is_null(kind):
        return _Text([pa.nulls(len(data), pa.string())])
    return _Text(
        [pa.array([None if v is None else _encode(v, encode) for v in data.to_pylist()], pa.string())]
    )
