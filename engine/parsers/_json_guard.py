"""Nesting limits for streamed JSON, enforced before the parser sees the bytes.

ijson keeps, for every open container, the path prefix leading to it, so
its memory grows with depth × (depth × key length): 73 KB of ``[[[[...``
(5,000 levels) costs it 235 MB, and 10 MB of 100 nested objects with 100 KB
keys costs 1 GB. The guard reads the same bytes first and refuses, with the
byte range, a document nested deeper than ``max_depth`` or with an object key
of more than about 32 KiB, which bounds that memory to a few tens of MB.

It works on whole blocks with C-speed byte operations (about a sixth of the
parser's own time): keep only quotes and brackets, drop what lies between
quotes, and sum the brackets left. Escaped quotes are removed first, and a
block may end inside a string or an escape; that state carries over.
"""

from __future__ import annotations

import itertools
from array import array

_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_DELTA = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 / -1 as signed bytes
_SPACE = b" \t\r\n"


class TooDeep(Exception):
    """The document breaks a limit; the message says which, the hint what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


class NestingGuard:
    def __init__(self, max_depth: int, block: int) -> None:
        self.max_depth = max_depth
        #: strings crossing a block boundary are measured; keys longer than this are refused
        self.max_key = 2 * block
        self.depth = 0
        self.in_string = False
        self.carry = b""  # trailing backslashes of the last block: they may escape the next byte
        self.string_run = 0  # bytes of the open string seen so far, when it crossed a block boundary
        self.key_check = 0  # length of a long string that just ended, until we see whether ':' follows

    def feed(self, block: bytes) -> None:
        if self.carry:
            block, self.carry = self.carry + block, b""
        if b"\\" in block:  # escapes exist only inside strings; drop them so quotes pair up
            kept = block.rstrip(b"\\")
            self.carry = block[len(kept) :]
            block = kept.replace(b"\\\\", b"").replace(b'\\"', b"")
        if self.key_check:
            self._after_long_string(block)
        started_inside = self.in_string
        first_quote = block.find(b'"')
        if started_inside:
            if first_quote < 0:
                self.string_run += len(block)
                return
            length = self.string_run + first_quote
            self.string_run = 0
            if length > self.max_key:
                self.key_check = length
                self._after_long_string(block[first_quote + 1 :])
        structure = block.translate(None, _NOT_STRUCTURE)
        parts = (b'"' + structure if started_inside else structure).split(b'"')
        self.in_string = len(parts) % 2 == 0  # an odd number of quotes leaves a string open
        if self.in_string:
            self.string_run = len(block) - block.rfind(b'"') - 1
        brackets = b"".join(parts[0::2]).translate(_DELTA, _NOT_BRACKET)
        if brackets:
            running = list(itertools.accumulate(array("b", brackets), initial=self.depth))
            self.depth = running[-1]
            if max(running) > self.max_depth:
                raise TooDeep(
                    f"the document is nested deeper than max_depth ({self.max_depth})",
                    "raise parser.max_depth if the nesting is genuine",
                )

    def _after_long_string(self, rest: bytes) -> None:
        follows = rest.lstrip(_SPACE)[:1]
        if not follows:
            return  # only white space so far: decide with the next block
        length, self.key_check = self.key_check, 0
        if follows == b":":
            raise TooDeep(
                f"an object key is {length} bytes long (keys of more than {self.max_key} bytes are refused)",
                "long keys nested in objects make JSON parsers use memory quadratically",
            )
