"""Ctrl-C in the middle of a file, as an operator at a terminal does it.

The run is a real ``engine`` process on a pseudo-terminal (so the progress
line is drawn), interrupted by a real SIGINT at an exact chunk.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import textwrap
from pathlib import Path

SPEC = """
version: 1
name: big
source: {type: local, path: inbox, pattern: "*.csv"}
parser: {type: csv, chunk_size: 1000}
target: {type: "null"}
"""


def _on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run ``python -m engine ARGS`` with a pseudo-terminal as stdin, stdout and stderr."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", "TERM": "xterm", **env},
        close_fds=True,
    )
    os.close(slave)
    out = bytearray()
    while True:
        try:
            block = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not block:
            break
        out += block
    os.close(master)
    return proc.wait(timeout=60), out.decode("utf-8", "replace")


def test_ctrl_c_while_a_file_is_read_says_interrupted_never_done_and_exits_130(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    rows = "".join(f"SKU-{i},{i % 97}\n" for i in range(300_000))
    (tmp_path / "inbox" / "stock.csv").write_text("sku,qty\n" + rows, encoding="utf-8")
    (tmp_path / "big.yaml").write_text(textwrap.dedent(SPEC).lstrip(), encoding="utf-8")
    state = tmp_path / "state"
    env = {"ENGINE_STATE_DIR": str(state), "ENGINE_FAILPOINTS": "chunk.done=250:SIGINT"}
    code, out = _on_a_terminal(["run", "big.yaml"], tmp_path, env)
    assert code == 130, out
    progress = re.findall(r"(\d+) files done · ([\d,]+) records", out)
    assert progress, f"no progress line was drawn:\n{out}"
    assert {files for files, _ in progress} == {"0"}, "a file being read is not done"
    assert "reading stock.csv" in out
    assert "INTERRUPTED" in out
    assert "files    1 seen, 0 done, 0 skipped, 0 failed, 1 interrupted" in out
    assert "interrupted: stock.csv: the run was interrupted while this file was being read" in out

    # the ledger and the report agree: not finished, and the next run takes the file again
    files = subprocess.run(
        [sys.executable, "-m", "engine", "state", "files", "big.yaml"],
        cwd=tmp_path,
        env={**os.environ, "ENGINE_STATE_DIR": str(state)},
        capture_output=True,
        text=True,
    )
    assert "the run ended before this file was finished" in files.stdout
    again = subprocess.run(
        [sys.executable, "-m", "engine", "run", "big.yaml", "-q"],
        cwd=tmp_path,
        env={**os.environ, "ENGINE_STATE_DIR": str(state)},
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0 and "1 seen, 1 done" in again.stderr


def test_ctrl_c_in_any_command_exits_130_without_a_traceback(tmp_path: Path, cli) -> None:
    from click.testing import CliRunner

    from engine.cli import main

    @main.command("sleepy-test-command")
    def sleepy() -> None:
        raise KeyboardInterrupt

    try:
        result = CliRunner().invoke(main, ["sleepy-test-command"])
    finally:
        main.commands.pop("sleepy-test-command")
    assert result.exit_code == 130
    assert "interrupted" in result.output and "Aborted" not in result.output
