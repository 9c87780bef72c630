"""``JSON.parse`` and ``JSON.stringify`` as Node runs them.

Python's json module differs in ways that show in output: it reads ``NaN``,
writes ``1.0`` where JavaScript writes ``1`` and ``1e-05`` where it writes
``0.00001``. SDK mappings must give the SDK's text, so these two functions
follow JavaScript; integers stay exact (see :mod:`.sdk`).
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
import math
from typing import Any

from engine.mapping.resolvers import _js


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _js_float(text: str) -> int | float:
    x = float(text)
    if not math.isfinite(x):
        raise ValueError(f"{text} is out of range")
    return _js.number_value(x)


_DECODER = json.JSONDecoder(parse_float=_js_float, parse_constant=_no_constants)


def parse_json(text: str) -> Any:
    """Raises ValueError (json.JSONDecodeError) for text that is not JSON."""
    return _DECODER.decode(text)


def problem(exc: ValueError) -> str:
    """A short reason for a message: ``expecting ',' delimiter at character 7``."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg[0].lower()}{exc.msg[1:]} at character {exc.pos + 1}"
    return str(exc)


_encode_str = json.JSONEncoder(ensure_ascii=False).encode


def stringify(value: Any, *, strict: bool) -> str:
    """Compact JSON as JSON.stringify writes it.

    ``strict`` refuses NaN and infinities (JavaScript writes them as
    ``null``, which would silently erase a number).
    """
    out: list[str] = []
    _write(value, out, strict)
    return "".join(out)


def _write(value: Any, out: list[str], strict: bool) -> None:
    """Append ``value``'s JSON to ``out``: JSON's own types here, anything else in :func:`_write_other`."""
    if type(value) is str:
        out.append(_encode_str(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif type(value) is int:
        out.append(str(value))
    elif type(value) is float:
        if math.isfinite(value):
            out.append(_js.number_str(value))
        elif strict:
            raise ValueError(f"{_js.number_str(value)} has no JSON form")
        else:
            out.append("null")
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(_encode_str(key if type(key) is str else _js.to_string(key)))
            out.append(":")
            _write(item, out, strict)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for n, item in enumerate(value):
            if n:
                out.append(",")
            _write(item, out, strict)
        out.append("]")
    else:
        _write_other(value, out, strict)


def _write_other(value: Any, out: list[str], strict: bool) -> None:
    """Values outside JSON's types: exact decimals, dates as toISOString, subclasses of int, float and str.

    Raises:
        ValueError: a non-finite decimal, or a value with no JSON form.
    """
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} has no JSON form")
        out.append(format(value, "f"))
    elif isinstance(value, _dt.date):
        out.append('"' + _js.iso_string(_js.moment_ms(value, None)) + '"')
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, float):
        _write(float(value), out, strict)
    elif isinstance(value, str):
        out.append(_encode_str(str(value)))
    else:
        raise ValueError(f"a {type(value).__name__} has no JSON form")
