"""Credentials on every request of an ``http`` connection.

Static credentials (a bearer token, basic auth, an API key) are revealed once
when the connection opens and added to each request; a 401 with them is
final, since sending the same credentials again cannot help. OAuth2 client
credentials are a token fetched lazily, cached until shortly before it
expires, and renewed by exactly one thread while the others wait (single
flight). A 401 invalidates the token it was sent with, once: the caller
retries with a fresh token and a second 401 is final, so a revoked client
never turns into a storm of token requests.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from engine.connections._http_guard import Guard, json_of, send
from engine.errors import AuthError, TransientError
from engine.retry import parse_retry_after
from engine.secrets import basic_credentials, excerpt, redactor


class StaticAuth:
    """Headers and query parameters that never change during a run."""

    renewable = False

    def __init__(self, headers: dict[str, str] | None = None, params: dict[str, str] | None = None) -> None:
        self.headers = headers or {}
        self.params = params or {}
        self.grants = 0

    def apply(self) -> tuple[dict[str, str], dict[str, str], str | None]:
        """(headers, query parameters, the token to invalidate on a 401)."""
        return self.headers, self.params, None

    def invalidate(self, token: str | None) -> None:
        pass


def bearer(token: str) -> StaticAuth:
    return StaticAuth({"Authorization": f"Bearer {token}"})


def basic(username: str, password: str) -> StaticAuth:
    return StaticAuth({"Authorization": f"Basic {basic_credentials(username, password)}"})


def api_key(value: str, *, header: str | None, param: str | None) -> StaticAuth:
    if param:
        return StaticAuth(params={param: value})
    return StaticAuth({str(header): value})


class ClientCredentials:
    """An OAuth2 client-credentials token, shared by every thread of the run."""

    renewable = True

    def __init__(
        self,
        http: httpx.Client,
        name: str,
        *,
        guard: Guard,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None,
        params: dict[str, str],
        client_auth: str,
        log: Any,
    ) -> None:
        self.http = http
        self.guard = guard
        self.name = name
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.extra = params
        self.client_auth = client_auth
        self.log = log
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0
        self.grants = 0  # token requests made (reported, and watched by tests)

    def apply(self) -> tuple[dict[str, str], dict[str, str], str | None]:
        token = self.token()
        return {"Authorization": f"Bearer {token}"}, {}, token

    def token(self) -> str:
        token = self._token
        if token is not None and time.monotonic() < self._expires:
            return token
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires:
                self._grant()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str | None) -> None:
        """The server refused ``token``: the next caller renews it (once, for everybody)."""
        with self._lock:
            if token is not None and self._token == token:
                self._token = None
                self._expires = 0.0

    def _grant(self) -> None:
        self.grants += 1
        form = {"grant_type": "client_credentials", **self.extra}
        headers = {"Accept": "application/json"}
        if self.client_auth == "basic":
            headers["Authorization"] = f"Basic {basic_credentials(self.client_id, self.client_secret)}"
        else:
            form.update(client_id=self.client_id, client_secret=self.client_secret)
        if self.scope:
            form["scope"] = self.scope
        where = f"http connection '{self.name}': token request to {self.token_url}"
        request = self.http.build_request("POST", self.token_url, data=form, headers=headers)
        # the form holds the client secret: a redirect is never followed, it is a refusal
        resp = send(
            self.http,
            request,
            self.guard,
            what=where,
            write=False,
            follow=False,
            phase=(AuthError, TransientError),
        )
        if resp.status_code >= 500 or resp.status_code == 429:
            raise TransientError(
                f"{where} answered {resp.status_code}",
                retry_after=parse_retry_after(resp.headers.get("Retry-After")),
            )
        try:
            body = json_of(resp)
        except ValueError:
            body = None
        if resp.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            detail = (body.get("error_description") or body.get("error")) if isinstance(body, dict) else None
            raise AuthError(
                f"{where} was refused ({resp.status_code}"
                f"{': ' + excerpt(str(detail), 200) if detail else ''})",
                hint="check token_url, client_id, client_secret and scope; some servers want the "
                "client credentials in the body (client_auth: body) or in a Basic header "
                "(client_auth: basic)",
            )
        token = str(body["access_token"])
        redactor.add(token)
        try:
            ttl = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            ttl = 3600.0
        # renew a little early; never so early that a short-lived token is renewed on every call
        margin = min(60.0, ttl * 0.1)
        self._expires = time.monotonic() + max(1.0, ttl - margin)
        self._token = token
        self.log.debug("token obtained", connection=self.name, expires_in=ttl)
