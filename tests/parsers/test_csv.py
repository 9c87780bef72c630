"""CSV: BOM, line endings, quoting, ragged rows, bad bytes, options; exact positions."""

from __future__ import annotations

import pytest

from engine.errors import ParseError


def test_bom_crlf_quoted_delimiters_and_newlines(parse) -> None:
    data = b'\xef\xbb\xbfsku,qty,note\r\nA,1,"x, y"\r\nB,2,"two\r\nlines"\r\n\r\nC,3,"say ""hi"""\r\n'
    records, rejects, _ = parse("csv", data)
    assert rejects == []
    assert records == [
        (1, 2, {"sku": "A", "qty": "1", "note": "x, y"}),
        (2, 3, {"sku": "B", "qty": "2", "note": "two\r\nlines"}),
        (3, 6, {"sku": "C", "qty": "3", "note": 'say "hi"'}),
    ]


def test_values_stay_exactly_as_written(parse) -> None:
    records, _, _ = parse("csv", b"gtin,qty\n01234567890128, 007 \n")
    assert records[0][2] == {"gtin": "01234567890128", "qty": " 007 "}


def test_ragged_rows_are_rejected_with_row_and_line_and_good_rows_flow(parse) -> None:
    data = b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n"
    records, rejects, _ = parse("csv", data)
    assert [r[0] for r in records] == [1, 4]
    assert [(r.position, r.line, r.reason) for r in rejects] == [
        (2, 3, "row has 2 cells, the header has 3"),
        (3, 4, "row has 4 cells, the header has 3"),
    ]
    assert rejects[1].raw == {"a": "6", "b": "7", "c": "8", "_extra": ["9"]}


def test_ragged_rows_can_be_padded_or_truncated(parse) -> None:
    data = b"a,b,c\n4,5\n6,7,8,9\n"
    records, rejects, _ = parse("csv", data, ragged_rows="pad")
    assert records[0][2] == {"a": "4", "b": "5", "c": None} and len(rejects) == 1
    records, rejects, _ = parse("csv", data, ragged_rows="pad_and_truncate")
    assert [r[2] for r in records] == [{"a": "4", "b": "5", "c": None}, {"a": "6", "b": "7", "c": "8"}]
    assert rejects == []


def test_a_misplaced_quote_rejects_only_that_row(parse) -> None:
    records, rejects, _ = parse("csv", b'a,b\n1,"x"y\n2,ok\n')
    assert [r[2]["a"] for r in records] == ["2"]
    assert (
        rejects[0].position == 1 and rejects[0].line == 2 and "malformed CSV at line 2" in rejects[0].reason
    )


def test_an_unterminated_quote_is_reported_not_swallowed(parse) -> None:
    records, rejects, _ = parse("csv", b'a,b\n1,ok\n2,"never closed\n3,x\n')
    assert [r[2]["a"] for r in records] == ["1"]
    assert (
        len(rejects) == 1
        and "unexpected end of data" in rejects[0].reason
        and "lines 3-4" in rejects[0].reason
    )


def test_undecodable_bytes_reject_their_row_with_offset(parse) -> None:
    data = b"sku,name\nA,caf\xc3\xa9\nB,bad \xff byte\nC,fine\n"
    records, rejects, _ = parse("csv", data)
    assert [r[2]["sku"] for r in records] == ["A", "C"]
    [bad] = rejects
    assert (bad.position, bad.line) == (2, 3)
    assert "bytes ff at byte offset 23 (line 3) are not valid utf-8" in bad.reason


def test_other_encodings(parse) -> None:
    records, rejects, _ = parse("csv", "sku,name\nA,café\n".encode("latin-1"), encoding="latin-1")
    assert records[0][2]["name"] == "café" and rejects == []
    records, _, _ = parse("csv", "sku,name\nA,café\n".encode("utf-16"), encoding="utf-16")
    assert records[0][2] == {"sku": "A", "name": "café"}


def test_header_false_with_columns_skip_rows_and_comments(parse) -> None:
    data = b"exported by WMS\n# a comment\n1;2\n# another\n3;4\n"
    records, _, _ = parse(
        "csv", data, header=False, columns=["x", "y"], skip_rows=1, comment="#", delimiter=";"
    )
    assert records == [(1, 3, {"x": "1", "y": "2"}), (2, 5, {"x": "3", "y": "4"})]


def test_sniffing_finds_the_delimiter(parse) -> None:
    records, _, _ = parse("csv", b"a;b;c\n1;2;3\n4;5;6\n", sniff=True)
    assert records[1][2] == {"a": "4", "b": "5", "c": "6"}


def test_duplicate_header_names_are_an_error_for_the_file(parse) -> None:
    with pytest.raises(ParseError, match="duplicate column names in the header: 'sku'"):
        parse("csv", b"sku,qty,sku\n1,2,3\n")


def test_empty_file_and_header_only_file_give_no_records(parse) -> None:
    assert parse("csv", b"")[0] == []
    assert parse("csv", b"a,b\r\n")[0] == []


def test_mixed_line_endings(parse) -> None:
    records, rejects, _ = parse("csv", b"a,b\r\n1,2\n3,4\r5,6\r\n")
    assert [r[2]["a"] for r in records] == ["1", "3", "5"] and rejects == []


def test_chunks_are_bounded_and_positions_continue(parse) -> None:
    rows = b"".join(b"%d,x\n" % i for i in range(2500))
    records, _, chunks = parse("csv", b"n,v\n" + rows, chunk_size=1000)
    assert [len(c) for c in chunks] == [1000, 1000, 500]
    assert [r[0] for r in records] == list(range(1, 2501))
    assert chunks[2].lines[0] == 2002


def test_bad_bytes_in_the_header_stop_the_file_but_not_in_skipped_lines(parse) -> None:
    with pytest.raises(
        ParseError,
        match=r"stock.csv:1: the header holds bytes ff at byte offset 2, which are not "
        r"valid utf-8 \(set parser.encoding",
    ):
        parse("csv", b"sk\xffu,qty\n1,2\n")
    records, rejects, _ = parse("csv", b"caf\xe9 export\nsku,qty\n1,2\n", skip_rows=1)
    assert records == [(1, 3, {"sku": "1", "qty": "2"})] and rejects == []


def test_sniffing_tabs_and_pipes_and_falling_back_to_the_delimiter(parse) -> None:
    assert parse("csv", b"a\tb\n1\t2\n", sniff=True)[0][0][2] == {"a": "1", "b": "2"}
    assert parse("csv", b"a|b\n1|2\n3|4\n", sniff=True)[0][1][2] == {"a": "3", "b": "4"}
    assert parse("csv", b"single\nvalue\n", sniff=True)[0][0][2] == {"single": "value"}
