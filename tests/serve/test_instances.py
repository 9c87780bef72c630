"""Several ``engine serve`` instances sharing one PostgreSQL store: schedules fire once, bodies are never lost."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from engine.serve import ServeOptions, Server, load_specs
from engine.serve.clock import ManualClock
from tests.serve.conftest import wait_for

SCHEDULED = """
version: 1
name: every
source: {type: local, path: inbox, pattern: "*.csv", on_success: {move_to: "done/{name}"}}
parser: {type: csv}
target: {type: "null"}
state:
  store: {type: postgres, dsn: "${env:ENGINE_STATE_DSN}"}
trigger: {schedule: "%(cron)s"}
"""

HOOK = """
version: 1
name: hook
source: {type: payload}
parser: {type: json}
mapping: {fields: {ref: {source: ref, required: true}}}
target: {type: file, destination: {type: local, path: out}, name: "{run_id}.jsonl"}
state:
  store: {type: postgres, dsn: "${env:ENGINE_STATE_DSN}"}
trigger:
  webhook: {path: /in, response: async, auth: {type: api_key, api_key: "${env:HOOK_KEY}"}}
"""
KEY = "hook-key-0123456789abcdef"


def _runs(pg_server, name: str) -> list[dict]:
    rows = pg_server.execute(
        pg_server.test_dsn, "SELECT run_id, status, started FROM engine.runs WHERE connector=%s", name
    )
    return [{"run_id": r[0], "status": r[1], "started": r[2]} for r in rows]


def test_two_instances_run_each_due_time_of_an_every_minute_schedule_once(pg_server, tmp_path) -> None:
    (tmp_path / "inbox").mkdir()
    spec = tmp_path / "every.yaml"
    spec.write_text(SCHEDULED % {"cron": "* * * * *"})
    start = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)
    clocks = [ManualClock(start), ManualClock(start)]  # two hosts whose clocks agree
    servers = [
        Server(load_specs([str(spec)]), ServeOptions(port=0, clock=clock, shutdown_timeout=10)).start()
        for clock in clocks
    ]
    try:
        assert wait_for(lambda: all(c.waiters for c in clocks))
        for minute in range(1, 4):
            for clock in clocks:
                clock.set(start.replace(second=0) + timedelta(minutes=minute))
            assert wait_for(
                lambda m=minute: len(_runs(pg_server, "every")) == m and all(c.waiters for c in clocks)
            )
        time.sleep(0.3)
        assert len(_runs(pg_server, "every")) == 3, "three runs, not six"
        health = [httpx.get(s.url + "/health", timeout=10).json() for s in servers]
        counted = [h["specs"][0]["scheduled_runs"] for h in health]
        assert sum(c["here"] for c in counted) == 3 and all(c["here"] + c["elsewhere"] == 3 for c in counted)
        assert {h["instance"]["id"] for h in health} == {s.instance.id for s in servers}
        assert health[0]["specs"][0]["store"] == "shared"

        servers.pop(0).stop()  # one instance goes away; the other keeps the schedule
        clocks[1].set(start.replace(second=0) + timedelta(minutes=4))
        assert wait_for(lambda: len(_runs(pg_server, "every")) == 4)
    finally:
        for server in servers:
            server.stop()


def _serve(tmp_path: Path, name: str, spec: Path, **env: str) -> tuple[subprocess.Popen, str, Path]:
    home = tmp_path / name
    home.mkdir()
    log = home / "serve.log"
    environ = {**os.environ, "ENGINE_STATE_DIR": str(home / "state"), "HOOK_KEY": KEY, **env}
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine", "serve", str(spec), "--port", "0", "--log-level", "info"],
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=home,
        )
    found = wait_for(lambda: re.search(r"serving url=(\S+)", log.read_text()), timeout=30)
    if not found:
        proc.kill()
        raise AssertionError(f"engine serve did not start: {log.read_text()[-2000:]}")
    return proc, found.group(1), log


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
def test_two_serve_processes_fire_each_due_time_once_and_one_killed_changes_nothing(
    pg_server, tmp_path
) -> None:
    (tmp_path / "inbox").mkdir()
    spec = tmp_path / "every.yaml"
    spec.write_text(SCHEDULED % {"cron": "* * * * * */2"})  # every 2 seconds (a sixth field: seconds)
    first, _, first_log = _serve(tmp_path, "a", spec)
    second, _, second_log = _serve(tmp_path, "b", spec)
    try:
        assert wait_for(lambda: len(_runs(pg_server, "every")) >= 4, timeout=30)
        first.send_signal(signal.SIGKILL)  # a host dies
        first.wait(10)
        seen = len(_runs(pg_server, "every"))
        assert wait_for(lambda: len(_runs(pg_server, "every")) >= seen + 4, timeout=30)
    finally:
        _stop(second)
        _stop(first)
    due = pg_server.execute(
        pg_server.test_dsn, "SELECT uri, status FROM engine.ledger WHERE connector=%s", "every#schedule"
    )
    runs = _runs(pg_server, "every")
    assert len(runs) == len(due), "one run per due time"
    seconds = Counter(r["started"].replace(microsecond=0) for r in runs)  # each due second, one run
    assert max(seconds.values()) == 1, seconds
    assert "scheduled time taken by another instance" in first_log.read_text() + second_log.read_text()


@pytest.mark.slow
def test_a_body_accepted_by_an_instance_killed_after_its_202_is_run_by_another(pg_server, tmp_path) -> None:
    spec = tmp_path / "hook.yaml"
    spec.write_text(HOOK)
    # the first instance dies in the middle of the run it starts for the body (after answering 202)
    doomed, doomed_url, _ = _serve(tmp_path, "a", spec, ENGINE_FAILPOINTS="chunk.done=1")
    survivor = None
    try:
        answer = httpx.post(
            doomed_url + "/in", content=b'{"ref": "R-1"}', headers={"x-api-key": KEY}, timeout=20
        )
        assert answer.status_code == 202
        run_id = answer.json()["run_id"]
        assert doomed.wait(20) == -signal.SIGKILL
        survivor, survivor_url, _ = _serve(tmp_path, "b", spec)
        out = tmp_path / "out"

        def delivered() -> list[str]:
            files = sorted(out.glob("*.jsonl")) if out.is_dir() else []
            return [json.loads(line)["ref"] for f in files for line in f.read_text().splitlines()]

        assert wait_for(lambda: delivered() == ["R-1"], timeout=30), "the other instance ran the body"
        health = wait_for(
            lambda: (
                (h := httpx.get(survivor_url + "/health", timeout=10).json())["specs"][0]["last_run"] and h
            )
        )
        assert health["specs"][0]["last_run"]["run_id"] == run_id, "under the run id the 202 promised"
        assert health["specs"][0]["payloads"] == {"pending": 0, "failed": 0}
        time.sleep(1.5)
        assert delivered() == ["R-1"], "once"
    finally:
        if survivor is not None:
            _stop(survivor)
        _stop(doomed)


def test_a_body_whose_runs_keep_failing_is_retried_then_kept_for_a_person(
    pg_server, tmp_path, monkeypatch
) -> None:
    (tmp_path / "blocked").write_text("a file where the output directory should be")
    spec = tmp_path / "hook.yaml"
    spec.write_text(
        HOOK.replace("path: out}", "path: blocked}").replace(
            "state:\n", "state:\n  retry: {max_attempts: 2, backoff: 0s}\n"
        )
    )
    monkeypatch.setenv("HOOK_KEY", KEY)
    server = Server(load_specs([str(spec)]), ServeOptions(port=0, shutdown_timeout=10)).start()
    try:
        answer = httpx.post(
            server.url + "/in", content=b'{"ref": "F-1"}', headers={"x-api-key": KEY}, timeout=20
        )
        assert answer.status_code == 202
        run_id = answer.json()["run_id"]

        def payloads() -> dict:
            return httpx.get(server.url + "/health", timeout=10).json()["specs"][0]["payloads"]

        assert wait_for(lambda: payloads() == {"pending": 0, "failed": 1}, timeout=30), payloads()
        runs = sorted(r["run_id"] for r in _runs(pg_server, "hook"))
        assert runs == [run_id, f"{run_id}-2"], "tried twice (state.retry.max_attempts), by any instance"
        kept = tmp_path / "state" / "payloads" / "hook" / "failed" / f"{run_id}.json"
        assert kept.read_bytes() == b'{"ref": "F-1"}', "a copy for engine run --payload"
        failure = pg_server.execute(pg_server.test_dsn, "SELECT status, failure FROM engine.spool")
        assert failure[0][0] == "failed" and json.loads(failure[0][1])["status"] == "failed"
    finally:
        server.stop()
