"""Small helpers every remote connection needs."""

from __future__ import annotations

import json


def connection_name(path: str) -> str:
    """``connections.wms`` -> ``wms``: the name users gave the connection, for messages."""
    rest = path.removeprefix("connections")
    if rest.startswith("["):
        try:
            return str(json.loads(rest[1:-1]))
        except ValueError:
            return rest
    return rest.lstrip(".") or path
