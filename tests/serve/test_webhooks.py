"""Webhooks over real HTTP: authenticated bodies are run, everything else is refused unprocessed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.serve.conftest import wait_for

EVENT = {
    "id": "3f1c",
    "name": "ORDER_STATUS_CHANGED",
    "retailerId": "1",
    "entityId": "6469",
    "entityRef": "ORD-1002",
    "entityType": "ORDER",
    "entityStatus": "CANCELLED",
    "type": "NORMAL",
    "attributes": {"note": "ünïcode"},
}


def body_of(event: dict) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def spec_text(auth: str, response: str = "async", *, extra: str = "") -> str:
    return f"""
        version: 1
        name: order-status
        source: {{type: payload}}
        parser: {{type: json}}
        mapping:
          fields:
            ref:    {{source: entityRef, required: true}}
            status: {{source: entityStatus, required: true}}
            note:   {{source: attributes.note}}
        target:
          type: file
          destination: {{type: local, path: out}}
          name: "{{run_id}}.jsonl"
        trigger:
          webhook:
            path: /hooks/order-status
            response: {response}
            auth: {auth}
        {extra}
        """


def outputs(tmp_path: Path) -> list[dict]:
    out = tmp_path / "out"
    files = sorted(out.glob("*.jsonl")) if out.is_dir() else []
    return [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def signed_spec(write_spec, keys, tmp_path):
    (tmp_path / "fluent.pem").write_text(keys.pem)
    return write_spec(spec_text('{type: fluent_signature, public_key: "${file:fluent.pem}"}', "sync"))


def test_a_signed_webhook_is_run_and_answered_with_its_counts(serve, client, signed_spec, keys, tmp_path):
    server = serve(signed_spec)
    body = body_of(EVENT)
    answer = client.post(
        server.url + "/hooks/order-status",
        content=body,
        headers={"content-type": "application/json", "fluent-signature": keys.sign(body)},
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["status"] == "ok" and report["run_id"]
    assert report["records"]["read"] == 1 and report["records"]["written"] == 1
    assert outputs(tmp_path) == [{"ref": "ORD-1002", "status": "CANCELLED", "note": "ünïcode"}]


@pytest.mark.parametrize("case", ["missing", "wrong key", "tampered", "reserialised", "garbage"])
def test_unverified_webhooks_are_refused_and_never_processed(
    serve, client, signed_spec, keys, other_keys, tmp_path, case
):
    server = serve(signed_spec)
    body = body_of(EVENT)
    headers = {"content-type": "application/json"}
    sent = body
    if case == "wrong key":
        headers["fluent-signature"] = other_keys.sign(body)
    elif case == "tampered":
        headers["fluent-signature"] = keys.sign(body)
        sent = body.replace(b"CANCELLED", b"SHIPPED")
    elif case == "reserialised":
        headers["fluent-signature"] = keys.sign(body)
        sent = json.dumps(EVENT, indent=2).encode()
    elif case == "garbage":
        headers["fluent-signature"] = "not base64!"
    answer = client.post(server.url + "/hooks/order-status", content=sent, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized" and answer.json()["reason"]
    assert outputs(tmp_path) == []
    health = client.get(server.url + "/health").json()
    assert health["specs"][0]["last_run"] is None


def test_api_key_webhooks(serve, client, write_spec, tmp_path, monkeypatch):
    monkeypatch.setenv("ORDER_HOOK_KEY", "k-0123456789abcdef")
    spec = write_spec(
        spec_text('{type: api_key, api_key: "${env:ORDER_HOOK_KEY}", header: x-order-key}', "sync")
    )
    server = serve(spec)
    url = server.url + "/hooks/order-status"
    assert client.post(url, content=body_of(EVENT)).status_code == 401
    assert (
        client.post(url, content=body_of(EVENT), headers={"x-order-key": "k-0123456789abcdeX"}).status_code
        == 401
    )
    assert (
        client.post(url, content=body_of(EVENT), headers={"x-api-key": "k-0123456789abcdef"}).status_code
        == 401
    )
    assert outputs(tmp_path) == []
    answer = client.post(url, content=body_of(EVENT), headers={"X-Order-Key": "k-0123456789abcdef"})
    assert answer.status_code == 200 and answer.json()["records"]["written"] == 1
    assert [r["ref"] for r in outputs(tmp_path)] == ["ORD-1002"]


def test_async_answers_202_at_once_and_the_run_follows(
    serve, client, signed_spec, keys, tmp_path, write_spec
):
    (tmp_path / "fluent.pem").write_text(keys.pem)
    spec = write_spec(spec_text('{type: fluent_signature, public_key: "${file:fluent.pem}"}', "async"))
    server = serve(spec)
    url = server.url + "/hooks/order-status"
    client.get(server.url + "/health")  # connection warmed: the timing below is the endpoint's
    latencies = []
    run_ids = []
    for ref in ("ORD-1", "ORD-2", "ORD-3"):
        body = body_of({**EVENT, "entityRef": ref})
        started = time.perf_counter()
        answer = client.post(url, content=body, headers={"fluent-signature": keys.sign(body)})
        latencies.append(time.perf_counter() - started)
        assert answer.status_code == 202, answer.text
        assert answer.json()["accepted"] is True
        run_ids.append(answer.json()["run_id"])
    print(f"async ack latency: {', '.join(f'{x * 1000:.1f} ms' for x in latencies)}")
    assert max(latencies) < 1.0
    rows = wait_for(lambda: len(outputs(tmp_path)) == 3 and outputs(tmp_path))
    assert sorted(r["ref"] for r in rows) == ["ORD-1", "ORD-2", "ORD-3"]
    assert sorted(p.stem for p in (tmp_path / "out").glob("*.jsonl")) == sorted(run_ids)
    last = wait_for(
        lambda: (
            (client.get(server.url + "/health").json()["specs"][0]["last_run"] or {}).get("run_id")
            == run_ids[-1]
        )
    )
    assert last
    spooled = tmp_path / "state" / "payloads" / "order-status"
    # settled bodies leave the spool (just after the run is recorded as the last one)
    assert wait_for(lambda: not list(spooled.glob("*.json")))


def test_sync_rejects_over_tolerance_answer_422_with_where_and_why(serve, client, signed_spec, keys):
    server = serve(signed_spec)
    body = body_of({k: v for k, v in EVENT.items() if k != "entityStatus"})
    answer = client.post(
        server.url + "/hooks/order-status", content=body, headers={"fluent-signature": keys.sign(body)}
    )
    assert answer.status_code == 422
    report = answer.json()
    assert report["status"] == "rejects_exceeded" and report["records"]["rejected"]["mapping"] == 1
    assert report["rejects"][0]["row"] == 1 and "status" in report["rejects"][0]["reasons"][0]


def test_a_body_that_is_not_json_fails_its_item_and_answers_422(serve, client, signed_spec, keys):
    server = serve(signed_spec)
    body = b"<order/>"
    answer = client.post(
        server.url + "/hooks/order-status", content=body, headers={"fluent-signature": keys.sign(body)}
    )
    assert answer.status_code == 422
    assert answer.json()["items"][0]["status"] == "failed"


def test_a_failed_run_answers_500_without_secrets(serve, client, write_spec, tmp_path, monkeypatch):
    monkeypatch.setenv("ORDER_HOOK_KEY", "k-0123456789abcdef")
    monkeypatch.setenv("FLUENT_TEST_SECRET", "super-secret-value-42")
    spec = write_spec("""
        version: 1
        name: to-nowhere
        connections:
          fluent: {type: fluent, base_url: "http://127.0.0.1:9", client_id: c, client_secret: "${env:FLUENT_TEST_SECRET}",
                   retailer_id: "1", retry: {max_attempts: 1}, connect_timeout: 1s}
        source: {type: payload}
        parser: {type: json}
        mapping:
          fields:
            ref: {source: entityRef}
        target:
          type: fluent.event
          connection: fluent
          event: {name: OrderCancel, entityType: ORDER, entityRef: "{ref}", rootEntityType: ORDER, rootEntityRef: "{ref}"}
        trigger:
          webhook: {path: /cancel, response: sync, auth: {type: api_key, api_key: "${env:ORDER_HOOK_KEY}"}}
        """)
    server = serve(spec)
    answer = client.post(
        server.url + "/cancel", content=body_of(EVENT), headers={"x-api-key": "k-0123456789abcdef"}
    )
    assert answer.status_code == 500
    assert answer.json()["status"] == "failed" and answer.json()["error"]
    assert "super-secret-value-42" not in answer.text and "k-0123456789abcdef" not in answer.text


def test_a_body_over_the_limit_is_refused_with_413(serve, client, signed_spec, keys, tmp_path):
    server = serve(signed_spec, max_body=1000)
    body = body_of({**EVENT, "attributes": {"note": "x" * 2000}})
    answer = client.post(
        server.url + "/hooks/order-status", content=body, headers={"fluent-signature": keys.sign(body)}
    )
    assert answer.status_code == 413 and "1000 bytes" in answer.json()["error"]

    def chunks():  # no Content-Length: the limit holds while the body streams in
        yield body[:900]
        yield body[900:]

    answer = client.post(
        server.url + "/hooks/order-status", content=chunks(), headers={"fluent-signature": keys.sign(body)}
    )
    assert answer.status_code == 413
    assert outputs(tmp_path) == []
    small = body_of(EVENT)
    answer = client.post(
        server.url + "/hooks/order-status", content=small, headers={"fluent-signature": keys.sign(small)}
    )
    assert answer.status_code == 200


def test_only_post_is_served(serve, client, signed_spec):
    server = serve(signed_spec)
    assert client.get(server.url + "/hooks/order-status").status_code == 405
    assert client.post(server.url + "/hooks/other", content=b"{}").status_code == 404


def test_headers_reach_the_item_without_credentials(serve, client, write_spec, tmp_path, monkeypatch):
    monkeypatch.setenv("ORDER_HOOK_KEY", "k-0123456789abcdef")
    spec = write_spec("""
        version: 1
        name: headers
        source: {type: payload}
        parser: {type: json}
        mapping:
          fields:
            ref: {source: entityRef}
            file: {source: $file.name}
        target: {type: file, destination: {type: local, path: out}, name: "{run_id}.jsonl"}
        trigger:
          webhook: {path: /h, format: json, response: sync, auth: {type: api_key, api_key: "${env:ORDER_HOOK_KEY}"}}
        """)
    server = serve(spec)
    answer = client.post(
        server.url + "/h",
        content=body_of(EVENT),
        headers={"x-api-key": "k-0123456789abcdef", "authorization": "Bearer abc", "x-request-id": "req-7"},
    )
    assert answer.status_code == 200
    run_id = answer.json()["run_id"]
    assert outputs(tmp_path) == [{"ref": "ORD-1002", "file": f"payload-{run_id}.json"}]
    report = json.loads(next((tmp_path / "state" / "reports").glob(f"*{run_id}.json")).read_text())
    assert report["items"][0]["uri"] == f"payload://{run_id}"
    assert "k-0123456789abcdef" not in json.dumps(report)


def test_a_crash_below_the_runner_answers_500_and_shows_in_health(
    serve, client, signed_spec, keys, monkeypatch
):
    import engine.serve.specs

    class Broken:
        def __init__(self, *args, **kwargs):
            pass

        def run(self):
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(engine.serve.specs, "Runner", Broken)
    server = serve(signed_spec)
    body = body_of(EVENT)
    answer = client.post(
        server.url + "/hooks/order-status", content=body, headers={"fluent-signature": keys.sign(body)}
    )
    assert answer.status_code == 500 and answer.json()["error"] == "internal error"
    assert "disk on fire" not in answer.text
    last = client.get(server.url + "/health").json()["specs"][0]["last_run"]
    assert last["status"] == "crashed" and last["run_id"] == answer.json()["run_id"]


def test_a_sync_run_locked_by_another_process_answers_503(serve, client, signed_spec, keys, tmp_path):
    from engine.runtime.paths import state_dir
    from engine.state.sqlite import SqliteOptions, SqliteStateStore

    store = SqliteStateStore(SqliteOptions(path=None))
    store.open_at(state_dir(tmp_path) / "state.db")
    assert store.lock_acquire("order-status", "other:1:x", 60, host="other", pid=1) is None
    try:
        server = serve(signed_spec)
        body = body_of(EVENT)
        answer = client.post(
            server.url + "/hooks/order-status", content=body, headers={"fluent-signature": keys.sign(body)}
        )
        assert answer.status_code == 503 and answer.headers["retry-after"] == "30"
        assert answer.json()["status"] == "locked" and "another run" in answer.json()["error"]
        assert outputs(tmp_path) == []
    finally:
        store.close()


def test_a_webhook_on_a_file_spec_only_starts_a_run(serve, client, write_spec, tmp_path, monkeypatch):
    """The body is a notification ("a file has landed"): the spec reads its own source."""
    monkeypatch.setenv("ORDER_HOOK_KEY", "k-0123456789abcdef")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "orders.csv").write_text("ref\nF-1\nF-2\n")
    spec = write_spec("""
        version: 1
        name: files-on-demand
        source: {type: local, path: in}
        parser: {type: csv}
        target: {type: file, destination: {type: local, path: out}, name: "{run_id}.jsonl"}
        trigger:
          webhook: {path: /landed, response: async, auth: {type: api_key, api_key: "${env:ORDER_HOOK_KEY}"}}
        """)
    server = serve(spec)
    answer = client.post(
        server.url + "/landed", content=b'{"bucket": "x"}', headers={"x-api-key": "k-0123456789abcdef"}
    )
    assert answer.status_code == 202
    assert wait_for(lambda: [r["ref"] for r in outputs(tmp_path)] == ["F-1", "F-2"])
    assert not (tmp_path / "state" / "payloads").exists()  # nothing to keep: the body was only a trigger


def test_auth_none_accepts_anyone_as_written(serve, client, write_spec, tmp_path):
    server = serve(write_spec(spec_text("{type: none}", "sync")))
    answer = client.post(server.url + "/hooks/order-status", content=body_of(EVENT))
    assert answer.status_code == 200 and [r["ref"] for r in outputs(tmp_path)] == ["ORD-1002"]
