"""The connector's run lock and the run's claims: taken atomically, renewed while the run works.

The lock is released only by its owner (see the state store for takeover of
stale locks). The items the run claimed are renewed on the same beat, so a
claim outlives its ``ttl`` exactly as long as its worker lives: a worker on
another host that dies loses its items to others once the ttl has passed.
Each renewal also checks that the state store's file is still the one the
run opened; a lock taken over or a store deleted under the run makes
:meth:`RunLock.check` fail, and the runner calls it before it sends or
publishes anything.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Any

from engine.errors import LockedError, StateError
from engine.plan import LockPolicy

#: how long a claim lasts past its last renewal when the spec has no lock (``state.lock: false``)
CLAIM_TTL = 900.0


class RunLock:
    """The connector's lock for one run; a background thread renews it and the run's claims.

    It renews at a third of the TTL. ``claim_ttl`` (None: the run claims
    nothing) is how long each claim lasts past its last renewal.
    """

    def __init__(self, run: Any, policy: LockPolicy | None, *, claim_ttl: float | None = None) -> None:
        self.run = run
        self.enabled = policy is not None
        self.ttl = policy.ttl if policy is not None else 900.0
        self.claim_ttl = claim_ttl
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._held = False
        #: why the run must stop (the lock was taken over, the store vanished), once known
        self.lost: str | None = None

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
        self._start()

    def start_claims(self) -> None:
        """Renew the run's claims even without a lock (a worker of a coordinated run)."""
        if self.claim_ttl is not None:
            self._start()

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._renew, name="engine-lock-renewal", daemon=True)
            self._thread.start()

    def _renew(self) -> None:
        run = self.run
        beat = min(self.ttl if self._held else float("inf"), self.claim_ttl or float("inf")) / 3
        while not self._stop.wait(beat):
            try:
                run.state.verify()
            except StateError as exc:
                self.lost = exc.message
            else:
                self._renew_once()
            if self.lost:
                run.log.error("the run must stop", reason=self.lost)
                return

    def _renew_once(self) -> None:
        run = self.run
        try:
            if self._held and not run.state.lock_renew(run.connector, run.owner, self.ttl):
                self.lost = f"the run lock of '{run.connector}' was taken over by another run"
            if self.claim_ttl is not None:
                run.state.ledger_renew(run.connector, run.owner, self.claim_ttl)
        except StateError as exc:  # a busy database: the next renewal may succeed
            run.log.warning("lock renewal failed", error=str(exc))

    def check(self) -> None:
        """Raise :class:`~engine.errors.StateError` when the run may not go on.

        The store is checked now (one ``stat``); what the renewal thread
        learned (a lock taken over) is reported too. Called before anything
        is sent or published, so a run that lost its footing delivers
        nothing more.
        """
        if self.lost is None:
            self.run.state.verify()
            return
        raise StateError(
            f"{self.lost}; the run stopped without publishing or committing anything more",
            hint="another run may be working on the same files: check its outputs before running again",
        )

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
