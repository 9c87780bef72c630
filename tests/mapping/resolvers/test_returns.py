"""What a resolver declares it returns (``returns``, checked against target types) is what it returns."""

from __future__ import annotations

from typing import Any

import pytest

from engine.mapping.conformance import kind_of
from tests.mapping.resolvers.conftest import all_resolvers

#: every resolver that declares ``returns``, with inputs of several kinds
CASES: dict[str, tuple[Any, list[Any]]] = {
    "int": (None, ["5", "5.0", 7, " 12 "]),
    "float": (None, ["1.5", "2", 3]),
    "bool": (None, ["true", "no", True]),
    "date": (None, ["2025-01-05", "2025-01-05T10:00:00Z"]),
    "datetime": (None, ["2025-01-05T10:00:00Z", "2025-01-05"]),
    "hash": (None, ["x", 5]),
    "upper": (None, ["a", 5, True]),
    "lower": (None, ["A", 5]),
    "trim": (None, [" a ", 5]),
    "replace": ({"old": "a", "new": "b"}, ["aa", 5]),
    "regex_extract": ({"pattern": "([a-z]+)"}, ["ab12"]),
    "substring": ({"start": 0, "end": 1}, ["ab", 12]),
    "pad": ({"width": 4}, ["ab", 12]),
    "to_json": (None, [{"a": 1}, [1], "x", 5]),
    "join": (None, [["a", "b"], [1, 2]]),
    "concat": ({"paths": ["b"]}, ["a"]),
    "template": ({"template": "{}-{b}"}, ["a", 5]),
    "sdk.toJson": (None, [{"a": 1}, 5]),
}
DECLARED = {r.name: r for _, r in all_resolvers() if r.returns is not None}


def test_every_declaring_resolver_is_in_the_table() -> None:
    assert sorted(DECLARED) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_declared_kind_is_what_comes_out(resolve, name: str) -> None:
    args, inputs = CASES[name]
    apply = resolve(name, args)
    for value in inputs:
        out = apply(value, {"b": "B"})
        assert kind_of(out) == DECLARED[name].returns, (name, value, out)
