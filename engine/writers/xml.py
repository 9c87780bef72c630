"""XML writer: one element per record under a root, streamed.

```yaml
target:
  type: file
  writer: {type: xml, root: Orders, record: Order}
  destination: {type: local, path: out}
```

A mapped record is written with the parser's model in reverse: ``@name``
keys become attributes of their element, ``#text`` its text, nested objects
child elements, lists repeated elements of the same name, null an empty
element. So ``{"@ref": "O1", "Line": [{"sku": "A"}, {"sku": "B"}]}`` is
``<Order ref="O1"><Line><sku>A</sku></Line><Line><sku>B</sku></Line></Order>``.

The output is well-formed whatever the values hold: markup characters are
escaped, a carriage return is written as ``&#13;`` so it reads back
unchanged, and characters XML 1.0 cannot carry at all (most control
characters) reject the record naming the field, or are replaced by U+FFFD
with ``invalid_chars: replace``. A key that is not a valid XML name rejects
its record too. Records are serialised one by one and only complete ones
reach the file.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

from typing_extensions import override

from engine.contracts import Writer

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "root": {"type": "string", "minLength": 1, "default": "records", "description": "the root element"},
        "record": {
            "type": "string",
            "minLength": 1,
            "default": "record",
            "description": "each record's element",
        },
        "namespaces": {
            "type": "object",
            "additionalProperties": {"type": "string", "minLength": 1},
            "default": {},
            "description": 'prefix: URI declared on the root ("" for the default namespace), so '
            "names such as ns:Item can be used",
        },
        "declaration": {"type": "boolean", "default": True, "description": "start with <?xml version=...?>"},
        "pretty": {"type": "boolean", "default": False, "description": "indent elements, one per line"},
        "encoding": {
            "type": "string",
            "default": "utf-8",
            "description": "characters the encoding lacks are written as character references",
        },
        "invalid_chars": {
            "enum": ["reject", "replace"],
            "default": "reject",
            "description": "characters XML cannot hold (control characters): reject the record, "
            "or replace them with U+FFFD",
        },
    },
}


@dataclasses.dataclass
class XmlWriterOptions:
    """A validated ``writer: {type: xml}`` block; defaults and meanings are in :data:`SCHEMA`."""

    root: str
    record: str
    namespaces: dict[str, str]
    declaration: bool
    pretty: bool
    encoding: str
    invalid_chars: str


_START = (
    r":A-Z_a-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D"
    r"\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\U00010000-\U000EFFFF"
)
_NAME = re.compile(f"[{_START}][{_START}\\-.0-9\u00b7\u0300-\u036f\u203f-\u2040]*")
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
)


class _Bad(Exception):
    """A record that cannot be written as XML; the message names the field."""


class XmlWriter(Writer):
    """Writes one XML document, a record element at a time, with the XML parser's model in reverse.

    Names in the options are checked when the spec compiles (see :meth:`problems`);
    names in records as they are written, a bad one rejecting its record.
    """

    name = "xml"
    summary = "XML: a root element holding one element per record"
    extension = "xml"
    schema = SCHEMA
    Options = XmlWriterOptions

    def __init__(self, options: XmlWriterOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self._problems: list[tuple[tuple, str]] = []
        for where, value in (
            (("root",), options.root),
            (("record",), options.record),
            *((("namespaces", p), p) for p in options.namespaces if p),
        ):
            if _NAME.fullmatch(value) is None or (where[0] == "namespaces" and ":" in value):
                self._problems.append((where, f"{value!r} is not a valid XML name"))
        import codecs

        try:
            codecs.lookup(options.encoding)
        except LookupError:
            self._problems.append(
                (("encoding",), f"unknown encoding {options.encoding!r} (e.g. utf-8, iso-8859-1)")
            )
        self.names: set[str] = set()
        #: values are checked for characters XML cannot hold (only when a record holds one)
        self.checked = False

    def problems(self) -> list[tuple[tuple, str]]:
        """Invalid element or prefix names and an unknown encoding, each at its own spec path."""
        return self._problems

    @override
    def begin(self, stream: IO[bytes], meta: Mapping[str, Any]) -> None:
        opts = self.options
        self.stream = stream
        head = f'<?xml version="1.0" encoding="{opts.encoding.upper()}"?>\n' if opts.declaration else ""
        spaces = "".join(
            f' xmlns{":" + p if p else ""}="{uri.translate(_ATTR)}"' for p, uri in opts.namespaces.items()
        )
        self._emit(f"{head}<{opts.root}{spaces}>")
        self.sep = "\n  " if opts.pretty else ""

    def _emit(self, text: str) -> None:
        self.stream.write(text.encode(self.options.encoding, "xmlcharrefreplace"))

    @override
    def write(self, records: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]] | None:
        problems: list[tuple[int, str]] = []
        parts: list[str] = []
        indent = "  " if self.options.pretty else None
        for i, record in enumerate(records):
            out: list[str] = []
            try:
                self.checked = False
                self._element(self.options.record, record, out, indent, "")
                text = "".join(out)
                if _INVALID.search(text):  # rare: serialise again, checking each value to name the field
                    self.checked = True
                    out = []
                    self._element(self.options.record, record, out, indent, "")
                    text = "".join(out)
            except _Bad as exc:
                problems.append((i, str(exc)))
                continue
            parts.append(self.sep + text)
        if parts:
            self._emit("".join(parts))
        return problems or None

    @override
    def end(self) -> None:
        self._emit(("\n" if self.options.pretty else "") + f"</{self.options.root}>\n")

    # -- serialisation -------------------------------------------------------------------

    def _name(self, name: Any, field: str) -> str:
        if name in self.names:
            return name
        if not isinstance(name, str) or _NAME.fullmatch(name) is None:
            raise _Bad(f"{field}: {name!r} is not a valid XML name")
        if len(self.names) < 10000:
            self.names.add(name)
        return name

    def _text(self, value: Any, field: str, table: dict) -> str:
        if type(value) is str:
            text = value
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float | Decimal):
            text = str(value)
        elif isinstance(value, datetime | date | time):
            text = value.isoformat()
        elif isinstance(value, bytes | bytearray):
            text = base64.b64encode(value).decode("ascii")
        else:
            raise _Bad(f"{field}: a {type(value).__name__} cannot be written as XML text")
        if self.checked and _INVALID.search(text):
            if self.options.invalid_chars == "replace":
                text = _INVALID.sub("\ufffd", text)
            else:
                bad = _INVALID.search(text).group()  # type: ignore[union-attr]
                raise _Bad(
                    f"{field}: the value holds character U+{ord(bad):04X}, which XML 1.0 cannot "
                    "represent (set writer.invalid_chars: replace to write U+FFFD instead)"
                )
        if table is _TEXT:
            return (
                text.translate(table) if ("&" in text or "<" in text or ">" in text or "\r" in text) else text
            )
        return text.translate(table)

    def _element(self, name: str, value: Any, out: list[str], indent: str | None, field: str) -> None:
        tag = self._name(name, field or name)
        if value is None:
            out.append(f"<{tag}/>")
            return
        if type(value) is not dict and not isinstance(value, Mapping):
            out.append(f"<{tag}>{self._text(value, field, _TEXT)}</{tag}>")
            return
        attrs, children, text = self._members(value, field)
        out.append(f"<{tag}{''.join(attrs)}")
        if not children and text is None:
            out.append("/>")
            return
        out.append(">")
        if text is not None:
            out.append(text)
        inner = indent + "  " if indent is not None and text is None else None
        wrote = False
        for key, v, path in children:
            for one in v if type(v) is list or isinstance(v, tuple) else (v,):
                if isinstance(one, list | tuple):
                    raise _Bad(f"{path}: a list inside a list cannot be written as XML elements")
                if inner is not None:
                    out.append("\n" + inner)
                self._element(key, one, out, inner, path)
                wrote = True
        if inner is not None and wrote:
            out.append("\n" + indent)  # type: ignore[operator]
        out.append(f"</{tag}>")

    def _members(
        self, value: Mapping[Any, Any], field: str
    ) -> tuple[list[str], list[tuple[str, Any, str]], str | None]:
        """Sort an object's keys into rendered attributes, child elements and escaped ``#text``.

        Children come back as ``(key, value, field path)`` in their order, to be written by the caller.
        """
        attrs: list[str] = []
        children: list[tuple[str, Any, str]] = []
        text = None
        for key, v in value.items():
            path = f"{field}.{key}" if field else str(key)
            if key == "#text":
                if v is not None:
                    text = self._text(v, path, _TEXT)
            elif isinstance(key, str) and key[:1] == "@":
                if isinstance(v, dict | list | tuple | Mapping):
                    raise _Bad(f"{path}: an attribute needs a single value, not a {type(v).__name__}")
                if v is not None:
                    attrs.append(f' {self._name(key[1:], path)}="{self._text(v, path, _ATTR)}"')
            else:
                children.append((key, v, path))
        return attrs, children, text
