"""The dask executor: a cluster at an address is custom code; without --allow-custom-code nothing reaches it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HOSTILE = Path(__file__).with_name("hostile_dask.py")


class HostileCluster:
    """A real ``distributed`` scheduler and worker on loopback, whose worker answers with a booby-trapped pickle."""

    def __init__(self, root: Path) -> None:
        self.log, self.marker = root / "cluster.log", root / "unpickled"
        self.log.touch()
        self.env = {**os.environ, "HOSTILE_DASK_LOG": str(self.log), "HOSTILE_DASK_MARKER": str(self.marker)}
        self.env["PYTHONPATH"] = os.pathsep.join([str(Path.cwd()), self.env.get("PYTHONPATH", "")])
        self.procs: list[subprocess.Popen[bytes]] = []
        scheduler_file = root / "scheduler.json"
        self._start(
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
        import json

        self.address = json.loads(scheduler_file.read_text())["address"]
        self._start(
            "worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"
        )
        self._wait(lambda: "worker" in self.log.read_text(), "the worker did not join")

    def _start(self, kind: str, *args: str) -> None:
        cmd = [sys.executable, "-m", "dask", kind, *args, "--preload", str(HOSTILE)]
        self.procs.append(
            subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )

    def _wait(self, ready, what: str) -> None:
        deadline = time.monotonic() + 60
        while not ready():
            assert time.monotonic() < deadline, what
            assert all(p.poll() is None for p in self.procs), what
            time.sleep(0.1)

    def clients(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if line.startswith("client")]

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[HostileCluster]:
    cluster = HostileCluster(tmp_path)
    yield cluster
    cluster.stop()


def _spec(tmp_path: Path, address: str) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n in range(2):
        (inbox / f"f{n}.csv").write_text("sku\nA\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "version: 1\nname: remote\nsource: {type: local, path: inbox}\nparser: {type: csv}\n"
        "target: {type: file, writer: {type: jsonl}, destination: {type: local, path: out}}\n"
        f'executor: {{type: dask, address: "{address}", workers: 2}}\n'
    )
    return spec


def _engine(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_a_cluster_address_needs_allow_custom_code_and_nothing_is_contacted_without(
    tmp_path, hostile
) -> None:
    spec = _spec(tmp_path, hostile.address)

    checked = _engine("validate", str(spec))
    assert checked.returncode == 2
    assert f"{spec}:6:33 executor.address: a Dask cluster at this address" in checked.stdout
    assert "--allow-custom-code" in checked.stdout
    refused = _engine("run", str(spec))
    assert (
        refused.returncode == 2
        and "executor.address:" in refused.stderr
        and "nothing was run" in refused.stderr
    )
    time.sleep(1)
    assert hostile.clients() == [] and not hostile.marker.exists(), "the cluster was never contacted"

    assert _engine("validate", "--allow-custom-code", str(spec)).returncode == 0
    _engine("run", str(spec), "--allow-custom-code")
    assert hostile.clients(), "with the flag the engine uses the cluster"
    assert hostile.marker.read_text().strip() == "unpickled", "and what the cluster answers runs here"


@pytest.mark.parametrize(
    ("store", "executor", "warned"),
    [
        ("", 'executor: {type: dask, address: "tcp://10.0.0.1:8786"}', True),
        (
            'state: {store: {type: postgres, dsn: "${env:ENGINE_STATE_DSN}"}}',
            'executor: {type: dask, address: "tcp://10.0.0.1:8786"}',
            False,
        ),
        ("", "executor: {type: dask, workers: 2}", False),
        ("", "executor: {type: processes, workers: 2}", False),
    ],
    ids=["remote-sqlite", "remote-postgres", "local-cluster", "processes"],
)
def test_workers_on_other_hosts_with_a_store_of_one_machine_are_warned_about(
    tmp_path, store, executor, warned, monkeypatch
) -> None:
    from engine.spec.compile import compile_file

    monkeypatch.setenv("ENGINE_STATE_DSN", "host=db dbname=engine")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "version: 1\nname: w\nsource: {type: local, path: in}\nparser: {type: csv}\ntarget: {type: 'null'}\n"
        f"{store}\n{executor}\n"
    )
    plan = compile_file(spec, allow_custom_code=True)
    found = [w.message for w in plan.warnings if w.code == "store-not-shared"]
    assert bool(found) == warned, found
    if warned:
        assert "the 'sqlite' store belongs to one machine" in found[0]
