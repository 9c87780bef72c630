"""The SDK's 16 resolvers: Node's results for valid input, errors or the SDK's
fallbacks (lenient) for the rest. Expected values were taken from Node 20."""

import pytest

from engine.contracts import ResolverOptions
from engine.errors import ConfigError, DataError

STRICT = ResolverOptions()
LENIENT = ResolverOptions(lenient=True)
NEW_YORK = ResolverOptions(timezone="America/New_York")
NEW_YORK_LENIENT = ResolverOptions(timezone="America/New_York", lenient=True)


@pytest.mark.parametrize(
    "name,value,expected",
    [
        ("sdk.uppercase", "abc", "ABC"),
        ("sdk.uppercase", "straße", "STRASSE"),
        ("sdk.uppercase", 5, 5),
        ("sdk.uppercase", ["a"], ["a"]),
        ("sdk.uppercase", None, None),
        ("sdk.lowercase", "ÀBC", "àbc"),
        ("sdk.lowercase", True, True),
        ("sdk.trim", "  a b \n", "a b"),
        ("sdk.trim", "\u00a0\ufeffx\u3000", "x"),
        ("sdk.trim", "\u200bx", "\u200bx"),  # zero-width space is not JavaScript whitespace
        ("sdk.trim", "", ""),
        ("sdk.trim", 12, 12),
        ("sdk.identity", {"a": 1}, {"a": 1}),
        ("sdk.identity", "", ""),
        ("sdk.coalesce", "x", "x"),
        ("sdk.default", None, None),
        ("sdk.default", "", ""),
    ],
)
@pytest.mark.parametrize("options", [STRICT, LENIENT], ids=["strict", "lenient"])
def test_text_and_identity(run, name, value, expected, options):
    run(name, None, value, expected, options=options)


@pytest.mark.parametrize(
    "value,strict,lenient",
    [
        ("abc", "abc", "abc"),
        (None, "", ""),
        ("", "", ""),
        (12, "12", "12"),
        (1.0, "1", "1"),
        (1.5, "1.5", "1.5"),
        (-0.0, "0", "0"),
        (1e21, "1e+21", "1e+21"),
        (1e-7, "1e-7", "1e-7"),
        (0.000001, "0.000001", "0.000001"),
        (True, "true", "true"),
        ([1, [2, 3], None, "x"], "1,2,3,,x", "1,2,3,,x"),
        ({"a": 1}, DataError("expected text, a number or a list, found an object"), "[object Object]"),
    ],
)
def test_to_string(run, value, strict, lenient):
    run("sdk.toString", None, value, strict, options=STRICT)
    run("sdk.toString", None, value, lenient, options=LENIENT)


@pytest.mark.parametrize(
    "value,strict,lenient",
    [
        ("12", 12, 12),
        (" 5 ", 5, 5),
        ("+5", 5, 5),
        ("-0", 0, 0),
        ("\u00a012", 12, 12),
        ("5.0", 5, 5),
        ("007", 7, 7),
        ("12345678901234567890", 12345678901234567890, 12345678901234567890),
        (42, 42, 42),
        (42.0, 42, 42),
        ("12abc", DataError("'12abc' is not an integer"), 12),
        ("abc", DataError("'abc' is not an integer"), 0),
        ("12.9", DataError("'12.9' is not an integer"), 12),
        ("-12.9", DataError("'-12.9' is not an integer"), -12),
        (12.7, DataError("12.7 is not an integer (it has a fraction)"), 12),
        ("1e3", DataError("'1e3' is not an integer"), 1),
        ("0x1A", DataError("'0x1A' is not an integer"), 0),
        ("1_000", DataError("'1_000' is not an integer"), 1),
        ("١٢", DataError("'١٢' is not an integer"), 0),
        ("\u200b12", DataError("is not an integer"), 0),
        (True, DataError("true is not an integer"), 0),
        ([5], DataError("[5] is not an integer"), 5),
        (1e21, DataError("is not an integer"), 1),  # String(1e21) is "1e+21"
        ("", None, 0),
        ("   ", None, 0),
        (None, None, 0),
    ],
)
def test_parse_int(run, value, strict, lenient):
    run("sdk.parseInt", None, value, strict, options=STRICT)
    run("sdk.parseInt", None, value, lenient, options=LENIENT)


@pytest.mark.parametrize("name", ["sdk.parseFloat", "sdk.number"])
@pytest.mark.parametrize(
    "value,strict,lenient",
    [
        ("1.5", 1.5, 1.5),
        ("12", 12, 12),
        ("12.0", 12, 12),
        (" -0.5 ", -0.5, -0.5),
        (".5", 0.5, 0.5),
        ("5.", 5, 5),
        ("1e3", 1000, 1000),
        ("1E-7", 1e-7, 1e-7),
        ("-0", 0, 0),
        ("1e21", 1e21, 1e21),
        (2.5, 2.5, 2.5),
        (7, 7, 7),
        ("12abc", DataError("'12abc' is not a number"), 12),
        ("abc", DataError("'abc' is not a number"), 0),
        ("1,5", DataError("'1,5' is not a number"), 1),
        ("Infinity", DataError("'Infinity' is not a number"), None),
        ("1e400", DataError("'1e400' is not a number (out of range)"), None),
        ("nan", DataError("'nan' is not a number"), 0),
        ("1_0", DataError("'1_0' is not a number"), 1),
        ("٣", DataError("is not a number"), 0),
        (float("nan"), DataError("nan is not a number"), 0),
        (False, DataError("false is not a number"), 0),
        ("", None, 0),
        (None, None, 0),
    ],
)
def test_parse_float(run, name, value, strict, lenient):
    run(name, None, value, strict, options=STRICT)
    run(name, None, value, lenient, options=LENIENT)


@pytest.mark.parametrize(
    "value,strict,lenient",
    [
        ("2025-01-05", "2025-01-05T00:00:00.000Z", "2025-01-05T00:00:00.000Z"),
        ("2025-01-05T10:00:00Z", "2025-01-05T10:00:00.000Z", "2025-01-05T10:00:00.000Z"),
        ("2025-01-05T10:00:00", "2025-01-05T10:00:00.000Z", "2025-01-05T10:00:00.000Z"),
        ("2025-01-05T10:00:00+02:00", "2025-01-05T08:00:00.000Z", "2025-01-05T08:00:00.000Z"),
        ("2025-01-05T10:00:00-0530", "2025-01-05T15:30:00.000Z", "2025-01-05T15:30:00.000Z"),
        ("2025-01-05T10:00:00.123456Z", "2025-01-05T10:00:00.123Z", "2025-01-05T10:00:00.123Z"),
        ("2025-01-05t10:00z", "2025-01-05T10:00:00.000Z", "2025-01-05T10:00:00.000Z"),
        ("2025-01-05T24:00:00Z", "2025-01-06T00:00:00.000Z", "2025-01-06T00:00:00.000Z"),
        ("2025", "2025-01-01T00:00:00.000Z", "2025-01-01T00:00:00.000Z"),
        ("2025-01-05 10:00:00", "2025-01-05T10:00:00.000Z", "2025-01-05T10:00:00.000Z"),
        ("2025/01/05", "2025-01-05T00:00:00.000Z", "2025-01-05T00:00:00.000Z"),
        ("01/05/2025", "2025-01-05T00:00:00.000Z", "2025-01-05T00:00:00.000Z"),
        ("Sun, 05 Jan 2025 10:00:00 GMT", "2025-01-05T10:00:00.000Z", "2025-01-05T10:00:00.000Z"),
        ("January 5, 2025", "2025-01-05T00:00:00.000Z", "2025-01-05T00:00:00.000Z"),
        ("  2025-01-05  ", "2025-01-05T00:00:00.000Z", "2025-01-05T00:00:00.000Z"),
        ("+020000-01-01T00:00:00Z", "+020000-01-01T00:00:00.000Z", "+020000-01-01T00:00:00.000Z"),
        ("-000001-01-01T00:00:00Z", "-000001-01-01T00:00:00.000Z", "-000001-01-01T00:00:00.000Z"),
        ("2024-02-29", "2024-02-29T00:00:00.000Z", "2024-02-29T00:00:00.000Z"),
        ("2023-02-29", DataError("'2023-02-29' is not a date (no such day)"), "2023-03-01T00:00:00.000Z"),
        ("2023-02-30 10:00:00", DataError("no such day"), "2023-03-02T10:00:00.000Z"),
        ("2023-02-32", DataError("'2023-02-32' is not a date"), "2023-02-32"),
        ("2025-13-01", DataError("is not a date"), "2025-13-01"),
        ("2025-01-05T25:00:00Z", DataError("is not a date"), "2025-01-05T25:00:00Z"),
        (" 2025-01-05T10:00:00Z", DataError("is not a date"), " 2025-01-05T10:00:00Z"),
        ("2025-01-05T10:00:00+24:00", DataError("is not a date"), "2025-01-05T10:00:00+24:00"),
        ("abc", DataError("'abc' is not a date"), "abc"),
        ("٢٠٢٥-٠١-٠٥", DataError("is not a date"), "٢٠٢٥-٠١-٠٥"),
        (1736071200000, "2025-01-05T10:00:00.000Z", "2025-01-05T10:00:00.000Z"),
        (1.9, "1970-01-01T00:00:00.001Z", "1970-01-01T00:00:00.001Z"),
        (8.64e15, "+275760-09-13T00:00:00.000Z", "+275760-09-13T00:00:00.000Z"),
        (8.64e15 + 1, DataError("is not a date (out of range)"), "8640000000000001"),
        (True, DataError("true is not a date"), "1970-01-01T00:00:00.001Z"),
        (0, DataError("0 is not a date"), 0),  # the SDK passes falsy values through
        (False, DataError("false is not a date"), False),
        ("", None, ""),
        ("  ", None, "  "),
    ],
)
def test_format_date(run, value, strict, lenient):
    run("sdk.formatDate", None, value, strict, options=STRICT)
    run("sdk.formatDate", None, value, lenient, options=LENIENT)


@pytest.mark.parametrize(
    "value,strict,lenient",
    [
        ("2025-01-05T10:00:00", "2025-01-05T15:00:00.000Z", "2025-01-05T15:00:00.000Z"),
        ("2025-07-05T10:00:00", "2025-07-05T14:00:00.000Z", "2025-07-05T14:00:00.000Z"),
        ("2025-01-05", "2025-01-05T00:00:00.000Z", "2025-01-05T00:00:00.000Z"),  # date-only is UTC
        ("2025/01/05", "2025-01-05T05:00:00.000Z", "2025-01-05T05:00:00.000Z"),  # but not this one
        ("2025-01-05T10:00:00Z", "2025-01-05T10:00:00.000Z", "2025-01-05T10:00:00.000Z"),
        ("2025-03-09T02:30:00", "2025-03-09T07:30:00.000Z", "2025-03-09T07:30:00.000Z"),  # DST gap
    ],
)
def test_format_date_local_time_uses_the_mapping_time_zone(run, value, strict, lenient):
    run("sdk.formatDate", None, value, strict, options=NEW_YORK)
    run("sdk.formatDate", None, value, lenient, options=NEW_YORK_LENIENT)


def test_format_date_unknown_time_zone_is_a_config_error(resolve):
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Base'"):
        resolve("sdk.formatDate", None, ResolverOptions(timezone="Mars/Base"))


@pytest.mark.parametrize(
    "value,strict,lenient",
    [
        ("2025-01-05T10:00:00Z", "2025-01-05", "2025-01-05"),
        ("2025-01-05T23:30:00-05:00", "2025-01-06", "2025-01-06"),
        ("2024-02-29", "2024-02-29", "2024-02-29"),
        ("2023-02-29", DataError("no such day"), "2023-03-01"),
        ("abc", DataError("'abc' is not a date"), "abc"),
        (8.64e15 + 1, DataError("out of range"), 8.64e15 + 1),
        ("", None, ""),
    ],
)
def test_format_date_short(run, value, strict, lenient):
    run("sdk.formatDateShort", None, value, strict, options=STRICT)
    run("sdk.formatDateShort", None, value, lenient, options=LENIENT)


@pytest.mark.parametrize(
    "value,strict,lenient",
    [
        ("2025-01-05", "2025-01-05T00:00:00.000Z", "2025-01-05T00:00:00.000Z"),
        ("2025-01-05T10:00:00+01:00", "2025-01-05T09:00:00.000Z", "2025-01-05T09:00:00.000Z"),
        ("2023-02-29", DataError("no such day"), "2023-03-01T00:00:00.000Z"),
        ("abc", DataError("'abc' is not a date"), None),
        (0, DataError("0 is not a date"), None),
        ("", None, None),
    ],
)
def test_parse_date(run, value, strict, lenient):
    run("sdk.parseDate", None, value, strict, options=STRICT)
    run("sdk.parseDate", None, value, lenient, options=LENIENT)


@pytest.mark.parametrize(
    "value,strict,lenient",
    [
        ("true", True, True),
        ("TRUE", True, True),
        ("Yes", True, True),
        ("y", True, True),
        ("1", True, True),
        (True, True, True),
        (1, True, True),
        (1.0, True, True),
        ("false", False, False),
        ("No", False, False),
        ("0", False, False),
        (False, False, False),
        (0, False, False),
        ("maybe", DataError("'maybe' is not a boolean (expected true, 1, yes, y or false, 0, no, n)"), False),
        (" yes", DataError("' yes' is not a boolean"), False),  # the SDK does not trim
        ("on", DataError("'on' is not a boolean"), False),
        (2, DataError("2 is not a boolean"), False),
        ([1], DataError("[1] is not a boolean"), False),
        ("", None, False),
        (None, None, False),
    ],
)
def test_boolean(run, value, strict, lenient):
    run("sdk.boolean", None, value, strict, options=STRICT)
    run("sdk.boolean", None, value, lenient, options=LENIENT)


@pytest.mark.parametrize(
    "value,strict,lenient",
    [
        ('{"a": [1, 2.5, "é", null]}', {"a": [1, 2.5, "é", None]}, {"a": [1, 2.5, "é", None]}),
        ("1.0", 1, 1),
        ("-0", 0, 0),
        ("123456789012345678901", 123456789012345678901, 123456789012345678901),
        (' "x" ', "x", "x"),
        ("null", None, None),
        ({"already": "parsed"}, {"already": "parsed"}, {"already": "parsed"}),
        (5, 5, 5),
        ("{bad", DataError("'{bad' is not valid JSON (expecting property name"), "{bad"),
        ("[1,]", DataError("is not valid JSON"), "[1,]"),
        ("NaN", DataError("'NaN' is not valid JSON (NaN is not JSON)"), "NaN"),
        ("1e400", DataError("out of range"), "1e400"),
        ("", None, ""),
        ("   ", None, "   "),
    ],
)
def test_parse_json(run, value, strict, lenient):
    run("sdk.parseJson", None, value, strict, options=STRICT)
    run("sdk.parseJson", None, value, lenient, options=LENIENT)


@pytest.mark.parametrize(
    "value,strict,lenient",
    [
        ({"a": [1, 2.5, "é", None, True]}, '{"a":[1,2.5,"é",null,true]}', '{"a":[1,2.5,"é",null,true]}'),
        ([1.0, 1e-5, 1e21, -0.0], "[1,0.00001,1e+21,0]", "[1,0.00001,1e+21,0]"),
        ('x\u0007"', '"x\\u0007\\""', '"x\\u0007\\""'),
        (12, "12", "12"),
        ({1: "a"}, '{"1":"a"}', '{"1":"a"}'),
        ([float("nan")], DataError("cannot be written as JSON: NaN has no JSON form"), "[null]"),
        ({"inf": float("inf")}, DataError("Infinity has no JSON form"), '{"inf":null}'),
    ],
)
def test_to_json(run, value, strict, lenient):
    run("sdk.toJson", None, value, strict, options=STRICT)
    run("sdk.toJson", None, value, lenient, options=LENIENT)


def test_date_results_are_memoised_per_resolver(resolve):
    fn = resolve("sdk.formatDate")
    assert fn("2025-01-05") is fn("2025-01-05")
