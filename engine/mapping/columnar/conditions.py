"""``when`` conditions on whole columns: the JMESPath a field's ``when`` is written in, where it only compares.

The columnar form covers what conditions on flat rows mostly say: a column
read as ``record.NAME``, compared with ``==`` or ``!=`` to a literal, a
column on its own (present and not empty), and ``&&``, ``||`` and ``!`` of
those. It gives JMESPath's own answer for text columns: a missing column is
null, null equals only null, text never equals a number, empty text is
false. Any other expression (functions, ordering, ``root``, projections) or a
column that is not text has no columnar form, and its field is mapped row by
row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from engine.mapping.columnar.values import NoColumnarForm
from engine.mapping.steps import truthy

#: ``truth(table)``: whether the condition holds, one boolean per row (never null)
Truth = Callable[[Any], Any]


def condition(node: Mapping[str, Any], columns: Mapping[str, int]) -> Truth:
    """The columnar truth of a parsed JMESPath ``when`` (jmespath's AST).

    Raises:
        NoColumnarForm: the expression says more than comparisons of columns.
    """
    kind = node["type"]
    if kind in ("and_expression", "or_expression"):
        left, right = (condition(child, columns) for child in node["children"])
        join = pc.and_ if kind == "and_expression" else pc.or_
        return lambda table: join(left(table), right(table))
    if kind == "not_expression":
        inner = condition(node["children"][0], columns)
        return lambda table: pc.invert(inner(table))
    if kind == "literal":
        truth = truthy(node["value"])
        return lambda table: pa.array([truth] * table.num_rows, pa.bool_())
    if kind == "comparator" and node["value"] in ("eq", "ne"):
        a, b = node["children"]
        if a["type"] == "literal":
            a, b = b, a
        if b["type"] != "literal":
            raise NoColumnarForm("a comparison of two columns")
        read, literal, equal = _column(a, columns), b["value"], node["value"] == "eq"
        return lambda table: _compare(read(table), literal, equal)
    read = _column(node, columns)
    return lambda table: _truthy(read(table))


def _column(node: Mapping[str, Any], columns: Mapping[str, int]) -> Callable[[Any], Any]:
    """``record.NAME`` as its text column (all null when the file has no such column)."""
    children = node.get("children") or []
    if (
        node["type"] != "subexpression"
        or len(children) != 2
        or children[0] != {"type": "field", "children": [], "value": "record"}
        or children[1]["type"] != "field"
    ):
        raise NoColumnarForm("a condition on something other than a column of the record")
    name = children[1]["value"]
    if name not in columns:
        return lambda table: pa.nulls(table.num_rows, pa.string())

    def read(table: Any) -> Any:
        column = table.column(name)
        if not pa.types.is_string(column.type):
            raise NoColumnarForm("a condition on a column that is not text")
        return column

    return read


def _compare(column: Any, literal: Any, equal: bool) -> Any:
    """``column == literal`` (or ``!=``) as JMESPath answers it, row by row."""
    if literal is None:
        same = pc.is_null(column)
    elif isinstance(literal, str):
        same = pc.fill_null(pc.equal(column, literal), False)
    else:  # text (or null) never equals a number, a boolean, a list or an object
        same = pa.array([False] * len(column), pa.bool_())
    return same if equal else pc.invert(same)


def _truthy(column: Any) -> Any:
    """JMESPath's truth of a text column: present and not empty."""
    return pc.fill_null(pc.not_equal(column, ""), False)
