"""The emulator clock: wall time plus an offset the control API can advance.

Token expiry, job expiry, event windows and time-based batch progression are all judged on this
clock, so a test can jump an hour ahead in a millisecond. Timestamps are stored as fixed-width
ISO strings (``2026-02-05T06:31:56.895Z``), which sort and compare correctly as plain strings.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


def iso(moment: datetime) -> str:
    """Fixed-width UTC ISO-8601 with milliseconds and a ``Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_instant(text: str) -> datetime:
    """Read an ISO-8601 instant (``Z``, offsets, dates); naive values are taken as UTC."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def normalise(text: str) -> str:
    """Any accepted instant spelling, in the stored fixed-width form."""
    return iso(parse_instant(text))


class Clock:
    """Wall clock (or a frozen instant) plus an offset in seconds."""

    def __init__(self, start: str = "") -> None:
        self._frozen = parse_instant(start).timestamp() if start else None
        self.offset = 0.0

    def timestamp(self) -> float:
        """Seconds since the epoch on the emulator clock (offset included)."""
        base = self._frozen if self._frozen is not None else time.time()
        return base + self.offset

    def now(self) -> datetime:
        """The emulator's current time, UTC."""
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def now_iso(self) -> str:
        """The emulator's current time in the stored fixed-width form (see :func:`iso`)."""
        return iso(self.now())

    def advance(self, seconds: float) -> None:
        """Jump ``seconds`` ahead (negative goes back); tokens and jobs judged on this clock follow."""
        self.offset += float(seconds)

    def set(self, instant: str) -> None:
        """Move the clock so that now == instant (keeps running unless frozen)."""
        base = self._frozen if self._frozen is not None else time.time()
        self.offset = parse_instant(instant).timestamp() - base

    def iso_in(self, seconds: float) -> str:
        """The stored form of the instant ``seconds`` from now, e.g. an expiry time."""
        return iso(self.now() + timedelta(seconds=seconds))
