"""``sdk.nodes``: the Fluent SDK's ``mapWithNodes`` nodes, decoded into the record they are read from.

The SDK's GraphQL mutation mapper reads a record and its *nodes* together:
each node is the value at its ``extract`` path, optionally HTML-unescaped
(``unescape: true``) and parsed (``parse: json`` or ``xml``), and fields read
``$name.path`` inside it. The SDK builds ``{...record, ...nodes}``; so does
this resolver, and a ``fields`` block whose source is ``$record`` and whose
resolver is ``sdk.nodes`` then reads nodes as ``name.path``
(:mod:`engine.mapping.sdk_graphql` writes that block). Example::

    fields:
      input:
        source: $record
        resolver: {name: sdk.nodes, args: {nodes: {order: {extract: body.payload, parse: json}}}}
        fields: {ref: {source: order.ref}}

As in the SDK: a node whose value is empty (missing, ``""``, ``0``, false)
is left out; ``unescape`` decodes the SDK's table of named entities
(case-insensitive) and numeric ones, from text or from an XML element's
text; ``parse: xml`` gives ``{root: element}``, attributes as ``@name``.
Unlike the SDK, the XML parser is the engine's hardened one (no DTD or
entity is fetched, entity declarations are refused, nesting is bounded),
and invalid JSON or XML rejects the record naming the node.
"""

from __future__ import annotations

import io
import re
from typing import Any

from engine.contracts import Resolver
from engine.errors import DataError
from engine.mapping.paths import Scope, compile_getter, parse_path
from engine.mapping.resolvers._common import ValueFunction
from engine.mapping.resolvers.sdk import make_parse_json
from engine.mapping.resolvers.structured import make_xml

#: the SDK's named entities (``utils/html-entities``), matched case-insensitively as there
ENTITIES = {
    "&amp;": "&",
    "&lt;": "<",
    "&gt;": ">",
    "&quot;": '"',
    "&apos;": "'",
    "&#39;": "'",
    "&nbsp;": " ",
    "&ensp;": " ",
    "&emsp;": " ",
    "&thinsp;": " ",
    "&copy;": "©",
    "&reg;": "®",
    "&trade;": "™",
    "&euro;": "€",
    "&pound;": "£",
    "&yen;": "¥",
    "&cent;": "¢",
    "&ndash;": "–",
    "&mdash;": "—",
    "&lsquo;": "\u2018",
    "&rsquo;": "\u2019",
    "&ldquo;": "\u201c",
    "&rdquo;": "\u201d",
    "&sbquo;": "\u201a",
    "&bdquo;": "\u201e",
    "&times;": "×",
    "&divide;": "÷",
    "&plusmn;": "±",
    "&minus;": "−",
    "&larr;": "←",
    "&rarr;": "→",
    "&uarr;": "↑",
    "&darr;": "↓",
}
_NO_SCOPE = Scope()  # extract paths read the record only
_NAMED = re.compile(r"&[a-z]+;", re.IGNORECASE)
_DECIMAL = re.compile(r"&#(\d+);")
_HEX = re.compile(r"&#x([0-9a-f]+);", re.IGNORECASE)

NODES_ARGS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["nodes"],
    "properties": {
        "nodes": {
            "type": "object",
            "description": "node name -> {extract: PATH, unescape: bool, parse: json|xml}",
            "additionalProperties": {
                "type": "object",
                "required": ["extract"],
                "properties": {
                    "extract": {"type": "string", "minLength": 1},
                    "unescape": {"type": "boolean", "default": False},
                    "parse": {"enum": ["json", "xml"]},
                },
            },
        }
    },
}


def _code_point(match: re.Match[str], base: int) -> str:
    code = int(match.group(1), base)
    return chr(code) if code <= 0x10FFFF else match.group(0)


def unescape(text: str) -> str:
    """The SDK's ``decodeHTMLEntities``: its named entities, then decimal, then hexadecimal ones."""
    text = _NAMED.sub(lambda m: ENTITIES.get(m.group(0).lower(), m.group(0)), text)
    text = _DECIMAL.sub(lambda m: _code_point(m, 10), text)
    return _HEX.sub(lambda m: _code_point(m, 16), text)


def _text_of(value: Any, name: str) -> str:
    """The text a node holds: itself, or an XML element's text (``_``, ``#text``, ``value``) as the SDK takes it."""
    if isinstance(value, dict):
        value = next((value[k] for k in ("_", "#text", "value") if value.get(k)), value)
    if isinstance(value, dict | list):
        raise DataError(f"node '{name}': unescape needs text, not {type(value).__name__}")
    return value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


def _empty(value: Any) -> bool:
    """What JavaScript's ``!value`` holds for a JSON value: missing, ``""``, 0 or false."""
    return value is None or value is False or value == "" or (type(value) in (int, float) and value == 0)


def _xml_root(text: str) -> str:
    """The root element's name of a document the hardened parser already read."""
    from lxml import etree

    from engine.parsers.xml import Namer

    events = etree.iterparse(
        io.BytesIO(text.encode()), events=("start",), resolve_entities=False, no_network=True, load_dtd=False
    )
    _, element = next(iter(events))
    return Namer({}).name(element.tag)


def make_nodes(*, nodes: dict[str, dict[str, Any]]) -> ValueFunction:
    """Build ``sdk.nodes``: the record with each node's decoded value under the node's name."""
    as_json, as_xml = make_parse_json(), make_xml()
    readers = []
    for name, node in nodes.items():
        path = parse_path(node["extract"])
        if path.variable is not None:
            raise ValueError(f"node '{name}': extract reads the record, not {path.variable}")
        readers.append((name, compile_getter(path), bool(node.get("unescape")), node.get("parse")))

    def decode(name: str, value: Any, unescaped: bool, parse: str | None) -> Any:
        if unescaped:
            value = unescape(_text_of(value, name))
        if parse == "json":
            return as_json(value)
        if parse == "xml" and isinstance(value, str):
            parsed = as_xml(value)
            return None if parsed is None else {_xml_root(value): parsed}
        return value

    def fn(record: Any) -> Any:
        if not isinstance(record, dict):
            return record
        out = dict(record)
        for name, get, unescaped, parse in readers:
            value = get(record, _NO_SCOPE)
            if _empty(value):
                continue
            try:
                out[name] = decode(name, value, unescaped, parse)
            except DataError as exc:
                raise DataError(f"node '{name}' ({parse or 'unescape'}): {exc.message}") from None
        return out

    return fn


RESOLVERS = [
    Resolver(
        "sdk.nodes",
        make_nodes,
        args=NODES_ARGS,
        summary="The SDK's mapWithNodes nodes (extract, unescape, parse json/xml) added to the record.",
        returns="object",
    ),
]
