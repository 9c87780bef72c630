"""Work handed to other threads for delivery, counted per item, stopped by the first error.

:class:`Outstanding` is the bookkeeping every concurrent target needs: how
much work of each item is accepted but not finished (so ``finish_item``
returns only once its item is settled), and the first engine error any of
it raised, which stops the rest and is raised in the producer's thread at
its next call.

:class:`SendPool` runs that work for targets whose throughput is limited by
latency, not bandwidth (one request per record or per small group): a few
requests in flight multiply it. With ``workers == 1`` the work runs inline in
the caller's thread (no thread is started, order is kept). Otherwise a small
thread pool runs it, and a semaphore bounds the work accepted but not
finished, which bounds memory: queued work holds references to its source
chunk for lineage.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from engine.contracts import Item
from engine.errors import EngineError, TargetError


class Outstanding:
    """Work accepted per item but not finished, and the first error that stops all of it."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.open: dict[str, int] = {}
        self.error: EngineError | None = None

    def check(self) -> None:
        """Raise the first error any work raised (in the producer's thread)."""
        if self.error is not None:
            raise self.error

    def add(self, item: Item) -> None:
        """One more piece of ``item``'s work was accepted."""
        with self.cond:
            self.open[item.uri] = self.open.get(item.uri, 0) + 1

    def done(self, item: Item) -> None:
        """One piece of ``item``'s work finished (settled, or failed)."""
        with self.cond:
            self.open[item.uri] = self.open.get(item.uri, 1) - 1
            self.cond.notify_all()

    def fail(self, exc: EngineError) -> None:
        """Work failed: remember the first error, wake whoever waits."""
        with self.cond:
            if self.error is None:
                self.error = exc
            self.cond.notify_all()

    def wait_item(self, item: Item) -> None:
        """Return once every piece of ``item``'s work has finished; raise the first error instead."""
        with self.cond:
            while self.open.get(item.uri, 0) and self.error is None:
                self.cond.wait(0.5)
            self.open.pop(item.uri, None)
        self.check()

    def wait_all(self) -> None:
        """Return once all work has finished; raise the first error instead."""
        with self.cond:
            while any(self.open.values()) and self.error is None:
                self.cond.wait(0.5)
        self.check()


class SendPool(Outstanding):
    """At most ``workers`` tasks at once, ``2 × workers`` accepted; inline with one worker."""

    def __init__(self, workers: int, *, name: str) -> None:
        super().__init__()
        self.workers = max(1, workers)
        self.executor = (
            ThreadPoolExecutor(self.workers, thread_name_prefix=name) if self.workers > 1 else None
        )
        self.slots = threading.Semaphore(self.workers * 2)

    def submit(self, item: Item, task: Callable[[], None]) -> None:
        """Run ``task`` for ``item`` now (one worker) or on the pool (blocks while the pool is full)."""
        self.check()
        if self.executor is None:
            task()
            return
        while not self.slots.acquire(timeout=0.2):
            self.check()
        self.add(item)
        self.executor.submit(self._run, item, task)

    def _run(self, item: Item, task: Callable[[], None]) -> None:
        try:
            if self.error is None:
                task()
        except EngineError as exc:
            self.fail(exc)
        except Exception as exc:
            self.fail(TargetError(f"unexpected failure while sending: {type(exc).__name__}: {exc}"))
        finally:
            self.slots.release()
            self.done(item)

    def close(self) -> None:
        """Stop the threads; queued work is dropped (harmless twice)."""
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
