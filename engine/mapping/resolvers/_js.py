"""JavaScript's conversions, as far as the SDK's resolvers depend on them.

The SDK runs on Node, so its results are JavaScript's: ``parseInt`` reads a
prefix, ``String(1.0)`` is ``"1"``, ``new Date("2025-01-05")`` is UTC
midnight while ``new Date("2025-01-05T10:00")`` is local time, and V8 rolls
``2023-02-30`` over to March 2. Reproducing those rules here keeps
:mod:`.sdk` small and lets the tests pin each rule to a value Node gives.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import math
import re
from typing import Any

#: what String.prototype.trim and parseInt/parseFloat skip (WhiteSpace + LineTerminator)
WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
MAX_SAFE = 2**53
#: the range of a JavaScript Date, in milliseconds either side of 1970
MAX_TIME = 8_640_000_000_000_000

_INT_PREFIX = re.compile(r"[+-]?[0-9]+")
_FLOAT_PREFIX = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")


def number_str(x: float | int) -> str:
    """``String(x)`` for a JavaScript number (Number::toString)."""
    if type(x) is int:
        return str(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    _, digit_tuple, exponent = decimal.Decimal(repr(abs(x))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = int(exponent) + k
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"


def number_value(x: float) -> int | float:
    """A JavaScript number as Python should hold it so JSON prints it the same.

    ``12.0`` becomes ``12`` (JSON.stringify writes ``12``) and ``-0`` becomes 0.
    """
    if x.is_integer() and abs(x) < MAX_SAFE:
        return int(x)
    return x


def to_string(value: Any) -> str:
    """``String(value)`` for the values records hold."""
    if type(value) is str:
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_str(value)
    if isinstance(value, list | tuple):
        return ",".join("" if item is None else to_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, _dt.datetime | _dt.date):
        return iso_string(moment_ms(value, None))
    return str(value)


def parse_int(text: str) -> int | None:
    """``parseInt(text, 10)``; None stands for NaN."""
    m = _INT_PREFIX.match(text.lstrip(WHITESPACE))
    return int(m.group()) if m else None


def parse_float(text: str) -> float | None:
    """``parseFloat(text)``; None stands for NaN."""
    m = _FLOAT_PREFIX.match(text.lstrip(WHITESPACE))
    if not m:
        return None
    return float(m.group().replace("Infinity", "inf"))


# --- dates ------------------------------------------------------------------------

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_ISO = re.compile(
    r"([+-]\d{6}|\d{4})(?:-(\d\d)(?:-(\d\d))?)?"
    r"(?:[Tt](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?([Zz]|[+-]\d\d:?\d\d)?)?",
    re.ASCII,
)
_TIME = r"(?:\s+(\d\d?):(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?\s*(Z|GMT|UTC|[+-]\d\d:?\d\d)?"
_LEGACY = [
    # 2025-1-5 10:00, 2025/01/05, -2025-01-05 (V8 ignores a leading '-')
    ("ymd", re.compile(r"-?(\d{4})[-/](\d\d?)[-/](\d\d?)" + _TIME, re.ASCII)),
    ("mdy", re.compile(r"(\d\d?)/(\d\d?)/(\d{4})" + _TIME, re.ASCII)),
    # Sun, 05 Jan 2025 10:00:00 GMT ; 5 Jan 2025
    (
        "dmy",
        re.compile(r"(?:[A-Za-z]+,?\s+)?(\d\d?)\s+([A-Za-z]{3})[A-Za-z]*\.?,?\s+(\d{4})" + _TIME, re.ASCII),
    ),
    # Jan 5, 2025 10:00:00 ; January 5 2025
    (
        "mdy-name",
        re.compile(r"(?:[A-Za-z]+,?\s+)?([A-Za-z]{3})[A-Za-z]*\.?\s+(\d\d?),?\s+(\d{4})" + _TIME, re.ASCII),
    ),
]


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any year)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


def iso_string(ms: int) -> str:
    """``Date.prototype.toISOString`` of a time value in milliseconds."""
    days, in_day = divmod(ms, 86_400_000)
    y, m, d = civil_from_days(days)
    seconds, milli = divmod(in_day, 1000)
    hh, rest = divmod(seconds, 3600)
    mm, ss = divmod(rest, 60)
    year = "%04d" % y if 0 <= y <= 9999 else "%+07d" % y  # noqa: UP031 - measured faster than f-strings
    return "%s-%02d-%02dT%02d:%02d:%02d.%03dZ" % (year, m, d, hh, mm, ss, milli)  # noqa: UP031 - measured faster than f-strings


def _offset_minutes(text: str) -> int | None:
    if text in ("Z", "z", "GMT", "UTC"):
        return 0
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        return None
    total = hours * 60 + minutes
    return -total if text[0] == "-" else total


def _local_offset_ms(wall_ms: int, zone: Any) -> int:
    """Offset of ``zone`` at a wall-clock time (gaps resolve as V8 does: the earlier offset)."""
    if zone is None:
        return 0
    days, in_day = divmod(wall_ms, 86_400_000)
    y, m, d = civil_from_days(days)
    if not 1 <= y <= 9999:
        return 0
    naive = _dt.datetime(y, m, d) + _dt.timedelta(milliseconds=in_day)
    offset = naive.replace(tzinfo=zone).utcoffset()
    return int(offset.total_seconds() * 1000) if offset else 0


def _compose(
    y: int, mo: int, d: int, hh: int, mi: int, ss: int, frac: str | None, zone_text: str | None, zone: Any
) -> tuple[int, bool] | None:
    """Milliseconds and whether the day is real (V8 rolls Feb 30 over to March)."""
    if not (1 <= mo <= 12 and 1 <= d <= 31 and mi <= 59 and ss <= 59):
        return None
    if hh > 24 or (hh == 24 and (mi or ss or (frac and int(frac)))):
        return None
    real = d <= _days_in_month(y, mo)
    ms = int((frac or "0")[:3].ljust(3, "0"))
    wall = ((days_from_civil(y, mo, 1) + d - 1) * 86_400 + hh * 3600 + mi * 60 + ss) * 1000 + ms
    if zone_text is not None:
        offset = _offset_minutes(zone_text)
        if offset is None:
            return None
        utc = wall - offset * 60_000
    else:
        utc = wall - _local_offset_ms(wall, zone)
    if abs(utc) > MAX_TIME:
        return None
    return utc, real


def _days_in_month(y: int, m: int) -> int:
    if m == 2:
        return 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    return 30 if m in (4, 6, 9, 11) else 31


def parse_date(text: str, zone: Any) -> tuple[int, bool] | None:
    """``Date.parse(text)`` for the forms feeds use; None when V8 says Invalid Date.

    Returns the time in milliseconds and whether the calendar day was real.
    ``zone`` is the ``tzinfo`` used for local times (V8 uses the machine's).
    """
    m = _ISO.fullmatch(text)
    if m:
        y, mo, d, hh, mi, ss, frac, off = m.groups()
        if y in ("-000000",):
            return None
        if hh is not None and off is None:
            local_zone = zone
        else:
            local_zone, off = None, off if off is not None else "Z"
        return _compose(
            int(y), int(mo or 1), int(d or 1), int(hh or 0), int(mi or 0), int(ss or 0), frac, off, local_zone
        )
    stripped = text.strip()
    for order, pattern in _LEGACY:
        m = pattern.fullmatch(stripped)
        if not m:
            continue
        g = m.groups()
        if order == "ymd":
            y, mo, d = int(g[0]), int(g[1]), int(g[2])
        elif order == "mdy":
            mo, d, y = int(g[0]), int(g[1]), int(g[2])
        elif order == "dmy":
            d, mo, y = int(g[0]), _MONTHS.get(g[1].lower(), 0), int(g[2])
        else:
            mo, d, y = _MONTHS.get(g[0].lower(), 0), int(g[1]), int(g[2])
        hh, mi, ss, frac, off = g[3:8]
        return _compose(y, mo, d, int(hh or 0), int(mi or 0), int(ss or 0), frac, off, zone)
    return None


def date_value(value: Any, zone: Any) -> int | None:
    """``new Date(value).getTime()`` for numbers, datetimes and booleans; None when invalid."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        ms = int(value)
        return ms if abs(ms) <= MAX_TIME else None
    if isinstance(value, _dt.date):
        return moment_ms(value, zone)
    return None


def moment_ms(value: _dt.date, zone: Any) -> int:
    """Milliseconds since 1970 of a date (UTC midnight) or datetime (naive: in ``zone``)."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone or _dt.UTC)
        return (value - _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)) // _dt.timedelta(milliseconds=1)
    return days_from_civil(value.year, value.month, value.day) * 86_400_000
