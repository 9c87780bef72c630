"""The ``local`` destination: permissions of published files, and directories it may not write.

Real ``engine run`` processes: the mode of a published file follows the
umask by default or ``mode:`` when given (set before the rename, so the file
never appears with other permissions); a read-only output directory (read-only
for root too, see tests/processes.py) is an error and a report, not a
traceback, and the input file stays for the next run.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from engine.runtime.report import EXIT_FAILED, EXIT_INVALID, EXIT_OK
from tests.processes import engine, read_only

SPEC = """
version: 1
name: modes
source: {type: local, path: inbox, on_success: {move_to: "processed/{name}"}}
parser: {type: csv}
target:
  type: file
  writer: jsonl
  per: item
  destination: {type: local, path: out%(mode)s}
"""


@pytest.fixture
def spec(tmp_path: Path):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.csv").write_text("sku,qty\nA,1\n")

    def make(mode: str | None = None) -> Path:
        path = tmp_path / "spec.yaml"
        path.write_text(SPEC % {"mode": f", mode: {mode}" if mode else ""})
        return path

    return make


@pytest.mark.parametrize(
    "mode,umask,expected",
    [
        (None, 0o022, 0o644),
        (None, 0o027, 0o640),
        ('"umask"', 0o002, 0o664),
        ('"0600"', 0o022, 0o600),
        ('"644"', 0o077, 0o644),
    ],
)
def test_published_files_get_the_umask_default_or_the_configured_mode(
    tmp_path: Path, spec, _state_dir: Path, mode: str | None, umask: int, expected: int
) -> None:
    result = engine("run", spec(mode), state=_state_dir, umask=umask)
    assert result.returncode == EXIT_OK, result.stderr
    published = tmp_path / "out" / "a.jsonl"
    assert stat.S_IMODE(published.stat().st_mode) == expected


@pytest.mark.parametrize(
    "mode,message",
    [
        ("0640", "target.destination.mode: expected a string, got integer 416"),
        (
            '"rw-r--r--"',
            "'rw-r--r--' is not a mode: write it in octal as a quoted string, e.g. '0640', or umask",
        ),
    ],
)
def test_a_mode_that_is_not_a_quoted_octal_string_fails_validation(
    tmp_path: Path, spec, _state_dir: Path, mode: str, message: str
) -> None:
    result = engine("validate", spec(mode), state=_state_dir)
    assert result.returncode == EXIT_INVALID and message in result.stdout


def test_a_read_only_output_directory_is_an_error_and_a_report_not_a_traceback(
    tmp_path: Path, spec, _state_dir: Path
) -> None:
    out = tmp_path / "out"
    read_only(out)
    path = spec()
    try:
        result = engine("run", path, "--format", "json", state=_state_dir)
    finally:
        out.chmod(0o755)
    report = json.loads(result.stdout)
    assert result.returncode == EXIT_FAILED and "Traceback" not in result.stderr
    assert report["error"] == (
        f"target.destination: cannot write a file in {out}: Permission denied "
        "(check that the directory exists and that this user may write to it)"
    )
    assert Path(report["report_path"]).exists()
    assert (tmp_path / "inbox" / "a.csv").exists(), "nothing delivered: the file waits for the next run"
    assert engine("run", path, state=_state_dir).returncode == EXIT_OK
    assert [p.name for p in out.iterdir()] == ["a.jsonl"]


def test_directories_given_as_environment_references_are_resolved_at_run_time(
    tmp_path: Path, _state_dir: Path
) -> None:
    (tmp_path / "drop").mkdir()
    (tmp_path / "drop" / "a.csv").write_text("sku,qty\nA,1\n")
    path = tmp_path / "spec.yaml"
    path.write_text(
        SPEC.replace("path: inbox", 'path: "${env:IN_DIR}"').replace(
            "path: out%(mode)s", 'path: "${env:OUT_DIR}"'
        )
    )
    result = engine("run", path, state=_state_dir, IN_DIR=str(tmp_path / "drop"), OUT_DIR=str(tmp_path / "o"))
    assert result.returncode == EXIT_OK, result.stderr
    assert json.loads((tmp_path / "o" / "a.jsonl").read_text()) == {"sku": "A", "qty": "1"}
    assert (tmp_path / "drop" / "processed" / "a.csv").exists()
