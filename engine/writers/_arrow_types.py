"""Column types for the Parquet writer: the spec's type names, value
conversion into them, and inference from many records.

Types are written as users read them in Arrow's own output::

    string  bool  int8..int64  uint8..uint64  float32  float64  decimal(12,2)
    date  timestamp[ms, UTC]  timestamp[us]  time[ms]  binary  json
    list<string>  struct<sku: string, qty: int64>

(``int`` is int64, ``float``/``double`` float64, ``timestamp`` alone
``timestamp[ms, UTC]``; ``json`` stores any value as JSON text.) They are
parsed into small tuples without importing pyarrow, so ``engine validate``
checks them on machines without it.

Conversion is exact or refused: text becomes a number only when it is one
(``"42"`` into int64, ``"12.50"`` into decimal(12,2)), a value needing more
decimal places, digits or time precision than the column has is refused
rather than rounded, and empty text is null for every type but strings.
Inference looks at *all* the values it is given (never the first record):
mixed integers and floats widen to float64 when every integer fits exactly,
integers and decimals to a decimal wide enough for all of them, and any
other mix of scalars to string.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from engine.jsonutil import dumps

Type = tuple  # ("int", 64, True), ("decimal", 12, 2), ("list", T), ("struct", ((name, T), ...)) ...

_INTS = {f"{'u' if not s else ''}int{b}": ("int", b, s) for b in (8, 16, 32, 64) for s in (True, False)}
_SIMPLE: dict[str, Type] = {
    **_INTS, "int": ("int", 64, True), "integer": ("int", 64, True),
    "string": ("string",), "str": ("string",), "utf8": ("string",), "json": ("json",),
    "bool": ("bool",), "boolean": ("bool",), "binary": ("binary",),
    "float32": ("float", 32), "float": ("float", 64), "float64": ("float", 64), "double": ("float", 64),
    "date": ("date",), "date32": ("date",), "timestamp": ("timestamp", "ms", "UTC"), "time": ("time", "ms"),
}
_UNITS = {"s": 1, "ms": 1000, "us": 1_000_000, "ns": 1_000_000_000}


class TypeSyntaxError(ValueError):
    pass


class Refused(ValueError):
    """A value that does not fit its column; the message names the field."""


# --- the type grammar -----------------------------------------------------------------


def parse_type(text: str) -> Type:
    parser = _TypeParser(text)
    result = parser.type()
    parser.space()
    if parser.i != len(text):
        raise parser.error("unexpected text")
    return result


class _TypeParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def error(self, problem: str) -> TypeSyntaxError:
        return TypeSyntaxError(f"{problem} at character {self.i + 1} of type {self.text!r}")

    def space(self) -> None:
        while self.i < len(self.text) and self.text[self.i].isspace():
            self.i += 1

    def word(self, pattern: str = r"[A-Za-z_][A-Za-z0-9_]*") -> str:
        self.space()
        match = re.compile(pattern).match(self.text, self.i)
        if not match:
            raise self.error("expected a name")
        self.i = match.end()
        return match.group()

    def expect(self, char: str) -> None:
        self.space()
        if not self.text.startswith(char, self.i):
            raise self.error(f"expected {char!r}")
        self.i += 1

    def peek(self) -> str:
        self.space()
        return self.text[self.i] if self.i < len(self.text) else ""

    def args(self, close: str) -> list[str]:
        end = self.text.find(close, self.i)
        if end < 0:
            raise self.error(f"missing {close!r}")
        body, self.i = self.text[self.i + 1 : end], end + 1
        return [a.strip() for a in body.split(",")]

    def type(self) -> Type:
        name = self.word().lower()
        nxt = self.peek()
        if name in ("list", "struct") and nxt == "<":
            self.i += 1
            if name == "list":
                inner = self.type()
                self.expect(">")
                return ("list", inner)
            fields = []
            while True:
                field = self.word(r"[^\s:,<>]+")
                self.expect(":")
                fields.append((field, self.type()))
                if self.peek() == ",":
                    self.i += 1
                    continue
                self.expect(">")
                return ("struct", tuple(fields))
        if name in ("decimal", "decimal128") and nxt == "(":
            args = self.args(")")
            if len(args) != 2 or not all(a.isdigit() for a in args):
                raise self.error("decimal needs (precision, scale), e.g. decimal(12,2)")
            p, s = int(args[0]), int(args[1])
            if not 1 <= p <= 38 or s > p:
                raise self.error("decimal precision is 1 to 38 and the scale at most the precision")
            return ("decimal", p, s)
        if name in ("timestamp", "time") and nxt == "[":
            args = self.args("]")
            if args[0] not in _UNITS:
                raise self.error(f"{name} unit is one of s, ms, us, ns")
            if name == "time":
                if len(args) != 1:
                    raise self.error("time takes only a unit, e.g. time[ms]")
                return ("time", args[0])
            if len(args) > 2:
                raise self.error("timestamp takes a unit and an optional time zone, e.g. timestamp[ms, UTC]")
            tz = args[1].removeprefix("tz=").strip() if len(args) == 2 else None
            return ("timestamp", args[0], _zone(tz) if tz else None)
        if name in _SIMPLE and nxt not in ("(", "[", "<"):
            return _SIMPLE[name]
        raise self.error(f"unknown type {name!r}")


def _zone(name: str) -> str:
    if name.upper() in ("UTC", "Z", "+00:00"):
        return "UTC"
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TypeSyntaxError(f"unknown time zone {name!r}") from None
    return name


def type_text(t: Type) -> str:
    kind = t[0]
    if kind == "int":
        return f"{'' if t[2] else 'u'}int{t[1]}"
    if kind == "float":
        return f"float{t[1]}"
    if kind == "decimal":
        return f"decimal({t[1]},{t[2]})"
    if kind == "timestamp":
        return f"timestamp[{t[1]}{', ' + t[2] if t[2] else ''}]"
    if kind == "time":
        return f"time[{t[1]}]"
    if kind == "list":
        return f"list<{type_text(t[1])}>"
    if kind == "struct":
        return "struct<" + ", ".join(f"{n}: {type_text(s)}" for n, s in t[1]) + ">"
    return kind


def to_arrow(pa: Any, t: Type) -> Any:
    kind = t[0]
    if kind == "int":
        return getattr(pa, type_text(t))()
    if kind == "float":
        return pa.float32() if t[1] == 32 else pa.float64()
    if kind in ("string", "json"):
        return pa.string()
    if kind == "bool":
        return pa.bool_()
    if kind == "binary":
        return pa.binary()
    if kind == "decimal":
        return pa.decimal128(t[1], t[2])
    if kind == "date":
        return pa.date32()
    if kind == "timestamp":
        return pa.timestamp(t[1], t[2])
    if kind == "time":
        return pa.time32(t[1]) if t[1] in ("s", "ms") else pa.time64(t[1])
    if kind == "list":
        return pa.list_(to_arrow(pa, t[1]))
    if kind == "struct":
        return pa.struct([pa.field(n, to_arrow(pa, s)) for n, s in t[1]])
    raise ValueError(t)


# --- conversion -------------------------------------------------------------------------

_INT_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)
_NUMBER_TEXT = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*", re.ASCII)
_ISO = re.compile(r"\s*([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?"
                  r"\s*(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?\s*", re.ASCII)
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
        return Refused(f"{field}: {_show(value)} is not {'an' if name[0] in 'aeiou' else 'a'} {name}"
                       + (f" ({why})" if why else ""))

    if kind == "string":
        return lambda v: v if v is None or type(v) is str else _as_text(v, refuse)
    if kind == "json":
        return lambda v: None if v is None else dumps(v)
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
        return dumps(v)
    raise refuse(v)


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
        elif (isinstance(v, str) and _INT_TEXT.fullmatch(v)) or (type(v) is float and math.isfinite(v) and v == int(v)) or (isinstance(v, Decimal) and v.is_finite() and v == v.to_integral_value()):
            n = int(v)
        else:
            raise refuse(v)
        if not low <= n <= high:
            raise refuse(v, "out of range")
        return n

    return conv


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
    per_second = _UNITS[t[1]]
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
    per_second = _UNITS[t[1]]
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


_SCALARS: dict[str, Callable] = {"int": _int, "float": _float, "decimal": _decimal, "bool": _bool, "date": _date,
                                 "timestamp": _timestamp, "time": _time, "binary": _binary}


# --- inference ------------------------------------------------------------------------------


def infer(values: list[Any]) -> Type:
    """The narrowest type that holds every value exactly (see the module docstring)."""
    kinds: set[str] = set()
    big = 0
    scale = digits = 0
    dicts: list[Mapping] = []
    items: list[Any] = []
    for v in values:
        if v is None:
            continue
        k = type(v)
        if k is str:
            kinds.add("str")
        elif k is bool:
            kinds.add("bool")
        elif k is int:
            kinds.add("int")
            big = max(big, abs(v))
            digits = max(digits, len(str(abs(v))))
        elif k is float:
            kinds.add("float")
        elif isinstance(v, Decimal):
            kinds.add("decimal" if v.is_finite() else "str")
            if v.is_finite():
                exp = v.as_tuple().exponent
                scale = max(scale, -exp if isinstance(exp, int) and exp < 0 else 0)
                digits = max(digits, max(v.adjusted() + 1, 1))
        elif isinstance(v, datetime):
            kinds.add("aware" if v.tzinfo is not None else "naive")
        elif isinstance(v, date):
            kinds.add("date")
        elif isinstance(v, time):
            kinds.add("time")
        elif isinstance(v, bytes | bytearray):
            kinds.add("bytes")
        elif isinstance(v, Mapping):
            kinds.add("dict")
            dicts.append(v)
        elif isinstance(v, list | tuple):
            kinds.add("list")
            items.extend(v)
        else:
            kinds.add("other")
    return _decide(kinds, big, digits, scale, dicts, items)


def _decide(kinds: set[str], big: int, digits: int, scale: int, dicts: list, items: list) -> Type:
    if not kinds:
        return ("string",)
    if len(kinds) == 1:
        (only,) = kinds
        if only == "dict":
            names: dict[str, None] = {}
            for d in dicts:
                names.update(dict.fromkeys(d))
            return ("struct", tuple((n, infer([d.get(n) for d in dicts])) for n in names))
        if only == "list":
            return ("list", infer(items))
        if only == "int":
            return ("int", 64, True) if big < 1 << 63 else ("decimal", digits, 0) if digits <= 38 else ("string",)
        simple = {"str": ("string",), "bool": ("bool",), "float": ("float", 64), "aware": ("timestamp", "us", "UTC"),
                  "naive": ("timestamp", "us", None), "date": ("date",), "time": ("time", "us"),
                  "bytes": ("binary",)}
        if only in simple:
            return simple[only]
    if kinds <= {"int", "float"}:
        return ("float", 64) if big <= 1 << 53 else ("string",)
    if kinds <= {"int", "decimal"}:
        return ("decimal", digits + scale, scale) if digits + scale <= 38 else ("string",)
    if kinds <= {"int", "float", "decimal"}:
        return ("float", 64)
    if kinds <= {"aware", "naive"}:
        return ("timestamp", "us", "UTC")
    if kinds & {"dict", "list", "other"}:
        return ("json",)
    return ("string",)
