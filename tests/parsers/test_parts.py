"""Splitting a file into parts: every part read alone gives exactly the records, rejects and numbers of the whole."""

from __future__ import annotations

import io
import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.contracts import Item
from engine.registry import default_registries
from engine.spec.options import build_options


def parser(kind: str, **options):
    cls = default_registries().parsers.get(kind)
    return cls(build_options(cls.Options, cls.schema, options, ("parser",), None))


def flat(chunks) -> list[tuple]:
    out = []
    for c in chunks:
        for i in range(len(c.records)):
            out.append(("record", c.positions[i], c.lines[i] if c.lines else None, str(c.original(i))))
        for r in c.rejects or ():
            out.append(("reject", r.position, r.line, r.reason, str(r.raw)))
    return sorted(out, key=lambda x: (x[1], x[0]))


def whole_and_parts(kind: str, data: bytes, part_size: int, **options) -> tuple[list, list, int]:
    p = parser(kind, **options)
    item = Item("file:///in/x.csv", "x.csv", size=len(data))
    whole = flat(p.parse(io.BytesIO(data), item))
    parts = p.split(io.BytesIO(data), item, part_size)
    assert parts is not None
    assert parts[0].start == 0 and parts[-1].end == len(data)
    assert all(a.end == b.start for a, b in itertools.pairwise(parts)), "parts are contiguous"
    got = []
    for part in parts:
        piece = item.part(part)
        assert piece.uri == f"file:///in/x.csv#bytes={part.start}-{part.end}" and piece.file_uri == item.uri
        got += flat(p.parse(io.BytesIO(data[part.start : part.end]), piece))
    return whole, sorted(got, key=lambda x: (x[1], x[0])), len(parts)


def messy_csv(seed: int, rows: int, newline: str = "\n") -> bytes:
    rng = random.Random(seed)
    lines = ["\ufeffsku,qty,note".encode()]
    for i in range(rows):
        k = rng.random()
        if k < 0.05:
            lines.append(f'S{i},{i},"multi\nline, with ""quotes"""'.encode())
        elif k < 0.08:
            lines.append(b"")
        elif k < 0.10:
            lines.append(f"S{i},{i}".encode())  # ragged
        elif k < 0.12:
            lines.append(f'S{i},{i},"bad "quote" here"'.encode())  # malformed
        elif k < 0.13:
            lines.append(f"S{i},{i},\u00e9\u20ac".encode())
        elif k < 0.135:
            lines.append(f"S{i},{i},".encode() + b"\xff\xfe")  # not UTF-8
        else:
            lines.append(f"S{i},{i},plain".encode())
    return newline.encode().join(lines) + newline.encode() + b"end,1,2"


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_csv_parts_read_the_same_records_rejects_rows_and_lines_as_the_whole_file(newline) -> None:
    data = messy_csv(1, 6000, newline)
    whole, parts, count = whole_and_parts("csv", data, 4000)
    assert count > 5
    assert parts == whole
    rejects = [r for r in parts if r[0] == "reject"]
    assert any("malformed CSV at line" in r[3] for r in rejects) and any(
        "byte offset" in r[3] for r in rejects
    )


def test_csv_parts_with_skipped_lines_and_without_a_header() -> None:
    data = b"exported by WMS\n" + messy_csv(2, 4000)
    whole, parts, count = whole_and_parts("csv", data, 3000, skip_rows=1)
    assert count > 2 and parts == whole
    headless = b"\n".join(messy_csv(3, 4000).split(b"\n")[1:])
    whole, parts, count = whole_and_parts(
        "csv", headless, 3000, header=False, columns=["a", "b", "c"], ragged_rows="pad"
    )
    assert count > 2 and parts == whole


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.text(alphabet='ab,"\n é', max_size=8),
            st.text(alphabet="0123456789", min_size=1, max_size=3),
        ),
        min_size=1,
        max_size=400,
    ),
    part_size=st.integers(min_value=1, max_value=300),
)
def test_csv_parts_agree_with_the_whole_file_whatever_the_cells(rows, part_size) -> None:
    def cell(text: str) -> str:
        return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text

    data = ("name,qty\n" + "\n".join(f"{cell(a)},{b}" for a, b in rows) + "\n").encode()
    p = parser("csv", chunk_size=7)
    item = Item("file:///in/x.csv", "x.csv", size=len(data))
    whole = flat(p.parse(io.BytesIO(data), item))
    got = []
    for part in p.split(io.BytesIO(data), item, part_size) or []:
        got += flat(p.parse(io.BytesIO(data[part.start : part.end]), item.part(part)))
    assert sorted(got, key=lambda x: (x[1], x[0])) == whole


def test_jsonl_parts_keep_line_and_record_numbers() -> None:
    rng = random.Random(4)
    lines = []
    for i in range(5000):
        k = rng.random()
        lines.append(
            ""
            if k < 0.05
            else "{broken"
            if k < 0.08
            else "   "
            if k < 0.1
            else f'{{"sku": "S{i}", "qty": {i}, "x": NaN}}'
            if k < 0.11
            else f'{{"sku": "S{i}", "qty": {i}}}'
        )
    data = "\n".join(lines).encode()
    whole, parts, count = whole_and_parts("jsonl", data, 5000)
    assert count > 10 and parts == whole
    whole, parts, _ = whole_and_parts("jsonl", data + b"\n", 5000)
    assert parts == whole


@pytest.mark.parametrize(
    ("kind", "options", "data"),
    [
        ("csv", {"sniff": True}, b"a;b\n1;2\n"),
        ("csv", {"comment": "#"}, b"a,b\n#x\n1,2\n"),
        ("csv", {"escape": "\\"}, b'a,b\n"x\\"y",2\n'),
        ("csv", {"encoding": "utf-16"}, "a,b\n1,2\n".encode("utf-16")),
        ("csv", {}, b"a,b\r1,2\r3,4\r"),
        ("jsonl", {"encoding": "utf-16"}, '{"a": 1}\n'.encode("utf-16")),
    ],
    ids=["sniffed", "comments", "escape", "utf-16", "lone-cr", "jsonl-utf-16"],
)
def test_files_a_byte_scan_cannot_cut_as_the_reader_reads_them_stay_whole(kind, options, data) -> None:
    assert parser(kind, **options).split(io.BytesIO(data), Item("u", "x"), 1) is None


def test_formats_without_parts_say_so() -> None:
    for kind in ("json", "xml", "parquet"):
        assert parser(kind).split(io.BytesIO(b"{}"), Item("u", "x"), 1) is None
