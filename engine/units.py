"""Durations (``15m``) and sizes (``64MB``) as users write them in specs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from engine.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def seconds(value: float | int | str | None) -> float | None:
    """Seconds in a duration: a number (seconds) or ``'30s' '15m' '2h' '1d' '500ms'``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigError(f"expected a duration, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ConfigError(f"expected a duration such as 30s, 15m, 2h or 1d, got {value!r}")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


def size_bytes(value: int | str | None) -> int | None:
    """Bytes in a size: an integer, or ``'64MB'`` (decimal units) / ``'1GiB'`` (binary), case-insensitive.

    Raises:
        ConfigError: the text is not a size.
    """
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ConfigError(f"expected a size such as 500000, 64MB or 1GiB, got {value!r}")
    return int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])


DURATION_PATTERN = r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$"
SIZE_PATTERN = r"^\s*\d+(\.\d+)?\s*([Bb]|[KkMmGg][Bb]|[KkMmGg]i[Bb])?\s*$"


def duration(description: str = "", **extra: Any) -> dict[str, Any]:
    """The schema of a duration option (``30s``, ``15m``, ``2h``, ``1d``, ``500ms`` or seconds).

    The value is checked as written when the spec is validated, so a mistake
    is reported at the option's own line and column, and the option builder
    hands the plugin seconds (a float). ``extra`` adds keywords such as
    ``default``.
    """
    return {
        "description": description or "a duration: seconds, or '30s', '15m', '2h', '1d', '500ms'",
        "oneOf": [
            {"type": "number", "minimum": 0, "description": "seconds"},
            {"type": "string", "pattern": DURATION_PATTERN, "description": "a duration string"},
        ],
        "examples": ["30s", "15m", "2h", "1d"],
        "x-error": "expected a duration such as 30s, 15m, 2h or 1d, got {value!r}",
        "x-convert": "duration",
        **extra,
    }


def size(description: str = "", **extra: Any) -> dict[str, Any]:
    """The schema of a size option (bytes, ``64MB``, ``1GiB``); the plugin receives bytes (an int)."""
    return {
        "description": description or "a size: bytes, or '64MB', '1GiB' (B, KB, MB, GB, KiB, MiB, GiB)",
        "oneOf": [
            {"type": "integer", "minimum": 0, "description": "bytes"},
            {"type": "string", "pattern": SIZE_PATTERN, "description": "a size string"},
        ],
        "examples": [500000, "64MB", "1GiB"],
        "x-error": "expected a size such as 500000, 64MB or 1GiB, got {value!r}",
        "x-convert": "size",
        **extra,
    }


CONVERTERS: dict[str, Callable[[Any], Any]] = {"duration": seconds, "size": size_bytes}
