"""Fluent's API on the engine's one HTTP client: JSON in and out, GraphQL and its codes, safe writes.

Requests, credentials, timeouts, retries and the guard are
:class:`engine.http.client.HttpClient`'s, as for an ``http`` connection;
the token comes from :class:`~engine.fluent.auth.FluentGrant`. What is
Fluent's here: JSON bodies, an answer that is not JSON treated like a
dropped one, and GraphQL errors judged by Fluent's codes (throttling and
server codes retried for queries). Every read names the phase of its
caller, so a source gets source errors and a target target errors. A
write that may have reached the server (a timeout after sending, a 5xx, a
garbled 2xx) is resent only after the caller's ``reconcile`` confirmed it
was not applied, so a batch, event or order is never duplicated by a retry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from engine.contracts import Logger
from engine.errors import TARGET, AmbiguousWriteError, Phase
from engine.fluent.auth import FluentGrant
from engine.fluent.codes import classify
from engine.http.auth import TokenAuth
from engine.http.client import HttpClient
from engine.http.guard import Guard, json_of
from engine.http.status import snippet
from engine.jsonutil import dumps_bytes
from engine.retry import RetryPolicy

_JSON = {"Content-Type": "application/json"}


class FluentClient:
    """HTTP access to one Fluent account, shared by every source and target using the connection.

    Thread-safe: calls may come from several workers at once; they share the
    token, the connection pool and the rate limiter. ``stats`` counts
    requests, retries and reconciled writes for the run report.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        credentials: dict[str, str],
        *,
        log: Logger,
        policy: RetryPolicy | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        rate_limit: float | None = None,
        scope: str | None = "api",
        max_connections: int = 16,
        guard: Guard | None = None,
    ) -> None:
        self.name = name
        self.log = log
        self.http = HttpClient(
            f"fluent connection '{name}'",
            base_url,
            log=log,
            policy=policy or RetryPolicy(),
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            rate_limit=rate_limit,
            max_connections=max_connections,
            guard=guard,
        )
        self.grant = FluentGrant(self.http.base_url, credentials, scope=scope, log=log)
        self.auth = TokenAuth(self.http, self.grant, log=log)
        self.http.auth = self.auth
        self.policy = self.http.policy
        self.stats = self.http.stats

    @property
    def retailer_id(self) -> str | None:
        """The retailer the token answer named, once a token was obtained."""
        return self.grant.retailer_id

    def close(self) -> None:
        """Close the connection pool; the client cannot be used afterwards."""
        self.http.close()

    def _json(self, resp: httpx.Response, *, write: bool, phase: Phase, what: str) -> Any:
        if not resp.text.strip():
            return {}
        try:
            return json_of(resp)
        except ValueError:
            message = f"{self.http.label}: {what}: the answer is not JSON{snippet(resp)}"
            raise (AmbiguousWriteError(message) if write else phase.transient(message)) from None

    # -- public calls ----------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None, *, phase: Phase) -> Any:
        """GET ``path`` (relative to the base URL), retried as a read; the decoded JSON, ``{}`` if empty."""
        return self._read("GET", path, None, params, phase)

    def read_post(self, path: str, body: Any, *, phase: Phase) -> Any:
        """A POST that changes nothing (a GraphQL query): retried like a read."""
        return self._read("POST", path, body, None, phase)

    def _read(self, method: str, path: str, body: Any, params: dict[str, Any] | None, phase: Phase) -> Any:
        content = dumps_bytes(body) if body is not None else None
        what = f"{method} {path}"

        def once(_attempt: int) -> Any:
            resp = self.http.exchange(
                method,
                path,
                params=params,
                content=content,
                headers=_JSON,
                write=False,
                phase=phase,
                checked=True,
            )
            return self._json(resp, write=False, phase=phase, what=what)

        return self.http.retrying(once, self.http.what(method, path))

    def write(self, path: str, body: Any, *, reconcile: Callable[[], Any] | None = None) -> Any:
        """A POST that changes state, never applied twice (see :meth:`engine.http.client.HttpClient.write`)."""
        return self.http.write(
            "POST",
            path,
            content=dumps_bytes(body),
            headers=_JSON,
            phase=TARGET,
            decode=lambda resp: self._json(resp, write=True, phase=TARGET, what=f"POST {path}"),
            reconcile=reconcile,
        )

    def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        phase: Phase,
        mutation: bool = False,
        reconcile: Callable[[], Any] | None = None,
    ) -> Any:
        """The GraphQL envelope ``{data, errors}``; throttling codes are retried for queries."""
        body: dict[str, Any] = {"query": query}
        if variables:
            body["variables"] = variables
        if mutation:
            return self.write("graphql", body, reconcile=reconcile)
        content = dumps_bytes(body)

        def once(_attempt: int) -> Any:
            resp = self.http.exchange(
                "POST", "graphql", content=content, headers=_JSON, write=False, phase=phase, checked=True
            )
            env = self._json(resp, write=False, phase=phase, what="POST /graphql")
            errors = env.get("errors") if isinstance(env, dict) else None
            if errors and env.get("data") is None:
                verdicts = [classify(e) for e in errors if isinstance(e, dict)]
                if verdicts and all(v.retryable for v in verdicts):
                    # the policy's backoff paces the retries (the codes' suggested delays are minutes)
                    cls = phase.rate_limited if any(v.code == "C0011E" for v in verdicts) else phase.transient
                    raise cls(
                        f"{self.http.label}: GraphQL {verdicts[0].meaning} ({verdicts[0].code or 'no code'})"
                    )
            return env

        return self.http.retrying(once, self.http.what("POST", "graphql"))
