"""The Emulator object and the ``engine emulator`` command: fast start, clean stop, free ports."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from engine.emulator import Emulator
from engine.emulator.cli import emulator as emulator_command

ROOT = Path(__file__).resolve().parents[2]


def test_starts_on_a_free_port_and_stops_without_leaking_threads():
    before = set(threading.enumerate())
    emu = Emulator().start()
    assert emu.url.startswith("http://127.0.0.1:") and emu.port > 0
    assert httpx.get(f"{emu.url}/_emulator/clock").status_code == 200
    emu.stop()
    emu.stop()
    time.sleep(0.05)
    assert set(threading.enumerate()) <= before


def test_two_emulators_side_by_side_and_context_manager():
    with Emulator() as one, Emulator(settings={"job_shape": "sdk_types"}) as two:
        assert one.port != two.port
        assert httpx.get(f"{two.url}/_emulator/settings").json()["job_shape"] == "sdk_types"
        assert httpx.get(f"{one.url}/_emulator/settings").json()["job_shape"] == "inferred"


def test_python_api_works_before_start():
    emu = Emulator()
    emu.add_fault({"action": {"status": 500}})
    assert len(emu.faults()) == 1
    assert emu.tick() == {"batches_completed": 0, "events_handled": 0}
    assert emu.state("retailers")[0]["ref"] == "demo-retailer"
    assert emu.public_key()["base64"]


def test_command_serves_and_prints_url_and_credentials():
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.emulator.cli", "--port", "0", "--setting", "job_shape=sdk_types"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        url = lines[0].split("listening on", 1)[1].strip()
        assert "client_id=DEMO client_secret=demo-secret" in lines[1]
        assert "username=demo password=demo-password retailer_id=1" in lines[2]
        assert httpx.get(f"{url}/_emulator/settings").json()["job_shape"] == "sdk_types"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_command_reports_bad_options():
    runner = CliRunner()
    result = runner.invoke(emulator_command, ["--setting", "max_batch_record=5"])
    assert result.exit_code == 1 and "did you mean 'max_batch_records'" in result.output
    result = runner.invoke(emulator_command, ["--setting", "oops"])
    assert result.exit_code == 1 and "expected KEY=VALUE" in result.output
    assert emulator_command.name == "emulator"
