"""What every state store shares: owners that are gone, UTC timestamps, settled statuses.

Owners of locks and claims are ``host:pid:run_id``. A store cannot see
another machine's processes, so an owner on another host counts as alive
until its lease runs out; an owner on this machine whose process is gone
is taken over at once.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

#: ledger statuses that mean an item is finished (delivered, or given up); a claim never reopens
#: one of these for the run that settled it
SETTLED = ("done", "unmoved", "quarantined")


def owner_is_dead(owner: str | None, host: str | None = None, pid: int | None = None) -> bool:
    """True when the owner is a process on this machine that no longer runs.

    Owners are ``host:pid:run_id``. A crashed run's lock or claims are then
    taken over at once instead of blocking the next run until they expire.
    """
    if owner and (host is None or pid is None):
        parts = owner.split(":")
        if len(parts) >= 2 and parts[1].isdigit():
            host, pid = parts[0], int(parts[1])
    if not host or not pid or host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def now_utc() -> datetime:
    """The current time, timezone-aware in UTC: every timestamp a store writes starts here."""
    return datetime.now(UTC)


def iso(dt: datetime | None) -> str | None:
    """``dt`` as stores return it: ISO-8601 in UTC with milliseconds, so text order is time order."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds") if dt else None
