"""Small helpers every remote connection needs."""

from __future__ import annotations

import json

from engine.errors import (
    ConfigError,
    EngineError,
    SourceError,
    TargetError,
    TransientError,
    TransientSourceError,
    TransientTargetError,
)

#: the phase an operation belongs to -> (its fatal error class, its transient error class)
PHASES: dict[str, tuple[type[EngineError], type[TransientError]]] = {
    "source": (SourceError, TransientSourceError),
    "target": (TargetError, TransientTargetError),
    "connection": (ConfigError, TransientError),
}


def connection_name(path: str) -> str:
    """``connections.wms`` -> ``wms``: the name users gave the connection, for messages."""
    rest = path.removeprefix("connections")
    if rest.startswith("["):
        try:
            return str(json.loads(rest[1:-1]))
        except ValueError:
            return rest
    return rest.lstrip(".") or path
