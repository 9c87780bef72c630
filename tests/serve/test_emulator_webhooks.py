"""Webhooks the Fluent emulator signs and delivers, as Fluent would, with its delivery faults."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.serve.conftest import wait_for

EVENT = {
    "id": "8a1f",
    "name": "ORDER_STATUS_CHANGED",
    "accountId": "DEMO",
    "retailerId": "1",
    "entityId": "2",
    "entityRef": "ORD-1002",
    "entityType": "ORDER",
    "entitySubtype": "HD",
    "entityStatus": "SHIPPED",
    "type": "NORMAL",
    "rootEntityRef": "ORD-1002",
    "rootEntityType": "ORDER",
    "attributes": {},
}

SPEC = """
    version: 1
    name: fluent-order-status
    source: {type: payload}
    parser: {type: json}
    mapping:
      fields:
        ref:    {source: entityRef, required: true}
        status: {source: entityStatus, required: true}
    target: {type: file, destination: {type: local, path: out}, name: "{run_id}.jsonl"}
    trigger:
      webhook:
        path: /fluent/orders
        response: sync
        auth: {type: fluent_signature, public_key: "${env:FLUENT_WEBHOOK_KEY}"}
    """


def rows(tmp_path):
    out = tmp_path / "out"
    return (
        [json.loads(line) for f in sorted(out.glob("*.jsonl")) for line in f.read_text().splitlines()]
        if out.is_dir()
        else []
    )


def statuses(deliveries):
    return [attempt["status"] for d in deliveries for attempt in d["attempts"]]


@pytest.mark.parametrize("form", ["pem", "base64"])
def test_a_webhook_the_emulator_signs_is_accepted_with_either_key_form(
    emu, serve, write_spec, tmp_path, monkeypatch, form
):
    monkeypatch.setenv("FLUENT_WEBHOOK_KEY", emu.public_key()[form])
    server = serve(write_spec(SPEC))
    deliveries = emu.send_webhook(EVENT, url=server.url + "/fluent/orders")
    assert statuses(deliveries) == [200] and deliveries[0]["delivered"] is True
    assert rows(tmp_path) == [{"ref": "ORD-1002", "status": "SHIPPED"}]


@pytest.mark.parametrize(
    "fault,status",
    [
        ("tampered_body", 401),
        ("missing_signature", 401),
        ("wrong_key", 401),
        ("reserialised_body", 401),
        ("uppercase_header", 200),
    ],
)
def test_emulator_delivery_faults(emu, serve, write_spec, tmp_path, monkeypatch, fault, status):
    monkeypatch.setenv("FLUENT_WEBHOOK_KEY", emu.public_key()["base64"])
    server = serve(write_spec(SPEC))
    deliveries = emu.send_webhook(EVENT, url=server.url + "/fluent/orders", fault=fault)
    assert statuses(deliveries) == [status]
    assert rows(tmp_path) == ([{"ref": "ORD-1002", "status": "SHIPPED"}] if status == 200 else [])


def test_status_changes_in_fluent_reach_a_registered_endpoint(emu, serve, write_spec, tmp_path, monkeypatch):
    """The whole loop: an order changes status in the emulator, its webhook is signed, sent and run."""
    monkeypatch.setenv("FLUENT_WEBHOOK_KEY", emu.public_key()["pem"])
    server = serve(write_spec(SPEC.replace("response: sync", "response: async")))
    emu.register_webhook(server.url + "/fluent/orders", triggers=["order_status"])
    c = emu.credentials
    with httpx.Client(base_url=emu.url, timeout=10) as fluent:
        token = fluent.post(
            "/oauth/token",
            data={
                "grant_type": "password",
                "scope": "api",
                **{k: c[k] for k in ("client_id", "client_secret", "username", "password")},
            },
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        order = fluent.post("/graphql", headers=auth, json={"query": '{ order(ref: "ORD-1001") { id } }'})
        order_id = order.json()["data"]["order"]["id"]
        changed = fluent.post(
            "/graphql",
            headers=auth,
            json={
                "query": f'mutation {{ updateOrder(input: {{id: "{order_id}", status: "PICKED"}}) {{ status }} }}'
            },
        )
        assert changed.json()["data"]["updateOrder"]["status"] == "PICKED"
    got = wait_for(lambda: rows(tmp_path))
    assert got == [{"ref": "ORD-1001", "status": "PICKED"}]
    answered = wait_for(
        lambda: [r.get("status") for r in emu.requests() if r.get("direction") == "out"] == [202]
    )
    assert answered, emu.requests()
