"""A compiled connector in the runtime's own vocabulary.

:func:`engine.spec.compile.compile_document` builds a :class:`Plan` from a
validated spec; the runtime, ``engine serve`` and the CLI read it. The
policies are frozen values built by the same option builder as plugin
options, from the section schemas in :mod:`engine.spec.sections`, so every
default is written once, in the schema, and durations arrive in seconds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.contracts import Connection, Lookup, Parser, Plugin, RecordMapping, Source, StateStore, Target

if TYPE_CHECKING:  # pragma: no cover - types only
    from engine.registry import Registries
    from engine.spec.diagnostics import Diagnostic
    from engine.spec.loader import SpecDocument


@dataclasses.dataclass(frozen=True)
class LockPolicy:
    """``state.lock``: one run at a time; the lock expires ``ttl`` seconds after its last renewal."""

    ttl: float


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """``state.retry``: a failed file is retried by later runs, backing off, up to ``max_attempts``."""

    max_attempts: int
    backoff: float


@dataclasses.dataclass(frozen=True)
class HistoryPolicy:
    """``state.history``: at most ``keep`` ledger entries per connector, none older than ``window`` seconds."""

    keep: int
    window: float


@dataclasses.dataclass(frozen=True)
class ChangedOnlyPolicy:
    """``state.changed_only``: records whose compared fields equal what was last delivered are not sent."""

    key: list[str]
    fields: list[str] | None
    namespace: str | None
    #: seconds after which a delivered value is forgotten (None: kept)
    expire: float | None


@dataclasses.dataclass(frozen=True)
class StatePolicy:
    """``state:`` as the runtime reads it (the store itself is built into :attr:`Plan.state_store`)."""

    store: dict[str, Any] | None
    dedupe: str
    #: None when the spec says ``lock: false``
    lock: LockPolicy | None
    retry: RetryPolicy
    history: HistoryPolicy
    checkpoint: bool
    #: None unless ``state.changed_only`` is set
    changed_only: ChangedOnlyPolicy | None = None


@dataclasses.dataclass(frozen=True)
class RejectsPolicy:
    """``on_error.rejects``: where rejected records go (default: under ``.engine/rejects/``)."""

    path: str | None
    format: str
    #: a CSV rejects file starts with a byte order mark, so Excel reads it as UTF-8
    excel: bool


@dataclasses.dataclass(frozen=True)
class ErrorPolicy:
    """``on_error:``: what a bad record does, and how many the run tolerates before exiting 3."""

    invalid_record: str
    max_reject_ratio: float
    max_rejects: int | None
    rejects: RejectsPolicy


@dataclasses.dataclass(frozen=True)
class WebhookAuth:
    """How webhook senders prove who they are (``fluent_signature``, ``api_key`` or ``none``)."""

    type: str
    public_key: Any
    api_key: Any
    header: str


@dataclasses.dataclass(frozen=True)
class AnswerPolicy:
    """``trigger.webhook.answer``: how a webhook answers (see engine/text_templates.py for body and each)."""

    mode: str | None
    timeout: float | None
    status: int
    content_type: str
    body: str | None
    each: str | None
    separator: str
    escape: str | None


@dataclasses.dataclass(frozen=True)
class WebhookPolicy:
    """``trigger.webhook``: the path ``engine serve`` answers on, its auth and its answer."""

    path: str
    auth: WebhookAuth | None
    response: str
    format: str
    answer: AnswerPolicy | None = None

    @property
    def mode(self) -> str:
        """``sync`` or ``async``: ``answer.mode`` when given, else ``response``."""
        if self.answer is not None and self.answer.mode is not None:
            return self.answer.mode
        return self.response


@dataclasses.dataclass(frozen=True)
class TriggerPolicy:
    """``trigger:`` for ``engine serve``: a cron schedule, a webhook, both or neither."""

    schedule: str | None
    webhook: WebhookPolicy | None


@dataclasses.dataclass(frozen=True)
class ExplodePolicy:
    """``explode:``: one record per element of ``path``, with ``parent`` fields copied in."""

    path: str
    parent: dict[str, str]
    empty: str


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of a route: its mapping and target; a plain route is one step without a name."""

    #: None for a route's own mapping and target (a route without ``steps:``)
    name: str | None
    mapping: RecordMapping | None
    target: Target
    #: the compiled JMESPath condition over ``{record, steps, context, file, row}``; None: always
    when: Any = None
    #: ``succeeded``: runs when no earlier step failed for the record; ``failed``: only when one did
    after: str = "succeeded"


@dataclasses.dataclass(frozen=True)
class Route:
    """One of ``routes:``: the records its condition takes, through its steps (one, or ``steps:``)."""

    name: str
    #: the compiled JMESPath condition over ``{record, context, file, row}``; None takes every record
    when: Any
    steps: tuple[Step, ...]
    #: the route that takes the records no other route took (``otherwise: true``)
    otherwise: bool = False

    @property
    def chained(self) -> bool:
        """Whether the route has named steps, run one after the other for each record."""
        return self.steps[0].name is not None

    def key(self, step: Step) -> str:
        """What a step's checkpoint, counts and rejects are kept under: ``route`` or ``route.step``."""
        return self.name if step.name is None else f"{self.name}.{step.name}"


@dataclasses.dataclass(frozen=True)
class RoutingPolicy:
    """``routes:`` with ``routing:``: ``first`` matching route per record, or ``all`` of them (fan-out)."""

    routing: str
    routes: tuple[Route, ...]

    def targets(self) -> list[Target]:
        """The targets of every route's steps, in the order they are written."""
        return [step.target for route in self.routes for step in route.steps]

    def choose(self, view: Callable[[], dict[str, Any]]) -> list[int] | None:
        """The indexes of the routes a record goes to (None: no route takes it).

        ``view`` builds what a ``when`` sees (``{record, context, file, row}``), only once a
        route has a condition. The runner and ``engine test`` both route with this.
        """
        from engine.mapping.steps import truthy

        seen: dict[str, Any] | None = None
        chosen: list[int] = []
        for r, route in enumerate(self.routes):
            if route.otherwise:
                return chosen or [r]
            if route.when is not None:
                seen = view() if seen is None else seen
                if not truthy(route.when.search(seen)):
                    continue
            chosen.append(r)
            if self.routing == "first":
                return chosen
        return chosen or None


@dataclasses.dataclass(frozen=True)
class Plan:
    """A compiled connector: plugin objects and policies, ready to open. Built without I/O."""

    doc: SpecDocument
    name: str
    spec: dict[str, Any]
    connections: dict[str, Connection]
    source: Source
    parser: Parser | None
    mapping: RecordMapping | None
    #: None when the spec routes records (``routes:``) instead
    target: Target | None
    state: StatePolicy
    state_store: StateStore
    on_error: ErrorPolicy
    trigger: TriggerPolicy
    tests: list[dict[str, Any]]
    context: dict[str, Any]
    warnings: list[Diagnostic]
    registries: Registries
    #: where the run's files are processed (local by default; see engine/executors)
    executor: Plugin | None = None
    #: named lookups the mapping reads as ``$lookup.NAME``
    lookups: dict[str, Lookup] = dataclasses.field(default_factory=dict)
    #: records exploded into one per element of a nested list, before lookups and mapping
    explode: ExplodePolicy | None = None
    #: ``routes:``: records go to the routes' own mappings and targets (no ``mapping``/``target`` then)
    routes: RoutingPolicy | None = None

    @property
    def base_dir(self) -> Path:
        """The spec's directory: relative paths in the spec are relative to it."""
        return self.doc.base_dir

    def plugins(self) -> list[Plugin]:
        """Every plugin of the plan, connections first (the order they are opened in)."""
        out: list[Plugin] = [*self.connections.values(), self.source]
        if self.parser is not None:
            out.append(self.parser)
        out.extend(self.lookups.values())
        if self.target is not None:
            out.append(self.target)
        if self.routes is not None:
            out.extend(self.routes.targets())
        return out

    def close(self) -> None:
        """Close every plugin, last opened first."""
        for plugin in reversed(self.plugins()):
            plugin.close()
