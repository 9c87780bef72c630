"""One served spec: its triggers, its verifier, and its runs, one at a time.

The spec is loaded and validated once, at start-up; each run compiles a
fresh plan from that same document (a few milliseconds), because plugins
hold per-run state (open clients, output files, an embedded emulator) and
are closed by the runner at the end of every run. Runs of one spec are
serialised by a lock in this process; the state store's lock keeps out runs
of the same spec in other processes.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.contracts import Payload, StateStore
from engine.errors import ConfigError
from engine.jsonutil import to_jsonable
from engine.plan import RetryPolicy, WebhookPolicy
from engine.runtime.locking import CLAIM_TTL
from engine.runtime.logs import Log
from engine.runtime.paths import state_dir
from engine.runtime.records import RecordLog
from engine.runtime.report import RunReport
from engine.runtime.runner import Runner, RunOptions
from engine.secrets import redactor
from engine.serve import telemetry
from engine.serve.auth import Verifier, make_verifier
from engine.serve.runs import RunBoard
from engine.spec.compile import compile_document
from engine.spec.loader import SpecDocument, load_file
from engine.text_templates import AnswerTemplate, answer_template

#: webhook ``format`` → the payload's file extension
EXTENSIONS = {"json": "json", "xml": "xml", "csv": "csv", "raw": "bin"}
#: reject reasons echoed in a sync response (the rejects file has them all)
MAX_REJECTS_SHOWN = 20
#: run statuses that count towards /health's failures in a row (rejects beyond tolerance are data, not health)
FAILED = ("failed", "crashed")


class ServedSpec:
    """A spec loaded once for serving: its webhook and schedule, verifier, lock and last result.

    Build it with :meth:`load`, which checks that it has something to serve.
    """

    def __init__(
        self,
        path: str,
        doc: SpecDocument,
        plan: Any,
        *,
        allow_custom_code: bool = False,
        log: Log | None = None,
    ) -> None:
        self.path = path
        self.doc = doc
        self.name: str = plan.name
        self.allow_custom_code = allow_custom_code
        self.log = (log or Log()).bind(connector=self.name)
        self.webhook: WebhookPolicy | None = plan.trigger.webhook
        self.schedule: str | None = plan.trigger.schedule
        #: ``state.retry``: failed webhook bodies are retried on the ledger's schedule
        self.retry: RetryPolicy = plan.state.retry
        #: the source takes the request body; otherwise a webhook only starts a run
        self.takes_payload = plan.source.accepts_payload
        self.verifier: Verifier | None = None
        if self.webhook is not None:
            auth = dataclasses.asdict(self.webhook.auth) if self.webhook.auth else None
            self.verifier = make_verifier(auth, base_dir=doc.base_dir)
        self.state_dir = state_dir(doc.base_dir)
        #: the spec's state store when every instance of ``engine serve`` reaches it (a database
        #: server): schedules and spooled bodies are then coordinated through it; opened by the server
        self.shared_store: StateStore | None = plan.state_store if plan.state_store.shared else None
        #: how long a due time or a spooled body stays claimed by an instance that stopped answering
        self.lease_ttl: float = plan.state.lock.ttl if plan.state.lock is not None else CLAIM_TTL
        #: held by the run under way in this process (schedules and webhooks alike)
        self.lock = threading.Lock()
        #: the run under way (its id), for /health
        self.running: str | None = None
        self.last: dict[str, Any] | None = None
        #: runs that failed one after the other, up to now (a run that did not fail resets it)
        self.failed_in_a_row = 0
        #: called with (this spec, trigger, run summary) after every run: metrics
        self.listeners: list[Callable[[ServedSpec, str, dict[str, Any]], None]] = []
        #: the runs its webhook accepted, for GET /runs/{id}
        self.runs = RunBoard()
        #: ``trigger.webhook.answer.body``, compiled (checked already by the spec's validation)
        self.template: AnswerTemplate | None = None
        answer = self.webhook.answer if self.webhook is not None else None
        if answer is not None and answer.body is not None:
            self.template = answer_template(
                answer.body,
                answer.each,
                content_type=answer.content_type,
                separator=answer.separator,
                escape=answer.escape,
            )

    @classmethod
    def load(cls, path: str, *, allow_custom_code: bool = False, log: Log | None = None) -> ServedSpec:
        """Load and validate; raises SpecError (diagnostics) or ConfigError (triggers, secrets)."""
        doc = load_file(path)
        plan = compile_document(doc, allow_custom_code=allow_custom_code)
        plan.close()
        if not plan.trigger.webhook and not plan.trigger.schedule:
            raise ConfigError(
                "no trigger to serve",
                hint="add trigger: {schedule: CRON} or trigger: {webhook: {path: /...}}",
            )
        if plan.trigger.schedule and plan.source.accepts_payload:
            raise ConfigError(
                "trigger.schedule: a payload source has no body to read on a schedule",
                hint="payload specs are triggered by trigger.webhook (or engine run --payload)",
            )
        return cls(path, doc, plan, allow_custom_code=allow_custom_code, log=log)

    @property
    def extension(self) -> str:
        """The file extension a webhook body is given, from the webhook's ``format`` (``bin`` if unknown)."""
        return EXTENSIONS.get(self.webhook.format if self.webhook else "json", "bin")

    def run(
        self,
        payload: Payload | None = None,
        *,
        run_id: str | None = None,
        trigger: str = "webhook",
        tracked: str | None = None,
        records: RecordLog | None = None,
    ) -> RunReport:
        """One run, after any run of this spec still going in this process.

        ``tracked`` is the id the caller was given (GET /runs/{id}), when the
        run is one the webhook accepted; ``records`` keeps every record's
        outcome (for an answer built from them).
        """
        with (
            self.lock,
            telemetry.span("engine.run", connector=self.name, trigger=trigger, run_id=run_id) as span,
        ):
            self.running = run_id or "starting"
            if tracked is not None:
                self.runs.running(tracked)
            try:
                plan = compile_document(self.doc, allow_custom_code=self.allow_custom_code)
                if payload is not None and self.takes_payload:
                    plan.source.deliver(payload)
                try:
                    options = RunOptions(progress=False, run_id=run_id, records=records)
                    report = Runner(plan, options, log=self.log.bind(trigger=trigger)).run()
                finally:
                    plan.state_store.close()
            except Exception as exc:  # a defect below (engine errors end up in the report): tell /health
                error = redactor.scrub(f"{type(exc).__name__}: {exc}")
                self._finished(
                    trigger, {"run_id": run_id, "status": "crashed", "trigger": trigger, "error": error}
                )
                if tracked is not None:
                    self.runs.crashed(tracked, error)
                raise
            finally:
                self.running = None
            self._finished(trigger, {**summary(report, rejects=False), "trigger": trigger})
            if tracked is not None:
                self.runs.ended(tracked, report)
            counts = report.counts
            telemetry.annotate(
                span,
                **{
                    "engine.run_id": report.run_id,
                    "engine.status": report.status,
                    "engine.records.read": counts.get("read", 0),
                    "engine.records.written": counts.get("written", 0),
                    "engine.records.rejected": (counts.get("rejected") or {}).get("total", 0),
                },
            )
            return report

    def _finished(self, trigger: str, last: dict[str, Any]) -> None:
        """Remember how the run ended (for /health) and tell the listeners (metrics)."""
        self.last = last
        self.failed_in_a_row = self.failed_in_a_row + 1 if last.get("status") in FAILED else 0
        for listener in self.listeners:
            listener(self, trigger, last)


def summary(report: RunReport, *, rejects: bool = True) -> dict[str, Any]:
    """What a sync response and /health tell about a run: outcome and counts, no secrets."""
    out: dict[str, Any] = {
        "run_id": report.run_id,
        "status": report.status,
        "exit_code": report.exit_code,
        "started": report.started.isoformat(timespec="milliseconds"),
        "ended": report.ended.isoformat(timespec="milliseconds") if report.ended else None,
        "seconds": round(report.seconds, 3),
        "records": report.counts,
        "error": report.error,
    }
    failed = [
        {"name": i.name, "status": i.status, "reason": i.reason}
        for i in report.items
        if i.status in ("failed", "skipped", "partial")
    ]
    if failed:
        out["items"] = failed
    if rejects and report.rejects_path:
        out["rejects"] = _rejects_sample(Path(report.rejects_path))
    return redactor.scrub_obj(to_jsonable(out))


def _rejects_sample(path: Path) -> list[dict[str, Any]]:
    """Where and why the first rejected records were refused (from a jsonl rejects file)."""
    sample: list[dict[str, Any]] = []
    try:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if len(sample) >= MAX_REJECTS_SHOWN:
                    break
                entry = json.loads(line)
                lineage = entry.get("lineage") or {}
                sample.append(
                    {
                        "row": lineage.get("row"),
                        "at": lineage.get("at"),
                        "stage": entry.get("stage"),
                        "reasons": entry.get("reasons"),
                    }
                )
    except (OSError, ValueError):
        return sample  # a csv rejects file, or one being rotated: the path in the report still tells
    return sample
