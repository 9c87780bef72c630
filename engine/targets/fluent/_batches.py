"""The machinery behind ``fluent.batch``: jobs, a sender, a poller.

One sender thread posts batches one at a time (so an ambiguous failure can
be reconciled against the job's batch list without guessing); one poller
thread follows sent batches to completion with growing intervals. A
semaphore bounds the batches in flight, which bounds memory: a batch keeps
references to its source chunk (for lineage) only until it is settled. The
work open per file and the first failure are an
:class:`~engine.delivery.pool.Outstanding`; each file's checkpoint is a
:class:`~engine.delivery.window.BatchWindow`.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from engine.contracts import Batch, Checkpoint, Item, RunContext
from engine.delivery.pool import Outstanding
from engine.delivery.window import BatchWindow
from engine.errors import TARGET, EngineError, TargetError
from engine.failpoints import failpoint
from engine.fluent.client import FluentClient
from engine.http.status import RefusedError
from engine.runtime.checkpoints import position_at, ranges
from engine.secrets import excerpt
from engine.targets.fluent._jobs import (
    DONE,
    JobKeeper,
    _batch_ids,
    _batch_statuses,
    failures_of,
    is_job_expired,
)


@dataclasses.dataclass
class Pending:
    seq: int
    item: Item
    refs: list[tuple[Batch, int]] | None
    #: the entities to send: a list, or their JSON array as an ``orjson.Fragment``
    entities: Any
    size: int
    #: source positions of the entities, as compact ranges (for checkpoints and resumed results)
    spans: list[list[int]]
    job_id: str | None = None
    batch_id: str | None = None
    sent_at: float = 0.0

    @property
    def last(self) -> int:
        return self.spans[-1][1] if self.spans else 0


class BatchPipeline:
    def __init__(
        self,
        client: FluentClient,
        run: RunContext,
        jobs: JobKeeper,
        options: Any,
        poll: dict[str, float],
        *,
        log: Any,
        complete: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self.client = client
        #: completes a refused record as it was sent (the target's additions), for the rejects file
        self.complete = complete
        self.run = run
        self.jobs = jobs
        self.options = options
        self.poll_interval = poll.get("interval") or 0.5
        self.poll_max = poll.get("max_interval") or 15.0
        self.poll_timeout = poll.get("timeout") or 1800.0
        self.log = log
        self.queue: queue.Queue[Pending | None] = queue.Queue()
        self.slots = threading.Semaphore(options.max_in_flight)
        self.outstanding = Outstanding()
        self.cond = self.outstanding.cond
        self.polling: list[Pending] = []
        self.known: dict[str, set[str]] = {}
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.seq = itertools.count(1)
        self.counts = {"batches": 0, "polls": 0, "expired_jobs": 0, "resumed_batches": 0}
        self.threads: list[threading.Thread] = []
        self.window = BatchWindow(run)

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        self.threads.append(threading.Thread(target=self._sender, name="fluent-batch-sender", daemon=True))
        if self.options.wait:
            self.threads.append(
                threading.Thread(target=self._poller, name="fluent-batch-poller", daemon=True)
            )
        for t in self.threads:
            t.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        self.queue.put(None)
        for t in self.threads:
            t.join(timeout=10)
        self.threads = []

    def check(self) -> None:
        self.outstanding.check()

    def stats(self) -> dict[str, Any]:
        c = self.client.stats
        return {
            "jobs": self.jobs.created,
            "batches": self.counts["batches"],
            "polls": self.counts["polls"],
            "expired_jobs": self.counts["expired_jobs"] + self.jobs.expired,
            "requests": c["requests"],
            "retries": c["retries"],
            "reconciled": c["reconciled"],
            "token_requests": self.client.auth.grants,
        }

    # -- producer side ---------------------------------------------------------------

    def submit(self, item: Item, refs: list[tuple[Batch, int]], entities: Any, size: int) -> None:
        """Queue ``size`` entities (a list, or their JSON array as an ``orjson.Fragment``) for sending."""
        while not self.slots.acquire(timeout=0.2):
            self.check()
        self.check()
        self.outstanding.add(item)
        spans = ranges([b.chunk.positions[b.index[i]] for b, i in refs])
        self.queue.put(Pending(next(self.seq), item, refs, entities, size, spans))

    # -- checkpoints -----------------------------------------------------------------

    def restore(self, item: Item, saved: Checkpoint) -> int:
        """Resume a file an interrupted run was sending; returns the delivered prefix.

        A batch that was in flight is looked up in its job: if it arrived it is
        adopted (not resent), otherwise its records are sent again. Batches
        whose results were never collected are polled and their refusals
        reported by source row.
        """
        target = saved.target
        acked, pending = saved.acked, dict(target.get("pending") or {})
        inflight = target.get("inflight")
        if inflight:
            try:
                status = self.client.get(f"api/v4.1/job/{inflight['job']}", phase=TARGET)
                arrived = _batch_ids(status) - set(inflight.get("known", []))
            except RefusedError as exc:
                if exc.status != 404:
                    raise
                arrived = set()
            if len(arrived) == 1:
                batch_id = arrived.pop()
                self.log.info(
                    "the batch in flight at the interruption had arrived; not resending",
                    file=item.name,
                    job=inflight["job"],
                    batch=batch_id,
                )
                acked = max(acked, int(inflight["last"]))
                pending[batch_id] = {
                    "job": inflight["job"],
                    "spans": inflight["spans"],
                    "size": inflight["size"],
                }
            elif arrived:
                raise TargetError(
                    f"job {inflight['job']} holds batches the interrupted run did not record "
                    f"({', '.join(sorted(arrived))}); cannot tell which one was in flight"
                )
        self.window.begin(item, acked, pending)
        for batch_id, info in pending.items():
            p = Pending(
                next(self.seq),
                item,
                None,
                None,
                int(info["size"]),
                info["spans"],
                job_id=str(info["job"]),
                batch_id=batch_id,
                sent_at=time.monotonic(),
            )
            self.counts["resumed_batches"] += 1
            while not self.slots.acquire(timeout=0.2):
                self.check()
            self.outstanding.add(item)
            if self.options.wait:
                with self.cond:
                    self.polling.append(p)
            else:
                self._settle(p, [])
        return acked

    def wait_item(self, item: Item) -> None:
        """Return once every batch of ``item`` is settled (the first failure is raised instead)."""
        self.outstanding.wait_item(item)

    def wait_all(self) -> None:
        """Return once every batch is settled."""
        self.outstanding.wait_all()

    # -- sending ---------------------------------------------------------------------

    def _sender(self) -> None:
        while True:
            pending = self.queue.get()
            if pending is None or self.stopping.is_set():
                return
            try:
                self._send(pending)
            except EngineError as exc:
                self.outstanding.fail(exc)
                return

    def _send(self, p: Pending) -> None:
        job, existing = self.jobs.job_for(p.item)
        known = self.known.setdefault(job, set())
        known |= existing
        body = batch_body(self.options, p.entities if p.entities is not None else [])
        while True:
            self.window.in_flight(
                p.item, {"job": job, "known": sorted(known), "spans": p.spans, "size": p.size, "last": p.last}
            )
            failpoint("batch.before_post")
            try:
                answer = self.client.write(
                    f"api/v4.1/job/{job}/batch", body, reconcile=functools.partial(self._reconcile, job)
                )
                break
            except RefusedError as exc:
                if is_job_expired(exc):
                    self.counts["expired_jobs"] += 1
                    job = self.jobs.replace(job, p.item)
                    known = self.known.setdefault(job, set())
                    continue
                raise TargetError(
                    f"a batch of {p.size} records from {p.item.name} was refused: {exc.message}",
                    hint="see the body above; nothing of this batch was applied",
                ) from None
        batch_id = str(answer.get("id") or answer.get("batchId") or "")
        if not batch_id:
            raise TargetError(f"sending a batch did not return an id (answer: {excerpt(str(answer), 200)})")
        failpoint("batch.after_post")
        known.add(batch_id)
        self.counts["batches"] += 1
        p.job_id, p.batch_id = job, batch_id
        awaited = (batch_id, {"job": job, "spans": p.spans, "size": p.size}) if self.options.wait else None
        self.window.sent(p.item, p.last, awaited)
        failpoint("batch.after_checkpoint")
        p.entities = None  # sent: the payload is no longer needed
        p.sent_at = time.monotonic()
        self.log.debug("batch sent", job=job, batch=batch_id, records=p.size, file=p.item.name)
        if not self.options.wait:
            self._settle(p, [])
            return
        with self.cond:
            self.polling.append(p)
        self.wake.set()

    def _reconcile(self, job: str) -> dict[str, Any] | None:
        """After an ambiguous POST: did the batch arrive? The job's batch list says."""
        status = self.client.get(f"api/v4.1/job/{job}", phase=TARGET)
        unknown = _batch_ids(status) - self.known.get(job, set())
        if len(unknown) == 1:
            return {"id": unknown.pop()}
        if not unknown:
            return None
        raise TargetError(
            f"job {job} holds batches this run did not send ({', '.join(sorted(unknown))}); "
            "cannot tell whether the last batch arrived",
            hint="is another process writing to the same job?",
        )

    # -- polling ---------------------------------------------------------------------

    def _poller(self) -> None:
        """Follow sent batches: one job-status request covers all of a job's batches.

        Batch details (with per-entity results) are fetched only for batches the
        job reports finished. Intervals grow while nothing changes and snap back
        when something completes. Without a batch list in the job status, each
        batch's own status is polled instead.
        """
        delay = self.poll_interval
        while not self.stopping.is_set():
            with self.cond:
                waiting = list(self.polling)
            if not waiting:
                self.wake.wait(0.2)
                self.wake.clear()
                delay = self.poll_interval
                continue
            if self.stopping.wait(delay):
                return
            try:
                progressed = self._poll_round(waiting)
            except EngineError as exc:
                self.outstanding.fail(exc)
                return
            # batches finish in waves: after one finished, look again soon; back off while none do
            delay = (
                self.poll_interval / 4
                if progressed
                else min(self.poll_max, max(delay, self.poll_interval) * 1.6)
            )

    def _poll_round(self, waiting: list[Pending]) -> bool:
        failpoint("batch.poll")
        by_job: dict[str, list[Pending]] = {}
        for p in waiting:
            by_job.setdefault(str(p.job_id), []).append(p)
        progressed = False
        for job, pendings in by_job.items():
            self.counts["polls"] += 1
            try:
                status = self.client.get(f"api/v4.1/job/{job}", phase=TARGET)
            except RefusedError as exc:
                if exc.status != 404 or any(p.refs is not None for p in pendings):
                    raise
                self._job_gone(job, pendings)
                progressed = True
                continue
            listed = _batch_statuses(status)
            for p in pendings:
                state = listed.get(str(p.batch_id)) if listed else None
                if listed and state is not None and state not in DONE:
                    self._check_timeout(p, state)
                    continue
                progressed = self._poll_batch(p) or progressed
        return progressed

    def _job_gone(self, job: str, pendings: list[Pending]) -> None:
        """Batches an interrupted run sent to a job Fluent no longer has: their results cannot be read.

        Fluent accepted them when they were sent, so they count as written
        (not sent again); the report's notes say their refusals are unknown.
        """
        records = sum(p.size for p in pendings)
        self.run.note(
            f"job {job} no longer exists in Fluent: the results of {len(pendings)} batch(es) "
            f"({records} records) sent by an interrupted run cannot be read; they count as written "
            "and any entities Fluent refused in them are not in the rejects file"
        )
        self.log.warning(
            "job gone; results of resumed batches cannot be read", job=job, batches=len(pendings)
        )
        for p in pendings:
            with self.cond:
                self.polling.remove(p)
            self._settle(p, [])

    def _poll_batch(self, p: Pending) -> bool:
        self.counts["polls"] += 1
        body = self.client.get(f"api/v4.1/job/{p.job_id}/batch/{p.batch_id}", phase=TARGET)
        status = str(body.get("status", "")).upper()
        if status in DONE:
            with self.cond:
                self.polling.remove(p)
            self._settle(p, failures_of(body, p.size, self.options.entity_index_base))
            return True
        self._check_timeout(p, status)
        return False

    def _check_timeout(self, p: Pending, status: str) -> None:
        if time.monotonic() - p.sent_at > self.poll_timeout:
            raise TargetError(
                f"batch {p.batch_id} of job {p.job_id} is still {status or 'unfinished'} after "
                f"{self.poll_timeout:.0f}s",
                hint="raise target.poll.timeout, or check the job in Fluent",
            )

    def _settle(self, p: Pending, failures: list[tuple[int, str, Any]]) -> None:
        outcomes = self.run.outcomes
        for i, reason, entry in failures:
            response = {"job": p.job_id, "batch": p.batch_id, **entry} if isinstance(entry, dict) else entry
            if p.refs is not None:
                batch, index = p.refs[i]
                if self.complete is not None:
                    self.complete(batch.records[index])
                outcomes.rejected(batch, index, reason, response=response)
            else:  # results of a batch sent by an interrupted run: known by source row only
                lineage = {"uri": p.item.file_uri, "file": p.item.name, "row": position_at(p.spans, i)}
                outcomes.rejected_at(p.item, lineage, reason, response=response)
        outcomes.accepted_count(p.size - len(failures), p.item)
        failpoint("batch.settled")
        if self.options.wait:
            outcomes.flush()
            self.window.settled(p.item, str(p.batch_id))
        if failures:
            self.log.info(
                "batch complete with refused entities",
                job=p.job_id,
                batch=p.batch_id,
                refused=len(failures),
                records=p.size,
            )
        p.refs = None
        self.slots.release()
        self.outstanding.done(p.item)


def batch_body(o: Any, entities: Any) -> dict[str, Any]:
    """The body of one batch (``POST /api/v4.1/job/{id}/batch``) of ``entities``; a plan prints the same."""
    body: dict[str, Any] = {"action": o.action, "entityType": o.entity_type}
    if o.source:
        body["source"] = o.source
    if o.event:
        body["event"] = o.event
    if o.catalogue_ref:
        body["catalogueRef"] = o.catalogue_ref
    body["entities"] = entities
    return body
