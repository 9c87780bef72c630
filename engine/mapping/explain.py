"""The slow path: say exactly why a field failed for one record.

Generated code only notes *which* field raised. Here the field is replayed
step by step (read, default, each resolver, required, checks) so the message
names the source path, the value at the failing step and the resolver:
``qty: 'ten' is not an integer (resolver int, source quantity)``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from engine.mapping.codegen import Nested, Required
from engine.mapping.model import FieldSpec
from engine.mapping.paths import LOOKUP_KEY, Scope, compile_getter, parse_path, unwrap_text

EXPLAIN_NAME = "_explain"


@dataclasses.dataclass
class MappingIssue:
    """One reason a record was rejected by the mapping."""

    field: str
    message: str
    source: str | None = None
    value: Any = None
    resolver: str | None = None

    def render(self) -> str:
        """The issue for people: ``qty: 'ten' is not an integer (resolver int, source quantity)``."""
        extras = []
        if self.resolver:
            extras.append(f"resolver {self.resolver}")
        if self.source:
            extras.append(f"source {self.source}")
        suffix = f" ({', '.join(extras)})" if extras else ""
        return f"{self.field}: {self.message}{suffix}"

    def as_dict(self) -> dict[str, Any]:
        """The issue as JSON-ready data for reject reports; parts that are unknown are left out."""
        out = {"field": self.field, "message": self.message}
        if self.source:
            out["source"] = self.source
        if self.resolver:
            out["resolver"] = self.resolver
        if self.value is not None:
            out["value"] = self.value
        return out


def show(value: Any) -> str:
    """A value as issue messages quote it: text cut to 80 characters, objects and lists by their kind."""
    if isinstance(value, str):
        return repr(value) if len(value) <= 80 else repr(value[:77] + "...")
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return repr(value)


def check_value(checks: dict[str, Any], value: Any) -> str | None:
    """A problem with ``value`` under the field's validation checks, or None."""
    pattern = checks.get("pattern")
    if pattern is not None and (not isinstance(value, str) or pattern.fullmatch(value) is None):
        return f"{show(value)} does not match the pattern {pattern.pattern}"
    allowed = checks.get("enum")
    if allowed is not None and value not in allowed:
        return f"{show(value)} is not one of: {', '.join(str(a) for a in allowed)}"
    for name, word in (("min", "below the minimum"), ("max", "above the maximum")):
        limit = checks.get(name)
        if limit is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                number = float(value)
            except (TypeError, ValueError):
                return f"{show(value)} is not a number (checked against {name} {limit})"
        else:
            number = value
        if (name == "min" and number < limit) or (name == "max" and number > limit):
            return f"{show(value)} is {word} {limit}"
    for name, word in (("min_length", "shorter"), ("max_length", "longer")):
        limit = checks.get(name)
        if limit is None:
            continue
        size = len(value) if isinstance(value, str | list | dict) else len(str(value))
        if (name == "min_length" and size < limit) or (name == "max_length" and size > limit):
            return f"{show(value)} is {word} than {limit} characters"
    return None


def _message(exc: BaseException) -> str:
    msg = getattr(exc, "message", None) or str(exc)
    if isinstance(exc, AttributeError) and "'get'" in msg:
        return "the record is not an object"
    return msg or type(exc).__name__


def _read(f: FieldSpec, rec: Any, row: int, root: Any, parents: tuple, ctx: Any, file: Any) -> Any:
    if f.kind == "value":
        return f.value
    if f.kind == "expr":
        data = {
            "record": rec,
            "root": root,
            "parent": parents[-1] if parents else None,
            "context": ctx,
            "file": file,
            "row": row,
            "lookup": root.get(LOOKUP_KEY) if type(root) is dict else None,
        }
        return f.expr.search(data)
    if f.source is None:
        return None
    if f.source.variable is None and not isinstance(rec, dict):
        raise TypeError(f"the record is {show(rec)}, not an object")
    value = compile_getter(f.source)(rec, Scope(root=root, parents=parents, context=ctx, file=file, row=row))
    return unwrap_text(value) if f.kind == "source" else value


def explain_field(
    f: FieldSpec,
    exc: BaseException,
    rec: Any,
    row: int,
    root: Any,
    parents: tuple,
    ctx: Any,
    file: Any,
    prefix: str = "",
) -> list[MappingIssue]:
    """Why field ``f`` raised ``exc`` for this record, found by replaying the field step by step.

    Issues of a nested block come back with this field's path in front. The
    replay names the first step that fails (read, resolver, required, checks);
    when it finds none, the issue carries ``exc``'s own message.
    """
    field = prefix + f.label
    source = f.source.text if f.source is not None else None
    if isinstance(exc, Nested):
        out = []
        for j, issues in exc.issues:
            sub = f"{field}[{j}]." if j is not None else f"{field}."
            for issue in issues:
                out.append(dataclasses.replace(issue, field=sub + issue.field))
        return out
    try:
        value = _read(f, rec, row, root, parents, ctx, file)
    except Exception as read_exc:
        return [MappingIssue(field, f"cannot read the value: {_message(read_exc)}", source)]
    if f.has_default and (value is None or value == ""):
        value = f.default
    if isinstance(exc, Required) and f.kind in ("fields", "each"):
        return [MappingIssue(field, "required value is missing", source)]
    for step in f.resolvers:
        if value is None and not step.accepts_missing:
            continue
        try:
            reads = getattr(step.fn, "reads", None)
            if reads is not None:
                scope = Scope(root=root, parents=parents, context=ctx, file=file, row=row)
                args = [compile_getter(parse_path(p))(rec, scope) for p in reads]
                value = step.fn(value, *args)
            elif step.needs_record:
                value = step.fn(value, rec, ctx)
            else:
                value = step.fn(value)
        except Exception as step_exc:
            return [MappingIssue(field, _message(step_exc), source, value, step.name)]
    if f.required and (value is None or value == ""):
        return [MappingIssue(field, "required value is missing", source)]
    if f.checks and value is not None:
        problem = check_value(f.checks, value)
        if problem:
            return [MappingIssue(field, problem, source, value)]
    return [MappingIssue(field, _message(exc), source, value)]


def explain(
    fields: list[FieldSpec],
    errors: list[tuple[int, BaseException]],
    rec: Any,
    row: int,
    root: Any,
    parents: tuple,
    ctx: Any,
    file: Any,
) -> list[MappingIssue]:
    """The generated code's slow path (``_explain``): issues for the ``(field index, exception)`` pairs it noted."""
    out: list[MappingIssue] = []
    for n, exc in errors:
        out.extend(explain_field(fields[n], exc, rec, row, root, parents, ctx, file))
    return out
