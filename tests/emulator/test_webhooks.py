"""Outbound webhooks: RSA-SHA512 signatures over raw bytes, delivery, retries, faults (§7, §11.4)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

EVENT = {
    "id": "evt-1",
    "name": "order_webhook_status",
    "accountId": "DEMO",
    "retailerId": "1",
    "entityId": "1",
    "entityRef": "ORD-1001",
    "entityType": "ORDER",
    "entitySubtype": "HD",
    "entityStatus": "RECEIVED",
    "type": "NORMAL",
    "attributes": {"note": "ünïcode"},
}


class Receiver:
    """A loopback HTTP endpoint that records raw deliveries and answers with queued statuses."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"body": body, "headers": dict(self.headers.items())})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def wait(self, count: int, timeout: float = 5) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.received

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.close()


def verifies(public_key: Any, signature: str, body: bytes) -> bool:
    try:
        public_key.verify(base64.b64decode(signature), body, padding.PKCS1v15(), hashes.SHA512())
        return True
    except InvalidSignature:
        return False


def test_public_key_in_pem_and_bare_base64(api):
    key = api.control("GET", "webhooks/public-key")
    pem = serialization.load_pem_public_key(key["pem"].encode())
    bare = serialization.load_der_public_key(base64.b64decode(key["base64"]))
    assert pem.public_numbers() == bare.public_numbers()
    assert key["pem"].startswith("-----BEGIN PUBLIC KEY-----") and "\n" not in key["base64"]


def test_signed_delivery_verifies_and_breaks_after_reserialisation(emu, api, receiver):
    """§11.6 item 6, with the bare base64 key the SDK accepts and with the PEM."""
    results = api.control("POST", "webhooks/send", {"url": receiver.url, "event": EVENT})
    assert results[0]["delivered"] is True
    delivery = receiver.wait(1)[0]
    headers = {k.lower(): v for k, v in delivery["headers"].items()}
    assert headers["content-type"] == "application/json"
    key = emu.public_key()
    bare = serialization.load_der_public_key(base64.b64decode(key["base64"]))
    pem = serialization.load_pem_public_key(key["pem"].encode())
    assert verifies(bare, headers["fluent-signature"], delivery["body"])
    assert verifies(pem, headers["fluent-signature"], delivery["body"])
    assert json.loads(delivery["body"]) == EVENT
    reserialised = json.dumps(json.loads(delivery["body"])).encode()
    assert reserialised != delivery["body"]
    assert not verifies(bare, headers["fluent-signature"], reserialised)


@pytest.mark.parametrize(
    "fault", ["wrong_key", "tampered_body", "missing_signature", "uppercase_header", "reserialised_body"]
)
def test_delivery_faults(emu, receiver, fault):
    emu.send_webhook(EVENT, url=receiver.url, fault=fault)
    delivery = receiver.wait(1)[0]
    raw_names = list(delivery["headers"])
    signature = next((v for k, v in delivery["headers"].items() if k.lower() == "fluent-signature"), None)
    key = serialization.load_der_public_key(base64.b64decode(emu.public_key()["base64"]))
    if fault == "missing_signature":
        assert signature is None
    elif fault == "uppercase_header":
        assert "FLUENT-SIGNATURE" in raw_names and verifies(key, signature, delivery["body"])
    else:
        assert not verifies(key, signature, delivery["body"])


def test_status_changes_trigger_registered_webhooks(emu, api, receiver):
    api.control("POST", "webhooks", {"url": receiver.url, "triggers": ["order_status"]})
    order_id = api.gql('{ order(ref: "ORD-1002") { id } }')["data"]["order"]["id"]
    api.gql(f'mutation {{ updateOrder(input: {{id: "{order_id}", status: "SHIPPED"}}) {{ status }} }}')
    delivery = receiver.wait(1)[0]
    event = json.loads(delivery["body"])
    assert event["name"] == "ORDER_STATUS_CHANGED" and event["entityRef"] == "ORD-1002"
    assert (
        event["entityStatus"] == "SHIPPED"
        and event["type"] == "NORMAL"
        and event["rootEntityType"] == "ORDER"
    )
    key = serialization.load_der_public_key(base64.b64decode(emu.public_key()["base64"]))
    headers = {k.lower(): v for k, v in delivery["headers"].items()}
    assert verifies(key, headers["fluent-signature"], delivery["body"])


def test_event_handled_trigger(emu, api, receiver):
    emu.register_webhook(receiver.url, triggers=["event"])
    api.post(
        "/api/v4.1/event/sync",
        {
            "name": "OrderCancel",
            "entityType": "ORDER",
            "entityRef": "ORD-1004",
            "retailerId": "1",
            "rootEntityType": "ORDER",
        },
    )
    event = json.loads(receiver.wait(1)[0]["body"])
    assert event["name"] == "OrderCancel" and event["attributes"] == {"eventStatus": "COMPLETE"}


def test_non_2xx_answers_are_retried_and_logged(emu, receiver):
    emu.configure(webhook_backoff_ms=10)
    receiver.statuses = [500, 503]
    result = emu.send_webhook(EVENT, url=receiver.url)[0]
    assert [a["status"] for a in result["attempts"]] == [500, 503, 200] and result["delivered"]
    outbound = emu.requests(direction="out")
    assert [r["status"] for r in outbound] == [500, 503, 200]
    assert outbound[0]["path"] == receiver.url and outbound[0]["json"] == EVENT


def test_registration_validation(api):
    response = api.http.post("/_emulator/webhooks", json={"url": "ftp://x", "triggers": ["nope"]})
    assert response.status_code == 400
    response = api.http.post("/_emulator/webhooks/send", json={"event": EVENT})
    assert response.status_code == 400 and "no url" in response.text
