"""Fluent's OAuth grants: password, client credentials, refresh.

The token itself (cached, renewed by one thread for all, invalidated once
by a 401) is :class:`engine.http.auth.TokenAuth`'s; this is only how Fluent
grants one: the password grant when a username and password are given,
client credentials otherwise, and a held refresh token tried first (if the
server refuses it, the full grant is used). The token answer may name the
retailer; mappings then read it as ``$context.retailer_id``.
"""

from __future__ import annotations

from typing import Any

from engine.contracts import Logger
from engine.errors import AuthError
from engine.http.auth import Post, TokenRequest
from engine.secrets import redactor

TOKEN_PATH = "/oauth/token"
_HINT = "check client_id, client_secret, username and password (or the profile)"


class FluentGrant:
    """How one Fluent account obtains its tokens; remembers the refresh token and the retailer id."""

    def __init__(self, base_url: str, credentials: dict[str, str], *, scope: str | None, log: Logger) -> None:
        self.url = base_url.rstrip("/") + TOKEN_PATH
        self.credentials = credentials
        self.scope = scope
        self.log = log
        self.refresh: str | None = None
        self.retailer_id: str | None = None

    @property
    def grant_type(self) -> str:
        """``password`` when a username and password are set, else ``client_credentials``."""
        c = self.credentials
        return "password" if c.get("username") and c.get("password") else "client_credentials"

    def obtain(self, post: Post) -> dict[str, Any]:
        """The refresh token's answer when one is held and accepted, else the full grant's."""
        c = self.credentials
        client = {"client_id": c["client_id"], "client_secret": c["client_secret"]}
        if self.refresh:
            form = {"grant_type": "refresh_token", **client, "refresh_token": self.refresh}
            try:
                return self._remember(post(self._request(form, "refresh token")))
            except AuthError:
                self.log.info("refresh token refused; signing in again")
                self.refresh = None
        form = {"grant_type": self.grant_type, **client}
        if self.grant_type == "password":
            form.update(username=c["username"], password=c["password"])
        if self.scope:
            form["scope"] = self.scope
        return self._remember(post(self._request(form, "credentials")))

    def _request(self, form: dict[str, str], what: str) -> TokenRequest:
        return TokenRequest(TOKEN_PATH, form, refused=f"{what} refused by {self.url}", hint=_HINT)

    def _remember(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("refresh_token"):
            self.refresh = str(body["refresh_token"])
            redactor.add(self.refresh)
        rid = body.get("Retailer_id") or body.get("retailer_id") or body.get("retailerId")
        if rid is not None:
            self.retailer_id = str(rid)
        return body
