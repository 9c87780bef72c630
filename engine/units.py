"""Durations (``15m``) and sizes (``64MB``) as users write them in specs."""

from __future__ import annotations

import re

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
