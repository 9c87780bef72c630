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
from engine.spec.diagnostics import Diagnostic, SpecPath
from engine.spec.loader import SpecDocument
from engine.spec.options import fill_defaults
from engine.spec.schema_errors import check

KINDS = ("source", "value", "expr", "fields", "each")
CHECKS = ("pattern", "enum", "min", "max", "min_length", "max_length")
MODIFIERS = ("default", "required", "resolver", "when", "description", *CHECKS)
FIELD_KEYS = (*KINDS, *MODIFIERS)


@dataclasses.dataclass
class ResolverStep:
    """A resolver as one field applies it: the function its factory built, and how to call it."""

    name: str
    fn: Callable[..., Any]
    needs_record: bool
    accepts_missing: bool


@dataclasses.dataclass
class FieldSpec:
    """One target field. ``target`` is its key path inside the parent object."""

    target: tuple[str, ...]
    spec_path: SpecPath
    kind: str  # source | value | expr | fields | each | computed
    source: Path | None = None
    value: Any = None
    expr: Any = None  # compiled JMESPath
    expr_text: str | None = None
    fields: list[FieldSpec] = dataclasses.field(default_factory=list)
    has_default: bool = False
    default: Any = None
    required: bool = False
    resolvers: list[ResolverStep] = dataclasses.field(default_factory=list)
    when: Any = None
    when_text: str | None = None
    checks: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: SDK semantics: a single object where a list is expected becomes [obj]; edges unwrap to nodes
    each_item: Path | None = None

    @property
    def label(self) -> str:
        """The target as messages name it: ``attributes.batchNumber``."""
        return ".".join(self.target)

    @property
    def needs_record_dict(self) -> bool:
        """Whether the field reads the whole record (not just columns), so row-form code must build a dict."""
        if self.kind in ("expr", "fields", "each") or self.when is not None:
            return True
        if self.source is not None and self.source.variable in ("$root", "$record", "$parent"):
            return True
        if any(r.needs_record and getattr(r.fn, "reads", None) is None for r in self.resolvers):
            return True
        return any(f.needs_record_dict for f in self.fields)


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


def parse_fields(ctx: ModelContext, fields: Any, path: SpecPath) -> list[FieldSpec]:
    """The fields of a ``fields`` block, in spec order; problems go to ``ctx`` and bad fields are left out."""
    if not isinstance(fields, dict):
        ctx.error(path, "expected a mapping of target field names to field definitions")
        return []
    out = []
    for key, raw in fields.items():
        target = split_target(str(key))
        if any(not part for part in target):
            ctx.error((*path, key), f"malformed target field name {key!r}", key=True)
            continue
        spec = parse_field(ctx, raw, (*path, key), target)
        if spec is not None:
            out.append(spec)
    _check_target_clashes(ctx, out, path)
    return out


def _check_target_clashes(ctx: ModelContext, fields: list[FieldSpec], path: SpecPath) -> None:
    """Two fields writing the same target, or one inside the other's value (unless that is a ``fields`` block).

    Only targets on the same branch can clash, so each field looks up its own
    target, its prefixes and the targets below it (indexed by prefix) instead
    of every earlier field: linear in the fields (20,000 fields took minutes).
    """
    seen: dict[tuple[str, ...], FieldSpec] = {}
    order: dict[tuple[str, ...], int] = {}
    below: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for f in fields:
        target = f.target
        branch = [target[:n] for n in range(1, len(target) + 1) if target[:n] in seen]
        for other_target in sorted([*branch, *below.get(target, ())], key=order.__getitem__):
            other = seen[other_target]
            if other_target == target or "fields" not in (other.kind, f.kind):
                ctx.error(f.spec_path, f"target '{f.label}' clashes with '{other.label}'", key=True)
        if target not in seen:
            order[target] = len(order)
            for n in range(1, len(target)):
                below.setdefault(target[:n], []).append(target)
        seen[target] = f


def parse_field(ctx: ModelContext, raw: Any, path: SpecPath, target: tuple[str, ...]) -> FieldSpec | None:
    """One field definition (or a bare source path string) as a :class:`FieldSpec`.

    Returns None only when ``raw`` is not a definition at all; otherwise every
    problem found goes to ``ctx`` and a spec is returned, so sibling fields are
    still checked.
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
    spec = FieldSpec(target=target, spec_path=path, kind="computed")
    _read_kind(ctx, spec, raw, path)
    _read_modifiers(ctx, spec, raw, path)
    if spec.kind == "computed" and not spec.resolvers and not spec.has_default:
        ctx.error(path, "a field needs source, value, expr, fields (or each + fields), or a resolver")
    for name in CHECKS:
        if name in raw:
            spec.checks[name] = _check_option(ctx, name, raw[name], (*path, name))
    if spec.kind in ("fields", "each") and (spec.resolvers or spec.checks):
        ctx.error(path, "resolvers and checks apply to single values, not to 'fields' or 'each'")
    return spec


def _check_field_keys(ctx: ModelContext, raw: dict[str, Any], path: SpecPath) -> None:
    """Report unknown options and contradictory kinds (source and value, each without fields)."""
    for key in raw:
        if key not in FIELD_KEYS:
            from engine.suggest import did_you_mean

            ctx.error((*path, key), f"unknown field option '{key}'{did_you_mean(key, FIELD_KEYS)}", key=True)
    kinds = [k for k in ("source", "value", "expr") if k in raw]
    if "each" in raw and "fields" not in raw:
        ctx.error(path, "'each' needs 'fields' describing each item")
    if len(kinds) > 1:
        ctx.error(path, f"a field takes one of source, value or expr, not {' and '.join(kinds)}")


def _read_kind(ctx: ModelContext, spec: FieldSpec, raw: dict[str, Any], path: SpecPath) -> None:
    """Set the field's kind and what it reads, by precedence: each, fields, source, value, expr.

    A field with none of them stays ``computed`` (its value comes from resolvers or a default).
    """
    if "each" in raw:
        spec.kind = "each"
        spec.source = _path(ctx, raw["each"], (*path, "each"))
        spec.fields = parse_fields(ctx, raw.get("fields"), (*path, "fields"))
    elif "fields" in raw:
        spec.kind = "fields"
        if "source" in raw:
            spec.source = _path(ctx, raw["source"], (*path, "source"))
        spec.fields = parse_fields(ctx, raw["fields"], (*path, "fields"))
    elif "source" in raw:
        spec.kind = "source"
        spec.source = _path(ctx, raw["source"], (*path, "source"))
    elif "value" in raw:
        spec.kind = "value"
        spec.value = raw["value"]
    elif "expr" in raw:
        spec.kind = "expr"
        spec.expr_text = raw["expr"]
        spec.expr = _jmespath(ctx, raw["expr"], (*path, "expr"))


def _read_modifiers(ctx: ModelContext, spec: FieldSpec, raw: dict[str, Any], path: SpecPath) -> None:
    """Set what applies to the value once read: default, required, when and resolvers."""
    if "default" in raw:
        spec.has_default = True
        spec.default = raw["default"]
    required = raw.get("required", False)
    if not isinstance(required, bool):
        ctx.error((*path, "required"), "expected true or false")
    spec.required = required is True
    if "when" in raw:
        spec.when_text = raw["when"]
        spec.when = _jmespath(ctx, raw["when"], (*path, "when"))
    if "resolver" in raw:
        spec.resolvers = parse_resolvers(ctx, raw["resolver"], (*path, "resolver"))


def _path(ctx: ModelContext, text: Any, path: SpecPath) -> Path | None:
    if not isinstance(text, str):
        ctx.error(path, "expected a path string")
        return None
    try:
        return parse_path(text)
    except PathSyntaxError as exc:
        m = ctx.doc.mark(path)
        # point at the offending character when the path is on one line as written
        ctx.diagnostics.append(
            Diagnostic(ctx.doc.file, m.line, m.col, ctx.doc.diagnostic(path, "").path, str(exc), code="path")
        )
        return None


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


def parse_resolvers(ctx: ModelContext, raw: Any, path: SpecPath) -> list[ResolverStep]:
    """A field's ``resolver`` (one, or a list applied in order) as steps; bad entries are reported and left out."""
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for i, item in enumerate(items):
        p = (*path, i) if isinstance(raw, list) else path
        step = _resolver(ctx, item, p)
        if step is not None:
            out.append(step)
    return out


@functools.lru_cache(maxsize=1024)
def _takes_options(make: Callable[..., Any]) -> bool:
    """Whether a resolver factory takes the mapping's options (asked once per factory, not per field)."""
    return "options" in inspect.signature(make).parameters


def _resolver(ctx: ModelContext, item: Any, path: SpecPath) -> ResolverStep | None:
    args: Any = None
    has_args = False
    if isinstance(item, str):
        name = item
    elif isinstance(item, dict) and "name" in item:
        name = item["name"]
        extra = set(item) - {"name", "args"}
        for key in extra:
            ctx.error(
                (*path, key), f"unknown resolver option '{key}' (a resolver is {{name, args}})", key=True
            )
        if "args" in item:
            args, has_args = item["args"], True
    else:
        ctx.error(path, "expected a resolver name, or {name: ..., args: ...}")
        return None
    if not isinstance(name, str):
        ctx.error(path, "a resolver name must be a string")
        return None
    try:
        resolver: Resolver = ctx.resolvers.get(name)
    except PluginError as exc:
        ctx.error(path if isinstance(item, str) else (*path, "name"), str(exc.message), code="resolver")
        return None
    args_path = (*path, "args") if has_args else path
    if resolver.args is None:
        if has_args and args not in (None, {}):
            ctx.error(args_path, f"resolver '{name}' takes no arguments")
            return None
        args = {}
    else:
        args = shorthand_args(resolver, args if has_args else {})
        if not isinstance(args, dict):
            ctx.error(args_path, f"resolver '{name}' takes a mapping of arguments")
            return None
        before = len(ctx.diagnostics)
        ctx.diagnostics.extend(check(ctx.doc, args_path, resolver.args, args, what="argument"))
        if len(ctx.diagnostics) > before:
            return None
        args = fill_defaults(resolver.args, args)
    try:
        kwargs = dict(args)
        if _takes_options(resolver.make):
            kwargs["options"] = ctx.options
        fn = resolver.make(**kwargs)
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
    return ResolverStep(name, fn, resolver.needs_record, resolver.accepts_missing)


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
    if not isinstance(args, dict) or _may_be_object(props.get(resolver.shorthand, {})):
        return {resolver.shorthand: args}
    return args


def _may_be_object(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    if kinds is None:
        return not any(k in schema for k in ("enum", "const"))
    return "object" in (kinds if isinstance(kinds, list) else [kinds])
