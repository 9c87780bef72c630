"""The byte stream the XML parser reads: counted, line ends normalised, transcoded on request.

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
from typing import IO

from engine.errors import ParseError


class XmlInput:
    def __init__(self, stream: IO[bytes], name: str, encoding: str | None) -> None:
        self.stream = stream
        self.name = name
        self.count = 0
        self.encoding = encoding
        self.decoder = codecs.getincrementaldecoder(encoding)("strict") if encoding else None
        #: None until the first block shows whether the input is UTF-16/32
        self.fix_cr: bool | None = True if encoding else None

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

    def read(self, n: int = -1) -> bytes:
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
