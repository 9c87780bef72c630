"""Counting what happened to every record, per item and per run.

The counts add up by construction: every record read is either mapped or
rejected (parse, mapping), and every mapped record is either written
(accepted by the target) or rejected by it, or still pending when a run
stops early. Rejected records go to the rejects file with their lineage.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Callable
from typing import Any

from engine.contracts import Batch, Chunk, Item, ParseReject
from engine.runtime.logs import Log
from engine.runtime.records import RecordLog
from engine.runtime.rejects import RejectsWriter, RejectTally


@dataclasses.dataclass
class Counts:
    """Record counts at each stage, for one item or the whole run."""

    read: int = 0
    mapped: int = 0
    written: int = 0
    rejected_parse: int = 0
    rejected_mapping: int = 0
    rejected_target: int = 0
    rejected_lookup: int = 0
    #: records no route took (``routes:`` without an ``otherwise`` route)
    rejected_route: int = 0
    skipped: int = 0
    #: records a lookup's ``on_missing: skip`` left out
    skipped_lookup: int = 0
    #: records not sent because they equal what was last delivered (``state.changed_only``)
    unchanged: int = 0

    @property
    def rejected(self) -> int:
        """Records rejected at any stage."""
        return (
            self.rejected_parse
            + self.rejected_mapping
            + self.rejected_lookup
            + self.rejected_route
            + self.rejected_target
        )

    def add(self, other: Counts) -> None:
        """Add ``other``'s counts to these (a worker's report into the run's)."""
        for name, n in vars(other).items():
            self.bump(name, n)

    def bump(self, name: str, n: int = 1) -> None:
        """Add ``n`` to the count called ``name`` (a field of this class)."""
        vars(self)[name] += n

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Counts:
        """Counts read back from :meth:`as_dict` (a worker's report)."""
        rejected = data.get("rejected") or {}
        return cls(
            read=data.get("read", 0),
            mapped=data.get("mapped", 0),
            written=data.get("written", 0),
            rejected_parse=rejected.get("parse", 0),
            rejected_mapping=rejected.get("mapping", 0),
            rejected_target=rejected.get("target", 0),
            rejected_lookup=rejected.get("lookup", 0),
            rejected_route=rejected.get("route", 0),
            skipped=data.get("skipped_invalid", 0),
            skipped_lookup=data.get("skipped_by_lookup", 0),
            unchanged=data.get("unchanged", 0),
        )

    def as_dict(self) -> dict[str, Any]:
        """The counts as the run report shows them."""
        return {
            "read": self.read,
            "mapped": self.mapped,
            "written": self.written,
            "rejected": {
                "parse": self.rejected_parse,
                "mapping": self.rejected_mapping,
                "lookup": self.rejected_lookup,
                "route": self.rejected_route,
                "target": self.rejected_target,
                "total": self.rejected,
            },
            "skipped_invalid": self.skipped,
            "skipped_by_lookup": self.skipped_lookup,
            "unchanged": self.unchanged,
        }


class RunOutcomes:
    """Implements :class:`engine.contracts.Outcomes` for one run."""

    def __init__(
        self,
        rejects: RejectsWriter | None,
        policy: str,
        log: Log,
        run_id: str,
        *,
        records: RecordLog | None = None,
    ) -> None:
        self.rejects = rejects
        #: every record's outcome, when the run was asked to keep them (a sync webhook answer)
        self.records = records
        self.policy = policy  # reject | skip | fail
        self.log = log
        self.run_id = run_id
        self.total = Counts()
        self.by_item: dict[str, Counts] = {}
        #: why records were rejected, for the report's summary
        self.tally = RejectTally()
        #: the route this view reports for (see :meth:`for_route`); None for the run's own outcomes
        self.route: str | None = None
        #: the step of the route this view reports for (routes with ``steps:``)
        self.step: str | None = None
        #: told of every answer a target reports through this view (a step's answers for the next steps)
        self.answer_sink: Callable[[Batch, int, Any], None] | None = None
        #: per route: the records it took, mapped, delivered and rejected (shared by every view)
        self.by_route: dict[str, Counts] = {}
        self._skip_logged = 0
        #: told of every record the target refused (``state.changed_only`` does not store those)
        self.on_refused: Callable[[Item, int], None] | None = None
        # targets report from their own threads (senders, pollers)
        self._lock = threading.RLock()

    def counts(self, item: Item) -> Counts:
        """The counts of ``item`` (created on first use)."""
        c = self.by_item.get(item.uri)
        if c is None:
            c = self.by_item[item.uri] = Counts()
        return c

    def for_route(self, route: str, step: str | None = None) -> RunOutcomes:
        """A view of these outcomes for one route (or one step of it): the same counts and rejects file.

        Each reject names the route and step; what the route's target reports
        also counts in :attr:`by_route` (under ``route`` or ``route.step``),
        which every view shares, so the report shows counts per route and step.
        """
        view = copy.copy(self)
        view.route = route
        view.step = step
        view.answer_sink = None
        with self._lock:
            self.by_route.setdefault(view.lane, Counts())
        return view

    @property
    def lane(self) -> str:
        """``route`` or ``route.step``: what this view's counts are kept under."""
        return f"{self.route}.{self.step}" if self.step is not None else str(self.route)

    def _bump(self, item: Item, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts(item).bump(name, n)
            self.total.bump(name, n)
            if self.route is not None:
                self.by_route[self.lane].bump(name, n)

    def routed(self, item: Item, n: int) -> None:
        """``n`` records of ``item`` were taken by this view's route (counted for the route only)."""
        if self.route is not None and n:
            with self._lock:
                self.by_route[self.lane].read += n

    # -- reading and mapping ----------------------------------------------------------

    def read(self, item: Item, n: int) -> None:
        """``n`` records of ``item`` were read."""
        self._bump(item, "read", n)

    def mapped(self, item: Item, n: int) -> None:
        """``n`` records of ``item`` were mapped and go on to the target."""
        self._bump(item, "mapped", n)

    def invalid(
        self,
        item: Item,
        stage: str,
        lineage: dict[str, Any],
        reasons: list[str],
        original: Any,
        errors: list[dict[str, Any]] | None = None,
        columns: Any = None,
    ) -> None:
        """A record refused by the parser or the mapping, handled by ``on_error.invalid_record``.

        ``columns`` names the source's columns (a CSV header) for a rejects
        CSV whose first entry is a row the parser could not read.
        """
        from engine.errors import DataError

        where = _where(lineage)
        if self.policy == "fail":
            raise DataError(f"{where} {'; '.join(reasons)}", hint="on_error.invalid_record is 'fail'")
        if self.records is not None:
            self.records.refused(item, lineage.get("row"), stage, reasons, skipped=self.policy == "skip")
        if self.policy == "skip":
            self._bump(item, "skipped")
            if self._skip_logged < 10:
                self._skip_logged += 1
                self.log.info("invalid record skipped", at=where, reason="; ".join(reasons))
            return
        self._bump(item, f"rejected_{stage}")
        self._write(stage, lineage, reasons, original, errors=errors, columns=columns)

    def unchanged(self, item: Item, n: int) -> None:
        """``n`` records of ``item`` not sent: they equal what was last delivered for their key."""
        self._bump(item, "unchanged", n)

    def skipped_by_lookup(self, item: Item, n: int) -> None:
        """``n`` records of ``item`` left out because a lookup had no answer (``on_missing: skip``)."""
        self._bump(item, "skipped_lookup", n)

    def parse_reject(self, chunk: Chunk, reject: ParseReject) -> None:
        """A record the parser could not read goes to the rejects file with its position."""
        lineage = {"uri": chunk.item.file_uri, "file": chunk.item.name, "row": reject.position}
        if reject.line is not None:
            lineage["line"] = reject.line
        if reject.locator is not None:
            lineage["at"] = reject.locator
        self.invalid(chunk.item, "parse", lineage, [reject.reason], reject.raw, columns=chunk.columns)

    # -- target ----------------------------------------------------------------------------

    def accepted(self, batch: Batch, count: int | None = None) -> None:
        """Records of ``batch`` the target acknowledged."""
        self._bump(batch.chunk.item, "written", len(batch) if count is None else count)
        if self.records is not None and (count is None or count == len(batch)):
            self.records.accepted(batch)

    def accepted_count(self, count: int, item: Item) -> None:
        """``count`` records of ``item`` acknowledged without their batch."""
        self._bump(item, "written", count)

    def rejected(
        self,
        batch: Batch,
        i: int,
        reason: str,
        *,
        stage: str = "target",
        response: Any = None,
        field: str | None = None,
    ) -> None:
        """Record ``i`` of ``batch`` refused by the target: counted, logged and written to the rejects file."""
        item = batch.chunk.item
        self._bump(item, "rejected_target")
        if self.on_refused is not None:
            self.on_refused(item, batch.chunk.positions[batch.index[i]])
        reasons = [f"{field}: {reason}" if field else reason]
        if self.records is not None:
            self.records.refused(
                item, batch.chunk.positions[batch.index[i]], "target", reasons, response=response
            )
        self._write(
            "target", batch.lineage(i), reasons, batch.original(i), mapped=batch.records[i], response=response
        )

    def rejected_at(self, item: Item, lineage: dict[str, Any], reason: str, *, response: Any = None) -> None:
        """A target reject known only by position (e.g. results collected after a resume)."""
        self._bump(item, "rejected_target")
        if self.on_refused is not None and isinstance(lineage.get("row"), int):
            self.on_refused(item, lineage["row"])
        if self.records is not None:
            self.records.refused(item, lineage.get("row"), "target", [reason], response=response)
        self._write("target", lineage, [reason], None, response=response)

    @property
    def keeps_answers(self) -> bool:
        """Whether answers are kept: this run collects per-record outcomes, or a later step reads them."""
        return self.records is not None or self.answer_sink is not None

    def answered(self, batch: Batch, i: int, answer: Any, *, step: str = "target") -> None:
        """What ``step`` answered for record ``i`` of ``batch``: to the step that reads it, and the record's outcome.

        A route's (or step's) view keeps the answer under ``route`` (or
        ``route.step``) rather than ``target``, so each step of a record
        keeps its own answer in the per-record results.
        """
        if self.answer_sink is not None:
            self.answer_sink(batch, i, answer)
        if self.records is not None:
            self.records.answered(batch, i, answer, self.lane if self.route is not None else step)

    def flush(self) -> None:
        """Write buffered rejects to disk."""
        with self._lock:
            if self.rejects is not None:
                self.rejects.flush()

    def _write(
        self,
        stage: str,
        lineage: dict[str, Any],
        reasons: list[str],
        original: Any,
        *,
        errors: list[dict[str, Any]] | None = None,
        mapped: Any = None,
        response: Any = None,
        columns: Any = None,
    ) -> None:
        with self._lock:
            self.tally.add(stage, reasons, lineage)
        if self.rejects is None:
            if self.total.rejected <= 20:
                self.log.warning(
                    "record rejected", stage=stage, at=_where(lineage), reason="; ".join(reasons)
                )
            return
        entry: dict[str, Any] = {
            "run_id": self.run_id,
            "stage": stage,
            **({"route": self.route} if self.route is not None else {}),
            **({"step": self.step} if self.step is not None else {}),
            "lineage": lineage,
            "reasons": reasons,
        }
        if errors:
            entry["errors"] = errors
        entry["original"] = original
        if mapped is not None:
            entry["mapped"] = mapped
        if response is not None:
            entry["response"] = response
        with self._lock:
            self.rejects.write(entry, columns=columns)


def _where(lineage: dict[str, Any]) -> str:
    if lineage.get("at") is not None:
        return f"{lineage.get('file')} {lineage['at']}"
    if lineage.get("line") is not None:
        return f"{lineage.get('file')}:{lineage['line']}"
    return f"{lineage.get('file')} record {lineage.get('row')}"
