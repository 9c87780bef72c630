"""Shared fixtures. Real servers (sshd, S3, the Fluent emulator) live in tests/servers/."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own state directory (ledger, reports, rejects)."""
    state = tmp_path / "state"
    monkeypatch.setenv("ENGINE_STATE_DIR", str(state))
    return state


@pytest.fixture(autouse=True)
def _forget_secrets():
    """Secrets a test teaches the process's redactor are forgotten after it (a secret's start is masked too)."""
    from engine.secrets import redactor

    with redactor.isolated():
        yield


@pytest.fixture
def write_spec(tmp_path: Path):
    """``write_spec(yaml_text, name="spec.yaml") -> Path`` in the test's directory."""

    def write(text: str, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def run_spec():
    """``run_spec(path, **RunOptions) -> RunReport``: compile and run in process."""
    from engine.runtime.runner import Runner, RunOptions
    from engine.spec.compile import compile_file

    def run(path: Path, *, overrides: list[str] | None = None, **options: Any):
        plan = compile_file(path, overrides=overrides)
        options.setdefault("progress", False)
        return Runner(plan, RunOptions(**options)).run()

    return run


@pytest.fixture
def cli():
    """``cli(*args) -> click Result`` running the ``engine`` command in process."""
    from click.testing import CliRunner

    from engine.cli import main

    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


# --- real S3 and SFTP servers (tests/servers/) ------------------------------------------------


@pytest.fixture(scope="session")
def _sshd():
    from tests.servers.sshd import Sshd

    server = Sshd()
    yield server
    server.stop()


@pytest.fixture
def sftp_server(_sshd, monkeypatch: pytest.MonkeyPatch):
    """The session's real OpenSSH sshd, its home emptied for this test (password in $SFTP_TEST_PASSWORD)."""
    from tests.servers.sshd import PASSWORD

    monkeypatch.setenv("SFTP_TEST_PASSWORD", PASSWORD)
    _sshd.clear()
    return _sshd


@pytest.fixture(scope="session")
def _moto():
    from tests.servers.s3 import MotoS3

    server = MotoS3()
    yield server
    server.stop()


@pytest.fixture
def s3_server(_moto, monkeypatch: pytest.MonkeyPatch):
    """The session's real S3 HTTP server (moto), reset for this test (keys in $S3_TEST_KEY_ID/_SECRET)."""
    from tests.servers.s3 import KEY_ID, SECRET

    monkeypatch.setenv("S3_TEST_KEY_ID", KEY_ID)
    monkeypatch.setenv("S3_TEST_SECRET", SECRET)
    _moto.reset()
    return _moto


@pytest.fixture(scope="session")
def _postgres():
    import os

    from tests.servers.postgres import Postgres

    server = Postgres()
    # processes the tests start (engine runs, spawned workers) reach the same server
    os.environ["ENGINE_TEST_PG_DSN"] = server.create_database("session")
    yield server
    os.environ.pop("ENGINE_TEST_PG_DSN", None)
    server.stop()


@pytest.fixture
def pg_server(_postgres, monkeypatch: pytest.MonkeyPatch):
    """The session's real PostgreSQL server; ``$ENGINE_STATE_DSN`` names a new, empty database on it."""
    dsn = _postgres.create_database()
    monkeypatch.setenv("ENGINE_STATE_DSN", dsn)
    _postgres.test_dsn = dsn
    return _postgres
