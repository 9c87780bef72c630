r"""JSON Lines read with Arrow, block by block, only where it reads exactly what the row reader would.

The row reader (:class:`engine.parsers.jsonl.JsonlParser`) gives each line
as the dict Python's ``json`` makes of it: numbers as Python numbers (big
integers exact, ``1.0`` a float), keys in the order written, a repeated key
or ``NaN`` rejected, a blank line skipped. Arrow's JSON reader agrees with
it only on a narrow kind of line, so a block goes to Arrow only when every
one of its lines is that kind: one flat object whose values are all text or
``null``, the keys of the file's first line in the same order (so Arrow's
columns are the row reader's dict keys), nothing but spaces or tabs between
the tokens, a CRLF or LF line end, no blank line, no control character, no
surrogate escape (``\ud800`` in the file), valid UTF-8, and no line longer than
``max_line_bytes``. One regular expression per line checks the shape
(Arrow runs it, without the GIL); Arrow then decodes the text and refuses
what the expression let through that is not UTF-8. The first block that
does not qualify, and everything after it, goes to the row reader with the
file's own record and line numbers.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import IO, TYPE_CHECKING, Any

from engine.contracts import Chunk, Item, RunContext
from engine.parsers._arrow_blocks import ArrowBlocks, RowReader

if TYPE_CHECKING:
    from engine.parsers.jsonl import JsonlParser

_SPACE = "[ \\t]*"
#: a JSON text value without control characters or surrogate escapes, or null
_VALUE = (
    '(?:"(?:[^"\\\\\\x00-\\x1f]|\\\\["\\\\/bfnrt]'
    '|\\\\u(?:[0-9a-cA-CefEF][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2}))*"|null)'
)


class ArrowJsonl(ArrowBlocks):
    """One JSON Lines file read with Arrow while every block qualifies, then with the row reader."""

    def __init__(self, parser: JsonlParser, item: Item, run: RunContext | None) -> None:
        super().__init__(parser, item, run, parser.options.chunk_size)
        self.limit = parser.options.max_line_bytes
        self.line_shape = ""
        self.schema: Any = None
        self.checker: ThreadPoolExecutor | None = None

    def _header(self, stream: IO[bytes]) -> bytes:
        """Take the columns from the first line (nothing comes before the first record).

        Raises:
            RowReader: the first line is not a flat object of text and nulls.
        """
        first = self.start.split(b"\n", 1)[0]
        if not first and not self.start:
            return b""
        try:
            pairs = json.loads(first, object_pairs_hook=lambda pairs: pairs)
        except ValueError:  # also UnicodeDecodeError
            raise RowReader("the first line is not a JSON object") from None
        if not isinstance(pairs, list) or not pairs:
            raise RowReader("the first line is not a JSON object with keys")
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys) or any(v is not None and not isinstance(v, str) for _, v in pairs):
            raise RowReader("the first line repeats a key or has a value that is not text or null")
        import pyarrow as pa

        self.columns = tuple(keys)
        self.schema = pa.schema([(k, pa.string()) for k in keys])
        members = (f"{_SPACE}{_key(k)}{_SPACE}:{_SPACE}{_VALUE}{_SPACE}" for k in keys)
        self.line_shape = f"^{_SPACE}\\{{{','.join(members)}\\}}{_SPACE}\\r?$"
        return self.start

    def chunks(self, stream: IO[bytes]) -> Iterator[Chunk]:
        # the shape of a block's lines is checked in a thread of its own while Arrow decodes the block:
        # both let go of the GIL (measured on the 1M-line bench: 0.7 -> 0.9M lines/s)
        with ThreadPoolExecutor(1, thread_name_prefix="jsonl-check") as self.checker:
            yield from super().chunks(stream)

    def _table(self, block: bytes) -> tuple[Any, int]:
        assert self.checker is not None
        checked = self.checker.submit(self._lines, block)
        table = self._decoded(block)
        lines = checked.result()  # the lines' shape first: it says why more plainly than Arrow
        if isinstance(table, RowReader):
            raise table
        if table.num_rows != lines or table.schema.names != list(self.columns):
            raise RowReader("Arrow read another number of rows or other columns than the lines hold")
        return table, lines

    def _lines(self, block: bytes) -> int:
        """How many lines ``block`` holds, each checked to be of the first line's shape.

        Raises:
            RowReader: a line is not.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            text = pa.array([block], pa.binary()).cast(pa.string())
        except pa.ArrowInvalid:
            raise RowReader("bytes that are not UTF-8") from None
        lines = pc.split_pattern(text, "\n").flatten()
        if block.endswith(b"\n"):
            lines = lines.slice(0, len(lines) - 1)
        if not len(lines):
            raise RowReader("a blank line")
        if pc.max(pc.binary_length(lines)).as_py() > self.limit:
            raise RowReader("a line longer than max_line_bytes")
        if not pc.all(pc.match_substring_regex(lines, self.line_shape)).as_py():
            raise RowReader("a line that is not a flat object of text and nulls with the first line's keys")
        return len(lines)

    def _decoded(self, block: bytes) -> Any:
        """The block as read by Arrow's JSON reader, or why Arrow refused it."""
        import pyarrow as pa
        import pyarrow.json as pajson

        try:
            return pajson.read_json(
                io.BytesIO(block),
                read_options=pajson.ReadOptions(block_size=len(block) + 1, use_threads=False),
                parse_options=pajson.ParseOptions(
                    explicit_schema=self.schema, unexpected_field_behavior="error"
                ),
                memory_pool=pa.system_memory_pool(),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            return RowReader(f"Arrow refused the block: {exc}")


def _key(name: str) -> str:
    """A pattern for ``name`` as a JSON key, spelt as ``json.dumps`` spells it with or without ``ensure_ascii``."""
    spellings = dict.fromkeys([json.dumps(name, ensure_ascii=False), json.dumps(name)])
    return "(?:" + "|".join("".join(_literal(c) for c in s) for s in spellings) + ")"


def _literal(char: str) -> str:
    """``char`` matched literally by RE2."""
    return char if char.isalnum() or ord(char) > 127 else f"\\x{{{ord(char):x}}}"
