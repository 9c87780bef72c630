"""Routes: each record to the first route that takes it, or to every one, each with its own target.

The runner hands :class:`RoutedTarget` the records as read; it asks each
route's ``when``, maps the records a route took with that route's mapping
and writes them to that route's target. Every route target sees a run of
its own (:meth:`Run.for_route`): its rejects name the route and count for
it, and its checkpoints are the route's part of the item's one checkpoint
(:class:`RouteCheckpoints`). So after a crash each route resumes after its
own settled prefix, and the item commits only once every route's target
acknowledged everything it was given.
"""

from __future__ import annotations

import threading
from typing import Any

from typing_extensions import override

from engine.contracts import Batch, Checkpoint, Chunk, Item, RunContext, Target
from engine.failpoints import failpoint
from engine.mapping.steps import truthy
from engine.plan import RoutingPolicy
from engine.runtime.context import Run

#: where the item's checkpoint keeps each route's own (``target.routes.NAME``)
ROUTES_KEY = "routes"


class RouteCheckpoints:
    """Each route's checkpoint of an item, saved together as the item's one checkpoint.

    A route's target saves its own progress as it would alone; this keeps
    the last one of every route and saves them all, so a route that has
    nothing more to do keeps what it saved before. The item's ``acked`` is
    the smallest of the routes' (records every route settled).
    """

    def __init__(self, run: Run, names: list[str]) -> None:
        self.run = run
        self.names = names
        self.lock = threading.Lock()
        self.saved: dict[str, dict[str, dict[str, Any]]] = {}

    def view(self, name: str) -> _RouteView:
        """The checkpoints one route's target reads and writes."""
        return _RouteView(self, name)

    def resumed(self, item: Item, checkpoint: Checkpoint) -> dict[str, Checkpoint]:
        """The routes' checkpoints inside ``item``'s, kept so they are saved again with the others."""
        routes = checkpoint.target.get(ROUTES_KEY) or {}
        with self.lock:
            self.saved[item.uri] = {name: dict(data) for name, data in routes.items() if name in self.names}
            return {name: Checkpoint.from_dict(data) for name, data in self.saved[item.uri].items()}

    def save(self, item: Item, name: str, checkpoint: Checkpoint) -> None:
        """Save route ``name``'s progress with the other routes' (in order, under the lock)."""
        with self.lock:
            routes = self.saved.setdefault(item.uri, {})
            routes[name] = checkpoint.as_dict()
            acked = min(int(routes[n]["acked"]) if n in routes else 0 for n in self.names)
            self.run.checkpoints.save(item, Checkpoint(self.run.run_id, acked, {ROUTES_KEY: dict(routes)}))

    def finished(self, item: Item) -> None:
        """``item`` is committed: its routes' checkpoints go with it."""
        with self.lock:
            self.saved.pop(item.uri, None)


class _RouteView:
    """:class:`engine.contracts.Checkpoints` for one route's target."""

    def __init__(self, owner: RouteCheckpoints, name: str) -> None:
        self.owner = owner
        self.name = name

    def load(self, item: Item) -> Checkpoint | None:
        with self.owner.lock:
            data = self.owner.saved.get(item.uri, {}).get(self.name)
        return Checkpoint.from_dict(data) if data is not None else None

    def save(self, item: Item, checkpoint: Checkpoint) -> None:
        self.owner.save(item, self.name, checkpoint)

    def clear(self, item: Item) -> None:
        """The item's checkpoint is cleared as a whole when it commits."""


class RoutedTarget(Target):
    """The routes of a plan as one target for the runner: choose, map, write, resume, finish."""

    name = "routes"

    def __init__(self, policy: RoutingPolicy, targets: list[Target] | None = None) -> None:
        super().__init__(None, path="routes")
        self.policy = policy
        self.routes = list(policy.routes)
        #: each route's target (a dry run's stand-ins when given)
        self.targets = targets or [route.target for route in self.routes]
        self.commit_scope = "run" if any(t.commit_scope == "run" for t in self.targets) else "item"
        #: per item uri: the records each route already settled (its resumed prefix)
        self.skips: dict[str, list[int]] = {}

    def open(self, run: RunContext) -> None:
        """Open every route's target with a run of its own (its rejects, counts and checkpoints)."""
        assert isinstance(run, Run)
        self.run = run
        self.checkpoints = RouteCheckpoints(run, [r.name for r in self.routes])
        self.opened: list[Target] = []
        for route, target in zip(self.routes, self.targets, strict=True):
            if target.connection_name:
                run.connection(target.connection_name)
            target.open(run.for_route(route.name, self.checkpoints.view(route.name)))
            self.opened.append(target)

    @override
    def resume(self, item: Item, checkpoint: Checkpoint) -> int:
        """Each route takes ``item`` up after its own settled prefix; the records every route settled are skipped."""
        saved = self.checkpoints.resumed(item, checkpoint)
        skips = []
        for route, target in zip(self.routes, self.targets, strict=True):
            cp = saved.get(route.name)
            skips.append(target.resume(item, cp) if cp is not None else 0)
        self.skips[item.uri] = skips
        return min(skips)

    @override
    def write(self, batch: Batch) -> None:
        """Send each record of ``batch`` (as read) to its route or routes; a record none takes is rejected."""
        chunk = batch.chunk
        taken: list[list[int]] = [[] for _ in self.routes]
        skips = self.skips.get(chunk.item.uri) or [0] * len(self.routes)
        replayed = chunk.item.meta.get("route")  # a route's reject replayed: back to that route alone
        for i in batch.index:
            chosen = self._named(replayed) if replayed else self._choose(chunk, i)
            if chosen is None:
                self._unrouted(chunk, i)
                continue
            for r in chosen:
                if chunk.positions[i] > skips[r]:
                    taken[r].append(i)
        for r, indexes in enumerate(taken):
            if indexes:
                self._send(r, _part(chunk, indexes))

    def _named(self, name: str) -> list[int] | None:
        """The route called ``name`` (a replayed reject names the route that rejected it)."""
        for r, route in enumerate(self.routes):
            if route.name == name:
                return [r]
        return None

    def _choose(self, chunk: Chunk, i: int) -> list[int] | None:
        """The routes record ``i`` goes to (None: no route takes it)."""
        view: dict[str, Any] | None = None
        chosen: list[int] = []
        for r, route in enumerate(self.routes):
            if route.otherwise:
                return chosen or [r]
            if route.when is not None:
                if view is None:
                    view = {
                        "record": chunk.original(i),
                        "context": self.run.context,
                        "file": chunk.item.file_vars(),
                        "row": chunk.positions[i],
                    }
                if not truthy(route.when.search(view)):
                    continue
            chosen.append(r)
            if self.policy.routing == "first":
                return chosen
        return chosen or None

    def _unrouted(self, chunk: Chunk, i: int) -> None:
        names = ", ".join(r.name for r in self.routes)
        self.run.outcomes.invalid(
            chunk.item,
            "route",
            chunk.lineage(i),
            [f"no route took the record (routes: {names}); add a route for it or an otherwise route"],
            chunk.original(i),
        )

    def _send(self, r: int, part: Chunk) -> None:
        route, target = self.routes[r], self.targets[r]
        outcomes = self.run.outcomes.for_route(route.name)
        outcomes.routed(part.item, len(part.records))
        if route.mapping is None:
            records = [part.original(i) for i in range(len(part.records))]
            index = list(range(len(part.records)))
        else:
            records, index, rejects = route.mapping.map_chunk(part, self.run.context)
            for i, issues in rejects:
                outcomes.invalid(
                    part.item,
                    "mapping",
                    part.lineage(i),
                    [f"route {route.name}: {x.render()}" for x in issues],
                    part.original(i),
                    errors=[x.as_dict() for x in issues],
                )
        outcomes.mapped(part.item, len(records))
        if records:
            target.write(Batch(part, records, index))
        failpoint("route.written")

    @override
    def finish_item(self, item: Item) -> None:
        """Return once every route's target acknowledged everything of ``item``."""
        for target in self.targets:
            target.finish_item(item)
        self.skips.pop(item.uri, None)
        self.checkpoints.finished(item)

    @override
    def finish_run(self) -> None:
        """Every route's target acknowledged everything of the run."""
        for target in self.targets:
            target.finish_run()

    @override
    def stats(self) -> dict[str, Any] | None:
        """Each route's target's own counters, under the route's name."""
        out: dict[str, Any] = {}
        for route, target in zip(self.routes, self.targets, strict=True):
            stats = target.stats()
            if stats:
                out[route.name] = stats
        return out or None

    @override
    def close(self) -> None:
        """Close every route's target (harmless twice)."""
        for target in reversed(self.targets):
            target.close()
        super().close()

    def route_counts(self) -> dict[str, Any]:
        """Per route: the records it took, mapped, delivered and rejected (for the run report)."""
        return {
            name: {
                "routed": c.read,
                "mapped": c.mapped,
                "written": c.written,
                "rejected": {"mapping": c.rejected_mapping, "target": c.rejected_target, "total": c.rejected},
            }
            for name, c in self.run.outcomes.by_route.items()
        }


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
