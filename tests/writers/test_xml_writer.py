"""XML writer: the parser's model in reverse, always well-formed, bad records rejected with the field."""

from __future__ import annotations

import io
import random

import pytest
from lxml import etree

from engine.contracts import Item


def test_attributes_text_children_lists_and_nulls(write) -> None:
    record = {
        "@ref": "O1",
        "customer": {"@id": "C9", "#text": "Ada"},
        "Line": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": None}],
        "note": None,
        "flags": [],
        "paid": True,
        "total": 12.5,
    }
    data, problems, _ = write("xml", [record], root="Orders", record="Order")
    assert problems == []
    assert data.decode() == (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Orders><Order ref="O1"><customer id="C9">Ada</customer>'
        "<Line><sku>A</sku><qty>1</qty></Line><Line><sku>B</sku><qty/></Line><note/><paid>true</paid>"
        "<total>12.5</total></Order></Orders>\n"
    )


def test_markup_is_escaped_and_carriage_returns_survive(write) -> None:
    value = "a < b & c > \"d\" 'e'\r\n\ttab"
    data, _, _ = write("xml", [{"@attr": value, "text": value}])
    root = etree.fromstring(data)
    assert root[0].get("attr") == value and root[0][0].text == value


@pytest.mark.parametrize(
    "record,reason",
    [
        ({"bad": "x\x01y"}, "bad: the value holds character U+0001, which XML 1.0 cannot represent"),
        ({"deep": {"er": "\x1f"}}, "deep.er: the value holds character U+001F"),
        ({"@a": "\ufffe"}, "@a: the value holds character U+FFFE"),
        ({"qty on hand": 1}, "qty on hand: 'qty on hand' is not a valid XML name"),
        ({"1st": 1}, "1st: '1st' is not a valid XML name"),
        ({"@a": {"b": 1}}, "@a: an attribute needs a single value, not a dict"),
        ({"grid": [[1, 2]]}, "grid: a list inside a list cannot be written as XML elements"),
        ({"obj": object()}, "obj: a object cannot be written as XML text"),
    ],
)
def test_records_xml_cannot_hold_are_rejected_and_the_others_written(write, record, reason) -> None:
    data, problems, _ = write("xml", [{"ok": 1}, record, {"ok": 2}])
    assert [(b, i) for b, i, _ in problems] == [(0, 1)]
    assert problems[0][2].startswith(reason), problems[0][2]
    root = etree.fromstring(data)
    assert [r[0].text for r in root] == ["1", "2"]


def test_invalid_characters_can_be_replaced_instead(write) -> None:
    data, problems, _ = write("xml", [{"v": "a\x00b\x1bc"}], invalid_chars="replace")
    assert problems == [] and etree.fromstring(data)[0][0].text == "a\ufffdb\ufffdc"


def test_namespaces_pretty_printing_and_no_declaration(write) -> None:
    data, _, _ = write(
        "xml",
        [{"@id": "1", "ns:code": "X", "Line": [{"n": "1"}, {"n": "2"}], "mixed": {"#text": "t", "b": "x"}}],
        root="Feed",
        record="ns:Item",
        namespaces={"": "urn:feed", "ns": "urn:ns"},
        pretty=True,
        declaration=False,
    )
    assert data.decode() == (
        '<Feed xmlns="urn:feed" xmlns:ns="urn:ns">\n'
        '  <ns:Item id="1">\n'
        "    <ns:code>X</ns:code>\n"
        "    <Line>\n      <n>1</n>\n    </Line>\n"
        "    <Line>\n      <n>2</n>\n    </Line>\n"
        "    <mixed>t<b>x</b></mixed>\n"
        "  </ns:Item>\n"
        "</Feed>\n"
    )


def test_other_encodings_write_character_references_for_what_they_lack(write) -> None:
    data, _, _ = write("xml", [{"name": "café ☃"}], encoding="iso-8859-1")
    assert data.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>')
    assert b"caf\xe9 &#9731;" in data
    assert etree.fromstring(data)[0][0].text == "café ☃"


def test_an_empty_result_is_a_valid_document(write) -> None:
    data, _, _ = write("xml", root="Orders")
    assert etree.fromstring(data).tag == "Orders" and len(etree.fromstring(data)) == 0


def test_bad_names_in_options_are_reported_at_their_option() -> None:
    from tests.writers.conftest import make_writer

    writer = make_writer("xml", root="my root", record="ok", namespaces={"a:b": "urn:x"}, encoding="nope")
    assert writer.problems() == [
        (("root",), "'my root' is not a valid XML name"),
        (("namespaces", "a:b"), "'a:b' is not a valid XML name"),
        (("encoding",), "unknown encoding 'nope' (e.g. utf-8, iso-8859-1)"),
    ]


def _random_text(rng: random.Random) -> str:
    pool = "abc <>&\"'\r\n\t=;#/\\\u00e9\u2603\U0001f600]]>-- ?"
    return "".join(rng.choice(pool) for _ in range(rng.randint(0, 20)))


def test_written_records_read_back_identically_through_the_xml_parser(write) -> None:
    """Writer and parser share one model: what goes out comes back, for any text."""
    from engine.parsers.xml import XmlOptions, XmlParser

    rng = random.Random(11)
    records = []
    for i in range(300):
        text = _random_text(rng)
        records.append(
            {
                "@id": str(i),
                "@note": _random_text(rng) or "x",
                "sku": f"{i:014d}",
                "name": text or None,
                "Line": [{"@n": "1", "#text": _random_text(rng) or "t"}, {"qty": str(rng.randint(0, 99))}],
            }
        )
    data, problems, _ = write("xml", records, root="Items", record="Item", pretty=rng.random() < 0.5)
    assert problems == []
    parser = XmlParser(
        XmlOptions(
            records="Items/Item",
            force_list=["Line"],
            namespaces={},
            encoding=None,
            max_depth=64,
            max_element_bytes=16 << 20,
            chunk_size=1000,
        )
    )
    back = [r for chunk in parser.parse(io.BytesIO(data), Item("u", "x.xml")) for r in chunk.records]
    assert back == records
