r"""Partitioning for the ``file`` target: which folder a record's file goes to.

``partition_by: {field: status}`` puts each record under ``status=ACTIVE/``
(Hive style, which Spark, Athena, DuckDB and pyarrow datasets read as a
column); ``{field: updatedOn, date: "%Y/%m/%d", style: value}`` under
``2024/01/31/``. A list of them nests folders in order. Values are taken from
the *mapped* record (dotted paths reach nested fields); a date format reads
ISO-8601 text, dates and datetimes and formats them in UTC.

Folder names are made safe and reversible: ``/ \ % = :`` and control
characters are percent-encoded (as Hive does), ``.`` and ``..`` cannot
climb out, and a missing or null value is ``__HIVE_DEFAULT_PARTITION__``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from engine.mapping.paths import PathSyntaxError, Scope, compile_getter, parse_path

NULL = "__HIVE_DEFAULT_PARTITION__"

ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["field"],
    "properties": {
        "field": {"type": "string", "minLength": 1, "description": "path in the mapped record, e.g. status"},
        "name": {
            "type": "string",
            "minLength": 1,
            "description": "key in the folder name (default: the field's last part)",
        },
        "date": {
            "type": "string",
            "minLength": 1,
            "description": 'strftime format for a date/time value, in UTC, e.g. "%Y/%m/%d"',
        },
        "style": {
            "enum": ["hive", "value"],
            "default": "hive",
            "description": "hive: name=value folders; value: the value alone",
        },
    },
}

#: one level, or a list of levels (without oneOf, so a mistake gets a precise message)
SCHEMA: dict[str, Any] = {
    **ITEM_SCHEMA,
    "type": ["object", "array"],
    "items": ITEM_SCHEMA,
    "minItems": 1,
    "description": "split files into folders by field values or dates: {field: status}, "
    "or a list of such levels",
}

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\%=:\"*?<>|#\[\]]")
_ISO = re.compile(
    r"\s*([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?"
    r"\s*(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?\s*",
    re.ASCII,
)


class BadPartitionValue(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class _Level:
    field: str
    name: str
    getter: Any
    date: str | None
    hive: bool


def encode(value: str) -> str:
    """A folder name for ``value``: unsafe characters percent-encoded."""
    if value in ("", ".", ".."):
        return value.replace(".", "%2E") or NULL
    return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), value)


class Partitioner:
    def __init__(self, spec: Mapping[str, Any] | list[Mapping[str, Any]]) -> None:
        many = isinstance(spec, list)
        levels = spec if isinstance(spec, list) else [spec]
        self.levels: list[_Level] = []
        #: (spec path below partition_by, message) for each mistake
        self.problems: list[tuple[tuple, str]] = []
        for i, level in enumerate(levels):
            at: tuple = (i,) if many else ()
            field = level["field"]
            try:
                getter = compile_getter(parse_path(field))
            except PathSyntaxError as exc:
                self.problems.append(((*at, "field"), exc.message))
                continue
            name = level.get("name") or re.split(r"[.\[\]@]", field.strip("]"))[-1] or field
            fmt = level.get("date")
            if fmt is not None:
                try:
                    datetime(2024, 1, 31, 10, 5, 9).strftime(fmt)
                except ValueError as exc:
                    self.problems.append(((*at, "date"), f"{fmt!r} is not a strftime format: {exc}"))
            self.levels.append(_Level(field, encode(name), getter, fmt, level.get("style", "hive") == "hive"))
        self.scope = Scope()

    def folder(self, record: Mapping[str, Any]) -> str:
        """``status=ACTIVE/day=2024-01-31``; raises :class:`BadPartitionValue`."""
        parts = []
        for level in self.levels:
            value = level.getter(record, self.scope)
            text = NULL if value is None else self._text(level, value)
            parts.append(f"{level.name}={text}" if level.hive else text)
        return "/".join(parts)

    @staticmethod
    def _text(level: _Level, value: Any) -> str:
        if level.date is not None:
            return "/".join(encode(p) for p in _moment(value, level.field).strftime(level.date).split("/"))
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dict | list):
            raise BadPartitionValue(f"{level.field}: a {type(value).__name__} cannot name a partition folder")
        return encode(str(value))


def _moment(value: Any, field: str) -> datetime | date:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value
    if isinstance(value, date):
        return value
    if isinstance(value, str) and (m := _ISO.fullmatch(value)):
        try:
            y, mo, d, h, mi, s, _frac, zone = m.groups()
            if h is None:
                return date(int(y), int(mo), int(d))
            text = f"{y}-{mo}-{d}T{h}:{mi}:{s or '00'}" + ("+00:00" if zone in (None, "Z") else zone)
            return datetime.fromisoformat(text).astimezone(UTC)
        except ValueError:
            pass
    raise BadPartitionValue(
        f"{field}: {value!r} is not a date or time (partition_by expects ISO-8601 such as "
        "2024-01-31T10:00:00Z)"
    )
