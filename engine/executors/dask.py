"""A Dask distributed cluster: for users who outgrow one machine.

```yaml
executor: {type: dask, workers: 4}
```

Without ``address`` a local cluster of ``workers`` processes is started for
the run; with ``address: tcp://scheduler:8786`` an existing cluster is used
and ``workers`` is how many tasks the files are shared into. That cluster
runs the tasks and sends back pickled results, which this process loads:
whoever runs it can run code in the engine, so an ``address`` counts as
custom code and needs ``--allow-custom-code`` (``engine validate`` reports it
at ``executor.address`` otherwise; nothing is contacted).

Workers on other hosts share nothing with this one but the state store and
the services the spec reads and writes: point ``state.store`` at a store
every host reaches (``{type: postgres, dsn: ...}``; a SQLite file belongs to
one machine). Each worker compiles the spec sent with its task; secrets are
resolved on the workers, so the same environment variables must be set
there, and a local source or ``${file:...}`` reference must exist at the same
path on every host. Reports and rejects come back as values. With
``split_size``, a CSV or JSON Lines file larger than that is read in parts
by several workers. Needs ``pip install 'engine[dask]'``; see ``docs/scale.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from engine.contracts import Plugin
from engine.errors import ConfigError
from engine.units import size

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "address": {
            "type": "string",
            "description": "scheduler address; default: a local cluster. Needs --allow-custom-code",
            "x-custom-code": "a Dask cluster at this address runs the tasks and sends back pickled "
            "results that this process loads, so whoever runs that cluster can run code here",
        },
        "split_size": size(
            "files larger than this are read in parts of about this size by several workers "
            "(CSV and JSON Lines; default: every file whole)"
        ),
        "workers": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1024,
            "default": 2,
            "description": "worker processes of the local cluster (or tasks for a remote one)",
        },
    },
}


@dataclasses.dataclass
class DaskOptions:
    """The validated ``dask`` executor block; no ``address`` means a local cluster for the run."""

    address: str | None
    split_size: int | None
    workers: int


class DaskExecutor(Plugin):
    """Runs the workers' tasks on a Dask cluster, started for the run or reached at ``address``."""

    kind = "executors"
    name = "dask"
    summary = "a Dask distributed cluster (local or remote)"
    schema = SCHEMA
    Options = DaskOptions

    @property
    def workers(self) -> int:
        """How many shares the coordinator splits the files into."""
        return self.options.workers

    @property
    def spans_hosts(self) -> bool:
        """Whether workers may run on other machines: a cluster at an ``address`` (a local one does not)."""
        return bool(self.options.address)

    @property
    def split_size(self) -> int | None:
        """Files larger than this many bytes are read in parts (None: every file whole)."""
        return self.options.split_size

    def map(self, fn: Callable[[Any], Any], tasks: list[Any]) -> list[Any]:
        """Run ``fn(task)`` for every task on the cluster and wait for all of them.

        ``fn`` and the tasks must be picklable. A local cluster started here is
        shut down before returning.

        Returns:
            One entry per task, in order: its result, or the exception it raised.

        Raises:
            ConfigError: dask.distributed is not installed.
        """
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError(
                "the dask executor needs dask.distributed: pip install 'engine[dask]'"
            ) from None
        cluster = None
        if self.options.address:
            client = Client(self.options.address)
        else:
            cluster = LocalCluster(
                n_workers=min(self.workers, len(tasks)) or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
            )
            client = Client(cluster)
        try:
            futures = client.map(fn, tasks, pure=False)
            out: list[Any] = []
            for f in futures:
                try:
                    out.append(f.result())
                except Exception as exc:
                    out.append(exc)
            return out
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
