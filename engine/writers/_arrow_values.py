"""Values into Parquet columns: exact or refused, never rounded.

Text becomes a number only when it is one (``"42"`` into int64, ``"12.50"``
into decimal(12,2)); a value needing more decimal places, digits or time
precision than its column has is refused rather than rounded; an integer a
float cannot hold exactly is refused; empty text is null for every type but
strings; anything with a text form fits a string column (objects and lists
as JSON). Refusals name the field, so the record is rejected with a reason
a user can act on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from engine.jsonutil import dumps
from engine.writers._arrow_types import UNITS, Type, type_text


class Refused(ValueError):
    """A value that does not fit its column; the message names the field."""


_INT_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)
_NUMBER_TEXT = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*", re.ASCII)
_ISO = re.compile(
    r"\s*([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?"
    r"\s*(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?\s*",
    re.ASCII,
)
_TIME = re.compile(r"\s*([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?\s*", re.ASCII)
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_WIDE = Context(prec=120)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def converter(t: Type, field: str) -> Callable[[Any], Any]:
    """``fn(value) -> value pyarrow stores in type t``; raises :class:`Refused`."""
    kind = t[0]
    name = type_text(t)

    def refuse(value: Any, why: str = "") -> Refused:
        return Refused(
            f"{field}: {_show(value)} is not {'an' if name[0] in 'aeiou' else 'a'} {name}"
            + (f" ({why})" if why else "")
        )

    if kind == "string":
        return lambda v: v if v is None or type(v) is str else _as_text(v, refuse)
    if kind == "json":
        return lambda v: None if v is None else _json(v, refuse)
    if kind == "struct":
        return _struct(t, field, refuse)
    if kind == "list":
        inner = converter(t[1], field + "[]")

        def to_list(v: Any) -> Any:
            if v is None:
                return None
            if not isinstance(v, list | tuple):
                raise refuse(v)
            return [inner(x) for x in v]

        return to_list
    scalar = _SCALARS[kind](t, refuse)

    def blank_is_null(v: Any) -> Any:
        if v is None or (type(v) is str and not v.strip()):
            return None
        return scalar(v)

    return blank_is_null


def _as_text(v: Any, refuse: Callable) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float | Decimal):
        return str(v)
    if isinstance(v, datetime | date | time):
        return v.isoformat()
    if isinstance(v, dict | list | tuple):
        return _json(v, refuse)
    raise refuse(v)


def _json(v: Any, refuse: Callable) -> str:
    try:
        return dumps(v)
    except (TypeError, ValueError) as exc:
        raise refuse(v, str(exc)) from None


def _struct(t: Type, field: str, refuse: Callable) -> Callable[[Any], Any]:
    fields = [(n, converter(s, f"{field}.{n}")) for n, s in t[1]]
    known = {n for n, _ in fields}

    def to_struct(v: Any) -> Any:
        if v is None:
            return None
        if not isinstance(v, Mapping):
            raise refuse(v)
        extra = [k for k in v if k not in known]
        if extra:
            raise Refused(f"{field}.{extra[0]}: not a field of {type_text(t)}")
        return {n: conv(v.get(n)) for n, conv in fields}

    return to_struct


def _int(t: Type, refuse: Callable) -> Callable[[Any], Any]:
    bits, signed = t[1], t[2]
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)

    def conv(v: Any) -> int:
        if type(v) is int:
            n = v
        elif _integral(v):
            n = int(v)
        else:
            raise refuse(v)
        if not low <= n <= high:
            raise refuse(v, "out of range")
        return n

    return conv


def _integral(v: Any) -> bool:
    """Integer text, or a float or decimal with nothing after the point."""
    if isinstance(v, str):
        return _INT_TEXT.fullmatch(v) is not None
    if type(v) is float:
        return math.isfinite(v) and v == int(v)
    return isinstance(v, Decimal) and v.is_finite() and v == v.to_integral_value()


def _float(t: Type, refuse: Callable) -> Callable[[Any], Any]:
    def conv(v: Any) -> float:
        if type(v) is float:
            return v
        if type(v) is int:
            try:
                f = float(v)
            except OverflowError:
                raise refuse(v, "out of range") from None
            if f != v:
                raise refuse(v, "a float cannot hold this integer exactly")
            return f
        if isinstance(v, Decimal) or (isinstance(v, str) and _NUMBER_TEXT.fullmatch(v)):
            return float(v)
        raise refuse(v)

    return conv


def to_decimal(v: Any) -> Decimal | None:
    if isinstance(v, Decimal):
        return v if v.is_finite() else None
    if type(v) is int:
        return Decimal(v)
    if type(v) is float:
        return Decimal(repr(v)) if v == v and v not in (float("inf"), float("-inf")) else None
    if isinstance(v, str) and _NUMBER_TEXT.fullmatch(v):
        try:
            return Decimal(v.strip())
        except InvalidOperation:
            return None
    return None


def _decimal(t: Type, refuse: Callable) -> Callable[[Any], Any]:
    precision, scale = t[1], t[2]
    quantum = Decimal(1).scaleb(-scale)

    def conv(v: Any) -> Decimal:
        d = to_decimal(v)
        if d is None:
            raise refuse(v)
        try:
            q = d.quantize(quantum, context=_WIDE)
        except InvalidOperation:
            raise refuse(v, f"more than {precision} digits") from None
        if q != d:
            raise refuse(v, f"more than {scale} decimal places")
        if len(q.as_tuple().digits) > precision:
            raise refuse(v, f"more than {precision} digits")
        return q

    return conv


def _bool(t: Type, refuse: Callable) -> Callable[[Any], Any]:
    words = {"true": True, "false": False, "1": True, "0": False}

    def conv(v: Any) -> bool:
        if type(v) is bool:
            return v
        if type(v) is int and v in (0, 1):
            return bool(v)
        if isinstance(v, str) and v.strip().lower() in words:
            return words[v.strip().lower()]
        raise refuse(v)

    return conv


def _date(t: Type, refuse: Callable) -> Callable[[Any], Any]:
    def conv(v: Any) -> date:
        if type(v) is date:
            return v
        if isinstance(v, str):
            m = _ISO.fullmatch(v)
            if m and m.group(4) is None:
                try:
                    return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                except ValueError:
                    pass
        raise refuse(v, "expected a date such as 2024-01-31")

    return conv


def _timestamp(t: Type, refuse: Callable) -> Callable[[Any], Any]:
    per_second = UNITS[t[1]]
    step = 1_000_000_000 // per_second

    def conv(v: Any) -> int:
        if isinstance(v, datetime):
            if v.tzinfo is not None:
                v = v.astimezone(UTC).replace(tzinfo=None)
            delta = v - datetime(1970, 1, 1)
            seconds, nanos = delta.days * 86400 + delta.seconds, delta.microseconds * 1000
        elif type(v) is date:
            seconds, nanos = (v.toordinal() - _EPOCH_DAY) * 86400, 0
        elif isinstance(v, str) and (m := _ISO.fullmatch(v)):
            try:
                seconds, nanos = _iso_seconds(m)
            except ValueError as exc:
                raise refuse(v, str(exc)) from None
        else:
            raise refuse(v, "expected an ISO-8601 time such as 2024-01-31T10:00:00Z")
        if nanos % step:
            raise refuse(v, f"finer than the column's unit ({t[1]})")
        return seconds * per_second + nanos // step

    return conv


def _iso_seconds(m: re.Match) -> tuple[int, int]:
    y, mo, d, h, mi, s, frac, zone = m.groups()
    day = date(int(y), int(mo), int(d)).toordinal() - _EPOCH_DAY
    h, mi, s = int(h or 0), int(mi or 0), int(s or 0)
    if h > 23 or mi > 59 or s > 59:
        raise ValueError("hour, minute or second out of range")
    offset = 0
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60)
    nanos = int((frac or "").ljust(9, "0"))
    return day * 86400 + h * 3600 + mi * 60 + s - offset, nanos


def _time(t: Type, refuse: Callable) -> Callable[[Any], Any]:
    per_second = UNITS[t[1]]
    step = 1_000_000_000 // per_second

    def conv(v: Any) -> int:
        if isinstance(v, time):
            seconds, nanos = v.hour * 3600 + v.minute * 60 + v.second, v.microsecond * 1000
        elif isinstance(v, str) and (m := _TIME.fullmatch(v)):
            h, mi, s, frac = m.groups()
            if int(h) > 23 or int(mi) > 59 or int(s or 0) > 59:
                raise refuse(v, "out of range")
            seconds, nanos = int(h) * 3600 + int(mi) * 60 + int(s or 0), int((frac or "").ljust(9, "0"))
        else:
            raise refuse(v, "expected a time such as 10:00:05")
        if nanos % step:
            raise refuse(v, f"finer than the column's unit ({t[1]})")
        return seconds * per_second + nanos // step

    return conv


def _binary(t: Type, refuse: Callable) -> Callable[[Any], Any]:
    def conv(v: Any) -> bytes:
        if isinstance(v, bytes | bytearray):
            return bytes(v)
        if isinstance(v, str):
            return v.encode("utf-8")
        raise refuse(v)

    return conv


_SCALARS: dict[str, Callable] = {
    "int": _int,
    "float": _float,
    "decimal": _decimal,
    "bool": _bool,
    "date": _date,
    "timestamp": _timestamp,
    "time": _time,
    "binary": _binary,
}
