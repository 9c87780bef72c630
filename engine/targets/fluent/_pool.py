"""Bounded concurrent sending for the per-record Fluent targets (events, GraphQL).

Those targets make one request per event or per group of aliased mutations,
so latency, not bandwidth, limits them: a few requests in flight multiply
throughput. With ``workers == 1`` the work runs inline in the caller's
thread (no thread is started, order is kept). Otherwise a small thread pool
runs it, and a semaphore bounds the work accepted but not finished, which
bounds memory: queued work holds references to its source chunk for lineage.

The first engine error raised by any task stops the pool: queued tasks are
skipped and the error is raised in the producer's thread at its next call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from engine.contracts import Item
from engine.errors import EngineError, TargetError


class SendPool:
    def __init__(self, workers: int, *, name: str) -> None:
        self.workers = max(1, workers)
        self.executor = (
            ThreadPoolExecutor(self.workers, thread_name_prefix=name) if self.workers > 1 else None
        )
        self.slots = threading.Semaphore(self.workers * 2)
        self.cond = threading.Condition()
        self.open: dict[str, int] = {}
        self.error: EngineError | None = None

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def submit(self, item: Item, task: Callable[[], None]) -> None:
        """Run ``task`` for ``item`` now (one worker) or on the pool (blocks while the pool is full)."""
        self.check()
        if self.executor is None:
            task()
            return
        while not self.slots.acquire(timeout=0.2):
            self.check()
        with self.cond:
            self.open[item.uri] = self.open.get(item.uri, 0) + 1
        self.executor.submit(self._run, item, task)

    def _run(self, item: Item, task: Callable[[], None]) -> None:
        try:
            if self.error is None:
                task()
        except EngineError as exc:
            self._fail(exc)
        except Exception as exc:
            self._fail(TargetError(f"unexpected failure while sending: {type(exc).__name__}: {exc}"))
        finally:
            self.slots.release()
            with self.cond:
                self.open[item.uri] = self.open.get(item.uri, 1) - 1
                self.cond.notify_all()

    def _fail(self, exc: EngineError) -> None:
        with self.cond:
            if self.error is None:
                self.error = exc
            self.cond.notify_all()

    def wait_item(self, item: Item) -> None:
        """Return once every task submitted for ``item`` has finished."""
        with self.cond:
            while self.open.get(item.uri, 0) and self.error is None:
                self.cond.wait(0.5)
            self.open.pop(item.uri, None)
        self.check()

    def wait_all(self) -> None:
        with self.cond:
            while any(self.open.values()) and self.error is None:
                self.cond.wait(0.5)
        self.check()

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
