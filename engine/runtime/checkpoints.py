"""Checkpoints: how far into a file the target has acknowledged records.

A checkpoint belongs to one file *as it was*: it carries the file's
fingerprint (size, modification time or etag, checksum), and a file whose
content changed starts over. Targets save progress as they are acknowledged
(``acked`` = every record up to this position is delivered or rejected) plus
what they need to reconcile writes that were in flight when the process died
(job and batch ids). The runner skips acknowledged records on the next run.
"""

from __future__ import annotations

from typing import Any

from engine.contracts import Checkpoint, Item, Logger, StateStore


def fingerprint_of(item: Item) -> dict[str, Any]:
    """What must be unchanged for saved progress to apply: the file's size, etag (or mtime), checksum."""
    fp = item.fingerprint()
    fp.pop("uri", None)
    if fp.get("etag"):
        fp.pop("mtime", None)
    return fp


class Checkpoints:
    """Checkpoints of one connector's items in its state store (:class:`engine.contracts.Checkpoints`).

    A checkpoint is kept only while its item's fingerprint is unchanged, and
    nothing is read or written when checkpoints are off (``state.checkpoint:
    false``, dry runs).
    """

    def __init__(self, store: StateStore, connector: str, *, enabled: bool, log: Logger) -> None:
        self.store = store
        self.connector = connector
        self.enabled = enabled
        self.log = log

    def load(self, item: Item) -> Checkpoint | None:
        """The saved progress of ``item``, or None (also when the file changed since it was saved)."""
        if not self.enabled:
            return None
        saved = self.store.checkpoint_get(self.connector, item.uri)
        if saved is None:
            return None
        if saved.pop("fingerprint", None) != fingerprint_of(item):
            self.log.info("file changed since its checkpoint; starting it over", file=item.name)
            self.store.checkpoint_clear(self.connector, item.uri)
            return None
        return Checkpoint.from_dict(saved)

    def save(self, item: Item, checkpoint: Checkpoint) -> None:
        """Save ``item``'s progress (called by targets once records are acknowledged)."""
        if self.enabled:
            self.store.checkpoint_set(self.connector, item.uri, fingerprint_of(item), checkpoint.as_dict())

    def clear(self, item: Item) -> None:
        """Forget ``item``'s progress (once the item is committed)."""
        if self.enabled:
            self.store.checkpoint_clear(self.connector, item.uri)


def ranges(positions: list[int]) -> list[list[int]]:
    """``[1,2,3,7,8]`` -> ``[[1,3],[7,8]]``: batch positions, compact in a checkpoint."""
    out: list[list[int]] = []
    for p in positions:
        if out and p == out[-1][1] + 1:
            out[-1][1] = p
        else:
            out.append([p, p])
    return out


def position_at(spans: list[list[int]], index: int) -> int | None:
    """The ``index``-th position (0-based) of compact ``ranges``."""
    for start, end in spans:
        size = end - start + 1
        if index < size:
            return start + index
        index -= size
    return None
