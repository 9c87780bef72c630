"""Resolvers that build, pick or look up values: JSON, XML, lists, fallbacks, templates and lookup tables.

The ones that read other fields (``coalesce``, ``concat``, ``template``)
take paths in the mapping's one path language, parsed when the mapping is
compiled. They see the record the field is mapped from; inside ``each``
that is the item, and ``$context.*`` works everywhere.

Example::

    fields:
      ref:      {resolver: {name: template, args: "{sku}:{location}"}}
      name:     {source: display_name, resolver: {name: coalesce, args: [name, title]}}
      status:   {source: status, resolver: {name: map, args: {table: {A: ACTIVE, I: INACTIVE}}}}
      tags:     {source: tags, resolver: {name: split, args: {sep: "|"}}}
      order:    {source: payload, resolver: xml}
"""

from __future__ import annotations

import decimal
import io
import json
from typing import Any

from engine.contracts import Resolver, ResolverFunction
from engine.errors import DataError
from engine.mapping.paths import parse_path
from engine.mapping.resolvers._common import ValueFunction, as_text, invalid, is_blank
from engine.mapping.resolvers._jsjson import problem
from engine.mapping.resolvers._lookup import make_map
from engine.mapping.resolvers.template import compile_template


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_decode = json.JSONDecoder(parse_constant=_no_constants).decode


def make_json() -> ValueFunction:
    """Build ``json``: text parsed as strict JSON (no NaN), other values unchanged; blank text is missing."""

    def fn(value: Any) -> Any:
        if type(value) is not str:
            return value
        try:
            return _decode(value)
        except ValueError as exc:
            if is_blank(value):
                return None
            raise invalid(value, "valid JSON", problem(exc)) from None

    return fn


def make_xml(*, force_list: list[str] | None = None) -> ValueFunction:
    """Build ``xml``: text parsed as an XML document into the XML parser's model, other values unchanged.

    The parser is the ``xml`` parser itself (its hardening too: no DTD or
    entity is fetched, a document declaring entities is refused, nesting is
    bounded), so an escaped payload inside a webhook body reads exactly as
    the same document read from a file: the root element's attributes
    (``@name``), children and text. Blank text is missing.
    """
    from engine.contracts import Item
    from engine.errors import ParseError
    from engine.parsers.xml import SCHEMA, XmlOptions, XmlParser
    from engine.spec.options import build_options

    block = {"records": "*", "force_list": list(force_list or [])}
    parser = XmlParser(build_options(XmlOptions, SCHEMA, block, ("resolver",), None), path="resolver xml")
    item = Item(uri="field://xml", name="the field's XML")

    def fn(value: Any) -> Any:
        if type(value) is not str:
            return value
        if is_blank(value):
            return None
        try:
            records = [
                r for chunk in parser.parse(io.BytesIO(value.encode()), item, None) for r in chunk.records
            ]
        except ParseError as exc:
            raise invalid(value, "an XML document", exc.message) from None
        if len(records) != 1:
            raise invalid(value, "an XML document", "no root element")
        return records[0]

    return fn


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} has no JSON form")


def make_to_json(*, sort_keys: bool = False) -> ValueFunction:
    """Build ``to_json``: compact JSON text; dates as ISO 8601, decimals exact, NaN and infinities errors."""

    def fn(value: Any) -> str:
        try:
            return json.dumps(
                value,
                separators=(",", ":"),
                ensure_ascii=False,
                allow_nan=False,
                sort_keys=sort_keys,
                default=_json_default,
            )
        except ValueError:
            raise DataError("cannot be written as JSON: NaN and infinities have no JSON form") from None
        except TypeError as exc:
            raise DataError(f"cannot be written as JSON: {exc}") from None

    return fn


def make_split(
    *, sep: str = ",", index: int | None = None, trim: bool = True, skip_empty: bool = False
) -> ValueFunction:
    """Build ``split``: the list of parts of the value's text, or the part at ``index`` (None past the end).

    Blank text is missing.
    """

    def fn(value: Any) -> Any:
        text = value if type(value) is str else as_text(value)
        if not text or text.isspace():
            return None
        parts = text.split(sep)
        if trim:
            parts = [p.strip() for p in parts]
        if skip_empty:
            parts = [p for p in parts if p]
        if index is None:
            return parts
        try:
            return parts[index]
        except IndexError:
            return None

    return fn


def _flatten(items: list[Any] | tuple[Any, ...], out: list[str]) -> list[str]:
    for item in items:
        if isinstance(item, list | tuple):
            _flatten(item, out)
        elif item is not None:
            out.append(item if type(item) is str else as_text(item))
    return out


def make_join(*, sep: str = ",") -> ValueFunction:
    """Build ``join``: a list's items (nested lists flattened, None skipped) as text joined by ``sep``."""

    def fn(value: Any) -> str:
        if isinstance(value, list | tuple):
            return sep.join(_flatten(value, []))
        return value if type(value) is str else as_text(value)

    return fn


def make_concat(*, paths: list[str], sep: str = "", skip_missing: bool = True) -> ResolverFunction:
    """Build ``concat``: the value and the values at ``paths``, as text joined by ``sep``.

    Its ``reads`` tell the compiler which paths' values to pass in. A
    missing value is skipped, or a :class:`DataError` with ``skip_missing:
    false`` (the field's own value is always skipped when missing).
    """
    for p in paths:
        parse_path(p)  # a malformed path is a compile-time error

    def text(got: Any, path: str) -> str | None:
        if got is None or (type(got) is str and (not got or got.isspace())):
            if skip_missing:
                return None
            raise DataError(f"nothing at {path!r} to concatenate")
        return got if type(got) is str else as_text(got)

    if len(paths) == 1:
        only = paths[0]

        def fn1(value: Any, got: Any) -> str | None:
            # the common case, kept cheap: "SKU" + ":" + "LOC"
            if (
                type(value) is str
                and value
                and type(got) is str
                and got
                and not value.isspace()
                and not got.isspace()
            ):
                return value + sep + got
            head = None if is_blank(value) else (value if type(value) is str else as_text(value))
            tail = text(got, only)
            parts = [p for p in (head, tail) if p is not None]
            return sep.join(parts) if parts else None

        return ResolverFunction(fn1, reads=(only,))

    def fn(value: Any, *values: Any) -> str | None:
        parts = [] if is_blank(value) else [value if type(value) is str else as_text(value)]
        for path, got in zip(paths, values, strict=True):
            piece = text(got, path)
            if piece is not None:
                parts.append(piece)
        return sep.join(parts) if parts else None

    return ResolverFunction(fn, reads=tuple(paths))


def make_template(*, template: str, missing: str = "error") -> ResolverFunction:
    """Build ``template``: text with ``{path}`` holes filled; a blank hole is a DataError, or left empty with ``missing: empty``."""
    return compile_template(template, empty_when_missing=missing == "empty")


def make_coalesce(*, paths: list[str]) -> ResolverFunction:
    """Build ``coalesce``: the value, else the first non-blank value at ``paths`` (read in order), else None."""
    for p in paths:
        parse_path(p)

    def fn(value: Any, *values: Any) -> Any:
        if not is_blank(value):
            return value
        for got in values:
            if not is_blank(got):
                return got
        return None

    return ResolverFunction(fn, reads=tuple(paths))


def make_default(*, value: Any) -> ValueFunction:
    """Build ``default``: ``value`` in place of a missing or blank value."""
    fallback = value

    def fn(value: Any) -> Any:
        return fallback if is_blank(value) else value

    return fn


_PATHS = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "string", "minLength": 1},
    "description": "paths in the mapping's path language",
}

RESOLVERS = [
    Resolver("json", make_json, summary="Parse JSON text; invalid JSON is an error."),
    Resolver(
        "xml",
        make_xml,
        summary="Parse XML text (an escaped payload) as the xml parser reads a record; invalid XML is an error.",
        args={
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "force_list": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "default": [],
                    "description": "element names that are always lists, as the xml parser's force_list",
                }
            },
        },
    ),
    Resolver(
        "to_json",
        make_to_json,
        returns="string",
        summary="Compact JSON text of a value.",
        args={
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "sort_keys": {"type": "boolean", "default": False},
            },
        },
    ),
    Resolver(
        "split",
        make_split,
        shorthand="sep",
        summary="Split text into a list (or pick one item).",
        args={
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "sep": {"type": "string", "minLength": 1, "default": ","},
                "index": {
                    "type": ["integer", "null"],
                    "default": None,
                    "description": "pick this item (negative counts from the end); missing if absent",
                },
                "trim": {"type": "boolean", "default": True},
                "skip_empty": {"type": "boolean", "default": False},
            },
        },
    ),
    Resolver(
        "join",
        make_join,
        returns="string",
        shorthand="sep",
        summary="Join a list (nested lists flattened) into text.",
        args={
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "sep": {"type": "string", "default": ","},
            },
        },
    ),
    Resolver(
        "concat",
        make_concat,
        returns="string",
        accepts_missing=True,
        shorthand="paths",
        summary="The value followed by the values at paths, joined by sep.",
        args={
            "type": "object",
            "additionalProperties": False,
            "required": ["paths"],
            "properties": {
                "paths": _PATHS,
                "sep": {"type": "string", "default": ""},
                "skip_missing": {
                    "type": "boolean",
                    "default": True,
                    "description": "leave out missing parts; false makes them an error",
                },
            },
        },
    ),
    Resolver(
        "template",
        make_template,
        returns="string",
        accepts_missing=True,
        shorthand="template",
        summary="Text from a template such as '{sku}:{location}'; {} is the value itself.",
        args={
            "type": "object",
            "additionalProperties": False,
            "required": ["template"],
            "properties": {
                "template": {"type": "string"},
                "missing": {
                    "enum": ["error", "empty"],
                    "default": "error",
                    "description": "what a missing path gives: an error, or empty text",
                },
            },
        },
    ),
    Resolver(
        "coalesce",
        make_coalesce,
        accepts_missing=True,
        shorthand="paths",
        summary="The value, or the first non-empty value at paths.",
        args={
            "type": "object",
            "additionalProperties": False,
            "required": ["paths"],
            "properties": {"paths": _PATHS},
        },
    ),
    Resolver(
        "default",
        make_default,
        accepts_missing=True,
        shorthand="value",
        summary="The value, or this one when it is missing or empty.",
        args={
            "type": "object",
            "additionalProperties": False,
            "required": ["value"],
            "properties": {"value": {"description": "any value"}},
        },
    ),
    Resolver(
        "map",
        make_map,
        summary="Look the value up in a table or a CSV file.",
        args={
            "type": "object",
            "additionalProperties": False,
            "oneOf": [{"required": ["table"]}, {"required": ["file"]}],
            "properties": {
                "table": {"type": "object", "description": "from -> to"},
                "file": {
                    "type": "string",
                    "minLength": 1,
                    "description": "a CSV file with a header, relative to the spec",
                },
                "key": {
                    "type": ["string", "null"],
                    "default": None,
                    "description": "column of the keys; null means the first",
                },
                "value": {
                    "type": ["string", "null"],
                    "default": None,
                    "description": "column of the values; null means the second",
                },
                "default": {"description": "result for unknown keys; without it they are errors"},
                "ignore_case": {"type": "boolean", "default": False},
            },
        },
    ),
]
