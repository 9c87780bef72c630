"""A pool of worker processes on this machine, sharing the run's files.

```yaml
executor: {type: processes, workers: 4, split_size: 256MB}
```

Each worker compiles the spec and processes its share of the files with its
own target (so ``fluent.batch`` with ``job: per_run`` makes one job per
worker, and a ``file`` target with ``per: run`` one output per worker). The
state store is the SQLite file every worker shares; files are claimed
atomically, so no file is taken twice. ``engine run --workers N`` is the same
as this block with ``workers: N``. With ``split_size``, a CSV or JSON Lines
file larger than that is read in parts by several workers (see
``docs/scale.md``).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from engine.contracts import Plugin
from engine.units import size

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "workers": {
            "type": "integer",
            "minimum": 1,
            "maximum": 256,
            "description": "worker processes (default: the number of CPUs)",
        },
        "split_size": size(
            "files larger than this are read in parts of about this size by several workers "
            "(CSV and JSON Lines; default: every file whole)"
        ),
        "start_method": {
            "enum": ["spawn", "forkserver"],
            "default": "spawn",
            "description": "how workers start (spawn is the safest with threads)",
        },
    },
}


@dataclasses.dataclass
class ProcessesOptions:
    """The validated ``processes`` executor block; no ``workers`` means one per CPU."""

    workers: int | None
    split_size: int | None
    start_method: str


class ProcessesExecutor(Plugin):
    """Runs the workers' tasks in a fresh process pool on this machine, one pool per run."""

    kind = "executors"
    name = "processes"
    summary = "a pool of processes on this machine, files shared between them"
    schema = SCHEMA
    Options = ProcessesOptions
    #: every worker runs on this machine (so a SQLite store is shared safely)
    spans_hosts = False

    @property
    def workers(self) -> int:
        """How many shares the coordinator splits the files into: the option, else the CPU count."""
        return self.options.workers or os.cpu_count() or 1

    @property
    def split_size(self) -> int | None:
        """Files larger than this many bytes are read in parts (None: every file whole)."""
        return self.options.split_size

    def map(self, fn: Callable[[Any], Any], tasks: list[Any]) -> list[Any]:
        """Run ``fn(task)`` for every task in the pool and wait for all of them.

        ``fn`` and the tasks must be picklable; the pool is no larger than the
        number of tasks.

        Returns:
            One entry per task, in order: its result, or the exception it raised.
        """
        context = multiprocessing.get_context(self.options.start_method)
        with ProcessPoolExecutor(max_workers=min(self.workers, len(tasks)) or 1, mp_context=context) as pool:
            futures = [pool.submit(fn, task) for task in tasks]
            return [f.exception() or f.result() for f in futures]
