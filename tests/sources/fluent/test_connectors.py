"""The extraction connectors in connectors/ validate, pass their own tests and run end to end on
the emulator embedded in the spec, publishing what the demo account holds."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
from lxml import etree

CONNECTORS = Path(__file__).resolve().parents[3] / "connectors"


def run(cli, name: str, tmp_path: Path) -> tuple[dict, Path]:
    shutil.copytree(CONNECTORS / name, tmp_path / name)
    spec = tmp_path / name / f"{name}.yaml"
    assert cli("validate", str(spec)).exit_code == 0
    tested = cli("test", str(spec))
    assert tested.exit_code == 0 and "0 failed" in tested.output, tested.output
    ran = cli("run", str(spec), "--format", "json")
    assert ran.exit_code == 0, ran.output
    return json.loads(ran.output[ran.output.index("{"):]), tmp_path / name / "out"


def files(out: Path, suffix: str) -> list[Path]:
    return sorted(p for p in out.rglob(f"*{suffix}") if p.is_file())


def test_inventory_positions_to_csv(cli, tmp_path) -> None:
    report, out = run(cli, "inventory-positions-export", tmp_path)
    (path,) = files(out, ".csv")
    assert path.relative_to(out).parts[0] == "inventory-positions"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) == 250 == report["source"]["records"] and report["source"]["pages"] == 1
    assert {r["position_ref"] for r in rows} == {f"{r['sku']}:{r['location_ref']}" for r in rows}
    assert report["source"]["watermark_from"] == "2020-01-01T00:00:00.000Z"  # first run: from `initial`
    assert report["source"]["watermark_to"] and report["source"]["truncated"] is False


def test_virtual_positions_to_parquet_by_day(cli, tmp_path) -> None:
    report, out = run(cli, "virtual-positions-parquet", tmp_path)
    (path,) = files(out, ".parquet")
    assert path.parent.name.startswith("updated_date=")
    table = pq.read_table(path)
    assert str(table.schema.field("updated_on").type) == "timestamp[ms, tz=UTC]"
    assert sorted(table.column("sku").to_pylist()) == ["SKU-0001", "SKU-0002", "SKU-0003"]
    assert report["records"]["written"] == 3


def test_orders_with_items_to_xml(cli, tmp_path) -> None:
    report, out = run(cli, "orders-xml", tmp_path)
    (path,) = files(out, ".xml")
    root = etree.parse(str(path)).getroot()
    orders = root.findall("Order")
    assert root.tag == "Orders" and len(orders) == 5 == report["records"]["written"]
    first = next(o for o in orders if o.get("ref") == "ORD-1001")
    assert [i.findtext("Sku") for i in first.find("Items").findall("Item")] == ["SKU-0001", "SKU-0002"]
    assert first.find("Customer").get("ref") == "CUST-1"

