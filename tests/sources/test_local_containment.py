"""The ``local`` source never reads or moves anything outside its directory.

Real symbolic links, real ``engine run`` processes: a link planted in the
inbox that leads to a secret elsewhere is refused as a per-file failure (the
secret is never opened), a link inside the directory is read through, a
link in the way of a move is never followed, and odd but legal names are
processed and moved like any other.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from engine.runtime.report import EXIT_FAILED, EXIT_OK, EXIT_REJECTS
from engine.sources import _inside
from tests.processes import engine

SPEC = """
version: 1
name: inbox
source:
  type: local
  path: inbox
  pattern: "stock_*.csv"
  on_success: {move_to: "processed/{name}"}
  on_failure: {move_to: "errors/{name}"}
parser: {type: csv, delimiter: ":"}
target:
  type: file
  writer: jsonl
  per: item
  destination: {type: local, path: out}
%(state)s
"""

SHADOW = "root:$6$s3cr3tHash$Zm9vYmFy:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"


@pytest.fixture
def spec(tmp_path: Path):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "stock_1.csv").write_text("sku:qty\nA:1\n")

    def make(state: str = "") -> Path:
        path = tmp_path / "spec.yaml"
        path.write_text(SPEC % {"state": state})
        return path

    return make


def _outputs(tmp_path: Path) -> str:
    out = tmp_path / "out"
    return "".join(p.read_text() for p in sorted(out.iterdir())) if out.exists() else ""


@pytest.mark.parametrize("dedupe", ["fingerprint", "checksum"])
def test_a_link_to_a_secret_outside_is_refused_per_file_and_never_read(
    tmp_path: Path, spec, _state_dir: Path, dedupe: str
) -> None:
    secret = tmp_path / "etc" / "shadow"  # the attack linked /etc/shadow; any file outside will do
    secret.parent.mkdir()
    secret.write_text(SHADOW)
    os.symlink(secret, tmp_path / "inbox" / "stock_2.csv")
    result = engine("run", spec(f"state: {{dedupe: {dedupe}}}"), "--format", "json", state=_state_dir)
    report = json.loads(result.stdout)

    assert result.returncode == EXIT_REJECTS and "Traceback" not in result.stderr
    items = {i["name"]: i for i in report["items"]}
    assert items["stock_1.csv"]["status"] == "done"
    refused = items["stock_2.csv"]
    assert refused["status"] == "failed"
    assert refused["reason"].startswith(
        f"stock_2.csv: a symbolic link to {secret}, outside the source directory"
    )
    assert "not read" in refused["reason"]
    assert "s3cr3tHash" not in _outputs(tmp_path) + result.stdout + result.stderr
    assert '"sku":"A"' in _outputs(tmp_path)
    moved = tmp_path / "inbox" / "errors" / "stock_2.csv"
    assert moved.is_symlink() and os.readlink(moved) == str(secret), "the link itself is quarantined"
    assert secret.read_text() == SHADOW
    again = engine("run", spec(), "--format", "json", state=_state_dir)
    assert again.returncode == EXIT_OK, "the next run finds nothing left to refuse"


def test_a_link_to_a_file_inside_the_directory_is_read_through(tmp_path: Path, spec, _state_dir) -> None:
    real = tmp_path / "inbox" / "archive" / "real.csv"
    real.parent.mkdir()
    real.write_text("sku:qty\nB:2\n")
    os.symlink("archive/real.csv", tmp_path / "inbox" / "stock_2.csv")
    result = engine("run", spec(), "--format", "json", state=_state_dir)
    assert result.returncode == EXIT_OK, result.stderr
    assert '"sku":"B"' in _outputs(tmp_path)


def test_a_move_never_follows_a_link_out_of_the_directory(tmp_path: Path, spec, _state_dir) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, tmp_path / "inbox" / "processed")
    result = engine("run", spec(), "--format", "json", state=_state_dir)
    report = json.loads(result.stdout)

    assert result.returncode == EXIT_FAILED and "Traceback" not in result.stderr
    assert list(elsewhere.iterdir()) == [], "nothing was moved through the link"
    (item,) = report["items"]
    assert item["status"] == "unmoved" and "a symbolic link (or a file) is in the way" in item["reason"]
    assert (tmp_path / "inbox" / "stock_1.csv").exists()


def test_odd_but_legal_names_are_processed_and_moved(tmp_path: Path, spec, _state_dir) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "stock_a..\\..\\x.csv").write_text("sku:qty\nC:3\n")
    (inbox / "stock_2\n  done: forged.csv").write_text("sku:sku\nD:4\n")  # a duplicate header: it fails
    first = engine("run", spec(), state=_state_dir)
    assert first.returncode == EXIT_REJECTS, first.stderr
    summary = first.stderr.splitlines()
    assert not [line for line in summary if line.lstrip().startswith("done: forged")], "no forged line"
    assert "  failed: 'stock_2\\n  done: forged.csv': " in first.stderr
    ledger = engine("state", "files", spec(), state=_state_dir).stdout.splitlines()
    assert len(ledger) == 3 and any("'stock_2\\n  done: forged.csv'" in line for line in ledger)
    assert (inbox / "processed" / "stock_a..\\..\\x.csv").exists()
    assert (inbox / "errors" / "stock_2\n  done: forged.csv").exists()
    assert (tmp_path / "out" / "stock_a..\\..\\x.jsonl").exists()
    assert engine("run", spec(), state=_state_dir).returncode == EXIT_OK, "nothing is left to fail every run"


def test_a_link_swapped_into_the_path_after_listing_stops_the_read(tmp_path: Path) -> None:
    base = tmp_path / "inbox"
    (base / "sub").mkdir(parents=True)
    (base / "sub" / "a.csv").write_text("x\n")
    assert _inside.open_file(str(base), "sub/a.csv").read() == b"x\n"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.csv").write_text("secret\n")
    (base / "sub" / "a.csv").unlink()
    (base / "sub").rmdir()
    os.symlink(outside, base / "sub")
    with pytest.raises(OSError) as caught:
        _inside.open_file(str(base), "sub/a.csv")
    assert caught.value.errno in _inside.LINK_ERRNOS
    os.symlink(outside / "a.csv", base / "b.csv")
    with pytest.raises(OSError) as caught:
        _inside.open_file(str(base), "b.csv")
    assert caught.value.errno == errno.ELOOP
