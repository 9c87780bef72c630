"""Column types for the Parquet writer: the spec's type names, and their inference from many records.

Types are written as users read them in Arrow's own output::

    string  bool  int8..int64  uint8..uint64  float32  float64  decimal(12,2)
    date  timestamp[ms, UTC]  timestamp[us]  time[ms]  binary  json
    list<string>  struct<sku: string, qty: int64>

(``int`` is int64, ``float``/``double`` float64, ``timestamp`` alone
``timestamp[ms, UTC]``; ``json`` stores any value as JSON text.) They are
parsed into small tuples without importing pyarrow, so ``engine validate``
checks them on machines without it.

Values are converted into these types by :mod:`engine.writers._arrow_values`.
Inference looks at *all* the values it is given (never the first record):
mixed integers and floats widen to float64 when every integer fits exactly,
integers and decimals to a decimal wide enough for all of them, and any
other mix of scalars to string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

Type = tuple  # ("int", 64, True), ("decimal", 12, 2), ("list", T), ("struct", ((name, T), ...)) ...

_INTS = {f"{'u' if not s else ''}int{b}": ("int", b, s) for b in (8, 16, 32, 64) for s in (True, False)}
_SIMPLE: dict[str, Type] = {
    **_INTS,
    "int": ("int", 64, True),
    "integer": ("int", 64, True),
    "string": ("string",),
    "str": ("string",),
    "utf8": ("string",),
    "json": ("json",),
    "bool": ("bool",),
    "boolean": ("bool",),
    "binary": ("binary",),
    "float32": ("float", 32),
    "float": ("float", 64),
    "float64": ("float", 64),
    "double": ("float", 64),
    "date": ("date",),
    "date32": ("date",),
    "timestamp": ("timestamp", "ms", "UTC"),
    "time": ("time", "ms"),
}
UNITS = {"s": 1, "ms": 1000, "us": 1_000_000, "ns": 1_000_000_000}


class TypeSyntaxError(ValueError):
    pass


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
            if args[0] not in UNITS:
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
        from engine.suggest import did_you_mean

        known = [*_SIMPLE, "decimal", "list", "struct"]
        hint = (
            did_you_mean(name, known)
            or " (types: string, int64, float64, bool, decimal(p,s), date, timestamp[ms, UTC], ...)"
        )
        raise TypeSyntaxError(f"unknown type {name!r} in {self.text!r}{hint}")


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
            if big < 1 << 63:
                return ("int", 64, True)
            return ("decimal", digits, 0) if digits <= 38 else ("string",)
        simple = {
            "str": ("string",),
            "bool": ("bool",),
            "float": ("float", 64),
            "date": ("date",),
            "aware": ("timestamp", "us", "UTC"),
            "naive": ("timestamp", "us", None),
            "time": ("time", "us"),
            "bytes": ("binary",),
        }
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
    if kinds & {"dict", "list", "bytes", "other"}:
        return ("json",)
    return ("string",)
