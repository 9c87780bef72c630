"""Incremental extraction, shared by the record sources (``http``, ``fluent.graphql``).

Where the last run stopped, and which records it already delivered.

The state is a value: the watermark (the latest ``updatedOn`` delivered,
never later than the moment the crawl started, so a record updated while
pages were being read is read again next time) and the ids of records
delivered within ``overlap`` of it, each with the ``updatedOn`` it had. The
next run queries from ``watermark - overlap`` (late writes and clock skew
land in that window) and drops a record only if it was delivered before
*with the same* ``updatedOn``; a record changed again is delivered again.

The new state is computed during the crawl (:class:`Crawl`, which also
drops records already delivered on an earlier page and stops at an exact
``max_records``) but stored only by the source's ``complete(ok=True)``
(:func:`store`), after the target acknowledged every record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.contracts import Logger, RunContext
from engine.errors import ConfigError
from engine.mapping.paths import Scope

#: ids remembered for overlap deduplication; beyond this, duplicates may pass through (logged)
MAX_SEEN = 200_000


def parse_instant(text: Any, what: str = "timestamp") -> datetime:
    """An ISO-8601 date-time in UTC (one without a zone is UTC); ``what`` names it in the error.

    Raises:
        ConfigError: the text is not an ISO-8601 date-time.
    """
    value = str(text).strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{what}: {text!r} is not an ISO-8601 date-time (e.g. 2026-01-01T00:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def render(moment: datetime) -> str:
    """The form sent in query variables: UTC with milliseconds and ``Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclasses.dataclass(frozen=True)
class Watermark:
    """Where a crawl got to: the latest update time delivered, and the ids delivered near it."""

    value: datetime | None
    seen: dict[str, str]

    @classmethod
    def load(cls, stored: Any) -> Watermark:
        """The watermark as the state store holds it (nothing stored: none)."""
        if not isinstance(stored, dict) or not stored.get("value"):
            return cls(None, {})
        return cls(parse_instant(stored["value"], "stored watermark"), dict(stored.get("seen") or {}))

    def dump(self) -> dict[str, Any]:
        """The stored form."""
        return {"value": render(self.value) if self.value else None, "seen": self.seen}


class Tracker:
    """Follows one crawl: overlap duplicates out, the next watermark in."""

    def __init__(self, previous: Watermark, overlap: float, started: datetime) -> None:
        self.previous = previous
        self.overlap = timedelta(seconds=overlap)
        self.started = started
        self.latest: datetime | None = None
        self.recent: dict[str, tuple[str, datetime]] = {}
        self.unstamped = 0
        self.capped = False

    def lower_bound(self, initial: str | None) -> datetime | None:
        """Where this crawl starts: the last watermark minus the overlap, else ``initial``, else None."""
        if self.previous.value is not None:
            return self.previous.value - self.overlap
        return parse_instant(initial, "watermark.initial") if initial else None

    def delivered_before(self, node_id: str | None, stamp: Any) -> bool:
        """Whether the last run delivered this record with this very update time."""
        return node_id is not None and stamp is not None and self.previous.seen.get(node_id) == str(stamp)

    def observe(self, node_id: str | None, stamp: Any) -> None:
        """A record was read: it moves the watermark, and is remembered when it is near it."""
        if stamp is None:
            self.unstamped += 1
            return
        moment = parse_instant(stamp, "watermark field")
        if self.latest is None or moment > self.latest:
            self.latest = moment
        if node_id is None:
            return
        self.recent[node_id] = (str(stamp), moment)
        if len(self.recent) > 2 * MAX_SEEN:
            self._prune()

    def _prune(self) -> None:
        floor = self._next_value()
        if floor is None:
            return
        floor -= self.overlap
        self.recent = {k: v for k, v in self.recent.items() if v[1] >= floor}
        if len(self.recent) > MAX_SEEN:
            self.capped = True
            newest = sorted(self.recent.items(), key=lambda kv: kv[1][1])[-MAX_SEEN:]
            self.recent = dict(newest)

    def _next_value(self) -> datetime | None:
        if self.latest is None:
            return self.previous.value
        value = min(self.latest, self.started)
        return max(value, self.previous.value) if self.previous.value else value

    def next(self) -> Watermark:
        """The watermark to store when everything read is acknowledged."""
        value = self._next_value()
        if value is None:
            return Watermark(None, {})
        floor = value - self.overlap
        seen = {k: s for k, s in self.previous.seen.items() if parse_instant(s) >= floor}
        self._prune()
        seen.update({k: s for k, (s, moment) in self.recent.items() if moment >= floor})
        return Watermark(value, seen)


#: ``(record, scope, where)`` -> the record's update time as the tracker reads it, or None
StampOf = Callable[[Any, Scope, str], Any]


class Crawl:
    """One read of a paginated API: what each page delivers, counted, and the next watermark.

    Records are dropped when their id (``id_of``) was already delivered on an
    earlier page, or in the overlap window with the same update time
    (``stamp_of``); at most ``limit`` records are delivered.
    """

    def __init__(
        self,
        tracker: Tracker | None,
        limit: int | None,
        *,
        id_of: Callable[[Any, Scope], Any] | None,
        stamp_of: StampOf | None,
        field: str | None,
    ) -> None:
        self.tracker = tracker
        self.limit = limit
        self.id_of = id_of
        self.stamp_of = stamp_of
        self.field = field
        self.seen: set[str] = set()
        self.counts: dict[str, Any] = {
            "pages": 0,
            "records": 0,
            "duplicates_dropped": 0,
            "overlap_dropped": 0,
            "truncated": False,
        }

    @property
    def full(self) -> bool:
        """Whether ``max_records`` is reached."""
        return self.limit is not None and self.counts["records"] >= self.limit

    @property
    def remaining(self) -> int | None:
        """Records still to deliver under ``max_records`` (None: no limit)."""
        return None if self.limit is None else self.limit - self.counts["records"]

    def keep(self, records: list[dict[str, Any]], page: int) -> tuple[list[dict[str, Any]], int]:
        """The page's records to deliver and the position of the first; counts the page.

        Sets ``truncated`` when ``max_records`` left some of the page behind.
        """
        counts, tracker = self.counts, self.tracker
        counts["pages"] += 1
        out: list[dict[str, Any]] = []
        for record in records:
            scope = Scope(root=record)
            raw = self.id_of(record, scope) if self.id_of is not None else None
            record_id = str(raw) if raw is not None and not isinstance(raw, dict | list) else None
            if record_id is not None:
                if record_id in self.seen:
                    counts["duplicates_dropped"] += 1
                    continue
                self.seen.add(record_id)
            stamp = None
            if tracker is not None and self.stamp_of is not None:
                stamp = self.stamp_of(
                    record, scope, f"page {page} record {record_id or len(out) + 1} {self.field}"
                )
            if tracker is not None and tracker.delivered_before(record_id, stamp):
                counts["overlap_dropped"] += 1
                tracker.observe(record_id, stamp)
                continue
            if self.limit is not None and counts["records"] + len(out) >= self.limit:
                counts["truncated"] = True
                break
            if tracker is not None:
                tracker.observe(record_id, stamp)
            out.append(record)
        first = counts["records"] + 1
        counts["records"] += len(out)
        return out, first

    def finish(self, log: Logger, message: str, *, backfill: bool, **where: Any) -> Watermark | None:
        """The watermark to store once the target acknowledged everything, or None.

        None after a backfill (``--since``/``--until``), without a watermark,
        or when ``max_records`` cut the crawl short: the stored watermark then
        stays where it was. ``where`` names the crawl in log lines.
        """
        counts, tracker = self.counts, self.tracker
        log.info(
            message,
            **where,
            pages=counts["pages"],
            records=counts["records"],
            duplicates=counts["duplicates_dropped"] or None,
            overlap=counts["overlap_dropped"] or None,
        )
        if tracker is None or backfill:
            return None
        if counts["truncated"]:
            counts["watermark_to"] = counts.get("watermark_from")
            log.warning(
                "max_records cut the crawl short; the watermark stays where it was",
                **where,
                max_records=self.limit,
            )
            return None
        if tracker.unstamped:
            log.warning("records without the watermark field", field=self.field, count=tracker.unstamped)
        nxt = tracker.next()
        counts["watermark_to"] = render(nxt.value) if nxt.value else None
        return nxt


def store(run: RunContext, key: str, watermark: Watermark | None, ok: bool) -> None:
    """Store ``watermark`` under ``key`` once its item succeeded (``ok``); nothing otherwise."""
    if ok and watermark is not None and watermark.value is not None:
        run.state.kv_set(run.connector, key, watermark.dump())
        run.log.info("watermark stored", value=render(watermark.value), remembered=len(watermark.seen))
