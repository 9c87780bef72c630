"""Which ``engine serve`` process this is, among the instances that share a state store."""

from __future__ import annotations

import dataclasses
import os
import secrets
import socket
from datetime import UTC, datetime
from typing import Any


@dataclasses.dataclass(frozen=True)
class Instance:
    """This process: its host, pid and a random id, and when it started.

    ``owner`` (``host:pid:serve-<id>``) is how its claims on due times and
    spooled bodies are recorded, so a store can tell a live instance from one
    whose process is gone.
    """

    id: str
    host: str
    pid: int
    started: datetime

    @classmethod
    def here(cls) -> Instance:
        """The instance this process is."""
        return cls(secrets.token_hex(4), socket.gethostname(), os.getpid(), datetime.now(UTC))

    @property
    def owner(self) -> str:
        """The owner its claims carry in a state store."""
        return f"{self.host}:{self.pid}:serve-{self.id}"

    def as_dict(self) -> dict[str, Any]:
        """What ``/health`` shows about it."""
        return {
            "id": self.id,
            "host": self.host,
            "pid": self.pid,
            "started": self.started.isoformat(timespec="seconds"),
        }
