"""Locks between processes, retry schedules, quarantine and replay of rejects."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.runtime.report import EXIT_FAILED, EXIT_OK, EXIT_REJECTS

SPEC = """
version: 1
name: state-test
source:
  type: local
  path: inbox
  pattern: "*.csv"
  on_success: {move_to: "processed/{name}"}
  on_failure: {move_to: "errors/{name}"}
parser: {type: csv}
mapping:
  fields:
    sku: {source: sku, required: true}
    qty: {source: qty, required: true, resolver: int}
target:
  type: file
  writer: jsonl
  destination: {type: local, path: out, if_exists: suffix}
%(extra)s
"""


@pytest.fixture
def spec(tmp_path: Path, write_spec):
    (tmp_path / "inbox").mkdir()

    def make(extra: str = "") -> Path:
        if "on_error" not in extra:
            extra += "\non_error: {max_reject_ratio: 0.5}"
        return write_spec(SPEC % {"extra": extra})

    return make


def test_two_processes_started_together_exactly_one_runs(tmp_path: Path, spec, _state_dir) -> None:
    rows = "".join(f"S{i},{i % 100}\n" for i in range(400_000))
    (tmp_path / "inbox" / "big.csv").write_text("sku,qty\n" + rows)
    path = spec()
    cmd = [sys.executable, "-m", "engine", "run", str(path), "--quiet", "--format", "json"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = []
    for p in procs:
        out, _err = p.communicate(timeout=120)
        results.append((p.returncode, json.loads(out)))
    statuses = sorted(r["status"] for _, r in results)
    assert statuses == ["locked", "ok"], results
    code, locked = next((c, r) for c, r in results if r["status"] == "locked")
    assert code == EXIT_OK
    assert "another run of 'state-test' is in progress (held by" in locked["error"]


def test_fail_if_locked_exits_1(tmp_path, spec, cli) -> None:
    from engine.spec.compile import compile_file

    path = spec()
    plan = compile_file(path)
    store = plan.state_store
    store.open_at(store.locate(Path(plan.base_dir)))
    store.lock_acquire("state-test", "otherhost:1:run", 600, host="otherhost", pid=1)
    store.close()
    result = cli("run", str(path), "--fail-if-locked", "--quiet")
    assert result.exit_code == EXIT_FAILED and "held by otherhost pid 1" in result.output


def test_a_crashed_runs_lock_is_taken_over_at_once(tmp_path, spec, run_spec) -> None:
    import socket

    from engine.spec.compile import compile_file

    path = spec()
    plan = compile_file(path)
    store = plan.state_store
    store.open_at(store.locate(Path(plan.base_dir)))
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(dead.stdout)
    store.lock_acquire(
        "state-test", f"{socket.gethostname()}:{pid}:old", 600, host=socket.gethostname(), pid=pid
    )
    store.close()
    assert run_spec(path).status == "ok"


def test_replay_sends_corrected_rejects_through_mapping_and_target(tmp_path, spec, run_spec) -> None:
    (tmp_path / "inbox" / "a.csv").write_text("sku,qty\nA,1\nB,ten\nC,3\nD\n")
    report = run_spec(spec())
    assert report.counts["rejected"]["total"] == 2
    rejects = Path(report.rejects_path)
    entries = [json.loads(line) for line in rejects.read_text().splitlines()]
    for e in entries:  # what a person fixing the data does
        if e["original"].get("qty") == "ten":
            e["original"]["qty"] = "10"
        if e["original"].get("sku") == "D":
            e["original"] = {"sku": "D", "qty": "4"}
    rejects.write_text("".join(json.dumps(e) + "\n" for e in entries))
    again = run_spec(spec(), replay=rejects)
    assert again.exit_code == EXIT_OK and again.counts["written"] == 2 and again.replayed["records"] == 2
    outputs = sorted((tmp_path / "out").iterdir(), key=lambda p: p.stat().st_mtime_ns)
    replayed = [json.loads(x) for x in outputs[-1].read_text().splitlines()]
    assert sorted(r["sku"] for r in replayed) == ["B", "D"] and {r["qty"] for r in replayed} == {10, 4}


def test_replay_of_still_bad_records_rejects_them_again_with_the_same_row(tmp_path, spec, run_spec) -> None:
    (tmp_path / "inbox" / "a.csv").write_text("sku,qty\nA,1\nB,ten\n")
    report = run_spec(spec("on_error: {max_reject_ratio: 0.5, rejects: {format: csv}}"))
    again = run_spec(
        spec("on_error: {max_reject_ratio: 0.5, rejects: {format: csv}}"), replay=Path(report.rejects_path)
    )
    assert again.exit_code == EXIT_REJECTS and again.counts["rejected"]["mapping"] == 1
    import csv

    rows = list(csv.reader(Path(again.rejects_path).read_text().splitlines()))
    assert rows[0] == ["sku", "qty", "_extra", "_file", "_row", "_line", "_stage", "_reason", "_raw"]
    assert rows[1][:3] == ["B", "ten", ""]
    assert rows[1][3:8] == [
        "a.csv",
        "2",
        "3",
        "mapping",
        "qty: 'ten' is not an integer (resolver int, source qty)",
    ]


def test_failed_files_wait_for_their_retry_then_get_quarantined(
    tmp_path, spec, run_spec, monkeypatch
) -> None:
    from engine.errors import TransientTargetError
    from engine.targets import file as file_target

    (tmp_path / "inbox" / "a.csv").write_text("sku,qty\nA,1\n")
    path = spec("state: {retry: {max_attempts: 2, backoff: 0}}")

    def broken(self, batch):
        raise TransientTargetError("the destination is down")

    monkeypatch.setattr(file_target.FileTarget, "write", broken)
    first = run_spec(path)
    assert first.exit_code == EXIT_FAILED and (tmp_path / "inbox" / "a.csv").exists()
    second = run_spec(path)
    assert second.items[0].status == "failed" and "gave up after 2 attempts" in second.items[0].reason
    assert (tmp_path / "inbox" / "errors" / "a.csv").exists()


def test_a_failed_file_is_not_retried_before_its_backoff(tmp_path, spec, run_spec, monkeypatch, cli) -> None:
    from engine.errors import TransientTargetError
    from engine.targets import file as file_target

    (tmp_path / "inbox" / "a.csv").write_text("sku,qty\nA,1\n")
    path = spec("state: {retry: {max_attempts: 5, backoff: 1h}}")
    original = file_target.FileTarget.write
    monkeypatch.setattr(
        file_target.FileTarget, "write", lambda self, b: (_ for _ in ()).throw(TransientTargetError("down"))
    )
    run_spec(path)
    assert run_spec(path).items[0].status == "failed", "a first failure is retried by the next run"
    monkeypatch.setattr(file_target.FileTarget, "write", original)
    waiting = run_spec(path)
    assert waiting.items[0].status == "skipped" and "next attempt after" in waiting.items[0].reason
    assert "will be processed again" in cli("state", "retry", str(path), "a.csv").output
    assert run_spec(path).items[0].status == "done"


def test_state_runs_and_files_commands_show_history(tmp_path, spec, run_spec, cli) -> None:
    (tmp_path / "inbox" / "a.csv").write_text("sku,qty\nA,1\n")
    path = spec()
    report = run_spec(path)
    runs = cli("state", "runs", str(path)).output
    assert report.run_id in runs and "ok" in runs and "read=1 written=1" in runs
    assert "done" in cli("state", "files", str(path)).output
    show = cli("state", "show", str(path)).output
    assert "files:     1 done" in show and "lock:      free" in show


def test_a_run_whose_output_cannot_be_published_leaves_its_files_for_the_next_run(
    tmp_path, spec, run_spec
) -> None:
    (tmp_path / "inbox" / "a.csv").write_text("sku,qty\nA,1\n")
    (tmp_path / "out").mkdir()
    path = spec()
    text = (
        path.read_text()
        .replace("if_exists: suffix", "if_exists: fail")
        .replace(
            "destination: {type: local, path: out, if_exists: fail}",
            'destination: {type: local, path: out, if_exists: fail}\n  name: "fixed.jsonl"',
        )
    )
    path.write_text(text)
    (tmp_path / "out" / "fixed.jsonl").write_text("taken\n")
    failed = run_spec(path)
    assert failed.exit_code == EXIT_FAILED and failed.items[0].status == "failed"
    assert (tmp_path / "inbox" / "a.csv").exists()
    (tmp_path / "out" / "fixed.jsonl").unlink()
    again = run_spec(path)  # same process, like engine serve: no stale claim blocks it
    assert again.exit_code == EXIT_OK and again.items[0].status == "done"
