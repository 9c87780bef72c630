"""Build resolvers the way the mapping compiler does, and check table rows.

Table rows give the expected result, or an exception instance whose message
must appear in the error: ``("ten", DataError("'ten' is not an integer"))``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from engine.contracts import Resolver, ResolverOptions
from engine.mapping.explain import call_resolver
from engine.mapping.model import shorthand_args
from engine.mapping.paths import Scope
from engine.mapping.steps import Resolve

MODULES = ["sdk", "strings", "numbers", "dates", "booleans", "structured", "identifiers"]
CONTEXT = {"run_id": "run-1", "run_started": "2025-01-05T10:00:00.123456Z"}


def all_resolvers() -> list[tuple[str, Resolver]]:
    found = []
    for module in MODULES:
        mod = importlib.import_module(f"engine.mapping.resolvers.{module}")
        found.extend((module, r) for r in mod.RESOLVERS)
    return found


@functools.cache
def resolvers_by_name() -> dict[str, Resolver]:
    return {r.name: r for _, r in all_resolvers()}


def make_resolver(resolver: Resolver, args: Any = None, options: ResolverOptions | None = None):
    """What the compiler does: shorthand, defaults, validation, ``options``.

    Returns ``apply(value, record=None, context=None)``, which like the
    compiler skips the resolver for a missing value unless it accepts one.
    """
    if args is not None and resolver.args is not None:
        args = shorthand_args(resolver, args)
    args = dict(args or {})
    if resolver.args is None:
        assert not args, f"{resolver.name} takes no arguments"
    else:
        for key, prop in resolver.args.get("properties", {}).items():
            if "default" in prop and key not in args:
                args[key] = prop["default"]
        Draft202012Validator(resolver.args).validate(args)
    if "options" in inspect.signature(resolver.make).parameters:
        args["options"] = options or ResolverOptions()
    step = Resolve.of(resolver, resolver.make(**args))

    def apply(value: Any, record: dict | None = None, context: dict | None = None) -> Any:
        if value is None and not step.accepts_missing:
            return None
        rec = record if record is not None else {}
        return call_resolver(step, value, rec, Scope(root=rec, context=context or CONTEXT))

    return apply


def check(apply, value: Any, expected: Any, **kw: Any) -> None:
    if isinstance(expected, Exception):
        with pytest.raises(type(expected), match=re.escape(str(expected))):
            apply(value, **kw)
        return
    got = apply(value, **kw)
    assert got == expected, f"{value!r} gave {got!r}, expected {expected!r}"
    assert type(got) is type(expected), f"{value!r} gave {type(got).__name__} {got!r}"


@pytest.fixture
def resolve():
    """``resolve(name, args, options)`` -> apply function."""

    def build(name: str, args: Any = None, options: ResolverOptions | None = None):
        return make_resolver(resolvers_by_name()[name], args, options)

    return build


@pytest.fixture
def run(resolve):
    """``run(name, args, value, expected, options=..., record=...)`` for one table row."""

    def go(
        name: str, args: Any, value: Any, expected: Any, *, options: ResolverOptions | None = None, **kw: Any
    ) -> None:
        check(resolve(name, args, options), value, expected, **kw)

    return go
