"""The S3 and SFTP → Fluent connectors end to end: real S3 (moto), real sshd, the emulator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.emulator import Emulator

CONNECTORS = Path(__file__).resolve().parents[2] / "connectors"


@pytest.fixture
def emulator():
    emu = Emulator(settings={"batch_polls_per_step": 1})
    emu.start()
    yield emu
    emu.stop()


def fluent_overrides(emu: Emulator, *, batch: bool = True) -> list[str]:
    c = emu.credentials
    out = [
        f"connections.fluent.base_url={emu.url}",
        f"connections.fluent.client_id={c['client_id']}",
        f"connections.fluent.client_secret={c['client_secret']}",
        f"connections.fluent.username={c['username']}",
        f"connections.fluent.password={c['password']}",
    ]
    return [*out, "target.poll={interval: 20ms}"] if batch else out


def copy(name: str, tmp_path: Path) -> Path:
    shutil.copytree(CONNECTORS / name, tmp_path / name)
    return tmp_path / name / f"{name}.yaml"


def on_hand(emu: Emulator, sku: str, loc: str) -> int | None:
    rows = emu.state("inventory_positions", productRef=sku, locationRef=loc)
    return rows[0]["onHand"] if rows else None


def test_s3_csv_inventory_into_the_batch_api(s3_server, emulator, tmp_path, run_spec, monkeypatch):
    from tests.servers.s3 import KEY_ID, SECRET

    monkeypatch.setenv("WMS_AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("WMS_AWS_SECRET_ACCESS_KEY", SECRET)
    spec = copy("inventory-s3-batch", tmp_path)
    s3 = s3_server.bucket("wms-exports")
    sample = (spec.parent / "data" / "inventory_2026-01-05.csv").read_bytes()
    s3.put_object(Bucket="wms-exports", Key="inventory/incoming/inventory_2026-01-05.csv", Body=sample)
    s3.put_object(Bucket="wms-exports", Key="inventory/incoming/inventory_broken.csv", Body=b"sku,sku\n1,2\n")
    report = run_spec(
        spec,
        overrides=[
            f"connections.wms.endpoint_url={s3_server.endpoint}",
            "connections.wms.path_style=true",
            "source.min_age=0s",
            *fluent_overrides(emulator),
        ],
    )
    assert report.counts["written"] == 4 and report.counts["rejected"]["mapping"] == 1
    assert report.counts["rejected"]["target"] == 1, "LOC-404 is refused by Fluent"
    assert on_hand(emulator, "SKU-0003", "LOC-002") == 5 and on_hand(emulator, "SKU-0001", "LOC-001") == 12
    rejects = [json.loads(x) for x in Path(report.rejects_path).read_text().splitlines()]
    assert sorted(r["lineage"]["row"] for r in rejects) == [4, 6]
    day = f"{report.started:%Y/%m/%d}"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="wms-exports")["Contents"])
    assert keys == [
        "inventory/errors/inventory_broken.csv",
        f"inventory/processed/{day}/inventory_2026-01-05.csv",
    ]


def test_sftp_csv_inventory_with_processed_and_errors_folders(
    sftp_server, emulator, tmp_path, run_spec, monkeypatch
):
    monkeypatch.setenv("PARTNER_SFTP_PASSWORD", sftp_server.password)
    spec = copy("inventory-sftp-batch", tmp_path)
    sftp_server.write(
        "outbound/stock/stock_2026-01-05.csv", (spec.parent / "data" / "stock_2026-01-05.csv").read_bytes()
    )
    sftp_server.write("outbound/stock/stock_2026-01-06.csv", b"store;store\nx;y\n")
    report = run_spec(
        spec,
        overrides=[
            "connections.partner.host=127.0.0.1",
            f"connections.partner.port={sftp_server.port}",
            f"connections.partner.username={sftp_server.user}",
            f"connections.partner.host_key={sftp_server.host_fingerprint}",
            "source.path=/upload/outbound/stock",
            "source.size_stable_for=0.2s",
            *fluent_overrides(emulator),
        ],
    )
    assert {i.name: i.status for i in report.items} == {
        "stock_2026-01-05.csv": "done",
        "stock_2026-01-06.csv": "failed",
    }
    assert report.counts["written"] == 3 and on_hand(emulator, "SKU-0010", "LOC-001") == 14
    day = f"{report.started:%Y/%m/%d}"
    assert sftp_server.files() == [
        "outbound/stock/errors/stock_2026-01-06.csv",
        f"outbound/stock/processed/{day}/stock_2026-01-05.csv",
    ]


def test_s3_json_products_as_events(s3_server, emulator, tmp_path, run_spec, monkeypatch):
    from tests.servers.s3 import KEY_ID, SECRET

    monkeypatch.setenv("PIM_AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("PIM_AWS_SECRET_ACCESS_KEY", SECRET)
    spec = copy("products-s3-events", tmp_path)
    s3 = s3_server.bucket("pim-exports")
    s3.put_object(
        Bucket="pim-exports",
        Key="products/products_2026-01-05.json",
        Body=(spec.parent / "data" / "products_2026-01-05.json").read_bytes(),
    )
    report = run_spec(
        spec,
        overrides=[
            f"connections.pim.endpoint_url={s3_server.endpoint}",
            "connections.pim.path_style=true",
            *fluent_overrides(emulator, batch=False),
        ],
    )
    assert report.exit_code == 0, report.error
    assert report.counts["written"] == 2 and report.counts["rejected"]["mapping"] == 1
    [linen] = emulator.state("products", ref="NEW-100")
    assert linen["gtin"] == "09312345100016" and linen["name"] == "Linen Shirt"
    events = emulator.requests(method="POST", path="/api/v4.1/event/sync")
    assert len(events) == 2 and {json.loads(e["body"])["name"] for e in events} == {"UPSERT_PRODUCT"}
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="pim-exports")["Contents"]]
    assert keys == ["products/processed/products_2026-01-05.json"]


def test_sftp_xml_inventory_with_attributes_into_the_batch_api(sftp_server, emulator, tmp_path, run_spec):
    spec = copy("inventory-sftp-xml-batch", tmp_path)
    sftp_server.write(
        "export/inventory/inventory_2026-01-05.xml",
        (spec.parent / "data" / "inventory_2026-01-05.xml").read_bytes(),
    )
    report = run_spec(
        spec,
        overrides=[
            "connections.warehouse.host=127.0.0.1",
            f"connections.warehouse.port={sftp_server.port}",
            f"connections.warehouse.username={sftp_server.user}",
            f"connections.warehouse.private_key={sftp_server.key}",
            f"connections.warehouse.host_key={sftp_server.host_fingerprint}",
            "source.path=/upload/export/inventory",
            *fluent_overrides(emulator),
        ],
    )
    assert report.exit_code == 0, report.error
    assert report.counts["written"] == 3 and report.counts["rejected"]["mapping"] == 1
    assert on_hand(emulator, "SKU-0022", "LOC-003") == 15 and on_hand(emulator, "SKU-0021", "LOC-002") == 0
    rejects = [json.loads(x) for x in Path(report.rejects_path).read_text().splitlines()]
    assert rejects[0]["lineage"]["at"] == "/InventoryUpdate/Items/Item[4]"
    assert sftp_server.files() == ["export/inventory/processed/inventory_2026-01-05.xml"]
