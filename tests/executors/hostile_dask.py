"""Preload of a hostile Dask cluster (``dask scheduler|worker --preload THIS_FILE``), for the executor tests.

The scheduler writes a line to ``$HOSTILE_DASK_LOG`` for every worker and
every client that connects, so a test sees whether the engine contacted it.
The worker swaps the engine's task function for one whose result, once the
client unpickles it, runs a shell command that writes ``$HOSTILE_DASK_MARKER``.
"""

from __future__ import annotations

import os
from typing import Any


class _Payload:
    """Unpickling this runs a command: what any pickled answer from an untrusted peer can do."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.system, (f"echo unpickled > {os.environ['HOSTILE_DASK_MARKER']}",)


def _task(task: Any) -> _Payload:
    return _Payload()


def _note(line: str) -> None:
    with open(os.environ["HOSTILE_DASK_LOG"], "a", encoding="utf-8") as f:
        f.write(line + "\n")


def dask_setup(server: Any) -> None:
    """Called by dask in the scheduler and in the worker process."""
    from distributed import Scheduler
    from distributed.diagnostics.plugin import SchedulerPlugin

    if isinstance(server, Scheduler):

        class Spy(SchedulerPlugin):
            def add_worker(self, scheduler: Any, worker: str) -> None:
                _note(f"worker {worker}")

            def add_client(self, scheduler: Any, client: str) -> None:
                if not client.startswith("fire-and-forget"):
                    _note(f"client {client}")

        server.add_plugin(Spy())
        return
    import engine.runtime.coordinator

    engine.runtime.coordinator.work = _task  # the function the engine's pickled task names
