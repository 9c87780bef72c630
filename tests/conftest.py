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
    from engine.runtime.runner import RunOptions, Runner
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
