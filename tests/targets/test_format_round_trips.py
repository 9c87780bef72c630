"""Real specs end to end: GTINs keep their zeros, and values survive format round trips exactly."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow.parquet as pq

INVENTORY_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<InventoryUpdate xmlns="urn:wms:inventory">
  <Items>
    <Item location="LOC-001"><GTIN>01234567890128</GTIN><Qty>0050</Qty><Status>ACTIVE</Status></Item>
    <Item location="LOC-002"><GTIN>00000000000017</GTIN><Qty>7</Qty><Status>INACTIVE</Status></Item>
    <Item location="LOC-003"><GTIN>00012345000018</GTIN><Qty>000</Qty><Status>ACTIVE</Status></Item>
  </Items>
</InventoryUpdate>
"""

GTIN_SPEC = """
version: 1
name: gtin
source: {type: local, path: inbox, pattern: "*.xml"}
parser: {type: xml, records: InventoryUpdate/Items/Item}
mapping:
  fields:
    gtin: {source: GTIN, required: true}
    location: {source: "@location"}
    qty: {source: Qty, resolver: int}
    status: {source: Status}
target:
  type: file
  writer: %s
  destination: {type: local, path: out}
  name: "inventory.{ext}"
"""

GTINS = ["01234567890128", "00000000000017", "00012345000018"]


def _inbox(tmp_path: Path, name: str, data: bytes) -> None:
    (tmp_path / "inbox").mkdir(exist_ok=True)
    (tmp_path / "inbox" / name).write_bytes(data)


def test_a_gtin_survives_xml_to_csv(tmp_path, write_spec, run_spec) -> None:
    _inbox(tmp_path, "stock.xml", INVENTORY_XML)
    report = run_spec(write_spec(GTIN_SPEC % "csv"))
    assert report.exit_code == 0 and report.counts["written"] == 3
    assert (tmp_path / "out" / "inventory.csv").read_text() == (
        "gtin,location,qty,status\n"
        "01234567890128,LOC-001,50,ACTIVE\n"
        "00000000000017,LOC-002,7,INACTIVE\n"
        "00012345000018,LOC-003,0,ACTIVE\n"
    )


def test_a_gtin_survives_xml_to_parquet_declared_or_inferred(tmp_path, write_spec, run_spec) -> None:
    _inbox(tmp_path, "stock.xml", INVENTORY_XML)
    for n, writer in enumerate(
        ("{type: parquet, schema: {gtin: string, location: string, qty: int32, status: string}}", "parquet")
    ):
        spec = (
            (GTIN_SPEC % writer)
            .replace("name: gtin", f"name: gtin-{n}")
            .replace("inventory.{ext}", f"{n}.{{ext}}")
        )
        report = run_spec(write_spec(spec, f"gtin-{n}.yaml"))
        assert report.exit_code == 0
        table = pq.read_table(tmp_path / "out" / f"{n}.parquet")
        assert table.column("gtin").to_pylist() == GTINS
        assert str(table.schema.field("gtin").type) == "string"


CSV_IN = (
    "sku,qty,price,updatedOn,active,note\n"
    '00123,5,12.50,2024-01-31T10:00:05.120Z,true,"comma, and ""quotes"""\n'
    "00456,,0.05,1999-12-31T23:59:59.999Z,false,\n"
    '00789,-3,-100000.00,2024-02-29T00:00:00.000Z,,"multi\nline"\n'
)


def test_csv_to_parquet_to_csv_is_exact(tmp_path, write_spec, run_spec) -> None:
    _inbox(tmp_path, "stock.csv", CSV_IN.encode())
    to_parquet = write_spec(
        """
version: 1
name: to-parquet
source: {type: local, path: inbox, pattern: "*.csv"}
parser: {type: csv}
target:
  type: file
  writer:
    type: parquet
    schema: {sku: string, qty: int64, price: "decimal(12,2)", updatedOn: "timestamp[ms, UTC]", active: bool,
             note: string}
  destination: {type: local, path: middle}
  name: "stock.parquet"
""",
        "to_parquet.yaml",
    )
    assert run_spec(to_parquet).exit_code == 0
    table = pq.read_table(tmp_path / "middle" / "stock.parquet")
    assert table.column("qty").to_pylist() == [5, None, -3]
    back = write_spec(
        """
version: 1
name: to-csv
source: {type: local, path: middle, pattern: "*.parquet"}
parser: {type: parquet}
target:
  type: file
  writer: {type: csv}
  destination: {type: local, path: out}
  name: "stock.csv"
""",
        "to_csv.yaml",
    )
    assert run_spec(back).exit_code == 0
    assert (tmp_path / "out" / "stock.csv").read_text() == CSV_IN


ORDERS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Orders>
  <Order ref="O-1" channel="web">
    <Customer id="C9">Ada &amp; Co &lt;ltd&gt;</Customer>
    <Line n="1"><Sku>0001</Sku><Qty>2</Qty><Price currency="EUR">12.50</Price></Line>
    <Note>  keep  my  spaces  </Note>
    <Empty/>
  </Order>
  <Order ref="O-2">
    <Line n="1"><Sku>0002</Sku><Qty>1</Qty></Line>
    <Line n="2"><Sku>0003</Sku><Qty>4</Qty></Line>
    <Note>caf\u00e9 \u2603 \U0001f600</Note>
  </Order>
</Orders>
""".encode()


def test_xml_to_json_keeps_every_value_and_back_to_xml(tmp_path, write_spec, run_spec) -> None:
    from engine.contracts import Item
    from engine.parsers.xml import XmlOptions, XmlParser

    _inbox(tmp_path, "orders.xml", ORDERS_XML)
    spec = write_spec("""
version: 1
name: xml-json
source: {type: local, path: inbox, pattern: "*.xml"}
parser: {type: xml, records: Orders/Order, force_list: [Line]}
target:
  type: file
  writer: {type: json}
  destination: {type: local, path: out}
  name: "orders.json"
""")
    assert run_spec(spec).exit_code == 0
    written = json.loads((tmp_path / "out" / "orders.json").read_text(encoding="utf-8"))
    assert written == [
        {
            "@ref": "O-1",
            "@channel": "web",
            "Customer": {"@id": "C9", "#text": "Ada & Co <ltd>"},
            "Line": [{"@n": "1", "Sku": "0001", "Qty": "2", "Price": {"@currency": "EUR", "#text": "12.50"}}],
            "Note": "  keep  my  spaces  ",
            "Empty": None,
        },
        {
            "@ref": "O-2",
            "Line": [{"@n": "1", "Sku": "0002", "Qty": "1"}, {"@n": "2", "Sku": "0003", "Qty": "4"}],
            "Note": "caf\u00e9 \u2603 \U0001f600",
        },
    ]
    (tmp_path / "inbox" / "orders.xml").unlink()
    (tmp_path / "inbox" / "orders.json").write_bytes((tmp_path / "out" / "orders.json").read_bytes())
    back = write_spec(
        """
version: 1
name: json-xml
source: {type: local, path: inbox, pattern: "*.json"}
parser: {type: json}
target:
  type: file
  writer: {type: xml, root: Orders, record: Order}
  destination: {type: local, path: again}
  name: "orders.xml"
""",
        "back.yaml",
    )
    assert run_spec(back).exit_code == 0
    parser = XmlParser(
        XmlOptions(
            records="Orders/Order",
            force_list=["Line"],
            namespaces={},
            encoding=None,
            max_depth=64,
            max_element_bytes=16 << 20,
            chunk_size=100,
        )
    )
    data = (tmp_path / "again" / "orders.xml").read_bytes()
    assert [r for c in parser.parse(io.BytesIO(data), Item("u", "orders.xml")) for r in c.records] == written


def test_parquet_partitioned_by_date_reads_back_as_a_dataset(tmp_path, write_spec, run_spec) -> None:
    rows = "".join(f"S{i},{i},2024-01-0{1 + i % 3}T0{i % 10}:00:00Z\n" for i in range(30))
    _inbox(tmp_path, "positions.csv", ("sku,qty,updatedOn\n" + rows).encode())
    spec = write_spec("""
version: 1
name: positions
source: {type: local, path: inbox, pattern: "*.csv"}
parser: {type: csv}
target:
  type: file
  writer: {type: parquet, schema: {sku: string, qty: int32, updatedOn: "timestamp[ms, UTC]"}}
  destination: {type: local, path: out}
  partition_by: {field: updatedOn, name: day, date: "%Y-%m-%d"}
""")
    assert run_spec(spec).exit_code == 0
    import pyarrow.dataset as ds

    dataset = ds.dataset(tmp_path / "out", format="parquet", partitioning="hive")
    table = dataset.to_table()
    assert table.num_rows == 30
    by_day = {}
    for row in table.to_pylist():
        by_day.setdefault(row["day"] if isinstance(row["day"], str) else str(row["day"]), []).append(
            row["sku"]
        )
    assert sorted(by_day) == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert sorted(by_day["2024-01-02"]) == sorted(f"S{i}" for i in range(1, 30, 3))


def test_mapped_at_keys_become_xml_attributes(tmp_path, write_spec, run_spec) -> None:
    _inbox(tmp_path, "orders.csv", b"ref,sku,qty,cur,price\nO1,A,1,EUR,12.50\nO2,B,2,USD,3.00\n")
    spec = write_spec("""
version: 1
name: orders-xml
source: {type: local, path: inbox, pattern: "*.csv"}
parser: {type: csv}
mapping:
  fields:
    "@ref": {source: ref}
    Line.sku: {source: sku}
    Line.qty: {source: qty, resolver: int}
    Price.@currency: {source: cur}
    "Price.#text": {source: price}
target:
  type: file
  writer: {type: xml, root: Orders, record: Order, declaration: false}
  destination: {type: local, path: out}
  name: orders.xml
""")
    assert run_spec(spec).exit_code == 0
    assert (tmp_path / "out" / "orders.xml").read_text() == (
        '<Orders><Order ref="O1"><Line><sku>A</sku><qty>1</qty></Line><Price currency="EUR">12.50</Price></Order>'
        '<Order ref="O2"><Line><sku>B</sku><qty>2</qty></Line><Price currency="USD">3.00</Price></Order>'
        "</Orders>\n"
    )
