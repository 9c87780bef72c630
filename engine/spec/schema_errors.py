"""Turn JSON Schema validation errors into diagnostics people can act on.

jsonschema reports *what rule failed*; users need *what to change*. Unknown
keys become one diagnostic each, at the key, with a suggestion; a failed
``oneOf`` reports the branch the user most likely meant instead of "is not
valid under any of the given schemas".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from engine.spec.diagnostics import Diagnostic, SpecPath
from engine.spec.loader import SpecDocument
from engine.suggest import did_you_mean

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def describe(value: Any) -> str:
    """A value as messages show it: its JSON type and a short rendering (``string "abc"``)."""
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if value is None:
        return "null"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"string {json.dumps(shown)}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _expected_types(t: Any) -> str:
    types = t if isinstance(t, list) else [t]
    return " or ".join(_TYPE_NAMES.get(str(x), str(x)) for x in types)


#: validators by schema: a mapping checks the same resolver's arguments once per field
_validators: dict[int, tuple[dict[str, Any], Draft202012Validator]] = {}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    hit = _validators.get(id(schema))
    if hit is None or hit[0] is not schema:
        if len(_validators) > 1000:
            _validators.clear()
        hit = _validators[id(schema)] = (schema, Draft202012Validator(schema))
    return hit[1]


def check(
    doc: SpecDocument, base: SpecPath, schema: dict[str, Any], value: Any, *, what: str = "option"
) -> list[Diagnostic]:
    """All problems of ``value`` against ``schema``, positioned in ``doc``."""
    out: list[Diagnostic] = []
    for error in _validator(schema).iter_errors(value):
        out.extend(_diagnostics(doc, base, error, what))
    return out


def _diagnostics(
    doc: SpecDocument, base: SpecPath, error: ValidationError, what: str
) -> Iterator[Diagnostic]:
    path: SpecPath = (*base, *error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.absolute_path:
        what = "option"  # the caller's word ("section", "mapping option") names the top level only
    v = error.validator
    if v == "additionalProperties" and isinstance(error.instance, dict):
        yield from _unknown_keys(doc, path, schema, error.instance, what)
    elif v == "required":
        yield from _missing_keys(doc, path, error, what)
    elif v in ("oneOf", "anyOf") and error.context and not schema.get("x-error"):
        yield from _best_branch(doc, base, error, what)
    else:
        message, code = _message(error, schema)
        yield doc.diagnostic(path, message, code=code)


def _unknown_keys(
    doc: SpecDocument, path: SpecPath, schema: dict[str, Any], inst: dict[str, Any], what: str
) -> Iterator[Diagnostic]:
    known = list(schema.get("properties", {}))
    patterns = schema.get("patternProperties", {})
    for key in inst:
        if key in known or any(re.search(p, key) for p in patterns):
            continue
        yield doc.diagnostic(
            (*path, key), f"unknown {what} '{key}'{did_you_mean(key, known)}", key=True, code="unknown-key"
        )


def _missing_keys(
    doc: SpecDocument, path: SpecPath, error: ValidationError, what: str
) -> Iterator[Diagnostic]:
    inst = error.instance
    for key in error.validator_value:
        if not isinstance(inst, dict) or key in inst:
            continue
        if key == "type":
            yield doc.diagnostic(path, "missing 'type' (which plugin to use)", code="missing")
        else:
            yield doc.diagnostic(path, f"missing required {what} '{key}'", code="missing")


_BOUNDS = {
    "minimum": ("too small", "at least"),
    "exclusiveMinimum": ("too small", "greater than"),
    "maximum": ("too large", "at most"),
    "exclusiveMaximum": ("too large", "less than"),
}


def _message(error: ValidationError, schema: dict[str, Any]) -> tuple[str, str]:
    """``(message, code)`` for a failed keyword that concerns the value itself."""
    v, inst, expected = str(error.validator), error.instance, error.validator_value
    custom = schema.get("x-error")
    if custom and v != "type":
        return str(custom).format(value=inst), v
    if v == "type":
        return f"expected {_expected_types(expected)}, got {describe(inst)}", "type"
    if v == "enum":
        options = [str(o) for o in expected]
        hint = did_you_mean(str(inst), options) if isinstance(inst, str) else ""
        return f"{describe(inst)} is not one of: {', '.join(options)}{hint}", "enum"
    if v == "const":
        return f"must be {json.dumps(expected)}, got {describe(inst)}", "const"
    if v in _BOUNDS:
        size, word = _BOUNDS[v]
        return f"{inst} is {size} (must be {word} {expected})", "range"
    if v == "pattern":
        return f"{describe(inst)} does not match the pattern {expected}", "pattern"
    if v == "minItems":
        return f"needs at least {expected} item(s)", "size"
    if v == "minLength" and expected == 1:
        return "must not be empty", "size"
    if v == "not":
        return f"{describe(inst)} is not allowed here", "not"
    return error.message, v


def _best_branch(
    doc: SpecDocument, base: SpecPath, error: ValidationError, what: str
) -> Iterator[Diagnostic]:
    """Report the alternative the user most likely meant.

    A branch whose type matches the value (e.g. the object form when the user
    wrote a mapping) is preferred; its own errors are then shown in full.
    """
    inst = error.instance
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in error.context or []:
        idx = sub.schema_path[0] if sub.schema_path else 0
        by_branch.setdefault(int(idx), []).append(sub)
    matching = [
        errs for errs in by_branch.values() if not any(e.validator == "type" and not e.path for e in errs)
    ]
    if len(matching) == 1:
        for sub in matching[0]:
            yield from _diagnostics(doc, base, sub, what)
        return
    branches = error.validator_value or []
    kinds = []
    for b in branches:
        if isinstance(b, dict):
            kinds.append(b.get("description") or _expected_types(b.get("type", "value")))
    if kinds and not matching:
        path = (*base, *error.absolute_path)
        yield doc.diagnostic(
            path, f"expected {' or '.join(dict.fromkeys(kinds))}, got {describe(inst)}", code="type"
        )
        return
    best = best_match(error.context or [])
    if best is not None:
        yield from _diagnostics(doc, base, best, what)
