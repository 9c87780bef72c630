"""``bool``: yes/no words a feed uses, each of them named, nothing guessed.

Both word lists are configurable because feeds disagree (``J``/``N``,
``active``/``inactive``); a word in neither list is an error, so a typo in a
feed never becomes ``false``. Matching ignores case and surrounding spaces.

YAML reads unquoted ``yes``, ``on`` and ``true`` as the boolean true (and
``no``, ``off``, ``false`` as false), so a boolean in a word list stands for
those three spellings; quote a word to mean only itself.

Example::

    fields:
      active: {source: Active, resolver: {name: bool, args: {true_values: [J, ja], false_values: [N, nein]}}}
"""

from __future__ import annotations

from typing import Any

from engine.contracts import Resolver
from engine.mapping.resolvers._common import ValueFunction, bad_args, invalid, is_blank, wrong_kind

TRUE_VALUES = ["true", "t", "yes", "y", "1", "on"]
FALSE_VALUES = ["false", "f", "no", "n", "0", "off"]
_YAML_SPELLINGS = {True: ("true", "yes", "on"), False: ("false", "no", "off")}


def _words(items: list[Any]) -> list[str]:
    words: list[str] = []
    for item in items:
        if isinstance(item, bool):
            words.extend(_YAML_SPELLINGS[item])
        else:
            words.append(str(item).strip().lower())
    return words


def make_bool(
    *, true_values: list[Any] = TRUE_VALUES, false_values: list[Any] = FALSE_VALUES
) -> ValueFunction:
    """Build ``bool``: a known word (or 0/1 when listed) to True/False, blank text to None.

    A word in both lists is a :class:`ConfigError` now; at run time an unknown
    word, another number or another kind of value is a :class:`DataError`.
    """
    true_words, false_words = _words(true_values), _words(false_values)
    both = sorted(set(true_words) & set(false_words))
    if both:
        raise bad_args(f"{', '.join(map(repr, both))} cannot be both true and false")
    table = {w: False for w in false_words} | {w: True for w in true_words}
    expected = f"expected one of {', '.join(true_words)} or {', '.join(false_words)}"
    numbers: dict[float, bool | None] = {1: table.get("1"), 0: table.get("0")}

    def slow(value: Any) -> bool | None:
        if type(value) is str:
            got = table.get(value.strip().lower())
            if got is not None:
                return got
            if is_blank(value):
                return None
            raise invalid(value, "a boolean", expected)
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            got = numbers.get(value) if value in (0, 1) else None
            if got is None:
                raise invalid(value, "a boolean", expected)
            return got
        raise wrong_kind(value, "a boolean")

    def fn(value: Any) -> bool | None:
        got = table.get(value) if type(value) is str else None
        return slow(value) if got is None else got

    return fn


_WORDS = {"type": "array", "minItems": 1, "items": {"type": ["string", "integer", "boolean"]}}

RESOLVERS = [
    Resolver(
        "bool",
        make_bool,
        returns="boolean",
        summary="true/false from configurable words; unknown words are errors.",
        args={
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "true_values": {**_WORDS, "default": TRUE_VALUES},
                "false_values": {**_WORDS, "default": FALSE_VALUES},
            },
        },
    ),
]
