"""Builds the executable GraphQL schema from the shipped SDL (``engine/fluent/schema.graphql``) and the resolvers.

Settings that change the schema's shape (``pageinfo_end_cursor``, ``daterange_after_alias``,
``create_product_alias``) select lines marked ``#switch:NAME`` in the SDL, so an unknown field
stays a validation error unless its switch is on. Schemas are cached per switch combination.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from graphql import GraphQLError, GraphQLObjectType, GraphQLScalarType, GraphQLSchema, build_schema
from graphql.language import ast

from engine.emulator import (
    graphql_extras,
    graphql_flows,
    graphql_mutations,
    graphql_mutations_extra,
    graphql_mutations_flows,
    graphql_resolvers,
)
from engine.emulator.clock import normalise
from engine.fluent.sdl import graphql_sdl

SWITCHES = ("pageinfo_end_cursor", "daterange_after_alias", "create_product_alias")


def schema_for(settings: Any) -> GraphQLSchema:
    """The executable schema for the current settings' switches (built once per combination)."""
    return _build(tuple(bool(getattr(settings, name)) for name in SWITCHES))


def _sdl(flags: tuple[bool, ...]) -> str:
    return graphql_sdl(name for name, on in zip(SWITCHES, flags, strict=True) if on)


def _parse_datetime(value: Any) -> str:
    if not isinstance(value, str):
        raise GraphQLError(f"DateTime must be an ISO-8601 string, got {value!r}")
    try:
        return normalise(value)
    except ValueError:
        raise GraphQLError(f"DateTime must be an ISO-8601 string, got {value!r}") from None


def _parse_datetime_literal(node: Any, _variables: Any = None) -> str:
    if not isinstance(node, ast.StringValueNode):
        raise GraphQLError("DateTime must be an ISO-8601 string")
    return _parse_datetime(node.value)


@lru_cache(maxsize=8)
def _build(flags: tuple[bool, ...]) -> GraphQLSchema:
    schema = build_schema(_sdl(flags))
    datetime = schema.type_map["DateTime"]
    assert isinstance(datetime, GraphQLScalarType)
    # graphql-core 3.3 coerces variables with coerce_input_value (parse_value is its deprecated
    # spelling); both are set so every instant is stored in one sortable form.
    datetime.parse_value = _parse_datetime  # type: ignore[method-assign]
    datetime.coerce_input_value = _parse_datetime
    datetime.parse_literal = _parse_datetime_literal  # type: ignore[method-assign,assignment]
    product = schema.type_map["Product"]
    product.resolve_type = graphql_resolvers.product_type  # type: ignore[attr-defined]
    for resolvers in (
        graphql_resolvers.FIELD_RESOLVERS,
        graphql_extras.FIELD_RESOLVERS,
        {"Query": graphql_extras.QUERY_RESOLVERS},
        graphql_flows.FIELD_RESOLVERS,
        {"Query": graphql_flows.QUERY_RESOLVERS},
    ):
        for type_name, fields in resolvers.items():
            type_ = schema.type_map[type_name]
            assert isinstance(type_, GraphQLObjectType)
            for field_name, resolver in fields.items():
                type_.fields[field_name].resolve = resolver
    mutations = {
        **graphql_mutations.MUTATIONS,
        **graphql_mutations_extra.MUTATIONS,
        **graphql_mutations_flows.MUTATIONS,
    }
    mutation = schema.mutation_type
    assert mutation is not None
    for field_name, field in mutation.fields.items():
        field.resolve = mutations[field_name]
    return schema
