"""Dask workers that share nothing but the PostgreSQL store and the services: S3, SFTP, the Fluent emulator.

A real scheduler and three worker processes, each started in its own
working, temporary and state directory (as on three hosts), run one
connector's items: 30 S3 objects and one large CSV read in parts. Inventory
goes into the emulator as DELTA records, where a record applied twice or
lost changes a quantity, so the totals must come out exact, also when one
worker is killed with SIGKILL in the middle of a file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.emulator import Emulator

#: rows of the large file: the acceptance figure (a run takes about 40 s on 2 cores)
BIG_ROWS = int(os.environ.get("ENGINE_TEST_BIG_ROWS", "3000000"))
SMALL_FILES, SMALL_ROWS = 30, 200

SPEC = """
version: 1
name: hosts
connections:
  fluent: %(fluent)s
  wms: %(s3)s
source:
  type: s3
  connection: wms
  prefix: in/
  pattern: "*.csv"
  on_success: {move_to: "processed/{name}"}
parser: {type: csv, chunk_size: 5000}
mapping:
  fields:
    locationRef: {source: loc, required: true}
    skuRef: {source: sku, required: true}
    qty: {source: qty, required: true, resolver: int}
    type: {value: DELTA}
target:
  type: fluent.batch
  connection: fluent
  batch_size: 5000
  max_in_flight: 4
  poll: {interval: 20ms, max_interval: 200ms}
state:
  store: {type: postgres, dsn: "${env:ENGINE_STATE_DSN}"}
  lock: {ttl: 30s}
executor: {type: dask, address: "%(address)s", workers: 3, split_size: "%(split)s"}
"""


class Cluster:
    """A ``dask scheduler`` and workers as separate processes, each worker in a directory of its own."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = {**env, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), env.get("PYTHONPATH", "")])}
        self.procs: list[subprocess.Popen[bytes]] = []
        scheduler_file = root / "scheduler.json"
        self._start(
            root / "scheduler",
            {},
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        )
        self._wait(scheduler_file.exists, "the scheduler did not start")
        self.address = json.loads(scheduler_file.read_text())["address"]
        self.workers: list[subprocess.Popen[bytes]] = []

    def _start(self, home: Path, extra: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
        home.mkdir(parents=True)
        (home / "tmp").mkdir()
        env = {**self.env, "TMPDIR": str(home / "tmp"), "ENGINE_STATE_DIR": str(home / "state"), **extra}
        with open(home / "log", "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dask", *args], env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT
            )
        self.procs.append(proc)
        return proc

    def add_worker(self, name: str, **extra: str) -> None:
        home = self.root / name
        self.workers.append(
            self._start(
                home,
                extra,
                "worker",
                self.address,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
                "--local-directory",
                str(home / "dask"),
                "--name",
                name,
            )
        )

    def wait_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(n, timeout=60)

    def _wait(self, ready, what: str) -> None:
        deadline = time.monotonic() + 60
        while not ready():
            assert time.monotonic() < deadline, what
            time.sleep(0.1)

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)


def _rows(f: int, n: int) -> Iterator[tuple[str, str, int]]:
    for i in range(n):
        yield f"LOC-{1 + (i + f) % 5:03d}", f"SKU-{1 + (i * 7 + f) % 40:04d}", 1 + (i * 13 + f) % 9


def _csv(f: int, n: int, expected: Counter) -> bytes:
    lines = ["loc,sku,qty"]
    for loc, sku, qty in _rows(f, n):
        lines.append(f"{loc},{sku},{qty}")
        expected[(sku, loc)] += qty
    return ("\n".join(lines) + "\n").encode()


def _positions(emu: Emulator) -> dict[tuple[str, str], int]:
    return {(p["productRef"], p["locationRef"]): p["onHand"] for p in emu.state("inventory_positions")}


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator(settings={"batch_polls_per_step": 1})
    emu.start()
    yield emu
    emu.stop()


def _engine(spec: Path, env: dict[str, str]) -> tuple[int, dict]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "run",
            str(spec),
            "--allow-custom-code",
            "--quiet",
            "--format",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    try:
        return proc.returncode, json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"no report: {proc.stderr[-3000:]}") from None


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("kill", [False, True], ids=["all-live", "one-killed"])
def test_three_workers_deliver_30_objects_and_a_large_file_in_parts_exactly(
    kill: bool, tmp_path, s3_server, pg_server, emulator, monkeypatch
) -> None:
    s3 = s3_server.bucket("wms")
    expected: Counter = Counter()
    objects = {f"in/delta_{f:02d}.csv": _csv(f, SMALL_ROWS, expected) for f in range(SMALL_FILES)}
    big = _csv(99, BIG_ROWS, expected)
    objects["in/full_snapshot.csv"] = big
    s3_server.seed("wms", objects)
    before = _positions(emulator)
    c = emulator.credentials
    fluent = {
        "type": "fluent",
        "base_url": emulator.url,
        "client_id": c["client_id"],
        "client_secret": c["client_secret"],
        "username": c["username"],
        "password": c["password"],
        "retailer_id": str(c["retailer_id"]),
        "retry": {"backoff": "50ms", "max_backoff": "500ms"},
    }
    env = {**os.environ}
    cluster = Cluster(tmp_path / "cluster", env)
    try:
        cluster.add_worker("w1", **({"ENGINE_FAILPOINTS": "batch.after_checkpoint=4"} if kill else {}))
        cluster.add_worker("w2")
        cluster.add_worker("w3")
        cluster.wait_workers(3)
        spec = tmp_path / "coordinator" / "spec.yaml"
        spec.parent.mkdir()
        spec.write_text(
            SPEC
            % {
                "fluent": json.dumps(fluent),
                "s3": json.dumps(s3_server.connection("wms")),
                "address": cluster.address,
                "split": str(len(big) // 6 + 1),
            }
        )
        code, report = _engine(spec, {**env, "ENGINE_STATE_DIR": str(tmp_path / "coordinator" / "state")})
        if kill:
            assert cluster.workers[0].wait(5) == -signal.SIGKILL, "the failpoint killed worker w1"
            # taken over in the same run: Dask runs the lost task again on another worker, which skips
            # what w1 finished and resumes the file w1 was in the middle of from its checkpoint
            assert any("resumed after record" in note for note in report["notes"]), report["notes"]
            assert any("by an earlier attempt of this run" in (i["reason"] or "") for i in report["items"])
        assert code == 0, json.dumps(
            {k: report.get(k) for k in ("status", "error", "records", "files", "notes", "rejects_path")}
            | {"items": [i for i in report["items"] if i["status"] != "done"][:5]}
        )
    finally:
        cluster.stop()
    after = _positions(emulator)
    wrong = {
        k: after.get(k, 0) - before.get(k, 0) - v
        for k, v in expected.items()
        if after.get(k, 0) - before.get(k, 0) != v
    }
    assert not wrong, f"quantities off by {dict(list(wrong.items())[:5])}"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="wms").get("Contents", [])]
    assert sorted(k for k in keys if k.startswith("in/")) == [], "every object was moved"
    assert len([k for k in keys if k.startswith("processed/")]) == SMALL_FILES + 1
    if not kill:
        assert report["records"]["written"] == SMALL_FILES * SMALL_ROWS + BIG_ROWS
        big_item = next(i for i in report["items"] if i["name"] == "full_snapshot.csv")
        assert big_item["status"] == "done" and big_item["reason"] == "read in 6 parts"
        assert report["target"]["workers"] == 3


SFTP_SPEC = """
version: 1
name: hosts-sftp
connections:
  fluent: %(fluent)s
  partner: %(sftp)s
source:
  type: sftp
  connection: partner
  path: inbox
  pattern: "*.csv"
  on_success: {move_to: "processed/{name}"}
parser: {type: csv}
mapping:
  fields:
    locationRef: {source: loc, required: true}
    skuRef: {source: sku, required: true}
    qty: {source: qty, required: true, resolver: int}
    type: {value: DELTA}
target: {type: fluent.batch, connection: fluent, batch_size: 50, poll: {interval: 20ms}}
on_error: {max_reject_ratio: 0.1}
state:
  store: {type: postgres, dsn: "${env:ENGINE_STATE_DSN}"}
executor: {type: dask, address: "%(address)s", workers: 3}
"""


@pytest.mark.slow
def test_three_workers_read_sftp_and_send_one_report_and_one_rejects_file(
    tmp_path, sftp_server, pg_server, emulator
) -> None:
    expected: Counter = Counter()
    for f in range(9):
        rows = _csv(f, 120, expected).decode().splitlines()
        rows.insert(5, f"LOC-001,SKU-0001,bad-{f}")  # one bad row per file, at the file's row 5
        sftp_server.write(f"inbox/d{f}.csv", "\n".join(rows) + "\n")
    before = _positions(emulator)
    c = emulator.credentials
    fluent = {
        "type": "fluent",
        "base_url": emulator.url,
        "client_id": c["client_id"],
        "client_secret": c["client_secret"],
        "username": c["username"],
        "password": c["password"],
        "retailer_id": str(c["retailer_id"]),
    }
    cluster = Cluster(tmp_path / "cluster", {**os.environ})
    try:
        for name in ("w1", "w2", "w3"):
            cluster.add_worker(name)
        cluster.wait_workers(3)
        spec = tmp_path / "coordinator" / "spec.yaml"
        spec.parent.mkdir()
        spec.write_text(
            SFTP_SPEC
            % {
                "fluent": json.dumps(fluent),
                "sftp": json.dumps(sftp_server.connection()),
                "address": cluster.address,
            }
        )
        code, report = _engine(
            spec, {**os.environ, "ENGINE_STATE_DIR": str(tmp_path / "coordinator" / "state")}
        )
    finally:
        cluster.stop()
    assert code == 0, report
    assert report["records"]["written"] == 9 * 120 and report["target"]["workers"] == 3
    rejects = [json.loads(x) for x in Path(report["rejects_path"]).read_text().splitlines()]
    assert sorted((r["lineage"]["file"], r["lineage"]["row"]) for r in rejects) == [
        (f"d{f}.csv", 5) for f in range(9)
    ]
    assert len(list(Path(report["rejects_path"]).parent.iterdir())) == 1, (
        "one rejects file, on the coordinator"
    )
    for home in ("w1", "w2", "w3"):
        assert not list((tmp_path / "cluster" / home).rglob("*.jsonl")), "nothing left on a worker's disk"
    after = _positions(emulator)
    assert all(after.get(k, 0) - before.get(k, 0) == v for k, v in expected.items())
    assert sftp_server.files() == [f"inbox/processed/d{f}.csv" for f in range(9)]
