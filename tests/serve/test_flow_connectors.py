"""The flow connectors under connectors/ served for real: routes and steps behind a webhook, against the emulator."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from xml.etree import ElementTree

import yaml

from engine.emulator import Emulator

CONNECTORS = Path(__file__).resolve().parents[2] / "connectors"
KEY = "asn-key-0123456789abcdef"


def pointed_at(emu: Emulator, name: str, tmp_path: Path) -> Path:
    """A copy of the connector's folder whose specs' Fluent connection is the test emulator's account."""
    shutil.copytree(CONNECTORS / name, tmp_path / name)
    c = emu.credentials
    for spec in (tmp_path / name).glob("*.yaml"):
        doc = yaml.safe_load(spec.read_text(encoding="utf-8"))
        doc["connections"]["fluent"] = {
            "type": "fluent",
            "base_url": emu.url,
            **{k: c[k] for k in ("client_id", "client_secret", "username", "password")},
            "retailer_id": str(c["retailer_id"]),
        }
        spec.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return tmp_path / name / f"{name}.yaml"


def test_an_asn_is_acknowledged_in_xml_with_the_created_receipts_and_a_redelivery_creates_nothing(
    emu, serve, client, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("ASN_WEBHOOK_KEY", KEY)
    spec = pointed_at(emu, "webhook-asn-crossdock", tmp_path)
    server = serve(spec)
    url = server.url + "/webhooks/suppliers/asn"
    body = (spec.parent / "data" / "asn.xml").read_bytes()
    assert client.post(url, content=body, headers={"x-api-key": "wrong-key-0123456789abc"}).status_code == 401
    started = time.monotonic()
    answer = client.post(url, content=body, headers={"x-api-key": KEY})
    seconds = time.monotonic() - started
    with capsys.disabled():
        print(f"\nASN webhook answered in {seconds:.3f}s")
    assert answer.status_code == 200, answer.text
    assert seconds < 5
    assert answer.headers["content-type"].startswith("application/xml")
    ack = ElementTree.fromstring(answer.text)
    assert ack.get("asn") == "ASN-2001" and ack.get("status") == "ok"
    lines = {line.get("ref"): line.attrib for line in ack}
    receipts = {
        q["ref"]: q
        for q in emu.state("inventory_quantities", type="EXPECTED")
        if q["ref"].startswith("ASN-2001")
    }
    assert sorted(receipts) == ["ASN-2001-1", "ASN-2001-2", "ASN-2001-4"]
    for ref in receipts:
        assert lines[ref]["status"] == "delivered" and lines[ref]["receipt"] == str(receipts[ref]["id"])
    assert receipts["ASN-2001-4"]["qty"] == 30 and receipts["ASN-2001-1"]["expectedOn"].startswith(
        "2030-02-01"
    )
    flagged = {a["name"]: a["value"] for a in receipts["ASN-2001-2"]["attributes"]}
    assert flagged["crossDock"] is True and flagged["orderRef"] == "ORD-1002"
    [event] = [e for e in emu.state("events") if e["name"] == "InventoryReceiptCrossDock"]
    assert (
        lines["ASN-2001-2"]["crossDockEvent"] == str(event["id"])
        and lines["ASN-2001-1"]["crossDockEvent"] == ""
    )
    assert (
        lines["ASN-2001-3"]["status"] == "rejected"
        and "'twelve' is not an integer" in lines["ASN-2001-3"]["reason"]
    )
    sent = len(emu.requests(method="POST"))
    again = client.post(url, content=body, headers={"x-api-key": KEY})
    assert again.status_code == 200 and ElementTree.fromstring(again.text).findall("line") == []
    assert len(emu.requests(method="POST")) == sent, "a redelivered ASN sends nothing to Fluent"
    assert (
        len(emu.state("inventory_quantities", type="EXPECTED")) == len(receipts) + 1
    )  # + the seeded ASN-1001-1


def test_payment_operations_are_answered_in_json_each_with_the_provider_s_reference(
    emu, serve, client, tmp_path, monkeypatch
):
    from tests.http.server import ApiServer

    api = ApiServer().start()
    try:
        monkeypatch.setenv("PAYMENTS_API_URL", api.url)
        monkeypatch.setenv("PAYMENTS_API_TOKEN", "provider-token-0123456789")
        monkeypatch.setenv("PAYMENTS_WEBHOOK_KEY", KEY)
        spec = pointed_at(emu, "webhook-payment-capture", tmp_path)
        server = serve(spec)
        body = (spec.parent / "data" / "payments.json").read_bytes()
        answer = client.post(server.url + "/webhooks/payments", content=body, headers={"x-api-key": KEY})
    finally:
        api.stop()
    assert answer.status_code == 200, answer.text
    answered = {(p["kind"], p["order"]): p for p in answer.json()["payments"]}
    made = {(p["operation"], p["payment"]): ref for ref, p in api.payments.items()}
    assert answered[("capture", "ORD-1001")] == {
        "order": "ORD-1001",
        "kind": "capture",
        "status": "delivered",
        "reference": made[("captures", "ORD-1001-P1")],
        "reason": None,
    }
    assert answered[("refund", "ORD-1001")]["reference"] == made[("refunds", "ORD-1001-P1")]
    assert answered[("cancel", "ORD-1004")]["reference"] == made[("cancels", "AUTH-7790")]
    assert answered[("reauthorise", "ORD-1005")]["reference"] == made[("amountUpdates", "AUTH-7795")]
    assert answered[("capture", "ORD-1003")]["reference"] == made[("captures", "AUTH-7782")]
    refused = answered[("capture", "ORD-1002")]
    assert refused["status"] == "rejected" and "'12,50'" in refused["reason"]
    unknown = answered[("chargeback", "ORD-1005")]
    assert unknown["status"] == "rejected" and "no route took the record" in unknown["reason"]
    assert unknown["reference"] is None


def test_a_served_returns_folder_creates_a_return_then_takes_its_later_requests_by_kind(
    emu, serve, client, tmp_path, monkeypatch
):
    from tests.http.server import ApiServer

    api = ApiServer().start()
    try:
        monkeypatch.setenv("LABELS_API_URL", api.url)
        monkeypatch.setenv("LABELS_API_TOKEN", "labels-token-0123456789")
        monkeypatch.setenv("RETURNS_WEBHOOK_KEY", KEY)
        spec = pointed_at(emu, "webhook-returns-rma", tmp_path)
        server = serve(*sorted(spec.parent.glob("*.yaml")))  # both specs of the folder, each on its own path
        data = spec.parent / "data"
        created = client.post(
            server.url + "/webhooks/returns/rma",
            content=(data / "rma.json").read_bytes(),
            headers={"x-api-key": KEY},
        )
        updated = client.post(
            server.url + "/webhooks/returns/rma/updates",
            content=(data / "rma-updates.json").read_bytes(),
            headers={"x-api-key": KEY},
        )
    finally:
        api.stop()
    assert created.status_code == 200, created.text
    assert updated.status_code == 200, updated.text
    answer = updated.json()
    assert answer["records"]["written"] == 6  # a label and a refund are two deliveries each
    assert sorted((r["row"], r["stage"]) for r in answer["rejects"]) == [(5, "mapping"), (6, "route")]
    [rma] = emu.state("return_orders", ref="RMA-7001")
    [label] = api.labels.values()
    assert rma["status"] == "RECEIVED" and rma["creditMemo"] == {"ref": "RF-7001"}
    assert {a["name"]: a["value"] for a in rma["attributes"]}["trackingNumber"] == label["trackingNumber"]
    assert emu.state("return_orders", ref="RET-1001")[0]["status"] == "CANCELLED"
