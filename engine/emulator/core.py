"""One emulator instance's world: settings, clock, store, faults, request log and webhooks.

The HTTP layer (``app``), the control API (``control``) and the Python ``Emulator`` all act on
this object. It is only touched from the server's event loop (the ``Emulator`` marshals its
calls there), so no locks are needed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from engine.emulator import events, jobs, seed
from engine.emulator.clock import Clock
from engine.emulator.faults import FaultRules
from engine.emulator.requestlog import RequestLog
from engine.emulator.responses import ApiError
from engine.emulator.settings import Settings, validate
from engine.emulator.store import Store
from engine.emulator.webhooks import Webhooks


class Core:
    """The state and behaviour switches of one emulator; see the module docstring.

    Raises SeedError or SettingsError when the seed or the overrides are invalid.
    """

    def __init__(
        self, seed_source: str | Path | dict[str, Any] | None = None, overrides: dict[str, Any] | None = None
    ) -> None:
        self.seed = seed.read(seed_source)
        self.overrides = validate(overrides or {})
        self.settings = Settings(self.seed.get("settings"), self.overrides)
        self.clock = Clock(self.settings.clock_start)
        self.faults = FaultRules(self.clock, self.settings.fault_random_seed)
        self.log = RequestLog(self.settings.request_log_limit)
        self.webhooks = Webhooks(self)
        self.transports: dict[tuple[str, int], Any] = {}
        self.shutdown: asyncio.Event | None = None
        self._load()

    def _load(self) -> None:
        self.store = Store()
        self.pending_events: list[str] = []
        self._settled = 0
        seed.apply(self.store, self.seed, self.clock.now_iso())

    # --- lifecycle of state -------------------------------------------------------------

    def reset(self) -> None:
        """Back to the last loaded seed and the start-up settings: state, clock, faults, log."""
        self.settings = Settings(self.seed.get("settings"), self.overrides)
        self.clock = Clock(self.settings.clock_start)
        self.faults = FaultRules(self.clock, self.settings.fault_random_seed)
        self.log.clear()
        self._load()

    def load_seed(self, data: dict[str, Any], merge: bool = False) -> None:
        """Replace the state with a seed (which reset then returns to), or merge it in."""
        if merge:
            seed.apply(self.store, data, self.clock.now_iso())
            return
        self.seed = data
        self.settings = Settings(data.get("settings"), self.overrides)
        self._load()

    def configure(self, changes: dict[str, Any]) -> None:
        """Change settings at run time (until the next reset or seed load)."""
        self.settings.update(changes)
        if "request_log_limit" in changes:
            self.log.resize(self.settings.request_log_limit)

    # --- time-driven work -------------------------------------------------------------

    def process_due(self) -> None:
        """Advance batches and async events whose emulator time has come."""
        if self.settings.batch_seconds_per_step > 0:
            for batch in self._unfinished():
                jobs.progress(self, batch)
        events.process_due(self)

    def _unfinished(self) -> list[dict[str, Any]]:
        """Batches not yet COMPLETE; the settled prefix of the table is skipped cheaply."""
        ids, rows = self.store.batches.ids, self.store.batches.rows
        while self._settled < len(ids) and rows[ids[self._settled]]["status"] == "COMPLETE":
            self._settled += 1
        return [rows[i] for i in ids[self._settled :] if rows[i]["status"] != "COMPLETE"]

    def tick(self) -> dict[str, int]:
        """Finish all pending work now: every batch not held by a fault completes."""
        completed = 0
        for batch in self._unfinished():
            batch["_forced"] = 2
            jobs.progress(self, batch)
            completed += batch["status"] == "COMPLETE"
        return {"batches_completed": completed, "events_handled": events.run_all(self)}

    def advance(self, seconds: float) -> None:
        """Move the emulator clock ``seconds`` ahead and run the work that became due."""
        self.clock.advance(seconds)
        self.process_due()

    async def sleep(self, seconds: float | None) -> None:
        """Sleep (or wait forever when None) but wake as soon as the emulator stops."""
        if self.shutdown is None:
            self.shutdown = asyncio.Event()
        try:
            await asyncio.wait_for(self.shutdown.wait(), seconds)
        except TimeoutError:
            pass

    # --- tenancy ----------------------------------------------------------------------

    def account_id(self, retailer_id: str | None) -> str | None:
        """The account owning a retailer; without a known retailer, the first account (None if none)."""
        retailer = self.store.retailers.get(retailer_id) if retailer_id else None
        return retailer["accountId"] if retailer else next(iter(self.store.accounts), None)

    def require_retailer(self, principal: dict[str, Any], retailer_id: str) -> None:
        """Raise ApiError(403) unless the caller's token covers ``retailer_id``."""
        if retailer_id not in principal["retailerIds"]:
            raise ApiError(403, f"Access denied: the caller may not use retailer {retailer_id}")
