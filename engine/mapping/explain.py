"""The slow path: run a mapping's steps one at a time and say exactly why a field failed.

Generated code only notes *which* field raised; it then calls :func:`explain`,
which runs that field's steps (:mod:`engine.mapping.steps`) one by one on
the same record, so the message names the step that failed, the value it
was given, the source path and the resolver:
``qty: 'ten' is not an integer (resolver int, source quantity)``.

:func:`interpret` runs a whole mapping this way. It is the reference the
generated code is tested against, step for step: same values, same rejects,
same messages.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from engine.mapping.paths import LOOKUP_KEY, STEPS_KEY, Scope, unwrap_text
from engine.mapping.steps import (
    Check,
    Default,
    Each,
    Field,
    Nest,
    Nested,
    Read,
    ReadExpr,
    ReadNothing,
    ReadSource,
    ReadValue,
    Require,
    Resolve,
    Step,
    When,
    as_items,
    check_value,
    is_missing,
    read,
    truthy,
)


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
        out: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.source:
            out["source"] = self.source
        if self.resolver:
            out["resolver"] = self.resolver
        if self.value is not None:
            out["value"] = self.value
        return out


class _Rejected(Exception):
    """A step rejected the record; ``issues`` say why."""

    def __init__(self, issues: list[MappingIssue]) -> None:
        super().__init__("rejected")
        self.issues = issues


def _message(exc: BaseException) -> str:
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__


def _copied(value: Any) -> Any:
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


def _expression_data(record: Any, scope: Scope) -> dict[str, Any]:
    """What ``expr`` and ``when`` see."""
    return {
        "record": record,
        "root": scope.root,
        "parent": scope.parents[-1] if scope.parents else None,
        "context": scope.context,
        "file": scope.file,
        "row": scope.row,
        "lookup": scope.root.get(LOOKUP_KEY) if type(scope.root) is dict else None,
        "steps": scope.root.get(STEPS_KEY) if type(scope.root) is dict else None,
    }


def call_resolver(step: Resolve, value: Any, record: Any, scope: Scope) -> Any:
    """``step``'s function applied to ``value`` the way its declaration says (a missing value is the caller's)."""
    if step.reads is not None:
        return step.fn(value, *(read(p, record, scope) for p in step.reads))
    if step.needs_record:
        return step.fn(value, record, scope.context)
    return step.fn(value)


def run_field(f: Field, record: Any, scope: Scope) -> Any:
    """The field's value for this record (None when it is left out).

    Raises:
        _Rejected: a step rejected the record; the issues name the field (nested ones with their item).
    """
    value: Any = None
    for step in f.steps:
        if isinstance(step, When):
            if not _passes(f, step, record, scope):
                return None
        else:
            value = _apply(f, step, value, record, scope)
    return value


def _passes(f: Field, step: When, record: Any, scope: Scope) -> bool:
    try:
        return truthy(step.expr.search(_expression_data(record, scope)))
    except Exception as exc:
        raise _Rejected(
            [MappingIssue(f.label, f"cannot evaluate 'when': {_message(exc)}", f.source)]
        ) from None


def _apply(f: Field, step: Step, value: Any, record: Any, scope: Scope) -> Any:
    """One step after ``when``: the value it gives, or :class:`_Rejected`."""
    if isinstance(step, Nest | Each):
        return _run_block_step(f, step, record, scope)
    if isinstance(step, ReadSource | ReadValue | ReadExpr | ReadNothing):
        try:
            return _read(step, record, scope)
        except Exception as exc:
            raise _Rejected(
                [MappingIssue(f.label, f"cannot read the value: {_message(exc)}", f.source)]
            ) from None
    if isinstance(step, Default):
        return _copied(step.value) if is_missing(value) else value
    if isinstance(step, Resolve):
        if value is None and not step.accepts_missing:
            return None
        try:
            return call_resolver(step, value, record, scope)
        except Exception as exc:
            raise _Rejected([MappingIssue(f.label, _message(exc), f.source, value, step.name)]) from None
    if isinstance(step, Require):
        if value is None or value == ([] if step.block else ""):
            raise _Rejected([MappingIssue(f.label, "required value is missing", f.source)])
    elif isinstance(step, Check) and value is not None:
        problem = check_value(step.checks, value)
        if problem:
            raise _Rejected([MappingIssue(f.label, problem, f.source, value)])
    return value


def _read(step: Read, record: Any, scope: Scope) -> Any:
    if isinstance(step, ReadValue):
        return _copied(step.value)
    if isinstance(step, ReadExpr):
        return step.expr.search(_expression_data(record, scope))
    if isinstance(step, ReadSource):
        return unwrap_text(read(step.path, record, scope))
    return None


def _run_block_step(f: Field, step: Nest | Each, record: Any, scope: Scope) -> Any:
    """An object (``fields``) or a list of them (``each``); the first bad item rejects the record."""
    try:
        found = read(step.path, record, scope) if step.path is not None else record
    except Exception as exc:
        raise _Rejected(
            [MappingIssue(f.label, f"cannot read the value: {_message(exc)}", f.source)]
        ) from None
    for decode in step.decode:
        found = _apply(f, decode, found, record, scope)
    inner = dataclasses.replace(scope, parents=(*scope.parents, record)) if step.path is not None else scope
    if isinstance(step, Nest):
        if found is None:
            return None
        obj, issues = run_block(step.fields, found if isinstance(found, dict) else {}, inner)
        if issues:
            raise _Rejected(_within(f.label + ".", issues))
        return obj or None
    try:
        items = as_items(found)
    except TypeError as exc:
        raise _Rejected([MappingIssue(f.label, _message(exc), f.source, found)]) from None
    if items is None:
        return None
    out = []
    for j, item in enumerate(items):
        obj, issues = run_block(step.fields, item, inner)
        if issues:
            raise _Rejected(_within(f"{f.label}[{j}].", issues))
        out.append(obj)
    return out


def _within(prefix: str, issues: list[MappingIssue]) -> list[MappingIssue]:
    return [dataclasses.replace(issue, field=prefix + issue.field) for issue in issues]


def run_block(
    fields: Sequence[Field], record: Any, scope: Scope
) -> tuple[dict[str, Any] | None, list[MappingIssue]]:
    """One ``fields`` block over one record: the object, or None and every field's issues."""
    values: list[Any] = []
    issues: list[MappingIssue] = []
    for f in fields:
        try:
            values.append(run_field(f, record, scope))
        except _Rejected as rejected:
            issues.extend(rejected.issues)
            values.append(None)
    if issues:
        return None, issues
    return assemble(fields, values), []


def assemble(fields: Sequence[Field], values: Sequence[Any]) -> dict[str, Any]:
    """The output object: dotted targets nest, missing values are left out, and so are objects left empty."""
    out: dict[str, Any] = {}
    made: list[tuple[dict[str, Any], str, dict[str, Any]]] = []
    for f, value in zip(fields, values, strict=True):
        node = out
        for part in f.target[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
                made.append((node, part, child))
            node = child
        node[f.target[-1]] = value
    for f in fields:
        holder = out
        for part in f.target[:-1]:
            holder = holder[part]
        if holder.get(f.target[-1], 0) is None:
            del holder[f.target[-1]]
    for holder, part, child in reversed(made):
        if not child:
            del holder[part]
    return out


def interpret(
    fields: Sequence[Field],
    record: Any,
    *,
    row: int = 1,
    context: Mapping[str, Any] | None = None,
    file: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any] | None, list[MappingIssue]]:
    """Map one record by running every step in turn: the reference the generated code must match."""
    scope = Scope(root=record, parents=(), context=dict(context or {}), file=dict(file or {}), row=row)
    return run_block(fields, record, scope)


def explain(
    fields: Sequence[Field],
    errors: list[tuple[int, BaseException]],
    record: Any,
    row: int,
    root: Any,
    parents: tuple[Any, ...],
    context: Any,
    file: Any,
) -> list[MappingIssue]:
    """The generated code's slow path: issues for the ``(field index, exception)`` pairs it noted.

    A nested block's issues arrive explained already (:class:`Nested`). Any
    other field is run step by step; were that to find nothing wrong, the
    issue carries the generated code's own exception rather than nothing.
    """
    scope = Scope(root=root, parents=parents, context=context, file=file, row=row)
    out: list[MappingIssue] = []
    for n, exc in errors:
        f = fields[n]
        if isinstance(exc, Nested):
            for j, issues in exc.issues:
                out.extend(_within(f"{f.label}[{j}]." if j is not None else f"{f.label}.", issues))
            continue
        try:
            run_field(f, record, scope)
        except _Rejected as rejected:
            out.extend(rejected.issues)
        else:
            out.append(MappingIssue(f.label, _message(exc), f.source))
    return out
