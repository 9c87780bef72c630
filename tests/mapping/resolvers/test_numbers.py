"""Numbers: what a feed writes must be the number it means, or an error."""

from decimal import Decimal

import pytest

from engine.errors import DataError


@pytest.mark.parametrize(
    "value,expected",
    [
        ("5", 5),
        (" 5 ", 5),
        ("+5", 5),
        ("-5", -5),
        ("007", 7),
        ("-0", 0),
        ("5.0", 5),
        ("5.", 5),
        ("-0.00", 0),
        ("123456789012345678901234567890", 123456789012345678901234567890),
        (5, 5),
        (5.0, 5),
        (Decimal("7.00"), 7),
        ("", None),
        ("   ", None),
        ("\u00a05\u00a0", 5),
        ("ten", DataError("'ten' is not an integer")),
        ("5.5", DataError("'5.5' is not an integer (it has a fraction)")),
        (".5", DataError("it has a fraction")),
        (5.5, DataError("5.5 is not an integer (it has a fraction)")),
        ("1_000", DataError("'1_000' is not an integer (underscores are not accepted)")),
        ("٥", DataError("'٥' is not an integer (only ASCII digits are accepted)")),
        ("１２", DataError("only ASCII digits are accepted")),
        ("1e3", DataError("'1e3' is not an integer")),
        ("0x10", DataError("'0x10' is not an integer")),
        ("5 5", DataError("'5 5' is not an integer")),
        ("9" * 5000, DataError("is not an integer (too many digits)")),
        (float("nan"), DataError("nan is not an integer")),
        (float("inf"), DataError("inf is not an integer")),
        (True, DataError("true is not an integer")),
        ([1], DataError("expected an integer, found a list [1]")),
    ],
)
def test_int(run, value, expected):
    run("int", None, value, expected)


@pytest.mark.parametrize(
    "value,expected",
    [
        ("1.5", 1.5),
        (" 2 ", 2.0),
        ("-0", 0.0),
        ("-0.0", 0.0),
        (-0.0, 0.0),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("1.7976931348623157e308", 1.7976931348623157e308),
        ("5e-324", 5e-324),
        (3, 3.0),
        (Decimal("0.1"), 0.1),
        ("", None),
        ("\t", None),
        ("abc", DataError("'abc' is not a number")),
        ("1,5", DataError("'1,5' is not a number")),
        ("nan", DataError("'nan' is not a number")),
        ("NaN", DataError("'NaN' is not a number")),
        ("inf", DataError("'inf' is not a number")),
        ("-Infinity", DataError("'-Infinity' is not a number")),
        ("1e400", DataError("'1e400' is not a number (out of range)")),
        (10**400, DataError("is not a number (out of range)")),
        (float("nan"), DataError("nan is not a number")),
        ("1_0", DataError("underscores are not accepted")),
        ("٣", DataError("only ASCII digits are accepted")),
        (False, DataError("false is not a number")),
        ({"a": 1}, DataError("expected a number, found an object")),
    ],
)
def test_float(run, value, expected):
    run("float", None, value, expected)


@pytest.mark.parametrize(
    "args,value,expected",
    [
        (None, "12.345", "12.345"),
        (None, "1e3", "1000"),
        (None, "0.1", "0.1"),
        (None, 0.1, "0.1"),  # the float as written, not its binary expansion
        (None, 5, "5"),
        (None, "-0.00", "0.00"),
        (None, " 7.50 ", "7.50"),
        (None, "123456789012345678901234567890.123456789", "123456789012345678901234567890.123456789"),
        (2, "12.345", "12.35"),
        (2, "12.355", "12.36"),
        (2, "2.675", "2.68"),
        (2, 2.675, "2.68"),
        (2, "-2.675", "-2.68"),
        (2, "-0.001", "0.00"),
        (2, "7", "7.00"),
        (0, "2.5", "3"),
        (6, "0", "0.000000"),
        (6, "-0.0000004", "0.000000"),
        (6, "0.0000005", "0.000001"),
        (8, "0.00000001", "0.00000001"),
        (8, "0", "0.00000000"),
        (12, "1e-12", "0.000000000001"),
        (-2, "1250", "1300"),
        ({"scale": 2, "rounding": "half_even"}, "2.665", "2.66"),
        ({"scale": 2, "rounding": "half_even"}, "2.675", "2.68"),
        ({"scale": 2, "rounding": "down"}, "2.679", "2.67"),
        ({"scale": 2, "rounding": "floor"}, "-2.671", "-2.68"),
        ({"scale": 2, "as": "number"}, "12.345", 12.35),
        ({"scale": 2, "as": "number"}, "12.00", 12),
        ({"scale": 2, "as": "decimal"}, "12.3", Decimal("12.30")),
        (None, "", None),
        (None, "   ", None),
        (None, "abc", DataError("'abc' is not a number")),
        (None, "NaN", DataError("'NaN' is not a number")),
        (None, "Infinity", DataError("'Infinity' is not a number")),
        (None, "1_0", DataError("underscores are not accepted")),
        (None, "١", DataError("only ASCII digits are accepted")),
        (None, "1e99999", DataError("'1e99999' is not a number (out of range)")),
        (2, "1" * 500, DataError("is not a number we can round (too many digits)")),
        (None, float("inf"), DataError("inf is not a number")),
        (None, True, DataError("true is not a number")),
        (None, [1], DataError("expected a number, found a list")),
    ],
)
def test_decimal(run, args, value, expected):
    run("decimal", args, value, expected)


@pytest.mark.parametrize(
    "args,value,expected",
    [
        (None, 2.5, 3),
        (None, 3.5, 4),
        (None, -2.5, -3),
        (None, 2.4999, 2),
        (None, -0.4, 0),
        (None, 7, 7),
        (None, "2.5", 3),
        (2, 2.675, 2.68),
        (2, 1.005, 1.01),
        (2, -0.001, 0.0),
        (2, 7, 7),
        (2, Decimal("1.005"), Decimal("1.01")),
        (-1, 15, 20),
        (-1, 25.0, 30),
        ({"digits": 2, "rounding": "half_even"}, 2.665, 2.66),
        ({"digits": 0, "rounding": "half_even"}, 2.5, 2),
        ({"digits": 0, "rounding": "ceiling"}, 2.1, 3),
        (None, 1e300, int(Decimal("1e300"))),
        (None, "", None),
        (None, "x", DataError("'x' is not a number")),
        (None, float("nan"), DataError("nan is not a number")),
        (None, True, DataError("true is not a number")),
    ],
)
def test_round(run, args, value, expected):
    run("round", args, value, expected)
