"""Limits on what a Parquet file may decode to, checked before and while it is read.

A few kilobytes of Parquet can decode to gigabytes, three ways: a page of
one long run that zstd shrinks 30,000 times (13 KB for a 400 MB value), a
dictionary page holding one large value that every row repeats (500 bytes
for 2 GB of strings), and a run-length encoded list of millions of equal
numbers (600 bytes for 20 million integers). pyarrow decompresses a page
whole and materialises a batch whole, so the reader must refuse such a file
before pyarrow allocates, not after.

* Before a row group is read, its column chunks' metadata give the size
  the data decompresses to. A row group larger than ``max_row_group_bytes``
  (the selected columns), or a column chunk that decompresses to more than
  ``max_expansion`` times its stored size (once past 16 MiB), stops the file
  before anything is decompressed.
* Text and binary columns stored with a dictionary are read as dictionaries,
  so a value repeated by every row is held once (a constant column is
  ordinary data, so this expansion is not refused). Each batch is turned into
  records in slices of about 16 MiB, measured before anything is expanded, so
  memory stays flat however large the rows; a single row that decodes to
  more than ``max_record_bytes`` stops the file before it becomes a record.

Not defended: pyarrow materialises a batch's lists before they can be
measured, so a row holding tens of millions of run-length encoded values
(600 bytes of file for 20 million integers) is refused only after pyarrow
has decoded it (about 0.5 GB at its peak for those 20 million).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

#: a column chunk is judged by its expansion only past this size (small chunks of constants expand a lot)
EXPANSION_FLOOR = 16 << 20
#: records are made from at most about this many decoded bytes at a time
SLICE_BYTES = 16 << 20


class TooLarge(Exception):
    """A row group, column or row decodes to more than the limits allow; the message says which and why."""

    def __init__(self, message: str, option: str) -> None:
        super().__init__(message)
        #: the parser option that sets the limit
        self.option = option


class Guard:
    """The limits of one parser, applied to one file at a time."""

    def __init__(self, max_row_group_bytes: int, max_expansion: int) -> None:
        self.max_row_group_bytes = max_row_group_bytes
        self.max_expansion = max_expansion

    def dictionary_columns(self, metadata: Any) -> list[str]:
        """Paths of the text and binary columns stored with a dictionary: read as dictionaries, held once."""
        paths: dict[str, None] = {}
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            for i in range(row_group.num_columns):
                chunk = row_group.column(i)
                if chunk.physical_type == "BYTE_ARRAY" and chunk.has_dictionary_page:
                    paths[chunk.path_in_schema] = None
        return list(paths)

    def check_row_group(self, metadata: Any, group: int, columns: list[str] | None) -> None:
        """Refuse row group ``group`` before reading it if its metadata shows it too large."""
        row_group = metadata.row_group(group)
        total = 0
        for i in range(row_group.num_columns):
            chunk = row_group.column(i)
            top = chunk.path_in_schema.split(".", 1)[0]
            if columns is not None and top not in columns:
                continue
            total += chunk.total_uncompressed_size
            self._expansion(chunk, max(1, chunk.total_compressed_size))
        if total > self.max_row_group_bytes:
            raise TooLarge(
                f"decompresses to {_mb(total)} (its metadata says so), more than "
                f"max_row_group_bytes ({_mb(self.max_row_group_bytes)}); nothing of it was read",
                "max_row_group_bytes",
            )

    def _expansion(self, chunk: Any, stored: int) -> None:
        decoded = chunk.total_uncompressed_size
        if decoded > EXPANSION_FLOOR and decoded > self.max_expansion * stored:
            raise TooLarge(
                f"column {chunk.path_in_schema} decompresses to {_mb(decoded)} from {_mb(stored)} stored, "
                f"more than max_expansion ({self.max_expansion}) times as much (a compression bomb); "
                "nothing of the row group was read",
                "max_expansion",
            )


class Budget:
    """Cuts the batches of one file into slices small enough to become records, refusing giant rows."""

    def __init__(self, max_record_bytes: int) -> None:
        self.max_record_bytes = max_record_bytes

    def slices(self, pa: Any, batch: Any, first_row: int = 0) -> Iterator[Any]:
        """``batch`` in slices of about 16 MiB decoded; :class:`TooLarge` names a row that is too large alone."""
        size = sum(decoded_bytes(pa, column) for column in batch.columns)
        if size <= SLICE_BYTES:
            yield batch
            return
        rows = batch.num_rows
        if rows == 1:
            if size > self.max_record_bytes:
                raise TooLarge(
                    f"row {first_row} decodes to {_mb(size)}, more than max_record_bytes "
                    f"({_mb(self.max_record_bytes)})",
                    "max_record_bytes",
                )
            yield batch
            return
        pieces = min(rows, math.ceil(size / SLICE_BYTES))
        step = math.ceil(rows / pieces)
        for start in range(0, rows, step):
            yield from self.slices(pa, batch.slice(start, step), first_row + start)


def decoded_bytes(pa: Any, arr: Any) -> int:
    """The bytes ``arr`` takes once its dictionaries are expanded, without expanding them."""
    types = pa.types
    t = arr.type
    if types.is_dictionary(t):
        import pyarrow.compute as pc

        values = arr.dictionary
        if types.is_string(values.type) or types.is_binary(values.type) or types.is_large_string(values.type):
            lengths = pc.take(pc.binary_length(values), arr.indices)
            return int(pc.sum(lengths).as_py() or 0) + arr.indices.nbytes
        return decoded_bytes(pa, values) * max(1, len(arr)) // max(1, len(values)) + arr.indices.nbytes
    if types.is_struct(t):
        return sum(decoded_bytes(pa, child) for child in arr.flatten()) + len(arr)
    if types.is_list(t) or types.is_large_list(t) or types.is_fixed_size_list(t):
        return decoded_bytes(pa, arr.flatten()) + 8 * len(arr)
    if types.is_map(t):
        return decoded_bytes(pa, arr.keys) + decoded_bytes(pa, arr.items) + 8 * len(arr)
    return int(arr.nbytes)


def _mb(size: int) -> str:
    return f"{size / (1 << 20):,.0f} MiB" if size >= 1 << 20 else f"{size:,} bytes"
