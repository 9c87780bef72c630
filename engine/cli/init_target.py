"""The fields of a target's record, drafted with sources guessed from a sample's columns.

A target that declares the record it takes (:meth:`Target.record_shape`)
gets a mapping in its own field names: each field takes the sample column
whose name is most like it (difflib's ratio over the names' words and a few
words feeds use for the same thing: a *store* is a location, *on hand* a
quantity), with a resolver the field's type needs (``int`` for an ``Int``).
A field nothing resembles is left out; when it is required, validation
names it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from engine.contracts import RecordShape

#: words feeds use for what a field's words say (compared after lower-casing, words joined)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "location": ("store", "site", "warehouse", "shop", "branch", "loc", "dc", "node"),
    "sku": ("product", "item", "article", "sku", "variant", "code"),
    "qty": ("quantity", "onhand", "stock", "available", "units", "count", "level"),
    "name": ("title", "description", "label"),
    "ref": ("id", "code", "reference", "number", "no"),
    "type": ("kind", "category", "class"),
}
#: the resolver a GraphQL scalar needs when the column holds text
RESOLVERS = {"Int": "int", "Float": "float", "Boolean": "bool", "DateTime": "datetime"}
CUTOFF = 0.6


def words(name: str) -> list[str]:
    """``locationRef`` / ``Location Code`` / ``on_hand`` as lower-case words."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[^0-9A-Za-z]+", spaced) if w]


def _names(field: str) -> list[str]:
    """What a column for ``field`` may be called: the field, its head word, that word's synonyms."""
    parts = words(field)
    out = ["".join(parts), *parts[:1]]
    for part in parts[:1]:
        out.extend(SYNONYMS.get(part, ()))
    return out


def similarity(field: str, column: str) -> float:
    """How much ``column`` looks like a source for ``field`` (0 to 1)."""
    joined = "".join(words(column))
    candidates = [joined, *words(column)]
    return max(
        difflib.SequenceMatcher(None, name, candidate).ratio()
        for name in _names(field)
        for candidate in candidates
    )


def _matches(fields: list[str], columns: list[str]) -> dict[str, str]:
    """Each field's column, best pairs first, each column used once."""
    pairs = sorted(
        ((similarity(f, c), i, f, c) for i, f in enumerate(fields) for c in columns),
        key=lambda p: (-p[0], p[1]),
    )
    out: dict[str, str] = {}
    used: set[str] = set()
    for score, _i, field, column in pairs:
        if score >= CUTOFF and field not in out and column not in used:
            out[field] = column
            used.add(column)
    return out


def draft_fields(
    shape: RecordShape, columns: Mapping[str, dict[str, Any]], samples: Mapping[str, list[Any]]
) -> dict[str, Any]:
    """The target's scalar fields in its order, each from the most similar column of ``columns``.

    ``columns`` are the sample's drafted fields by source path (``{source,
    resolver}``), ``samples`` the values seen in each. A field of an object or
    list type is left to the user, and so is an enum field whose column holds
    other values (a ``type`` of ``STORE`` is not an inventory update type).
    """
    # graphql-core loads with `engine init`, not with every command line
    from graphql import GraphQLEnumType, GraphQLNonNull, GraphQLScalarType, get_named_type

    scalar = {
        name: get_named_type(f.type)
        for name, f in shape.fields.items()
        if isinstance(get_named_type(f.type), GraphQLScalarType | GraphQLEnumType)
    }
    found = _matches(list(scalar), list(columns))
    for name, column in list(found.items()):
        type_ = scalar[name]
        seen = [v for v in samples.get(column, []) if v not in (None, "")]
        if isinstance(type_, GraphQLEnumType) and not all(v in type_.values for v in seen):
            del found[name]
    out: dict[str, Any] = {}
    for name, type_ in scalar.items():
        if name not in found:
            continue
        column = found[name]
        field: dict[str, Any] = {"source": column}
        resolver = RESOLVERS.get(type_.name) if isinstance(type_, GraphQLScalarType) else None
        if resolver:
            field["resolver"] = resolver
        if isinstance(shape.fields[name].type, GraphQLNonNull):
            field["required"] = True
        out[name] = field
    return out


def unused(columns: Mapping[str, Any], fields: Mapping[str, Any]) -> list[str]:
    """The sample's columns no drafted field reads."""
    read = {f.get("source") for f in fields.values() if isinstance(f, dict)}
    return [c for c in columns if c not in read]
