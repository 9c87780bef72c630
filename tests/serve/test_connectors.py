"""The webhook connectors under connectors/ served for real: their sample payloads in, their effects out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.serve.conftest import wait_for

CONNECTORS = Path(__file__).resolve().parent.parent.parent / "connectors"


@pytest.fixture
def connector(tmp_path):
    """A copy of a connector's folder, so its outputs land in the test's directory."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(CONNECTORS / name, target)
        return target / f"{name}.yaml"

    return copy


def test_order_cancel_requests_become_events_and_a_repeat_cancels_once(serve, client, connector, monkeypatch):
    monkeypatch.setenv("ORDER_CANCEL_API_KEY", "cancel-key-0123456789abcdef")
    spec = connector("webhook-order-cancel")
    server = serve(spec)
    url = server.url + "/webhooks/order-cancel"
    body = (spec.parent / "data" / "cancel-request.json").read_bytes()
    assert (
        client.post(url, content=body, headers={"x-api-key": "wrong-key-0123456789abcd"}).status_code == 401
    )
    answer = client.post(url, content=body, headers={"x-api-key": "cancel-key-0123456789abcdef"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["records"]["written"] == 1
    again = client.post(url, content=body, headers={"x-api-key": "cancel-key-0123456789abcdef"})
    assert again.status_code == 200 and again.json()["records"]["read"] == 0
    assert again.json()["items"][0]["status"] == "skipped"
    unknown = json.dumps({"order": {"ref": "ORD-9999"}, "cancellation": {"reason": "FRAUD"}})
    refused = client.post(url, content=unknown, headers={"x-api-key": "cancel-key-0123456789abcdef"})
    assert refused.status_code == 422
    assert refused.json()["rejects"][0]["stage"] == "target"


def test_fluent_order_status_webhooks_are_appended_once(emu, serve, connector, monkeypatch):
    monkeypatch.setenv("FLUENT_WEBHOOK_PUBLIC_KEY", emu.public_key()["base64"])
    spec = connector("webhook-order-status")
    server = serve(spec)
    url = server.url + "/webhooks/fluent/order-status"
    event = json.loads((spec.parent / "data" / "order-status-changed.json").read_text())
    assert [d["attempts"][0]["status"] for d in emu.send_webhook(event, url=url)] == [202]
    assert [d["attempts"][0]["status"] for d in emu.send_webhook(event, url=url)] == [202]  # a redelivery
    assert [d["attempts"][0]["status"] for d in emu.send_webhook(event, url=url, fault="tampered_body")] == [
        401
    ]
    out = spec.parent / "out" / "order-status"

    def lines() -> list[dict]:
        return [json.loads(x) for f in sorted(out.rglob("*.jsonl")) for x in f.read_text().splitlines()]

    spool = server.workers["webhook-order-status"].spool
    assert wait_for(lambda: spool.counts() == {"pending": 0, "failed": 0})  # both deliveries settled
    got = lines()
    assert len(got) == 1
    assert {k: got[0][k] for k in ("orderRef", "status", "retailerId")} == {
        "orderRef": "HD_1002",
        "status": "SHIPPED",
        "retailerId": "1",
    }


def test_marketplace_xml_orders_become_json(serve, client, connector, monkeypatch):
    monkeypatch.setenv("MARKETPLACE_WEBHOOK_KEY", "marketplace-key-0123456789")
    spec = connector("webhook-xml-orders")
    server = serve(spec)
    body = (spec.parent / "data" / "order.xml").read_bytes()
    answer = client.post(
        server.url + "/webhooks/marketplace/orders",
        content=body,
        headers={"content-type": "application/xml", "x-marketplace-key": "marketplace-key-0123456789"},
    )
    assert answer.status_code == 200, answer.text
    [written] = list((spec.parent / "out" / "orders").glob("*.json"))
    assert written.stem == answer.json()["run_id"]
    orders = json.loads(written.read_text())
    assert [line["skuRef"] for line in orders[0]["lines"]] == ["SKU-0001", "SKU-0003"]
