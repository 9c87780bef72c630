"""Sending one group of records as aliased mutations, until each is applied or rejected.

A group goes in *rounds*. Each round (with ``upsert``) looks every record up
by its key, then sends one aliased request: a create for records not found,
an update (with the found ``id``) for the others. The answer settles each
record on its own:

* applied: counted as written;
* refused with a data code (``C0123E`` ...): rejected with Fluent's code and message;
* refused with a retryable code (``C0011E`` throttling, ``S``/``T`` codes): sent
  again in the next round, after a backoff;
* a create refused as a duplicate in upsert mode: looked up again (someone
  created it meanwhile) and updated;
* with ``update_only`` (an :class:`Upsert` that never ``creates``), a record
  whose lookup finds nothing: rejected as "not found", nothing is sent for it.

A request-level failure (no ``data``) means nothing ran: throttling is
retried, errors naming one record's variables reject that record and resend
the rest, anything else is a spec problem and stops the run. A request whose
outcome is unknown (timeout, 5xx) is never blindly resent: with ``upsert``
the next round's lookups decide (found = applied, then updated with the
same values, which changes nothing), with ``idempotent: true`` it is resent,
otherwise its records are rejected as "may or may not have been applied".
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

from engine.contracts import Batch, RunContext
from engine.errors import TARGET, AmbiguousWriteError, TargetError
from engine.fluent.client import FluentClient
from engine.fluent.codes import classify, code_of
from engine.http.status import RefusedError
from engine.retry import RateLimiter, RetryPolicy
from engine.secrets import excerpt
from engine.targets.fluent._graphql import Merger, Operation, attribute, literal, split

DUPLICATE = ("C0121E", "C0123E")


@dataclasses.dataclass
class Rec:
    batch: Batch
    index: int
    record: dict[str, Any]
    key: Any = None
    found: str | None = None
    relooked: bool = False
    #: why the last attempt did not settle it (a retryable code, an unknown outcome)
    pending: str | None = None
    #: the found entity's stored attributes (with ``merge_attributes``)
    stored: list[Any] | None = None


@dataclasses.dataclass
class Upsert:
    lookup: str
    argument: str
    arguments: dict[str, Any]
    update: Operation
    omit: tuple[str, ...]
    #: False for ``update_only``: a record whose entity is not found is rejected, never created
    creates: bool = True
    #: an update sends the stored attributes with the mapped ones replacing those of the same name
    merge_attributes: bool = False


def values_of(rec: Rec, variables: str, upsert: Upsert | None) -> dict[str, Any]:
    """A record's variables: the record itself (a document), or ``input`` (with the found id to update)."""
    if variables == "record":
        return rec.record
    if upsert is not None and rec.found is not None:
        values = {**{k: v for k, v in rec.record.items() if k not in upsert.omit}, "id": rec.found}
        if upsert.merge_attributes:
            values["attributes"] = merge_attributes(rec.stored or [], rec.record.get("attributes"))
        return {"input": values}
    return {"input": rec.record}


def lookup_text(u: Upsert, recs: list[Rec]) -> str:
    """One query looking every record up by its key, aliased ``l0``, ``l1``, ..."""
    extra = "".join(f", {k}: {literal(v)}" for k, v in u.arguments.items())
    selection = "id attributes { name type value }" if u.merge_attributes else "id"
    fields = " ".join(
        f"l{k}: {u.lookup}({u.argument}: {literal(rec.key)}{extra}) {{ {selection} }}"
        for k, rec in enumerate(recs)
    )
    return f"query engine_lookup {{ {fields} }}"


class MutationSender:
    def __init__(
        self,
        client: FluentClient,
        run: RunContext,
        *,
        create: Operation,
        upsert: Upsert | None,
        variables: str,
        idempotent: bool,
        limiter: RateLimiter,
        policy: RetryPolicy,
    ) -> None:
        self.client = client
        self.run = run
        self.create = create
        self.upsert = upsert
        #: "input": the record is $input; "record": the record's keys are the variables
        self.variables = variables
        self.idempotent = idempotent
        self.limiter = limiter
        self.policy = policy
        self.merger = Merger(f"engine_{create.label}")
        self.lock = threading.Lock()
        #: called once per record when it is settled (applied or rejected)
        self.on_settled: Any = None
        self.counts = {
            "requests": 0,
            "lookups": 0,
            "created": 0,
            "updated": 0,
            "applied": 0,
            "rejected": 0,
            "retried": 0,
            "unknown_outcome": 0,
            "not_found": 0,
        }

    def _count(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n

    # -- one group -------------------------------------------------------------------

    def send(self, group: list[Rec]) -> None:
        pending, attempt, wait = group, 0, None
        while pending:
            if attempt >= self.policy.max_attempts:
                for rec in pending:
                    self._reject(rec, f"still not applied after {attempt} attempts: {rec.pending}", None)
                return
            if wait is not None:
                time.sleep(self.policy.delay(attempt - 1, wait or None))
            if self.upsert is not None:
                pending = self._lookup(pending)
                if not pending:
                    return
            pending, wait = self._round(pending)
            if pending:
                attempt += 1
                self._count("retried", len(pending))

    def _round(self, recs: list[Rec]) -> tuple[list[Rec], float | None]:
        """Send ``recs`` once; the records to send again, and whether to back off first."""
        ops = [self._operation(rec) for rec in recs]
        while True:
            merged = self.merger.merge(ops)
            values = [self._values(rec) for rec in recs]
            try:
                envelope = self._post(merged.text, merged.variables(values))
            except AmbiguousWriteError as exc:
                return self._unknown(recs, exc)
            if envelope.get("data") is not None:
                break
            errors = [e for e in envelope.get("errors") or [] if isinstance(e, dict)] or [
                {"message": "the answer holds neither data nor errors"}
            ]
            if all(classify(e).retryable for e in errors):
                for rec in recs:
                    rec.pending = _describe(errors[0])
                return recs, 0.0
            blamed = attribute(errors, merged)
            if blamed is None:
                raise TargetError(
                    f"Fluent refused the {self.create.label} request: {_describe(errors[0])}",
                    hint="check the mutation, input_type and returning options against the schema",
                )
            keep = []
            for k, (rec, op) in enumerate(zip(recs, ops, strict=True)):
                if k in blamed:
                    self._reject(rec, self._reason(op, blamed[k], rec), {"errors": blamed[k]})
                else:
                    keep.append((rec, op))
            if not keep:
                return [], None
            recs, ops = [r for r, _ in keep], [o for _, o in keep]
        again: list[Rec] = []
        wait: float | None = None
        for rec, op, result in zip(recs, ops, split(envelope, merged), strict=True):
            if result.ok:
                self._applied(rec, op, result.data)
                continue
            verdicts = [classify(e) for e in result.errors]
            if all(v.retryable for v in verdicts):
                rec.pending = _describe(result.errors[0])
                again.append(rec)
                wait = 0.0
            elif (
                self.upsert is not None
                and self.upsert.creates
                and op is self.create
                and code_of(result.errors[0]) in DUPLICATE
                and not rec.relooked
            ):
                rec.relooked = True
                again.append(rec)
            else:
                self._reject(
                    rec, self._reason(op, result.errors, rec), {"errors": result.errors, "data": result.data}
                )
        return again, wait

    def _unknown(self, recs: list[Rec], exc: AmbiguousWriteError) -> tuple[list[Rec], float | None]:
        self._count("unknown_outcome")
        if self.upsert is not None or self.idempotent:
            self.run.log.warning(
                "mutation outcome unknown; settling before sending again",
                mutation=self.create.label,
                records=len(recs),
                error=str(exc),
            )
            for rec in recs:
                rec.pending = f"outcome unknown ({exc.message})"
            return recs, exc.retry_after or 0.0
        for rec in recs:
            self._reject(
                rec,
                f"the request failed after it was sent ({exc.message}); the mutation may or may "
                "not have been applied, so it was not sent again",
                {"error": exc.message},
            )
        return [], None

    # -- pieces ----------------------------------------------------------------------

    def _operation(self, rec: Rec) -> Operation:
        if self.upsert is not None and rec.found is not None:
            return self.upsert.update
        return self.create

    def _values(self, rec: Rec) -> dict[str, Any]:
        return values_of(rec, self.variables, self.upsert)

    def _post(self, text: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.limiter.acquire()
        self._count("requests")
        body: dict[str, Any] = {"query": text, "variables": variables}
        try:
            answer = self.client.write("graphql", body)
        except RefusedError as exc:
            raise TargetError(
                f"Fluent refused the GraphQL request ({exc.status}): {excerpt(exc.body, 300)}",
                hint="a 413 means the request is too large: lower aliases_per_request",
            ) from None
        return answer if isinstance(answer, dict) else {}

    def _lookup(self, recs: list[Rec]) -> list[Rec]:
        """Set ``found`` on each record by its key; returns the records still to send."""
        u = self.upsert
        assert u is not None
        self.limiter.acquire()
        self._count("lookups")
        envelope = self.client.graphql(lookup_text(u, recs), phase=TARGET)
        data = envelope.get("data")
        errors = [e for e in envelope.get("errors") or [] if isinstance(e, dict)]
        if data is None:
            raise TargetError(
                f"the upsert lookup failed: {_describe(errors[0]) if errors else 'no data'}",
                hint=f"check upsert.lookup ({u.lookup}) and upsert.argument ({u.argument})",
            )
        keep = []
        for k, rec in enumerate(recs):
            mine = [e for e in errors if isinstance(e.get("path"), list) and e["path"][:1] == [f"l{k}"]]
            if mine and not all(classify(e).retryable for e in mine):
                self._reject(
                    rec, f"looking up {u.argument} {rec.key!r} failed: {_describe(mine[0])}", {"errors": mine}
                )
                continue
            found = data.get(f"l{k}")
            rec.found = str(found["id"]) if isinstance(found, dict) and found.get("id") is not None else None
            if rec.found is None and not u.creates:
                self._count("not_found")
                self._reject(
                    rec,
                    f"not found: no {u.lookup} with {u.argument} {rec.key!r}; update_only never creates one",
                    None,
                )
                continue
            if isinstance(found, dict) and isinstance(found.get("attributes"), list):
                rec.stored = found["attributes"]
            keep.append(rec)
        return keep

    def _reason(self, op: Operation, errors: list[dict[str, Any]], rec: Rec) -> str:
        return _reason(op.label, errors, rec, update=self.upsert is not None and op is self.upsert.update)

    def _applied(self, rec: Rec, op: Operation, data: dict[str, Any]) -> None:
        if self.upsert is None:
            self._count("applied")
        else:
            self._count("updated" if op is self.upsert.update else "created")
        self.run.outcomes.accepted_count(1, rec.batch.chunk.item)
        # one mutation per record: its returning fields are the answer ({id, ref}), not {createOrder: {...}}
        answer = next(iter(data.values())) if len(data) == 1 else data
        self.run.outcomes.answered(rec.batch, rec.index, answer)
        if self.on_settled is not None:
            self.on_settled(rec)

    def refuse(self, batch: Batch, i: int, reason: str) -> None:
        """Reject a record that is not sent at all."""
        self._count("rejected")
        self.run.outcomes.rejected(batch, i, reason)

    def _reject(self, rec: Rec, reason: str, response: Any) -> None:
        self._count("rejected")
        self.run.outcomes.rejected(rec.batch, rec.index, reason, response=response)
        if self.on_settled is not None:
            self.on_settled(rec)


def merge_attributes(stored: list[Any], mapped: Any) -> list[Any]:
    """The stored attributes with the mapped ones replacing those of the same name, new names appended."""
    mapped_list = mapped if isinstance(mapped, list) else ([] if mapped is None else [mapped])
    by_name = {a.get("name"): a for a in mapped_list if isinstance(a, dict)}
    merged = [by_name.pop(a.get("name"), a) if isinstance(a, dict) else a for a in stored]
    return merged + [a for a in mapped_list if not isinstance(a, dict) or a.get("name") in by_name]


def _describe(error: dict[str, Any]) -> str:
    message = str(error.get("message") or "no message")
    code = code_of(error)
    return message if code is None or code in message else f"{code}: {message}"


def _reason(label: str, errors: list[dict[str, Any]], rec: Rec, *, update: bool) -> str:
    text = f"{label} failed: {'; '.join(_describe(e) for e in errors)}"
    if update and ("unknown field" in text or "is not defined by type" in text):
        text += " (list the fields the update does not take under upsert.update_omit)"
    if rec.pending and any(code_of(e) in DUPLICATE for e in errors):
        text += f" (an earlier attempt ended with {rec.pending!r} and may have applied it)"
    return text
