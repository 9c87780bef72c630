"""The lanes' one checkpoint in a real state store: each lane keeps its part across runs and crashes."""

from __future__ import annotations

from pathlib import Path

from engine.contracts import Checkpoint, Item
from engine.registry import default_registries
from engine.runtime.checkpoints import Checkpoints
from engine.runtime.context import Run
from engine.runtime.lanes import RouteCheckpoints
from engine.runtime.logs import Log
from engine.runtime.outcomes import RunOutcomes
from engine.spec.options import build_options

ITEM = Item("file:///in/a.csv", "a.csv", size=10)


def _run(tmp_path: Path, run_id: str) -> Run:
    cls = default_registries().state_stores.get("sqlite")
    store = cls(build_options(cls.Options, cls.schema, {"path": "state.db"}, ("state",), None))
    store.open_for(tmp_path)
    run = Run(
        connector="lanes",
        spec_dir=tmp_path,
        dry_run=False,
        connections={},
        context={},
        outcomes=RunOutcomes(None, "reject", Log(), run_id),
        log=Log(),
        state=store,
        run_id=run_id,
    )
    run.checkpoints = Checkpoints(store, "lanes", enabled=True, log=run.log)
    return run


def test_a_lane_with_nothing_more_to_do_keeps_its_part_when_another_lane_saves(tmp_path: Path) -> None:
    first = _run(tmp_path, "r1")
    lanes = RouteCheckpoints(first, ["stock", "notify"])
    lanes.view("stock").save(ITEM, Checkpoint("r1", 80))
    lanes.view("notify").save(ITEM, Checkpoint("r1", 30, {"reserved": 40}))
    # the process dies; the next run takes the item up, and only notify has more to send
    second = _run(tmp_path, "r2")
    saved = second.checkpoints.load(ITEM)
    assert saved is not None and saved.acked == 30  # what every lane settled
    again = RouteCheckpoints(second, ["stock", "notify"])
    parts = again.resumed(ITEM, saved)
    assert parts["stock"][0] == Checkpoint("r1", 80, {}) and parts["notify"][0].target["reserved"] == 40
    again.view("notify").save(ITEM, Checkpoint("r2", 50))
    # killed again: stock's 80 is still there, so stock sends nothing twice
    third = _run(tmp_path, "r3")
    parts = RouteCheckpoints(third, ["stock", "notify"]).resumed(ITEM, third.checkpoints.load(ITEM))
    assert parts["stock"][0].acked == 80 and parts["notify"][0].acked == 50


def test_answers_later_steps_need_are_saved_and_dropped_once_the_chain_settled_them(tmp_path: Path) -> None:
    run = _run(tmp_path, "r1")
    lanes = RouteCheckpoints(run, ["main.create", "main.update"])
    lanes.note(ITEM, 3, "create", "pending")
    lanes.note(ITEM, 3, "create", "succeeded", {"id": "L-3"})
    lanes.note(ITEM, 4, "create", "failed")
    lanes.note(ITEM, 4, "create", "succeeded")  # settling everything after a failure keeps the failure
    lanes.finished_step(ITEM, "main.create", 4)
    saved = _run(tmp_path, "r2").checkpoints.load(ITEM)
    assert saved is not None and saved.acked == 0  # update settled nothing yet
    assert saved.target["done"] == {"main.create": 4}
    assert saved.target["answers"] == {
        "3": {"create": {"outcome": "succeeded", "answer": {"id": "L-3"}}},
        "4": {"create": {"outcome": "failed", "answer": None}},
    }
    resumed = RouteCheckpoints(_run(tmp_path, "r2"), ["main.create", "main.update"])
    parts = resumed.resumed(ITEM, saved)
    assert parts["main.create"] == (None, 4) and resumed.steps_of(ITEM, 3)["create"]["answer"] == {
        "id": "L-3"
    }
    resumed.finished_step(ITEM, "main.update", 4)
    resumed.finished_chain(ITEM, 4)
    resumed.finished_step(ITEM, "main.update", 4)
    final = _run(tmp_path, "r3").checkpoints.load(ITEM)
    assert final is not None and final.acked == 4 and final.target["answers"] == {}
