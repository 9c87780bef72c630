"""``engine`` as a real process, as a scheduler starts it.

Tests of permissions (a read-only ``processed/`` or output directory) must
hold when the suite runs as root too, where file modes bind nobody: the
child then drops ``CAP_DAC_OVERRIDE`` and ``CAP_DAC_READ_SEARCH`` from its
capability bounding set before ``exec``, so the kernel checks modes for it
as for any user. Without root nothing is dropped (nothing needs to be).
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def _respect_file_modes() -> None:
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def engine(*args: str | Path, state: Path | None = None, umask: int | None = None, **env: str) -> Any:
    """Run ``python -m engine ARGS`` to completion; returns the CompletedProcess (text output).

    ``state`` is the ``$ENGINE_STATE_DIR`` of the run; ``umask`` the child's umask.
    """
    environ = {**os.environ, **env}
    if state is not None:
        environ["ENGINE_STATE_DIR"] = str(state)

    def prepare() -> None:
        _respect_file_modes()
        if umask is not None:
            os.umask(umask)

    return subprocess.run(
        [sys.executable, "-m", "engine", *map(str, args)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=prepare,
    )


def read_only(path: Path) -> None:
    """Make a directory read-only for the processes :func:`engine` starts (root included)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o555)
