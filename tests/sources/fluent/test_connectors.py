"""The extraction connectors in connectors/ validate, pass their own tests and run end to end:
Fluent is the emulator embedded in the spec, the bucket a real S3 server (moto) and the ERP a real
OpenSSH sftp server, both on loopback; only their addresses and keys are overridden."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
from lxml import etree

CONNECTORS = Path(__file__).resolve().parents[3] / "connectors"


def run(cli, name: str, tmp_path: Path, overrides: list[str]) -> dict:
    shutil.copytree(CONNECTORS / name, tmp_path / name)
    spec = tmp_path / name / f"{name}.yaml"
    assert cli("validate", str(spec)).exit_code == 0
    tested = cli("test", str(spec))
    assert tested.exit_code == 0 and "0 failed" in tested.output, tested.output
    args = [a for o in overrides for a in ("--set", o)]
    ran = cli("run", str(spec), "--format", "json", *args)
    assert ran.exit_code == 0, ran.output
    return json.loads(ran.output[ran.output.index("{") :])


def lake(s3_server, monkeypatch) -> tuple[list[str], object]:
    from tests.servers.s3 import KEY_ID, SECRET

    monkeypatch.setenv("LAKE_KEY_ID", KEY_ID)
    monkeypatch.setenv("LAKE_SECRET", SECRET)
    client = s3_server.bucket("retail-lake")
    return [
        f"connections.lake.endpoint_url={s3_server.endpoint}",
        "connections.lake.path_style=true",
        "connections.lake.region=us-east-1",
    ], client


def keys(client, prefix: str) -> list[str]:
    listed = client.list_objects_v2(Bucket="retail-lake", Prefix=prefix).get("Contents") or []
    return sorted(o["Key"] for o in listed)


def test_inventory_positions_to_csv_on_s3(cli, tmp_path, s3_server, monkeypatch) -> None:
    overrides, client = lake(s3_server, monkeypatch)
    report = run(cli, "inventory-positions-s3", tmp_path, overrides)
    (key,) = keys(client, "fluent/inventory-positions/")
    body = client.get_object(Bucket="retail-lake", Key=key)["Body"].read().decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 250 == report["source"]["records"] and report["source"]["pages"] == 1
    assert {r["position_ref"] for r in rows} == {f"{r['sku']}:{r['location_ref']}" for r in rows}
    assert report["source"]["watermark_from"] == "2020-01-01T00:00:00.000Z"  # first run: from `initial`
    assert report["source"]["watermark_to"] and report["source"]["truncated"] is False


def test_virtual_positions_to_parquet_by_day_on_s3(cli, tmp_path, s3_server, monkeypatch) -> None:
    overrides, client = lake(s3_server, monkeypatch)
    report = run(cli, "virtual-positions-s3", tmp_path, overrides)
    (key,) = keys(client, "fluent/virtual-positions/")
    assert key.split("/")[2].startswith("updated_date=") and key.endswith(".parquet")
    table = pq.read_table(io.BytesIO(client.get_object(Bucket="retail-lake", Key=key)["Body"].read()))
    assert str(table.schema.field("updated_on").type) == "timestamp[ms, tz=UTC]"
    assert sorted(table.column("sku").to_pylist()) == ["SKU-0001", "SKU-0002", "SKU-0003"]
    assert report["records"]["written"] == 3


def test_orders_with_items_to_xml_on_sftp(cli, tmp_path, sftp_server, monkeypatch) -> None:
    from tests.servers.sshd import PASSWORD

    monkeypatch.setenv("ERP_SFTP_PASSWORD", PASSWORD)
    sftp_server.write("inbound/orders/.keep", "")
    overrides = [
        f"connections.erp.host={sftp_server.host}",
        f"connections.erp.port={sftp_server.port}",
        f"connections.erp.username={sftp_server.user}",
        f"connections.erp.host_key={sftp_server.host_fingerprint}",
    ]
    report = run(cli, "orders-sftp-xml", tmp_path, overrides)
    (name,) = [f for f in sftp_server.files() if f.endswith(".xml")]
    assert name.startswith("inbound/orders/orders-")
    root = etree.fromstring((sftp_server.home / name).read_bytes())
    orders = root.findall("Order")
    assert root.tag == "Orders" and len(orders) == 5 == report["records"]["written"]
    first = next(o for o in orders if o.get("ref") == "ORD-1001")
    assert [i.findtext("Sku") for i in first.find("Items").findall("Item")] == ["SKU-0001", "SKU-0002"]
    assert first.find("Customer").get("ref") == "CUST-1"
