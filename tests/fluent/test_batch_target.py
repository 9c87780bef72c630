"""fluent.batch against the emulator over real HTTP, with injected faults."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from engine.runtime.report import EXIT_FAILED, EXIT_OK

SPEC = """
version: 1
name: batch-test
%(connections)s
source: {type: local, path: inbox, pattern: "*.csv"}
parser: {type: csv}
mapping:
  fields:
    locationRef: {source: loc, required: true}
    skuRef: {source: sku, required: true}
    qty: {source: qty, required: true, resolver: int}
    type: {source: type, default: LAST_ON_HAND}
target:
  type: fluent.batch
  connection: fluent
  batch_size: %(batch_size)s
  poll: {interval: 20ms, max_interval: 200ms}
  %(extra)s
on_error: {max_reject_ratio: 0.5}
"""


def rows(n: int, start: int = 0, kind: str = "LAST_ON_HAND") -> str:
    lines = ["loc,sku,qty,type"]
    for i in range(start, start + n):
        lines.append(f"LOC-00{1 + i % 5},SKU-{1 + (i // 5) % 50:04d},{i % 90},{kind}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def connector(tmp_path: Path, write_spec, fluent_block):
    def make(
        n: int = 40,
        *,
        batch_size: int = 10,
        extra: str = "",
        conn: dict | None = None,
        files: int = 1,
        kind: str = "LAST_ON_HAND",
    ) -> Path:
        inbox = tmp_path / "inbox"
        inbox.mkdir(exist_ok=True)
        for f in range(files):
            (inbox / f"stock_{f}.csv").write_text(rows(n, start=f * n, kind=kind))
        return write_spec(
            SPEC % {"connections": fluent_block(**(conn or {})), "batch_size": batch_size, "extra": extra}
        )

    return make


def batch_posts(emu) -> list[dict]:
    return [r for r in emu.requests(method="POST", path_regex=r"^/api/v4.1/job/[^/]+/batch$")]


def batches_by_job(emu) -> dict[str, int]:
    return dict(Counter(str(b["jobId"]) for b in emu.state("batches")))


def positions(emu) -> dict[tuple[str, str], int]:
    return {(p["productRef"], p["locationRef"]): p["onHand"] for p in emu.state("inventory_positions")}


def test_a_clean_run_sends_every_record_once_and_applies_it(emulator, connector, run_spec):
    report = run_spec(connector(40, batch_size=10))
    assert report.exit_code == EXIT_OK, report.error
    assert report.counts["written"] == 40 and report.counts["rejected"]["total"] == 0
    assert report.target["jobs"] == 1 and report.target["batches"] == 4
    assert len(batch_posts(emulator)) == 4
    pos = positions(emulator)
    assert pos[("SKU-0001", "LOC-001")] == 0 and pos[("SKU-0008", "LOC-005")] == 39


def test_per_record_failures_become_rejects_with_lineage(emulator, connector, run_spec, tmp_path):
    spec = connector(10, batch_size=10)
    csv = tmp_path / "inbox" / "stock_0.csv"
    text = csv.read_text().splitlines()
    text[3] = "LOC-404,SKU-0001,5,LAST_ON_HAND"
    text[7] = "LOC-001,SKU-9999,5,LAST_ON_HAND"
    csv.write_text("\n".join(text) + "\n")
    report = run_spec(spec)
    assert report.counts["written"] == 8 and report.counts["rejected"]["target"] == 2
    rejects = [json.loads(x) for x in Path(report.rejects_path).read_text().splitlines()]
    assert [(r["lineage"]["row"], r["lineage"]["line"]) for r in rejects] == [(3, 4), (7, 8)]
    assert rejects[0]["reasons"] == ["Fluent refused the entity (400): Unknown location LOC-404"]
    assert rejects[0]["mapped"]["locationRef"] == "LOC-404" and rejects[0]["original"]["loc"] == "LOC-404"
    assert rejects[1]["response"]["entityIndex"] == 6


def test_injected_per_record_failures(emulator, connector, run_spec):
    emulator.add_fault(
        {
            "match": {"method": "POST", "path_regex": "/batch$"},
            "when": {"nth": 1},
            "action": {"batch_fail_records": [0, 9]},
        }
    )
    report = run_spec(connector(20, batch_size=10))
    assert report.counts["rejected"]["target"] == 2 and report.counts["written"] == 18


def test_token_expiry_mid_run_is_renewed_once(emulator, connector, run_spec):
    emulator.add_fault(
        {"match": {"grant_type": "password"}, "when": {"nth": 1}, "action": {"expire_token_after": 1}}
    )
    emulator.add_fault(
        {
            "match": {"method": "POST", "path_regex": "/batch$"},
            "when": {"nth": 2},
            "action": {"delay_ms": 1500},
        }
    )
    report = run_spec(connector(40, batch_size=10))
    assert report.exit_code == EXIT_OK and report.counts["written"] == 40
    grants = emulator.requests(path="/oauth/token")
    assert 2 <= len(grants) <= 3
    assert any(r["status"] == 401 for r in emulator.requests(path_regex="^/api/"))
    assert len(batch_posts(emulator)) - sum(1 for r in batch_posts(emulator) if r["status"] == 401) == 4


def test_persistent_401_fails_fast_naming_the_connection(emulator, connector, run_spec):
    emulator.add_fault({"match": {"path_regex": "^/api/"}, "action": {"status": 401}})
    report = run_spec(connector(10))
    assert report.exit_code == EXIT_FAILED
    assert "fluent connection 'fluent'" in report.error and "401" in report.error
    api_calls = emulator.requests(path_regex="^/api/")
    assert len(api_calls) <= 2 and len(emulator.requests(path="/oauth/token")) <= 2


def test_bad_credentials_fail_with_a_clear_message(emulator, connector, run_spec):
    report = run_spec(connector(10, conn={"password": "wrong"}))
    assert report.exit_code == EXIT_FAILED
    assert "credentials refused" in report.error and "Bad credentials" in report.error
    assert "wrong" not in report.error


def test_429_with_retry_after_waits_then_completes(emulator, connector, run_spec):
    emulator.add_fault(
        {
            "match": {"method": "POST", "path_regex": "/batch$"},
            "when": {"nth": 1},
            "action": {"status": 429, "headers": {"Retry-After": "2"}},
        }
    )
    report = run_spec(connector(10, batch_size=10))
    assert report.exit_code == EXIT_OK and report.counts["written"] == 10
    posts = batch_posts(emulator)
    assert [p["status"] for p in posts] == [429, 200]
    gap = (
        datetime.fromisoformat(posts[1]["time"].replace("Z", "+00:00"))
        - datetime.fromisoformat(posts[0]["time"].replace("Z", "+00:00"))
    ).total_seconds()
    assert gap >= 2.0


def test_503_twice_then_success(emulator, connector, run_spec):
    emulator.add_fault(
        {
            "match": {"method": "GET", "path_regex": "/batch/"},
            "when": {"times": 2},
            "action": {"status": 503, "html": True},
        }
    )
    report = run_spec(connector(10, batch_size=10))
    assert report.exit_code == EXIT_OK and report.counts["written"] == 10
    assert report.target["retries"] >= 2


def test_503_after_commit_on_a_batch_post_is_not_sent_twice(emulator, connector, run_spec):
    emulator.add_fault(
        {
            "match": {"method": "POST", "path_regex": "/batch$"},
            "when": {"nth": 2},
            "action": {"status": 503, "after_commit": True},
        }
    )
    report = run_spec(connector(30, batch_size=10))
    assert report.exit_code == EXIT_OK and report.counts["written"] == 30
    assert list(batches_by_job(emulator).values()) == [3], "the committed batch was adopted, not resent"
    assert report.target["reconciled"] == 1


def test_a_write_that_did_not_commit_is_sent_again(emulator, connector, run_spec):
    emulator.add_fault(
        {"match": {"method": "POST", "path_regex": "/batch$"}, "when": {"nth": 1}, "action": {"status": 503}}
    )
    report = run_spec(connector(10, batch_size=10))
    assert report.exit_code == EXIT_OK
    assert list(batches_by_job(emulator).values()) == [1] and report.counts["written"] == 10


def test_job_expiry_mid_run_moves_to_a_new_job_without_loss_or_duplicates(emulator, connector, run_spec):
    before = positions(emulator)
    emulator.add_fault(
        {
            "match": {"method": "POST", "path_regex": "/batch$"},
            "when": {"nth": 3},
            "action": {"expire_job": "next"},
        }
    )
    report = run_spec(connector(50, batch_size=10, kind="DELTA"))
    assert report.exit_code == EXIT_OK and report.counts["written"] == 50
    assert len(emulator.state("jobs")) == 2 and report.target["expired_jobs"] == 1
    assert sum(batches_by_job(emulator).values()) == 5, "each batch accepted exactly once"
    expected = Counter()
    for i in range(50):
        expected[(f"SKU-{1 + (i // 5) % 50:04d}", f"LOC-00{1 + i % 5}")] += i % 90
    after = positions(emulator)
    for key, delta in expected.items():
        assert after[key] == before.get(key, 0) + delta, f"{key}: every DELTA applied exactly once"


def test_a_hung_response_times_out_and_the_run_completes(emulator, connector, run_spec):
    emulator.add_fault(
        {"match": {"method": "GET", "path_regex": "/batch/"}, "when": {"nth": 1}, "action": {"hang": True}}
    )
    report = run_spec(connector(10, batch_size=10, conn={"read_timeout": "1s"}))
    assert report.exit_code == EXIT_OK and report.counts["written"] == 10


def test_preprocessing_false_sets_the_documented_skip_flag(emulator, connector, run_spec):
    run_spec(connector(5, extra="preprocessing: false"))
    [job] = emulator.state("jobs")
    assert job["meta"] == {"preprocessing": "skip"}


def test_daily_jobs_are_reused_across_runs(emulator, connector, run_spec, tmp_path):
    spec = connector(5, extra="job: {strategy: daily}")
    run_spec(spec)
    (tmp_path / "inbox" / "stock_1.csv").write_text(rows(5, start=100))
    run_spec(spec)
    assert len(emulator.state("jobs")) == 1 and list(batches_by_job(emulator).values()) == [2]


def test_per_file_jobs(emulator, connector, run_spec):
    report = run_spec(connector(5, files=3, extra="job: {strategy: per_file}"))
    assert report.target["jobs"] == 3 and report.counts["written"] == 15


@pytest.mark.parametrize(
    "option,message",
    [
        ("action: DELETE", "the Batch API only accepts UPSERT of INVENTORY, got 'DELETE'"),
        ("entity_type: PRODUCT", "the Batch API only accepts INVENTORY, got 'PRODUCT'"),
    ],
)
def test_anything_but_inventory_upsert_is_a_validation_error(connector, option, message, cli):
    result = cli("validate", str(connector(extra=option)))
    assert result.exit_code == 2 and message in result.output


def test_batch_size_above_5000_is_a_validation_error(connector, cli):
    result = cli("validate", str(connector(batch_size=6000)))
    assert result.exit_code == 2 and "batch_size must be between 1 and 5000" in result.output
