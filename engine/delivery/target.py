"""The small base of targets that send records from a pool of threads.

The ``fluent.event``, ``fluent.graphql`` and ``http`` targets make one
request per record or per small group; they send from a
:class:`~engine.delivery.pool.SendPool` and keep a
:class:`~engine.delivery.window.RecordWindow` per item. What they share is
here: a record's position is reserved before it is handed to a sender, a
resumed item starts after its settled prefix, ``finish_item`` returns once
the item's requests are all settled, and closing stops the threads. Each
target says only how it builds and judges its requests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from typing_extensions import override

from engine.contracts import Batch, Checkpoint, Item, RunContext, Target
from engine.delivery.pool import SendPool
from engine.delivery.window import RecordWindow


class PooledTarget(Target):
    """A target sending from a bounded pool, checkpointed by a record window.

    Subclasses call :meth:`start` in :meth:`open` and hand each request to
    :meth:`submit`; a target that buffers records overrides :meth:`flush`.
    """

    pool: SendPool | None = None
    window: RecordWindow

    def start(self, run: RunContext, *, workers: int, window: int, name: str) -> None:
        """Start sending for ``run``: ``workers`` requests at once, ``window`` records reserved ahead."""
        self.window = RecordWindow(run, window)
        self.pool = SendPool(workers, name=name)

    def submit(self, item: Item, members: Iterable[tuple[Batch, int]], task: Callable[[], None]) -> None:
        """Run ``task``, the request carrying ``members`` (records of ``item``), on the pool."""
        assert self.pool is not None
        for batch, i in members:
            self.window.sending(batch, i)
        self.pool.submit(item, task)

    def flush(self, item: Item) -> None:
        """Send what is still buffered for ``item`` (nothing, unless the target buffers)."""

    @override
    def resume(self, item: Item, checkpoint: Checkpoint) -> int:
        """Continue an item an interrupted run was sending: its window's records are settled before any is resent."""
        return self.window.resume(item, checkpoint)

    @override
    def finish_item(self, item: Item) -> None:
        """Return once every request of ``item`` is settled (the first failure is raised instead)."""
        if self.pool is not None:
            self.flush(item)
            self.pool.wait_item(item)
            self.window.finished(item)

    @override
    def wait_settled(self, item: Item) -> None:
        """Return once every request of ``item`` so far is settled; the item's window stays open."""
        if self.pool is not None:
            self.flush(item)
            self.pool.wait_item(item)

    @override
    def finish_run(self) -> None:
        """Return once every request of the run is settled."""
        if self.pool is not None:
            self.pool.wait_all()

    @override
    def close(self) -> None:
        """Stop the pool's threads (harmless twice)."""
        if self.pool is not None:
            self.pool.close()
            self.pool = None
        super().close()
