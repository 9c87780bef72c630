"""A mapping's fields, normalised and checked before any code is generated.

Everything a user can get wrong in a mapping is found here, positioned in the
spec: malformed paths, unknown resolvers and their arguments, JMESPath syntax,
contradictory field kinds. The code generator then works from clean data.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
from collections.abc import Callable
from typing import Any

from jmespath.exceptions import JMESPathError

from engine.contracts import Resolver, ResolverOptions
from engine.errors import PluginError
from engine.mapping.functions import compile_expression
from engine.mapping.paths import Path, PathSyntaxError, parse_path
from engine.mapping.steps import (
    Check,
    Default,
    Each,
    Field,
    Nest,
    Read,
    ReadExpr,
    ReadNothing,
    ReadSource,
    ReadValue,
    Require,
    Resolve,
    Step,
    When,
)
from engine.spec.diagnostics import Diagnostic, SpecPath
from engine.spec.loader import SpecDocument
from engine.spec.options import fill_defaults
from engine.spec.schema_errors import check
from engine.suggest import did_you_mean

KINDS = ("source", "value", "expr", "fields", "each")
CHECKS = ("pattern", "enum", "min", "max", "min_length", "max_length")
MODIFIERS = ("default", "required", "resolver", "when", "description", *CHECKS)
FIELD_KEYS = (*KINDS, *MODIFIERS)


@dataclasses.dataclass
class ModelContext:
    """What parsing a mapping needs: the document (for positions), the resolvers, and where problems go."""

    doc: SpecDocument
    resolvers: Any  # Registry of resolvers
    options: ResolverOptions
    diagnostics: list[Diagnostic]

    def error(self, path: SpecPath, message: str, *, key: bool = False, code: str = "mapping") -> None:
        """Record an error at ``path`` (at its key rather than its value when ``key``); parsing goes on."""
        self.diagnostics.append(self.doc.diagnostic(path, message, key=key, code=code))

    def warn(self, path: SpecPath, message: str, *, key: bool = False) -> None:
        """Record a warning at ``path``; it does not stop the mapping from compiling."""
        self.diagnostics.append(
            self.doc.diagnostic(path, message, key=key, severity="warning", code="mapping")
        )


def split_target(key: str) -> tuple[str, ...]:
    """``attributes.batchNumber`` -> ("attributes", "batchNumber"); quotes keep dots."""
    if '"' not in key:
        return tuple(part for part in key.split("."))
    parts: list[str] = []
    buf: list[str] = []
    quoted = False
    for ch in key:
        if ch == '"':
            quoted = not quoted
        elif ch == "." and not quoted:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return tuple(parts)


def parse_fields(ctx: ModelContext, fields: Any, path: SpecPath, depth: int = 0) -> list[Field]:
    """The fields of a ``fields`` block, in spec order; problems go to ``ctx`` and bad fields are left out.

    ``depth`` is how many enclosing records the block's fields can reach
    with ``$parent`` (one more inside each ``each`` and each ``fields`` block
    with its own source).
    """
    if not isinstance(fields, dict):
        ctx.error(path, "expected a mapping of target field names to field definitions")
        return []
    out: list[tuple[Field, SpecPath]] = []
    for key, raw in fields.items():
        target = split_target(str(key))
        if any(not part for part in target):
            ctx.error((*path, key), f"malformed target field name {key!r}", key=True)
            continue
        spec = parse_field(ctx, raw, (*path, key), target, depth)
        if spec is not None:
            out.append((spec, (*path, key)))
    _check_target_clashes(ctx, out)
    return [f for f, _ in out]


def _check_target_clashes(ctx: ModelContext, fields: list[tuple[Field, SpecPath]]) -> None:
    """Two fields writing the same target, or one inside the other's value.

    Only targets on the same branch can clash, so each field looks up its own
    target, its prefixes and the targets below it (indexed by prefix) instead
    of every earlier field: linear in the fields (20,000 fields took minutes).
    A target inside a ``fields`` block's target clashes too: the block builds
    that whole object, so the field belongs in its ``fields``.
    """
    seen: dict[tuple[str, ...], Field] = {}
    order: dict[tuple[str, ...], int] = {}
    below: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for f, spec_path in fields:
        target = f.target
        branch = [target[:n] for n in range(1, len(target) + 1) if target[:n] in seen]
        for other_target in sorted([*branch, *below.get(target, ())], key=order.__getitem__):
            other = seen[other_target]
            inner, outer = (f, other) if len(target) > len(other_target) else (other, f)
            if isinstance(outer.read, Nest) and inner.target != outer.target:
                ctx.error(
                    spec_path,
                    f"target '{inner.label}' is inside '{outer.label}', which a 'fields' block builds: "
                    f"move it into that block's fields",
                    key=True,
                )
            else:
                ctx.error(spec_path, f"target '{f.label}' clashes with '{other.label}'", key=True)
        if target not in seen:
            order[target] = len(order)
            for n in range(1, len(target)):
                below.setdefault(target[:n], []).append(target)
        seen[target] = f


@dataclasses.dataclass
class _Parts:
    """What a field definition says, read before it becomes steps."""

    read: Read = dataclasses.field(default_factory=ReadNothing)
    when: When | None = None
    default: Default | None = None
    resolvers: list[Resolve] = dataclasses.field(default_factory=list)
    required: bool = False
    checks: dict[str, Any] = dataclasses.field(default_factory=dict)

    def steps(self) -> tuple[Step, ...]:
        """The steps in the order they apply: the one place that order is written."""
        block = isinstance(self.read, Nest | Each)
        steps: list[Step] = []
        if self.when is not None:
            steps.append(self.when)
        steps.append(self.read)
        if self.default is not None and not block:
            steps.append(self.default)
        steps.extend(self.resolvers)
        if self.required:
            steps.append(Require(block=block))
        if self.checks:
            steps.append(Check(self.checks))
        return tuple(steps)


def parse_field(
    ctx: ModelContext, raw: Any, path: SpecPath, target: tuple[str, ...], depth: int = 0
) -> Field | None:
    """One field definition (or a bare source path string) as a :class:`Field`.

    Returns None only when ``raw`` is not a definition at all; otherwise every
    problem found goes to ``ctx`` and a field is returned, so sibling fields
    are still checked.
    """
    if isinstance(raw, str):
        raw = {"source": raw}
    elif not isinstance(raw, dict):
        ctx.error(
            path,
            "expected a field definition (a mapping with source, value, expr, fields or each), "
            "or a source path string",
        )
        return None
    _check_field_keys(ctx, raw, path)
    parts = _Parts()
    parts.read = _read_kind(ctx, raw, path, depth)
    _read_modifiers(ctx, parts, raw, path, depth)
    block = isinstance(parts.read, Nest | Each)
    if not any(k in raw for k in KINDS) and not parts.resolvers and parts.default is None:
        ctx.error(path, "a field needs source, value, expr, fields (or each + fields), or a resolver")
    for name in CHECKS:
        if name in raw:
            parts.checks[name] = _check_option(ctx, name, raw[name], (*path, name))
    read = parts.read
    if isinstance(read, Nest | Each) and parts.resolvers:
        if read.path is None:
            ctx.error(
                path,
                "a resolver on 'fields' decodes the value read at its source before the fields read "
                "inside it: give the block a source",
            )
        else:
            parts.read = dataclasses.replace(read, decode=tuple(parts.resolvers))
        parts.resolvers = []
    if block and parts.checks:
        ctx.error(path, "checks apply to single values, not to 'fields' or 'each'")
    if block and parts.default is not None:
        ctx.warn(
            (*path, "default"), "'default' applies to single values; on 'fields' or 'each' it is ignored"
        )
    return Field(target, parts.steps())


def _check_field_keys(ctx: ModelContext, raw: dict[str, Any], path: SpecPath) -> None:
    """Report unknown options and contradictory kinds (source and value, each without fields)."""
    for key in raw:
        if key not in FIELD_KEYS:
            ctx.error((*path, key), f"unknown field option '{key}'{did_you_mean(key, FIELD_KEYS)}", key=True)
    kinds = [k for k in ("source", "value", "expr") if k in raw]
    if "each" in raw and "fields" not in raw:
        ctx.error(path, "'each' needs 'fields' describing each item")
    if len(kinds) > 1:
        ctx.error(path, f"a field takes one of source, value or expr, not {' and '.join(kinds)}")


def _read_kind(ctx: ModelContext, raw: dict[str, Any], path: SpecPath, depth: int) -> Read:
    """The field's read step, by precedence: each, fields, source, value, expr.

    A field with none of them reads nothing (its value comes from resolvers or a default).
    """
    if "each" in raw:
        each = _path(ctx, raw["each"], (*path, "each"), depth)
        fields = parse_fields(ctx, raw.get("fields"), (*path, "fields"), depth + 1)
        return Each(each, tuple(fields)) if each is not None else ReadNothing()
    if "fields" in raw:
        source = _path(ctx, raw["source"], (*path, "source"), depth) if "source" in raw else None
        inner = depth + 1 if "source" in raw else depth
        return Nest(source, tuple(parse_fields(ctx, raw["fields"], (*path, "fields"), inner)))
    if "source" in raw:
        source = _path(ctx, raw["source"], (*path, "source"), depth)
        return ReadSource(source) if source is not None else ReadNothing()
    if "value" in raw:
        return ReadValue(raw["value"])
    if "expr" in raw:
        expr = _jmespath(ctx, raw["expr"], (*path, "expr"))
        return ReadExpr(expr, raw["expr"]) if expr is not None else ReadNothing()
    return ReadNothing()


def _read_modifiers(
    ctx: ModelContext, parts: _Parts, raw: dict[str, Any], path: SpecPath, depth: int
) -> None:
    """Read what applies to the value once read: default, required, when and resolvers."""
    if "default" in raw:
        parts.default = Default(raw["default"])
    required = raw.get("required", False)
    if not isinstance(required, bool):
        ctx.error((*path, "required"), "expected true or false")
    parts.required = required is True
    if "when" in raw:
        when = _jmespath(ctx, raw["when"], (*path, "when"))
        if when is not None:
            parts.when = When(when, raw["when"])
    if "resolver" in raw:
        parts.resolvers = parse_resolvers(ctx, raw["resolver"], (*path, "resolver"), depth)


def _check_parent(ctx: ModelContext, parsed: Path, path: SpecPath, depth: int) -> None:
    """``$parent`` needs an enclosing record: the one around an ``each`` item or a sourced ``fields`` block."""
    if parsed.variable != "$parent" or parsed.parent_depth <= depth:
        return
    if depth == 0:
        ctx.error(
            path,
            f"'{parsed.text}': $parent is the record around an 'each' item (or around a 'fields' block "
            "with its own source), and this field is inside neither",
            code="path",
        )
    else:
        ctx.error(
            path,
            f"'{parsed.text}' goes up {parsed.parent_depth} records, but this field is inside only {depth} "
            "'each' or sourced 'fields' block(s)",
            code="path",
        )


def _path(ctx: ModelContext, text: Any, path: SpecPath, depth: int) -> Path | None:
    if not isinstance(text, str):
        ctx.error(path, "expected a path string")
        return None
    try:
        parsed = parse_path(text)
    except PathSyntaxError as exc:
        m = ctx.doc.mark(path)
        # point at the offending character when the path is on one line as written
        ctx.diagnostics.append(
            Diagnostic(ctx.doc.file, m.line, m.col, ctx.doc.diagnostic(path, "").path, str(exc), code="path")
        )
        return None
    _check_parent(ctx, parsed, path, depth)
    return parsed


def _jmespath(ctx: ModelContext, text: Any, path: SpecPath) -> Any:
    if not isinstance(text, str):
        ctx.error(path, "expected a JMESPath expression string")
        return None
    try:
        return compile_expression(text)
    except JMESPathError as exc:
        ctx.error(path, f"invalid JMESPath expression {text!r}: {jmespath_problem(exc)}", code="expr")
        return None


def jmespath_problem(exc: JMESPathError) -> str:
    """``the expression ends too early at character 5`` rather than jmespath's three-line banner."""
    where = getattr(exc, "lex_position", None)
    at = f" at character {where + 1}" if isinstance(where, int) else ""
    if type(exc).__name__ == "IncompleteExpressionError":
        return f"the expression ends too early{at}"
    msg = getattr(exc, "msg", None) or str(exc).splitlines()[0]
    return f"{msg}{at}"


def _check_option(ctx: ModelContext, name: str, value: Any, path: SpecPath) -> Any:
    if name == "pattern":
        if not isinstance(value, str):
            ctx.error(path, "expected a regular expression string")
            return None
        try:
            return re.compile(value)
        except re.error as exc:
            ctx.error(path, f"invalid regular expression: {exc}")
            return None
    if name == "enum":
        if not isinstance(value, list) or not value:
            ctx.error(path, "expected a non-empty list of allowed values")
            return None
        return value
    if name in ("min", "max"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            ctx.error(path, "expected a number")
            return None
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        ctx.error(path, "expected a non-negative integer")
        return None
    return value


def parse_resolvers(ctx: ModelContext, raw: Any, path: SpecPath, depth: int = 0) -> list[Resolve]:
    """A field's ``resolver`` (one, or a list applied in order) as steps; bad entries are reported and left out."""
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for i, item in enumerate(items):
        p = (*path, i) if isinstance(raw, list) else path
        step = _resolver(ctx, item, p, depth)
        if step is not None:
            out.append(step)
    return out


@functools.lru_cache(maxsize=1024)
def _takes_options(make: Callable[..., Any]) -> bool:
    """Whether a resolver factory takes the mapping's options (asked once per factory, not per field)."""
    return "options" in inspect.signature(make).parameters


def _name_and_args(ctx: ModelContext, item: Any, path: SpecPath) -> tuple[str, Any, bool] | None:
    """``upper`` or ``{name: pad, args: 5}`` as (name, args, whether args were written)."""
    if isinstance(item, str):
        return item, None, False
    if not isinstance(item, dict) or "name" not in item:
        ctx.error(path, "expected a resolver name, or {name: ..., args: ...}")
        return None
    for key in set(item) - {"name", "args"}:
        ctx.error((*path, key), f"unknown resolver option '{key}' (a resolver is {{name, args}})", key=True)
    if not isinstance(item["name"], str):
        ctx.error(path, "a resolver name must be a string")
        return None
    return item["name"], item.get("args"), "args" in item


def _resolver(ctx: ModelContext, item: Any, path: SpecPath, depth: int) -> Resolve | None:
    called = _name_and_args(ctx, item, path)
    if called is None:
        return None
    name, args, has_args = called
    try:
        resolver: Resolver = ctx.resolvers.get(name)
    except PluginError as exc:
        ctx.error(path if isinstance(item, str) else (*path, "name"), str(exc.message), code="resolver")
        return None
    args_path = (*path, "args") if has_args else path
    kwargs = _checked_args(ctx, resolver, args, has_args, args_path)
    if kwargs is None:
        return None
    try:
        written = dict(kwargs)
        if _takes_options(resolver.make):
            kwargs["options"] = ctx.options
        step = Resolve.of(resolver, resolver.make(**kwargs), written)
    except PathSyntaxError as exc:
        ctx.error(args_path, str(exc), code="path")
        return None
    except (ValueError, TypeError, OSError, LookupError) as exc:
        ctx.error(args_path, f"resolver '{name}': {exc}", code="resolver")
        return None
    except Exception as exc:  # a resolver factory's own error, shown as a diagnostic
        message = getattr(exc, "message", None) or str(exc)
        ctx.error(args_path, f"resolver '{name}': {message}", code="resolver")
        return None
    for read in step.reads or ():
        _check_parent(ctx, read, args_path, depth)
    return step


def _checked_args(
    ctx: ModelContext, resolver: Resolver, args: Any, has_args: bool, args_path: SpecPath
) -> dict[str, Any] | None:
    """The keyword arguments for ``resolver.make``: shorthand expanded, checked, defaults filled; None if bad."""
    if resolver.args is None:
        if has_args and args not in (None, {}):
            ctx.error(args_path, f"resolver '{resolver.name}' takes no arguments")
            return None
        return {}
    args = shorthand_args(resolver, args if has_args else {})
    if not isinstance(args, dict):
        ctx.error(args_path, f"resolver '{resolver.name}' takes a mapping of arguments")
        return None
    problems = check(ctx.doc, args_path, resolver.args, args, what="argument")
    if problems:
        ctx.diagnostics.extend(problems)
        return None
    return dict(fill_defaults(resolver.args, args))


def shorthand_args(resolver: Resolver, args: Any) -> Any:
    """``{name: pad, args: 5}`` means ``{width: 5}`` when ``pad``'s shorthand is ``width``.

    A mapping whose keys are all argument names is taken as the arguments; a
    mapping with unknown keys goes to the shorthand only if that argument can
    itself be a mapping (otherwise the unknown keys are reported).
    """
    props = (resolver.args or {}).get("properties", {})
    if isinstance(args, dict) and set(args) <= set(props):
        return args
    if resolver.shorthand is None:
        return args
    if not isinstance(args, dict) or may_be_object(props.get(resolver.shorthand, {})):
        return {resolver.shorthand: args}
    return args


def may_be_object(schema: dict[str, Any]) -> bool:
    """Whether a value valid under ``schema`` can be a mapping (so a shorthand may take one)."""
    kinds = schema.get("type")
    if kinds is None:
        return not any(k in schema for k in ("enum", "const"))
    return "object" in (kinds if isinstance(kinds, list) else [kinds])
