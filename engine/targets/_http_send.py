"""Sending one request of the ``http`` target and settling the records it carries.

What a status means is decided once, in :meth:`Sender.verdict`: the
target's ``on_status`` rules first, then ``success`` (accepted), 429 and 408
(the server did not take the request: sent again after ``Retry-After`` or a
backoff), 5xx (unknown: the server may have applied it), anything else
(rejected, with the status and the start of the answer).

A request whose outcome is unknown (a 5xx, a timeout or a dropped
connection after sending) is sent again only when that is safe: with an
idempotency key (the same key again, so the server can recognise it) or
when the API is declared ``idempotent``. Otherwise its records are
rejected as "may or may not have been applied", never resent blindly.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import httpx

from engine.contracts import Batch
from engine.errors import TARGET, AmbiguousWriteError, TargetError
from engine.http.guard import json_of
from engine.http.status import retry_after, snippet
from engine.mapping.paths import Scope
from engine.retry import RateLimiter
from engine.secrets import excerpt, redactor

Ranges = list[tuple[int, int]]


def parse_statuses(values: list[Any]) -> Ranges:
    """``[200, "2xx", "200-299"]`` -> ``[(200, 200), (200, 299), (200, 299)]`` (ValueError when malformed)."""
    out: Ranges = []
    for value in values:
        text = str(value).strip().lower()
        if len(text) == 3 and text[0].isdigit() and text[1:] == "xx":
            out.append((int(text[0]) * 100, int(text[0]) * 100 + 99))
        elif "-" in text:
            low, _, high = text.partition("-")
            out.append((int(low), int(high)))
        else:
            out.append((int(text), int(text)))
    for lo, hi in out:
        if not 100 <= lo <= hi <= 599:
            raise ValueError(f"{lo}-{hi} is not a range of HTTP statuses")
    return out


def within(status: int, ranges: Ranges) -> bool:
    return any(lo <= status <= hi for lo, hi in ranges)


@dataclasses.dataclass
class Outgoing:
    """One request and the records it carries, in the order of the body."""

    url: str
    params: dict[str, Any] | None
    headers: dict[str, str]
    body: bytes
    members: list[tuple[Batch, int]]
    key: str | None = None


@dataclasses.dataclass
class Results:
    """Where a batch answer says how each record fared."""

    items: Any
    status: Any
    error: Any
    ok_values: frozenset[str]


class Sender:
    def __init__(
        self,
        client: Any,
        run: Any,
        *,
        method: str,
        success: Ranges,
        rules: list[tuple[Ranges, str]],
        safe: bool,
        results: Results | None,
        limiter: RateLimiter,
        on_settled: Any,
    ) -> None:
        self.client = client
        self.run = run
        self.method = method
        self.success = success
        self.rules = rules
        self.safe = safe
        self.results = results
        self.limiter = limiter
        self.on_settled = on_settled
        self.lock = threading.Lock()
        self.counts = {
            "requests": 0,
            "accepted": 0,
            "rejected": 0,
            "retries": 0,
            "resent": 0,
            "unknown_outcome": 0,
        }

    def count(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n

    def verdict(self, status: int) -> str:
        for ranges, action in self.rules:
            if within(status, ranges):
                return action
        if within(status, self.success):
            return "accept"
        if status == 429:
            return "rate_limited"
        if status == 408:
            return "retry"
        return "unknown" if status >= 500 else "reject"

    # -- one request ---------------------------------------------------------------------

    def send(self, out: Outgoing) -> None:
        try:
            resp = self._exchange(out)
        except AmbiguousWriteError as exc:
            self.count("unknown_outcome")
            for batch, i in out.members:
                self._reject(
                    batch,
                    i,
                    f"{exc.message}; the request may or may not have been applied, so it was "
                    "not sent again (an idempotency_key, or idempotent: true when the API "
                    "allows it, makes resending safe)",
                    {"error": exc.message},
                )
            return
        if self.verdict(resp.status_code) == "accept":
            self._accepted(out, resp)
            return
        reason = f"{self.method} {_path(out.url)} answered {resp.status_code}{snippet(resp)}"
        answer = {"status": resp.status_code, "body": _body(resp)}
        for batch, i in out.members:
            self._reject(batch, i, reason, answer)

    def _exchange(self, out: Outgoing) -> httpx.Response:
        what = f"{self.method} {_path(out.url)}"
        headers = {**out.headers, "Content-Type": "application/json"}

        unknown = [False]  # the previous attempt's outcome was unknown: this one is a resend

        def once(attempt: int) -> httpx.Response:
            if attempt:
                self.count("retries")
                if unknown[0]:
                    self.count("resent")
            unknown[0] = False
            self.limiter.acquire()
            self.count("requests")
            try:
                resp = self.client.exchange(
                    self.method,
                    out.url,
                    params=out.params,
                    content=out.body,
                    headers=headers,
                    write=True,
                    phase=TARGET,
                )
            except AmbiguousWriteError as exc:
                unknown[0] = True
                raise self._unknown(exc.message, exc.retry_after, out) from None
            status = resp.status_code
            verdict = self.verdict(status)
            if verdict == "rate_limited":
                raise TARGET.rate_limited(f"{what} was rate limited (429)", retry_after=retry_after(resp))
            if verdict == "retry":
                raise TARGET.transient(
                    f"{what} answered {status}{snippet(resp)}", retry_after=retry_after(resp)
                )
            if verdict == "fail":
                raise TargetError(
                    f"{what} answered {status}{snippet(resp)}",
                    hint="on_status says this status stops the run",
                )
            if verdict == "unknown":
                unknown[0] = True
                raise self._unknown(f"{what} answered {status}{snippet(resp)}", retry_after(resp), out)
            return resp

        return self.client.policy.call(once, what=what, log=self.run.log)

    def _unknown(self, message: str, wait: float | None, out: Outgoing) -> Exception:
        """An unknown outcome: retried when resending is safe, else settled by rejecting (never resent)."""
        if not self.safe:
            return AmbiguousWriteError(message, retry_after=wait)
        how = f"the same idempotency key {out.key}" if out.key else "an idempotent API"
        self.run.log.warning("outcome unknown; sending again", what=message, safe=how)
        return TARGET.transient(f"{message} (sent again: {how})", retry_after=wait)

    # -- outcomes ------------------------------------------------------------------------

    def _accepted(self, out: Outgoing, resp: httpx.Response) -> None:
        if self.results is None:
            keep = len(out.members) == 1 and self.run.outcomes.keeps_answers
            answer = _answer(resp) if keep else None
            for batch, i in out.members:
                self._accept(batch, i, answer)
            return
        r = self.results
        try:
            data = json_of(resp)
        except ValueError:
            data = None
        items = r.items(data, Scope(root=data)) if data is not None else None
        if not isinstance(items, list) or len(items) != len(out.members):
            got = f"{len(items)} results" if isinstance(items, list) else "no results list"
            for batch, i in out.members:
                self._reject(
                    batch,
                    i,
                    f"the server took the batch ({resp.status_code}) but answered {got} for "
                    f"{len(out.members)} records, so each record's outcome is unknown (it was "
                    "not sent again)",
                    {"status": resp.status_code, "body": _body(resp)},
                )
            return
        for (batch, i), result in zip(out.members, items, strict=True):
            problem = self._item_problem(result)
            if problem is None:
                self._accept(batch, i, result)
            else:
                self._reject(batch, i, problem, {"status": resp.status_code, "result": result})

    def _item_problem(self, result: Any) -> str | None:
        """Why one entry of a batch answer is a failure (None: the record was applied)."""
        r = self.results
        assert r is not None
        scope = Scope(root=result)
        error = r.error(result, scope) if r.error is not None else None
        if r.status is not None:
            status = r.status(result, scope)
            ok = _ok(status, self.success, r.ok_values)
        else:
            ok = error in (None, "", [], {})
        if ok:
            return None
        detail = error if error not in (None, "", [], {}) else result
        text = detail if isinstance(detail, str) else _json(detail)
        return f"the server refused this record: {excerpt(text, 300, collapse=False)}"

    def _accept(self, batch: Batch, i: int, answer: Any = None) -> None:
        self.count("accepted")
        self.run.outcomes.accepted_count(1, batch.chunk.item)
        self.run.outcomes.answered(batch, i, answer)
        self.on_settled(batch, i)

    def _reject(self, batch: Batch, i: int, reason: str, response: Any) -> None:
        self.count("rejected")
        self.run.outcomes.rejected(batch, i, reason, response=response)
        self.on_settled(batch, i)


def _ok(status: Any, success: Ranges, ok_values: frozenset[str]) -> bool:
    if isinstance(status, bool):
        return status
    if isinstance(status, int) or (isinstance(status, str) and status.strip().isdigit()):
        return within(int(status), success)
    return isinstance(status, str) and status.strip().lower() in ok_values


def _path(url: str) -> str:
    return "/" + url.split("?", 1)[0].lstrip("/")


def _json(value: Any) -> str:
    from engine.jsonutil import dumps

    return dumps(value)


def _answer(resp: httpx.Response) -> Any:
    """What the server answered for a record, as later steps read it: JSON when it is, else the text.

    Not scrubbed: it is data a later step sends on (a label URL under the API's own address must
    reach Fluent whole); the rejects file, reports and webhook answers scrub it where they write it.
    """
    try:
        return json_of(resp)
    except ValueError:
        return resp.text


def _body(resp: httpx.Response) -> Any:
    """The answer for the rejects file: JSON when it is, else its start (secrets scrubbed)."""
    try:
        return redactor.scrub_obj(json_of(resp))
    except ValueError:
        return excerpt(resp.text, 2000, collapse=False)
