"""The flow connectors in connectors/ that call a REST API in one step and Fluent in the next, end to end."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.contracts import Payload
from engine.emulator import Emulator
from engine.runtime.runner import Runner, RunOptions
from engine.spec.compile import compile_file
from tests.http.conftest import rejects
from tests.http.server import ApiServer

CONNECTORS = Path(__file__).resolve().parents[2] / "connectors"


@pytest.fixture(scope="module")
def _emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(_emulator: Emulator) -> Emulator:
    _emulator.reset()
    return _emulator


def copy(name: str, tmp_path: Path) -> Path:
    shutil.copytree(CONNECTORS / name, tmp_path / name)
    return tmp_path / name / f"{name}.yaml"


def fluent(emu: Emulator) -> list[str]:
    c = emu.credentials
    return [f"connections.fluent.base_url={emu.url}"] + [
        f"connections.fluent.{k}={c[k]}" for k in ("client_id", "client_secret", "username", "password")
    ]


def run_payload(spec: Path, body: Path, overrides: list[str]) -> Any:
    """One run of a payload spec with ``body`` as the request body, as a webhook request runs it."""
    plan = compile_file(spec, overrides=overrides)
    plan.source.deliver(Payload(body.read_bytes(), ext=body.suffix.lstrip("."), name=body.name))
    return Runner(plan, RunOptions(progress=False)).run()


def payments(emu: Emulator, order: str) -> dict[str, dict]:
    [row] = emu.state("orders", ref=order)
    return {t["ref"]: t for t in emu.state("financial_transactions") if t["orderId"] == row["id"]}


def test_each_payment_operation_goes_to_the_provider_then_to_fluent_with_its_reference(
    api: ApiServer, emu: Emulator, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("PAYMENTS_API_URL", api.url)
    monkeypatch.setenv("PAYMENTS_API_TOKEN", "provider-token-0123456789")
    monkeypatch.setenv("PAYMENTS_WEBHOOK_KEY", "payments-key-0123456789")
    api.fail("/payments/AUTH-7782/captures", status=402, times=10)  # the provider declines this one
    spec = copy("webhook-payment-capture", tmp_path)
    body = spec.parent / "data" / "payments.json"
    report = run_payload(spec, body, fluent(emu))
    assert report.exit_code == 0, (report.error, report.counts)
    done = {p["operation"]: p for p in api.payments.values()}
    assert {op: (p["payment"], p["orderRef"], p["amount"]) for op, p in done.items()} == {
        "captures": ("ORD-1001-P1", "ORD-1001", 89.9),
        "refunds": ("ORD-1001-P1", "ORD-1001", 29.95),
        "cancels": ("AUTH-7790", "ORD-1004", 15.0),
        "amountUpdates": ("AUTH-7795", "ORD-1005", 80.0),
    }
    assert {r["headers"]["authorization"] for r in api.requests("/payments", "POST")} == {
        "Bearer provider-token-0123456789"
    }
    recorded = {
        (order, t["ref"]): (t["status"], t["type"], t["total"], t["currency"], t["externalTransactionId"])
        for order in ("ORD-1001", "ORD-1004", "ORD-1005")
        for t in payments(emu, order).values()
        if t["ref"] != "ORD-1001-P1"  # the seeded authorisation
    }
    assert recorded == {
        ("ORD-1001", done["captures"]["reference"]): ("CAPTURED", "PAYMENT", 89.9, "AUD", "ORD-1001-P1"),
        ("ORD-1001", done["refunds"]["reference"]): ("REFUNDED", "REFUND", 29.95, "AUD", "ORD-1001-P1"),
        ("ORD-1004", done["cancels"]["reference"]): (
            "AUTHORIZATION_CANCELLED",
            "PAYMENT",
            15.0,
            "AUD",
            "AUTH-7790",
        ),
        ("ORD-1005", done["amountUpdates"]["reference"]): ("AUTHORIZED", "PAYMENT", 80.0, "AUD", "AUTH-7795"),
    }
    events = sorted(e["name"] for e in emu.state("events"))
    assert events == [
        "PaymentAuthorizationCancelled",
        "PaymentCaptured",
        "PaymentReauthorized",
        "PaymentRefunded",
    ]
    assert payments(emu, "ORD-1003") == {}, "a capture the provider declined is not recorded"
    assert payments(emu, "ORD-1002") == {}, "an amount that is not a number is never sent"
    why = {(r.get("route"), r.get("step"), r["stage"], r["lineage"]["at"]) for r in rejects(report)}
    assert why == {
        ("capture", "call", "mapping", "payments[1]"),
        ("capture", "call", "target", "payments[2]"),
        (None, None, "route", "payments[6]"),  # the chargeback: no route takes that kind
    }
    [unknown] = [r for r in rejects(report) if r["stage"] == "route"]
    assert unknown["lineage"]["row"] == 7 and unknown["original"]["kind"] == "chargeback"
    for route in ("capture", "refund", "cancel", "reauthorise"):
        assert report.routes[f"{route}.record"]["written"] == 1, route
    sent = len(api.requests("/payments")), len(emu.state("events"))
    again = run_payload(spec, body, fluent(emu))
    assert again.counts["written"] == 0 and again.items[0].status == "skipped"
    assert (len(api.requests("/payments")), len(emu.state("events"))) == sent, "a repeat applies nothing"


def test_order_lines_go_to_the_supplier_with_stock_or_are_marked_on_the_order(
    api: ApiServer, emu: Emulator, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("SUPPLIERS_API_URL", api.url)
    monkeypatch.setenv("SUPPLIERS_API_TOKEN", "suppliers-token-0123456789")
    monkeypatch.setenv("DROPSHIP_WEBHOOK_KEY", "dropship-key-0123456789")
    api.availability = {
        "SKU-0020": [{"supplier": "ACME", "available": 3}, {"supplier": "BOLT", "available": 9}],
        "SKU-0021": [{"supplier": "ACME", "available": 4}],  # 5 asked: no supplier can ship it all
        "SKU-0022": [{"supplier": "ACME", "available": 40}],
    }
    spec = copy("webhook-dropship-routing", tmp_path)
    body = spec.parent / "data" / "order.json"
    report = run_payload(spec, body, fluent(emu))
    assert report.exit_code == 0, (report.error, report.counts)
    [ordered] = api.items.values()
    assert ordered == {
        "supplier": "BOLT",
        "orderRef": "ORD-1003",
        "line": "ORD-1003-1",
        "sku": "SKU-0020",
        "qty": 2,
    }
    [order] = emu.state("orders", ref="ORD-1003")
    marked = {a["name"]: a["value"] for a in order["attributes"]}
    assert marked == {"sourceFromStores:ORD-1003-2": 5, "sourceFromStores:ORD-1003-3": 1}
    assert report.routes["dropship"]["written"] == 1 and report.routes["store"]["written"] == 2
    [bad] = rejects(report)
    assert (bad["route"], bad["lineage"]["row"], bad["stage"]) == ("store", 4, "mapping")
    sent = len(api.requests("/purchase-orders")), len(emu.requests(method="POST"))
    again = run_payload(spec, body, fluent(emu))
    assert again.counts["written"] == 0 and again.items[0].status == "skipped"
    assert (len(api.requests("/purchase-orders")), len(emu.requests(method="POST"))) == sent


def on_hand(emu: Emulator, sku: str, location: str) -> int:
    rows = emu.state("inventory_positions", productRef=sku, locationRef=location)
    return rows[0]["onHand"] if rows else 0


def test_a_return_is_labelled_received_and_refunded_and_another_cancelled_each_by_its_kind(
    api: ApiServer, emu: Emulator, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("LABELS_API_URL", api.url)
    monkeypatch.setenv("LABELS_API_TOKEN", "labels-token-0123456789")
    monkeypatch.setenv("RETURNS_WEBHOOK_KEY", "returns-key-0123456789")
    spec = copy("webhook-returns-rma", tmp_path)
    created = run_payload(spec, spec.parent / "data" / "rma.json", fluent(emu))
    assert created.exit_code == 0, (created.error, created.counts)
    stock = on_hand(emu, "SKU-0010", "LOC-001")
    updates, body = (
        spec.parent / "webhook-returns-rma-updates.yaml",
        spec.parent / "data" / "rma-updates.json",
    )
    report = run_payload(updates, body, fluent(emu))
    assert report.exit_code == 0, (report.error, report.counts)
    [label] = api.labels.values()
    assert (label["reference"], label["carrier"], label["to"], label["from"]["postcode"]) == (
        "RMA-7001",
        "AUSPOST",
        "LOC-001",
        "2000",
    )
    assert api.requests("/labels", "POST")[0]["headers"]["authorization"] == "Bearer labels-token-0123456789"
    [rma] = emu.state("return_orders", ref="RMA-7001")
    assert {a["name"]: a["value"] for a in rma["attributes"]} == {
        "trackingNumber": label["trackingNumber"],
        "labelUrl": label["labelUrl"],
    }
    assert rma["status"] == "RECEIVED" and rma["creditMemo"] == {"ref": "RF-7001"}
    assert on_hand(emu, "SKU-0010", "LOC-001") == stock + 1, "the inspected unit is back in stock"
    [refund] = payments(emu, "ORD-1002").values()
    assert (refund["ref"], refund["status"], refund["type"], refund["total"], refund["currency"]) == (
        "RF-7001",
        "REFUNDED",
        "REFUND",
        45.0,
        "AUD",
    )
    [cancelled] = emu.state("return_orders", ref="RET-1001")
    assert cancelled["status"] == "CANCELLED"
    why = {(r.get("route"), r["stage"], r["lineage"]["at"]) for r in rejects(report)}
    assert why == {
        ("receipt", "mapping", "updates[4]"),  # a quantity of 'one' restocks nothing, never 0
        (None, "route", "updates[5]"),  # an exchange: no route takes that kind
    }
    for route in ("label.record", "receipt", "refund.memo", "cancel"):
        assert report.routes[route]["written"] == 1, route
    sent = len(api.requests("/labels")), len(emu.requests(method="POST"))
    again = run_payload(updates, body, fluent(emu))
    assert again.counts["written"] == 0 and again.items[0].status == "skipped"
    assert (len(api.requests("/labels")), len(emu.requests(method="POST"))) == sent, (
        "a repeat applies nothing"
    )
