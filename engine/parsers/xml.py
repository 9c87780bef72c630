"""XML parser: record elements streamed one by one, text kept as text.

```yaml
parser:
  type: xml
  records: InventoryUpdate/Items/Item
  force_list: [Line]
```

``records`` names the record elements by their path from the root
(``InventoryUpdate/Items/Item``), at any depth (``//Item``) or with ``*``
for any name; without it every child of the root element is a record. Each
record element becomes a dict once its end tag is read, and is then freed
along with everything before it, so memory stays flat on files of any size.

Element → value, the model of docs/formats.md: attributes are ``@name``
keys; an element with only text is its text, exactly as written (no
trimming, no numbers: ``01234567890128`` stays a string); an empty one is
null; text beside attributes or children is ``#text`` (trimmed when it sits
between children); a repeated child is a list and a single one is not,
unless its name is in ``force_list``. Namespaces are dropped from names
unless ``namespaces`` maps a prefix to their URI. A record is always a dict.

Hostile input is refused before it can do harm: no DTD or external entity
is ever fetched and no network is used, a document that declares entities
is refused (expansion bombs, ``file://`` entities), nesting is limited by
``max_depth`` and a record's size by ``max_element_bytes`` (such a record is
rejected, the others flow). Malformed XML stops the file with its line and
column; the records before that point have been read.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from typing import IO, Any

from typing_extensions import override

from engine.contracts import Chunk, Item, Parser, ParseReject, RunContext
from engine.errors import ConfigError, ParseError
from engine.parsers._xml_input import BadBytes, XmlInput
from engine.parsers._xml_model import Namer as Namer  # public: how element names become keys
from engine.parsers._xml_model import TooDeep, converter
from engine.units import size

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "records": {
            "type": "string",
            "minLength": 1,
            "description": "path of the record elements: Root/Items/Item, //Item (any depth), * (any "
            "name); default: the children of the root element",
        },
        "force_list": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "default": [],
            "description": "element names whose values are always lists, even when they occur once",
        },
        "namespaces": {
            "type": "object",
            "additionalProperties": {"type": "string", "minLength": 1},
            "default": {},
            "description": "prefix: namespace URI; names in these namespaces keep the prefix "
            "(ns:Item), all others lose their namespace",
        },
        "encoding": {
            "type": ["string", "null"],
            "default": None,
            "description": "read the file in this encoding whatever its declaration says",
        },
        "max_depth": {
            "type": "integer",
            "minimum": 2,
            "maximum": 256,
            "default": 64,
            "description": "deeper nesting stops the file (protects against nesting bombs)",
        },
        "max_element_bytes": size(
            "a larger record element is rejected (protects memory); measured to within 64 KiB",
            default="16MiB",
        ),
        "chunk_size": {"type": "integer", "minimum": 1, "maximum": 1000000, "default": 5000},
    },
}


@dataclasses.dataclass
class XmlOptions:
    """A validated ``parser: {type: xml}`` block; defaults and meanings are in :data:`SCHEMA`."""

    records: str | None
    force_list: list[str]
    namespaces: dict[str, str]
    encoding: str | None
    max_depth: int
    max_element_bytes: int
    chunk_size: int


_NAME = re.compile(r"^(?:\*|[^\s/\[\]@*]+)$")
_HINTS = {
    "Premature end of data": "the file looks truncated",
    "EndTag: '</' not found": "the file looks truncated",
    "Invalid bytes in character encoding": "the bytes are not valid in the document's encoding; "
    "set parser.encoding if its declaration is wrong",
    "Input is not proper UTF-8": "the bytes are not valid UTF-8; set parser.encoding if the file uses another",
    "not defined": "XML knows only &amp; &lt; &gt; &quot; &apos; and numeric references such as &#160;",
    "Huge input lookup": "a single value is larger than 10 MB",
    "Text node too long": "a single value is larger than 10 MB",
}


def compile_record_path(text: str) -> tuple[Callable[[str], bool], Callable[[str], bool], str | None]:
    """``(is_record, is_parent, root)`` for a records path.

    Both predicates take the element's path as ``/Root/Items/Item``; ``root``
    is the root element name an absolute path requires (None with ``//``
    or ``*`` first).
    """
    body = text.strip()
    if body.startswith("/") and not body.startswith("//"):
        body = body[1:]
    if not body or body.endswith("/") or "///" in body:
        raise ConfigError(f"malformed records path {text!r}", hint="e.g. Root/Items/Item or //Item")
    pieces: list[str] = []
    names: list[str] = []
    descendant = False
    for segment in body.split("/"):
        if segment == "":
            descendant = True
            continue
        if not _NAME.match(segment):
            raise ConfigError(f"malformed records path {text!r}: {segment!r} is not an element name or *")
        name = "[^/]+" if segment == "*" else re.escape(segment)
        pieces.append(("(?:/[^/]+)*/" if descendant else "/") + name)
        names.append(segment)
        descendant = False
    record = re.compile("".join(pieces))
    parent = re.compile("".join(pieces[:-1])) if len(pieces) > 1 else None
    root = names[0] if not body.startswith("//") and names[0] != "*" else None

    def is_parent(path: str) -> bool:
        return parent is None or parent.fullmatch(path) is not None

    return (lambda path: record.fullmatch(path) is not None), is_parent, root


class XmlParser(Parser):
    """Streams XML record elements as dicts with lxml, hardened against hostile input.

    Option mistakes are collected in the constructor (see :meth:`problems`);
    the plugin still builds, with safe defaults, so validation reports them all.
    """

    name = "xml"
    summary = "XML with a record path; streamed, attributes kept, text never coerced"
    schema = SCHEMA
    Options = XmlOptions

    def __init__(self, options: XmlOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self._problems: list[tuple[tuple, str]] = []
        try:
            self.is_record, self.is_parent, self.root = compile_record_path(options.records or "/*/*")
        except ConfigError as exc:
            self._problems.append((("records",), str(exc)))
            self.is_record, self.is_parent, self.root = compile_record_path("/*/*")
        self.max_bytes: int = options.max_element_bytes
        if self.max_bytes < 65536:
            self._problems.append(
                (("max_element_bytes",), "must be at least 64KiB (it is measured to within 64 KiB)")
            )
        if options.encoding:
            import codecs

            try:
                codecs.lookup(options.encoding)
            except LookupError:
                self._problems.append(
                    (("encoding",), f"unknown encoding {options.encoding!r} (e.g. utf-8, iso-8859-1, cp1252)")
                )

    def problems(self) -> list[tuple[tuple, str]]:
        """Every mistake in the options, each at its own spec path (reported together by ``engine validate``)."""
        return self._problems

    @override
    def parse(self, stream: IO[bytes], item: Item, run: RunContext | None = None) -> Iterator[Chunk]:
        from lxml import etree

        reader = XmlInput(stream, item.name, self.options.encoding)
        events = etree.iterparse(
            reader,
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            encoding="utf-8" if self.options.encoding else None,
        )
        walk = _Walk(self, item)
        try:
            yield from walk.run(events, reader)
        except ParseError:
            yield from walk.flush()  # the records before the problem flow; the file still fails
            raise
        except BadBytes as exc:
            yield from walk.flush()
            raise ParseError(
                f"{item.name}:{exc.line}:{exc.column}: invalid XML after record {walk.n}: {exc}",
                hint="the bytes are not valid in the document's encoding; set parser.encoding if its "
                "declaration is wrong",
            ) from None
        except etree.XMLSyntaxError as exc:
            yield from walk.flush()
            raise ParseError(
                _syntax_message(exc, events.error_log, item, walk.n, reader.count, self.options.max_depth)
            ) from None
        except (etree.LxmlError, LookupError) as exc:
            yield from walk.flush()
            raise ParseError(f"{item.name}: cannot read the XML after record {walk.n}: {exc}") from None


class _Walk:
    """One pass over one document: the state of the event loop."""

    def __init__(self, parser: XmlParser, item: Item) -> None:
        opts = parser.options
        self.parser = parser
        self.item = item
        self.namer = Namer(opts.namespaces)
        self.value = converter(self.namer, frozenset(opts.force_list), opts.max_depth)
        self.locator = ""
        self.n = 0
        self.records: list[Any] = []
        self.positions: list[int] = []
        self.lines: list[int] = []
        self.locators: list[str] = []
        self.rejects: list[ParseReject] = []
        self.parent_seen = False

    def flush(self) -> Iterator[Chunk]:
        if self.records or self.rejects:
            yield Chunk(
                self.item,
                self.records,
                self.positions,
                None,
                self.lines,
                self.locators,
                rejects=self.rejects or None,
            )
            self.records, self.positions, self.lines, self.locators, self.rejects = [], [], [], [], []

    def run(self, events: Any, reader: XmlInput) -> Iterator[Chunk]:
        parser, item, name_of = self.parser, self.item, self.namer.name
        max_depth, max_bytes, size = parser.options.max_depth, parser.max_bytes, parser.options.chunk_size
        is_record, is_parent = parser.is_record, parser.is_parent
        paths = [""]  # paths of the open elements outside records, without indexes (for matching)
        where = [""]  # the same with indexes (for locators)
        siblings: list[dict[str, int]] = [{}]
        record: Any = None  # the record element being read
        record_start = 0
        oversized = False
        for event, el in events:
            if record is not None:  # inside a record only its size is watched; the hot path
                if el is not record:
                    if oversized:
                        if event == "end":
                            _free(el)
                    elif reader.count - record_start > max_bytes:
                        oversized = True
                    continue
                record = None
                self._record(el, oversized or reader.count - record_start > max_bytes, len(paths))
                _free(el)
                if len(self.records) + len(self.rejects) >= size:
                    yield from self.flush()
                continue
            if event == "end":
                paths.pop()
                where.pop()
                siblings.pop()
                _free(el)
                continue
            depth = len(paths)
            name = name_of(el.tag)
            if depth == 1 and parser.root is not None and name != parser.root:
                raise ParseError(
                    f"{item.name}:{el.sourceline}: the root element is <{name}>, the records "
                    f"path {parser.options.records!r} starts at <{parser.root}>"
                )
            if depth > max_depth:
                raise ParseError(
                    f"{item.name}:{el.sourceline}: elements are nested deeper than max_depth "
                    f"({max_depth}) at {where[-1]}/{name}",
                    hint="raise parser.max_depth if this is expected",
                )
            count = siblings[-1][name] = siblings[-1].get(name, 0) + 1
            path = paths[-1] + "/" + name
            if is_record(path):
                record, record_start, oversized = el, reader.count, False
                self.locator = f"{where[-1]}/{name}[{count}]"
                continue
            paths.append(path)
            where.append(where[-1] + "/" + (name if count == 1 else f"{name}[{count}]"))
            siblings.append({})
            if not self.parent_seen and is_parent(path):
                self.parent_seen = True
        yield from self.flush()
        if self.n == 0 and not self.parent_seen and parser.options.records:
            raise ParseError(
                f"{item.name}: no element matches the records path {parser.options.records!r}",
                hint="check parser.records against the file's structure",
            )

    def _record(self, el: Any, oversized: bool, depth: int) -> None:
        self.n += 1
        if oversized:
            self.rejects.append(
                ParseReject(
                    self.n,
                    f"element is larger than max_element_bytes ({self.parser.max_bytes} bytes)",
                    el.sourceline,
                    None,
                    self.locator,
                )
            )
            return
        try:
            value = self.value(el, depth)
        except TooDeep:
            raise ParseError(
                f"{self.item.name}:{el.sourceline}: elements are nested deeper than max_depth "
                f"({self.parser.options.max_depth}) inside record {self.n} ({self.locator})",
                hint="raise parser.max_depth if this is expected",
            ) from None
        self.records.append(value if type(value) is dict else {"#text": value} if value else {})
        self.positions.append(self.n)
        self.lines.append(el.sourceline)
        self.locators.append(self.locator)


def _free(el: Any) -> None:
    """Drop a finished element and every earlier sibling, so the tree stays small."""
    el.clear(keep_tail=False)
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def _syntax_message(exc: Any, log: Any, item: Item, records: int, read: int, max_depth: int) -> str:
    """One message for libxml2's error, the same whichever of its limits fired first."""
    if read == 0:
        return f"{item.name}: the file is empty (an XML document needs a root element)"
    entries = [e for e in log if e.level_name in ("FATAL", "ERROR")]
    if entries:
        first = entries[0]
        line, column, message = first.line, first.column, first.message
    else:
        (line, column), message = exc.position, exc.msg
    message = re.sub(r", line \d+, column \d+$", "", str(message).strip())
    if "Excessive depth" in message:  # libxml2's own nesting limit (256 or 257 levels, by release)
        return (
            f"{item.name}:{line}: elements are nested deeper than max_depth ({max_depth}) after record "
            f"{records} (raise parser.max_depth if this is expected; at most 256)"
        )
    hint = next((h for key, h in _HINTS.items() if key in message), None)
    text = f"{item.name}:{line}:{column}: invalid XML after record {records}: {message}"
    return f"{text} ({hint})" if hint else text
