"""The connector's run lock: taken atomically, renewed while the run works.

It is released only by its owner (see the state store for takeover of stale locks).
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Any

from engine.errors import LockedError, StateError
from engine.plan import LockPolicy


class RunLock:
    """The connector's lock for one run; a background thread renews it at a third of its TTL."""

    def __init__(self, run: Any, policy: LockPolicy | None) -> None:
        self.run = run
        self.enabled = policy is not None
        self.ttl = policy.ttl if policy is not None else 900.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._held = False

    def acquire(self) -> None:
        """Take the lock or raise :class:`~engine.errors.LockedError` naming its holder."""
        if not self.enabled:
            return
        run = self.run
        holder = run.state.lock_acquire(
            run.connector, run.owner, self.ttl, host=socket.gethostname(), pid=os.getpid()
        )
        if holder is not None:
            raise LockedError(
                f"another run of '{run.connector}' is in progress (held by {holder['host']} pid {holder['pid']} "
                f"since {holder['acquired']}, expires {holder['expires']})",
                holder=holder,
            )
        self._held = True
        self._thread = threading.Thread(target=self._renew, name="engine-lock-renewal", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        run = self.run
        while not self._stop.wait(self.ttl / 3):
            try:
                if not run.state.lock_renew(run.connector, run.owner, self.ttl):
                    run.log.error("lost the run lock (taken over by another run)")
                    return
            except StateError as exc:
                run.log.warning("lock renewal failed", error=str(exc))

    def release(self) -> None:
        """Stop renewing and release the lock, only if this run still owns it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._held:
            try:
                self.run.state.lock_release(self.run.connector, self.run.owner)
            except StateError as exc:
                self.run.log.warning("lock release failed", error=str(exc))
            self._held = False
