"""Where a connector keeps its local files (state, reports, rejects)."""

from __future__ import annotations

import os
from pathlib import Path


def state_dir(spec_dir: Path) -> Path:
    """``$ENGINE_STATE_DIR``, else ``.engine/`` next to the spec."""
    env = os.environ.get("ENGINE_STATE_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return spec_dir / ".engine"
