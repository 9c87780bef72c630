"""The Fluent SDK's 16 ``sdk.*`` resolvers, so SDK mapping files run unchanged.

For valid input each gives exactly what the SDK gives on Node (see
``_js.py`` for the JavaScript rules behind that). Where the SDK would hide a
problem, the two modes part:

* **strict** (the default): input the SDK can only turn into a fallback
  (``sdk.parseInt("abc")`` is 0, ``"12abc"`` is 12, an unreadable date comes
  back as the input) is rejected with a message. A missing value stays
  missing: ``sdk.parseInt``, ``sdk.parseFloat``, ``sdk.number`` and
  ``sdk.boolean`` do not invent 0 or false for it, because an absent quantity
  or flag must not become a real one. Empty text is missing too. The one
  exception is ``sdk.toString``, which keeps the SDK's ``""`` for a missing
  value: the user asked for text, and an empty string cannot be mistaken for
  data.
* **lenient** (``mapping.options.lenient: true``): the SDK's fallbacks,
  value for value, including 0 and false for missing values.

Known differences in both modes, each in the SDK's disfavour: integers beyond
2**53 stay exact (Node rounds them); a value the SDK would write as JSON
``null`` (``sdk.parseDate`` of bad input in lenient mode, ``Infinity``) comes
out missing, so the field is omitted rather than sent as null; dates in
formats V8 reads but feeds do not use (``"12345"`` as a year) are unreadable.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.contracts import Resolver, ResolverOptions
from engine.errors import DataError
from engine.mapping.resolvers import _js
from engine.mapping.resolvers._common import ValueFunction, bad_args, invalid, is_blank, wrong_kind
from engine.mapping.resolvers._jsjson import parse_json, problem, stringify

_WS = "[" + re.escape(_js.WHITESPACE) + "]*"
_WHOLE_INT = re.compile(_WS + r"([+-]?[0-9]+)(?:\.0*)?" + _WS)
_WHOLE_FLOAT = re.compile(_WS + r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?" + _WS)
_TRUE = frozenset(("true", "1", "yes", "y"))
_FALSE = frozenset(("false", "0", "no", "n"))
_DEFAULT_OPTIONS = ResolverOptions()


def _passthrough(method: Callable[[str], Any]) -> Callable[[], ValueFunction]:
    def make() -> ValueFunction:
        def fn(value: Any) -> Any:
            return method(value) if type(value) is str else value

        return fn

    return make


def _js_trim(text: str) -> str:
    return text.strip(_js.WHITESPACE)


def _identity(value: Any) -> Any:
    return value


def make_identity() -> ValueFunction:
    """Build ``sdk.identity`` (also ``sdk.coalesce`` and ``sdk.default``, which do nothing to one value)."""
    return _identity


def make_to_string(options: ResolverOptions = _DEFAULT_OPTIONS) -> ValueFunction:
    """Build ``sdk.toString``: JavaScript's ``String(value)``, ``""`` for missing; an object is an error unless lenient."""
    lenient = options.lenient

    def fn(value: Any) -> str:
        if type(value) is str:
            return value
        if value is None:
            return ""
        if isinstance(value, dict) and not lenient:
            raise wrong_kind(value, "text, a number or a list")
        return _js.to_string(value)

    return fn


def make_parse_int(options: ResolverOptions = _DEFAULT_OPTIONS) -> ValueFunction:
    """Build ``sdk.parseInt``: lenient, ``parseInt(String(value), 10)`` with 0 for NaN; strict, whole numbers only.

    Strict mode keeps a missing or blank value missing and rejects text with
    anything but a whole number (``"12abc"``, ``"1.5"``).
    """
    if options.lenient:

        def lenient(value: Any) -> int:
            if type(value) is int:
                return value
            got = _js.parse_int("undefined" if value is None else _js.to_string(value))
            return 0 if got is None else got

        return lenient

    def strict(value: Any) -> int | None:
        if type(value) is str:
            if value.isdigit() and value.isascii():
                return int(value)
            m = _WHOLE_INT.fullmatch(value)
            if m:
                return int(m.group(1))
            if is_blank(value) or not value.strip(_js.WHITESPACE):
                return None
            raise invalid(value, "an integer")
        if type(value) is int or value is None:
            return value
        if type(value) is float and value.is_integer() and abs(value) < 1e21:
            return int(value)  # from 1e21 on, String() writes an exponent and parseInt reads 1
        if type(value) is float and math.isfinite(value) and not value.is_integer():
            raise invalid(value, "an integer", "it has a fraction")
        raise invalid(value, "an integer")

    return strict


def make_parse_float(options: ResolverOptions = _DEFAULT_OPTIONS) -> ValueFunction:
    """Build ``sdk.parseFloat`` and ``sdk.number``: lenient, JavaScript's ``parseFloat`` with 0 for NaN; strict, whole-text numbers.

    Whole floats come back as ints, as JavaScript prints them; infinities are
    missing (lenient) or rejected (strict).
    """
    if options.lenient:

        def lenient(value: Any) -> int | float | None:
            if type(value) is int:
                return value
            got = _js.parse_float("undefined" if value is None else _js.to_string(value))
            if got is None:
                return 0
            return _js.number_value(got) if math.isfinite(got) else None

        return lenient

    def strict(value: Any) -> int | float | None:
        if type(value) is str:
            if _WHOLE_FLOAT.fullmatch(value):
                got = float(value.strip(_js.WHITESPACE))
                if math.isfinite(got):
                    return _js.number_value(got)
                raise invalid(value, "a number", "out of range")
            if is_blank(value) or not value.strip(_js.WHITESPACE):
                return None
            raise invalid(value, "a number")
        if type(value) is int or value is None:
            return value
        if type(value) is float and math.isfinite(value):
            return _js.number_value(value)
        raise invalid(value, "a number")

    return strict


def make_boolean(options: ResolverOptions = _DEFAULT_OPTIONS) -> ValueFunction:
    """Build ``sdk.boolean``: lenient, true for true, 1 and the true words, false for anything else.

    Strict mode also requires a false word (false, 0, no, n) for false, keeps
    missing and blank values missing, and rejects the rest.
    """
    if options.lenient:

        def lenient(value: Any) -> bool:
            if value is True or (type(value) in (int, float) and value == 1):
                return True
            return type(value) is str and value.lower() in _TRUE

        return lenient

    def strict(value: Any) -> bool | None:
        if type(value) is str:
            word = value.lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
            if is_blank(value):
                return None
            raise invalid(value, "a boolean", "expected true, 1, yes, y or false, 0, no, n")
        if value is None:
            return None
        if type(value) is bool:
            return value is True
        if type(value) in (int, float) and value in (0, 1):
            return bool(value == 1)
        raise invalid(value, "a boolean")

    return strict


def _zone(options: ResolverOptions) -> ZoneInfo | None:
    if not options.timezone:
        return None
    try:
        return ZoneInfo(options.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_args(f"unknown time zone {options.timezone!r}") from None


#: a date V8 would roll over (2023-02-30 is March 2): reported in strict mode
_NO_SUCH_DAY = object()


def _converter(options: ResolverOptions, shape: Callable[[str], str]) -> ValueFunction:
    """``value -> shape(toISOString)``, None for Invalid Date; memoised for text."""
    zone = _zone(options)
    lenient = options.lenient

    @functools.lru_cache(maxsize=4096)
    def from_text(text: str) -> Any:
        got = _js.parse_date(text, zone)
        if got is None:
            return None
        if not got[1] and not lenient:
            return _NO_SUCH_DAY
        return shape(_js.iso_string(got[0]))

    def convert(value: Any) -> Any:
        if type(value) is str:
            return from_text(value)
        if isinstance(value, dict | list | tuple):
            return from_text(_js.to_string(value))
        ms = _js.date_value(value, zone)
        return None if ms is None else shape(_js.iso_string(ms))

    return convert


def _strict_dates(convert: ValueFunction) -> ValueFunction:
    def strict(value: Any) -> str | None:
        if type(value) is str:
            if is_blank(value):
                return None
        elif not value or isinstance(value, bool | dict | list | tuple):
            raise invalid(value, "a date")
        got = convert(value)
        if got is None:
            raise invalid(value, "a date", "out of range" if isinstance(value, int | float) else None)
        if got is _NO_SUCH_DAY:
            raise invalid(value, "a date", "no such day")
        return str(got)

    return strict


def _format_maker(shape: Callable[[str], str], fallback_to_input: bool) -> Callable[..., ValueFunction]:
    """``sdk.formatDate`` / ``sdk.formatDateShort``: falsy values pass through."""

    def make(options: ResolverOptions = _DEFAULT_OPTIONS) -> ValueFunction:
        convert = _converter(options, shape)
        if not options.lenient:
            return _strict_dates(convert)

        def lenient(value: Any) -> Any:
            if not value:
                return value
            got = convert(value)
            if got is None:
                return value if fallback_to_input else _js.to_string(value)
            return got

        return lenient

    return make


def _short(iso: str) -> str:
    return iso.partition("T")[0]


def make_parse_date(options: ResolverOptions = _DEFAULT_OPTIONS) -> ValueFunction:
    """The SDK returns a Date (or null), which JSON writes with toISOString."""
    convert = _converter(options, _identity)
    if not options.lenient:
        return _strict_dates(convert)

    def lenient(value: Any) -> str | None:
        return convert(value) if value else None

    return lenient


def make_parse_json(options: ResolverOptions = _DEFAULT_OPTIONS) -> ValueFunction:
    """Build ``sdk.parseJson``: ``JSON.parse`` of text, other values unchanged.

    Invalid JSON is returned as it is when lenient, else rejected with the
    parser's reason (blank text is missing).
    """
    lenient = options.lenient

    def fn(value: Any) -> Any:
        if type(value) is not str:
            return value
        try:
            return parse_json(value)
        except ValueError as exc:
            if lenient:
                return value
            if is_blank(value):
                return None
            raise invalid(value, "valid JSON", problem(exc)) from None

    return fn


def make_to_json(options: ResolverOptions = _DEFAULT_OPTIONS) -> ValueFunction:
    """Build ``sdk.toJson``: ``JSON.stringify(value)``; unless lenient, NaN and infinities (JavaScript's ``null``) are errors."""
    lenient = options.lenient

    def fn(value: Any) -> str:
        try:
            return stringify(value, strict=not lenient)
        except ValueError as exc:
            raise DataError(f"cannot be written as JSON: {exc}") from None

    return fn


RESOLVERS = [
    Resolver("sdk.uppercase", _passthrough(str.upper), summary="Upper-case text; other values unchanged."),
    Resolver("sdk.lowercase", _passthrough(str.lower), summary="Lower-case text; other values unchanged."),
    Resolver("sdk.trim", _passthrough(_js_trim), summary="Trim JavaScript whitespace from text."),
    Resolver(
        "sdk.toString", make_to_string, accepts_missing=True, summary="String(value); missing gives ''."
    ),
    Resolver("sdk.parseInt", make_parse_int, accepts_missing=True, summary="parseInt(value, 10)."),
    Resolver("sdk.parseFloat", make_parse_float, accepts_missing=True, summary="parseFloat(value)."),
    Resolver(
        "sdk.number",
        make_parse_float,
        accepts_missing=True,
        summary="Same as sdk.parseFloat (as in the SDK).",
    ),
    Resolver(
        "sdk.formatDate",
        _format_maker(_identity, False),
        summary="new Date(value).toISOString(), e.g. 2025-01-05T10:00:00.000Z.",
    ),
    Resolver("sdk.formatDateShort", _format_maker(_short, True), summary="The UTC date, YYYY-MM-DD."),
    Resolver("sdk.parseDate", make_parse_date, summary="A date, written as toISOString."),
    Resolver(
        "sdk.boolean",
        make_boolean,
        accepts_missing=True,
        summary="true for true, 1, 'true', '1', 'yes', 'y' (any case).",
    ),
    Resolver("sdk.parseJson", make_parse_json, summary="JSON.parse of text; other values unchanged."),
    Resolver("sdk.toJson", make_to_json, summary="JSON.stringify(value).", returns="string"),
    Resolver("sdk.identity", make_identity, summary="The value unchanged."),
    Resolver("sdk.coalesce", make_identity, summary="The value unchanged (the SDK's coalesce of one value)."),
    Resolver("sdk.default", make_identity, summary="The value unchanged (the SDK applies no default here)."),
]
