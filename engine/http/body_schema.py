"""A request body's JSON Schema, from a schema file or an OpenAPI 3 document, as a :class:`RecordShape`.

The ``http`` target's ``body_schema: {file: openapi.yaml, pointer:
"#/components/schemas/Order"}`` names the body the API takes. ``engine
validate`` walks the mapping against it like against Fluent's schemas (the
one checker in :mod:`engine.mapping.conformance` reads it, so diagnostics
are the same): the schema is converted to input types whose fields carry
the JSON types, ``required`` and ``additionalProperties`` of each object.
``engine test`` validates every expected record, wrapped as it would be
sent, with ``jsonschema`` itself, so formats, patterns and bounds count too.

Loading and ``$ref`` resolution (to files in the document's directory too, never to
URLs) are ``referencing``'s (it comes with ``jsonschema``); OpenAPI 3.0's
``nullable: true`` is rewritten as a ``null`` type, the one place 3.0
schemas differ from JSON Schema draft 4.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import yaml
from graphql import (
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)
from jsonschema import Draft4Validator, Draft202012Validator
from jsonschema.validators import validator_for
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT4, DRAFT202012, specification_with

from engine.contracts import RecordShape
from engine.errors import ConfigError
from engine.mapping.conformance import kind_of, shown
from engine.suggest import did_you_mean

#: the ``body_schema`` option of the http target
SCHEMA_OPTION: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["file"],
    "description": "check the body against a JSON Schema or OpenAPI 3 document at validate and test time",
    "properties": {
        "file": {
            "type": "string",
            "minLength": 1,
            "description": "a JSON Schema or OpenAPI 3 document (JSON or YAML), relative to the spec",
        },
        "pointer": {
            "type": "string",
            "default": "#",
            "description": "JSON pointer of the body's schema in the file: #/components/schemas/Order; "
            "# is the whole file",
        },
    },
}

#: the JSON kinds (as :func:`engine.mapping.conformance.kind_of` names them) each JSON Schema type takes
_KINDS = {
    "string": ("string",),
    "integer": ("integer",),
    "number": ("integer", "number"),
    "boolean": ("boolean",),
    "object": ("object",),
    "array": ("array",),
}
_MAX_REFS = 32
#: what referencing raises for a pointer that leads nowhere (a malformed schema on the way trips its walk)
_UNRESOLVED = (Unresolvable, AttributeError, TypeError)


def _name(label: str) -> str:
    """A GraphQL name for a label (graphql-core insists on one; messages show the label)."""
    name = re.sub(r"[^_a-zA-Z0-9]", "_", label) or "_"
    return name if not name[0].isdigit() else f"_{name}"


ANY = GraphQLScalarType("any", extensions={"label": "any value"})


class JsonObject(GraphQLInputObjectType):
    """A JSON Schema object as an input type: fields are read when first asked for (schemas recurse).

    Property names need not be GraphQL names (``first-name``, ``@type``);
    ``extensions`` say how messages name it (``label``) and whether the
    object takes undeclared fields (``open``).
    """

    def __init__(self, label: str, fields: Callable[[], dict[str, GraphQLInputField]], *, open_: bool):
        super().__init__(_name(label), {}, extensions={"label": label, "open": open_})
        self._read = fields

    @cached_property
    def fields(self) -> dict[str, GraphQLInputField]:
        """The properties, each a field whose type is the property's schema converted."""
        return self._read()


@dataclasses.dataclass(frozen=True)
class Located:
    """The file's schemas in a registry, and where the body's schema is in it."""

    uri: str
    pointer: str
    registry: Registry
    validator: Any


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema says it (a ``null`` type, ``None`` in ``enum``)."""
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _nullable(value) for key, value in node.items()}
    if out.pop("nullable", False) is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def _read(path: Path) -> Any:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path} ({exc.strerror})", option="file") from None
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path} is not JSON or YAML: {exc}", option="file") from None
    if not isinstance(document, dict | bool):
        raise ConfigError(f"{path} is not a JSON Schema or an OpenAPI document", option="file")
    return document


def _retriever(spec: Any, openapi_3_0: bool, home: Path) -> Callable[[str], Any]:
    """Reads the files ``$ref``s name in the document's directory (``common.yaml#/...``); URLs are not fetched."""

    def retrieve(uri: str) -> Any:
        path = Path(url2pathname(urlsplit(uri).path)).resolve() if uri.startswith("file:") else None
        if path is None or not path.is_relative_to(home):
            raise ValueError(f"{uri} is not a file in the schema's directory (nothing else is read)")
        document = _read(path)
        return spec.create_resource(_nullable(document) if openapi_3_0 else document)

    return retrieve


@lru_cache(maxsize=16)
def _located(path: Path, stamp: float) -> tuple[str, Registry, Any]:
    document = _read(path)
    version = document.get("openapi") if isinstance(document, dict) else None
    openapi_3_0 = isinstance(version, str) and version.startswith("3.0")
    if openapi_3_0:
        document, spec, validator = _nullable(document), DRAFT4, Draft4Validator
    elif isinstance(version, str):
        spec, validator = DRAFT202012, Draft202012Validator  # 3.1: schemas are JSON Schema 2020-12
    else:
        dialect = document.get("$schema") if isinstance(document, dict) else None
        spec = specification_with(dialect, default=DRAFT202012) if isinstance(dialect, str) else DRAFT202012
        validator = validator_for(document, default=Draft202012Validator)
    uri = path.as_uri()
    registry: Registry = Registry(retrieve=_retriever(spec, openapi_3_0, path.parent)).with_resource(  # type: ignore[call-arg]
        uri, spec.create_resource(document)
    )
    return uri, registry, validator


def locate(option: dict[str, Any], spec_dir: Path) -> Located:
    """The ``body_schema`` option's file read and its pointer checked; problems are ConfigErrors.

    A ConfigError's ``details["option"]`` says which of ``file`` and ``pointer`` is wrong.
    """
    path = Path(option["file"])
    path = path if path.is_absolute() else spec_dir / path
    try:
        stamp = path.stat().st_mtime
    except OSError as exc:
        raise ConfigError(
            f"cannot read the body schema {option['file']} ({exc.strerror})", option="file"
        ) from None
    uri, registry, validator = _located(path.resolve(), stamp)
    pointer = str(option.get("pointer") or "#")
    pointer = (
        pointer if pointer.startswith("#") else f"#{pointer}" if pointer.startswith("/") else f"#/{pointer}"
    )
    try:
        registry.resolver(uri).lookup(pointer)
    except _UNRESOLVED:
        contents = registry.contents(uri)
        raise ConfigError(_nowhere(contents, pointer, path.name), option="pointer") from None
    return Located(uri, pointer, registry, validator)


def _nowhere(document: Any, pointer: str, file: str) -> str:
    """Which step of ``pointer`` finds nothing in ``document``, and what it could have been."""
    node, walked = document, "#"
    for raw in pointer.lstrip("#").strip("/").split("/"):
        step = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and step in node:
            node, walked = node[step], f"{walked}/{raw}"
            continue
        if isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node, walked = node[int(step)], f"{walked}/{raw}"
            continue
        keys = [str(key) for key in node] if isinstance(node, dict) else []
        hint = did_you_mean(step, keys) or (f" (it has {', '.join(keys[:12])})" if keys else "")
        return f"{file} has nothing at {pointer}: {walked} has no '{step}'{hint}"
    return f"{file} has nothing at {pointer}"


# --- the schema as input types ----------------------------------------------------------------


class _Converter:
    """JSON Schema to input types; objects are converted once each, so recursive schemas end."""

    def __init__(self) -> None:
        self.objects: dict[tuple[int, ...], JsonObject] = {}
        self.scalars: dict[str, GraphQLScalarType] = {}

    def type_of(self, schema: Any, resolver: Any, label: str) -> Any:
        """The input type ``schema`` describes (``ANY`` where it does not say, or says too much to check)."""
        schema, resolver, label = _deref(schema, resolver, label)
        if not isinstance(schema, dict):
            return ANY
        if "allOf" in schema:
            parts = list(_all_of(schema, resolver, label))
            if any("properties" in part for part, _ in parts):
                return self._object(parts, label)
            return self.type_of(parts[0][0], parts[0][1], label) if parts else ANY
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                return self._either(schema[key], resolver, label)
        if "enum" in schema or "const" in schema:
            values = schema["enum"] if "enum" in schema else [schema["const"]]
            return self._enum([v for v in values if v is not None] if isinstance(values, list) else [])
        types = _types(schema)
        if types == ["object"] and isinstance(schema.get("properties"), dict):
            return self._object([(schema, resolver)], label)
        if types == ["array"]:
            return GraphQLList(self.type_of(schema.get("items", True), resolver, f"{label}[]"))
        return self._scalar(types) if types else ANY

    def _object(self, parts: list[tuple[dict[str, Any], Any]], label: str) -> JsonObject:
        key = tuple(id(part) for part, _ in parts)
        if key in self.objects:
            return self.objects[key]
        required = {name for part, _ in parts for name in part.get("required") or ()}
        closed = any(
            part.get("additionalProperties") is False or part.get("unevaluatedProperties") is False
            for part, _ in parts
        )

        def fields() -> dict[str, GraphQLInputField]:
            out = {}
            for part, resolver in parts:
                for name, sub in (part.get("properties") or {}).items():
                    type_ = self.type_of(sub, resolver, f"{label}.{name}")
                    out[str(name)] = GraphQLInputField(GraphQLNonNull(type_) if name in required else type_)
            return out

        self.objects[key] = JsonObject(label, fields, open_=not closed)
        return self.objects[key]

    def _either(self, branches: list[Any], resolver: Any, label: str) -> Any:
        """``anyOf``/``oneOf``: one non-null branch is that branch; simple types join; else anything."""
        resolved = [_deref(branch, resolver, label) for branch in branches]
        kept = [
            (s, r)
            for s, r, _ in resolved
            if not (isinstance(s, dict) and s.get("type") in ("null", ["null"]))
        ]
        if len(kept) == 1:
            return self.type_of(kept[0][0], kept[0][1], label)
        simple = all(isinstance(s, dict) and set(s) <= {"type", "format", "description"} for s, _ in kept)
        types = sorted({t for s, _ in kept for t in _types(s)}) if simple else []
        return self._scalar(types) if types else ANY

    def _scalar(self, types: list[str]) -> GraphQLScalarType:
        label = " or ".join(types)
        if label not in self.scalars:
            kinds = tuple(dict.fromkeys(kind for t in types for kind in _KINDS.get(t, ())))
            self.scalars[label] = GraphQLScalarType(_name(label), extensions={"label": label, "kinds": kinds})
        return self.scalars[label]

    def _enum(self, values: list[Any]) -> GraphQLScalarType:
        kinds = tuple(dict.fromkeys(kind_of(v) for v in values))
        return GraphQLScalarType("enum", extensions={"label": "enum", "kinds": kinds, "enum": values})


def _types(schema: dict[str, Any]) -> list[str]:
    """The JSON types a schema declares (or implies by ``properties``/``items``), without null."""
    declared = schema.get("type")
    if declared is None:
        declared = "object" if "properties" in schema else "array" if "items" in schema else []
    listed = [declared] if isinstance(declared, str) else list(declared)
    return [t for t in listed if t in _KINDS]


def _deref(schema: Any, resolver: Any, label: str) -> tuple[Any, Any, str]:
    """``schema`` with its ``$ref`` followed (a named schema names the type: ``Address``)."""
    for _ in range(_MAX_REFS):
        if not (isinstance(schema, dict) and isinstance(schema.get("$ref"), str)):
            return schema, resolver, label
        ref = schema["$ref"]
        try:
            resolved = resolver.lookup(ref)
        except _UNRESOLVED:
            raise ConfigError(f"{label}: $ref {ref!r} leads nowhere", option="pointer") from None
        schema, resolver, label = resolved.contents, resolved.resolver, ref.rsplit("/", 1)[-1] or label
    raise ConfigError(f"{label}: more than {_MAX_REFS} $refs in a row", option="pointer")


def _all_of(schema: dict[str, Any], resolver: Any, label: str) -> Iterator[tuple[dict[str, Any], Any]]:
    """The object parts an ``allOf`` joins, nested ``allOf`` flattened, the schema's own properties too."""
    own = {key: value for key, value in schema.items() if key != "allOf"}
    if own:
        yield own, resolver
    for branch in schema["allOf"]:
        part, where, _ = _deref(branch, resolver, label)
        if isinstance(part, dict) and "allOf" in part:
            yield from _all_of(part, where, label)
        elif isinstance(part, dict):
            yield part, where


# --- the record, as the target sends it -------------------------------------------------------


def record_shape(located: Located, *, wrapper: str | None, batched: bool) -> RecordShape | None:
    """The record inside the body (``wrapper``'s value, a ``batch``'s items), or None (anything)."""
    resolved = located.registry.resolver(located.uri).lookup(located.pointer)
    label = located.pointer.rsplit("/", 1)[-1] if located.pointer != "#" else "body"
    if isinstance(resolved.contents, dict) and isinstance(resolved.contents.get("title"), str):
        label = resolved.contents["title"]
    type_ = _Converter().type_of(resolved.contents, resolved.resolver, label)
    for step in (wrapper, "[]" if batched else None):
        if step is None or type_ is ANY:
            continue
        inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if step == "[]" and isinstance(inner, GraphQLList):
            type_ = inner.of_type
        elif step != "[]" and isinstance(inner, JsonObject) and step in inner.fields:
            type_ = inner.fields[step].type
        else:
            why = (
                f"has no property '{step}' (wrapper: {step} sends the records in it)"
                if step != "[]"
                else "is not a list (body: batch)"
            )
            raise ConfigError(f"the body schema at {located.pointer} {why}", option="pointer")
    type_ = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    check = _checker(located, wrapper=wrapper, batched=batched)
    if isinstance(type_, JsonObject):
        return RecordShape(
            type_.extensions["label"], type_.fields, open=type_.extensions["open"], check=check
        )
    kinds = type_.extensions.get("kinds") if isinstance(type_, GraphQLScalarType) else ("array",)
    if kinds and "object" not in kinds:
        raise ConfigError(
            f"the body schema at {located.pointer} takes {shown(type_)}, but each mapped record is an object",
            option="pointer",
        )
    return RecordShape("body", {}, open=True, check=check)


def _checker(located: Located, *, wrapper: str | None, batched: bool) -> Callable[[Any], list[str]]:
    """``record -> problems``: the body the record would be sent in, validated by jsonschema."""
    validator = located.validator({"$ref": f"{located.uri}{located.pointer}"}, registry=located.registry)
    depth = int(batched) + int(wrapper is not None)

    def check(record: Any) -> list[str]:
        body: Any = [record] if batched else record
        body = {wrapper: body} if wrapper is not None else body
        out = []
        for error in sorted(validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path]):
            path = list(error.absolute_path)
            where = _render(path[depth:]) if len(path) >= depth else "(body)"
            out.append(f"{where}: {error.message}")
        return out

    return check


def _render(path: list[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "(record)"
