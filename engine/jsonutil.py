"""JSON encoding for records: compact, exact for decimals and dates."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value == value.to_integral_value() and abs(value) < 2**53 else str(value)
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


def dumps(value: Any) -> str:
    return _compact.encode(value)


def dumps_pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=_default, allow_nan=False)


def to_jsonable(value: Any) -> Any:
    return json.loads(dumps(value))
