"""A job stored by an earlier run that Fluent no longer has is replaced, not a failed run.

``base_url: embedded`` starts a fresh emulator in every process, so the daily
job the first run stored is unknown to the second: the classic way a newcomer
met ``GET api/v4.1/job/1 answered 404`` on every run after the first of the day.
Each run here is a real ``engine`` process sharing one state directory.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from tests.processes import engine
from tests.targets.fluent._support import write_csv

SPEC = """
version: 1
name: daily-stock
connections:
  fluent: {type: fluent, base_url: embedded, retailer_id: "1"}
source: {type: local, path: data, pattern: "*.csv"}
parser: {type: csv}
mapping:
  fields:
    locationRef: {source: loc, required: true}
    skuRef: {source: sku, required: true}
    qty: {source: qty, resolver: int}
    type: {value: LAST_ON_HAND}
target:
  type: fluent.batch
  connection: fluent
  batch_size: 5
  job: {strategy: daily}
  poll: {interval: 20ms, max_interval: 100ms}
state: {dedupe: none}
"""


def _connector(tmp_path: Path) -> Path:
    rows = [[f"LOC-00{1 + i % 3}", f"SKU-{1 + i:04d}", i] for i in range(12)]
    write_csv(tmp_path / "data" / "stock.csv", ["loc", "sku", "qty"], rows)
    spec = tmp_path / "daily.yaml"
    spec.write_text(textwrap.dedent(SPEC).lstrip(), encoding="utf-8")
    return spec


def _run(spec: Path, state: Path, *args: str, **env: str) -> tuple[int, dict[str, Any]]:
    done = engine("run", spec, "--format", "json", "-q", *args, state=state, **env)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise AssertionError(
            f"exit {done.returncode}, no JSON report:\n{done.stdout}\n{done.stderr}"
        ) from None
    return done.returncode, report


def test_a_daily_job_on_the_embedded_emulator_runs_three_times_in_a_row(tmp_path: Path) -> None:
    spec, state = _connector(tmp_path), tmp_path / "state"
    reports = []
    for _ in range(3):
        code, report = _run(spec, state)
        assert code == 0, report["error"]
        assert report["records"]["written"] == 12
        reports.append(report)
    assert not [n for n in reports[0]["notes"] if "no longer exists" in n]
    for later in reports[1:]:
        assert any("today's job 1 no longer exists in Fluent" in n for n in later["notes"]), later["notes"]
        assert later["target"]["expired_jobs"] == 1
        assert later["target"]["jobs"] == 1


def test_a_replay_after_the_daily_job_vanished_sends_to_a_new_job(tmp_path: Path) -> None:
    spec, state = _connector(tmp_path), tmp_path / "state"
    code, _ = _run(spec, state)
    assert code == 0
    replay = tmp_path / "fixed.jsonl"
    entry = {
        "stage": "target",
        "lineage": {"file": "stock.csv", "row": 1},
        "original": {"loc": "LOC-001", "sku": "SKU-0001", "qty": "4"},
    }
    replay.write_text(json.dumps(entry) + "\n", encoding="utf-8")
    code, report = _run(spec, state, "--replay", str(replay))
    assert code == 0, report["error"]
    assert report["records"]["written"] == 1
    assert any("no longer exists" in n for n in report["notes"])


def test_a_resumed_file_whose_job_is_gone_counts_its_sent_batches_and_says_so(tmp_path: Path) -> None:
    spec, state = _connector(tmp_path), tmp_path / "state"
    # killed once all three batches were sent and checkpointed, before their results were read
    killed = engine("run", spec, "-q", state=state, ENGINE_FAILPOINTS="batch.after_checkpoint=3")
    assert killed.returncode == -9, killed.stderr
    code, report = _run(spec, state)
    assert code == 0, report["error"]
    assert report["items"][0]["resumed_after"] == 12
    assert report["records"]["written"] == 12
    assert report["target"]["batches"] == 0  # nothing sent twice
    gone = (
        "job 1 no longer exists in Fluent: the results of 3 batch(es) (12 records) sent by an interrupted run"
    )
    assert any(gone in n for n in report["notes"]), report["notes"]
