"""Credentials on every request: static ones, and tokens renewed once for everybody.

Static credentials (a bearer token, basic auth, an API key) are revealed once
when the connection opens and added to each request; a 401 with them is
final, since sending the same credentials again cannot help.

A token (:class:`TokenAuth`) is fetched lazily, cached until shortly before
it expires, and renewed by exactly one thread while the others wait (single
flight). A 401 invalidates the token it was sent with, once: the caller
retries with a fresh token and a second 401 is final, so a revoked client
never turns into a storm of token requests. How a token is obtained is a
:class:`Grant`: OAuth2 client credentials here (:class:`ClientCredentials`),
Fluent's password, client-credentials and refresh grants in
:mod:`engine.fluent.auth`. The machinery makes the token request (never
following a redirect: its form holds a secret), reads the answer and
translates failures into the errors of the phase that needed the token.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from engine.contracts import Logger
from engine.errors import CONNECTION, Phase
from engine.http.guard import json_of, send
from engine.http.status import retry_after
from engine.secrets import basic_credentials, excerpt, redactor

if TYPE_CHECKING:
    from engine.http.client import HttpClient

#: what credentials add to one request: headers, query parameters, and the token to invalidate on a 401
Applied = tuple[dict[str, str], dict[str, str], str | None]


class Credentials(Protocol):
    """What the client asks of credentials."""

    #: a 401 is worth one more try with fresh credentials
    renewable: bool
    #: token requests made (reported, and watched by tests)
    grants: int

    def apply(self, phase: Phase) -> Applied:
        """The headers and parameters of the next request (``phase``: whose request, for errors)."""
        ...

    def invalidate(self, token: str | None) -> None:
        """The server refused ``token``: renew it before the next request."""


class StaticAuth:
    """Headers and query parameters that never change during a run."""

    renewable = False

    def __init__(self, headers: dict[str, str] | None = None, params: dict[str, str] | None = None) -> None:
        self.headers = headers or {}
        self.params = params or {}
        self.grants = 0

    def apply(self, phase: Phase) -> Applied:
        """The same headers and parameters on every request."""
        return self.headers, self.params, None

    def invalidate(self, token: str | None) -> None:
        """Nothing to renew."""


def bearer(token: str) -> StaticAuth:
    """``Authorization: Bearer TOKEN`` on every request."""
    return StaticAuth({"Authorization": f"Bearer {token}"})


def basic(username: str, password: str) -> StaticAuth:
    """HTTP basic authentication on every request."""
    return StaticAuth({"Authorization": f"Basic {basic_credentials(username, password)}"})


def api_key(value: str, *, header: str | None, param: str | None) -> StaticAuth:
    """An API key in a query parameter (``param``) or a header."""
    if param:
        return StaticAuth(params={param: value})
    return StaticAuth({str(header): value})


@dataclasses.dataclass(frozen=True)
class TokenRequest:
    """One request to a token endpoint, and how its refusal reads."""

    url: str
    form: dict[str, str]
    #: the start of a refusal's message: ``token request to /oauth/token was refused``
    refused: str
    hint: str
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


#: makes one token request; returns the endpoint's answer (``access_token``, ``expires_in`` ...)
Post = Callable[[TokenRequest], dict[str, Any]]


class Grant(Protocol):
    """One kind of credential: how a token is obtained."""

    def obtain(self, post: Post) -> dict[str, Any]:
        """The token endpoint's answer, from one or more requests made with ``post``.

        ``post`` raises the phase's auth error when the endpoint refuses, so a
        grant may catch it to fall back (a refused refresh token, then the
        full grant).
        """
        ...


class TokenAuth:
    """A token shared by every thread of the run, renewed by one of them (single flight)."""

    renewable = True

    def __init__(self, client: HttpClient, grant: Grant, *, log: Logger) -> None:
        self.client = client
        self.grant = grant
        self.log = log
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0
        self.grants = 0

    def apply(self, phase: Phase) -> Applied:
        """``Authorization: Bearer TOKEN``, the token obtained first when needed."""
        token = self.token(phase)
        return {"Authorization": f"Bearer {token}"}, {}, token

    def token(self, phase: Phase = CONNECTION) -> str:
        """A valid access token, fetched or renewed first when needed (by one thread, the others wait).

        Raises:
            AuthError: the token endpoint refused the credentials (``phase.auth``).
            TransientError: the endpoint could not be reached, or answered 429 or 5xx
                (``phase``'s transient and rate-limited errors).
        """
        token = self._token
        if token is not None and time.monotonic() < self._expires:
            return token
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires:
                self._renew(phase)
            assert self._token is not None
            return self._token

    def invalidate(self, token: str | None) -> None:
        """The server refused ``token``: the next caller renews it (once, for everybody)."""
        with self._lock:
            if token is not None and self._token == token:
                self._token = None
                self._expires = 0.0

    def _renew(self, phase: Phase) -> None:
        body = self.grant.obtain(lambda request: self._post(request, phase))
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
        self.log.debug("token obtained", expires_in=ttl)

    def _post(self, request: TokenRequest, phase: Phase) -> dict[str, Any]:
        """One token request; its answer, or the error it means for ``phase``."""
        self.grants += 1
        client = self.client
        where = f"{client.label}: token request to {request.url}"
        built = client.session.build_request(
            "POST", request.url, data=request.form, headers={"Accept": "application/json", **request.headers}
        )
        # the form holds the credentials: a redirect is never followed, it is a refusal
        resp = send(
            client.session,
            built,
            client.guard,
            what=where,
            write=False,
            follow=False,
            phase=dataclasses.replace(phase, fatal=phase.auth),
        )
        status = resp.status_code
        if status == 429:
            raise phase.rate_limited(f"{where} answered 429", retry_after=retry_after(resp))
        if status >= 500:
            raise phase.transient(f"{where} answered {status}", retry_after=retry_after(resp))
        try:
            body = json_of(resp)
        except ValueError:
            body = None
        if status != 200 or not isinstance(body, dict) or not body.get("access_token"):
            detail = (body.get("error_description") or body.get("error")) if isinstance(body, dict) else None
            raise phase.auth(
                f"{client.label}: {request.refused} ({status}{': ' + excerpt(str(detail), 300) if detail else ''})",
                hint=request.hint,
            )
        return body


class ClientCredentials:
    """The OAuth2 client-credentials grant (RFC 6749 §4.4)."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None,
        params: dict[str, str],
        client_auth: str,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.extra = params
        self.client_auth = client_auth

    def obtain(self, post: Post) -> dict[str, Any]:
        """One token request, the client authenticated in a Basic header or in the form."""
        form = {"grant_type": "client_credentials", **self.extra}
        headers = {}
        if self.client_auth == "basic":
            headers["Authorization"] = f"Basic {basic_credentials(self.client_id, self.client_secret)}"
        else:
            form.update(client_id=self.client_id, client_secret=self.client_secret)
        if self.scope:
            form["scope"] = self.scope
        return post(
            TokenRequest(
                self.token_url,
                form,
                refused=f"token request to {self.token_url} was refused",
                hint="check token_url, client_id, client_secret and scope; some servers want the "
                "client credentials in the body (client_auth: body) or in a Basic header "
                "(client_auth: basic)",
                headers=headers,
            )
        )
