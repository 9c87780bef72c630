"""Async bodies are never lost: spooled before the 202, run after a restart, retried, or kept for a person."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.serve import worker as worker_module
from engine.serve.spool import Spool
from engine.sources.payload import Payload
from tests.serve.conftest import wait_for

SPEC = """
    version: 1
    name: orders-in
    source: {type: payload}
    parser: {type: json}
    mapping:
      fields:
        ref: {source: ref, required: true}
    target: {type: file, destination: {type: local, path: out}, name: "{run_id}.jsonl"}
    trigger:
      webhook: {path: /orders, auth: {type: api_key, api_key: "${env:ORDERS_KEY}"}}
    """
KEY = {"x-api-key": "orders-key-0123456789"}
#: the same connector sending events to a Fluent that cannot be reached, giving up after one attempt
UNREACHABLE = SPEC.replace(
    "version: 1",
    """version: 1
    state: {retry: {max_attempts: 1}}
    connections:
      fluent: {type: fluent, base_url: "http://127.0.0.1:9", client_id: c, client_secret: "${env:ORDERS_KEY}",
               retry: {max_attempts: 1}, connect_timeout: 1s}""",
).replace(
    '{type: file, destination: {type: local, path: out}, name: "{run_id}.jsonl"}',
    "{type: fluent.event, connection: fluent, event: {name: OrderNew, entityType: ORDER, entityRef: '{ref}'}}",
)


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("ORDERS_KEY", KEY["x-api-key"])


def refs(tmp_path: Path) -> list[str]:
    out = tmp_path / "out"
    return (
        sorted(json.loads(line)["ref"] for f in out.glob("*.jsonl") for line in f.read_text().splitlines())
        if out.is_dir()
        else []
    )


def spool_of(tmp_path: Path, name: str = "orders-in") -> Spool:
    return Spool(tmp_path / "state" / "payloads" / name)


def test_spool_round_trip_keeps_exact_bytes_and_safe_headers(tmp_path):
    spool = Spool(tmp_path / "spool")
    body = b'{"ref": "A",  "x": "\xc3\xbc"}'
    payload = Payload(body, ext="json", headers={"x-request-id": "r1"})
    spool.put(payload)
    assert spool.counts() == {"pending": 1, "failed": 0}
    [again] = spool.pending()
    assert again.body == body and again.id == payload.id and again.headers == {"x-request-id": "r1"}
    kept = spool.fail(payload, {"status": "failed", "error": "target down"})
    assert kept.read_bytes() == body and spool.counts() == {"pending": 0, "failed": 1}
    meta = json.loads(kept.with_name(f"{payload.id}.meta.json").read_text())
    assert meta["failure"]["error"] == "target down"


def test_a_body_never_committed_is_not_run(tmp_path):
    spool = Spool(tmp_path / "spool")
    payload = Payload(b"{}")
    spool.put(payload)
    (spool.root / f"{payload.id}.json").unlink()  # the process died between the meta and the body
    assert spool.pending() == [] and spool.counts()["pending"] == 0


def test_bodies_accepted_before_a_restart_are_run_at_start_up(serve, write_spec, tmp_path):
    spec = write_spec(SPEC)
    spool = spool_of(tmp_path)
    for ref in ("R-1", "R-2"):
        spool.put(Payload(json.dumps({"ref": ref}).encode()))
    serve(spec)
    assert wait_for(lambda: refs(tmp_path) == ["R-1", "R-2"])
    assert wait_for(lambda: spool.counts() == {"pending": 0, "failed": 0})


def test_a_run_that_fails_for_good_keeps_the_body_for_a_person(serve, client, write_spec, tmp_path, cli):
    spec = write_spec(UNREACHABLE)
    server = serve(spec)
    answer = client.post(server.url + "/orders", content=b'{"ref": "R-9"}', headers=KEY)
    assert answer.status_code == 202
    spool = spool_of(tmp_path)
    assert wait_for(lambda: spool.counts() == {"pending": 0, "failed": 1})
    health = client.get(server.url + "/health").json()["specs"][0]
    assert health["payloads"] == {"pending": 0, "failed": 1} and health["last_run"]["status"] == "failed"
    kept = next(p for p in spool.failed_dir.iterdir() if not p.name.endswith(".meta.json"))
    assert kept.read_bytes() == b'{"ref": "R-9"}'
    # fixed, it is sent again by hand
    spec.write_text(SPEC)
    result = cli("run", str(spec), "--payload", str(kept), "-q")
    assert result.exit_code == 0, result.output
    assert refs(tmp_path) == ["R-9"]


def test_a_run_locked_by_another_process_is_tried_again(serve, client, write_spec, tmp_path, monkeypatch):
    monkeypatch.setattr(worker_module, "LOCKED_FIRST", 0.05)
    from engine.runtime.paths import state_dir
    from engine.state.sqlite import SqliteOptions, SqliteStateStore

    spec = write_spec(SPEC)
    store = SqliteStateStore(SqliteOptions(path=None))
    store.open_at(state_dir(tmp_path) / "state.db")
    assert store.lock_acquire("orders-in", "other-host:1:x", 60, host="other-host", pid=1) is None
    server = serve(spec)
    assert client.post(server.url + "/orders", content=b'{"ref": "L-1"}', headers=KEY).status_code == 202
    assert wait_for(
        lambda: (
            (client.get(server.url + "/health").json()["specs"][0]["last_run"] or {}).get("status")
            == "locked"
        )
    )
    assert refs(tmp_path) == [] and spool_of(tmp_path).counts()["pending"] == 1
    store.lock_release("orders-in", "other-host:1:x")
    store.close()
    assert wait_for(lambda: refs(tmp_path) == ["L-1"])
    assert wait_for(lambda: spool_of(tmp_path).counts() == {"pending": 0, "failed": 0})


def test_a_full_queue_answers_503_and_keeps_nothing(serve, client, write_spec, tmp_path):
    spec = write_spec(SPEC)
    server = serve(spec, queue_size=1)
    served = server.specs[0]
    with served.lock:  # a run is under way: the worker waits for it
        first = client.post(server.url + "/orders", content=b'{"ref": "Q-1"}', headers=KEY)
        assert wait_for(lambda: served.running is not None or server.workers["orders-in"].queued == 0)
        second = client.post(server.url + "/orders", content=b'{"ref": "Q-2"}', headers=KEY)
        third = client.post(server.url + "/orders", content=b'{"ref": "Q-3"}', headers=KEY)
        assert [first.status_code, second.status_code, third.status_code] == [202, 202, 503]
        assert third.headers["retry-after"] == "30"
        assert spool_of(tmp_path).counts()["pending"] == 2
    assert wait_for(lambda: refs(tmp_path) == ["Q-1", "Q-2"])


def test_the_worker_retries_on_the_runner_schedule(tmp_path):
    """After the first retry, a failure waits the spec's backoff, doubling: the ledger refuses the item sooner."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from engine.plan import RetryPolicy
    from engine.runtime.report import RunReport

    report = RunReport(
        connector="x", spec="x.yaml", run_id="r", started=datetime.now(UTC), status="failed", exit_code=1
    )
    spec = SimpleNamespace(
        name="x",
        retry=RetryPolicy(max_attempts=5, backoff=60.0),
        run=lambda *args, **kwargs: report,
    )
    worker = worker_module.Worker(spec, Spool(tmp_path / "spool"))  # type: ignore[arg-type]
    delays: list[float] = []
    worker._later = lambda job, delay, outcome: delays.append(delay)  # type: ignore[method-assign]
    job = worker_module.Job(Payload(b"{}"), "r")
    job.answered.set()
    for _ in range(4):
        worker._process(job)
    assert delays == [worker_module.MIN_RETRY, 60.0, 120.0, 240.0]
    worker._process(job)  # the fifth failure is the last attempt (max_attempts 5)
    assert delays[4:] == [] and worker.spool.counts() == {"pending": 0, "failed": 1}
