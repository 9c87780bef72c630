"""OAuth token endpoint and bearer-token checks.

Parameters are read from the query string (as older Fluent clients send them) and from a form
or JSON body (as the SDK sends them); the body wins. Error bodies follow the Spring OAuth style
the real platform is believed to use. Tokens expire on the emulator clock, so a test can make
one stale by advancing the clock rather than by waiting.
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from engine.emulator.responses import json_response
from engine.emulator.store import Row

if TYPE_CHECKING:
    from engine.emulator.core import Core


class AuthError(Exception):
    """An OAuth or bearer-token refusal, carrying the HTTP status and the Spring-style error body."""

    def __init__(self, status: int, error: str, description: str | None = None) -> None:
        super().__init__(description or error)
        self.status = status
        self.body = {"error": error, **({"error_description": description} if description else {})}

    def response(self) -> Response:
        """The JSON error response; a 401 also gets a ``WWW-Authenticate: Bearer`` challenge."""
        headers = {"WWW-Authenticate": f'Bearer error="{self.body["error"]}"'} if self.status == 401 else None
        return json_response(self.body, self.status, headers)


def invalid_token(description: str) -> AuthError:
    """The 401 ``invalid_token`` error a missing, unknown, revoked or expired token gets."""
    return AuthError(401, "invalid_token", description)


def token_params(request: Request, body: bytes) -> dict[str, str]:
    """The token request's parameters: query string, overridden by a JSON or form body.

    Raises AuthError(400, ``invalid_request``) for a body that looks like JSON
    but does not parse.
    """
    params = dict(request.query_params)
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return params
    if text.startswith("{") or "json" in request.headers.get("content-type", ""):
        try:
            data = json.loads(text)
        except ValueError:
            raise AuthError(400, "invalid_request", "Malformed request body") from None
        if isinstance(data, dict):
            params.update({k: str(v) for k, v in data.items() if v is not None})
        return params
    params.update(dict(parse_qsl(text, keep_blank_values=True)))
    return params


def issue(core: Core, params: dict[str, str], fault: dict[str, Any]) -> dict[str, Any]:
    """Run one grant and return the token response body (raises AuthError)."""
    store, settings = core.store, core.settings
    grant = params.get("grant_type")
    if not grant:
        raise AuthError(400, "invalid_request", "Missing grant type")
    account = store.accounts.get(params.get("client_id", ""))
    if account is None or not secrets.compare_digest(
        account["clientSecret"], params.get("client_secret", "")
    ):
        raise AuthError(401, "invalid_client", "Bad client credentials")
    user: Row | None = None
    if grant == "password":
        user = store.users.find(params.get("username", ""))
        if user is None or user["accountId"] != account["id"] or user["password"] != params.get("password"):
            raise AuthError(400, "invalid_grant", "Bad credentials")
    elif grant == "client_credentials":
        if not settings.client_credentials_grant:
            raise AuthError(400, "unsupported_grant_type", "Unsupported grant type: client_credentials")
    elif grant == "refresh_token":
        held = store.refresh_tokens.get(params.get("refresh_token", ""))
        if fault.get("refresh_grant_fails") or held is None or held["accountId"] != account["id"]:
            raise AuthError(400, "invalid_grant", "Invalid refresh token")
        user = store.users.find(held["username"]) if held["username"] else None
    else:
        raise AuthError(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")
    if user is not None:
        retailer_ids = list(user["retailerIds"])
    else:
        retailer_ids = [r["id"] for r in store.retailers if r["accountId"] == account["id"]]
    ttl = settings.token_ttl_seconds
    lifetime = fault.get("expire_token_after", ttl)
    token = {
        "accountId": account["id"],
        "username": user["username"] if user else None,
        "grant": grant,
        "retailerIds": set(retailer_ids),
        "issuedOn": core.clock.now_iso(),
        "expiresTs": core.clock.timestamp() + float(lifetime),
        "revoked": False,
    }
    access = secrets.token_urlsafe(24)
    store.tokens[access] = token
    answer: dict[str, Any] = {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": ttl,
        "scope": "api",
    }
    if account["refreshTokens"]:
        refresh = str(params.get("refresh_token")) if grant == "refresh_token" else secrets.token_urlsafe(24)
        store.refresh_tokens[refresh] = {"accountId": account["id"], "username": token["username"]}
        answer["refresh_token"] = refresh
    if settings.token_retailer_field and retailer_ids:
        answer["Retailer_id"] = retailer_ids[0]
    if user is not None:
        answer["FirstName"], answer["LastName"] = user["firstName"], user["lastName"]
    return answer


def principal(core: Core, authorization: str | None) -> dict[str, Any]:
    """The caller behind a bearer token, or AuthError(401)."""
    if not authorization:
        raise invalid_token("Full authentication is required to access this resource")
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise invalid_token("Full authentication is required to access this resource")
    token = core.store.tokens.get(value)
    if token is None or token["revoked"]:
        raise invalid_token(f"Invalid access token: {value}")
    if core.clock.timestamp() >= token["expiresTs"]:
        raise invalid_token(f"Access token expired: {value}")
    user = core.store.users.find(token["username"]) if token["username"] else None
    return {
        "name": token["username"] or token["accountId"],
        "accountId": token["accountId"],
        "retailerIds": token["retailerIds"],
        "user": user,
    }


def revoke_all(core: Core) -> None:
    """Revoke every access token issued so far (the ``revoke_tokens`` fault); refresh tokens stay valid."""
    for token in core.store.tokens.values():
        token["revoked"] = True


def expire_all_after(core: Core, seconds: float) -> None:
    """Make every current access token expire within ``seconds`` on the emulator clock (never later)."""
    deadline = core.clock.timestamp() + float(seconds)
    for token in core.store.tokens.values():
        token["expiresTs"] = min(token["expiresTs"], deadline)
