"""XML: the element → dict model, record paths, lineage, limits and clear errors."""

from __future__ import annotations

import pytest

from engine.errors import ConfigError, ParseError

INVENTORY = b"""<?xml version="1.0" encoding="UTF-8"?>
<InventoryUpdate>
  <Header><Id>1</Id></Header>
  <Items>
    <Item sku="A1" location="L1"><GTIN>01234567890128</GTIN><Qty>0050</Qty><Active>true</Active></Item>
    <Item sku="B2"><GTIN>00000000000017</GTIN><Qty>7</Qty></Item>
    <Item sku="C3"><GTIN/><Qty>1.50</Qty></Item>
  </Items>
</InventoryUpdate>
"""


def _values(records):
    return [r[2] for r in records]


def test_text_stays_text_and_attributes_are_kept(parse) -> None:
    records, rejects, _chunks = parse("xml", INVENTORY, records="InventoryUpdate/Items/Item")
    assert rejects == []
    assert _values(records) == [
        {"@sku": "A1", "@location": "L1", "GTIN": "01234567890128", "Qty": "0050", "Active": "true"},
        {"@sku": "B2", "GTIN": "00000000000017", "Qty": "7"},
        {"@sku": "C3", "GTIN": None, "Qty": "1.50"},
    ]


def test_records_carry_position_source_line_and_element_locator(parse) -> None:
    records, _, chunks = parse("xml", INVENTORY, records="InventoryUpdate/Items/Item")
    assert [(r[0], r[1]) for r in records] == [(1, 5), (2, 6), (3, 7)]
    assert chunks[0].locators == [
        "/InventoryUpdate/Items/Item[1]",
        "/InventoryUpdate/Items/Item[2]",
        "/InventoryUpdate/Items/Item[3]",
    ]
    assert chunks[0].where(1) == "stock.xml /InventoryUpdate/Items/Item[2]"


def test_cardinality_never_depends_on_the_data_with_force_list(parse) -> None:
    data = (
        b"<Orders><Order><Line>a</Line></Order><Order><Line>a</Line><Line>b</Line></Order><Order/></Orders>"
    )
    records, _, _ = parse("xml", data)
    assert _values(records) == [{"Line": "a"}, {"Line": ["a", "b"]}, {}]
    records, _, _ = parse("xml", data, force_list=["Line"])
    assert _values(records) == [{"Line": ["a"]}, {"Line": ["a", "b"]}, {}]


@pytest.mark.parametrize(
    "element,value",
    [
        (b"<v>text</v>", "text"),
        (b"<v>  padded  </v>", "  padded  "),
        (b"<v/>", None),
        (b"<v></v>", None),
        (b'<v unit="kg">5</v>', {"@unit": "kg", "#text": "5"}),
        (b'<v unit="kg"/>', {"@unit": "kg"}),
        (b"<v><a>1</a><b>2</b></v>", {"a": "1", "b": "2"}),
        (b"<v>\n  <a>1</a>\n</v>", {"a": "1"}),
        (b"<v>Hello <b>big</b> world</v>", {"b": "big", "#text": "Hello  world"}),
        (b"<v><a>1</a><b/><a>2</a></v>", {"a": ["1", "2"], "b": None}),
        (b"<v>caf\xc3\xa9 &amp; &#x2603; <![CDATA[<raw>]]></v>", "caf\u00e9 & \u2603 <raw>"),
        (b"<v>a<!-- comment --><?pi x?>b</v>", "ab"),
        (b"<v>line1\r\nline2</v>", "line1\nline2"),
    ],
)
def test_element_model(parse, element: bytes, value) -> None:
    records, _, _ = parse("xml", b"<root><rec>" + element + b"</rec></root>")
    assert _values(records) == [{"v": value}]


def test_a_text_only_record_is_still_a_record(parse) -> None:
    records, _, _ = parse("xml", b"<skus><sku>0001</sku><sku/></skus>")
    assert _values(records) == [{"#text": "0001"}, {}]


def test_namespaces_are_stripped_or_mapped_to_prefixes(parse) -> None:
    data = (
        b'<ns:Feed xmlns:ns="urn:feed" xmlns:x="urn:ext"><ns:Item x:code="1"><ns:Sku>A</ns:Sku>'
        b"<x:Sku>B</x:Sku></ns:Item></ns:Feed>"
    )
    records, _, _ = parse("xml", data, records="Feed/Item")
    assert _values(records) == [{"@code": "1", "Sku": ["A", "B"]}]
    records, _, _ = parse("xml", data, records="Feed/Item", namespaces={"x": "urn:ext"})
    assert _values(records) == [{"@x:code": "1", "Sku": "A", "x:Sku": "B"}]
    records, _, _ = parse("xml", data, records="f:Feed/f:Item", namespaces={"f": "urn:feed"})
    assert _values(records) == [{"@code": "1", "f:Sku": "A", "Sku": "B"}]


@pytest.mark.parametrize(
    "path,expected",
    [
        ("InventoryUpdate/Items/Item", ["A1", "B2", "C3"]),
        ("/InventoryUpdate/Items/Item", ["A1", "B2", "C3"]),
        ("//Item", ["A1", "B2", "C3"]),
        ("InventoryUpdate//Item", ["A1", "B2", "C3"]),
        ("*/Items/*", ["A1", "B2", "C3"]),
        ("InventoryUpdate/*", [None, None]),
    ],
)
def test_record_paths(parse, path: str, expected: list) -> None:
    records, _, _ = parse("xml", INVENTORY, records=path)
    assert [r[2].get("@sku") for r in records] == expected


def test_descendant_records_are_found_at_any_depth_but_not_inside_each_other(parse) -> None:
    data = b"<a><Item id='1'><Item id='inner'/></Item><b><c><Item id='2'/></c></b></a>"
    records, _, chunks = parse("xml", data, records="//Item")
    assert _values(records) == [{"@id": "1", "Item": {"@id": "inner"}}, {"@id": "2"}]
    assert chunks[0].locators == ["/a/Item[1]", "/a/b/c/Item[1]"]


def test_repeated_containers_are_indexed_in_locators(parse) -> None:
    data = b"<r><Batch><I/><I/></Batch><Batch><I/></Batch></r>"
    _, _, chunks = parse("xml", data, records="r/Batch/I")
    assert chunks[0].locators == ["/r/Batch/I[1]", "/r/Batch/I[2]", "/r/Batch[2]/I[1]"]


def test_wrong_root_or_missing_path_is_an_error_but_an_empty_list_is_not(parse) -> None:
    with pytest.raises(
        ParseError,
        match=r"stock.xml:2: the root element is <InventoryUpdate>, the records path "
        r"'Inventory/Items/Item' starts at <Inventory>",
    ):
        parse("xml", INVENTORY, records="Inventory/Items/Item")
    with pytest.raises(ParseError, match="no element matches the records path 'InventoryUpdate/Lines/Line'"):
        parse("xml", INVENTORY, records="InventoryUpdate/Lines/Line")
    records, _, _ = parse(
        "xml", b"<InventoryUpdate><Items/></InventoryUpdate>", records="InventoryUpdate/Items/Item"
    )
    assert records == []


def test_malformed_record_paths_are_spec_errors() -> None:
    from engine.parsers.xml import compile_record_path

    for bad in ("", "a/", "a/b[1]", "a/@id", "a///b"):
        with pytest.raises(ConfigError):
            compile_record_path(bad)


def test_chunks_are_bounded_and_positions_continue(parse) -> None:
    data = b"<r>" + b"".join(b"<i n='%d'/>" % i for i in range(25)) + b"</r>"
    records, _, chunks = parse("xml", data, chunk_size=10)
    assert [len(c) for c in chunks] == [10, 10, 5]
    assert [r[0] for r in records] == list(range(1, 26))
    assert chunks[2].locators[0] == "/r/i[21]"


def test_an_oversized_record_is_rejected_and_the_others_flow(parse) -> None:
    big = b"<Item><Blob>" + b"<x>0123456789</x>" * 10000 + b"</Blob></Item>"
    data = b"<r><Item>first</Item>" + big + b"<Item>last</Item></r>"
    records, rejects, _ = parse("xml", data, max_element_bytes=65536)
    assert _values(records) == [{"#text": "first"}, {"#text": "last"}]
    assert [r[0] for r in records] == [1, 3]
    [reject] = rejects
    assert (reject.position, reject.locator) == (2, "/r/Item[2]")
    assert "larger than max_element_bytes (65536 bytes)" in reject.reason


def test_encoding_comes_from_the_declaration_or_the_option(parse) -> None:
    latin = '<?xml version="1.0" encoding="ISO-8859-1"?><r><i>café</i></r>'.encode("latin-1")
    assert _values(parse("xml", latin)[0]) == [{"#text": "café"}]
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><r><i>café</i></r>'.encode("utf-16")
    assert _values(parse("xml", utf16)[0]) == [{"#text": "café"}]
    undeclared = "<r><i>café</i></r>".encode("latin-1")
    with pytest.raises(ParseError, match=r"stock.xml:1:10: .*bytes e9 are not valid UTF-8"):
        parse("xml", undeclared)
    assert _values(parse("xml", undeclared, encoding="iso-8859-1")[0]) == [{"#text": "café"}]


def test_a_byte_order_mark_is_accepted(parse) -> None:
    assert _values(parse("xml", b"\xef\xbb\xbf<r><i>1</i></r>")[0]) == [{"#text": "1"}]


def test_options_are_checked_when_the_spec_compiles(tmp_path) -> None:
    from engine.errors import SpecError
    from engine.parsers.xml import XmlOptions, XmlParser
    from engine.spec.compile import compile_file

    base = {
        "records": None,
        "force_list": [],
        "namespaces": {},
        "encoding": None,
        "max_depth": 64,
        "max_element_bytes": 16 << 20,
        "chunk_size": 10,
    }
    assert XmlParser(XmlOptions(**base)).problems() == []
    bad = XmlParser(
        XmlOptions(**{**base, "records": "a/b[1]", "max_element_bytes": 100, "encoding": "klingon"})
    )
    assert [(path, text.split(":")[0]) for path, text in bad.problems()] == [
        (("records",), "malformed records path 'a/b[1]'"),
        (("max_element_bytes",), "must be at least 64KiB (it is measured to within 64 KiB)"),
        (("encoding",), "unknown encoding 'klingon' (e.g. utf-8, iso-8859-1, cp1252)"),
    ]
    spec = tmp_path / "x.yaml"
    spec.write_text(
        "version: 1\nname: x\nsource: {type: local, path: in}\n"
        'parser:\n  type: xml\n  max_element_bytes: lots\ntarget: {type: "null"}\n'
    )
    with pytest.raises(SpecError) as caught:
        compile_file(spec)
    assert [d.render() for d in caught.value.diagnostics] == [
        f"{spec}:6:22 parser.max_element_bytes: expected a size such as 500000, 64MB or 1GiB, got 'lots'"
    ]


class _Trickle:
    """A stream returning a few bytes per read, so line ends fall across reads."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step, self.at = data, step, 0

    def read(self, n: int = -1) -> bytes:
        chunk = self.data[self.at : self.at + min(n, self.step) if n > 0 else None]
        self.at += len(chunk)
        return chunk


@pytest.mark.parametrize("step", [1, 2, 3, 7, 1 << 16])
def test_line_numbers_hold_for_lf_crlf_and_lone_cr_across_reads(step: int) -> None:
    from engine.contracts import Item
    from engine.parsers.xml import XmlOptions, XmlParser

    data = b"<r>\r\n<i>a\rb</i>\n<i>c\r\nd</i>\r<i/>\r\n\r\n<i/></r>"
    parser = XmlParser(
        XmlOptions(
            records=None,
            force_list=[],
            namespaces={},
            encoding=None,
            max_depth=64,
            max_element_bytes=16 << 20,
            chunk_size=100,
        )
    )
    [chunk] = list(parser.parse(_Trickle(data, step), Item("u", "x.xml")))
    assert chunk.records == [{"#text": "a\nb"}, {"#text": "c\nd"}, {}, {}]
    assert chunk.lines == [2, 4, 6, 8]


def test_any_python_codec_can_be_named_and_its_bad_bytes_are_located(parse) -> None:
    mac = '<?xml version="1.0" encoding="UTF-8"?><r><i>café</i>\r<i>x</i></r>'.encode("mac-roman")
    assert _values(parse("xml", mac, encoding="mac-roman")[0]) == [{"#text": "café"}, {"#text": "x"}]
    with pytest.raises(
        ParseError, match=r"stock.xml: bytes 81 at about byte offset 15 are not valid shift_jis"
    ):
        parse("xml", b"<r><i>ok</i><i>\x81\x20</i></r>", encoding="shift_jis")


def test_records_before_a_fatal_problem_flow_before_the_error() -> None:
    from tests.parsers.test_hostile import parse_all

    data = b"<r>" + b"<i>ok</i>" * 3 + b"<i>" + b"<a>" * 70 + b"</a>" * 70 + b"</i></r>"
    values, _, error, _, _ = parse_all("xml", "deep.xml", data, chunk_size=100)
    assert values == [{"#text": "ok"}] * 3
    assert isinstance(error, ParseError) and "inside record 4 (/r/i[4])" in str(error)
