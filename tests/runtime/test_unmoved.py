"""A file whose move fails after delivery is never delivered again.

Real ``engine run`` processes against a real read-only ``processed/``
directory (enforced for root too, see tests/processes.py): the file is
delivered once, recorded ``unmoved`` with what to do, skipped by later runs
whatever ``dedupe`` says, and moved by the first run after the cause is fixed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.runtime.report import EXIT_FAILED, EXIT_INVALID, EXIT_OK
from tests.processes import engine, read_only

SPEC = """
version: 1
name: moves
source:
  type: local
  path: inbox
  pattern: "stock_*.csv"
  on_success: {move_to: "%(move_to)s"}
  on_failure: {move_to: "errors/{name}"}
parser: {type: csv}
target:
  type: file
  writer: jsonl
  per: item
  destination: {type: local, path: out, if_exists: suffix}
state: {dedupe: %(dedupe)s}
"""


@pytest.fixture
def spec(tmp_path: Path):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "stock_1.csv").write_text("sku,qty\nA,1\n")

    def make(move_to: str = "processed/{name}", dedupe: str = "fingerprint") -> Path:
        path = tmp_path / "spec.yaml"
        path.write_text(SPEC % {"move_to": move_to, "dedupe": dedupe})
        return path

    return make


@pytest.mark.parametrize("dedupe", ["fingerprint", "name", "checksum", "none"])
def test_a_read_only_processed_dir_delivers_once_and_says_what_to_do(
    tmp_path: Path, spec, _state_dir: Path, dedupe: str
) -> None:
    processed = tmp_path / "inbox" / "processed"
    read_only(processed)
    path = spec(dedupe=dedupe)
    try:
        runs = [engine("run", path, "--format", "json", state=_state_dir) for _ in range(3)]
    finally:
        processed.chmod(0o755)

    assert [r.returncode for r in runs] == [EXIT_FAILED] * 3
    assert all("Traceback" not in r.stderr for r in runs)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["stock_1.jsonl"], "delivered exactly once"
    first, *later = [json.loads(r.stdout) for r in runs]
    (item,) = first["items"]
    assert item["status"] == "unmoved" and first["records"]["written"] == 1
    assert item["reason"].startswith(
        f"delivered by run {first['run_id']} but not moved: stock_1.csv: cannot move"
    )
    assert "Permission denied" in item["reason"] and "it is not sent again; fix the cause" in item["reason"]
    assert "delivered but not moved" in first["error"]
    for report in later:
        assert report["records"]["read"] == 0 and report["items"][0]["status"] == "unmoved"
    files = engine("state", "files", path, state=_state_dir).stdout
    assert "unmoved" in files and "not sent again" in files

    fixed = json.loads(engine("run", path, "--format", "json", state=_state_dir).stdout)
    assert fixed["exit_code"] == EXIT_OK and fixed["records"]["read"] == 0
    assert "moved now (it was not sent again)" in fixed["items"][0]["reason"]
    assert (processed / "stock_1.csv").exists() and not (tmp_path / "inbox" / "stock_1.csv").exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["stock_1.jsonl"]
    assert " done " in engine("state", "files", path, state=_state_dir).stdout


def test_a_changed_file_under_the_same_name_is_new_work(tmp_path: Path, spec, _state_dir: Path) -> None:
    processed = tmp_path / "inbox" / "processed"
    read_only(processed)
    path = spec()
    try:
        assert engine("run", path, state=_state_dir).returncode == EXIT_FAILED
        (tmp_path / "inbox" / "stock_1.csv").write_text("sku,qty\nA,1\nB,2\n")
        again = json.loads(engine("run", path, "--format", "json", state=_state_dir).stdout)
    finally:
        processed.chmod(0o755)
    assert again["records"]["written"] == 2, "new content is delivered (and again left unmoved)"


@pytest.mark.parametrize(
    "move_to,message",
    [
        ("../outside/{name}", "'../outside/{name}' leads outside its directory ('..' is not allowed)"),
        ("processed/../../{name}", "'processed/../../{name}' leads outside its directory"),
        ("/tmp/{name}", "'/tmp/{name}' is an absolute path; it must be relative to its directory"),
    ],
)
def test_a_move_to_that_escapes_fails_validation_before_any_delivery(
    tmp_path: Path, spec, _state_dir: Path, move_to: str, message: str
) -> None:
    path = spec(move_to=move_to)
    checked = engine("validate", path, state=_state_dir)
    assert checked.returncode == EXIT_INVALID
    assert f"spec.yaml:8:25 source.on_success.move_to: {message}" in checked.stdout
    run = engine("run", path, state=_state_dir)
    assert run.returncode == EXIT_INVALID and not (tmp_path / "out").exists()
