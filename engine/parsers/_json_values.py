"""Values JSON parsers disagree on, read the same way by the ``json`` and ``jsonl`` parsers.

RFC 8259 leaves three things to the parser, and each default changes data
without a word: Python's ``json`` turns ``1e-999`` into ``0.0`` and ``1e999``
into infinity, yajl (under ijson) refuses integers beyond 64 bits, and both
keep the last of two equal keys. Here:

* integers are Python integers, exact at any size;
* other numbers are floats, unless a float would change the number's
  magnitude (underflow to 0, overflow to infinity): those stay exact as a
  :class:`~decimal.Decimal`;
* an object with the same key twice makes its record a reject naming the key
  (which value was meant is unknown; JSON readers pick differently);
* ``NaN`` and ``Infinity`` are not JSON: the ``json`` parser stops at them as
  at any syntax error, the ``jsonl`` parser rejects the line naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any


def number(text: str | Decimal) -> float | Decimal:
    """A JSON number with a fraction or exponent, as a float unless that would change its magnitude."""
    value = float(text)
    if value == 0.0:
        exact = Decimal(text)
        return value if exact == 0 else exact
    if math.isinf(value):
        return Decimal(text)
    return value


def duplicate_reason(keys: list[Any]) -> str:
    """The reject reason for a record whose objects repeat ``keys``."""
    unique = list(dict.fromkeys(keys))
    shown = ", ".join(repr(k) for k in unique)
    return (
        f"{'key' if len(unique) == 1 else 'keys'} {shown} repeated in an object (JSON readers "
        "disagree on which value counts, so the record is not guessed at)"
    )


class Duplicate(ValueError):
    """An object repeats a key (raised while a JSON Lines line is decoded)."""

    def __init__(self, key: Any) -> None:
        super().__init__(key)
        self.key = key


def object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for :mod:`json`: a dict, or :class:`Duplicate` when a key repeats."""
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise Duplicate(key)
            seen.add(key)
    return value


class ObjectBuilder:
    """What ijson builds objects with (its ``map_type``) while one document is parsed.

    ijson hands over numbers with a fraction as exact :class:`~decimal.Decimal`
    (its float mode refuses integers beyond 64 bits and silently turns
    ``1e-999`` into 0); :meth:`finish` makes them :func:`number` once a record
    is complete, and turns the builder's objects into plain dicts. A repeated
    key is noted with the object holding it: ijson builds a whole block of
    records ahead of the one it hands over, so the note says whose it is.
    """

    def __init__(self) -> None:
        #: (object, key) of each repeated key not yet matched to its record
        self.duplicates: list[tuple[dict[Any, Any], Any]] = []
        self.map_type = self._map_type()
        #: value types a record can hold that need no conversion (checked at C speed)
        self.plain: frozenset[type] = frozenset({str, int, float, bool, type(None)})

    def _map_type(self) -> type[dict[Any, Any]]:
        duplicates = self.duplicates
        set_item: Callable[[dict[Any, Any], Any, Any], None] = dict.__setitem__

        class JsonObject(dict[Any, Any]):
            __slots__ = ()

            def __setitem__(self, key: Any, value: Any) -> None:
                if key in self:
                    duplicates.append((self, key))
                set_item(self, key, value)

        return JsonObject

    def finish(self, value: Any) -> tuple[Any, str | None]:
        """The completed record as plain values, and why it is rejected (None: it is not).

        One pass with an explicit stack, so the deepest document ``max_depth``
        allows is converted without recursion.
        """
        builder_type = self.map_type
        if not self.duplicates and type(value) is builder_type:  # the common case: a flat object
            record = dict(value)
            if self.plain.issuperset(map(type, record.values())):
                return record, None
            value = record
        repeated = {id(o): o for o, _ in self.duplicates} if self.duplicates else None
        found: list[Any] = []
        holder = [value]
        stack: list[tuple[Any, Any]] = [(holder, 0)]
        while stack:
            parent, key = stack.pop()
            current = parent[key]
            kind = type(current)
            if kind is Decimal:
                parent[key] = number(current)
                continue
            if kind is builder_type:
                if repeated is not None and id(current) in repeated:
                    found.append(current)
                current = parent[key] = dict(current)
                pairs: Any = current.items()
            elif kind is dict:  # the record itself, already copied by the fast path
                pairs = current.items()
            elif kind is list:
                pairs = enumerate(current)
            else:
                continue
            for k, v in pairs:
                child = type(v)
                if child is Decimal or child is list or child is builder_type:
                    stack.append((current, k))
        if not found:
            return holder[0], None
        mine = {id(o) for o in found}
        keys = [k for o, k in self.duplicates if id(o) in mine]
        self.duplicates[:] = [(o, k) for o, k in self.duplicates if id(o) not in mine]
        return holder[0], duplicate_reason(keys)
