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

It also refuses a number of more digits than Python converts to an integer
(``sys.get_int_max_str_digits()``, 4300 by default): ijson's C backend
crashes the process on such an integer instead of raising.
"""

from __future__ import annotations

import itertools
import re
import sys
from array import array

_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_DELTA = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 / -1 as signed bytes
_SPACE = b" \t\r\n"
_DIGITS = b"0123456789"
_NOT_DIGIT = bytes(b for b in range(256) if b not in _DIGITS)
#: what Python turns into an int at most (its own limit, when one is set)
MAX_DIGITS = sys.get_int_max_str_digits() or 4300
_LONG_NUMBER = re.compile(rb"(?<![0-9])[0-9]{%d}" % (MAX_DIGITS + 1))


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
        self.digit_run = 0  # digits at the end of the last block, outside strings

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
        self._numbers(block, started_inside)
        brackets = b"".join(parts[0::2]).translate(_DELTA, _NOT_BRACKET)
        if brackets:
            running = list(itertools.accumulate(array("b", brackets), initial=self.depth))
            self.depth = running[-1]
            if max(running) > self.max_depth:
                raise TooDeep(
                    f"the document is nested deeper than max_depth ({self.max_depth})",
                    "raise parser.max_depth if the nesting is genuine",
                )

    def _numbers(self, block: bytes, started_inside: bool) -> None:
        """Refuse a run of digits outside strings longer than :data:`MAX_DIGITS`, across blocks too.

        The cheap search looks at the whole block; only when it finds a long run
        (in a string, most likely) are strings told apart.
        """
        lead = 0 if started_inside else len(block) - len(block.lstrip(_DIGITS))
        if self.digit_run + lead > MAX_DIGITS or (
            len(block.translate(None, _NOT_DIGIT)) > MAX_DIGITS  # too few digits for a long run: no search
            and _LONG_NUMBER.search(block)
            and _long_number_outside_strings(block, started_inside)
        ):
            raise TooDeep(
                f"a number has more than {MAX_DIGITS} digits",
                "Python reads integers of at most that many digits; send such values as strings",
            )
        if self.in_string:
            self.digit_run = 0
        elif lead == len(block):
            self.digit_run += lead
        else:
            self.digit_run = len(block) - len(block.rstrip(_DIGITS))

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


def _long_number_outside_strings(block: bytes, started_inside: bool) -> bool:
    parts = block.split(b'"')
    return any(_LONG_NUMBER.search(part) for part in parts[1 if started_inside else 0 :: 2])
