"""The connector library: its catalogue matches its folders, and every connector runs end to end.

Each connector runs against a test emulator (and moto, the test sshd where its
connections need them) with its own sample data; the check looks at what Fluent
or the destination holds afterwards, not only at the exit code. Variants are
the documented ``--set`` forms of a connector that cover a second scenario.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from engine.cli.common import expand_specs
from engine.emulator import Emulator
from engine.library import STATUSES, connector_folders, default_library, read_catalogue
from tests.connectors import _harness as h

LIBRARY = default_library()
ENTRIES, OTHERS = read_catalogue((LIBRARY / "README.md").read_text(encoding="utf-8"))
SCENARIOS = 76  # sdk-behaviour.md §9


# --- what Fluent and the destinations hold ---------------------------------------------------------


def on_hand(emu: Emulator, sku: str, loc: str) -> int | None:
    rows = emu.state("inventory_positions", productRef=sku, locationRef=loc)
    return rows[0]["onHand"] if rows else None


def product(emu: Emulator, ref: str) -> dict | None:
    rows = emu.state("products", ref=ref)
    return rows[0] if rows else None


def s3_objects(servers: h.Servers, bucket: str, prefix: str = "") -> dict[str, bytes]:
    client = servers.s3.client()
    listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents") or []
    return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def sftp_outputs(servers: h.Servers, suffix: str) -> dict[str, bytes]:
    return {f: (servers.sftp.home / f).read_bytes() for f in servers.sftp.files() if f.endswith(suffix)}


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


# --- one check per connector ----------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    """How a connector's end-to-end run is judged; ``payloads`` are request bodies from data/."""

    check: Callable[[h.Servers, Any], None]
    payloads: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    repeat: bool = False  # the payloads are posted twice: the repeat must change nothing
    redeliver: bool = False  # the sample files are delivered again: nothing is sent twice
    setup: Callable[[h.Servers, Path], None] | None = None  # puts what a lookup reads in place
    changed_only: bool = False  # a redelivered file is read, and its unchanged records are not sent


def _inventory_s3_batch(servers: h.Servers, report: Any) -> None:
    emu = servers.emulator
    assert report.counts["written"] == 4 and report.counts["rejected"]["mapping"] == 1
    assert on_hand(emu, "SKU-0003", "LOC-002") == 5 and on_hand(emu, "SKU-0002", "LOC-001") == 0
    assert "inventory/processed/" in "".join(s3_objects(servers, "wms-exports"))


def _inventory_xml_batch(servers: h.Servers, report: Any) -> None:
    emu = servers.emulator
    assert report.counts["written"] == 3 and report.counts["rejected"]["mapping"] == 1
    assert on_hand(emu, "SKU-0022", "LOC-003") == 15 and on_hand(emu, "SKU-0021", "LOC-002") == 0


def _inventory_sftp_batch(servers: h.Servers, report: Any) -> None:
    assert report.counts["written"] == 3 and report.counts["rejected"]["mapping"] == 1
    assert on_hand(servers.emulator, "SKU-0010", "LOC-001") == 14
    assert on_hand(servers.emulator, "SKU-0012", "LOC-003") == 0


def _products_events(servers: h.Servers, report: Any) -> None:
    emu = servers.emulator
    assert report.counts["written"] == 2 and report.counts["rejected"]["mapping"] == 2
    tote, grey = product(emu, "NEW-3001"), product(emu, "SKU-0003")
    assert tote is not None and tote["gtin"] == "09312345300010" and tote["name"] == "Canvas Tote"
    assert grey is not None and grey["gtin"] == "01234567890128"
    assert product(emu, "NEW-3002") is None, "a price that is not a number is never sent as 0"


def _parquet_products_events(servers: h.Servers, report: Any) -> None:
    emu = servers.emulator
    assert report.counts["written"] == 3 and report.counts["rejected"]["mapping"] == 1
    tote = product(emu, "NEW-2001")
    assert tote is not None and tote["name"] == "Canvas Tote" and tote["gtin"] == "09312345200013"


def _locations(servers: h.Servers, report: Any) -> None:
    emu = servers.emulator
    assert report.counts["written"] == 3 and report.counts["rejected"]["mapping"] == 1
    [darwin] = emu.state("locations", ref="LOC-021")
    assert darwin["name"] == "Darwin Smith Street" and darwin["primaryAddress"]["postcode"] == "0800"
    [sydney] = emu.state("locations", ref="LOC-001")
    assert sydney["name"] == "Sydney CBD Flagship", "an existing location is updated"
    assert not emu.state("locations", ref="LOC-023")


def _controls(servers: h.Servers, report: Any) -> None:
    emu = servers.emulator
    assert report.counts["written"] == 2 and report.counts["rejected"]["mapping"] == 1
    [safety] = emu.state("controls", ref="CG-DEMO:SAFETY-STOCK")
    assert safety["values"] == [{"name": "quantity", "type": "INTEGER", "value": 5}]
    assert not emu.state("controls", ref="CG-DEMO:MIN-MARGIN"), "'lots' is never stored as 0"


def _order_cancel(servers: h.Servers, report: Any) -> None:
    [order] = servers.emulator.state("orders", ref="ORD-1002")
    assert order["status"] == "CANCELLED"
    cancels = [e for e in servers.emulator.state("events") if e["name"] == "OrderCancel"]
    assert len(cancels) == 1, "a repeated request cancels once"


def _order_update(ref: str, carrier: str, tracking: str) -> Callable[[h.Servers, Any], None]:
    def check(servers: h.Servers, report: Any) -> None:
        [order] = servers.emulator.state("orders", ref=ref)
        attrs = {a["name"]: a["value"] for a in order["attributes"]}
        assert attrs["carrier"] == carrier and attrs["trackingNumber"] == tracking
        updates = servers.emulator.requests(method="POST", path="/graphql")
        assert sum("updateOrder" in (r["body"] or "") for r in updates) == 1, (
            "a repeated request updates once"
        )

    return check


def _order_processed(servers: h.Servers, report: Any) -> None:
    [order] = servers.emulator.state("orders", ref="ORD-1003")
    attrs = {a["name"]: a["value"] for a in order["attributes"]}
    assert attrs["integrationEventId"] == "9b1c7e02-4f3a-4d8e-b6a1-0c2d3e4f5a61"
    assert attrs["integrationStatusSeen"] == "BOOKED" and attrs["integrationProcessedOn"].startswith("20")


def _sfcc_order(servers: h.Servers, report: Any) -> None:
    [order] = servers.emulator.state("orders", ref="SF-100231")
    assert order["totalPrice"] == 59.9 and order["currency"] == "AUD"
    creates = [
        r for r in servers.emulator.requests(method="POST", path="/graphql") if "createOrder" in r["body"]
    ]
    assert len(creates) == 1, "a storefront retry creates the order once"


def _erp_orders(servers: h.Servers, report: Any) -> None:
    emu = servers.emulator
    assert report.counts["written"] == 2 and report.counts["rejected"]["mapping"] == 1
    [order] = emu.state("orders", ref="ERP-5001")
    assert order["totalPrice"] == 69.85
    assert not emu.state("orders", ref="ERP-5003"), "an empty quantity is never sent as 0"
    assert servers.sftp.files() == ["outbound/orders/processed/orders_2026-01-05.xml"]


def _one(outputs: dict[str, bytes]) -> bytes:
    assert len(outputs) == 1, sorted(outputs)
    return next(iter(outputs.values()))


def _fulfilment_lines_csv(servers: h.Servers, report: Any) -> None:
    rows = csv_rows(_one(sftp_outputs(servers, ".csv")))
    lines = servers.emulator.state("fulfilment_items")
    assert len(rows) == len(lines) == report.counts["written"] > 0
    assert {r["fulfilment_ref"] for r in rows} == {f["ref"] for f in servers.emulator.state("fulfilments")}


def _fulfilment_lines_xml(servers: h.Servers, report: Any) -> None:
    root = etree.fromstring(_one(sftp_outputs(servers, ".xml")))
    assert root.tag == "Fulfilments"
    assert len(root.findall("Line")) == len(servers.emulator.state("fulfilment_items")) > 0


def _positions_xml(servers: h.Servers, report: Any) -> None:
    root = etree.fromstring(_one(sftp_outputs(servers, ".xml")))
    positions = servers.emulator.state("inventory_positions")
    assert len(root.findall("Position")) == len(positions) == report.counts["written"]
    zero = next(p for p in positions if p["onHand"] == 0)
    [element] = root.xpath("Position[@ref=$ref]", ref=zero["ref"])
    assert element.findtext("OnHand") == "0", "a zero is written, not left out"


def _quantities(servers: h.Servers, report: Any) -> None:
    [(key, data)] = s3_objects(servers, "retail-lake", "fluent/inventory-quantities/").items()
    quantities = servers.emulator.state("inventory_quantities")
    rows = json.loads(data)["quantities"] if key.endswith(".json") else csv_rows(data)
    assert len(rows) == len(quantities) == report.counts["written"]
    [receipt] = [r for r in rows if r["quantity_ref"] == "ASN-1001-1"]
    assert receipt["type"] == "EXPECTED" and receipt["expected_on"].startswith("2030-01-15")


def _orders_csv(servers: h.Servers, report: Any) -> None:
    [data] = s3_objects(servers, "retail-lake", "fluent/orders/").values()
    rows = csv_rows(data)
    assert len(rows) == len(servers.emulator.state("order_items")) == report.counts["written"]
    [line] = [r for r in rows if r["line_ref"] == "ORD-1001-2"]
    assert line["quantity"] == "2" and line["line_total"] == "59.95"


def _products_json(servers: h.Servers, report: Any) -> None:
    [(key, data)] = s3_objects(servers, "retail-lake", "fluent/products/").items()
    products = json.loads(data)["products"]
    assert key.endswith("-001.json") and len(products) == len(servers.emulator.state("products"))
    assert all(p["gtin"].startswith("0") for p in products), "GTINs stay text"


def _products_xml(servers: h.Servers, report: Any) -> None:
    root = etree.fromstring(_one(sftp_outputs(servers, ".xml")))
    elements = root.findall("Product")
    assert len(elements) == len(servers.emulator.state("products")) == report.counts["written"]
    assert elements[0].findtext("Gtin").startswith("0")


def _virtual(servers: h.Servers, report: Any) -> None:
    [(key, data)] = s3_objects(servers, "retail-lake", "fluent/virtual-positions/").items()
    rows = json.loads(data)["positions"] if key.endswith(".json") else csv_rows(data)
    assert len(rows) == len(servers.emulator.state("virtual_positions")) == report.counts["written"] > 0


def _virtual_xml(servers: h.Servers, report: Any) -> None:
    root = etree.fromstring(_one(sftp_outputs(servers, ".xml")))
    assert root.tag == "Availability"
    assert len(root.findall("Position")) == len(servers.emulator.state("virtual_positions")) > 0


def _validated_counts(servers: h.Servers, report: Any) -> None:
    emu = servers.emulator
    assert report.counts["written"] == 2 and on_hand(emu, "SKU-0001", "LOC-001") == 12
    assert on_hand(emu, "SKU-0002", "LOC-001") != 0, "an empty quantity never zeroes stock"
    rejects = csv_rows(Path(report.rejects_path).read_bytes())
    assert Path(report.rejects_path).suffix == ".csv" and len(rejects) == 5


def _positions_csv(servers: h.Servers, report: Any) -> None:
    [data] = s3_objects(servers, "retail-lake", "fluent/inventory-positions/").values()
    assert (
        len(csv_rows(data)) == len(servers.emulator.state("inventory_positions")) == report.counts["written"]
    )


def _virtual_parquet(servers: h.Servers, report: Any) -> None:
    import pyarrow.parquet as pq

    parts = s3_objects(servers, "retail-lake", "fluent/virtual-positions/")
    rows = sum(pq.read_table(io.BytesIO(data)).num_rows for data in parts.values())
    assert rows == len(servers.emulator.state("virtual_positions")) == report.counts["written"] > 0


def _orders_xml(servers: h.Servers, report: Any) -> None:
    root = etree.fromstring(_one(sftp_outputs(servers, ".xml")))
    assert len(root.findall("Order")) == len(servers.emulator.state("orders")) == report.counts["written"]


def _local_products(servers: h.Servers, report: Any) -> None:
    linen = product(servers.emulator, "NEW-1001")
    assert report.counts["written"] == 4 and linen is not None and linen["gtin"] == "09312345100016"


def _s3_json_products(servers: h.Servers, report: Any) -> None:
    linen = product(servers.emulator, "NEW-100")
    assert report.counts["written"] == 2 and linen is not None and linen["gtin"] == "09312345100016"


def _locations_upsert(servers: h.Servers, report: Any) -> None:
    [perth] = servers.emulator.state("locations", ref="LOC-011")
    assert perth["name"] == "Perth Central" and report.counts["rejected"]["mapping"] == 1


def _local_order_cancel(servers: h.Servers, report: Any) -> None:
    [order] = servers.emulator.state("orders", ref="ORD-1002")
    assert order["status"] == "CANCELLED" and report.counts["written"] >= 2


def _flash_sale(servers: h.Servers, report: Any) -> None:
    emu = servers.emulator
    held = {q["ref"]: q for q in emu.state("inventory_quantities", type="RESERVED")}
    assert held["FLASH-2026-01:SKU-0005:LOC-005"]["qty"] == 2
    assert held["FLASH-2026-01:SKU-0002:LOC-002"]["expectedOn"].startswith("2026-01-05T21:00:00")
    assert not any("SKU-0003" in ref for ref in held), "a zero is never reserved"
    assert not any("SKU-0004" in ref for ref in held), "more than is available is refused"
    assert report.counts["rejected"]["mapping"] == 1 and report.counts["rejected"]["target"] == 1


def _web_export_on_s3(servers: h.Servers, spec: Path) -> None:
    client = servers.s3.bucket("web-warehouse")
    body = (spec.parent / "reference" / "web_2026-01-05.json").read_bytes()
    client.put_object(Bucket="web-warehouse", Key="exports/web_2026-01-05.json", Body=body)


def _aggregated(servers: h.Servers, report: Any) -> None:
    emu = servers.emulator
    assert report.counts["written"] == 2 and report.counts["rejected"]["mapping"] == 1
    assert on_hand(emu, "SKU-0045", "LOC-001") == 15 and on_hand(emu, "SKU-0046", "LOC-002") == 4


def _transfers(servers: h.Servers, report: Any) -> None:
    emu = servers.emulator
    assert on_hand(emu, "SKU-0001", "LOC-002") == 74 and on_hand(emu, "SKU-0001", "LOC-003") == 101
    assert on_hand(emu, "SKU-0002", "LOC-001") == 81 and on_hand(emu, "SKU-0002", "LOC-004") == 15
    moved = {q["ref"]: q for q in emu.state("inventory_quantities") if q["ref"].startswith("T-")}
    assert {ref: q["status"] for ref, q in moved.items()} == {"T-3001": "RECEIVED", "T-3002": "RECEIVED"}
    variance = {a["name"]: a["value"] for a in moved["T-3002"]["attributes"]}["variance"]
    assert variance == -1, "a shortfall is kept as the receipt's variance"
    assert on_hand(emu, "SKU-0003", "LOC-002") == 1, "a refused dispatch moves nothing"
    assert report.routes["main.receive"]["written"] == 2 and report.routes["main.review"]["written"] == 2
    [review] = (Path(report.spec).parent / "out" / "review").glob("*.csv")
    assert [r["transfer"] for r in csv_rows(review.read_bytes())] == ["T-3003", "T-3004"]


def _rma(servers: h.Servers, report: Any) -> None:
    emu = servers.emulator
    [made] = emu.state("return_orders", ref="RMA-7001")
    assert made["order"]["ref"] == "ORD-1002" and made["lodgedLocation"] == {"ref": "LOC-001"}
    assert made["totalAmount"]["amount"] == 45.0 and made["totalTax"]["amount"] == 4.09
    [order] = emu.state("orders", ref="ORD-1002")
    attributes = {a["name"]: a["value"] for a in order["attributes"]}
    assert attributes == {"returnOrderRef": "RMA-7001", "returnStatus": made["status"]}
    assert report.routes["main.create"]["written"] == report.routes["main.order"]["written"] == 1


def _asn_inbound(servers: h.Servers, report: Any) -> None:
    emu = servers.emulator
    receipts = {q["ref"]: q for q in emu.state("inventory_quantities") if q["ref"].startswith("ASN-3001-")}
    assert {ref: q["status"] for ref, q in receipts.items()} == {
        "ASN-3001-1": "RECEIVED",
        "ASN-3001-2": "RECEIVED",
        "ASN-3001-4": "RECEIVED",
        "ASN-3001-5": "RECEIVED",
    }, "'twelve' is refused, never received as 0"
    received = {ref: {a["name"]: a["value"] for a in q["attributes"]} for ref, q in receipts.items()}
    assert received["ASN-3001-4"]["receivedQuantity"] == 30, "a leading zero is kept"
    assert received["ASN-3001-2"]["crossDock"] is True and received["ASN-3001-2"]["orderRef"] == "ORD-1002"
    assert "crossDock" not in received["ASN-3001-1"]
    assert report.routes["receive.received"]["written"] == 4 and report.counts["rejected"]["mapping"] == 1
    [alert] = servers.smtp.messages
    assert alert["Subject"] == "2 ASN lines off their order in sftp-asn-inbound"
    assert alert["To"] == "buyers@example.com"
    lines = [line for line in alert.get_content().splitlines() if line.startswith("- ")]
    assert lines == [
        "- ASN-3001-2 (PO-7001) SKU-0013: ordered 10, shipped 6 (-40.0 %)",
        "- ASN-3001-5 (PO-7001) SKU-0016: ordered 20, shipped 25 (25.0 %)",
    ]
    assert servers.sftp.files() == ["outbound/asn/processed/asn_2001.xml"]


CASES: dict[str, Case] = {
    "inventory-s3-batch": Case(_inventory_s3_batch, redeliver=True),
    "inventory-s3-xml-batch": Case(_inventory_xml_batch, redeliver=True),
    "inventory-sftp-batch": Case(_inventory_sftp_batch),
    "inventory-sftp-xml-batch": Case(_inventory_xml_batch),
    "products-sftp-events": Case(_products_events),
    "products-s3-csv-events": Case(_products_events, redeliver=True),
    "locations-s3-graphql": Case(_locations),
    "locations-sftp-graphql": Case(_locations),
    "controls-s3-graphql": Case(_controls),
    "controls-sftp-graphql": Case(_controls),
    "webhook-order-cancel": Case(_order_cancel, payloads=("cancel-request.json",), repeat=True),
    "rubix-order-attribute-update": Case(_order_processed, payloads=("order-booked.json",), repeat=True),
    "webhook-xml-order-create": Case(_sfcc_order, payloads=("sfcc-order.xml",), repeat=True),
    "orders-sftp-xml-create": Case(_erp_orders, redeliver=True),
    "fulfilments-sftp": Case(_fulfilment_lines_csv),
    "inventory-positions-sftp-xml": Case(_positions_xml),
    "inventory-quantities-s3": Case(_quantities),
    "orders-s3-csv": Case(_orders_csv),
    "products-s3-json-export": Case(_products_json),
    "products-sftp-xml-export": Case(_products_xml),
    "virtual-positions-s3-csv": Case(_virtual),
    "virtual-positions-sftp-xml": Case(_virtual_xml),
    "csv-validation-rejects": Case(_validated_counts, redeliver=True),
    "inventory-positions-s3": Case(_positions_csv),
    "virtual-positions-s3": Case(_virtual_parquet),
    "orders-sftp-xml": Case(_orders_xml),
    "products-events": Case(_local_products),
    "products-s3-events": Case(_s3_json_products),
    "products-s3-parquet-events": Case(_parquet_products_events),
    "locations-upsert": Case(_locations_upsert),
    "order-cancel": Case(_local_order_cancel),
    "transfers-dispatch-receipt": Case(_transfers, redeliver=True),
    "sftp-asn-inbound": Case(_asn_inbound, redeliver=True),
    "webhook-returns-rma": Case(_rma, payloads=("rma.json",), repeat=True),
    "webhook-flash-sale-reserve": Case(_flash_sale, payloads=("flash-sale-start.json",), repeat=True),
    "multi-source-stock": Case(_aggregated, setup=_web_export_on_s3, redeliver=True, changed_only=True),
    "webhook-order-update": Case(
        _order_update("ORD-1003", "AUSPOST", "AP0012345678"), payloads=("order-update.json",), repeat=True
    ),
}

#: the documented --set forms that make a connector cover a second scenario
VARIANTS: dict[str, tuple[str, Case]] = {
    "inventory-s3-batch:json": (
        "inventory-s3-batch",
        Case(
            _inventory_s3_batch,
            extra=("parser={type: json, records: items}", "source.pattern=inventory_*.json"),
        ),
    ),
    "inventory-sftp-batch:json": (
        "inventory-sftp-batch",
        Case(
            _inventory_sftp_batch,
            extra=("parser={type: json, records: stock}", "source.pattern=stock_*.json"),
        ),
    ),
    "products-sftp-events:json": (
        "products-sftp-events",
        Case(
            _products_events,
            extra=("parser={type: json, records: products}", "source.pattern=products_*.json"),
        ),
    ),
    "products-sftp-events:xml": (
        "products-sftp-events",
        Case(
            _products_events,
            extra=("parser={type: xml, records: Products/Product}", "source.pattern=products_*.xml"),
        ),
    ),
    "products-sftp-events:parquet": (
        "products-sftp-events",
        Case(_parquet_products_events, extra=("parser.type=parquet", "source.pattern=products_*.parquet")),
    ),
    "products-s3-csv-events:xml": (
        "products-s3-csv-events",
        Case(
            _products_events,
            extra=("parser={type: xml, records: Products/Product}", "source.pattern=products_*.xml"),
        ),
    ),
    "locations-s3-graphql:json": (
        "locations-s3-graphql",
        Case(
            _locations, extra=("parser={type: json, records: locations}", "source.pattern=locations_*.json")
        ),
    ),
    "locations-s3-graphql:xml": (
        "locations-s3-graphql",
        Case(
            _locations,
            extra=("parser={type: xml, records: Locations/Location}", "source.pattern=locations_*.xml"),
        ),
    ),
    "locations-sftp-graphql:json": (
        "locations-sftp-graphql",
        Case(
            _locations, extra=("parser={type: json, records: locations}", "source.pattern=locations_*.json")
        ),
    ),
    "webhook-order-cancel:xml": (
        "webhook-order-cancel",
        Case(
            _order_cancel,
            payloads=("cancel-request.xml",),
            extra=("parser={type: xml, records: CancelRequest}",),
            repeat=True,
        ),
    ),
    "webhook-order-update:xml": (
        "webhook-order-update",
        Case(
            _order_update("ORD-1004", "STARTRACK", "0042900017"),
            payloads=("order-update.xml",),
            extra=("parser={type: xml, records: OrderUpdate}",),
            repeat=True,
        ),
    ),
    "fulfilments-sftp:xml": (
        "fulfilments-sftp",
        Case(
            _fulfilment_lines_xml,
            extra=("target.writer={type: xml, root: Fulfilments, record: Line, pretty: true}",),
        ),
    ),
    "inventory-quantities-s3:json": (
        "inventory-quantities-s3",
        Case(_quantities, extra=("target.writer={type: json, layout: object, records_key: quantities}",)),
    ),
    "virtual-positions-s3-csv:json": (
        "virtual-positions-s3-csv",
        Case(_virtual, extra=("target.writer={type: json, layout: object, records_key: positions}",)),
    ),
}


# --- the catalogue ----------------------------------------------------------------------------


def test_the_catalogue_names_every_connector_folder_and_only_folders_that_exist() -> None:
    named = {e.connector for e in ENTRIES if e.connector} | set(OTHERS)
    folders = set(connector_folders(LIBRARY))
    assert sorted(folders - named) == [], "connector folders missing from connectors/README.md"
    assert sorted(named - folders) == [], "the catalogue names folders that do not exist"


def test_the_catalogue_lists_every_sdk_scenario_once_with_a_status() -> None:
    names = [e.scenario for e in ENTRIES]
    assert len(names) == SCENARIOS and len(set(names)) == SCENARIOS
    working = sum(e.working for e in ENTRIES)
    assert f"{working} of {SCENARIOS} are working" in (LIBRARY / "README.md").read_text(encoding="utf-8")
    for e in ENTRIES:
        assert e.status.split(":")[0].split(" ")[0] in STATUSES, e
        if e.connector is None:
            assert e.status.startswith(("missing: needs ", "planned: needs ")), e
        else:
            assert not e.status.startswith(("missing", "planned")), e


def spec_lines(spec: Path) -> int:
    """A spec's YAML lines without its description and tests (nor blank and comment lines)."""
    count, skipping = 0, False
    for line in spec.read_text(encoding="utf-8").splitlines():
        top = re.match(r"^([A-Za-z_]+):", line)
        if top:
            skipping = top.group(1) in ("description", "tests")
        count += not skipping and bool(line.strip()) and not line.strip().startswith("#")
    return count


def test_every_connector_says_what_to_change_for_real_use() -> None:
    import yaml

    for spec in map(Path, expand_specs((str(LIBRARY),))):
        description = yaml.safe_load(spec.read_text(encoding="utf-8")).get("description") or ""
        assert re.search(r"\b(at|for|For) (a )?real\b", description), spec.relative_to(LIBRARY)


def test_connectors_are_short_specs() -> None:
    sizes = {str(p.relative_to(LIBRARY)): spec_lines(p) for p in map(Path, expand_specs((str(LIBRARY),)))}
    assert {name: n for name, n in sizes.items() if n > 60} == {}
    assert statistics.median(sizes.values()) <= 45


@pytest.fixture
def emulator():
    emu = Emulator(settings={"batch_polls_per_step": 1})
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def smtp_server(tmp_path: Path):
    """A real SMTP server on loopback: STARTTLS and a login, as a real account's would be."""
    from tests.servers.smtp import SmtpServer

    server = SmtpServer(tmp_path, security="starttls", username="asn-alerts", password="s3cret-Smtp").start()
    yield server
    server.stop()


@pytest.fixture
def servers(request, emulator):
    """The emulator, plus moto, sshd and an SMTP server when the connector under test needs them."""
    folder = CASES_AND_VARIANTS[request.node.callspec.params["name"]][0]
    kinds = h.needs(LIBRARY / folder / f"{Path(folder).name}.yaml")
    return h.Servers(
        emulator,
        request.getfixturevalue("s3_server") if "s3" in kinds else None,
        request.getfixturevalue("sftp_server") if "sftp" in kinds else None,
        request.getfixturevalue("smtp_server") if "smtp" in kinds else None,
    )


CASES_AND_VARIANTS: dict[str, tuple[str, tuple[str, ...], Case]] = {
    **{name: (name, case.extra, case) for name, case in CASES.items()},
    **{name: (folder, case.extra, case) for name, (folder, case) in VARIANTS.items()},
}


def test_every_catalogue_connector_has_an_end_to_end_case() -> None:
    named = {e.connector for e in ENTRIES if e.connector} | set(OTHERS)
    assert sorted(named - set(CASES) - set(ELSEWHERE)) == []


#: connectors whose end-to-end test (same servers, state checked) lives beside their plugin's tests
ELSEWHERE = {
    "examples/s3-csv-to-jsonl": "tests/sources/test_remote_examples.py",
    "examples/sftp-csv-processed-errors": "tests/sources/test_remote_examples.py",
    "examples/sftp-to-s3": "tests/sources/test_remote_examples.py",
    "csv-to-rest-api": "tests/http/test_connectors.py",
    "http-orders-to-fluent": "tests/http/test_connectors.py",
    "webhook-order-status": "tests/serve/test_connectors.py",
    "webhook-xml-orders": "tests/serve/test_connectors.py",
    "quickstart": "tests/connectors/test_connectors.py",
    "inventory-dual-workflow": "tests/connectors/test_library.py::test_a_dual_workflow_connector_ingests_then_extracts",
    "channel-stock-sync": "tests/connectors/test_enrichment_connectors.py",
    "multi-channel-stock-sync": "tests/connectors/test_enrichment_connectors.py",
    "cycle-count-reconciliation": "tests/connectors/test_enrichment_connectors.py",
    "price-update": "tests/connectors/test_enrichment_connectors.py",
    "webhook-fulfilment-sftp-xml": "tests/connectors/test_enrichment_connectors.py",
    "webhook-asn-crossdock": "tests/serve/test_flow_connectors.py",
    "webhook-payment-capture": "tests/http/test_flow_connectors.py",
    "webhook-dropship-routing": "tests/http/test_flow_connectors.py",
}


@pytest.mark.parametrize("name", sorted(CASES_AND_VARIANTS))
def test_connector_runs_end_to_end(name: str, servers: h.Servers, tmp_path: Path) -> None:
    folder, extra, case = CASES_AND_VARIANTS[name]
    spec = h.copy(folder, tmp_path)
    if case.setup is not None:
        case.setup(servers, spec)
    if case.payloads:
        for body in case.payloads:
            report = h.run(spec, servers, list(extra), payload=spec.parent / "data" / body)
            assert report.exit_code == 0, (report.error, report.counts)
        for body in case.payloads if case.repeat else ():
            again = h.run(spec, servers, list(extra), payload=spec.parent / "data" / body)
            assert again.counts["written"] == 0 and again.items[0].status == "skipped"
    else:
        report = h.run(spec, servers, list(extra))
    assert report.exit_code == 0, (report.error, report.counts)
    case.check(servers, report)
    if case.redeliver:
        sent = _sent(servers.emulator)
        mailed = len(servers.smtp.messages) if servers.smtp is not None else 0
        again = h.run(spec, servers, list(extra))
        assert again.exit_code == 0 and again.counts["written"] == 0, again.counts
        if case.changed_only:
            assert again.counts["unchanged"] == report.counts["written"], "read again, found unchanged"
        else:
            assert {i.status for i in again.items} == {"skipped"}
        assert _sent(servers.emulator) == sent, "a file delivered again sends nothing to Fluent"
        if servers.smtp is not None:
            assert len(servers.smtp.messages) == mailed, "nor any alert again"


def _sent(emu: Emulator) -> int:
    return sum(r["path"] != "/oauth/token" for r in emu.requests(method="POST"))


def test_a_dual_workflow_connector_ingests_then_extracts(emulator, tmp_path: Path) -> None:
    servers = h.Servers(emulator)
    spec = h.copy("inventory-dual-workflow", tmp_path)
    ingested = h.run(spec, servers)
    assert ingested.exit_code == 0 and ingested.counts["written"] == 2
    assert ingested.counts["rejected"]["mapping"] == 1
    assert on_hand(emulator, "SKU-0040", "LOC-001") == 41 and on_hand(emulator, "SKU-0041", "LOC-002") == 0
    extracted = h.run(spec.parent / "inventory-dual-workflow-export.yaml", servers)
    assert extracted.exit_code == 0
    [out] = (spec.parent / "out" / "positions").glob("*.csv")
    rows = {(r["sku"], r["location_ref"]): r["on_hand"] for r in csv_rows(out.read_bytes())}
    assert rows[("SKU-0040", "LOC-001")] == "41" and rows[("SKU-0041", "LOC-002")] == "0"
    assert len(rows) == len(emulator.state("inventory_positions"))


def test_a_flash_sale_is_released_when_it_ends(emulator, tmp_path: Path) -> None:
    servers = h.Servers(emulator)
    spec = h.copy("webhook-flash-sale-reserve", tmp_path)
    ended = h.run(spec, servers, payload=spec.parent / "data" / "flash-sale-start.json")
    running = tmp_path / "flash-sale-running.json"
    running.write_text(
        json.dumps(
            {
                "promotion": "FLASH-2099-12",
                "endsAt": "2099-12-31T21:00:00Z",
                "lines": [{"sku": "SKU-0005", "location": "LOC-005", "quantity": 1}],
            }
        )
    )
    still = h.run(spec, servers, payload=running)
    assert ended.counts["written"] == 2 and still.counts["written"] == 1
    release = spec.parent / "webhook-flash-sale-release.yaml"
    released = h.run(release, servers)
    assert released.exit_code == 0 and released.counts["written"] == 2, released.counts
    held = {q["ref"]: q["status"] for q in emulator.state("inventory_quantities", type="RESERVED")}
    assert held == {
        "FLASH-2026-01:SKU-0005:LOC-005": "RELEASED",
        "FLASH-2026-01:SKU-0002:LOC-002": "RELEASED",
        "FLASH-2099-12:SKU-0005:LOC-005": "RESERVED",
        "RES-1001": "RESERVED",
    }, "the ended sale's reservations are released; the running sale's and an order's are held"
    again = h.run(release, servers)
    assert again.exit_code == 0 and again.counts["written"] == 0, "a rerun releases nothing twice"
    events = [e for e in emulator.state("events") if e["name"] == "InventoryReservationReleased"]
    assert len(events) == 2
