"""JSON encoding for records: compact, exact for decimals and dates.

JSON has no NaN or infinity. :func:`dumps` and :func:`dumps_bytes` refuse
them (a ``ValueError``) rather than write invalid JSON or, as orjson does,
a silent ``null``; :func:`non_finite` names the field, so writers and
targets reject the record instead. :func:`dumps_safe` is for the files that
must always be written (the rejects file): it never fails and spells such
values as text.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        # a JSON number when that is exact (12, 12.5), else the exact text ("0.1000000000000000055")
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    from engine.secrets import Secret

    if isinstance(value, Secret):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default, allow_nan=False)


def _refuse_non_finite(value: Any) -> None:
    bad = non_finite(value)
    if bad is not None:
        raise ValueError(str(bad))


try:  # orjson is ~15x faster on the hot path (API payloads, JSON writers); same output
    import orjson

    _OPTS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS

    def dumps_bytes(value: Any) -> bytes:
        """Compact UTF-8 JSON of ``value``, for request bodies and JSON writers.

        Raises:
            TypeError: a value has no JSON form.
            ValueError: a number is NaN or infinite (orjson would write ``null``).
        """
        try:
            out = orjson.dumps(value, default=_default, option=_OPTS)
        except orjson.JSONEncodeError:
            # what orjson refuses (integers beyond 64 bits, ...) gets the stdlib's verdict
            return _compact.encode(value).encode("utf-8")
        if b"null" in out:  # orjson writes NaN and infinities as null: look closer only then
            _refuse_non_finite(value)
        return out

except ImportError:  # pragma: no cover - orjson is a declared dependency

    def dumps_bytes(value: Any) -> bytes:
        """Compact UTF-8 JSON of ``value`` (stdlib fallback when orjson is missing)."""
        return _compact.encode(value).encode("utf-8")


def dumps(value: Any) -> str:
    """Compact JSON text; decimals stay exact, dates are ISO-8601, bytes base64, NaN refused (ValueError)."""
    return _compact.encode(value)


def dumps_pretty(value: Any) -> str:
    """Indented JSON text for people (reports, ``engine explain``), same value rules as :func:`dumps`."""
    return json.dumps(value, ensure_ascii=False, indent=2, default=_default, allow_nan=False)


def encode_each(
    records: Sequence[Any], encode: Callable[[Any], str] = dumps
) -> tuple[list[str], list[tuple[int, str]]]:
    """Each record as JSON text, and ``(index, reason)`` for the records that have none.

    The reason names the field (``qty: NaN is not a number JSON can hold ...``),
    so writers and targets reject the record instead of failing the run. The
    whole list is tried first; records are looked at one by one only when it fails.
    """
    try:
        return [encode(r) for r in records], []
    except (ValueError, TypeError, OverflowError, RecursionError):
        pass
    texts: list[str] = []
    problems: list[tuple[int, str]] = []
    for i, record in enumerate(records):
        try:
            texts.append(encode(record))
        except RecursionError:
            problems.append((i, "the record is nested too deeply to write as JSON"))
        except (ValueError, TypeError, OverflowError) as exc:
            bad = non_finite(record)
            problems.append((i, str(bad) if bad is not None else f"the record has no JSON form: {exc}"))
    return texts, problems


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (dicts, lists, str, numbers), by a round trip through :func:`dumps`."""
    return json.loads(dumps(value))


# --- numbers JSON cannot hold -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class NonFinite:
    """A NaN or infinite number inside a record, and where it is."""

    #: ``qty``, ``lines[2].price``; empty when the value itself is the number
    path: str
    value: float | Decimal

    @property
    def reason(self) -> str:
        """Why the record cannot go out as JSON, without the field (targets add it)."""
        return f"{spell(self.value)} is not a number JSON can hold (JSON has no NaN or Infinity)"

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


def spell(number: float | Decimal) -> str:
    """``NaN``, ``Infinity`` or ``-Infinity``, as JavaScript and Python's ``json`` write them."""
    if number != number:
        return "NaN"
    return "-Infinity" if number < 0 else "Infinity"


def _bad(value: Any) -> bool:
    kind = type(value)
    if kind is float:
        return not math.isfinite(value)
    return kind is Decimal and not value.is_finite()


def non_finite(value: Any) -> NonFinite | None:
    """The first NaN or infinity (float or Decimal) in ``value`` with its path, or None.

    One pass over dicts, lists and tuples with an explicit stack (any depth),
    paths built only for the answer: about a microsecond for a flat record,
    so targets check every record before it is sent.
    """
    if _bad(value):
        return NonFinite("", value)
    if not isinstance(value, dict | list | tuple):
        return None
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        container, path = stack.pop()
        pairs = container.items() if isinstance(container, dict) else enumerate(container)
        for key, item in pairs:
            if _bad(item):
                return NonFinite(_join(path, key, container), item)
            if isinstance(item, dict | list | tuple):
                stack.append((item, _join(path, key, container)))
    return None


def _join(path: str, key: Any, container: Any) -> str:
    if not isinstance(container, dict):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


# --- the rejects file: always writable -------------------------------------------------


def dumps_safe(value: Any) -> str:
    """Compact JSON that never fails: for entries that must be written whatever they hold.

    NaN and infinities become the text ``"NaN"``, ``"Infinity"``, ``"-Infinity"``;
    a value with no JSON form becomes its ``repr``; keys become text; nesting
    deeper than 200 levels is cut with a marker. Values that :func:`dumps`
    takes come out the same.
    """
    try:
        return _compact.encode(value)
    except (ValueError, TypeError, OverflowError, RecursionError):
        return _compact.encode(_plain(value, 0))


_MAX_SAFE_DEPTH = 200


def _plain(value: Any, depth: int) -> Any:
    """``value`` with everything :func:`dumps` refuses replaced by text (see :func:`dumps_safe`)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float | Decimal):
        return spell(value) if _bad(value) else value
    if depth >= _MAX_SAFE_DEPTH and isinstance(value, dict | list | tuple | set | frozenset):
        return f"<nested deeper than {_MAX_SAFE_DEPTH} levels: not shown>"
    if isinstance(value, dict):
        return {k if isinstance(k, str) else _key(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v, depth + 1) for v in value]
    try:
        return _default(value)
    except (TypeError, ValueError):
        return repr(value)


def _key(key: Any) -> str:
    return spell(key) if _bad(key) else str(key)
