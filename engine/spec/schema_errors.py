"""Turn JSON Schema validation errors into diagnostics people can act on.

jsonschema reports *what rule failed*; users need *what to change*. Unknown
keys become one diagnostic each, at the key, with a suggestion; a failed
``oneOf`` reports the branch the user most likely meant instead of "is not
valid under any of the given schemas".
"""

from __future__ import annotations

import json
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


def _validator(schema: dict) -> Draft202012Validator:
    return Draft202012Validator(schema)


def check(
    doc: SpecDocument, base: SpecPath, schema: dict, value: Any, *, what: str = "option"
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
    custom = schema.get("x-error")
    v = error.validator
    inst = error.instance

    if v == "additionalProperties" and isinstance(inst, dict):
        known = list(schema.get("properties", {}))
        patterns = schema.get("patternProperties", {})
        import re

        for key in inst:
            if key in schema.get("properties", {}) or any(re.search(p, key) for p in patterns):
                continue
            yield doc.diagnostic(
                (*path, key),
                f"unknown {what} '{key}'{did_you_mean(key, known)}",
                key=True,
                code="unknown-key",
            )
        return
    if v == "required":
        missing = [k for k in error.validator_value if isinstance(inst, dict) and k not in inst]
        for key in missing:
            if key == "type":
                yield doc.diagnostic(path, "missing 'type' (which plugin to use)", code="missing")
            else:
                yield doc.diagnostic(path, f"missing required {what} '{key}'", code="missing")
        return
    if custom and v != "type":
        yield doc.diagnostic(path, str(custom).format(value=inst), code=str(v))
        return
    if v == "type":
        yield doc.diagnostic(
            path, f"expected {_expected_types(error.validator_value)}, got {describe(inst)}", code="type"
        )
        return
    if v == "enum":
        options = ", ".join(str(o) for o in error.validator_value)
        hint = (
            did_you_mean(str(inst), [str(o) for o in error.validator_value]) if isinstance(inst, str) else ""
        )
        yield doc.diagnostic(path, f"{describe(inst)} is not one of: {options}{hint}", code="enum")
        return
    if v == "const":
        yield doc.diagnostic(
            path, f"must be {json.dumps(error.validator_value)}, got {describe(inst)}", code="const"
        )
        return
    if v in ("minimum", "exclusiveMinimum"):
        word = "at least" if v == "minimum" else "greater than"
        yield doc.diagnostic(
            path, f"{inst} is too small (must be {word} {error.validator_value})", code="range"
        )
        return
    if v in ("maximum", "exclusiveMaximum"):
        word = "at most" if v == "maximum" else "less than"
        yield doc.diagnostic(
            path, f"{inst} is too large (must be {word} {error.validator_value})", code="range"
        )
        return
    if v == "pattern":
        yield doc.diagnostic(
            path, f"{describe(inst)} does not match the pattern {error.validator_value}", code="pattern"
        )
        return
    if v == "minItems":
        yield doc.diagnostic(path, f"needs at least {error.validator_value} item(s)", code="size")
        return
    if v == "minLength" and error.validator_value == 1:
        yield doc.diagnostic(path, "must not be empty", code="size")
        return
    if v in ("oneOf", "anyOf") and error.context:
        yield from _best_branch(doc, base, error, what)
        return
    if v == "not":
        yield doc.diagnostic(path, schema.get("x-error", f"{describe(inst)} is not allowed here"), code="not")
        return
    yield doc.diagnostic(path, error.message, code=str(v))


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
