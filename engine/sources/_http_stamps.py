"""Update times as REST APIs write them: ISO-8601, epoch seconds or milliseconds, or a strftime pattern.

The watermark itself is kept in one form (UTC ISO with milliseconds, see
:mod:`engine.sources.watermark`); ``format`` says how the API reads
a bound in a query and writes a time in a record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine.errors import ConfigError, SourceError
from engine.sources.watermark import parse_instant, render

NAMED = ("iso", "epoch", "epoch_ms")


def valid_format(fmt: str) -> bool:
    return fmt in NAMED or "%" in fmt


def send(moment: datetime, fmt: str) -> Any:
    """A bound as the API expects it in a parameter."""
    if fmt == "epoch":
        return int(moment.timestamp())
    if fmt == "epoch_ms":
        return int(moment.timestamp() * 1000)
    if fmt == "iso":
        return render(moment)
    return moment.astimezone(UTC).strftime(fmt)


def read(value: Any, fmt: str, where: str) -> str | None:
    """A record's update time, normalised (None when the record has none)."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            moment = datetime.fromtimestamp(value / 1000 if fmt == "epoch_ms" else value, UTC)
        elif "%" in fmt:
            moment = datetime.strptime(str(value), fmt)
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        else:
            moment = parse_instant(value, where)
    except (ValueError, OverflowError, OSError) as exc:
        raise SourceError(f"{where}: {value!r} is not a time in format {fmt!r} ({exc})") from None
    except ConfigError:  # from parse_instant: here the data is wrong, not the spec
        raise SourceError(f"{where}: {value!r} is not an ISO-8601 date-time") from None
    return render(moment)
