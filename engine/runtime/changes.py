"""Send only what changed (``state.changed_only``).

After mapping, each record's key (the ``key`` fields) and compared values
(the ``fields``, or the whole record) are looked up among the values last
delivered for that key, kept in the state store under a namespace. A record
whose values are the same is not sent (counted as unchanged); the others go
to the target, and their values are stored **only once the target
acknowledged them**: as the item's checkpoint moves past them, or when the
item commits. A record the target refused is not stored, so it is sent again
next time; a crash between sending and acknowledging loses nothing, since
what was not acknowledged was not stored and is sent again by the rerun.
``engine run --full`` sends everything and stores it as usual.
"""

from __future__ import annotations

import collections
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.contracts import Checkpoint, Checkpoints, Item, StateStore, stored_key
from engine.jsonutil import dumps_safe
from engine.plan import ChangedOnlyPolicy


def _get(record: Any, path: list[str]) -> Any:
    value = record
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class ChangeFilter:
    """Drops mapped records whose values were already delivered; stores values once acknowledged."""

    def __init__(
        self, policy: ChangedOnlyPolicy, store: StateStore, connector: str, *, full: bool, dry_run: bool
    ) -> None:
        self.policy = policy
        self.store = store
        self.connector = connector
        self.namespace = policy.namespace or connector
        self.full = full
        self.dry_run = dry_run
        self.key_paths = [k.split(".") for k in policy.key]
        self.field_paths = [f.split(".") for f in policy.fields] if policy.fields else None
        #: per item uri: positions (sorted as sent) and their (key, values) waiting for acknowledgement
        self.pending: dict[str, collections.OrderedDict[int, tuple[str, Any]]] = {}
        self.refused: dict[str, set[int]] = collections.defaultdict(set)
        self.lock = threading.Lock()
        self.unchanged = 0
        self.stored = 0

    # -- filtering ---------------------------------------------------------------------------

    def values_of(self, record: dict[str, Any]) -> Any:
        """What is compared and stored for ``record``: its chosen fields, or all of it."""
        if self.field_paths is None:
            return record
        return {".".join(p): _get(record, p) for p in self.field_paths}

    def filter(
        self, item: Item, records: list[dict[str, Any]], index: list[int], positions: list[int]
    ) -> tuple[list[dict[str, Any]], list[int]]:
        """The records to send (and their chunk indexes); the rest are unchanged since their last delivery."""
        keys = [stored_key([_get(r, p) for p in self.key_paths]) for r in records]
        values = [self.values_of(r) for r in records]
        known = self.store.values_get(self.connector, self.namespace, list(dict.fromkeys(keys)))
        keep_records: list[dict[str, Any]] = []
        keep_index: list[int] = []
        pending = self.pending.setdefault(item.uri, collections.OrderedDict())
        for record, i, key, value in zip(records, index, keys, values, strict=True):
            if not self.full and key in known and _same(known[key], value):
                self.unchanged += 1
                continue
            keep_records.append(record)
            keep_index.append(i)
            with self.lock:
                pending[positions[i]] = (key, value)
        return keep_records, keep_index

    def delivered(self, records: list[dict[str, Any]]) -> None:
        """Store the values of records an interrupted run delivered (a resumed item skips them)."""
        if self.dry_run or not records:
            return
        values = {stored_key([_get(r, p) for p in self.key_paths]): self.values_of(r) for r in records}
        self.store.values_set(self.connector, self.namespace, values, expires=self._expires())
        self.stored += len(values)

    def _expires(self) -> datetime | None:
        return datetime.now(UTC) + timedelta(seconds=self.policy.expire) if self.policy.expire else None

    # -- acknowledgements ----------------------------------------------------------------------

    def refused_at(self, item: Item, position: int) -> None:
        """The target refused the record at ``position``: its values are not stored."""
        with self.lock:
            self.refused[item.uri].add(position)

    def settle(self, item: Item, upto: int | None = None) -> None:
        """Store the values of ``item``'s records the target acknowledged (all, or up to ``upto``)."""
        if self.dry_run:
            return
        with self.lock:
            pending = self.pending.get(item.uri)
            if not pending:
                return
            refused = self.refused.get(item.uri, set())
            ready = [p for p in pending if upto is None or p <= upto]
            values = {}
            for position in ready:
                key, value = pending.pop(position)
                if position not in refused:
                    values[key] = value
            if upto is None:
                self.pending.pop(item.uri, None)
                self.refused.pop(item.uri, None)
        if values:
            self.store.values_set(self.connector, self.namespace, values, expires=self._expires())
            self.stored += len(values)

    def forget(self, item: Item) -> None:
        """``item`` failed: what it had not settled is not stored (it is sent again next time)."""
        with self.lock:
            self.pending.pop(item.uri, None)
            self.refused.pop(item.uri, None)

    def stats(self) -> dict[str, int]:
        """Records not sent because nothing changed, and values stored after acknowledgement."""
        return {"unchanged": self.unchanged, "stored": self.stored}


class SettlingCheckpoints:
    """The run's checkpoints, storing acknowledged values before each checkpoint it saves.

    Values are stored first: a crash between the two only means records
    already acknowledged are not sent again (they are unchanged now).
    """

    def __init__(self, inner: Checkpoints, changes: ChangeFilter) -> None:
        self.inner = inner
        self.changes = changes

    def load(self, item: Item) -> Checkpoint | None:
        """The saved checkpoint (as the inner checkpoints give it)."""
        return self.inner.load(item)

    def save(self, item: Item, checkpoint: Checkpoint) -> None:
        """Store the values the checkpoint's settled prefix covers, then save the checkpoint."""
        self.changes.settle(item, checkpoint.acked)
        self.inner.save(item, checkpoint)

    def clear(self, item: Item) -> None:
        """Forget the checkpoint (the item committed)."""
        self.inner.clear(item)


def _same(stored: Any, value: Any) -> bool:
    return stored == value or dumps_safe(stored) == dumps_safe(value)


__all__ = ["ChangeFilter", "SettlingCheckpoints"]
