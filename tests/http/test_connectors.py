"""The REST connectors in connectors/ run end to end against the test API (and a Fluent emulator)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.emulator import Emulator
from tests.http import server as srv
from tests.http.conftest import rejects

CONNECTORS = Path(__file__).resolve().parents[2] / "connectors"


def copy(name: str, tmp_path: Path) -> Path:
    shutil.copytree(CONNECTORS / name, tmp_path / name)
    return tmp_path / name / f"{name}.yaml"


@pytest.fixture(scope="module")
def _emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(_emulator: Emulator) -> Emulator:
    _emulator.reset()
    return _emulator


def fluent(emu: Emulator) -> list[str]:
    c = emu.credentials
    return [
        f"connections.fluent.base_url={emu.url}",
        f"connections.fluent.client_id={c['client_id']}",
        f"connections.fluent.client_secret={c['client_secret']}",
        f"connections.fluent.username={c['username']}",
        f"connections.fluent.password={c['password']}",
    ]


def test_rest_orders_cancel_fluent_orders_incrementally(api, emu, tmp_path, run_spec, monkeypatch) -> None:
    api.auth = "oauth"
    api.orders = json.loads((CONNECTORS / "http-orders-to-fluent" / "fixtures" / "orders.json").read_text())
    monkeypatch.setenv("SHOP_API_URL", api.url)
    monkeypatch.setenv("SHOP_CLIENT_ID", srv.CLIENT_ID)
    monkeypatch.setenv("SHOP_CLIENT_SECRET", srv.CLIENT_SECRET)
    spec = copy("http-orders-to-fluent", tmp_path)
    report = run_spec(spec, overrides=fluent(emu))
    assert report.status == "ok", report.error
    assert report.counts["read"] == 3 and report.counts["written"] == 2
    statuses = {o["ref"]: o["status"] for o in emu.state("orders")}
    assert statuses["ORD-1002"] == statuses["ORD-1004"] == "CANCELLED" and statuses["ORD-1001"] == "BOOKED"
    (reject,) = rejects(report)
    assert reject["mapped"]["ref"] == "ORD-9999" and reject["lineage"]["at"] == "page 1"
    assert api.requests("/orders")[0]["query"] == {
        "status": "CANCELLED",
        "updated_since": "2026-01-01T00:00:00.000Z",
        "limit": "100",
    }
    # the storefront cancels one more order; the next run sends only that one
    api.orders.append(
        {
            "id": 505,
            "ref": "ORD-1005",
            "status": "CANCELLED",
            "channel": "web",
            "updated_at": "2026-03-02T11:42:00.000Z",
        }
    )
    again = run_spec(spec, overrides=fluent(emu))
    assert again.status == "ok" and again.counts["read"] == 1 and again.counts["written"] == 1
    assert again.source["overlap_dropped"] == 1
    assert api.requests("/orders")[-1]["query"]["updated_since"] == "2026-03-02T11:35:00.000Z"
    assert {o["ref"]: o["status"] for o in emu.state("orders")}["ORD-1005"] == "CANCELLED"
    assert api.grants == 2  # one token per run


def test_csv_stock_posts_batches_with_per_line_outcomes(api, tmp_path, run_spec, monkeypatch) -> None:
    api.auth = "bearer"
    monkeypatch.setenv("ERP_API_URL", api.url)
    monkeypatch.setenv("ERP_TOKEN", srv.TOKEN)
    spec = copy("csv-to-rest-api", tmp_path)
    api.fail("/items/batch", 502, after_commit=True)  # the first answer is lost after the batch was applied
    report = run_spec(spec)
    assert report.status == "ok", report.error
    assert report.counts["written"] == 4 and report.counts["rejected"]["target"] == 1
    assert sorted(i["sku"] for i in api.items.values()) == ["SKU-0001", "SKU-0002", "SKU-0003", "SKU-0005"]
    (reject,) = rejects(report)
    assert reject["lineage"]["file"] == "stock_2026-03-02.csv" and reject["lineage"]["line"] == 5
    assert reject["reasons"] == ["the server refused this record: sku is required"]
    sent = api.requests("/items/batch")
    assert len(sent) == 2 and sent[0]["headers"]["idempotency-key"] == sent[1]["headers"]["idempotency-key"]
    assert sent[0]["headers"]["x-source"] == "warehouse-stock"
    assert report.target["resent"] == 1 and report.target["batches"] == 1
