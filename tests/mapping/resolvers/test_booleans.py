"""``bool``: only the words listed, in any case; anything else is an error."""

import pytest

from engine.errors import ConfigError, DataError

GERMAN = {"true_values": ["J", "ja"], "false_values": ["N", "nein"]}


@pytest.mark.parametrize(
    "args,value,expected",
    [
        (None, "true", True),
        (None, "TRUE", True),
        (None, " Yes ", True),
        (None, "y", True),
        (None, "1", True),
        (None, "on", True),
        (None, "false", False),
        (None, "No", False),
        (None, "0", False),
        (None, "off", False),
        (None, True, True),
        (None, False, False),
        (None, 1, True),
        (None, 0, False),
        (None, 0.0, False),
        (None, "", None),
        (None, "  ", None),
        (None, "maybe", DataError("'maybe' is not a boolean (expected one of true, t, yes")),
        (None, "ja", DataError("'ja' is not a boolean")),
        (None, 2, DataError("2 is not a boolean")),
        (None, -1, DataError("-1 is not a boolean")),
        (None, [True], DataError("expected a boolean, found a list")),
        (GERMAN, "j", True),
        (GERMAN, "NEIN", False),
        (GERMAN, "true", DataError("'true' is not a boolean (expected one of j, ja or n, nein)")),
        (GERMAN, 1, DataError("1 is not a boolean")),
        ({"true_values": [1], "false_values": [0]}, 1, True),
        ({"true_values": [1], "false_values": [0]}, "0", False),
        # unquoted yes/on/true in YAML arrive as booleans and stand for all three spellings
        ({"true_values": [True], "false_values": [False]}, "on", True),
        ({"true_values": [True], "false_values": [False]}, "No", False),
        ({"true_values": [True], "false_values": [False]}, "y", DataError("'y' is not a boolean")),
    ],
)
def test_bool(run, args, value, expected):
    run("bool", args, value, expected)


def test_a_word_in_both_lists_is_a_config_error(resolve):
    with pytest.raises(ConfigError, match="'x' cannot be both true and false"):
        resolve("bool", {"true_values": ["x", "y"], "false_values": ["X"]})
