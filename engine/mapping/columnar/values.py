"""What a columnar form works on: a field's values for a whole chunk, and the rows in doubt."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

#: what ``str.strip()`` strips from ASCII text (Arrow's own trim knows fewer)
ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


class NoColumnarForm(Exception):
    """A step that has no columnar form: its field is computed row by row."""


@dataclasses.dataclass
class Value:
    """A field's value for every row of a chunk while its steps run.

    ``data`` is an Arrow array, or ``constant`` holds one Python value for
    every row (``value:`` fields). ``text`` says the array holds text.
    """

    data: Any
    constant: Any = None
    is_constant: bool = False
    #: every row that is not ASCII text is already uncertain (ASCII functions keep text ASCII)
    ascii: bool = False

    @property
    def text(self) -> bool:
        """Whether the values are text (an Arrow string array)."""
        return not self.is_constant and pa.types.is_string(self.data.type)


class Uncertain:
    """The rows a chunk's columnar forms were not sure of, gathered as one mask."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.mask: Any = None

    def add(self, mask: Any) -> None:
        """Rows where ``mask`` is true (null counts as false) are uncertain."""
        mask = pc.fill_null(mask, False)
        self.mask = mask if self.mask is None else pc.or_(self.mask, mask)


#: a step's columnar form: ``(value, table, uncertain) -> value``
Form = Callable[[Value, Any, Uncertain], Value]


def only_ascii(v: Value, uncertain: Uncertain) -> None:
    """Rows whose value is not ASCII text are uncertain (checked once along a chain of text forms)."""
    if not v.ascii:
        uncertain.add(pc.invert(pc.fill_null(pc.string_is_ascii(v.data), True)))


def matches(v: Value, pattern: str) -> Any:
    """Whether each value matches ``pattern`` (Arrow's RE2); a missing value does not."""
    return pc.fill_null(pc.match_substring_regex(v.data, pattern), False)


def present(v: Value) -> Any:
    """Whether each value is there (not null)."""
    return pc.is_valid(v.data)


def text_only(v: Value) -> None:
    """Only text has the text forms; other values are the row path's."""
    if not v.text:
        raise NoColumnarForm("the value is not text")


def only_space(v: Value) -> Any:
    """Whether each value is empty or only ASCII whitespace (:data:`ASCII_SPACE`); a missing value is null.

    Trimming and comparing is exact here (a byte of non-ASCII text is never
    trimmed) and several times faster than a regex over every value.
    """
    return pc.equal(pc.ascii_trim(v.data, characters=ASCII_SPACE), "")


def blank(v: Value) -> Any:
    """Missing, empty or only whitespace (of ASCII text; other text is uncertain where it matters)."""
    return pc.fill_null(only_space(v), True)
