"""The ingestion connectors in connectors/ validate, pass their own tests, and run end to end:
once on the emulator embedded in the spec (what a user runs), once against a test emulator whose
state shows what Fluent ended up with."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.targets.fluent._support import rejects

CONNECTORS = Path(__file__).resolve().parents[3] / "connectors"
SPECS = ["products-events", "locations-upsert", "order-cancel"]


def copy(name: str, tmp_path: Path) -> Path:
    shutil.copytree(CONNECTORS / name, tmp_path / name)
    return tmp_path / name / f"{name}.yaml"


def against(emu) -> list[str]:
    c = emu.credentials
    return [
        f"connections.fluent.base_url={emu.url}",
        f"connections.fluent.client_id={c['client_id']}",
        f"connections.fluent.client_secret={c['client_secret']}",
        f"connections.fluent.username={c['username']}",
        f"connections.fluent.password={c['password']}",
    ]


@pytest.mark.parametrize("name", SPECS)
def test_connector_validates_passes_its_tests_and_runs_embedded(name, tmp_path, cli) -> None:
    spec = copy(name, tmp_path)
    assert cli("validate", str(spec)).exit_code == 0
    tested = cli("test", str(spec))
    assert tested.exit_code == 0 and "0 failed" in tested.output, tested.output
    ran = cli("run", str(spec), "--format", "json")
    assert ran.exit_code == 0, ran.output
    report = json.loads(ran.output[ran.output.index("{") :])
    assert report["status"] == "ok" and report["records"]["written"] > 0


def test_products_events_leave_the_catalogue_updated(emu, tmp_path, run_spec) -> None:
    report = run_spec(copy("products-events", tmp_path), overrides=against(emu))
    assert report.status == "ok" and report.counts["written"] == 4
    assert [r["lineage"]["line"] for r in rejects(report)] == [6, 7]
    products = {
        p["ref"]: p for p in emu.state("products") if p["ref"] in ("SKU-0001", "NEW-1001", "NEW-1002")
    }
    assert products["SKU-0001"]["name"] == "Classic Tee - White"
    assert products["NEW-1002"]["status"] == "INACTIVE" and products["NEW-1001"]["gtin"] == "09312345100016"
    assert len([e for e in emu.state("events") if e["name"] == "UPSERT_PRODUCT"]) == 4


def test_locations_upsert_creates_updates_and_rejects(emu, tmp_path, run_spec) -> None:
    report = run_spec(copy("locations-upsert", tmp_path), overrides=against(emu))
    assert report.status == "ok"
    assert (report.target["created"], report.target["updated"], report.target["rejected"]) == (2, 2, 1)
    assert emu.state("locations", ref="LOC-001")[0]["name"] == "Sydney CBD Flagship"
    assert emu.state("locations", ref="LOC-011")[0]["primaryAddress"]["city"] == "Perth"
    assert not emu.state("locations", ref="LOC-014")
    by_line = {r["lineage"]["line"]: r["reasons"][0] for r in rejects(report)}
    assert sorted(by_line) == [6, 7] and "C0141E" in by_line[7]
    again = run_spec(copy("locations-upsert", tmp_path / "again"), overrides=against(emu))
    assert (again.target["created"], again.target["updated"]) == (0, 4)  # a re-run changes, never duplicates
    assert len([loc for loc in emu.state("locations") if loc["ref"] == "LOC-011"]) == 1


def test_order_cancel_cancels_known_orders(emu, tmp_path, run_spec) -> None:
    report = run_spec(copy("order-cancel", tmp_path), overrides=against(emu))
    assert report.status == "ok" and report.counts["written"] == 2
    statuses = {o["ref"]: o["status"] for o in emu.state("orders")}
    assert statuses["ORD-1002"] == statuses["ORD-1004"] == "CANCELLED" and statuses["ORD-1001"] == "BOOKED"
    (reject,) = rejects(report)
    assert reject["lineage"]["file"] == "cancel_ORD-9999.json" and "404" in reject["reasons"][0]


def test_parquet_products_from_s3_keep_their_gtin(
    emu, tmp_path, run_spec, cli, s3_server, monkeypatch
) -> None:
    from tests.servers.s3 import KEY_ID, SECRET

    monkeypatch.setenv("LAKE_KEY_ID", KEY_ID)
    monkeypatch.setenv("LAKE_SECRET", SECRET)
    spec = copy("products-s3-parquet-events", tmp_path)
    assert cli("validate", str(spec)).exit_code == 0
    assert "0 failed" in cli("test", str(spec)).output
    client = s3_server.bucket("retail-lake")
    data = (spec.parent / "data" / "products_2026-01-05.parquet").read_bytes()
    client.put_object(Bucket="retail-lake", Key="products/incoming/products_2026-01-05.parquet", Body=data)
    lake = [
        f"connections.lake.endpoint_url={s3_server.endpoint}",
        "connections.lake.path_style=true",
        "connections.lake.region=us-east-1",
    ]
    report = run_spec(spec, overrides=against(emu) + lake)
    assert report.status == "ok" and report.counts["written"] == 3
    (grey,) = [p for p in emu.state("products") if p["ref"] == "SKU-0003"]
    assert grey["gtin"] == "01234567890128" and grey["name"] == "Classic Tee - Grey"
    (reject,) = rejects(report)
    assert reject["lineage"]["at"] == "row_group 1 row 1"
    moved = [o["Key"] for o in client.list_objects_v2(Bucket="retail-lake")["Contents"]]
    assert len(moved) == 1 and moved[0].startswith("products/processed/")
