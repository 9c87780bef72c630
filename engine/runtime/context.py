"""The run context plugins see: run id, clock, `$context` values, state, outcomes."""

from __future__ import annotations

import copy
import os
import secrets
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.contracts import Checkpoint, Checkpoints, Connection, Item, StateStore
from engine.errors import ConfigError
from engine.runtime.logs import Log
from engine.runtime.outcomes import RunOutcomes


def new_run_id(now: datetime) -> str:
    """A sortable, unique run id: the start time in UTC and a random suffix."""
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


class Run:
    """Implements :class:`engine.contracts.RunContext`."""

    def __init__(
        self,
        *,
        connector: str,
        spec_dir: Path,
        dry_run: bool,
        connections: dict[str, Connection],
        context: dict[str, Any],
        outcomes: RunOutcomes,
        log: Log,
        state: StateStore,
        run_id: str | None = None,
        started: datetime | None = None,
    ) -> None:
        self.started = started or datetime.now(UTC)
        self.run_id = run_id or new_run_id(self.started)
        self.connector = connector
        self.spec_dir = spec_dir
        self.dry_run = dry_run
        self._connections = connections
        self._opened: set[str] = set()
        self.log = log
        self.state = state
        self.outcomes = outcomes
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{self.run_id}"
        self.output_fields: list[str] | None = None
        #: a backfill window (``engine run --since/--until``); sources with watermarks use it
        #: instead of their stored watermark and leave that watermark where it is
        self.since: str | None = None
        self.until: str | None = None
        #: where targets save acknowledged progress inside a file (see runtime/checkpoints.py)
        self.checkpoints: Checkpoints = _NoCheckpoints()
        #: notes from plugins for the run report (see :meth:`note`)
        self.notes: list[str] = []
        self.context: dict[str, Any] = {
            "connector": connector,
            "run_id": self.run_id,
            "run_started": self.started.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{self.started.microsecond // 1000:03d}Z",
        }
        for conn in connections.values():
            self.context.update(conn.static_context())
        self.context.update(context)
        _aliases(self.context)

    @classmethod
    def offline(cls, connector: str, spec_dir: Path, connections: dict[str, Connection], log: Log) -> Run:
        """A run that only lends connections, for commands that ask a server something outside a run.

        It records no outcomes and keeps no state (nothing it opens writes records).
        """
        return cls(
            connector=connector,
            spec_dir=spec_dir,
            dry_run=True,
            connections=connections,
            context={},
            outcomes=RunOutcomes(None, "reject", log, "offline"),
            log=log,
            state=None,  # type: ignore[arg-type]  # nothing a lent connection does touches state
            run_id="offline",
        )

    def connection(self, name: str) -> Any:
        """The connection named ``name``, opened on first use and closed with the run."""
        conn = self._connections.get(name)
        if conn is None:
            raise ConfigError(f"connection '{name}' is not defined")
        if name not in self._opened:
            conn.open(self)
            self._opened.add(name)
            self.context.update(conn.run_context())
            _aliases(self.context)
        return conn

    def for_route(self, route: str, checkpoints: Checkpoints, step: str | None = None) -> Run:
        """This run as one route's (or step's) target sees it: its own outcomes view and checkpoints, all else shared."""
        view = copy.copy(self)
        view.outcomes = self.outcomes.for_route(route, step)
        view.checkpoints = checkpoints
        return view

    def progress(self, **counts: int) -> None:
        """Progress counters from plugins (ignored outside a terminal run)."""
        pass

    def note(self, text: str) -> None:
        """A line for the report's notes (the same line twice is kept once)."""
        if text not in self.notes:
            self.notes.append(text)


class _NoCheckpoints:
    """Checkpoints before the run set its own: nothing is loaded or saved."""

    def load(self, item: Item) -> Checkpoint | None:
        return None

    def save(self, item: Item, checkpoint: Checkpoint) -> None:
        pass

    def clear(self, item: Item) -> None:
        pass


def _aliases(ctx: dict[str, Any]) -> None:
    """SDK mappings say ``$context.retailerId``; the engine's name is ``retailer_id``."""
    if "retailer_id" in ctx and "retailerId" not in ctx:
        ctx["retailerId"] = ctx["retailer_id"]
    elif "retailerId" in ctx and "retailer_id" not in ctx:
        ctx["retailer_id"] = ctx["retailerId"]
