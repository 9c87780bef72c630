"""Functions for ``expr`` and ``when``: exact arithmetic, dates, strings, coalesce.

JMESPath alone has no ``+ - * /``; these functions add them, exactly:
numbers (and numeric text such as CSV values) become ``Decimal``, so
``subtract("10.10", "0.20")`` is ``9.90``, never ``9.899999999999999``. An
integral result of integral operands is an ``int``. Anything that is not a
number is an error for the record, naming the function and the value (never
a zero). Dates are ISO-8601 text in and out; ``now()`` is the run's start
time, so every record of a run sees the same clock.

The full list, with examples, is in docs/mapping.md ("Functions in
expressions").
"""

from __future__ import annotations

import contextvars
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    InvalidOperation,
)
from typing import Any, TypeVar, cast

import jmespath
from jmespath import functions

from engine.errors import DataError

#: the run's start time, set by the runner: every record of a run sees the same ``now()``
RUN_CLOCK: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("run_clock", default=None)

_ROUNDING = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "up": ROUND_UP,
    "down": ROUND_DOWN,
    "ceiling": ROUND_CEILING,
    "floor": ROUND_FLOOR,
}
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


class ExprError(DataError):
    """A function got what it cannot work with: the record is rejected with this message."""


def number(value: Any, fn: str) -> Decimal:
    """``value`` as an exact Decimal: numbers and numeric text; anything else is an :class:`ExprError`."""
    if isinstance(value, bool) or value is None:
        raise ExprError(f"{fn}: {value!r} is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExprError(f"{fn}: {value!r} is not a finite number")
        return Decimal(repr(value))
    if isinstance(value, str) and _NUMBER.match(value):
        return Decimal(value.strip())
    raise ExprError(f"{fn}: {value!r} is not a number")


def _integral(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.strip().lstrip("+-").isdigit()
    )


def _result(value: Decimal, *operands: Any) -> int | Decimal:
    """An int when every operand was integral and so is the result; otherwise the exact Decimal."""
    if all(_integral(o) for o in operands) and value == value.to_integral_value():
        return int(value)
    return value


def _date(value: Any, fn: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ExprError(f"{fn}: {value!r} is not an ISO-8601 date") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ExprError(f"{fn}: {value!r} is not a date")


def _iso(value: datetime) -> str:
    text = value.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _seconds(value: Any, fn: str) -> float:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value)) if isinstance(value, str) else None
    if not match:
        raise ExprError(f"{fn}: {value!r} is not a duration (e.g. 90s, 15m, 2h, 3d, 1w)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _text(value: Any, fn: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    raise ExprError(f"{fn}: {value!r} is not text")


F = TypeVar("F", bound=Callable[..., Any])


def arity(least: int, most: int | None = None) -> Callable[[F], F]:
    """A function taking ``least`` to ``most`` arguments of any type (JMESPath has no optional ones)."""

    def wrap(fn: F) -> F:
        name = fn.__name__.removeprefix("_func_")

        def checked(self: Any, *args: Any) -> Any:
            if len(args) < least or (most is not None and len(args) > most):
                wanted = (
                    str(least) if most == least else f"{least} to {most}" if most else f"at least {least}"
                )
                raise ExprError(f"{name}() takes {wanted} arguments, got {len(args)}")
            return fn(self, *args)

        checked.__name__ = fn.__name__
        setattr(checked, "signature", ({"types": [], "variadic": True},) if least else ())  # noqa: B010
        return cast(F, checked)

    return wrap


class EngineFunctions(functions.Functions):
    """The engine's functions, beside (and over) JMESPath's own numeric ones."""

    # -- arithmetic ------------------------------------------------------------------

    @arity(2)
    def _func_add(self, *values: Any) -> Any:
        return _result(sum((number(v, "add") for v in values), Decimal(0)), *values)

    @arity(2, 2)
    def _func_subtract(self, a: Any, b: Any) -> Any:
        return _result(number(a, "subtract") - number(b, "subtract"), a, b)

    @arity(2)
    def _func_multiply(self, *values: Any) -> Any:
        out = Decimal(1)
        for v in values:
            out *= number(v, "multiply")
        return _result(out, *values)

    @arity(2, 2)
    def _func_divide(self, a: Any, b: Any) -> Any:
        divisor = number(b, "divide")
        if divisor == 0:
            raise ExprError(f"divide: {a!r} / {b!r} divides by zero")
        try:
            return _result(number(a, "divide") / divisor, a, b)
        except InvalidOperation:
            raise ExprError(f"divide: {a!r} / {b!r} has no exact answer") from None

    @arity(1, 3)
    def _func_round(self, value: Any, places: int = 0, mode: str = "half_up") -> Any:
        rounding = _ROUNDING.get(mode)
        if rounding is None:
            raise ExprError(f"round: mode {mode!r} is not one of {', '.join(_ROUNDING)}")
        exact = number(value, "round").quantize(Decimal(1).scaleb(-int(places)), rounding=rounding)
        return int(exact) if int(places) <= 0 else exact

    @arity(1, 1)
    def _func_ceil(self, value: Any) -> int:
        return int(number(value, "ceil").to_integral_value(rounding=ROUND_CEILING))

    @arity(1, 1)
    def _func_floor(self, value: Any) -> int:
        return int(number(value, "floor").to_integral_value(rounding=ROUND_FLOOR))

    @arity(1, 1)
    def _func_abs(self, value: Any) -> Any:
        return _result(abs(number(value, "abs")), value)

    @arity(1, 1)
    def _func_sum(self, values: list[Any]) -> Any:
        if not isinstance(values, list):
            raise ExprError(f"sum: {values!r} is not a list")
        return _result(sum((number(v, "sum") for v in values), Decimal(0)), *values)

    @arity(1, 1)
    def _func_max(self, values: list[Any]) -> Any:
        if not isinstance(values, list):
            raise ExprError(f"max: {values!r} is not a list")
        return max(values, key=lambda v: number(v, "max")) if values else None

    @arity(1, 1)
    def _func_min(self, values: list[Any]) -> Any:
        if not isinstance(values, list):
            raise ExprError(f"min: {values!r} is not a list")
        return min(values, key=lambda v: number(v, "min")) if values else None

    @arity(1, 1)
    def _func_to_decimal(self, value: Any) -> Decimal:
        return number(value, "to_decimal")

    # -- dates -------------------------------------------------------------------------------

    @arity(0, 0)
    def _func_now(self) -> str:
        return _iso(RUN_CLOCK.get() or datetime.now(UTC))

    @arity(1, 2)
    def _func_parse_date(self, text: str, fmt: str | None = None) -> str:
        if fmt is None:
            return _iso(_date(text, "parse_date"))
        try:
            parsed = datetime.strptime(text.strip(), fmt)
        except ValueError:
            raise ExprError(f"parse_date: {text!r} does not match {fmt!r}") from None
        return _iso(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))

    @arity(2, 2)
    def _func_format_date(self, value: Any, fmt: str) -> str:
        return _date(value, "format_date").strftime(fmt)

    @arity(2, 2)
    def _func_add_duration(self, value: Any, duration: Any) -> str:
        return _iso(_date(value, "add_duration") + timedelta(seconds=_seconds(duration, "add_duration")))

    @arity(2, 2)
    def _func_subtract_duration(self, value: Any, duration: Any) -> str:
        return _iso(
            _date(value, "subtract_duration") - timedelta(seconds=_seconds(duration, "subtract_duration"))
        )

    @arity(2, 3)
    def _func_date_diff(self, a: Any, b: Any, unit: str = "s") -> Any:
        if unit not in _UNITS:
            raise ExprError(f"date_diff: unit {unit!r} is not one of {', '.join(_UNITS)}")
        seconds = Decimal(str((_date(a, "date_diff") - _date(b, "date_diff")).total_seconds()))
        out = seconds / Decimal(str(_UNITS[unit]))
        return int(out) if out == out.to_integral_value() else out

    # -- strings ---------------------------------------------------------------------------------

    @arity(2, 2)
    def _func_split(self, value: Any, sep: str) -> list[str]:
        return _text(value, "split").split(sep)

    @arity(3, 3)
    def _func_replace(self, value: Any, old: str, new: str) -> str:
        return _text(value, "replace").replace(old, new)

    @arity(2, 3)
    def _func_pad_left(self, value: Any, width: int, fill: str = " ") -> str:
        return _text(value, "pad_left").rjust(int(width), _fill(fill))

    @arity(2, 3)
    def _func_pad_right(self, value: Any, width: int, fill: str = " ") -> str:
        return _text(value, "pad_right").ljust(int(width), _fill(fill))

    @arity(2, 3)
    def _func_substring(self, value: Any, start: int, length: int | None = None) -> str:
        text = _text(value, "substring")
        begin = int(start)
        return text[begin:] if length is None else text[begin : begin + int(length)]

    @arity(2, 2)
    def _func_regex_match(self, value: Any, pattern: str) -> bool:
        return _regex(pattern, "regex_match").search(_text(value, "regex_match")) is not None

    @arity(2, 3)
    def _func_regex_extract(self, value: Any, pattern: str, group: int = 0) -> str | None:
        found = _regex(pattern, "regex_extract").search(_text(value, "regex_extract"))
        if found is None:
            return None
        try:
            return found.group(int(group))
        except IndexError:
            raise ExprError(f"regex_extract: {pattern!r} has no group {group}") from None

    @arity(1, 1)
    def _func_lower(self, value: Any) -> str:
        return _text(value, "lower").lower()

    @arity(1, 1)
    def _func_upper(self, value: Any) -> str:
        return _text(value, "upper").upper()

    @arity(1, 1)
    def _func_trim(self, value: Any) -> str:
        return _text(value, "trim").strip()

    # -- values ----------------------------------------------------------------------------------

    @arity(1)
    def _func_coalesce(self, *values: Any) -> Any:
        return next((v for v in values if v is not None and v != ""), None)


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _regex(pattern: str, fn: str) -> re.Pattern[str]:
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        try:
            compiled = _PATTERNS[pattern] = re.compile(pattern)
        except re.error as exc:
            raise ExprError(f"{fn}: {pattern!r} is not a regular expression: {exc}") from None
    return compiled


#: options every expression is searched with (the run's clock is the process's until a run sets it)
OPTIONS = jmespath.Options(custom_functions=EngineFunctions())


class Expression:
    """A compiled JMESPath expression that searches with the engine's functions."""

    __slots__ = ("parsed", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.parsed = jmespath.compile(text)

    def search(self, data: Any) -> Any:
        """Evaluate on ``data`` (the record's view) with the engine's functions."""
        return self.parsed.search(data, options=OPTIONS)


def compile_expression(text: str) -> Expression:
    """Parse ``text`` (raises jmespath's ParseError/LexerError on bad syntax)."""
    return Expression(text)


def _fill(fill: Any) -> str:
    text = "" if fill is None else str(fill)
    return text[0] if text else " "
