"""Incremental extraction: where the last run stopped, and which records it already delivered.

The state is a value: the watermark (the latest ``updatedOn`` delivered,
never later than the moment the crawl started, so a record updated while
pages were being read is read again next time) and the ids of records
delivered within ``overlap`` of it, each with the ``updatedOn`` it had. The
next run queries from ``watermark - overlap`` (late writes and clock skew
land in that window) and drops a record only if it was delivered before
*with the same* ``updatedOn``; a record changed again is delivered again.

The new state is computed during the crawl but stored only by the source's
``complete(ok=True)``, after the target acknowledged every record.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.errors import ConfigError

STATE_KEY = "fluent.graphql.watermark"
#: ids remembered for overlap deduplication; beyond this, duplicates may pass through (logged)
MAX_SEEN = 200_000


def parse_instant(text: Any, what: str = "timestamp") -> datetime:
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
    value: datetime | None
    seen: dict[str, str]

    @classmethod
    def load(cls, stored: Any) -> Watermark:
        if not isinstance(stored, dict) or not stored.get("value"):
            return cls(None, {})
        return cls(parse_instant(stored["value"], "stored watermark"), dict(stored.get("seen") or {}))

    def dump(self) -> dict[str, Any]:
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
        if self.previous.value is not None:
            return self.previous.value - self.overlap
        return parse_instant(initial, "watermark.initial") if initial else None

    def delivered_before(self, node_id: str | None, stamp: Any) -> bool:
        return node_id is not None and stamp is not None and self.previous.seen.get(node_id) == str(stamp)

    def observe(self, node_id: str | None, stamp: Any) -> None:
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
        value = self._next_value()
        if value is None:
            return Watermark(None, {})
        floor = value - self.overlap
        seen = {k: s for k, s in self.previous.seen.items() if parse_instant(s) >= floor}
        self._prune()
        seen.update({k: s for k, (s, moment) in self.recent.items() if moment >= floor})
        return Watermark(value, seen)
