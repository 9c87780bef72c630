"""Checkpoints for the per-record Fluent targets: what is settled, and what may have been sent.

Records of a file are sent out of order (several requests in flight), so the
checkpoint's ``acked`` is the longest prefix of the file whose records are
all settled (applied or rejected). Before a record beyond ``reserved`` is
handed to a sender, ``reserved`` moves a window ahead and is saved first: a
record past ``reserved`` has certainly not been sent. After an interruption,
the next run skips the acknowledged prefix, and records in
``(acked, reserved]`` are *doubtful*: they may have reached Fluent before
the process died, so the target settles them the way it settles an
ambiguous write (event log, upsert lookup) instead of sending them blindly.
"""

from __future__ import annotations

import collections
import threading
import time
from datetime import UTC, datetime

from engine.contracts import Batch, Checkpoint, Item, RunContext

SAVE_EVERY = 1.0  # seconds between checkpoint writes while records settle


class _File:
    def __init__(self, acked: int = 0, reserved: int = 0) -> None:
        self.acked = acked
        self.reserved = reserved
        #: (position, when it was handed out) of records not yet settled, in file order
        self.open: collections.deque[tuple[int, datetime]] = collections.deque()
        self.done: set[int] = set()
        self.saved_at = 0.0


class Progress:
    def __init__(self, run: RunContext, window: int) -> None:
        self.run = run
        self.window = max(1, window)
        self.files: dict[str, _File] = {}
        #: per file: (acked, reserved, when) of an interrupted run
        self.doubtful: dict[str, tuple[int, int, datetime]] = {}
        self.lock = threading.Lock()

    @staticmethod
    def position(batch: Batch, i: int) -> int:
        return batch.chunk.positions[batch.index[i]]

    def resume(self, item: Item, saved: Checkpoint) -> int:
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
            self.files[item.uri] = _File(acked, acked)
        return acked

    def doubt(self, batch: Batch, i: int) -> datetime | None:
        """When the interrupted run may have sent this record (None: it certainly did not)."""
        window = self.doubtful.get(batch.chunk.item.uri)
        if window is None:
            return None
        acked, reserved, at = window
        return at if acked < self.position(batch, i) <= reserved else None

    def sending(self, batch: Batch, i: int) -> None:
        """Record ``i`` is about to be handed to a sender."""
        item = batch.chunk.item
        position = self.position(batch, i)
        with self.lock:  # saved under the lock: a checkpoint never goes back
            state = self.files.setdefault(item.uri, _File())
            state.open.append((position, datetime.now(UTC)))
            if position <= state.reserved:
                return
            state.reserved = position + self.window
            self.run.checkpoints.save(item, self._data(state))

    def settled(self, batch: Batch, i: int) -> None:
        item = batch.chunk.item
        position = self.position(batch, i)
        with self.lock:
            state = self.files.setdefault(item.uri, _File())
            state.done.add(position)
            while state.open and state.open[0][0] in state.done:
                state.done.discard(state.open[0][0])
                state.acked = state.open.popleft()[0]
            now = time.monotonic()
            if now - state.saved_at < SAVE_EVERY:
                return
            state.saved_at = now
            self.run.checkpoints.save(item, self._data(state))

    def _data(self, state: _File) -> Checkpoint:
        since = state.open[0][1] if state.open else datetime.now(UTC)
        return Checkpoint(self.run.run_id, state.acked, {"reserved": state.reserved, "at": since.isoformat()})

    def finished(self, item: Item) -> None:
        with self.lock:
            self.files.pop(item.uri, None)
        self.doubtful.pop(item.uri, None)
