"""What an operator watches: /metrics scraped and parsed as Prometheus parses it, /health that turns
unhealthy after failed runs, and OpenTelemetry spans of runs, webhooks and HTTP calls."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine.serve.clock import ManualClock
from tests.serve.conftest import wait_for

START = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)
KEY = "a-webhook-key-of-some-length"

SCHEDULED = """
version: 1
name: nightly
source: {type: local, path: inbox, pattern: "*.csv"}
parser: {type: csv}
mapping:
  fields:
    sku: {source: sku, required: true}
    qty: {source: qty, resolver: int}
target: {type: file, writer: jsonl, destination: {type: local, path: out}, name: "{run_id}.jsonl"}
on_error: {max_reject_ratio: 1}
state: {dedupe: none}
trigger: {schedule: "* * * * *"}
"""

WEBHOOK = """
version: 1
name: orders
source: {type: payload}
parser: {type: json}
mapping:
  fields:
    ref: {source: ref, required: true}
target: {type: file, writer: jsonl, destination: {type: local, path: out}, name: "{run_id}.jsonl"}
trigger:
  webhook: {path: /hooks/orders, response: sync, auth: {type: api_key, api_key: "${env:HOOK_KEY}"}}
"""


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _due(n: int) -> datetime:
    return START.replace(second=0) + timedelta(minutes=n)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def test_metrics_count_runs_records_lag_and_webhooks_and_parse_as_prometheus_text(
    tmp_path, write_spec, serve, client, clock, monkeypatch
) -> None:
    monkeypatch.setenv("HOOK_KEY", KEY)
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.csv").write_text("sku,qty\nA,1\nB,two\nC,3\n")
    server = serve(write_spec(SCHEDULED, "nightly.yaml"), write_spec(WEBHOOK, "orders.yaml"), clock=clock)
    assert wait_for(lambda: clock.waiters >= 1)
    clock.set(_due(1) + timedelta(seconds=7))  # the schedule's thread wakes 7 s after the due time
    assert wait_for(lambda: server.specs[0].last is not None)
    url = server.url + "/hooks/orders"
    assert client.post(url, content=b'{"ref": "O-1"}', headers={"x-api-key": KEY}).status_code == 200
    assert (
        client.post(url, content=b'{"ref": "O-2"}', headers={"x-api-key": "wrong-key-wrong-key"}).status_code
        == 401
    )
    assert client.post(url, content=b'{"ref": "O-3"}', headers={"x-api-key": KEY}).status_code == 200

    scraped = client.get(server.url + "/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    got = _samples(scraped.text)
    nightly, orders = (("connector", "nightly"),), (("connector", "orders"),)
    assert got[("engine_runs_total", (*nightly, ("status", "ok"), ("trigger", "schedule")))] == 1
    assert got[("engine_runs_total", (*orders, ("status", "ok"), ("trigger", "webhook")))] == 2
    assert got[("engine_records_total", (*nightly, ("outcome", "read")))] == 3
    assert got[("engine_records_total", (*nightly, ("outcome", "written")))] == 2
    assert got[("engine_records_total", (*nightly, ("outcome", "rejected_mapping")))] == 1
    assert got[("engine_run_duration_seconds_count", (*nightly, ("trigger", "schedule")))] == 1
    assert got[("engine_schedule_lag_seconds", nightly)] == 7
    assert got[("engine_webhook_requests_total", (*orders, ("outcome", "ok")))] == 2
    assert got[("engine_webhook_requests_total", (*orders, ("outcome", "unauthorized")))] == 1
    assert got[("engine_consecutive_failed_runs", nightly)] == 0
    assert got[("engine_runs_in_progress", nightly)] == 0
    assert KEY not in scraped.text


def test_health_turns_unhealthy_after_the_last_runs_failed_and_recovers(
    tmp_path, write_spec, serve, client, clock
) -> None:
    server = serve(write_spec(SCHEDULED, "nightly.yaml"), clock=clock, unhealthy_after=2)
    spec = server.specs[0]
    assert wait_for(lambda: clock.waiters >= 1)
    health = client.get(server.url + "/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"

    clock.set(_due(1))  # inbox/ does not exist: the run fails
    assert wait_for(lambda: spec.failed_in_a_row == 1)
    assert client.get(server.url + "/health").status_code == 200, "one failure is not yet unhealthy"
    clock.set(_due(2))
    assert wait_for(lambda: spec.failed_in_a_row == 2)
    health = client.get(server.url + "/health")
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "unhealthy" and body["unhealthy"] == ["nightly"]
    assert body["specs"][0]["healthy"] is False and body["specs"][0]["failed_in_a_row"] == 2
    assert body["specs"][0]["last_run"]["status"] == "failed"

    (tmp_path / "inbox").mkdir()
    clock.set(_due(3))
    assert wait_for(lambda: spec.failed_in_a_row == 0 and spec.last["status"] == "ok")
    health = client.get(server.url + "/health")
    assert health.status_code == 200 and health.json()["specs"][0]["healthy"] is True


def test_unhealthy_after_zero_never_turns_unhealthy(tmp_path, write_spec, serve, client, clock) -> None:
    server = serve(write_spec(SCHEDULED, "nightly.yaml"), clock=clock, unhealthy_after=0)
    spec = server.specs[0]
    assert wait_for(lambda: clock.waiters >= 1)
    for n in range(1, 4):
        clock.set(_due(n))
        assert wait_for(lambda n=n: spec.failed_in_a_row == n)
    assert client.get(server.url + "/health").status_code == 200


def test_metrics_and_health_are_reserved_paths(tmp_path, write_spec, monkeypatch) -> None:
    from engine.errors import SpecError
    from engine.serve import load_specs

    monkeypatch.setenv("HOOK_KEY", KEY)
    path = write_spec(WEBHOOK.replace("/hooks/orders", "/metrics"), "orders.yaml")
    with pytest.raises(SpecError) as caught:
        load_specs([str(path)])
    assert "trigger.webhook.path /metrics is reserved by engine serve" in str(caught.value)


def test_traces_of_a_webhook_its_run_and_its_http_calls(
    tmp_path, write_spec, serve, client, emu, monkeypatch
):
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from engine.serve import telemetry

    exporter = InMemorySpanExporter()
    telemetry.setup(exporter)
    monkeypatch.setenv("HOOK_KEY", KEY)
    c = emu.credentials
    fluent = json.dumps(
        {
            "type": "fluent",
            "base_url": emu.url,
            "client_id": c["client_id"],
            "client_secret": c["client_secret"],
            "username": c["username"],
            "password": c["password"],
            "retailer_id": str(c["retailer_id"]),
        }
    )
    spec = WEBHOOK.replace(
        'target: {type: file, writer: jsonl, destination: {type: local, path: out}, name: "{run_id}.jsonl"}',
        f"connections:\n  fluent: {fluent}\n"
        "target: {type: fluent.event, connection: fluent, mode: sync, event: {name: OrderCancel, entityType: ORDER, "
        'entityRef: "{ref}", rootEntityType: ORDER, rootEntityRef: "{ref}"}}',
    )
    server = serve(write_spec(spec, "orders.yaml"))
    answer = client.post(
        server.url + "/hooks/orders", content=b'{"ref": "ORD-1002"}', headers={"x-api-key": KEY}
    )
    assert answer.status_code == 200, answer.text
    spans = {s.name: s for s in exporter.get_finished_spans()}
    webhook, run = spans["engine.webhook"], spans["engine.run"]
    assert (
        webhook.attributes["http.status_code"] == 200 and webhook.attributes["http.route"] == "/hooks/orders"
    )
    assert run.attributes["connector"] == "orders" and run.attributes["engine.status"] == "ok"
    assert run.attributes["engine.records.written"] == 1
    assert run.parent is not None and run.parent.span_id == webhook.context.span_id
    calls = {
        str(s.attributes["http.url"])[len(emu.url) :]: s
        for s in exporter.get_finished_spans()
        if str((s.attributes or {}).get("http.url", "")).startswith(emu.url)
    }
    assert sorted(calls) == ["/api/v4.1/event/sync", "/oauth/token"]
    for call in calls.values():  # sent from the target's pool thread, still in the run's trace
        assert call.context.trace_id == webhook.context.trace_id
    exported = json.dumps([dict(s.attributes or {}) for s in exporter.get_finished_spans()])
    assert KEY not in exported and c["client_secret"] not in exported
