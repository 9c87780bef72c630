"""One item's life in the state store: claim, resume, commit, fail, retry, quarantine.

An item (a file, a payload, a query) is claimed before it is read, so two
workers never take the same one; an item an interrupted run was delivering
resumes after its acknowledged prefix; a delivered item is moved and marked
done, and only then is its checkpoint dropped. A failed item is retried by
later runs with backoff until ``state.retry.max_attempts``, then
quarantined like an item whose data cannot be used (moved to the failure
location). Dry runs and replays touch none of this: they keep no state.
"""

from __future__ import annotations

from engine.contracts import Item, Source, Target
from engine.errors import EngineError
from engine.failpoints import failpoint
from engine.plan import Plan
from engine.runtime.changes import ChangeFilter
from engine.runtime.context import Run
from engine.runtime.ledger import next_retry
from engine.runtime.locking import CLAIM_TTL
from engine.runtime.moves import move_delivered, record_delivered
from engine.runtime.report import ItemReport
from engine.secrets import redactor


class ItemLifecycle:
    """The state an item goes through; ``records_state`` False (dry runs, replays) keeps none."""

    def __init__(
        self,
        run: Run,
        plan: Plan,
        source: Source,
        target: Target,
        *,
        records_state: bool,
        changes: ChangeFilter | None = None,
    ) -> None:
        self.run = run
        self.changes = changes
        self.plan = plan
        self.source = source
        self.target = target
        self.records_state = records_state
        lock = plan.state.lock
        #: a claim outlives a crashed worker by this long (then another may take the file); renewed while
        #: the worker lives (runtime/locking.py)
        self.claim_ttl = lock.ttl if lock is not None else CLAIM_TTL

    def begin(self, item: Item, report: ItemReport, notes: list[str]) -> int | None:
        """Claim ``item``; returns how many records earlier runs already delivered, or None when not ours.

        None means another worker holds a live claim: the item is skipped.
        """
        run = self.run
        if not self.records_state:
            return 0
        refused = run.state.ledger_claim(run.connector, item, run.run_id, run.owner, self.claim_ttl)
        if refused is not None:
            if refused["status"] == "claimed":
                report.status = "skipped"
                report.reason = f"claimed by another worker ({refused['owner']})"
                run.log.info(
                    "file skipped: claimed by another worker", file=item.name, holder=refused["owner"]
                )
            else:  # this run's earlier attempt (a worker since lost) finished it
                report.status = "done" if refused["status"] != "quarantined" else "failed"
                report.reason = f"{refused['status']} by an earlier attempt of this run (its worker was lost)"
                run.log.info("file already settled by this run", file=item.name, status=refused["status"])
            return None
        saved = run.checkpoints.load(item)
        if saved is None:
            return 0
        skip = self.target.resume(item, saved)
        if skip:
            report.resumed_after = skip
            notes.append(f"{item.name}: resumed after record {skip} (delivered by run {saved.run_id})")
            run.log.info("resuming after the last acknowledged record", file=item.name, after=skip)
        return skip

    def stopped(self, item: Item, report: ItemReport) -> None:
        """``--limit`` ended the run inside ``item``: it stays for the next run."""
        report.status = "partial"
        report.reason = "stopped at --limit"
        report.counts = self.run.outcomes.counts(item).as_dict()
        if self.records_state:
            self.run.state.ledger_mark(
                self.run.connector, item, "partial", self.run.run_id, error="stopped at --limit"
            )

    def commit(self, item: Item, report: ItemReport) -> None:
        """Everything of ``item`` is acknowledged: move it, mark it done, drop its checkpoint."""
        run = self.run
        counts = run.outcomes.counts(item)
        report.counts = counts.as_dict()
        report.status = "done"
        if not self.records_state:
            return
        if self.changes is not None:
            self.changes.settle(item)  # everything of the item is acknowledged: its values are delivered
        failpoint("item.before_move")
        # a part of a file is not moved: the file is, once all its parts are delivered (runtime/parts.py)
        moved, problem = move_delivered(run, self.source, item) if item.range is None else (None, None)
        failpoint("item.after_move")
        record_delivered(run, item, report, counts.read, moved, problem)
        run.checkpoints.clear(item)
        failpoint("item.done")

    def fail(self, item: Item, report: ItemReport, exc: EngineError, *, bad_item: bool) -> None:
        """``item`` failed: retried by later runs, or quarantined when its data is bad or attempts ran out."""
        run = self.run
        if self.changes is not None:
            self.changes.forget(item)
        report.status = "failed"
        report.reason = redactor.scrub(str(exc))
        report.counts = run.outcomes.counts(item).as_dict()
        run.log.error("file failed", file=item.name, error=str(exc), kind="data" if bad_item else exc.code)
        if not self.records_state:
            return
        retry = self.plan.state.retry
        attempts = (run.state.ledger_get(run.connector, item.uri) or {}).get("attempts", 1)
        retry_at = next_retry(attempts, retry)
        moved = None
        if not bad_item and attempts >= retry.max_attempts:
            bad_item = True  # out of attempts: quarantine it like a data failure
            report.reason = f"{report.reason} (gave up after {attempts} attempts)"
        if bad_item and item.range is None:
            try:
                moved = self.source.complete(item, False, run)
            except EngineError as move_exc:
                run.log.error("moving the failed file failed", file=item.name, error=str(move_exc))
        report.moved_to = moved
        # a bad part stays where it is, quarantined: its file is moved once every part is settled
        status = "quarantined" if bad_item and (moved or item.range is not None) else "failed"
        run.state.ledger_mark(
            run.connector,
            item,
            status,
            run.run_id,
            error=report.reason,
            moved_to=moved,
            next_retry=None if bad_item else retry_at,
        )
