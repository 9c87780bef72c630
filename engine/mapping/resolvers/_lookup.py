"""``map``: a lookup table, written inline or loaded once from a CSV file.

The file is loaded when the mapping is compiled, so a missing file fails
``engine validate``, not record 1,042.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from typing import Any

from engine.contracts import ResolverOptions
from engine.errors import DataError
from engine.mapping.resolvers._common import as_text, bad_args, show

_ABSENT = object()
_DEFAULT_OPTIONS = ResolverOptions()
#: how many known keys an "unknown key" message lists
_LISTED = 5


def load_csv(path: str, key: str | None, value: str | None) -> dict[str, str]:
    """Key column -> value column; a key with two different values is an error."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if not header or len(header) < 2:
                raise bad_args(f"lookup file {path} needs a header with at least two columns")
            columns = {name.strip(): n for n, name in enumerate(header)}
            k = _column(path, columns, key, 0)
            v = _column(path, columns, value, 1)
            table: dict[str, str] = {}
            first_row: dict[str, int] = {}
            for row_number, row in enumerate(reader, start=2):
                if not row or len(row) <= max(k, v):
                    continue
                name, result = row[k], row[v]
                if name in table and table[name] != result:
                    raise bad_args(
                        f"lookup file {path}: key {name!r} has two values "
                        f"(rows {first_row[name]} and {row_number})"
                    )
                table[name] = result
                first_row.setdefault(name, row_number)
            return table
    except OSError as exc:
        raise bad_args(f"cannot read lookup file {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise bad_args(f"lookup file {path} is not a UTF-8 CSV file: {exc}") from None


def _column(path: str, columns: dict[str, int], name: str | None, fallback: int) -> int:
    if name is None:
        return fallback
    if name not in columns:
        raise bad_args(f"lookup file {path} has no column {name!r} (it has {', '.join(map(repr, columns))})")
    return columns[name]


def make_map(
    *,
    table: dict[str, Any] | None = None,
    file: str | None = None,
    key: str | None = None,
    value: str | None = None,
    default: Any = _ABSENT,
    ignore_case: bool = False,
    options: ResolverOptions = _DEFAULT_OPTIONS,
) -> Callable[[Any], Any]:
    if (table is None) == (file is None):
        raise bad_args("map needs exactly one of 'table' or 'file'")
    if table is not None and (key or value):
        raise bad_args("'key' and 'value' name columns of a lookup file; they need 'file'")
    if file is not None:
        lookup: dict[str, Any] = load_csv(os.path.join(options.base_dir, file), key, value)
    else:
        lookup = {as_text(k): v for k, v in (table or {}).items()}
    if ignore_case:
        lookup = {k.casefold(): v for k, v in lookup.items()}
    known = ", ".join(map(show, list(lookup)[:_LISTED])) + (" ..." if len(lookup) > _LISTED else "")

    def slow(found: Any) -> Any:
        text = found if type(found) is str else as_text(found)
        got = lookup.get(text.casefold() if ignore_case else text, _ABSENT)
        if got is not _ABSENT:
            return got
        if default is not _ABSENT:
            return default
        raise DataError(f"{show(found)} is not in the lookup table (known: {known or 'none'})")

    def fn(found: Any) -> Any:
        if type(found) is str:
            got = lookup.get(found, _ABSENT)
            if got is not _ABSENT:
                return got
        return slow(found)

    return fn
