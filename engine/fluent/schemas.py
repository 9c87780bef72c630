"""Fluent's schemas as graphql-core values: the shipped one, an account's fetched one, the REST bodies.

Specs name which GraphQL schema their Fluent blocks are checked against with
``schema:`` — ``shipped`` (the default: the subset of Fluent's schema the
product ships, ``engine/fluent/schema.graphql``), the path of an SDL file
(an account's schema fetched by ``engine schema fluent --connection SPEC``),
or ``none`` to check nothing. Checking needs no network: the file is read
when the spec is compiled.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from graphql import (
    GraphQLError,
    GraphQLSchema,
    IntrospectionQuery,
    build_client_schema,
    build_schema,
    get_introspection_query,
    parse,
    print_schema,
    validate,
)

from engine.errors import ConfigError
from engine.fluent.sdl import REST, graphql_sdl

SHIPPED = "shipped"
NONE = "none"

#: the ``schema`` option of every Fluent block that sends or asks GraphQL
SCHEMA_OPTION: dict[str, Any] = {
    "type": "string",
    "default": SHIPPED,
    "description": "GraphQL schema checked against at validate time: shipped (the engine's subset of "
    "Fluent's), the path of an SDL file (engine schema fluent --connection SPEC writes one), or none",
}


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


def document_problems(schema: GraphQLSchema, text: str) -> list[str]:
    """What ``schema`` refuses in the document ``text`` (graphql-core's messages, with its did-you-mean).

    A multi-line document's problems say where inside it they are (``line 2, column 70 of the document``).
    """
    try:
        document = parse(text)
    except GraphQLError as exc:
        return [f"not a valid GraphQL document: {exc.message}"]
    lines = "\n" in text.strip()
    return [_located(error) if lines else error.message for error in validate(schema, document)]


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
