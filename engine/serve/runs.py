"""What ``GET /runs/{id}`` tells: the runs a served spec accepted, while this process lives.

An async webhook answers 202 with a run id before the run starts, and a
sync one whose run outlives ``answer.timeout`` does the same; the caller
then polls ``/runs/{id}``. Each served spec keeps its recent runs here,
from ``queued`` through ``running`` to how they ended. Only the last
:data:`KEEP` runs of a spec are kept (a busy endpoint must not grow memory
without bound); a restarted server knows none of the runs before it, and
says 404. The answer holds statuses and counts, never a secret.
"""

from __future__ import annotations

import collections
import threading
from datetime import UTC, datetime
from typing import Any

from engine.runtime.report import RunReport

#: runs remembered per spec (the oldest are forgotten first)
KEEP = 1000
#: a run report's status → what /runs/{id} says
STATUSES = {
    "ok": "succeeded",
    "rejects_exceeded": "rejects_exceeded",
    "failed": "failed",
    "locked": "locked",
    "stopped": "stopped",
}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class RunBoard:
    """One spec's recent runs by the id its caller was given (thread-safe)."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._runs: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def _entry(self, run_id: str) -> dict[str, Any]:
        entry = self._runs.get(run_id)
        if entry is None:
            entry = self._runs[run_id] = {
                "run_id": run_id,
                "status": "queued",
                "attempts": 0,
                "queued": _now(),
            }
            while len(self._runs) > self.keep:
                self._runs.popitem(last=False)
        return entry

    def queued(self, run_id: str) -> None:
        """A run was accepted and waits for its turn."""
        with self._lock:
            self._entry(run_id)

    def running(self, run_id: str) -> None:
        """An attempt of the run starts now."""
        with self._lock:
            entry = self._entry(run_id)
            entry["status"] = "running"
            entry["attempts"] += 1
            entry["started"] = _now()
            entry.pop("retry_in", None)

    def ended(self, run_id: str, report: RunReport) -> None:
        """An attempt ended with ``report``: its status and counts."""
        with self._lock:
            entry = self._entry(run_id)
            entry["status"] = STATUSES.get(report.status, report.status)
            entry["ended"] = _now()
            entry["records"] = report.counts
            entry["error"] = report.error
            if report.run_id != run_id:
                entry["last_attempt"] = report.run_id

    def crashed(self, run_id: str, error: str) -> None:
        """The run stopped on a defect (logged with its exception)."""
        with self._lock:
            entry = self._entry(run_id)
            entry.update(status="crashed", ended=_now(), error=error)

    def retrying(self, run_id: str, seconds: float) -> None:
        """The attempt failed or found the lock held; the run is tried again in ``seconds``."""
        with self._lock:
            entry = self._entry(run_id)
            entry["status"] = "retrying"
            entry["retry_in"] = round(seconds, 3)

    def get(self, run_id: str) -> dict[str, Any] | None:
        """A copy of what is known about ``run_id``, or None when this process never had it (or forgot)."""
        with self._lock:
            entry = self._runs.get(run_id)
            return dict(entry) if entry is not None else None
