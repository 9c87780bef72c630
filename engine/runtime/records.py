"""Per-record outcomes of one run, kept when an answer is built from them.

A synchronous webhook answer can list each record of the request with what
happened to it and what the target answered (the created order's id). The
run's counters do not say which record that was, so when asked
(``RunOptions.records``) the run also keeps one
:class:`~engine.contracts.RecordOutcome` per record read, keyed by item and
position, fed by the same calls that count: the runner registers what it
reads and sends, :class:`~engine.runtime.outcomes.RunOutcomes` forwards
rejects, acceptances and answers. Only a served request's records are kept
this way; file runs never pay for it.
"""

from __future__ import annotations

import threading
from typing import Any

from engine.contracts import Batch, Chunk, Item, RecordOutcome


class RecordLog:
    """Every record of a run with its outcome, in the order read (thread-safe)."""

    def __init__(self) -> None:
        self._records: dict[tuple[str, int], RecordOutcome] = {}
        self._items: dict[tuple[str, int], str] = {}
        self._lock = threading.Lock()

    def _get(self, uri: str, row: int) -> RecordOutcome:
        key = (uri, row)
        found = self._records.get(key)
        if found is None:
            found = self._records[key] = RecordOutcome(row=row, input=None)
            self._items[key] = uri
        return found

    # -- fed by the runner -------------------------------------------------------------

    def read(self, chunk: Chunk) -> None:
        """The records of ``chunk`` as parsed (and the ones its parser refused)."""
        uri = chunk.item.uri
        with self._lock:
            for i, row in enumerate(chunk.positions):
                self._get(uri, row).input = chunk.original(i)
            for reject in chunk.rejects or ():
                self._get(uri, reject.position).input = reject.raw

    def sending(self, batch: Batch) -> None:
        """The mapped records of ``batch`` go to the target now."""
        uri = batch.chunk.item.uri
        with self._lock:
            for i, record in enumerate(batch.records):
                entry = self._get(uri, _row(batch, i))
                entry.output = record
                entry.status = "sending"

    # -- fed by the run's outcomes ---------------------------------------------------

    def refused(
        self,
        item: Item,
        row: Any,
        stage: str,
        reasons: list[str],
        *,
        response: Any = None,
        skipped: bool = False,
    ) -> None:
        """The record at ``row`` was rejected at ``stage`` (or skipped by the invalid-record policy)."""
        if not isinstance(row, int):
            return
        with self._lock:
            entry = self._get(item.uri, row)
            entry.status = "skipped" if skipped else "rejected"
            entry.stage = stage
            entry.reasons = list(reasons)
            entry.response = response

    def accepted(self, batch: Batch) -> None:
        """Every record of ``batch`` was acknowledged."""
        uri = batch.chunk.item.uri
        with self._lock:
            for i in range(len(batch.records)):
                self._get(uri, _row(batch, i)).status = "delivered"

    def answered(self, batch: Batch, i: int, answer: Any, step: str) -> None:
        """Record ``i`` of ``batch`` was applied; ``step`` answered ``answer`` for it."""
        with self._lock:
            entry = self._get(batch.chunk.item.uri, _row(batch, i))
            entry.status = "delivered"
            entry.answers[step] = answer

    # -- read when the run ended ----------------------------------------------------------

    def outcomes(self, settled: set[str]) -> list[RecordOutcome]:
        """Every record in the order read, once the run ended.

        ``settled`` holds the uris of items the run committed: the target
        acknowledged all their records, so one sent without an answer of its
        own (targets that only count) was delivered. A record of another item
        still being sent is ``pending``; one of a settled item never sent,
        neither rejected nor skipped, was ``left_out`` (unchanged since its
        last delivery, or skipped by a lookup).
        """
        with self._lock:
            out = []
            for key, entry in self._records.items():
                if entry.status == "sending":
                    entry.status = "delivered" if self._items[key] in settled else "pending"
                elif entry.status == "pending" and self._items[key] in settled:
                    entry.status = "left_out"
                out.append(entry)
            return out


def _row(batch: Batch, i: int) -> int:
    return batch.chunk.positions[batch.index[i]]
