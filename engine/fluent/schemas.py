"""Fluent's schemas as graphql-core values: the shipped one, an account's fetched one, the REST bodies.

Specs name which GraphQL schema their Fluent blocks are checked against with
``schema:`` — ``shipped`` (the default: the subset of Fluent's schema the
product ships, ``engine/fluent/schema.graphql``), the path of an SDL file
(an account's schema fetched by ``engine schema fluent --connection SPEC``),
or ``none`` to check nothing. Checking needs no network: the file is read
when the spec is compiled.

The shipped schema is a subset of Fluent's, so a name it lacks may well be
in the account's: unknown names found against it say how to go on
(:data:`SHIPPED_HINT`), once per block (the target's options, its mapping, a
lookup's or source's query), on the block's first unknown name.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, cast

from graphql import (
    FieldsOnCorrectTypeRule,
    GraphQLError,
    GraphQLSchema,
    IntrospectionQuery,
    KnownArgumentNamesRule,
    KnownTypeNamesRule,
    build_client_schema,
    build_schema,
    get_introspection_query,
    parse,
    print_schema,
    specified_rules,
    validate,
)

from engine.errors import ConfigError
from engine.fluent.sdl import REST, graphql_sdl
from engine.suggest import and_then

SHIPPED = "shipped"
NONE = "none"

#: the ``schema`` option of every Fluent block that sends or asks GraphQL
SCHEMA_OPTION: dict[str, Any] = {
    "type": "string",
    "default": SHIPPED,
    "description": "GraphQL schema checked against at validate time: shipped (the engine's subset of "
    "Fluent's), the path of an SDL file (engine schema fluent --connection SPEC writes one), or none",
}


#: what a problem found against the shipped schema adds (once per block)
SHIPPED_HINT = (
    "The shipped schema is a subset of Fluent's: fetch your account's with "
    "engine schema fluent --connection SPEC -o FILE and set schema: FILE, or schema: none."
)


class SchemaProblem(NamedTuple):
    """One thing a schema refuses in a block's options; ``unknown``: a name the schema lacks."""

    where: tuple[str | int, ...]
    message: str
    unknown: bool


def hinted(option: str, problems: Sequence[SchemaProblem]) -> list[tuple[tuple[str | int, ...], str]]:
    """``problems`` as ``(where, message)``, the first unknown name with :data:`SHIPPED_HINT` when shipped."""
    out = [(p.where, p.message) for p in problems]
    first = next((i for i, p in enumerate(problems) if p.unknown), None)
    if option == SHIPPED and first is not None:
        out[first] = (problems[first].where, and_then(problems[first].message, SHIPPED_HINT))
    return out


@lru_cache(maxsize=1)
def shipped() -> GraphQLSchema:
    """The schema the engine ships and the emulator serves (no emulator switches on)."""
    return build_schema(graphql_sdl())


@lru_cache(maxsize=1)
def rest() -> GraphQLSchema:
    """The Batch and Event APIs' bodies as GraphQL input types (``InventoryBatchEntity``, ``Event``)."""
    return build_schema(REST.read_text(encoding="utf-8"))


@lru_cache(maxsize=16)
def _from_file(path: Path, stamp: float) -> GraphQLSchema:
    try:
        return build_schema(path.read_text(encoding="utf-8"))
    except GraphQLError as exc:
        raise ConfigError(f"{path}: not a GraphQL schema (SDL): {exc.message}") from None


def load(option: str, spec_dir: Path) -> GraphQLSchema | None:
    """The schema a ``schema`` option names (None for ``none``); an unreadable file is a ConfigError."""
    if option == NONE:
        return None
    if option == SHIPPED:
        return shipped()
    path = Path(option) if Path(option).is_absolute() else spec_dir / option
    try:
        stamp = path.stat().st_mtime
    except OSError as exc:
        raise ConfigError(
            f"cannot read the schema file {path} ({exc.strerror}); fetch it with "
            "engine schema fluent --connection SPEC, or use schema: shipped"
        ) from None
    return _from_file(path.resolve(), stamp)


#: the validation rules that find names the schema lacks (fields, types, arguments)
NAME_RULES = (FieldsOnCorrectTypeRule, KnownTypeNamesRule, KnownArgumentNamesRule)


def document_problems(schema: GraphQLSchema, text: str) -> list[tuple[str, bool]]:
    """What ``schema`` refuses in the document ``text``: (graphql-core's message, whether a name is unknown).

    Names the schema lacks come first (its did-you-mean included), then
    every other rule's findings. A multi-line document's problems say where
    inside it they are (``line 2, column 70 of the document``).
    """
    try:
        document = parse(text)
    except GraphQLError as exc:
        return [(f"not a valid GraphQL document: {exc.message}", False)]
    lines = "\n" in text.strip()
    other = [rule for rule in specified_rules if rule not in NAME_RULES]
    return [
        (_located(error) if lines else error.message, unknown)
        for rules, unknown in ((NAME_RULES, True), (other, False))
        for error in validate(schema, document, rules)
    ]


def _located(error: GraphQLError) -> str:
    if not error.locations:
        return error.message
    where = error.locations[0]
    return f"{error.message.rstrip('.')} (line {where.line}, column {where.column} of the document)"


def introspection_query() -> str:
    """The standard introspection query an account's schema is fetched with."""
    return get_introspection_query(descriptions=True)


def sdl_of_introspection(data: dict[str, Any]) -> str:
    """The SDL text of an introspection answer's ``data``; a malformed answer is a ConfigError."""
    try:
        return print_schema(build_client_schema(cast(IntrospectionQuery, data))) + "\n"
    except (TypeError, KeyError, GraphQLError) as exc:
        raise ConfigError(f"the introspection answer is not a GraphQL schema: {exc}") from None
