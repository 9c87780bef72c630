"""Cron schedules on an injectable clock: due times, no overlap, missed times skipped not queued."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from engine.serve.clock import ManualClock
from engine.serve.scheduler import Schedule
from tests.serve.conftest import wait_for

START = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)


def parked(clock: ManualClock) -> bool:
    return bool(wait_for(lambda: clock.waiters >= 1, timeout=5))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def test_runs_at_each_due_time(clock):
    ran: list[datetime] = []
    schedule = Schedule("s", "* * * * *", lambda: ran.append(clock.now()), clock=clock)
    schedule.start()
    try:
        assert parked(clock)
        assert schedule.next_due == START.replace(second=0) + timedelta(minutes=1)
        clock.advance(20)
        assert not wait_for(lambda: ran, timeout=0.1)  # 12:00:50: not due yet
        clock.advance(10)
        assert wait_for(lambda: len(ran) == 1)
        clock.advance(60)
        assert wait_for(lambda: len(ran) == 2)
        assert [t.strftime("%H:%M:%S") for t in ran] == ["12:01:00", "12:02:00"]
    finally:
        schedule.stop()
        assert schedule.join(5)


def test_times_missed_during_a_long_run_are_skipped_not_queued(clock):
    ran: list[datetime] = []

    def long_run() -> None:
        ran.append(clock.now())
        clock.advance(150)  # the run takes two and a half minutes

    schedule = Schedule("s", "* * * * *", long_run, clock=clock)
    schedule.start()
    try:
        assert parked(clock)
        clock.set(START.replace(second=0) + timedelta(minutes=1))
        assert wait_for(lambda: schedule.skipped == 2)
        assert schedule.next_due == START.replace(second=0) + timedelta(minutes=4)
        assert len(ran) == 1  # 12:02 and 12:03 were not run late
        clock.set(START.replace(second=0) + timedelta(minutes=4))
        assert wait_for(lambda: len(ran) == 2)
    finally:
        schedule.stop()
        schedule.join(5)


def test_a_crashing_run_does_not_end_the_schedule(clock):
    calls: list[int] = []

    def crash() -> None:
        calls.append(1)
        raise RuntimeError("boom")

    schedule = Schedule("s", "*/5 * * * *", crash, clock=clock)
    schedule.start()
    try:
        assert parked(clock)
        clock.advance(270)  # 12:05
        assert wait_for(lambda: len(calls) == 1)
        clock.advance(300)
        assert wait_for(lambda: len(calls) == 2)
    finally:
        schedule.stop()
        schedule.join(5)


def test_stop_wakes_a_waiting_schedule(clock):
    schedule = Schedule("s", "0 0 1 1 *", lambda: None, clock=clock)
    schedule.start()
    assert parked(clock)
    schedule.stop()
    assert schedule.join(2) and schedule.next_due is None


def test_a_scheduled_spec_runs_in_the_server_and_health_shows_it(serve, client, write_spec, tmp_path, clock):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "stock.csv").write_text("sku,qty\nA,1\nB,2\n")
    spec = write_spec("""
        version: 1
        name: stock-every-minute
        source: {type: local, path: in, pattern: "*.csv", on_success: {move_to: "done/{name}"}}
        parser: {type: csv}
        mapping:
          fields:
            sku: {source: sku}
            qty: {source: qty, resolver: int}
        target: {type: file, destination: {type: local, path: out}, name: "{run_id}.jsonl"}
        trigger: {schedule: "* * * * *"}
        """)
    server = serve(spec, clock=clock)
    assert parked(clock)
    health = client.get(server.url + "/health").json()["specs"][0]
    assert health["schedule"] == "* * * * *" and health["next_run"].startswith("2026-03-02T12:01:00")
    assert health["last_run"] is None and health["webhook"] is None
    clock.advance(30)
    out = tmp_path / "out"
    files = wait_for(lambda: out.is_dir() and list(out.glob("*.jsonl")))
    assert [json.loads(x) for x in files[0].read_text().splitlines()] == [
        {"sku": "A", "qty": 1},
        {"sku": "B", "qty": 2},
    ]
    last = wait_for(lambda: client.get(server.url + "/health").json()["specs"][0]["last_run"])
    assert last["status"] == "ok" and last["trigger"] == "schedule" and last["records"]["written"] == 2
    assert (tmp_path / "in" / "done" / "stock.csv").exists()


def test_runs_of_one_spec_never_overlap(write_spec, tmp_path):
    """A schedule and webhooks share the spec's lock: runs started together happen one after another."""
    from engine.serve.specs import ServedSpec

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "rows.csv").write_text("a\n" + "".join(f"{i}\n" for i in range(2000)))
    spec = ServedSpec.load(
        str(
            write_spec("""
        version: 1
        name: overlap
        source: {type: local, path: in}
        parser: {type: csv}
        target: {type: "null"}
        state: {dedupe: none}
        trigger: {schedule: "* * * * *"}
        """)
        )
    )
    reports = []
    threads = [
        threading.Thread(target=lambda: reports.append(spec.run(trigger="schedule"))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [r.status for r in reports] == ["ok"] * 4
    spans = sorted((r.started, r.ended) for r in reports)
    assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(spans))
