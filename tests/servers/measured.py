"""Running ``engine`` as a real process and measuring what it took: exit code, output, peak memory, time.

The peak is the kernel's own account of the child (``ru_maxrss`` from
``wait4``, the high-water mark of its resident set), so a short spike is not
missed the way sampling ``/proc`` would miss it. The child's output goes to
files: a pipe nobody reads while waiting could block it.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path


@dataclasses.dataclass
class Finished:
    code: int
    stdout: str
    stderr: str
    peak_mb: float
    seconds: float


def run_engine(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120.0) -> Finished:
    """``engine ARGS...`` in a child process, killed after ``timeout`` seconds (then the test fails)."""
    out, err = cwd / "engine.stdout", cwd / "engine.stderr"
    started = time.monotonic()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine", *args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=stdout,
            stderr=stderr,
        )
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise AssertionError(f"engine {' '.join(args)} still running after {timeout:g}s")
            time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Finished(
        proc.returncode,
        out.read_text(errors="replace"),
        err.read_text(errors="replace"),
        usage.ru_maxrss / 1024,
        time.monotonic() - started,
    )
