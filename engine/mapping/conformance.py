"""A mapping, and a mapped record, checked against the record a target takes (:class:`RecordShape`).

Validation walks the mapping as written (so every problem has a line and
column): every output field must exist in the target's type, nested blocks
and ``each`` lists included; what a field produces must fit the field's
type, as far as the mapping says (a constant, a resolver declaring
``returns``, an object, a list); every required field must be mapped or
filled in by the target. ``engine test`` checks expected records the same
way, value by value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
)

from engine.contracts import RecordShape
from engine.mapping.model import split_target
from engine.spec.diagnostics import Diagnostic, SpecPath
from engine.spec.loader import SpecDocument
from engine.suggest import and_then, did_you_mean

#: the JSON kinds each built-in scalar takes (a custom scalar, Json say, takes anything)
SCALAR_KINDS: dict[str, tuple[str, ...]] = {
    "String": ("string",),
    "ID": ("string", "integer"),
    "Int": ("integer",),
    "Float": ("integer", "number"),
    "Boolean": ("boolean",),
    "DateTime": ("string",),
}
ARTICLE = {"integer": "an integer", "array": "a list", "object": "an object"}


def kind_of(value: Any) -> str:
    """The JSON kind of a Python value: string, integer, number, boolean, object, array or null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    return "array" if isinstance(value, list | tuple) else type(value).__name__


def _a(kind: str) -> str:
    return ARTICLE.get(kind, f"a {kind}")


def _named(type_: Any) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def _required(field: GraphQLInputField) -> bool:
    return isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined


def shown(type_: Any) -> str:
    """How messages name a type: GraphQL's notation, or a JSON Schema's words (``array of integer``).

    Types converted from a JSON Schema carry their words in ``extensions``
    (``label``); required-ness is not part of their name there.
    """
    if isinstance(type_, GraphQLNonNull):
        inner = shown(type_.of_type)
        return inner if "label" in _named(type_).extensions else f"{inner}!"
    if isinstance(type_, GraphQLList):
        inner = shown(type_.of_type)
        return f"array of {inner}" if "label" in _named(type_).extensions else f"[{inner}]"
    return str(type_.extensions.get("label", type_.name))


def kind_problem(type_: Any, kind: str, value: Any = Undefined) -> str | None:
    """Why a value of ``kind`` (``value`` when known) does not fit ``type_``, or None when it fits.

    A single value fits a list type (GraphQL takes it as a list of one); a
    list never fits a scalar or an object (in a JSON Schema's types a single value does not fit a
    list either). The reason reads after the type:
    ``qty is Int!: it takes an integer, not 'ten'``. A scalar converted from a
    JSON Schema lists the kinds it takes (and its ``enum``) in ``extensions``.
    """
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    found = _a(kind) if value is Undefined else repr(value)
    if (
        isinstance(type_, GraphQLList)
        and kind not in ("array", "null")
        and "label" in _named(type_).extensions
    ):
        return (
            f"it takes a list, not {found}"  # JSON Schema, unlike GraphQL, takes no single value for a list
        )
    if isinstance(type_, GraphQLList):
        return None if kind == "array" else kind_problem(type_.of_type, kind, value)
    if kind == "null":
        return None
    if isinstance(type_, GraphQLInputObjectType):
        return None if kind == "object" else f"it takes an object, not {found}"
    if isinstance(type_, GraphQLScalarType) and "kinds" in type_.extensions:
        return _json_problem(type_.extensions, kind, value, found)
    if isinstance(type_, GraphQLEnumType):
        names = ", ".join(type_.values)
        if kind != "string" or (value is not Undefined and value not in type_.values):
            return f"it takes one of {names}, not {found}"
        return None
    if isinstance(type_, GraphQLScalarType) and type_.name in SCALAR_KINDS:
        kinds = SCALAR_KINDS[type_.name]
        return None if kind in kinds else f"it takes {' or '.join(map(_a, kinds))}, not {found}"
    return None


def _json_problem(extensions: Mapping[str, Any], kind: str, value: Any, found: str) -> str | None:
    kinds, enum = extensions["kinds"], extensions.get("enum")
    if enum is not None and (kind not in kinds or (value is not Undefined and value not in enum)):
        return f"it takes one of {', '.join(map(repr, enum))}, not {found}"
    return None if kind in kinds else f"it takes {' or '.join(map(_a, kinds))}, not {found}"


# --- a mapping as written -------------------------------------------------------------------------


@dataclasses.dataclass
class _Node:
    """One output key: its spec path, its definition (None for the parts of a dotted key), its children."""

    path: SpecPath
    raw: Any = None
    children: dict[str, _Node] = dataclasses.field(default_factory=dict)


def _tree(fields: Any, path: SpecPath) -> dict[str, _Node]:
    """A ``fields`` block as a tree: ``primaryAddress.city`` becomes city inside primaryAddress."""
    top: dict[str, _Node] = {}
    if not isinstance(fields, dict):
        return top
    for key, raw in fields.items():
        where = (*path, key)
        parts = split_target(str(key))
        level = top
        for part in parts[:-1]:
            level = level.setdefault(part, _Node(where)).children
        node = level.setdefault(parts[-1], _Node(where))
        node.path, node.raw = where, raw
        if isinstance(raw, dict) and isinstance(raw.get("fields"), dict):
            node.children.update(_tree(raw["fields"], (*where, "fields")))
    return top


class _Checker:
    def __init__(self, doc: SpecDocument, resolvers: Any, shape: RecordShape) -> None:
        self.doc = doc
        self.resolvers = resolvers
        self.filled = shape.filled
        #: said after the first unknown field, then no more
        self.hint = shape.hint
        self.diags: list[Diagnostic] = []

    def error(self, path: SpecPath, message: str, *, key: bool = False, severity: str = "error") -> None:
        self.diags.append(
            self.doc.diagnostic(path, message, key=key, code="target-schema", severity=severity)
        )

    def object(
        self,
        children: dict[str, _Node],
        fields: Mapping[str, Any],
        name: str,
        where: SpecPath,
        top: bool,
        open_: bool = False,
    ) -> None:
        for key, node in children.items():
            field = fields.get(key)
            if field is None and open_ and fields:
                hint = did_you_mean(key, list(fields))
                self.error(
                    node.path,
                    f"{name} does not declare '{key}'{hint}; its schema lets it through, "
                    "but an undeclared field is most likely a typo",
                    key=True,
                    severity="warning",
                )
                continue
            if field is None and not open_:
                hint = did_you_mean(key, list(fields)) or f" (its fields: {', '.join(fields)})"
                message = f"{name} has no field '{key}'{hint}"
                if self.hint is not None:
                    message, self.hint = and_then(message, self.hint), None
                self.error(node.path, message, key=True)
                continue
            if field is None:
                continue  # an open object that declares nothing takes anything
            self.node(node, field.type, f"{name}.{key}")
        missing = [
            key
            for key, field in fields.items()
            if _required(field) and key not in children and not (top and key in self.filled)
        ]
        if missing:
            listed = ", ".join(f"{key} ({shown(fields[key].type)})" for key in missing)
            self.error(
                where,
                f"{name} requires {listed}: map {'it' if len(missing) == 1 else 'them'} "
                "(with a default if the source may lack a value)",
                key=True,
            )

    def node(self, node: _Node, type_: Any, label: str) -> None:
        raw = node.raw if isinstance(node.raw, dict) else {"source": node.raw}
        if node.raw is None or "fields" in raw:
            kind = "array" if "each" in raw else "object"
            problem = kind_problem(type_, kind)
            if problem is not None:
                self.error(node.path, f"{label} is {shown(type_)}: {problem}", key=True)
                return
            named = _named(type_)
            if isinstance(named, GraphQLInputObjectType):
                extensions = named.extensions
                name = str(extensions.get("label", named.name))
                open_ = bool(extensions.get("open"))
                self.object(node.children, named.fields, name, node.path, top=False, open_=open_)
            return
        for what, kind, value, origin in self._produces(raw):
            problem = kind_problem(type_, kind, value)
            if problem is not None:
                self.error((*node.path, *what), f"{label} is {shown(type_)}: {problem}{origin}")

    def _produces(self, raw: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str, Any, str]]:
        """What a leaf field yields, where the mapping says: (option, kind, value or Undefined, origin)."""
        resolvers = raw.get("resolver")
        if resolvers is not None:
            listed = isinstance(resolvers, list) and bool(resolvers)
            last = resolvers[-1] if listed else resolvers
            where: tuple[str | int, ...] = ("resolver", len(resolvers) - 1) if listed else ("resolver",)
            name = last.get("name") if isinstance(last, dict) else last
            returns = self._returns(name)
            origin = f" (resolver '{name}' returns {_a(returns or '')})"
            return [(where, returns, Undefined, origin)] if returns else []
        for option in ("value", "default"):
            if option in raw:
                return [((option,), kind_of(raw[option]), raw[option], "")]
        return []

    def _returns(self, name: Any) -> str | None:
        if not isinstance(name, str) or name not in self.resolvers:
            return None
        returns: str | None = self.resolvers.get(name).returns
        return returns


def mapping_problems(
    doc: SpecDocument, fields: Any, path: SpecPath, shape: RecordShape, resolvers: Any
) -> list[Diagnostic]:
    """Every way the ``fields`` block at ``path`` would build records ``shape`` refuses, positioned."""
    checker = _Checker(doc, resolvers, shape)
    checker.object(_tree(fields, path), shape.fields, shape.name, path, top=True, open_=shape.open)
    return checker.diags


# --- a record as produced ----------------------------------------------------------------------


def record_problems(record: Any, shape: RecordShape) -> list[str]:
    """Every way ``record`` does not fit ``shape``, as ``path: message`` lines (for ``engine test``).

    A shape with its own validator (``check``) is checked by it alone.
    """
    if shape.check is not None:
        return shape.check(record)
    out: list[str] = []
    _value_object(record, shape.fields, shape.name, "", out, shape.filled)
    return out


def _value_object(
    record: Any, fields: Mapping[str, Any], name: str, prefix: str, out: list[str], filled: frozenset[str]
) -> None:
    if not isinstance(record, Mapping):
        out.append(f"{prefix.rstrip('.') or '(record)'}: {name} is an object, not {_a(kind_of(record))}")
        return
    for key, value in record.items():
        field = fields.get(key)
        where = f"{prefix}{key}"
        if field is None:
            out.append(f"{where}: {name} has no field '{key}'{did_you_mean(str(key), list(fields))}")
            continue
        _value(value, field.type, where, out)
    for key, field in fields.items():
        if _required(field) and key not in record and key not in filled:
            out.append(f"{prefix}{key}: required by {name} ({field.type}), missing")


def _value(value: Any, type_: Any, where: str, out: list[str]) -> None:
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if value is None:
        if isinstance(type_, GraphQLNonNull):
            out.append(f"{where} is {type_}: it takes a value, not null")
        return
    if isinstance(inner, GraphQLList) and isinstance(value, list):
        for i, item in enumerate(value):
            _value(item, inner.of_type, f"{where}[{i}]", out)
        return
    if isinstance(inner, GraphQLList):
        _value(value, inner.of_type, where, out)
        return
    problem = kind_problem(inner, kind_of(value), value)
    if problem is not None:
        out.append(f"{where} is {type_}: {problem}")
    elif isinstance(inner, GraphQLInputObjectType):
        _value_object(value, inner.fields, inner.name, f"{where}.", out, frozenset())
