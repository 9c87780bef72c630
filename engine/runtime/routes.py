"""Routes and steps: each record to the first route that takes it, or to every one, through its steps.

The runner hands :class:`RoutedTarget` the records as read; it asks each
route's ``when``, maps the records a route took with that route's mapping
and writes them to that route's target. A route with ``steps:`` runs them in
order over each chunk: a step's records are written, the step's target is
waited for (:meth:`Target.wait_settled`), and the next step reads its
outcome and answer as ``$steps.NAME``.

Every route's step (a *lane*) sees a run of its own (:meth:`Run.for_route`):
its rejects name the route and step and count for them, and its checkpoint
is the lane's part of the item's one checkpoint (:mod:`engine.runtime.lanes`),
which also holds the answers later steps still need. So after a crash each
lane resumes after its own settled prefix with the answers it needs, and the
item commits only once every lane acknowledged everything it was given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from typing_extensions import override

from engine.contracts import Batch, Checkpoint, Chunk, Item, RunContext, Target
from engine.failpoints import failpoint
from engine.mapping.paths import STEPS_KEY
from engine.mapping.steps import truthy
from engine.plan import Route, RoutingPolicy, Step
from engine.runtime.context import Run
from engine.runtime.lanes import RouteCheckpoints
from engine.runtime.outcomes import RunOutcomes


@dataclasses.dataclass
class Lane:
    """One step of one route, with its target and what it reports through."""

    route: Route
    step: Step
    target: Target
    #: ``route`` or ``route.step``: its checkpoint, counts and rejects are kept under it
    key: str
    outcomes: RunOutcomes | None = None


class _Settled:
    """What one step's target said about the records of one write: who failed, and the answers."""

    def __init__(self, checkpoints: RouteCheckpoints, item: Item, step: str) -> None:
        self.checkpoints = checkpoints
        self.item = item
        self.step = step

    def answered(self, batch: Batch, i: int, answer: Any) -> None:
        position = batch.chunk.positions[batch.index[i]]
        self.checkpoints.note(self.item, position, self.step, "succeeded", answer)

    def refused(self, item: Item, position: int) -> None:
        self.checkpoints.note(item, position, self.step, "failed")


class RoutedTarget(Target):
    """The routes of a plan as one target for the runner: choose, map, write, resume, finish."""

    name = "routes"

    def __init__(self, policy: RoutingPolicy, targets: list[Target] | None = None) -> None:
        super().__init__(None, path="routes")
        self.policy = policy
        self.routes = list(policy.routes)
        stand_ins = iter(targets) if targets is not None else None
        self.lanes: list[list[Lane]] = [
            [
                Lane(route, step, next(stand_ins) if stand_ins is not None else step.target, route.key(step))
                for step in route.steps
            ]
            for route in self.routes
        ]
        self.commit_scope = (
            "run" if any(lane.target.commit_scope == "run" for lane in self._all()) else "item"
        )
        #: per item uri, per lane key: the records that lane already settled (its resumed prefix)
        self.skips: dict[str, dict[str, int]] = {}

    def _all(self) -> Iterator[Lane]:
        for lanes in self.lanes:
            yield from lanes

    @property
    def targets(self) -> list[Target]:
        """Every lane's target, in the order they are written."""
        return [lane.target for lane in self._all()]

    def open(self, run: RunContext) -> None:
        """Open every lane's target with a run of its own (its rejects, counts and checkpoints)."""
        assert isinstance(run, Run)
        self.run = run
        self.checkpoints = RouteCheckpoints(run, [lane.key for lane in self._all()])
        for lane in self._all():
            if lane.target.connection_name:
                run.connection(lane.target.connection_name)
            lane_run = run.for_route(lane.route.name, self.checkpoints.view(lane.key), lane.step.name)
            lane.outcomes = lane_run.outcomes
            lane.target.open(lane_run)

    @override
    def resume(self, item: Item, checkpoint: Checkpoint) -> int:
        """Each lane takes ``item`` up after its own settled prefix; the records every lane settled are skipped."""
        saved = self.checkpoints.resumed(item, checkpoint)
        skips: dict[str, int] = {}
        for lane in self._all():
            own, done = saved[lane.key]
            skips[lane.key] = max(lane.target.resume(item, own) if own is not None else 0, done)
        self.skips[item.uri] = skips
        return min(skips.values())

    def _skip(self, item: Item, lane: Lane) -> int:
        return self.skips.get(item.uri, {}).get(lane.key, 0)

    @override
    def write(self, batch: Batch) -> None:
        """Send each record of ``batch`` (as read) to its route or routes; a record none takes is rejected."""
        chunk = batch.chunk
        taken: list[list[int]] = [[] for _ in self.routes]
        replayed = chunk.item.meta.get("route")  # a route's reject replayed: back to that route alone
        for i in batch.index:
            chosen = self._named(replayed) if replayed else self._choose(chunk, i)
            if chosen is None:
                self._unrouted(chunk, i)
                continue
            for r in chosen:
                taken[r].append(i)
        for r, indexes in enumerate(taken):
            if not indexes:
                continue
            if self.routes[r].chained:
                self._chain(self.lanes[r], _part(chunk, indexes))
            else:
                lane = self.lanes[r][0]
                skip = self._skip(chunk.item, lane)
                keep = [i for i in indexes if chunk.positions[i] > skip]
                if keep:
                    self._send(lane, _part(chunk, keep))

    def _named(self, name: str) -> list[int] | None:
        """The route called ``name`` (a replayed reject names the route that rejected it)."""
        for r, route in enumerate(self.routes):
            if route.name == name:
                return [r]
        return None

    def _choose(self, chunk: Chunk, i: int) -> list[int] | None:
        """The routes record ``i`` goes to (None: no route takes it)."""
        return self.policy.choose(lambda: self._view(chunk, i, chunk.original(i)))

    def _view(self, chunk: Chunk, i: int, record: Any) -> dict[str, Any]:
        """What a route's or step's ``when`` sees."""
        steps = record.get(STEPS_KEY) if isinstance(record, dict) else None
        return {
            "record": record,
            "steps": steps,
            "context": self.run.context,
            "file": chunk.item.file_vars(),
            "row": chunk.positions[i],
        }

    def _unrouted(self, chunk: Chunk, i: int) -> None:
        names = ", ".join(r.name for r in self.routes)
        self.run.outcomes.invalid(
            chunk.item,
            "route",
            chunk.lineage(i),
            [f"no route took the record (routes: {names}); add a route for it or an otherwise route"],
            chunk.original(i),
        )

    # -- steps ------------------------------------------------------------------------------

    def _chain(self, lanes: list[Lane], part: Chunk) -> None:
        """Run a route's steps in order over ``part``; each waits for the one before to settle."""
        item = part.item
        last = part.positions[-1]
        replayed_step = item.meta.get("step")
        for lane in lanes:
            step = lane.step
            if replayed_step is not None and replayed_step != step.name:
                continue
            skip = self._skip(item, lane)
            chosen, records = [], []
            for i in range(len(part.records)):
                if part.positions[i] <= skip:
                    continue
                record = self._with_steps(part, i)
                if not self._takes(lane, part, i, record):
                    continue
                chosen.append(i)
                records.append(record)
            if chosen:
                self._step(lane, part, chosen, records)
            self.checkpoints.finished_step(item, lane.key, last)
            failpoint("step.done")
        self.checkpoints.finished_chain(item, last)

    def _with_steps(self, part: Chunk, i: int) -> dict[str, Any]:
        """Record ``i`` as a step's mapping reads it: the earlier steps' outcomes under ``$steps``."""
        record = part.original(i)
        record = dict(record) if isinstance(record, dict) else {"value": record}
        replayed = record.get(STEPS_KEY)
        steps = self.checkpoints.steps_of(part.item, part.positions[i])
        if isinstance(replayed, dict) and not steps:
            steps.update(replayed)  # a replayed reject carries the answers it was sent with
        for entry in steps.values():
            if entry.get("outcome") == "pending":  # settled by a run that died before noting it: applied
                entry["outcome"] = "succeeded"
        record[STEPS_KEY] = {name: dict(entry) for name, entry in steps.items()}
        return record

    def _takes(self, lane: Lane, part: Chunk, i: int, record: dict[str, Any]) -> bool:
        """Whether ``lane``'s step runs for the record: its ``after`` and its ``when``."""
        failed = any(e.get("outcome") == "failed" for e in record[STEPS_KEY].values())
        if failed != (lane.step.after == "failed"):
            return False
        return lane.step.when is None or truthy(lane.step.when.search(self._view(part, i, record)))

    def _step(self, lane: Lane, part: Chunk, chosen: list[int], records: list[dict[str, Any]]) -> None:
        """Write one step's records, wait until its target settled them, and note each outcome."""
        assert lane.outcomes is not None and lane.step.name is not None
        item, name = part.item, lane.step.name
        sub = Chunk(
            item,
            records,
            [part.positions[i] for i in chosen],
            None,
            [part.lines[i] for i in chosen] if part.lines is not None else None,
            [part.locators[i] for i in chosen] if part.locators is not None else None,
        )
        for position in sub.positions:
            self.checkpoints.note(item, position, name, "pending")
        settled = _Settled(self.checkpoints, item, name)
        lane.outcomes.answer_sink = settled.answered
        lane.outcomes.on_refused = settled.refused
        try:
            refused = self._send(lane, sub)
            for i in refused:
                self.checkpoints.note(item, sub.positions[i], name, "failed")
            lane.target.wait_settled(item)
        finally:
            lane.outcomes.answer_sink = None
            lane.outcomes.on_refused = None
        for position in sub.positions:
            self.checkpoints.note(item, position, name, "succeeded")  # a failure noted before stays

    # -- sending ----------------------------------------------------------------------------

    def _send(self, lane: Lane, part: Chunk) -> list[int]:
        """Map ``part`` with the lane's mapping and write it to its target; returns the indexes the mapping refused."""
        assert lane.outcomes is not None
        outcomes = lane.outcomes
        outcomes.routed(part.item, len(part.records))
        refused: list[int] = []
        mapping = lane.step.mapping
        if mapping is None:
            records = [_plain(part.original(i)) for i in range(len(part.records))]
            index = list(range(len(part.records)))
        else:
            records, index, rejects = mapping.map_chunk(part, self.run.context)
            label = lane.route.name if lane.step.name is None else f"{lane.route.name} step {lane.step.name}"
            for i, issues in rejects:
                refused.append(i)
                outcomes.invalid(
                    part.item,
                    "mapping",
                    part.lineage(i),
                    [f"route {label}: {x.render()}" for x in issues],
                    part.original(i),
                    errors=[x.as_dict() for x in issues],
                )
        outcomes.mapped(part.item, len(records))
        if records:
            lane.target.write(Batch(part, records, index))
        failpoint("route.written")
        return refused

    @override
    def finish_item(self, item: Item) -> None:
        """Return once every lane's target acknowledged everything of ``item``."""
        for target in self.targets:
            target.finish_item(item)
        self.skips.pop(item.uri, None)
        self.checkpoints.finished(item)

    @override
    def finish_run(self) -> None:
        """Every lane's target acknowledged everything of the run."""
        for target in self.targets:
            target.finish_run()

    @override
    def stats(self) -> dict[str, Any] | None:
        """Each lane's target's own counters, under the lane's key."""
        out: dict[str, Any] = {}
        for lane in self._all():
            stats = lane.target.stats()
            if stats:
                out[lane.key] = stats
        return out or None

    @override
    def close(self) -> None:
        """Close every lane's target (harmless twice)."""
        for target in reversed(self.targets):
            target.close()
        super().close()

    def route_counts(self) -> dict[str, Any]:
        """Per route, or per route and step: the records it took, mapped, delivered and rejected."""
        return {
            key: {
                "routed": c.read,
                "mapped": c.mapped,
                "written": c.written,
                "rejected": {"mapping": c.rejected_mapping, "target": c.rejected_target, "total": c.rejected},
            }
            for key, c in self.run.outcomes.by_route.items()
        }


def _plain(record: Any) -> Any:
    """A record as read, without the earlier steps' outcomes (a step without a mapping sends it as it came)."""
    if isinstance(record, dict) and STEPS_KEY in record:
        return {k: v for k, v in record.items() if k != STEPS_KEY}
    return record


def _part(chunk: Chunk, indexes: list[int]) -> Chunk:
    """The records of ``chunk`` at ``indexes``, with their positions, lines and locators."""
    return Chunk(
        chunk.item,
        [chunk.records[i] for i in indexes],
        [chunk.positions[i] for i in indexes],
        chunk.columns,
        [chunk.lines[i] for i in indexes] if chunk.lines is not None else None,
        [chunk.locators[i] for i in indexes] if chunk.locators is not None else None,
        text=chunk.text,
    )
