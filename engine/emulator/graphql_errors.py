"""Fluent-style coded GraphQL errors.

Fluent prefixes error messages with a code (``C0121E: Order with ref 'X' already exists``) and
clients classify errors by it (``C0011E`` throttling is retryable, ``C0121E`` is not). Resolvers
raise ``FluentError``; graphql-core attaches ``path`` and copies ``extensions`` onto the error.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError


class FluentError(Exception):
    """A resolver's failure with a Fluent code; its message and ``extensions`` carry the code."""

    def __init__(self, code: str, message: str, classification: str = "DataFetchingException") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.extensions = {"code": code, "classification": classification}


def format_error(
    error: GraphQLError,
    classification: bool,
    default_code: str | None = None,
    default_class: str = "DataFetchingException",
) -> dict[str, Any]:
    """One error in the response envelope: message (code-prefixed), locations, path, extensions.

    Resolver errors keep their Fluent code; an unexpected exception in a resolver becomes
    ``S0002E``; errors from validation or variable coercion get ``default_class`` and, when
    given, ``default_code`` (``C0140E`` for missing variables).
    """
    original = error.original_error
    message = error.message
    if isinstance(original, FluentError):
        extensions = dict(original.extensions)
    elif original is not None and not isinstance(original, GraphQLError):
        extensions = {"code": "S0002E", "classification": "DataFetchingException"}
        message = f"S0002E: {message}"
    else:
        extensions = {"classification": default_class}
        if default_code:
            extensions["code"] = default_code
            message = f"{default_code}: {message}"
    out: dict[str, Any] = {"message": message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        out["path"] = list(error.path)
    if not classification:
        extensions.pop("classification", None)
    if extensions:
        out["extensions"] = extensions
    return out


def coded(
    code: str,
    message: str,
    path: list[Any] | None = None,
    classification: bool = True,
    kind: str = "DataFetchingException",
) -> dict[str, Any]:
    """A coded error built outside execution (faults, throttling)."""
    out: dict[str, Any] = {"message": f"{code}: {message}"}
    if path:
        out["path"] = list(path)
    out["extensions"] = {"code": code, **({"classification": kind} if classification else {})}
    return out
