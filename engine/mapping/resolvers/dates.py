"""``date`` and ``datetime``: read what a feed writes, in its time zone; write what a target wants.

Feeds repeat the same timestamps thousands of times, so each resolver keeps
the results for the last 4,096 distinct input strings, and ISO output is
built from the fields directly (``isoformat`` is several times slower).

Rules users can rely on:

* Input is ISO 8601 unless ``formats`` lists strptime formats, tried in
  order. Only ASCII digits are read (strptime would accept ``"٢٠٢٥"``).
* A value without an offset is in ``timezone`` (default: the mapping's
  ``options.timezone``, else UTC). A local time that a clock change skips
  (02:30 on a spring-forward night) is an error; one that occurs twice is
  read as the first occurrence.
* ``to_timezone`` converts the moment before it is written. For ``date``,
  a plain calendar date (``2025-01-05``) has no time to convert and stays
  that day; ``datetime`` reads it as midnight in ``timezone``.
* ``epoch: seconds|millis`` reads numbers (and numeric text) as epoch time;
  without it a number is an error, because ``20250105`` is not 1970.
* ``format`` is ``iso`` (``date``: ``2025-01-05``; ``datetime``:
  ``2025-01-05T10:00:00Z``, ``Z`` for offset zero, else ``+01:00``),
  ``epoch_seconds``, ``epoch_millis`` or a strftime format.

Example::

    fields:
      shipped: {source: ShipDate, resolver: {name: datetime, args: {formats: ["%d/%m/%Y %H:%M"], timezone: Europe/London}}}
      day:     {source: created, resolver: {name: date, args: {to_timezone: Australia/Sydney}}}
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.contracts import Resolver, ResolverOptions
from engine.errors import DataError
from engine.mapping.resolvers._common import ValueFunction, bad_args, invalid, show

UTC = _dt.UTC
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=UTC)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)", re.ASCII)
_DEFAULT_OPTIONS = ResolverOptions()


def zone_of(name: str | None) -> Any:
    """The tzinfo for an IANA zone name; empty, None or ``UTC`` give :data:`datetime.UTC`.

    Raises:
        ConfigError: the name is not a zone this machine knows.
    """
    if not name or name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_args(f"unknown time zone {name!r} (expected an IANA name such as Europe/London)") from None


def _reason(exc: ValueError, fmt: str | None) -> str:
    text = str(exc)
    if "does not match format" in text or "unconverted data" in text:
        return f"expected the format {fmt}"
    if text.startswith("Invalid isoformat"):
        return "expected ISO 8601 such as 2025-01-05 or 2025-01-05T10:00:00Z"
    if text.startswith("offset must be"):
        return "the offset is out of range"
    return text


def _offset(delta: _dt.timedelta | None) -> str:
    if not delta:
        return "Z"
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return "%s%02d:%02d" % (sign, hours, minutes) + (":%02d" % secs if secs else "")  # noqa: UP031 - measured faster than f-strings


def iso_datetime(d: _dt.datetime) -> str:
    """ISO 8601 as targets expect it: milliseconds or microseconds only when present, ``Z`` for offset zero."""
    text = "%04d-%02d-%02dT%02d:%02d:%02d" % (d.year, d.month, d.day, d.hour, d.minute, d.second)  # noqa: UP031 - measured faster than f-strings
    micro = d.microsecond
    if micro:
        text += ".%03d" % (micro // 1000) if micro % 1000 == 0 else ".%06d" % micro  # noqa: UP031 - measured faster than f-strings
    return text + _offset(d.utcoffset())


def output_writer(kind: str, fmt: str) -> Callable[[_dt.datetime], Any]:
    """``datetime -> value`` for a ``format``: ISO text, epoch integers, or strftime text.

    ``kind`` (``date`` or ``datetime``) decides what ``iso`` writes. An
    invalid strftime format is a :class:`ConfigError` now, not per record.
    """
    if fmt == "epoch_seconds":
        return lambda d: (d - _EPOCH) // _dt.timedelta(seconds=1)
    if fmt == "epoch_millis":
        return lambda d: (d - _EPOCH) // _dt.timedelta(milliseconds=1)
    if fmt == "iso" and kind == "date":
        return lambda d: "%04d-%02d-%02d" % (d.year, d.month, d.day)  # noqa: UP031 - measured faster than f-strings
    if fmt == "iso":
        return iso_datetime
    try:
        _dt.datetime(2024, 2, 29, 13, 5, 9, tzinfo=UTC).strftime(fmt)
    except ValueError as exc:
        raise bad_args(f"invalid output format {fmt!r}: {exc}") from None
    return lambda d: d.strftime(fmt)


def _from_epoch(number: float | int, per_second: int, original: Any) -> tuple[_dt.datetime, bool]:
    """The UTC moment ``number`` units after the epoch (``per_second`` units a second); integers stay exact."""
    try:
        if isinstance(number, int):
            return _EPOCH + _dt.timedelta(milliseconds=number * 1000 // per_second), True
        return _EPOCH + _dt.timedelta(seconds=number / per_second), True
    except (OverflowError, ValueError):
        raise invalid(original, "a date", "out of range") from None


def _parse_iso(stripped: str, text: str) -> tuple[_dt.datetime, bool]:
    """ISO 8601 text, possibly naive; it has a time when it is longer than a calendar date."""
    try:
        parsed = _dt.datetime.fromisoformat(stripped)
    except ValueError as exc:
        raise invalid(text, "a date", _reason(exc, None)) from None
    return parsed, len(stripped) > 10


def _parse_formats(formats: list[str], stripped: str, text: str) -> tuple[_dt.datetime, bool]:
    """Text read by the first of ``formats`` that fits; it has a time when that format reads one."""
    reasons = []
    for fmt in formats:
        try:
            parsed = _dt.datetime.strptime(stripped, fmt)
            break
        except ValueError as exc:
            reasons.append(_reason(exc, fmt))
    else:
        why = reasons[0] if len(reasons) == 1 else "expected one of the formats " + ", ".join(formats)
        raise invalid(text, "a date", why)
    return parsed, any(code in fmt for code in ("%H", "%I", "%M", "%S", "%z", "%f", "%c", "%X", "%s"))


def make_reader(*, formats: list[str] | None, zone: Any, epoch: str | None) -> ValueFunction:
    """``text -> (aware datetime, has_time)``: the parsing half, shared with ``now``."""
    scale = {"seconds": 1, "millis": 1000, None: None}[epoch]
    per_second = scale or 1
    parse = _parse_iso if formats is None else functools.partial(_parse_formats, formats)

    def localise(naive: _dt.datetime, original: Any) -> _dt.datetime:
        aware = naive.replace(tzinfo=zone)
        if zone is not UTC and aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
            raise invalid(
                original, "a date", f"that local time does not exist in {zone.key}: the clocks change"
            )
        return aware

    def parse_text(text: str) -> tuple[_dt.datetime, bool]:
        if not text.isascii():
            raise invalid(text, "a date", "only ASCII digits are read")
        stripped = text.strip()
        if scale and _NUMBER.fullmatch(stripped):
            number = float(stripped) if "." in stripped else int(stripped)
            return _from_epoch(number, per_second, text)
        parsed, has_time = parse(stripped, text)
        if parsed.tzinfo is None:
            parsed = localise(parsed, text)
        return parsed, has_time

    def read(value: Any) -> tuple[_dt.datetime, bool]:
        if type(value) is str:
            return parse_text(value)
        if isinstance(value, bool):
            raise invalid(value, "a date")
        if isinstance(value, int | float):
            if scale is None:
                raise DataError(
                    f"expected a date, found the number {show(value)} "
                    "(set epoch: seconds or millis to read epoch numbers)"
                )
            if value != value or value in (float("inf"), float("-inf")):
                raise invalid(value, "a date")
            return _from_epoch(value, per_second, value)
        if isinstance(value, _dt.datetime):
            return (value if value.tzinfo else localise(value, value)), True
        if isinstance(value, _dt.date):
            return _dt.datetime(value.year, value.month, value.day, tzinfo=zone), False
        raise DataError(f"expected a date, found {show(value)}")

    return read


def _maker(kind: str) -> Callable[..., ValueFunction]:
    def make(
        *,
        formats: list[str] | None = None,
        format: str = "iso",
        timezone: str | None = None,
        to_timezone: str | None = None,
        epoch: str | None = None,
        options: ResolverOptions = _DEFAULT_OPTIONS,
    ) -> ValueFunction:
        read = make_reader(formats=formats, zone=zone_of(timezone or options.timezone), epoch=epoch)
        target = zone_of(to_timezone) if to_timezone else None
        write = output_writer(kind, format)
        dates_stay = kind == "date"

        def convert(value: Any) -> Any:
            moment, has_time = read(value)
            if target is not None and (has_time or not dates_stay):
                moment = moment.astimezone(target)
            return write(moment)

        cached = functools.lru_cache(maxsize=4096)(convert)

        def fn(value: Any) -> Any:
            if type(value) is str:
                if not value or value.isspace():
                    return None
                return cached(value)
            return convert(value)

        return fn

    return make


def _args(output_example: str) -> dict[str, Any]:
    zone = {"type": ["string", "null"], "minLength": 1, "default": None}
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "formats": {
                "type": ["array", "null"],
                "minItems": 1,
                "items": {"type": "string", "minLength": 1},
                "default": None,
                "description": "strptime formats tried in order; null means ISO 8601",
            },
            "format": {
                "type": "string",
                "minLength": 1,
                "default": "iso",
                "description": f"iso ({output_example}), epoch_seconds, epoch_millis or a strftime format",
            },
            "timezone": {
                **zone,
                "description": "IANA zone of values without an offset; "
                "null means the mapping's timezone, else UTC",
            },
            "to_timezone": {**zone, "description": "IANA zone to convert values with a time into"},
            "epoch": {
                "enum": ["seconds", "millis", None],
                "default": None,
                "description": "read numbers as epoch time in this unit",
            },
        },
    }


RESOLVERS = [
    Resolver(
        "date",
        _maker("date"),
        returns="string",
        args=_args("2025-01-05"),
        shorthand="format",
        summary="A calendar date, YYYY-MM-DD unless format says otherwise.",
    ),
    Resolver(
        "datetime",
        _maker("datetime"),
        returns="string",
        args=_args("2025-01-05T10:00:00Z"),
        shorthand="format",
        summary="A moment in time, ISO 8601 with offset unless format says otherwise.",
    ),
]
