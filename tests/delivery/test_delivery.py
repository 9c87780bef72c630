"""The delivery layer: the send pool stops at the first failure, checkpoint windows never go back."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from engine.contracts import Batch, Checkpoint, Chunk, Item
from engine.delivery.pool import SendPool
from engine.delivery.window import BatchWindow, RecordWindow
from engine.errors import TargetError
from engine.runtime.logs import Log

ITEM = Item(uri="file:///in/a.csv", name="a.csv")


class Saved:
    """Where a window's checkpoints go, in the order they were saved."""

    def __init__(self) -> None:
        self.saves: list[Checkpoint] = []

    def save(self, item: Item, checkpoint: Checkpoint) -> None:
        self.saves.append(checkpoint)


def run() -> Any:
    return SimpleNamespace(run_id="R1", checkpoints=Saved(), log=Log())


def batch(n: int) -> Batch:
    chunk = Chunk(ITEM, [{} for _ in range(n)], list(range(1, n + 1)))
    return Batch(chunk, [{} for _ in range(n)], list(range(n)))


def test_one_worker_runs_inline_in_order() -> None:
    pool, done = SendPool(1, name="t"), []
    for n in range(5):
        pool.submit(ITEM, lambda n=n: done.append((n, threading.current_thread().name)))
    pool.wait_item(ITEM)
    assert done == [(n, threading.current_thread().name) for n in range(5)]


def test_the_first_failure_stops_the_pool_and_reaches_the_producer() -> None:
    pool, ran = SendPool(2, name="t"), []

    def fail() -> None:
        raise TargetError("refused")

    def slow(n: int) -> None:
        time.sleep(0.05)
        ran.append(n)

    pool.submit(ITEM, fail)
    with pytest.raises(TargetError, match="refused"):
        for n in range(100):
            pool.submit(ITEM, lambda n=n: slow(n))
    with pytest.raises(TargetError, match="refused"):
        pool.wait_item(ITEM)
    pool.close()
    assert len(ran) < 100  # queued work was dropped, not sent


def test_an_unexpected_exception_is_a_target_error() -> None:
    pool = SendPool(2, name="t")
    pool.submit(ITEM, lambda: [][1])
    with pytest.raises(TargetError, match="unexpected failure while sending: IndexError"):
        pool.wait_all()
    pool.close()
    pool.close()  # harmless twice


def test_the_record_window_saves_the_settled_prefix_and_reserves_ahead(monkeypatch) -> None:
    from engine.delivery import window as module

    monkeypatch.setattr(module, "SAVE_EVERY", 0.0)  # save on every settle here
    r, b = run(), batch(6)
    window = RecordWindow(r, size=3)
    for i in range(6):
        window.sending(b, i)
    # reserved before records 1 and 5 were handed out: nothing past 4, then 8, was sent
    assert [(c.acked, c.target["reserved"]) for c in r.checkpoints.saves] == [(0, 4), (0, 8)]
    for i in (2, 1, 0, 4):  # out of order
        window.settled(b, i)
    assert [c.acked for c in r.checkpoints.saves[2:]] == [0, 0, 3, 3]


def test_a_resumed_record_window_doubts_what_may_have_been_sent() -> None:
    r, b = run(), batch(10)
    window = RecordWindow(r, size=3)
    skip = window.resume(ITEM, Checkpoint("R0", 4, {"reserved": 7, "at": "2026-01-02T03:04:05+00:00"}))
    assert skip == 4
    doubtful = [i + 1 for i in range(10) if window.doubt(b, i) is not None]
    assert doubtful == [5, 6, 7]
    window.finished(ITEM)
    assert window.doubt(b, 5) is None


def test_the_batch_window_saves_in_order_and_never_goes_back() -> None:
    r = run()
    window = BatchWindow(r)
    window.begin(ITEM, 0, {})
    window.in_flight(ITEM, {"job": "J1", "last": 100})
    window.sent(ITEM, 100, ("B1", {"job": "J1", "size": 100}))
    window.in_flight(ITEM, {"job": "J1", "last": 200})
    window.sent(ITEM, 200, ("B2", {"job": "J1", "size": 100}))
    window.settled(ITEM, "B1")
    states = [
        (c.acked, sorted(c.target["pending"]), c.target["inflight"] is not None) for c in r.checkpoints.saves
    ]
    assert states == [
        (0, [], False),
        (0, [], True),
        (100, ["B1"], False),
        (100, ["B1"], True),
        (200, ["B1", "B2"], False),
        (200, ["B2"], False),
    ]
