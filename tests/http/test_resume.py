"""A run killed while requests are in flight: the next run resumes after the settled prefix, and
records that may have been sent are resent only under their idempotency key, else rejected."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from tests.http.conftest import rejects
from tests.http.test_target import spec, write_rows

ROWS = 40


def kill_when_items(api, proc: subprocess.Popen, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(api.items) < count:
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "the run never got that far"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("keyed", [True, False], ids=["with-key", "without-key"])
def test_killed_run_resumes_without_applying_anything_twice(
    keyed, api, tmp_path, run_spec, monkeypatch
) -> None:
    write_rows(tmp_path, [(f"S{n:02d}", str(n), f"A-{n}") for n in range(ROWS)])
    target = {"path": "/items", "concurrency": 3, **({"idempotency_key": {}} if keyed else {})}
    path = tmp_path / "spec.yaml"
    path.write_text(spec(api, target))
    # every write is applied, then its answer is slow: the writes in flight at the kill were all applied
    api.fail("/items", 201, after_commit=True, delay=0.2, times=10_000)
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "run", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ENGINE_STATE_DIR": str(state)},
    )
    kill_when_items(api, proc, 12)
    api.faults.clear()
    monkeypatch.setenv("ENGINE_STATE_DIR", str(state))
    report = run_spec(path)
    assert report.status == "ok", report.error
    stored = Counter(i["sku"] for i in api.items.values())
    assert max(stored.values()) == 1  # nothing applied twice
    (item,) = report.items
    assert item.resumed_after  # the settled prefix was skipped
    if keyed:
        assert sorted(stored) == [f"S{n:02d}" for n in range(ROWS)] and not rejects(report)
        return
    refused = rejects(report)
    assert refused and all("an interrupted run was sending this record" in r["reasons"][0] for r in refused)
    unsent = {f"S{n:02d}" for n in range(ROWS)} - set(stored)
    assert {r["mapped"]["sku"] for r in refused} >= unsent  # every row is either applied or reported
