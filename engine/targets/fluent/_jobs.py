"""Jobs and batch answers for ``fluent.batch``: job choice and expiry, job status, refused entities.

Which job a batch goes to, whether a job expired, what a job's status lists,
and which entities a batch refused.

Job/batch status vocabularies vary between Fluent documents (COMPLETE vs
COMPLETED, batch lists under ``batch`` or ``batches``): everything here reads
them defensively.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from engine.contracts import Item, RunContext
from engine.errors import TARGET, TargetError
from engine.fluent.client import FluentClient
from engine.http.status import RefusedError
from engine.secrets import excerpt
from engine.templates import NameTemplate

DONE = {"COMPLETE", "COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "ERROR", "PARTIAL", "PARTIALLY_COMPLETED"}
JOB_DEAD = {"EXPIRED", "CLOSED", "FAILED"}


def is_job_expired(exc: RefusedError) -> bool:
    """Whether Fluent refused a request because the job it names has expired."""
    return exc.status in (400, 404, 409, 410) and "expired" in exc.body.lower()


class JobKeeper:
    """Which job a batch goes to, by strategy; replaces expired jobs."""

    def __init__(
        self,
        client: FluentClient,
        run: RunContext,
        strategy: str,
        name: NameTemplate,
        ttl: float,
        retailer_id: str,
        *,
        meta: dict | None,
        log: Any,
    ) -> None:
        self.client = client
        self.run = run
        self.strategy = strategy
        self.name = name
        self.ttl = ttl
        self.retailer_id = retailer_id
        self.meta = meta
        self.log = log
        self.jobs: dict[str, str] = {}
        self.created = 0
        #: stored daily jobs found expired or gone (replaced by a new one)
        self.expired = 0

    def _key(self, item: Item) -> str:
        if self.strategy == "per_file":
            return item.uri
        if self.strategy == "daily":
            return f"fluent.batch.daily_job.{self.retailer_id}.{self.run.started.strftime('%Y-%m-%d')}"
        return "run"

    def job_for(self, item: Item) -> tuple[str, set[str]]:
        """The job id for ``item`` and the batch ids it already holds."""
        key = self._key(item)
        job = self.jobs.get(key)
        if job is not None:
            return job, set()
        if self.strategy == "daily":
            stored = self.run.state.kv_get(self.run.connector, key)
            if stored:
                status = self._stored(stored)
                if status is not None and str(status.get("status", "OPEN")).upper() not in JOB_DEAD:
                    self.jobs[key] = stored
                    self.log.info("reusing today's job", job=stored)
                    return stored, _batch_ids(status)
                self.expired += 1
                if status is None:
                    self.run.note(
                        f"today's job {stored} no longer exists in Fluent (removed, or an emulator "
                        "restarted); a new job was created"
                    )
                self.log.info("today's job has expired or is gone; creating a new one", job=stored)
        return self._create(key, item), set()

    def _stored(self, job: str) -> dict[str, Any] | None:
        """The status of a job stored by an earlier run, or None when Fluent no longer has it."""
        try:
            return self.client.get(f"api/v4.1/job/{job}", phase=TARGET)
        except RefusedError as exc:
            if exc.status == 404 or is_job_expired(exc):
                return None
            raise

    def replace(self, job: str, item: Item) -> str:
        self.log.warning("job expired; creating a new one and resending the refused batch", job=job)
        key = self._key(item)
        self.jobs.pop(key, None)
        return self._create(key, item)

    def _create(self, key: str, item: Item) -> str:
        body = job_body(self.run, item, self.name, self.retailer_id, self.meta)
        # an ambiguous job creation may leave an empty job behind; that is harmless, so resend
        answer = self.client.write("api/v4.1/job", body, reconcile=lambda: None)
        job = str(answer.get("id") or answer.get("jobId") or "")
        if not job:
            raise TargetError(f"creating a job did not return an id (answer: {excerpt(str(answer), 200)})")
        self.created += 1
        self.jobs[key] = job
        if self.strategy == "daily":
            self.run.state.kv_set(
                self.run.connector, key, job, expires=datetime.now(UTC) + timedelta(seconds=self.ttl)
            )
        self.log.info("job created", job=job, name=body["name"])
        return job


def job_body(
    run: RunContext, item: Item, name: NameTemplate, retailer_id: str, meta: dict | None
) -> dict[str, Any]:
    """The body that creates a job for ``item`` (``POST /api/v4.1/job``); a plan prints the same."""
    values = {
        "connector": run.connector,
        "run_id": run.run_id,
        "source": item.name,
        "retailer_id": retailer_id,
    }
    body: dict[str, Any] = {"name": name.render(values, run.started), "retailerId": retailer_id}
    if meta:
        body["meta"] = meta
    return body


def _batch_statuses(job_status: dict[str, Any]) -> dict[str, str]:
    """``{batch id: STATUS}`` from a job status, empty when it lists no batches."""
    listed = job_status.get("batch") or job_status.get("batches") or []
    out = {}
    for b in listed if isinstance(listed, list) else []:
        if isinstance(b, dict) and (b.get("batchId") or b.get("id")) is not None:
            out[str(b.get("batchId") or b.get("id"))] = str(b.get("status", "")).upper()
    return out


def _batch_ids(job_status: dict[str, Any]) -> set[str]:
    listed = job_status.get("batch") or job_status.get("batches") or []
    out = set()
    for b in listed if isinstance(listed, list) else []:
        if isinstance(b, dict):
            bid = b.get("batchId") or b.get("id")
            if bid is not None:
                out.add(str(bid))
    return out


def failures_of(body: dict[str, Any], count: int, base: int) -> list[tuple[int, str, Any]]:
    """Entities a completed batch refused: ``(index, reason, Fluent's entry)``."""
    out: dict[int, tuple[int, str, Any]] = {}
    for entry in list(body.get("results") or []) + list(body.get("errors") or []):
        if not isinstance(entry, dict) or entry.get("entityIndex") is None:
            continue
        try:
            i = int(entry["entityIndex"]) - base
        except (TypeError, ValueError):
            continue
        if 0 <= i < count and i not in out:
            code = entry.get("responseCode") or entry.get("code")
            message = entry.get("message") or entry.get("responseMessage") or "refused"
            out[i] = (
                i,
                f"Fluent refused the entity ({code}): {message}"
                if code
                else f"Fluent refused the entity: {message}",
                entry,
            )
    status = str(body.get("status", "")).upper()
    if status in ("FAILED", "ERROR") and not out:
        message = body.get("message") or "the batch failed"
        return [(i, f"Fluent failed the whole batch: {message}", {"status": status}) for i in range(count)]
    return sorted(out.values())
