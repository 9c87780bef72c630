"""Running ``engine`` as a real process and measuring what it took: exit code, output, peak memory, time.

The peak is the child's own high-water mark (``VmHWM``), which it writes
when the command ends, so a short spike is not missed the way sampling
``/proc`` would miss it. (The parent's ``ru_maxrss`` of a child would also
count the pages the child shared with this parent before exec: a large test
process would inflate every figure.) The child's output goes to files: a
pipe nobody reads while waiting could block it.
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


#: runs the engine's command line, then writes this process's own peak RSS (kB) to argv[1]
_MEASURED = """
import sys
from pathlib import Path
from engine.cli import main
out = Path(sys.argv[1])
sys.argv = ["engine", *sys.argv[2:]]
try:
    main()
finally:
    status = Path("/proc/self/status").read_text()
    out.write_text(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
"""


def run_engine(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120.0) -> Finished:
    """``engine ARGS...`` in a child process, killed after ``timeout`` seconds (then the test fails)."""
    out, err, peak = cwd / "engine.stdout", cwd / "engine.stderr", cwd / "engine.peak"
    started = time.monotonic()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", _MEASURED, str(peak), *args],
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
        int(peak.read_text()) / 1024 if peak.exists() else usage.ru_maxrss / 1024,
        time.monotonic() - started,
    )
