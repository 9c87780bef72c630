"""Background runs for ``response: async`` webhooks.

One worker per spec: a bounded queue and one thread, so runs of a spec are
serialised and a flood of webhooks is refused (503, retry later) instead of
growing memory without bound. Every accepted body is in the
:class:`~engine.serve.spool.Spool` before the 202 goes out and leaves it only
when settled:

* ``ok``: done, removed;
* ``failed`` (the target or the network failed) and ``locked`` (another
  process runs the spec): tried again later with the spec's own backoff
  (``state.retry``), the same schedule the ledger enforces;
* anything else (rejects over tolerance, attempts exhausted): moved to
  ``failed/`` for a person, with the reason.

With a state store several instances share, :class:`SharedWorker` keeps the
bodies in that store instead, so any instance runs what any other accepted.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from typing import Any

from engine.contracts import Payload
from engine.errors import EngineError
from engine.runtime.logs import Log
from engine.serve.specs import ServedSpec, summary
from engine.serve.spool import Spool, StoreSpool

#: a held lock is retried this often at first (doubling, at most LOCKED_MAX), up to LOCKED_ATTEMPTS times
LOCKED_FIRST, LOCKED_MAX, LOCKED_ATTEMPTS = 5.0, 300.0, 20
#: a failed run is never retried sooner than this
MIN_RETRY = 5.0


@dataclasses.dataclass
class Job:
    """One queued run of a spec, and how often it has been retried so far."""

    payload: Payload | None
    run_id: str
    failures: int = 0
    locked: int = 0
    #: set once the 202 is on its way: a run's first moments (compiling, the runner's full garbage
    #: collection) hold the interpreter for tens of milliseconds and would delay the answer
    answered: threading.Event = dataclasses.field(default_factory=threading.Event)


class Worker:
    """One spec's queue and background thread for ``response: async`` webhooks.

    Retries follow the spec's ``state.retry`` (``max_attempts``, ``backoff``).
    """

    def __init__(self, spec: ServedSpec, spool: Spool, *, size: int = 100, log: Log | None = None) -> None:
        self.spec = spec
        self.spool = spool
        self.log = (log or Log()).bind(connector=spec.name)
        self.queue: queue.Queue[Job] = queue.Queue(maxsize=size)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._timers: set[threading.Timer] = set()
        self._timers_lock = threading.Lock()
        self.max_attempts = spec.retry.max_attempts
        self.backoff = spec.retry.backoff

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread, which first runs payloads left pending by a previous process. Idempotent."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name=f"engine-worker:{self.spec.name}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Take no more work: the run under way finishes, queued bodies stay in the spool."""
        self._stop.set()
        with self._timers_lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for the thread to end; True when it has (or never started)."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    # -- intake --------------------------------------------------------------------------------

    def submit(self, payload: Payload) -> Job | None:
        """Spool and queue a body; None (nothing kept) when the queue is full or the worker stopping.

        The run waits for ``job.answered`` (at most a second): set it once the answer is sent.
        """
        if self._stop.is_set() or self.queue.full():
            return None
        self.spool.put(payload)
        job = Job(payload, payload.id)
        try:
            self.queue.put_nowait(job)
        except queue.Full:
            self.spool.done(payload)
            return None
        self.spec.runs.queued(job.run_id)
        return job

    def trigger(self, run_id: str) -> Job | None:
        """Queue a run with no body (a webhook that only starts a spec reading its own source)."""
        if self._stop.is_set():
            return None
        job = Job(None, run_id)
        try:
            self.queue.put_nowait(job)
        except queue.Full:
            return None
        self.spec.runs.queued(run_id)
        return job

    @property
    def queued(self) -> int:
        """Runs waiting in the queue (approximate, as any queue size read from another thread)."""
        return self.queue.qsize()

    # -- the loop ------------------------------------------------------------------------------

    def _loop(self) -> None:
        recovered = self.spool.pending()
        if recovered:
            self.log.info("resuming payloads accepted before a restart", count=len(recovered))
        for payload in recovered:
            if self._stop.is_set():
                return
            # a new run id (the one promised in the 202 may have started already); the same item uri,
            # so a checkpoint of that first attempt still applies
            job = Job(payload, f"{payload.id}-restart")
            job.answered.set()
            self._process(job)
        while not self._stop.is_set():
            try:
                job = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self._process(job)

    def _process(self, job: Job) -> None:
        job.answered.wait(1.0)
        attempt = job.failures + job.locked
        run_id = job.run_id if attempt == 0 else f"{job.run_id}-{attempt + 1}"
        try:
            report = self.spec.run(job.payload, run_id=run_id, trigger="webhook", tracked=job.run_id)
        except Exception as exc:  # a defect, not a run outcome: keep the body for a person
            self.log.error("webhook run crashed", run_id=run_id, error=f"{type(exc).__name__}: {exc}")
            self._give_up(job, {"status": "crashed", "error": f"{type(exc).__name__}: {exc}"})
            return
        outcome = summary(report, rejects=False)
        if report.status == "ok":
            if job.payload is not None:
                self.spool.done(job.payload)
        elif report.status == "locked" and job.locked + 1 < LOCKED_ATTEMPTS:
            job.locked += 1
            self._later(job, min(LOCKED_FIRST * 2 ** (job.locked - 1), LOCKED_MAX), outcome)
        elif report.status == "failed" and job.failures + 1 < self.max_attempts:
            job.failures += 1
            # the runner's own schedule (engine/runtime/runner.py _failed): the ledger refuses earlier retries
            wait = 0.0 if job.failures <= 1 else self.backoff * 2 ** (job.failures - 2)
            self._later(job, max(MIN_RETRY, wait), outcome)
        else:
            self._give_up(job, outcome)

    def _later(self, job: Job, delay: float, outcome: dict[str, Any]) -> None:
        if self._stop.is_set():
            return  # the body stays pending in the spool; the next start runs it
        self.spec.runs.retrying(job.run_id, delay)
        self.log.warning(
            "webhook run will be tried again",
            run_id=outcome.get("run_id"),
            status=outcome["status"],
            error=outcome.get("error"),
            retry_in=f"{delay:g}s",
        )

        def requeue() -> None:
            with self._timers_lock:
                self._timers.discard(timer)
            if not self._stop.is_set():
                self.queue.put(job)

        timer = threading.Timer(delay, requeue)
        timer.daemon = True
        with self._timers_lock:
            self._timers.add(timer)
        timer.start()

    def _give_up(self, job: Job, outcome: dict[str, Any]) -> None:
        if job.payload is None:
            return
        kept = self.spool.fail(job.payload, outcome)
        self.log.error(
            "webhook payload kept for a person to look at",
            run_id=job.run_id,
            status=outcome.get("status"),
            error=outcome.get("error"),
            kept=str(kept),
        )


class SharedWorker(Worker):
    """A spec's async webhook runs when its bodies are spooled in a store several instances share.

    Any instance may run any body: the loop takes the oldest due body from
    the store (a hold, renewed while the run goes on), runs it, and settles
    it there. A failed run gives the body back for a later attempt with the
    spec's backoff, by whichever instance is free then; a locked run (another
    instance is running the spec) gives it back without counting an attempt.
    Bodies accepted by an instance that died are taken over once its hold
    lapses. Webhooks that only trigger a run (no body) stay in this
    instance's queue.
    """

    #: how often an idle worker looks for bodies other instances accepted
    POLL = 1.0

    def __init__(
        self, spec: ServedSpec, spool: StoreSpool, *, size: int = 100, log: Log | None = None
    ) -> None:
        super().__init__(spec, spool, size=size, log=log)  # type: ignore[arg-type]
        self.shared = spool
        self.size = size
        self._wake = threading.Event()
        self._answers: dict[str, threading.Event] = {}

    def submit(self, payload: Payload) -> Job | None:
        """Commit a body to the shared store; None (nothing kept) when too many wait, stopping or the store is down."""
        if self._stop.is_set():
            return None
        try:
            if self.shared.counts()["pending"] >= self.size:
                return None
            job = Job(payload, payload.id)
            self._answers[payload.id] = job.answered
            self.shared.put(payload)
        except EngineError as exc:  # the store is unreachable: nothing was kept, the sender retries (503)
            self._answers.pop(payload.id, None)
            self.log.error("webhook body not accepted: the state store cannot be reached", error=str(exc))
            return None
        self._wake.set()
        return job

    @property
    def queued(self) -> int:
        """Bodies waiting in the shared store (every instance's), plus runs triggered here."""
        return self.shared.counts()["pending"] + self.queue.qsize()

    def stop(self) -> None:
        """Take no more work; held bodies are given back by their runs or lapse for the others."""
        super().stop()
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                taken = self.shared.take()
            except EngineError as exc:  # the store is unreachable: try again at the next poll
                self.log.warning("spooled bodies cannot be read", error=str(exc))
                taken = None
            if taken is not None:
                self._run_spooled(*taken)
                continue
            try:
                self._process(self.queue.get_nowait())
                continue
            except queue.Empty:
                pass
            self._wake.wait(self.POLL)
            self._wake.clear()

    def _run_spooled(self, payload: Payload, attempts: int) -> None:
        answered = self._answers.pop(payload.id, None)
        if answered is not None:
            answered.wait(1.0)
        run_id = payload.id if attempts == 0 else f"{payload.id}-{attempts + 1}"
        keeper = _HoldKeeper(self.shared, payload)
        try:
            report = self.spec.run(payload, run_id=run_id, trigger="webhook")
        except Exception as exc:  # a defect, not a run outcome: keep the body for a person
            self.log.error("webhook run crashed", run_id=run_id, error=f"{type(exc).__name__}: {exc}")
            self.shared.fail(payload, {"status": "crashed", "error": f"{type(exc).__name__}: {exc}"})
            return
        finally:
            keeper.stop()
        outcome = summary(report, rejects=False)
        if report.status == "ok":
            self.shared.done(payload)
        elif report.status == "locked":
            self.shared.release(payload, LOCKED_FIRST, attempt=False)
        elif report.status == "failed" and attempts + 1 < self.max_attempts:
            wait = 0.0 if attempts == 0 else self.backoff * 2 ** (attempts - 1)
            self.log.warning(
                "webhook run will be tried again",
                run_id=run_id,
                status=outcome["status"],
                error=outcome.get("error"),
                retry_in=f"{max(MIN_RETRY, wait):g}s",
            )
            self.shared.release(payload, max(MIN_RETRY, wait), attempt=True)
        else:
            kept = self.shared.fail(payload, outcome)
            self.log.error(
                "webhook payload kept for a person to look at",
                run_id=run_id,
                status=outcome.get("status"),
                error=outcome.get("error"),
                kept=str(kept),
            )


class _HoldKeeper:
    """Renews an instance's hold on a spooled body at a third of its ttl while its run goes on."""

    def __init__(self, spool: StoreSpool, payload: Payload) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._keep, args=(spool, payload), name="engine-spool-hold", daemon=True
        )
        self._thread.start()

    def _keep(self, spool: StoreSpool, payload: Payload) -> None:
        while not self._stop.wait(spool.ttl / 3):
            try:
                spool.hold(payload)
            except EngineError:
                pass  # the next beat may reach the store; the run's own lock guards its delivery

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
