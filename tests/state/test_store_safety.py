"""A damaged, vanished or replaced state store never leads to a file processed twice.

Real files and real ``engine run`` processes: an empty (0-byte) or foreign
``state.db`` stops the run before anything is read, ``engine state``
explains instead of crashing and ``clear --force`` repairs; deleting the
state directory under a running run makes that run stop without publishing,
so a second run started on a fresh store publishes the only output; runs
killed mid-way are shown as ``crashed``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.errors import CorruptStateError, StateError
from engine.plan import LockPolicy
from engine.runtime.locking import RunLock
from engine.runtime.logs import Log
from engine.runtime.report import EXIT_FAILED, EXIT_OK
from engine.state.sqlite import SqliteOptions, SqliteStateStore
from tests.processes import engine

SPEC = """
version: 1
name: store
source:
  type: local
  path: inbox
  pattern: "*.csv"
parser: {type: csv}
target:
  type: file
  writer: jsonl
  per: %(per)s
  destination: {type: local, path: out, if_exists: suffix}
"""


@pytest.fixture
def spec(tmp_path: Path):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.csv").write_text("sku,qty\nA,1\n")

    def make(per: str = "item") -> Path:
        path = tmp_path / "spec.yaml"
        path.write_text(SPEC % {"per": per})
        return path

    return make


def _outputs(tmp_path: Path) -> list[str]:
    out = tmp_path / "out"
    return sorted(p.name for p in out.iterdir()) if out.exists() else []


@pytest.mark.parametrize(
    "damage,found",
    [
        (b"", "is empty (0 bytes): it was truncated or replaced"),
        (b"not a database, just text\n" * 8, "is not an SQLite database"),
    ],
)
def test_a_damaged_store_stops_the_run_and_state_commands_explain_and_repair(
    tmp_path: Path, spec, _state_dir: Path, damage: bytes, found: str
) -> None:
    path = spec()
    assert engine("run", path, state=_state_dir).returncode == EXIT_OK
    assert _outputs(tmp_path) == ["a.jsonl"]
    db = _state_dir / "state.db"
    for journal in (_state_dir / "state.db-wal", _state_dir / "state.db-shm"):
        journal.unlink(missing_ok=True)
    db.write_bytes(damage)

    refused = engine("run", path, "--format", "json", state=_state_dir)
    report = json.loads(refused.stdout)
    assert refused.returncode == EXIT_FAILED and report["status"] == "failed"
    assert f"state store {db} {found}" in report["error"]
    assert "engine state clear SPEC --force" in report["error"]
    assert _outputs(tmp_path) == ["a.jsonl"], "the finished file was not processed again"

    for command in ("show", "files", "runs", "clear", "retry"):
        args = ("state", command, path, *(["a.csv"] if command == "retry" else []))
        explained = engine(*args, state=_state_dir)
        assert explained.returncode == EXIT_FAILED, command
        assert "Traceback" not in explained.stderr
        assert f"state store {db} {found}" in explained.stderr
        assert (
            "what to do: restore it from a backup, or run `engine state clear SPEC --force`"
            in explained.stderr
        )
    assert db.read_bytes() == damage, "nothing but clear --force touches it"

    repaired = engine("state", "clear", path, "--force", "--yes", state=_state_dir)
    assert repaired.returncode == EXIT_OK and "moved the damaged store aside to" in repaired.stdout
    (aside,) = _state_dir.glob("state.db.broken-*")
    assert aside.read_bytes() == damage
    assert engine("run", path, state=_state_dir).returncode == EXIT_OK


def test_processes_creating_a_store_together_never_see_it_half_made(tmp_path: Path) -> None:
    """A new store appears complete, so an empty file can always be called damage."""
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from engine.state.sqlite import SqliteOptions, SqliteStateStore\n"
        "go = Path(sys.argv[1]) / 'go'\n"
        "(Path(sys.argv[1]) / ('ready-' + sys.argv[3])).touch()\n"
        "while not go.exists():\n"
        "    time.sleep(0.001)\n"
        "store = SqliteStateStore(SqliteOptions(None))\n"
        "store.open_at(Path(sys.argv[2]))\n"
        "store.close()\n"
    )
    for attempt in range(3):
        where = tmp_path / f"try{attempt}"
        where.mkdir()
        db = where / "state" / "state.db"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, str(where), str(db), str(n)], stderr=subprocess.PIPE, text=True
            )
            for n in range(6)
        ]
        deadline = time.monotonic() + 60
        while len(list(where.glob("ready-*"))) < len(procs) and time.monotonic() < deadline:
            time.sleep(0.01)
        (where / "go").touch()
        errors = [p.communicate(timeout=60)[1] for p in procs]
        assert [p.returncode for p in procs] == [0] * len(procs), errors
        assert not list(db.parent.glob(".state.db.*")), "no temporary file is left behind"


def test_a_run_whose_state_directory_is_deleted_stops_without_publishing(
    tmp_path: Path, spec, _state_dir: Path
) -> None:
    rows = "".join(f"S{i},{i % 100}\n" for i in range(300_000))
    (tmp_path / "inbox" / "a.csv").write_text("sku,qty\n" + rows)
    path = spec(per="run")
    env = {"ENGINE_STATE_DIR": str(_state_dir)}
    first = subprocess.Popen(
        [sys.executable, "-m", "engine", "run", str(path), "--format", "json", "--log-level", "info"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert first.stderr is not None
    for line in first.stderr:
        if "run started" in line:
            break
    shutil.rmtree(_state_dir)  # what the trial did while the run was reading
    second = engine("run", path, "--format", "json", state=_state_dir)
    out, err = first.communicate(timeout=120)

    stopped = json.loads(out)
    assert first.returncode == EXIT_FAILED and "Traceback" not in err
    assert "state.db was deleted or replaced while this run was working" in stopped["error"]
    assert stopped["records"]["written"] == 0
    assert second.returncode == EXIT_OK, second.stderr
    assert _outputs(tmp_path) == [f"store-{json.loads(second.stdout)['run_id']}.jsonl"], "published once"


def test_lock_renewal_notices_a_replaced_store_and_a_lost_lock(tmp_path: Path) -> None:
    def locked_run(name: str) -> tuple[SqliteStateStore, RunLock]:
        store = SqliteStateStore(SqliteOptions(None))
        store.open_at(tmp_path / name / "state.db")
        run = SimpleNamespace(state=store, connector="c", owner=f"h:1:{name}", log=Log())
        lock = RunLock(run, LockPolicy(ttl=0.15))
        lock.acquire()
        return store, lock

    def wait_until_lost(lock: RunLock) -> None:
        deadline = time.monotonic() + 5
        while lock.lost is None and time.monotonic() < deadline:
            time.sleep(0.01)

    store, lock = locked_run("replaced")
    fresh = tmp_path / "fresh.db"
    SqliteStateStore(SqliteOptions(None)).open_at(fresh)
    fresh.replace(tmp_path / "replaced" / "state.db")
    wait_until_lost(lock)
    assert lock.lost is not None and "was deleted or replaced" in lock.lost
    with pytest.raises(StateError, match="the run stopped without publishing or committing"):
        lock.check()
    lock.release()
    store.close()

    store, lock = locked_run("taken")
    store.lock_release("c", "h:1:taken")
    store.lock_acquire("c", "h:2:other", 600, host="h", pid=2)
    wait_until_lost(lock)
    assert lock.lost == "the run lock of 'c' was taken over by another run"
    lock.release()
    store.close()


def test_a_store_damaged_inside_is_reported_as_damaged(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = SqliteStateStore(SqliteOptions(None))
    store.open_at(db)
    store.close()
    data = bytearray(db.read_bytes())
    data[100 : len(data)] = b"\xff" * (len(data) - 100)  # the header survives, the pages do not
    db.write_bytes(bytes(data))
    with pytest.raises(CorruptStateError, match="is damaged"):
        SqliteStateStore(SqliteOptions(None)).open_at(db)


def test_killed_runs_show_as_crashed_not_running(tmp_path: Path, spec, _state_dir: Path) -> None:
    path = spec()
    killed = engine("run", path, state=_state_dir, ENGINE_FAILPOINTS="chunk.done=1")
    assert killed.returncode < 0, "the failpoint killed the run"
    listed = engine("state", "runs", path, state=_state_dir).stdout
    assert " crashed " in listed and " running " not in listed
    killed_again = engine("run", path, state=_state_dir, ENGINE_FAILPOINTS="chunk.done=1")
    assert killed_again.returncode < 0
    assert engine("run", path, state=_state_dir).returncode == EXIT_OK
    store = SqliteStateStore(SqliteOptions(None))
    store.open_at(_state_dir / "state.db")
    statuses = [r["status"] for r in store.runs_list("store")]
    store.close()
    assert statuses == ["ok", "crashed", "crashed"], "the next run marked the one before it"
