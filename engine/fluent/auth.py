"""OAuth tokens for one Fluent connection, renewed once for everybody.

The token is fetched lazily, renewed shortly before it expires, and renewed
by exactly one thread while the others wait for it (single flight). A held
refresh token is tried first; if the server refuses it, the full grant is
used. A 401 from an API call invalidates the token it was sent with, once:
the caller retries with a fresh token and a second 401 is final (no storm).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from engine.connections._http_guard import Guard, json_of, send
from engine.errors import AuthError, TransientTargetError
from engine.secrets import excerpt, redactor


class TokenManager:
    """The OAuth token of one Fluent connection, shared by all its threads.

    Uses the password grant when credentials hold a username and password,
    client credentials otherwise. Remembers the retailer id the token
    response names, and counts the token requests it makes in ``grants``.
    """

    def __init__(
        self,
        http: httpx.Client,
        name: str,
        credentials: dict[str, str],
        *,
        log: Any,
        scope: str | None = "api",
        guard: Guard | None = None,
    ) -> None:
        self.http = http
        self.guard = guard or Guard()
        self.name = name
        self.credentials = credentials
        self.log = log
        self.scope = scope
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh: str | None = None
        self._expires = 0.0
        self.retailer_id: str | None = None
        self.grants = 0  # token requests made (reported, and watched by tests)

    @property
    def grant_type(self) -> str:
        """``password`` when a username and password are set, else ``client_credentials``."""
        c = self.credentials
        return "password" if c.get("username") and c.get("password") else "client_credentials"

    def token(self) -> str:
        """A valid access token, fetched or renewed first when needed (by one thread, the others wait).

        Raises:
            AuthError: the token endpoint refused the credentials.
            TransientTargetError: the token endpoint could not be reached, or
                answered 429 or 5xx.
        """
        now = time.monotonic()
        token = self._token
        if token is not None and now < self._expires:
            return token
        with self._lock:
            if self._token is not None and time.monotonic() < self._expires:
                return self._token
            self._renew()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str) -> None:
        """The server refused ``token``: the next caller renews (once, for everybody)."""
        with self._lock:
            if self._token == token:
                self._token = None
                self._expires = 0.0

    def _renew(self) -> None:
        if self._refresh:
            try:
                self._grant(
                    {
                        "grant_type": "refresh_token",
                        "client_id": self.credentials["client_id"],
                        "client_secret": self.credentials["client_secret"],
                        "refresh_token": self._refresh,
                    }
                )
                return
            except AuthError:
                self.log.info("refresh token refused; signing in again", connection=self.name)
                self._refresh = None
        form = {
            "grant_type": self.grant_type,
            "client_id": self.credentials["client_id"],
            "client_secret": self.credentials["client_secret"],
        }
        if self.grant_type == "password":
            form["username"] = self.credentials["username"]
            form["password"] = self.credentials["password"]
        if self.scope:
            form["scope"] = self.scope
        self._grant(form)

    def _grant(self, form: dict[str, str]) -> None:
        self.grants += 1
        request = self.http.build_request(
            "POST", "/oauth/token", data=form, headers={"Accept": "application/json"}
        )
        # the form holds the credentials: a redirect is never followed, it is a refusal
        resp = send(
            self.http,
            request,
            self.guard,
            what=f"fluent connection '{self.name}': token request",
            write=False,
            follow=False,
            phase=(AuthError, TransientTargetError),
        )
        if resp.status_code >= 500 or resp.status_code == 429:
            from engine.retry import parse_retry_after

            raise TransientTargetError(
                f"fluent connection '{self.name}': token endpoint answered {resp.status_code}",
                retry_after=parse_retry_after(resp.headers.get("Retry-After")),
            )
        try:
            body = json_of(resp)
        except ValueError:
            body = {}
        if resp.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            detail = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
            what = "refresh token" if form["grant_type"] == "refresh_token" else "credentials"
            raise AuthError(
                f"fluent connection '{self.name}': {what} refused by {self.http.base_url}oauth/token "
                f"({resp.status_code}{': ' + excerpt(str(detail), 300) if detail else ''})",
                hint="check client_id, client_secret, username and password (or the profile)",
            )
        token = str(body["access_token"])
        redactor.add(token)
        if body.get("refresh_token"):
            self._refresh = str(body["refresh_token"])
            redactor.add(self._refresh)
        try:
            ttl = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            ttl = 3600.0
        # renew a little early; never so early that a short-lived token is renewed on every call
        margin = min(60.0, ttl * 0.1)
        self._expires = time.monotonic() + max(1.0, ttl - margin)
        self._token = token
        rid = body.get("Retailer_id") or body.get("retailer_id") or body.get("retailerId")
        if rid is not None:
            self.retailer_id = str(rid)
        self.log.debug("token obtained", connection=self.name, grant=form["grant_type"], expires_in=ttl)
