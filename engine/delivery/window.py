"""Checkpoint windows: what a target saves about each item while it delivers it.

A checkpoint (:class:`~engine.contracts.Checkpoint`) says that every record
of an item up to ``acked`` is settled, so a resumed run skips them. Past that
prefix lies a *window* of records that may have reached the other side
before the process died: a resumed run must settle those the way it settles
an ambiguous write (look them up, reconcile) instead of sending them
blindly. A :class:`CheckpointWindow` keeps, per item, the prefix and that
window, and saves them (under its lock, so a checkpoint never goes back);
there are two kinds:

* :class:`RecordWindow`, for targets that send records out of order
  (several requests in flight): ``acked`` is the longest prefix whose
  records are all settled; before a record beyond ``reserved`` is handed to a
  sender, ``reserved`` moves a window ahead and is saved first, so a record
  past ``reserved`` has certainly not been sent. Records in ``(acked,
  reserved]`` are *doubtful* after an interruption.
* :class:`BatchWindow`, for targets that send records in batches, one at a
  time, whose results come later: ``acked`` is the end of the last batch
  sent, ``pending`` the batches whose results are awaited (polled again after
  an interruption), ``inflight`` the batch being sent (looked up before it is
  sent again).
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import threading
import time
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from engine.contracts import Batch, Checkpoint, Item, RunContext

S = TypeVar("S")


class CheckpointWindow(Generic[S]):
    """Per item being delivered: the settled prefix and the window past it, saved as its checkpoint."""

    def __init__(self, run: RunContext) -> None:
        self.run = run
        self.lock = threading.Lock()
        self.items: dict[str, S] = {}

    def _new(self) -> S:
        raise NotImplementedError

    def _checkpoint(self, state: S) -> Checkpoint:
        raise NotImplementedError

    def _state(self, item: Item) -> S:
        """``item``'s state, made when first needed (the caller holds the lock)."""
        state = self.items.get(item.uri)
        if state is None:
            state = self.items[item.uri] = self._new()
        return state

    def _save(self, item: Item, state: S) -> None:
        """Save ``item``'s checkpoint (the caller holds the lock: saves happen in order)."""
        self.run.checkpoints.save(item, self._checkpoint(state))

    def finished(self, item: Item) -> None:
        """``item`` is settled as a whole: forget it."""
        with self.lock:
            self.items.pop(item.uri, None)


# -- records sent out of order -------------------------------------------------------------------

SAVE_EVERY = 1.0  # seconds between checkpoint writes while records settle


class _Records:
    def __init__(self, acked: int = 0, reserved: int = 0) -> None:
        self.acked = acked
        self.reserved = reserved
        #: (position, when it was handed out) of records not yet settled, in file order
        self.open: collections.deque[tuple[int, datetime]] = collections.deque()
        self.done: set[int] = set()
        self.saved_at = 0.0


class RecordWindow(CheckpointWindow[_Records]):
    """The settled prefix of records sent out of order, and ``size`` records reserved past it."""

    def __init__(self, run: RunContext, size: int) -> None:
        super().__init__(run)
        self.size = max(1, size)
        #: per item: (acked, reserved, when) of an interrupted run
        self.doubtful: dict[str, tuple[int, int, datetime]] = {}

    def _new(self) -> _Records:
        return _Records()

    def _checkpoint(self, state: _Records) -> Checkpoint:
        since = state.open[0][1] if state.open else datetime.now(UTC)
        return Checkpoint(self.run.run_id, state.acked, {"reserved": state.reserved, "at": since.isoformat()})

    @staticmethod
    def position(batch: Batch, i: int) -> int:
        """The position in its item of mapped record ``i`` of ``batch``."""
        return batch.chunk.positions[batch.index[i]]

    def resume(self, item: Item, saved: Checkpoint) -> int:
        """Take up ``item`` after an interruption: the records to skip; the window becomes doubtful."""
        acked = saved.acked
        target = saved.target
        reserved = int(target.get("reserved", acked))
        if reserved > acked:
            at = datetime.fromisoformat(target["at"]) if target.get("at") else datetime.now(UTC)
            self.doubtful[item.uri] = (acked, reserved, at)
            self.run.log.info(
                "records may have been sent by the interrupted run; settling them before sending",
                file=item.name,
                after=acked,
                up_to=reserved,
            )
        with self.lock:
            self.items[item.uri] = _Records(acked, acked)
        return acked

    def doubt(self, batch: Batch, i: int) -> datetime | None:
        """When the interrupted run may have sent this record (None: it certainly did not)."""
        window = self.doubtful.get(batch.chunk.item.uri)
        if window is None:
            return None
        acked, reserved, at = window
        return at if acked < self.position(batch, i) <= reserved else None

    def sending(self, batch: Batch, i: int) -> None:
        """Record ``i`` is about to be handed to a sender (the window moves ahead, saved, first)."""
        item = batch.chunk.item
        position = self.position(batch, i)
        with self.lock:
            state = self._state(item)
            state.open.append((position, datetime.now(UTC)))
            if position <= state.reserved:
                return
            state.reserved = position + self.size
            self._save(item, state)

    def settled(self, batch: Batch, i: int) -> None:
        """Record ``i`` is applied or rejected; the prefix grows over every settled record."""
        item = batch.chunk.item
        position = self.position(batch, i)
        with self.lock:
            state = self._state(item)
            state.done.add(position)
            while state.open and state.open[0][0] in state.done:
                state.done.discard(state.open[0][0])
                state.acked = state.open.popleft()[0]
            now = time.monotonic()
            if now - state.saved_at < SAVE_EVERY:
                return
            state.saved_at = now
            self._save(item, state)

    def finished(self, item: Item) -> None:
        """``item`` is settled as a whole: forget it and its doubtful window."""
        super().finished(item)
        self.doubtful.pop(item.uri, None)


# -- batches sent one at a time, results later ---------------------------------------------------


@dataclasses.dataclass
class _Batches:
    acked: int = 0
    #: batch id -> what the target needs to collect its results (job, record spans, size)
    pending: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    #: the batch being sent, to look up before it is sent again
    inflight: dict[str, Any] | None = None


class BatchWindow(CheckpointWindow[_Batches]):
    """The end of the last batch sent, the batches whose results are awaited, and the one in flight."""

    def _new(self) -> _Batches:
        return _Batches()

    def _checkpoint(self, state: _Batches) -> Checkpoint:
        # a value, taken under the window's lock: the sender and the poller change the live dicts
        # while the checkpoint is being written to the state store
        data = copy.deepcopy({"pending": state.pending, "inflight": state.inflight})
        return Checkpoint(self.run.run_id, state.acked, data)

    def begin(self, item: Item, acked: int, pending: dict[str, dict[str, Any]]) -> None:
        """Take up ``item`` where an interrupted run left it (saved at once)."""
        with self.lock:
            state = self.items[item.uri] = _Batches(acked, dict(pending))
            self._save(item, state)

    def in_flight(self, item: Item, batch: dict[str, Any]) -> None:
        """``batch`` is about to be sent (saved first: it may arrive even if the answer does not)."""
        with self.lock:
            state = self._state(item)
            state.inflight = batch
            self._save(item, state)

    def sent(self, item: Item, last: int, pending: tuple[str, dict[str, Any]] | None) -> None:
        """The batch ending at position ``last`` arrived; ``pending`` is its id and data when results are awaited."""
        with self.lock:
            state = self._state(item)
            state.acked = max(state.acked, last)
            state.inflight = None
            if pending is not None:
                state.pending[pending[0]] = pending[1]
            self._save(item, state)

    def settled(self, item: Item, batch_id: str) -> None:
        """The results of ``batch_id`` are reported."""
        with self.lock:
            state = self._state(item)
            state.pending.pop(batch_id, None)
            self._save(item, state)
