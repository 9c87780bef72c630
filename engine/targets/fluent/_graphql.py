"""GraphQL documents for ``fluent.graphql``: many mutations as one aliased request, answers split per record.

A record's mutation is an *operation*: one GraphQL document with its own
variables (``$input``). N operations become one request by renaming each
copy's variables (``$input_3``) and aliasing its root fields
(``createLocation_3: createLocation(...)``); Fluent runs aliased mutations
independently, so copy 3 failing leaves the others applied. The merged text
depends only on the sequence of operations, never on the data (which travels
in variables), so it is built once per shape and cached.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import threading
from typing import Any

from graphql import GraphQLError, parse, print_ast
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    Visitor,
    visit,
)

from engine.errors import ConfigError

_VARIABLE = re.compile(r"\$?\b([A-Za-z_]\w*)\b")


@dataclasses.dataclass(frozen=True, eq=False)
class Operation:
    """One record's mutation: a parsed single-operation document."""

    label: str
    node: OperationDefinitionNode
    fragments: tuple[FragmentDefinitionNode, ...]
    variables: tuple[str, ...]
    fields: tuple[str, ...]


def operation(text: str, where: str, *, kind: str = "mutation") -> Operation:
    """Parse ``text`` (one ``kind`` operation, fragments allowed) or raise ConfigError naming ``where``."""
    try:
        document = parse(text)
    except GraphQLError as exc:
        raise ConfigError(f"{where}: not a valid GraphQL document: {exc.message}") from None
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(ops) != 1:
        raise ConfigError(
            f"{where}: expected exactly one {kind} in the document, found {len(ops)} operations"
        )
    node = ops[0]
    if node.operation.value != kind:
        raise ConfigError(f"{where}: expected a {kind}, found a {node.operation.value}")
    fields = []
    for selection in node.selection_set.selections:
        if not isinstance(selection, FieldNode):
            raise ConfigError(f"{where}: spread the fragment inside a field; root selections must be fields")
        fields.append((selection.alias or selection.name).value)
    variables = tuple(v.variable.name.value for v in node.variable_definitions or ())
    label = fields[0] if len(fields) == 1 else (node.name.value if node.name else kind)
    fragments = tuple(d for d in document.definitions if isinstance(d, FragmentDefinitionNode))
    return Operation(label, node, fragments, variables, tuple(fields))


def mutation_text(mutation: str, input_type: str, returning: str) -> str:
    return f"mutation ($input: {input_type}!) {{ {mutation}(input: $input) {{ {returning} }} }}"


def literal(value: Any) -> str:
    """A Python value as a GraphQL literal (for lookup arguments)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


class _Rename(Visitor):
    def __init__(self, suffix: str) -> None:
        super().__init__()
        self.suffix = suffix

    def enter_variable(self, node: VariableNode, *_args: Any) -> VariableNode:
        return VariableNode(name=NameNode(value=node.name.value + self.suffix))


def _aliased(field: FieldNode, alias: str) -> FieldNode:
    if dataclasses.is_dataclass(field):
        return dataclasses.replace(field, alias=NameNode(value=alias))  # graphql-core >= 3.3: frozen nodes
    new = copy.copy(field)
    new.alias = NameNode(value=alias)  # type: ignore[misc]
    return new


@dataclasses.dataclass
class Merged:
    text: str
    #: per copy: (response key in the merged answer, the operation's own key)
    aliases: list[list[tuple[str, str]]]
    #: per copy: declared variable -> its name in the merged request
    renames: list[dict[str, str]]
    #: merged variable name -> copy index, to attribute request-level errors
    owner: dict[str, int]

    def variables(self, values: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for rename, given in zip(self.renames, values, strict=True):
            for name, sent in rename.items():
                if given.get(name) is not None:
                    out[sent] = given[name]
        return out


class Merger:
    """Builds (and caches) the merged request for a sequence of operations."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cache: dict[tuple[int, ...], Merged] = {}
        self.lock = threading.Lock()

    def merge(self, ops: list[Operation]) -> Merged:
        key = tuple(id(op) for op in ops)
        with self.lock:
            hit = self.cache.get(key)
        if hit is not None:
            return hit
        selections: list[FieldNode] = []
        definitions: list[Any] = []
        aliases: list[list[tuple[str, str]]] = []
        renames: list[dict[str, str]] = []
        owner: dict[str, int] = {}
        fragments: dict[str, FragmentDefinitionNode] = {}
        for k, op in enumerate(ops, start=1):
            renamed = visit(op.node, _Rename(f"_{k}"))
            definitions.extend(renamed.variable_definitions or ())
            keys = []
            for field, own in zip(renamed.selection_set.selections, op.fields, strict=True):
                alias = f"{own}_{k}"
                selections.append(_aliased(field, alias))
                keys.append((alias, own))
            aliases.append(keys)
            renames.append({v: f"{v}_{k}" for v in op.variables})
            owner.update({f"{v}_{k}": k - 1 for v in op.variables})
            for fragment in op.fragments:
                fragments.setdefault(fragment.name.value, fragment)
        node = OperationDefinitionNode(
            operation=ops[0].node.operation,
            name=NameNode(value=self.name),
            variable_definitions=tuple(definitions),
            directives=(),
            selection_set=SelectionSetNode(selections=tuple(selections)),
        )
        merged = Merged(
            print_ast(DocumentNode(definitions=(node, *fragments.values()))), aliases, renames, owner
        )
        with self.lock:
            if len(self.cache) > 256:
                self.cache.clear()
            self.cache[key] = merged
        return merged


@dataclasses.dataclass
class CopyResult:
    ok: bool
    data: dict[str, Any]
    errors: list[dict[str, Any]]


def split(envelope: dict[str, Any], merged: Merged) -> list[CopyResult]:
    """Per copy: success iff each of its aliases has data and no error points at it."""
    data = envelope.get("data") or {}
    by_alias: dict[str, list[dict[str, Any]]] = {}
    loose: list[dict[str, Any]] = []
    for error in envelope.get("errors") or []:
        if not isinstance(error, dict):
            continue
        path = error.get("path")
        head = path[0] if isinstance(path, list) and path else None
        (by_alias.setdefault(head, []) if isinstance(head, str) else loose).append(error)
    out = []
    for keys in merged.aliases:
        values = {own: data.get(alias) for alias, own in keys}
        errors = [e for alias, _own in keys for e in by_alias.get(alias, [])]
        missing = [own for own, value in values.items() if value is None]
        if missing and not errors:
            errors = loose or [{"message": f"no result for {', '.join(missing)}"}]
        out.append(CopyResult(not errors, values, errors))
    return out


def attribute(errors: list[dict[str, Any]], merged: Merged) -> dict[int, list[dict[str, Any]]] | None:
    """Request-level errors (nothing executed) by the copy whose variables they name; None if any names none."""
    out: dict[int, list[dict[str, Any]]] = {}
    for error in errors:
        owners = {
            merged.owner[m] for m in _VARIABLE.findall(str(error.get("message", ""))) if m in merged.owner
        }
        if not owners:
            return None
        for k in owners:
            out.setdefault(k, []).append(error)
    return out
