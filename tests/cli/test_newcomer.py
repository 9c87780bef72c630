"""The command line as a newcomer tries it: versions, help, directories, guards, drafts, .env files."""

from __future__ import annotations

import os
import pty
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from engine import __version__
from tests.processes import engine

ROOT = Path(__file__).resolve().parent.parent.parent
QUICKSTART = ROOT / "connectors" / "quickstart" / "quickstart.yaml"

LOCAL = """
version: 1
name: local
source: {type: local, path: inbox, pattern: "*.csv"}
parser: {type: csv}
target: {type: "null"}
"""


def test_version_flags_and_command(cli) -> None:
    assert cli("-V").output.strip() == f"engine, version {__version__}"
    assert cli("--version").output.strip() == f"engine, version {__version__}"
    out = cli("version").output
    assert out.startswith(f"engine {__version__}\npython 3.")
    assert "  s3       boto3 " in out and "  otel     opentelemetry-sdk " in out


def test_help_shows_examples_the_state_directory_and_completion(cli) -> None:
    out = cli("--help").output
    assert "engine validate connectors/" in out and "engine check stock.yaml" in out
    assert "ENGINE_STATE_DIR" in out and "ENGINE_ENV_FILE" in out
    assert "_ENGINE_COMPLETE=bash_source engine" in out
    run_help = cli("run", "--help").output
    assert "--log-level [debug|info|warning|error]" in run_help and "Log lines on stderr" in run_help
    assert "one JSON object per line" in run_help


def test_shell_completion_works_as_documented() -> None:
    script = Path(sys.executable).parent / "engine"  # the installed command, as users call it
    source = subprocess.run(
        [script], env={**os.environ, "_ENGINE_COMPLETE": "bash_source"}, capture_output=True, text=True
    )
    assert "complete -o nosort -F _engine_completion engine" in source.stdout
    words = subprocess.run(
        [script],
        env={
            **os.environ,
            "_ENGINE_COMPLETE": "bash_complete",
            "COMP_WORDS": "engine sta",
            "COMP_CWORD": "1",
        },
        capture_output=True,
        text=True,
    )
    assert "plain,state" in words.stdout


def test_validate_and_test_take_a_directory_of_specs(cli) -> None:
    result = cli("validate", str(ROOT / "connectors"))
    assert result.exit_code == 0, result.output
    assert f"{QUICKSTART}: ok" in result.output
    assert result.output.count(": ok") >= 15
    tested = cli("test", str(ROOT / "connectors" / "quickstart"))
    assert tested.exit_code == 0 and "4 passed, 0 failed" in tested.output


def test_a_directory_without_specs_is_a_usage_error(cli, tmp_path) -> None:
    result = invoke(["validate", str(tmp_path)])
    assert result.exit_code == 2 and "no spec files (*.yaml, *.yml) in this directory" in result.output


def invoke(args: list[str]):
    """``engine ARGS`` in process, its exit code kept (usage errors exit 2 instead of raising)."""
    from click.testing import CliRunner

    from engine.cli import main

    return CliRunner().invoke(main, args)


def test_plugins_takes_the_kind_as_the_spec_writes_it(cli) -> None:
    singular = cli("plugins", "target", "fluent.batch").output
    assert singular == cli("plugins", "targets", "fluent.batch").output
    assert singular.startswith("target fluent.batch:")
    assert "sqlite" in cli("plugins", "state-store").output
    wrong = invoke(["plugins", "target", "fluent.bach"])
    assert (
        wrong.exit_code == 2 and "unknown target 'fluent.bach' (did you mean 'fluent.batch'?)" in wrong.output
    )


def test_state_with_the_spec_first_says_which_order_the_cli_wants(tmp_path, write_spec) -> None:
    spec = write_spec(LOCAL)
    result = invoke(["state", str(spec), "show"])
    assert result.exit_code == 2
    assert f"the subcommand comes first: engine state show {spec}" in result.output


def _connector_with_state(tmp_path: Path, write_spec) -> Path:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.csv").write_text("sku\nA\n")
    spec = write_spec(LOCAL)
    assert engine("run", spec, state=tmp_path / "state").returncode == 0
    return spec


def test_state_clear_without_a_terminal_refuses_unless_yes(tmp_path, write_spec) -> None:
    spec = _connector_with_state(tmp_path, write_spec)
    refused = engine("state", "clear", spec, state=tmp_path / "state")
    assert refused.returncode == 1
    assert "not cleared: engine state clear asks first, and there is no terminal to ask on" in refused.stderr
    assert "add --yes" in refused.stderr
    assert "1 done" in engine("state", "show", spec, state=tmp_path / "state").stdout
    cleared = engine("state", "clear", "--yes", spec, state=tmp_path / "state")
    assert cleared.returncode == 0 and "cleared state of local: 1 ledger" in cleared.stdout


@pytest.mark.parametrize(("answer", "cleared"), [("n", False), ("y", True)])
def test_state_clear_on_a_terminal_asks_first(tmp_path, write_spec, answer, cleared) -> None:
    spec = _connector_with_state(tmp_path, write_spec)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "state", "clear", str(spec)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "ENGINE_STATE_DIR": str(tmp_path / "state")},
    )
    os.close(slave)
    seen = b""
    while b"[y/N]" not in seen:
        seen += os.read(master, 4096)
    os.write(master, answer.encode() + b"\n")
    assert proc.wait(timeout=30) == (0 if cleared else 1)
    os.close(master)
    assert b"Every file its source lists becomes new again" in seen
    state = engine("state", "show", spec, state=tmp_path / "state").stdout
    assert ("files:     none" in state) is cleared


def test_init_keeps_an_existing_spec_unless_forced(tmp_path, cli) -> None:
    sample = tmp_path / "stock.csv"
    sample.write_text("sku,qty\nA,1\n")
    out = tmp_path / "stock.yaml"
    out.write_text("my work\n")
    refused = invoke(["init", "--from", str(sample), "-o", str(out)])
    assert refused.exit_code == 2 and "exists; choose another --output, or add --force" in refused.output
    assert out.read_text() == "my work\n"
    assert cli("init", "--from", str(sample), "-o", str(out), "--force").exit_code == 0
    assert out.read_text().startswith("version: 1\n")


@pytest.mark.parametrize("target", ["fluent.event", "fluent.graphql", "http", "fluent.batch", "file", "null"])
def test_init_drafts_every_target_that_validates_and_passes_its_test(tmp_path, cli, target) -> None:
    sample = tmp_path / "stock.csv"
    # what the Fluent targets require has a column to come from: a location (Batch API), a name and a type
    sample.write_text("sku,qty,ref,location,name,type\nA,1,R1,L1,Perth,STORE\nB,2,R2,L2,Sydney,STORE\n")
    out = tmp_path / f"{target}.yaml"
    result = cli("init", "--from", str(sample), "--target", target, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert cli("validate", str(out)).exit_code == 0
    assert "1 passed, 0 failed" in cli("test", str(out)).output


def test_init_with_an_unknown_target_lists_the_known_ones(tmp_path) -> None:
    sample = tmp_path / "stock.csv"
    sample.write_text("sku\nA\n")
    result = invoke(["init", "--from", str(sample), "--target", "fluent.events"])
    assert result.exit_code == 2
    assert "--target: unknown target 'fluent.events' (did you mean 'fluent.event'?)" in result.output


def test_an_extension_given_as_pattern_is_refused_with_the_glob_it_meant(write_spec, cli) -> None:
    spec = write_spec(LOCAL.replace('pattern: "*.csv"', 'pattern: ".xml"'))
    result = invoke(["validate", str(spec)])
    assert result.exit_code == 2
    assert (
        "source.pattern: '.xml' can only match names starting with '.', and such hidden files are never "
        "listed (did you mean '*.xml'?)"
    ) in result.output


def test_an_env_file_fills_unset_variables_and_never_overrides_set_ones(tmp_path, write_spec) -> None:
    spec = write_spec("""
    version: 1
    name: api
    connections:
      api: {type: http, base_url: "${env:API_URL}"}
    source: {type: http, connection: api, path: /items}
    target: {type: stdout}
    """)
    listeners = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
    from_file, from_environment = (s.getsockname()[1] for s in listeners)
    env_file = tmp_path / ".env"
    env_file.write_text(f'# settings\nexport API_URL="http://127.0.0.1:{from_file}"\n')
    env = {k: v for k, v in os.environ.items() if k != "API_URL"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "engine", "--env-file", str(env_file), "check", str(spec)],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"reached 127.0.0.1:{from_file}" in done.stdout
        preset = subprocess.run(
            [sys.executable, "-m", "engine", "check", str(spec)],
            env={**env, "API_URL": f"http://127.0.0.1:{from_environment}", "ENGINE_ENV_FILE": str(env_file)},
            capture_output=True,
            text=True,
        )
        assert preset.returncode == 0, preset.stdout + preset.stderr
        assert f"reached 127.0.0.1:{from_environment}" in preset.stdout, (
            "the real environment wins over the file"
        )
    finally:
        for listener in listeners:
            listener.close()


def test_a_missing_env_file_is_a_usage_error(tmp_path) -> None:
    result = invoke(["--env-file", str(tmp_path / "nope.env"), "version"])
    assert result.exit_code == 2 and "does not exist" in result.output
