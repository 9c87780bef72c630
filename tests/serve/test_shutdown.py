"""Graceful shutdown: runs under way finish, queued bodies wait in the spool for the next start."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from engine.serve.spool import Spool
from tests.serve.conftest import wait_for

KEY = {"x-api-key": "shutdown-key-0123456789"}


@pytest.fixture
def spec(write_spec, emu, monkeypatch):
    """Cancellation bodies → OrderCancel events to the emulator, whose event API answers slowly."""
    monkeypatch.setenv("SHUTDOWN_KEY", KEY["x-api-key"])
    c = emu.credentials
    fluent = {
        "type": "fluent",
        "base_url": emu.url,
        "client_id": c["client_id"],
        "client_secret": c["client_secret"],
        "username": c["username"],
        "password": c["password"],
        "retailer_id": c["retailer_id"],
    }
    emu.add_fault({"match": {"path_regex": "/api/v4.1/event"}, "action": {"delay_ms": 700}})

    def write(response: str):
        return write_spec(f"""
            version: 1
            name: cancel-slowly
            connections:
              fluent: {json.dumps(fluent)}
            source: {{type: payload}}
            parser: {{type: json}}
            mapping:
              fields:
                ref: {{source: ref, required: true}}
            target:
              type: fluent.event
              connection: fluent
              mode: sync
              event: {{name: OrderCancel, entityType: ORDER, entityRef: "{{ref}}", rootEntityType: ORDER,
                       rootEntityRef: "{{ref}}"}}
            trigger:
              webhook: {{path: /cancel, response: {response}, auth: {{type: api_key, api_key: "${{env:SHUTDOWN_KEY}}"}}}}
            """)

    return write


def cancels(emu) -> list[str]:
    return sorted(o["ref"] for o in emu.state("orders") if o["status"] == "CANCELLED")


def test_a_sync_run_under_way_finishes_before_the_server_stops(serve, spec, emu):
    server = serve(spec("sync"))
    answers: list[httpx.Response] = []
    sender = threading.Thread(
        target=lambda: answers.append(
            httpx.post(server.url + "/cancel", content=b'{"ref": "ORD-1002"}', headers=KEY, timeout=30)
        )
    )
    sender.start()
    assert wait_for(lambda: server.specs[0].running)
    assert server.stop(timeout=20) is True
    sender.join(30)
    assert answers[0].status_code == 200 and answers[0].json()["records"]["written"] == 1
    assert cancels(emu) == ["ORD-1002"]
    with pytest.raises(httpx.ConnectError):
        httpx.post(server.url + "/cancel", content=b"{}", headers=KEY, timeout=5)


def test_queued_bodies_wait_in_the_spool_for_the_next_start(serve, spec, emu, tmp_path):
    path = spec("async")
    server = serve(path)
    for ref in ("ORD-1002", "ORD-1004"):
        assert (
            httpx.post(server.url + "/cancel", content=json.dumps({"ref": ref}), headers=KEY).status_code
            == 202
        )
    assert wait_for(lambda: server.specs[0].running)
    assert server.stop(timeout=20) is True
    assert cancels(emu) == ["ORD-1002"]  # the run under way finished; the queued one did not start
    spool = Spool(tmp_path / "state" / "payloads" / "cancel-slowly")
    assert spool.counts() == {"pending": 1, "failed": 0}
    serve(path)
    assert wait_for(lambda: cancels(emu) == ["ORD-1002", "ORD-1004"])
    assert wait_for(lambda: spool.counts() == {"pending": 0, "failed": 0})


def test_while_stopping_health_and_webhooks_answer_503(serve, spec, client):
    server = serve(spec("async"))
    server.stopping = True  # the first thing stop() does
    assert client.get(server.url + "/health").status_code == 503
    answer = client.post(server.url + "/cancel", content=b'{"ref": "X"}', headers=KEY)
    assert answer.status_code == 503 and answer.headers["retry-after"] == "30"
