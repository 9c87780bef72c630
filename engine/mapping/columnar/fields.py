"""A field's steps as columnar forms, and the output objects built from their values."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from engine.contracts import ResolverOptions
from engine.mapping.codegen import Generator
from engine.mapping.columnar.conditions import Truth, condition
from engine.mapping.columnar.resolvers import OF_COLUMNS, resolve_form
from engine.mapping.columnar.values import (
    Form,
    NoColumnarForm,
    Uncertain,
    Value,
    matches,
    only_ascii,
    present,
    text_only,
)
from engine.mapping.paths import LOOKUP_KEY, Key
from engine.mapping.steps import Check, Default, Field, ReadSource, ReadValue, Require, Resolve, Step, When


def _default_form(step: Default) -> Form:
    if not isinstance(step.value, str):
        raise NoColumnarForm("a default that is not text")

    def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
        text_only(v)
        missing = pc.or_(pc.is_null(v.data), pc.fill_null(pc.equal(v.data, ""), False))
        return Value(pc.if_else(missing, step.value, v.data), ascii=v.ascii and step.value.isascii())

    return form


def _require_form(v: Value, table: Any, uncertain: Uncertain) -> Value:
    if v.is_constant:
        if v.constant is None or v.constant == "":
            raise NoColumnarForm("a required constant that is missing")
        return v
    missing = pc.invert(present(v))
    if v.text:
        missing = pc.or_(missing, pc.fill_null(pc.equal(v.data, ""), False))
    uncertain.add(missing)
    return v


def _check_form(step: Check) -> Form:
    checks = dict(step.checks)
    if set(checks) - {"enum", "pattern", "min", "max"}:
        raise NoColumnarForm("length checks")
    allowed = checks.get("enum")
    pattern = checks.get("pattern")
    if pattern is not None and ("[:" in pattern.pattern or pattern.flags & ~(re.UNICODE | re.ASCII)):
        raise NoColumnarForm("a pattern RE2 may read otherwise than Python (POSIX classes, flags)")

    def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
        if v.is_constant:
            raise NoColumnarForm("checks of a constant")
        if allowed is not None:
            _enum(v, allowed, uncertain)
        if pattern is not None:
            text_only(v)
            only_ascii(v, uncertain)
            uncertain.add(pc.and_(present(v), pc.invert(matches(v, f"^(?:{pattern.pattern})$"))))
        for name in ("min", "max"):
            limit = checks.get(name)
            if limit is None:
                continue
            if not (pa.types.is_integer(v.data.type) or pa.types.is_floating(v.data.type)):
                raise NoColumnarForm("bounds of values that are not numbers")
            beyond = pc.less(v.data, limit) if name == "min" else pc.greater(v.data, limit)
            uncertain.add(beyond)
        return v

    return form


def _enum(v: Value, allowed: Sequence[Any], uncertain: Uncertain) -> None:
    if v.text and all(isinstance(a, str) for a in allowed):
        members = pa.array(list(allowed), pa.string())
    elif pa.types.is_integer(v.data.type) and all(type(a) is int for a in allowed):
        members = pa.array(list(allowed), pa.int64())
    else:
        raise NoColumnarForm("an enum whose members are not of the value's type")
    uncertain.add(pc.and_(present(v), pc.invert(pc.is_in(v.data, value_set=members))))


def _read_form(step: Step, columns: Mapping[str, int]) -> Form:
    if isinstance(step, ReadValue):
        if isinstance(step.value, dict | list):
            raise NoColumnarForm("a constant object or list")
        constant = step.value
        return lambda v, table, uncertain: Value(None, constant, True)
    if isinstance(step, ReadSource):
        path = step.path
        if LOOKUP_KEY in columns and lookup_steps(path) is not None:
            name = path.text

            def read(v: Value, table: Any, uncertain: Uncertain) -> Value:
                if name not in table.column_names:
                    raise NoColumnarForm("a lookup's answer that is not text")
                return Value(table.column(name))

            return read
        key = path.simple_key
        if path.text in columns and (len(path.steps) > 1 or path.projects):
            key = path.text  # a column named like a dotted path reads as itself
        elif key is None:
            raise NoColumnarForm("a path into a value")
        if key not in columns:
            return lambda v, table, uncertain: Value(pa.nulls(table.num_rows, pa.string()))
        name = key
        return lambda v, table, uncertain: Value(table.column(name))
    raise NoColumnarForm(f"{type(step).__name__} has no columnar form")


def lookup_steps(path: Any) -> tuple[str, ...] | None:
    """``("NAME", "FIELD", ...)`` of a plain ``$lookup.NAME.FIELD`` read, else None."""
    steps = path.steps
    if path.variable != "$root" or len(steps) < 3 or path.projects:
        return None
    if any(type(step) is not Key for step in steps) or steps[0].name != LOOKUP_KEY:
        return None
    return tuple(step.name for step in steps[1:])


def field_forms(f: Field, columns: Mapping[str, int], options: ResolverOptions) -> list[Form]:
    """The columnar forms of a field's steps, in order.

    Raises:
        NoColumnarForm: one of its steps has none.
    """
    if f.is_block:
        raise NoColumnarForm("a nested block")
    steps = list(f.steps)
    if steps and isinstance(steps[0], When):
        return [
            _when_form(
                steps[0], condition(steps[0].expr.parsed.parsed, columns), _forms(steps[1:], columns, options)
            )
        ]
    return _forms(steps, columns, options)


def _forms(steps: Sequence[Step], columns: Mapping[str, int], options: ResolverOptions) -> list[Form]:
    forms: list[Form] = []
    for step in steps:
        if isinstance(step, ReadSource | ReadValue):
            forms.append(_read_form(step, columns))
        elif isinstance(step, Default):
            forms.append(_default_form(step))
        elif isinstance(step, Resolve):
            if step.needs_record or (step.accepts_missing and step.name not in OF_COLUMNS):
                raise NoColumnarForm(f"resolver {step.name} reads the record or missing values")
            forms.append(_skip_constant(resolve_form(step, columns, options)))
        elif isinstance(step, Require):
            if step.block:
                raise NoColumnarForm("a required block")
            forms.append(_require_form)
        elif isinstance(step, Check):
            forms.append(_check_form(step))
        else:
            raise NoColumnarForm(f"{type(step).__name__} has no columnar form")
    return forms


def _when_form(step: When, truth: Truth, forms: list[Form]) -> Form:
    """The field's forms where ``when`` holds, null elsewhere; the rest's doubts only where it holds."""

    def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
        holds = truth(table)
        inner = Uncertain(table.num_rows)
        value = run_forms(forms, table, inner)
        if inner.mask is not None:
            uncertain.add(pc.and_(inner.mask, holds))
        if value.is_constant:
            if isinstance(value.constant, dict | list):
                raise NoColumnarForm("a constant object or list")
            data = pa.array([value.constant] * table.num_rows)
        else:
            data = value.data
        return Value(pc.if_else(holds, data, pa.scalar(None, data.type)), ascii=value.ascii)

    return form


class _AnyColumns(dict[str, int]):
    """Every column name is there: whether a field has a columnar form before the header is known."""

    def __contains__(self, key: object) -> bool:
        return True


def any_columnar(fields: Sequence[Field], options: ResolverOptions) -> bool:
    """Whether some field reading the record has a columnar form (constants alone are not worth columns)."""
    for f in fields:
        if isinstance(f.read, ReadValue):
            continue
        try:
            field_forms(f, _AnyColumns(), options)
        except NoColumnarForm:
            continue
        return True
    return False


def _skip_constant(form: Form) -> Form:
    def guarded(v: Value, table: Any, uncertain: Uncertain) -> Value:
        if v.is_constant:
            raise NoColumnarForm("a resolver applied to a constant")
        return form(v, table, uncertain)

    return guarded


def run_forms(forms: list[Form], table: Any, uncertain: Uncertain) -> Value:
    """A field's value for every row of ``table``, noting the rows its forms were not sure of."""
    v = Value(None, None, True)
    for form in forms:
        v = form(v, table, uncertain)
    return v


def builder(fields: Sequence[Field]) -> Callable[[list[list[Any]], list[dict[str, Any]]], None]:
    """``build(columns, out)``: output objects from per-field value lists, assembled as the row path does."""
    gen = Generator(None)
    names = [f"v_{n}" for n in range(len(fields))]
    lines = ["def _build(cols, out):", f"    for {', '.join(names)}, in zip(*cols):"]
    lines += gen._assemble(fields, names, "        ")
    lines.append("        out.append(o)")
    ns = dict(gen.ns)
    exec(compile("\n".join(lines) + "\n", f"<columnar build {len(fields)} fields>", "exec"), ns)
    built: Callable[[list[list[Any]], list[dict[str, Any]]], None] = ns["_build"]
    return built
