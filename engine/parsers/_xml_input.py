"""The byte stream the XML parser reads: checked before libxml2 sees it.

What is refused, and how, is decided here rather than by whichever libxml2
limit fires first, so the answer is the same on every supported lxml:

* The prolog (everything before the root element) is read and scanned
  first. A document type with entity declarations is refused with the names
  it declares and the line of its ``<!DOCTYPE``: entities are the doorway to
  expansion bombs and to ``file://`` reads. An external DTD reference
  (``<!DOCTYPE cXML SYSTEM "...cXML.dtd">``, common in B2B XML) is allowed
  and never fetched. A prolog over 1 MiB is refused.
* UTF-8 input (declared or by default) is validated as it passes: the bytes
  before a bad sequence are handed to libxml2, so the records before it flow,
  and the next read stops the file at that line and column.
* Bytes read are counted, so a record's size can be watched and an empty
  file told from a malformed one.
* A lone CR becomes LF, as XML's end-of-line rule does anyway, so libxml2
  (which counts only LF) gives true line numbers for files with mixed line
  endings. Not in UTF-16/32 input, where a 0x0D byte may belong to another
  character.
* With ``parser.encoding``, the bytes are decoded by Python's codec and
  handed to libxml2 as UTF-8, so every codec Python knows works (libxml2's
  own list is shorter and spells names differently), and bytes that are not
  valid in that encoding stop the file with their offset.
"""

from __future__ import annotations

import codecs
import re
from typing import IO

from engine.errors import ParseError

#: a longer prolog (comments, document type) is refused
PROLOG_LIMIT = 1 << 20

_WIDE = {  # first bytes of UTF-16/32 input → the codec that reads its prolog
    b"\xff\xfe\x00\x00": "utf-32-le",
    b"\x00\x00\xfe\xff": "utf-32-be",
    b"<\x00\x00\x00": "utf-32-le",
    b"\x00\x00\x00<": "utf-32-be",
}
_WIDE2 = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be", b"<\x00": "utf-16-le", b"\x00<": "utf-16-be"}
_DECLARED = re.compile(r"""<\?xml\s[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_ENTITY = re.compile(r"<!ENTITY\s+(?:%\s+)?([^\s\"'>]+)")
_COMMENT = re.compile(r"<!--.*?-->", re.S)


class BadBytes(Exception):
    """Bytes that are not valid in the document's encoding, at a line and column."""

    def __init__(self, line: int, column: int, found: bytes, encoding: str) -> None:
        super().__init__(f"bytes {found.hex(' ')} are not valid {encoding}")
        self.line, self.column = line, column


class XmlInput:
    """A file-like reader for lxml that refuses hostile prologs and bad UTF-8 itself."""

    def __init__(self, stream: IO[bytes], name: str, encoding: str | None) -> None:
        self.stream = stream
        self.name = name
        self.count = 0
        self.encoding = encoding
        self.decoder = codecs.getincrementaldecoder(encoding)("strict") if encoding else None
        #: None until the first block shows whether the input is UTF-16/32
        self.fix_cr: bool | None = True if encoding else None
        self._prolog_done = False
        #: UTF-8 validation: on unless the input is transcoded, wide or declares another encoding
        self._validate = encoding is None
        self._pending = b""  # an incomplete UTF-8 sequence at the end of the last block
        self._line = 1
        self._column = 0  # characters since the last LF
        self._bad: BadBytes | None = None

    def _block(self, n: int) -> bytes:
        while True:
            raw = self.stream.read(n)
            self.count += len(raw)
            if self.decoder is None:
                return raw
            try:
                data = self.decoder.decode(raw, final=not raw).encode("utf-8")
            except UnicodeDecodeError as exc:
                offset = self.count - len(raw) + max(exc.start, 0)
                raise ParseError(
                    f"{self.name}: bytes {exc.object[exc.start : exc.end].hex(' ')} at about byte offset "
                    f"{offset} are not valid {self.encoding}",
                    hint="check parser.encoding against the file",
                ) from None
            if data or not raw:  # a partial character yields nothing yet: read on
                return data

    def _normalised(self, n: int) -> bytes:
        data = self._block(n)
        if self.fix_cr is None:
            self.fix_cr = not data.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00", b"<\x00"))
        if not self.fix_cr or b"\r" not in data:
            return data
        while data.endswith(b"\r"):  # an LF may start the next block: read on before deciding
            more = self._block(n)
            if not more:
                break
            data += more
        return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")

    def read(self, n: int = -1) -> bytes:
        """The next block for libxml2: the whole prolog first, then validated blocks."""
        if self._bad is not None:
            raise self._bad
        data = self._normalised(n)
        if not self._prolog_done:
            data = self._prolog(data, n)
        if self._validate and data:
            data = self._checked(data)
        return data

    # -- the prolog -------------------------------------------------------------------------

    def _prolog(self, data: bytes, n: int) -> bytes:
        """Read on until the root element starts, then refuse what must not be parsed."""
        codec = next((c for head, c in _WIDE.items() if data.startswith(head)), None)
        codec = codec or next((c for head, c in _WIDE2.items() if data.startswith(head)), None)
        while True:
            text = data.decode(codec or "latin-1", errors="replace")
            end = _root_start(text)
            if end is not None or len(data) > PROLOG_LIMIT:
                break
            more = self._normalised(n)
            if not more:
                break
            data += more
        self._prolog_done = True
        if end is None and len(data) > PROLOG_LIMIT:
            raise ParseError(
                f"{self.name}: the prolog (declarations, comments and document type before the root "
                f"element) is longer than {PROLOG_LIMIT >> 20} MiB; such documents are refused",
                hint="ask the sender for plain XML",
            )
        prolog = text[:end] if end is not None else text
        _refuse_entities(self.name, prolog)
        declared = _DECLARED.search(prolog[:1024])
        if codec is not None or (
            declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8")
        ):
            self._validate = False  # libxml2 reads other encodings itself
        return data

    # -- UTF-8 -------------------------------------------------------------------------------

    def _checked(self, data: bytes) -> bytes:
        """``data`` up to the first invalid UTF-8 sequence; the next read raises at its position."""
        buf = self._pending + data
        try:
            text = buf.decode("utf-8")
            self._pending = b""
        except UnicodeDecodeError as exc:
            if exc.end == len(buf) and exc.reason == "unexpected end of data":
                text = buf[: exc.start].decode("utf-8")
                self._pending = buf[exc.start :]
            else:
                good = buf[: exc.start].decode("utf-8")
                self._advance(good)
                self._bad = BadBytes(self._line, self._column + 1, buf[exc.start : exc.end], "UTF-8")
                return data[: max(0, exc.start - len(self._pending))]
        self._advance(text)
        return data

    def _advance(self, text: str) -> None:
        lf = text.rfind("\n")
        if lf < 0:
            self._column += len(text)
        else:
            self._line += text.count("\n")
            self._column = len(text) - lf - 1


def _root_start(text: str) -> int | None:
    """Index of the root element's ``<`` in ``text``, or None when it is not there yet."""
    i, size = 0, len(text)
    while i < size:
        lt = text.find("<", i)
        if lt < 0 or lt + 1 >= size:
            return None
        if text.startswith("<?", lt):
            end = text.find("?>", lt + 2)
            after = end + 2
        elif text.startswith("<!--", lt):
            end = text.find("-->", lt + 4)
            after = end + 3
        elif text.startswith("<!", lt):
            end = _doctype_end(text, lt)
            after = end + 1
        else:
            return lt
        if end < 0:
            return None
        i = after
    return None


def _doctype_end(text: str, start: int) -> int:
    """Index of the ``>`` that closes the declaration at ``start`` (-1: not in ``text`` yet)."""
    i, subset, quote = start + 2, False, ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            subset = True
        elif ch == "]":
            subset = False
        elif subset and text.startswith("<!--", i):
            close = text.find("-->", i + 4)
            if close < 0:
                return -1
            i = close + 3
            continue
        elif ch == ">" and not subset:
            return i
        i += 1
    return -1


def _refuse_entities(name: str, prolog: str) -> None:
    start = prolog.find("<!DOCTYPE")
    if start < 0:
        return
    declared = list(dict.fromkeys(_ENTITY.findall(_COMMENT.sub("", prolog[start:]))))
    if not declared:
        return
    line = prolog.count("\n", 0, start) + 1
    shown = ", ".join(declared[:5]) + (" ..." if len(declared) > 5 else "")
    raise ParseError(
        f"{name}:{line}: the document declares entities ({shown}) in its DTD; documents with entity "
        "declarations are refused",
        hint="entities can expand to gigabytes or read local files; ask the sender for plain XML",
    )
