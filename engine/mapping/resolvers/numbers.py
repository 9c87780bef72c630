"""Numbers read strictly: what a feed writes must be the number it means.

Python's own parsers accept more than feeds should (``int("1_000")``,
``int("٥")``, ``float("nan")``), so the fast path tries the direct
conversion on plain ASCII text and anything unusual goes to a slower path
that explains the refusal. Choices users can rely on:

* ``int`` accepts ``"5.0"`` (a whole number written with a zero fraction)
  but rejects ``"5.5"`` and exponents; ``float`` rejects NaN and infinities
  and turns ``-0`` into ``0.0``.
* ``decimal`` is exact and returns a **string** by default (``"12.50"``):
  every target can write it and nothing is lost; ``as: number`` gives a JSON
  number, ``as: decimal`` a ``Decimal`` for typed writers.
* ``decimal`` and ``round`` round **half up** (away from zero on a tie) by
  default, applied to the number as written: ``2.675`` rounds to ``2.68``,
  where Python's binary ``round`` gives 2.67. ``rounding: half_even`` is there
  for banker's rounding.

Example::

    fields:
      qty:   {source: "Qty On Hand", resolver: int}
      price: {source: price, resolver: {name: decimal, args: {scale: 2}}}
"""

from __future__ import annotations

import decimal
import math
import re
from collections.abc import Callable
from typing import Any

from engine.contracts import Resolver
from engine.mapping.resolvers._common import ROUNDING, ValueFunction, invalid, is_blank, wrong_kind

_INTEGRAL = re.compile(r"([+-]?[0-9]+)(?:\.(0*))?", re.ASCII)
_FRACTION = re.compile(r"[+-]?[0-9]*\.[0-9]+", re.ASCII)
#: enough for any number a feed carries; more digits is an error, not a silent rounding
_CONTEXT = decimal.Context(prec=400, Emax=999_999, Emin=-999_999)


def _why_not_number(text: str) -> str | None:
    if not text.isascii():
        return "only ASCII digits are accepted"
    if "_" in text:
        return "underscores are not accepted"
    return None


def _int_from_text(value: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    m = _INTEGRAL.fullmatch(text)
    if m:
        digits = m.group(1)
        if len(digits.lstrip("+-0")) > 4000:
            raise invalid(value, "an integer", "too many digits")
        return int(digits)
    if _FRACTION.fullmatch(text):
        raise invalid(value, "an integer", "it has a fraction")
    raise invalid(value, "an integer", _why_not_number(text))


def _int_from_other(value: Any) -> int:
    if isinstance(value, bool):
        raise invalid(value, "an integer")
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float | decimal.Decimal):
        if not (math.isfinite(value) if isinstance(value, float) else value.is_finite()):
            raise invalid(value, "an integer")
        if value != int(value):
            raise invalid(value, "an integer", "it has a fraction")
        return int(value)
    raise wrong_kind(value, "an integer")


def make_int() -> ValueFunction:
    """Build ``int``: whole numbers from text or numbers; blank text is None, a fraction a :class:`DataError`."""

    def fn(value: Any) -> int | None:
        if type(value) is str:
            if value.isascii() and "_" not in value:
                try:
                    return int(value)
                except ValueError:
                    pass
            return _int_from_text(value)
        if type(value) is int:
            return value
        return _int_from_other(value)

    return fn


def _float_from_text(value: str) -> float | None:
    if is_blank(value) or not value.strip():
        return None
    why = _why_not_number(value)
    if why is None:
        try:
            got = float(value)
        except ValueError:
            raise invalid(value, "a number") from None
        if math.isnan(got) or any(word in value.lower() for word in ("inf", "nan")):
            raise invalid(value, "a number")
        raise invalid(value, "a number", "out of range")
    raise invalid(value, "a number", why)


def _float_from_other(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | decimal.Decimal):
        if isinstance(value, bool):
            raise invalid(value, "a number")
        raise wrong_kind(value, "a number")
    try:
        got = float(value)
    except OverflowError:
        raise invalid(value, "a number", "out of range") from None
    if not math.isfinite(got):
        raise invalid(value, "a number", None if isinstance(value, float) else "out of range")
    return got if got else 0.0


def make_float() -> ValueFunction:
    """Build ``float``: finite floats only (NaN and infinities are errors), ``-0`` written as ``0.0``."""

    def fn(value: Any) -> float | None:
        if type(value) is str and value.isascii() and "_" not in value:
            try:
                got = float(value)
            except ValueError:
                return _float_from_text(value)
            if got - got == 0.0:  # finite
                return got if got else 0.0
            return _float_from_text(value)
        if type(value) is str:
            return _float_from_text(value)
        return _float_from_other(value)

    return fn


def to_decimal(value: Any) -> decimal.Decimal | None:
    """The exact number a value stands for; floats by their shortest repr."""
    if type(value) is str:
        if value.isascii() and "_" not in value:
            try:
                got = decimal.Decimal(value)
            except decimal.InvalidOperation:
                got = None
            if got is not None and got.is_finite():
                if abs(got.adjusted()) > 1000:
                    raise invalid(value, "a number", "out of range")
                return got
        if is_blank(value) or not value.strip():
            return None
        raise invalid(value, "a number", _why_not_number(value))
    if isinstance(value, bool):
        raise invalid(value, "a number")
    if isinstance(value, int):
        return decimal.Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise invalid(value, "a number")
        return decimal.Decimal(repr(value))
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise invalid(value, "a number")
        return value
    raise wrong_kind(value, "a number")


def _quantizer(places: int | None, rounding: str) -> Callable[[decimal.Decimal, Any], decimal.Decimal]:
    """``d -> d`` rounded to ``places`` decimals (None: unchanged), never ``-0``."""
    context = decimal.Context(
        prec=_CONTEXT.prec, Emax=_CONTEXT.Emax, Emin=_CONTEXT.Emin, rounding=ROUNDING[rounding]
    )
    exponent = None if places is None else decimal.Decimal(1).scaleb(-places)
    fit = context.quantize

    def quantize(d: decimal.Decimal, original: Any) -> decimal.Decimal:
        if exponent is not None:
            try:
                d = fit(d, exponent)
            except decimal.InvalidOperation:
                raise invalid(original, "a number we can round", "too many digits") from None
        if d.is_zero() and d.is_signed():
            d = d.copy_abs()
        return d

    return quantize


def _fixed(d: decimal.Decimal) -> str:
    return format(d, "f")


def make_decimal(*, scale: int | None = None, rounding: str = "half_up", **kw: Any) -> ValueFunction:
    """Build ``decimal``: the exact number, rounded to ``scale`` places when given.

    ``as`` (a keyword, hence ``**kw``) picks the output: ``"string"`` (plain
    notation, the default), ``"decimal"`` or ``"number"`` (an int when whole,
    else a float). Blank text gives None.
    """
    output = kw.pop("as", "string")
    quantize = _quantizer(scale, rounding)
    # str() is four times faster than format(d, "f") and writes the same for these scales
    plain = str if scale is not None and 0 <= scale <= 6 else _fixed

    def fn(value: Any) -> Any:
        d = to_decimal(value)
        if d is None:
            return None
        d = quantize(d, value)
        if output == "string":
            return plain(d)
        if output == "decimal":
            return d
        return int(d) if d == d.to_integral_value() else float(d)

    return fn


def make_round(*, digits: int = 0, rounding: str = "half_up") -> ValueFunction:
    """Build ``round``: a number rounded to ``digits`` places, decimally (``2.675`` is ``2.68``).

    The result keeps the input's kind: a Decimal stays a Decimal, otherwise an
    int when ``digits <= 0`` and a float above; an int with ``digits >= 0`` is
    returned as it is.
    """
    quantize = _quantizer(digits, rounding)

    def fn(value: Any) -> Any:
        if type(value) is int and digits >= 0:
            return value
        d = to_decimal(value)
        if d is None:
            return None
        d = quantize(d, value)
        if isinstance(value, decimal.Decimal):
            return d
        if digits <= 0:
            return int(d)
        got = float(d)
        return got if got else 0.0

    return fn


_ROUNDING = {
    "enum": sorted(ROUNDING),
    "default": "half_up",
    "description": "how ties and cut digits are rounded",
}

RESOLVERS = [
    Resolver(
        "int", make_int, summary="A whole number; '5.0' is 5, '5.5' and 'ten' are errors.", returns="integer"
    ),
    Resolver("float", make_float, summary="A finite floating-point number.", returns="number"),
    Resolver(
        "decimal",
        make_decimal,
        shorthand="scale",
        summary="An exact decimal, optionally rounded to a scale; a string unless as: number.",
        args={
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "scale": {
                    "type": ["integer", "null"],
                    "minimum": -100,
                    "maximum": 100,
                    "default": None,
                    "description": "decimal places to round to; null keeps them all",
                },
                "rounding": _ROUNDING,
                "as": {"enum": ["string", "number", "decimal"], "default": "string"},
            },
        },
    ),
    Resolver(
        "round",
        make_round,
        shorthand="digits",
        summary="Round a number to digits decimal places (half up by default).",
        args={
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "digits": {
                    "type": "integer",
                    "minimum": -100,
                    "maximum": 100,
                    "default": 0,
                    "description": "decimal places; negative rounds to tens, hundreds ...",
                },
                "rounding": _ROUNDING,
            },
        },
    ),
]
