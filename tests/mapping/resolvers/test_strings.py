"""Text resolvers: JSON-style text for numbers, errors for objects."""

import pytest

from engine.errors import ConfigError, DataError


@pytest.mark.parametrize(
    "name,value,expected",
    [
        ("upper", "abc", "ABC"),
        ("upper", "straße", "STRASSE"),
        ("upper", "", ""),
        ("upper", 5, "5"),
        ("upper", 1.5, "1.5"),
        ("upper", 2.0, "2"),
        ("upper", True, "TRUE"),
        ("upper", [1], DataError("expected text, found a list [1]")),
        ("upper", {"a": 1}, DataError("expected text, found an object")),
        ("lower", "ÀB", "àb"),
        ("lower", "ΟΔΟΣ", "οδος"),
        ("lower", False, "false"),
    ],
)
def test_case(run, name, value, expected):
    run(name, None, value, expected)


@pytest.mark.parametrize(
    "args,value,expected",
    [
        (None, "  a b  ", "a b"),
        (None, "\u3000x\u00a0\n", "x"),
        (None, "   ", ""),
        (None, "", ""),
        (None, 5, "5"),
        ("-", "--a-b--", "a-b"),
        ({"chars": "0"}, "00120", "12"),
    ],
)
def test_trim(run, args, value, expected):
    run("trim", args, value, expected)


@pytest.mark.parametrize(
    "args,value,expected",
    [
        ({"old": "-"}, "a-b-c", "abc"),
        ({"old": "-", "new": "_", "count": 1}, "a-b-c", "a_b-c"),
        ({"old": "é", "new": "e"}, "café", "cafe"),
        ({"old": "x"}, 5, "5"),
        ({"pattern": r"\s+", "new": " "}, "a \t b\n\nc", "a b c"),
        ({"pattern": r"(\d+)-(\d+)", "new": r"\2-\1"}, "12-34", "34-12"),
        ({"pattern": r"(?P<n>\d)", "new": r"<\g<n>>"}, "a1", "a<1>"),
        ({"pattern": "^0+"}, "000120", "120"),
        ({"pattern": "x"}, ["x"], DataError("expected text, found a list")),
    ],
)
def test_replace(run, args, value, expected):
    run("replace", args, value, expected)


@pytest.mark.parametrize(
    "args,message",
    [
        ({"pattern": "("}, "invalid regular expression '('"),
        ({"pattern": "a", "new": r"\1"}, "invalid replacement"),
    ],
)
def test_replace_bad_arguments(resolve, args, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        resolve("replace", args)


@pytest.mark.parametrize(
    "args,value,expected",
    [
        (r"LOT-(\d+)", "LOT-42/x", "42"),
        (r"LOT-(\d+)", "no lot", None),
        (
            {"pattern": r"LOT-(\d+)", "on_no_match": "error"},
            "no lot",
            DataError("'no lot' does not match 'LOT-(\\\\d+)'"),
        ),
        ({"pattern": r"\d+", "group": 0}, "abc 123 456", "123"),
        ({"pattern": r"(?P<year>\d{4})-(\d\d)", "group": "year"}, "on 2025-01", "2025"),
        ({"pattern": r"(a)|(b)", "group": 2}, "a", None),  # the group took no part in the match
        (r"(\d+)", 12345, "12345"),
        (r"(\w+)", "ünï", "ünï"),
    ],
)
def test_regex_extract(run, args, value, expected):
    run("regex_extract", args, value, expected)


@pytest.mark.parametrize(
    "args,message",
    [
        (r"\d+", "has 0 group(s), so group 1 does not exist (use group: 0 for the whole match)"),
        ({"pattern": "(a)", "group": "name"}, "has no group named 'name'"),
        ("[", "invalid regular expression"),
    ],
)
def test_regex_extract_bad_arguments(resolve, args, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve("regex_extract", args)


@pytest.mark.parametrize(
    "args,value,expected",
    [
        ({"start": 1, "end": 3}, "abcdef", "bc"),
        ({"start": 2}, "abcdef", "cdef"),
        ({"start": -3}, "abcdef", "def"),
        ({"end": -1}, "abcdef", "abcde"),
        ({"start": 10}, "abc", ""),
        ({"start": 1, "end": 3}, "é😀ab", "😀a"),  # characters, not bytes
        ({"end": 2}, 12345, "12"),
    ],
)
def test_substring(run, args, value, expected):
    run("substring", args, value, expected)


@pytest.mark.parametrize(
    "args,value,expected",
    [
        (5, "42", "   42"),
        ({"width": 5, "char": "0"}, 42, "00042"),
        ({"width": 5, "char": "0"}, "-4", "000-4"),
        ({"width": 5, "side": "right", "char": "."}, "ab", "ab..."),
        (3, "abcdef", "abcdef"),
        (3, "", "   "),
        ({"width": 4, "char": "é"}, "x", "éééx"),
    ],
)
def test_pad(run, args, value, expected):
    run("pad", args, value, expected)
