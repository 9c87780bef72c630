"""Helpers every resolver family shares.

They keep messages, and the meaning of "empty", the same everywhere.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
from collections.abc import Callable
from typing import Any

from engine.contracts import ResolverFunction
from engine.errors import ConfigError, DataError

#: what most resolver factories build: the value in, the result out
ValueFunction = Callable[[Any], Any]

#: how long a quoted value may get in a message before it is cut
_SHOWN = 40

ROUNDING = {
    "half_up": decimal.ROUND_HALF_UP,
    "half_even": decimal.ROUND_HALF_EVEN,
    "half_down": decimal.ROUND_HALF_DOWN,
    "up": decimal.ROUND_UP,
    "down": decimal.ROUND_DOWN,
    "ceiling": decimal.ROUND_CEILING,
    "floor": decimal.ROUND_FLOOR,
}


def is_blank(value: Any) -> bool:
    """Missing, empty or only whitespace: what conversions treat as missing."""
    return value is None or (type(value) is str and (not value or value.isspace()))


def show(value: Any) -> str:
    """A value as messages quote it: ``'ten'``, ``5``, ``true``, ``[1, 2]``."""
    if isinstance(value, str):
        if len(value) > _SHOWN:
            return repr(value[: _SHOWN - 3] + "...")
        return repr(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except ValueError:
            text = repr(value)
    else:
        text = str(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | decimal.Decimal):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, _dt.date):
        return "a date"
    return f"a {type(value).__name__}"


def invalid(value: Any, expected: str, why: str | None = None) -> DataError:
    """``'ten' is not an integer`` (optionally with the reason in brackets)."""
    message = f"{show(value)} is not {expected}"
    return DataError(f"{message} ({why})" if why else message)


def wrong_kind(value: Any, expected: str) -> DataError:
    """For values of the wrong shape: ``expected text, found a list [1, 2]``."""
    return DataError(f"expected {expected}, found {kind_of(value)} {show(value)}")


def bad_args(message: str) -> ConfigError:
    """An argument the schema could not judge (a regex, a CSV column)."""
    return ConfigError(message)


def number_text(value: int | float | decimal.Decimal) -> str:
    if type(value) is float and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    return str(value)


def as_text(value: Any) -> str:
    """Text for string resolvers: numbers and booleans as JSON writes them.

    Objects and lists are refused rather than turned into Python reprs that
    would end up in a target system.
    """
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | decimal.Decimal):
        return number_text(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    raise wrong_kind(value, "text")


def text_resolver(method: Callable[[str], Any]) -> ResolverFunction:
    """``str.upper`` for strings, through :func:`as_text` for the rest.

    ``method`` itself is the text form the generated code calls on values it
    knows to be text (CSV columns), with no type test per record.
    """

    def fn(value: Any) -> Any:
        if type(value) is str:
            return method(value)
        return method(as_text(value))

    return ResolverFunction(fn, text_form=method)
