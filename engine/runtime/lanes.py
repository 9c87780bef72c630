"""The item's one checkpoint when records go through routes and steps: one part per lane.

Each route, and each step of a route, is a *lane* with a target of its own.
A lane's target saves its checkpoint as it would alone (through
:class:`_LaneCheckpoints`); :class:`RouteCheckpoints` keeps the last one of
every lane and saves them together, with the position up to which each
step settled whole chunks and the outcomes and answers later steps still
need, as the item's one :class:`~engine.contracts.Checkpoint`. So a lane
that has nothing more to do keeps what it saved, and a resumed chain has
the answers it needs.
"""

from __future__ import annotations

import threading
from typing import Any

from engine.contracts import Checkpoint, Item
from engine.runtime.context import Run

#: where the item's checkpoint keeps each lane's own checkpoint (``target.routes.KEY``)
ROUTES_KEY = "routes"
#: each lane's "done up to" position: a step settled for every record of the chunks up to it
DONE_KEY = "done"
#: the outcomes and answers of records whose later steps are not settled yet (by position)
ANSWERS_KEY = "answers"


class RouteCheckpoints:
    """Each lane's checkpoint of an item, saved together as the item's one checkpoint.

    A lane's target saves its own progress as it would alone; this keeps the
    last one of every lane and saves them all, with the positions each step
    finished and the answers later steps still need, so a lane that has
    nothing more to do keeps what it saved before. The item's ``acked`` is
    the smallest of the lanes' (records every lane settled).
    """

    def __init__(self, run: Run, keys: list[str]) -> None:
        self.run = run
        self.keys = keys
        self.lock = threading.Lock()
        self.saved: dict[str, dict[str, dict[str, Any]]] = {}
        self.done: dict[str, dict[str, int]] = {}
        self.answers: dict[str, dict[int, dict[str, dict[str, Any]]]] = {}

    def view(self, key: str) -> _LaneCheckpoints:
        """The checkpoints one lane's target reads and writes."""
        return _LaneCheckpoints(self, key)

    def resumed(self, item: Item, checkpoint: Checkpoint) -> dict[str, tuple[Checkpoint | None, int]]:
        """Per lane: its own checkpoint and done position inside ``item``'s; the stored answers come back."""
        lanes = checkpoint.target.get(ROUTES_KEY) or {}
        done = checkpoint.target.get(DONE_KEY) or {}
        answers = checkpoint.target.get(ANSWERS_KEY) or {}
        with self.lock:
            self.saved[item.uri] = {k: dict(v) for k, v in lanes.items() if k in self.keys}
            self.done[item.uri] = {k: int(v) for k, v in done.items() if k in self.keys}
            self.answers[item.uri] = {int(p): dict(v) for p, v in answers.items()}
            return {
                key: (
                    Checkpoint.from_dict(self.saved[item.uri][key]) if key in self.saved[item.uri] else None,
                    self.done[item.uri].get(key, 0),
                )
                for key in self.keys
            }

    def save(self, item: Item, key: str, checkpoint: Checkpoint | None = None) -> None:
        """Save lane ``key``'s progress with every other lane's (in order, under the lock)."""
        with self.lock:
            lanes = self.saved.setdefault(item.uri, {})
            if checkpoint is not None:
                lanes[key] = checkpoint.as_dict()
            self._write(item)

    def _write(self, item: Item) -> None:
        lanes = self.saved.get(item.uri, {})
        done = self.done.get(item.uri, {})
        acked = min(max(int(lanes[k]["acked"]) if k in lanes else 0, done.get(k, 0)) for k in self.keys)
        answers = {str(p): dict(v) for p, v in self.answers.get(item.uri, {}).items()}
        data = {ROUTES_KEY: dict(lanes), DONE_KEY: dict(done), ANSWERS_KEY: answers}
        self.run.checkpoints.save(item, Checkpoint(self.run.run_id, acked, data))

    def steps_of(self, item: Item, position: int) -> dict[str, dict[str, Any]]:
        """The outcomes and answers of the steps record ``position`` went through so far."""
        with self.lock:
            return self.answers.setdefault(item.uri, {}).setdefault(position, {})

    def note(self, item: Item, position: int, step: str, outcome: str, answer: Any = None) -> None:
        """Step ``step``'s outcome for a record (kept before its lane can save it as settled)."""
        with self.lock:
            entry = self.answers.setdefault(item.uri, {}).setdefault(position, {})
            known = entry.get(step) or {}
            if outcome == "succeeded" and known.get("outcome") == "failed":
                return
            entry[step] = {
                "outcome": outcome,
                "answer": answer if answer is not None else known.get("answer"),
            }

    def finished_step(self, item: Item, key: str, upto: int) -> None:
        """Lane ``key`` settled every record of the chunks up to ``upto``: saved at once."""
        with self.lock:
            self.done.setdefault(item.uri, {})[key] = upto
            self._write(item)

    def finished_chain(self, item: Item, upto: int) -> None:
        """Every step of a route settled the records up to ``upto``: their answers are not needed any more."""
        with self.lock:
            kept = self.answers.get(item.uri, {})
            for position in [p for p in kept if p <= upto]:
                del kept[position]

    def finished(self, item: Item) -> None:
        """``item`` is committed: its lanes' checkpoints go with it."""
        with self.lock:
            self.saved.pop(item.uri, None)
            self.done.pop(item.uri, None)
            self.answers.pop(item.uri, None)


class _LaneCheckpoints:
    """:class:`engine.contracts.Checkpoints` for one lane's target."""

    def __init__(self, owner: RouteCheckpoints, key: str) -> None:
        self.owner = owner
        self.key = key

    def load(self, item: Item) -> Checkpoint | None:
        with self.owner.lock:
            data = self.owner.saved.get(item.uri, {}).get(self.key)
        return Checkpoint.from_dict(data) if data is not None else None

    def save(self, item: Item, checkpoint: Checkpoint) -> None:
        self.owner.save(item, self.key, checkpoint)

    def clear(self, item: Item) -> None:
        """The item's checkpoint is cleared as a whole when it commits."""
