"""``date`` and ``datetime``: formats, time zones, clock changes, epochs."""

import datetime as dt

import pytest

from engine.contracts import ResolverOptions
from engine.errors import ConfigError, DataError

ISO_HINT = "expected ISO 8601"
LONDON = {"timezone": "Europe/London"}


@pytest.mark.parametrize(
    "args,value,expected",
    [
        (None, "2025-01-05", "2025-01-05"),
        (None, " 2025-01-05 ", "2025-01-05"),
        (None, "20250105", "2025-01-05"),
        (None, "2024-02-29", "2024-02-29"),
        (None, "2000-02-29", "2000-02-29"),
        (None, "2025-01-05T23:30:00-05:00", "2025-01-05"),  # the day as written
        (None, "2025-01-05T10:00:00Z", "2025-01-05"),
        (None, dt.date(2025, 1, 5), "2025-01-05"),
        (None, dt.datetime(2025, 1, 5, 23, 59), "2025-01-05"),
        (None, "", None),
        (None, "   ", None),
        (None, "2023-02-29", DataError("'2023-02-29' is not a date (day is out of range for month)")),
        (None, "1900-02-29", DataError("day is out of range for month")),
        (None, "2025-13-01", DataError("'2025-13-01' is not a date (month must be in 1..12)")),
        (None, "05/01/2025", DataError(f"'05/01/2025' is not a date ({ISO_HINT}")),
        (None, "٢٠٢٥-٠١-٠٥", DataError("is not a date (only ASCII digits are read)")),
        (
            None,
            20250105,
            DataError("expected a date, found the number 20250105 (set epoch: seconds or millis"),
        ),
        (None, True, DataError("true is not a date")),
        (None, ["2025-01-05"], DataError("expected a date, found")),
        ({"formats": ["%d/%m/%Y", "%Y%m%d"]}, "05/01/2025", "2025-01-05"),
        ({"formats": ["%d/%m/%Y", "%Y%m%d"]}, "20250105", "2025-01-05"),
        ({"formats": ["%d/%m/%Y"]}, "29/02/2024", "2024-02-29"),
        (
            {"formats": ["%d/%m/%Y"]},
            "29/02/2023",
            DataError("'29/02/2023' is not a date (day is out of range"),
        ),
        ({"formats": ["%d/%m/%Y"]}, "2025-01-05", DataError("(expected the format %d/%m/%Y)")),
        (
            {"formats": ["%d/%m/%Y", "%Y%m%d"]},
            "x",
            DataError("(expected one of the formats %d/%m/%Y, %Y%m%d)"),
        ),
        ({"formats": ["%d %b %Y"]}, "05 Jan 2025", "2025-01-05"),
        ({"format": "%d.%m.%Y"}, "2025-01-05", "05.01.2025"),
        ("%Y%m%d", "2025-01-05", "20250105"),
        ({"format": "epoch_seconds"}, "2025-01-05", 1736035200),
        ({"to_timezone": "Australia/Sydney"}, "2025-01-05T20:00:00Z", "2025-01-06"),
        ({"to_timezone": "America/Los_Angeles"}, "2025-01-05T05:00:00Z", "2025-01-04"),
        ({"to_timezone": "Australia/Sydney"}, "2025-01-05", "2025-01-05"),  # a calendar date stays
        ({"epoch": "seconds"}, 1736071200, "2025-01-05"),
        ({"epoch": "millis"}, "1736071200000", "2025-01-05"),
    ],
)
def test_date(run, args, value, expected):
    run("date", args, value, expected)


@pytest.mark.parametrize(
    "args,value,expected",
    [
        (None, "2025-01-05T10:00:00Z", "2025-01-05T10:00:00Z"),
        (None, "2025-01-05T10:00:00", "2025-01-05T10:00:00Z"),
        (None, "2025-01-05 10:00", "2025-01-05T10:00:00Z"),
        (None, "2025-01-05T10:00:00+00:00", "2025-01-05T10:00:00Z"),
        (None, "2025-01-05T10:00:00.5+01:00", "2025-01-05T10:00:00.500+01:00"),
        (None, "2025-01-05T10:00:00.123456-05:30", "2025-01-05T10:00:00.123456-05:30"),
        (None, "2025-01-05T10:00:00.123456789Z", "2025-01-05T10:00:00.123456Z"),
        (None, "20250105T100000Z", "2025-01-05T10:00:00Z"),
        (None, "2025-01-05", "2025-01-05T00:00:00Z"),
        (None, "2024-02-29T12:00:00Z", "2024-02-29T12:00:00Z"),
        (
            None,
            dt.datetime(2025, 1, 5, 10, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2025-01-05T10:00:00+02:00",
        ),
        (None, dt.datetime(2025, 1, 5, 10), "2025-01-05T10:00:00Z"),
        (None, "2023-02-29T10:00:00Z", DataError("day is out of range for month")),
        (None, "2025-01-05T24:00:00", DataError("hour must be in 0..23")),
        (None, "2025-01-05T23:59:60Z", DataError("second must be in 0..59")),
        (None, "2025-01-05T10:00:00+25:00", DataError("(the offset is out of range)")),
        (None, "yesterday", DataError(f"'yesterday' is not a date ({ISO_HINT}")),
        (LONDON, "2025-01-05T10:00:00", "2025-01-05T10:00:00Z"),
        (LONDON, "2025-07-05T10:00:00", "2025-07-05T10:00:00+01:00"),
        (LONDON, "2025-07-05T10:00:00-04:00", "2025-07-05T10:00:00-04:00"),  # an offset wins
        (LONDON, "2025-03-30T01:30:00", DataError("does not exist in Europe/London: the clocks change")),
        (LONDON, "2025-10-26T01:30:00", "2025-10-26T01:30:00+01:00"),  # twice that night: the first
        ({**LONDON, "to_timezone": "UTC"}, "2025-07-05T10:00:00", "2025-07-05T09:00:00Z"),
        ({"to_timezone": "Asia/Kolkata"}, "2025-01-05T10:00:00Z", "2025-01-05T15:30:00+05:30"),
        ({"to_timezone": "America/New_York"}, "2025-01-05", "2025-01-04T19:00:00-05:00"),
        ({"timezone": "Asia/Kathmandu"}, "2025-01-05T10:00:00", "2025-01-05T10:00:00+05:45"),
        (
            {"formats": ["%d/%m/%Y %H:%M"], "timezone": "Europe/Paris"},
            "05/01/2025 10:00",
            "2025-01-05T10:00:00+01:00",
        ),
        ({"formats": ["%d/%m/%Y %H:%M %z"]}, "05/01/2025 10:00 +0100", "2025-01-05T10:00:00+01:00"),
        ({"epoch": "seconds"}, 1736071200, "2025-01-05T10:00:00Z"),
        ({"epoch": "seconds"}, "1736071200", "2025-01-05T10:00:00Z"),
        ({"epoch": "seconds"}, 1736071200.5, "2025-01-05T10:00:00.500Z"),
        ({"epoch": "seconds"}, "2025-01-05T10:00:00Z", "2025-01-05T10:00:00Z"),  # text still reads as ISO
        ({"epoch": "seconds"}, 0, "1970-01-01T00:00:00Z"),
        ({"epoch": "seconds"}, 1e20, DataError("1e+20 is not a date (out of range)")),
        ({"epoch": "seconds"}, float("nan"), DataError("nan is not a date")),
        ({"epoch": "millis"}, 1736071200123, "2025-01-05T10:00:00.123Z"),
        ({"epoch": "millis"}, -1, "1969-12-31T23:59:59.999Z"),
        ({"format": "epoch_millis"}, "2025-01-05T10:00:00.123Z", 1736071200123),
        ({"format": "epoch_seconds"}, "2025-01-05T10:00:00.999+01:00", 1736067600),
        ({"format": "%Y-%m-%d %H:%M:%S %z"}, "2025-01-05T10:00:00+01:00", "2025-01-05 10:00:00 +0100"),
        (None, 1736071200, DataError("set epoch: seconds or millis")),
    ],
)
def test_datetime(run, args, value, expected):
    run("datetime", args, value, expected)


def test_the_mapping_time_zone_applies_to_values_without_offset(run):
    options = ResolverOptions(timezone="America/New_York")
    run("datetime", None, "2025-01-05T10:00:00", "2025-01-05T10:00:00-05:00", options=options)
    run("datetime", {"timezone": "UTC"}, "2025-01-05T10:00:00", "2025-01-05T10:00:00Z", options=options)


@pytest.mark.parametrize(
    "name,args,message",
    [
        ("datetime", {"timezone": "Mars/Base"}, "unknown time zone 'Mars/Base'"),
        ("date", {"to_timezone": "nowhere"}, "unknown time zone 'nowhere'"),
    ],
)
def test_bad_arguments_are_config_errors(resolve, name, args, message):
    with pytest.raises(ConfigError, match=message):
        resolve(name, args)


def test_parsed_strings_are_memoised(resolve):
    fn = resolve("datetime", {"timezone": "Europe/London"})
    first = fn("2025-07-05T10:00:00")
    assert fn("2025-07-05T10:00:00") is first
