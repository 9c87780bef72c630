"""A REST or other HTTP API shared by the ``http`` source and target.

```yaml
connections:
  shop:
    type: http
    base_url: https://api.shop.example/v2
    auth: {bearer: "${env:SHOP_TOKEN}"}
    headers: {X-Tenant: retail-eu}
    rate_limit: 10
```

One authenticated client serves the whole run. ``auth`` holds one kind:
``bearer: TOKEN``, ``basic: {username, password}``, ``api_key: {header,
value}`` (or ``{param, value}`` for a query parameter), or
``oauth2_client_credentials: {token_url, client_id, client_secret, scope}``
(the token is cached, renewed by one thread for all, and renewed once on a
401). Header values may be secret references too. Every request has
``connect_timeout``/``read_timeout`` and the engine's one retry policy
(``retry``; 429 waits as long as ``Retry-After`` asks); ``rate_limit`` caps
the connection's requests per second across its source and target. TLS is
verified against the system's authorities, or ``ca_bundle`` for a private
one. Every request also obeys :mod:`engine.http.guard`: at most
``request_timeout`` in total, answers up to ``max_response_size``, redirects
only to its own server (or, without credentials, to ``allow_redirects_to``).
The client itself is :class:`engine.http.client.HttpClient`.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from typing_extensions import override

from engine.connections._common import connection_name
from engine.contracts import Check, Connection, Logger, RunContext
from engine.errors import ConfigError, TransientError
from engine.http import auth as http_auth
from engine.http.client import HttpClient
from engine.http.guard import SCHEMA as GUARD_SCHEMA
from engine.http.guard import Guard
from engine.retry import SCHEMA as RETRY_SCHEMA
from engine.retry import RetryPolicy
from engine.secrets import Secret, reveal
from engine.units import duration

_SECRET = {"type": "string", "writeOnly": True}

AUTH: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "maxProperties": 1,
    "description": "one of bearer, basic, api_key, oauth2_client_credentials",
    "x-error": "give exactly one kind of auth: bearer, basic, api_key or oauth2_client_credentials",
    "properties": {
        "bearer": {**_SECRET, "description": "a token sent as 'Authorization: Bearer TOKEN'"},
        "basic": {
            "type": "object",
            "additionalProperties": False,
            "required": ["username", "password"],
            "properties": {"username": {"type": "string"}, "password": _SECRET},
        },
        "api_key": {
            "type": "object",
            "additionalProperties": False,
            "required": ["value"],
            "description": "a key sent in a header (header: X-Api-Key) or a query parameter (param: api_key)",
            "properties": {
                "header": {"type": "string", "minLength": 1},
                "param": {"type": "string", "minLength": 1},
                "value": _SECRET,
            },
        },
        "oauth2_client_credentials": {
            "type": "object",
            "additionalProperties": False,
            "required": ["token_url", "client_id", "client_secret"],
            "properties": {
                "token_url": {"type": "string", "description": "absolute, or relative to base_url"},
                "client_id": {"type": "string"},
                "client_secret": _SECRET,
                "scope": {"type": "string"},
                "params": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "x-secret": "credential-names",
                    "description": "more form fields of the token request (audience, resource ...)",
                },
                "client_auth": {
                    "enum": ["basic", "body"],
                    "default": "basic",
                    "description": "client credentials in a Basic header (RFC 6749) or in the form",
                },
            },
        },
    },
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["base_url"],
    "properties": {
        "base_url": {"type": "string", "description": "https://api.example.com/v1; paths are relative to it"},
        "headers": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "default": {},
            "x-secret": "credential-names",
            "description": "sent with every request; values may be secret references",
        },
        "auth": AUTH,
        "connect_timeout": duration("time allowed to connect", default="10s"),
        "read_timeout": duration("time allowed between bytes of an answer", default="60s"),
        "retry": RETRY_SCHEMA,
        "rate_limit": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "at most this many requests/s",
        },
        "verify_tls": {
            "type": "boolean",
            "default": True,
            "description": "check the server's certificate (turn off only for a throwaway test server)",
        },
        "ca_bundle": {"type": "string", "description": "PEM file of the authorities to trust (a private CA)"},
        **GUARD_SCHEMA,
    },
}


@dataclasses.dataclass
class HttpConnectionOptions:
    """The validated ``http`` connection block; ``auth`` holds exactly one kind."""

    base_url: Any
    headers: dict
    auth: dict | None
    connect_timeout: float
    read_timeout: float
    retry: RetryPolicy
    rate_limit: float | None
    verify_tls: bool
    ca_bundle: str | None
    max_response_size: int
    request_timeout: float
    allow_redirects_to: list


class HttpConnection(Connection):
    """One authenticated HTTP client shared by the ``http`` source and target of a spec.

    Opening is idempotent: the first borrower builds the client, later ones
    reuse it, so the rate limit and the OAuth token are shared.
    """

    name = "http"
    summary = (
        "a REST/HTTP API: base URL, auth (bearer, basic, API key, OAuth2), timeouts, retries, rate limit"
    )
    schema = SCHEMA
    Options = HttpConnectionOptions

    def __init__(self, options: HttpConnectionOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.label = connection_name(path) if path else "http"
        self.policy: RetryPolicy = options.retry
        self.connect_timeout: float = options.connect_timeout
        self.read_timeout: float = options.read_timeout
        self.guard, self._guard_problems = Guard.from_options(options)
        self.client: HttpClient | None = None

    def problems(self) -> list[tuple[tuple, str]]:
        """Mistakes the compiler reports: a non-HTTP base URL, an ambiguous API key, a useless CA bundle.

        Returns:
            ``(sub_path, message)`` pairs; empty when the block is usable.
        """
        o = self.options
        out: list[tuple[tuple, str]] = list(self._guard_problems)
        if not isinstance(o.base_url, Secret) and not str(o.base_url).startswith(("http://", "https://")):
            out.append((("base_url",), f"expected an http:// or https:// address, got {o.base_url!r}"))
        key = (o.auth or {}).get("api_key")
        if key is not None and bool(key.get("header")) == bool(key.get("param")):
            out.append(
                (
                    ("auth", "api_key"),
                    "give header (the key goes in a header) or param (in the query), not both or neither",
                )
            )
        if o.ca_bundle and not o.verify_tls:
            out.append((("ca_bundle",), "ca_bundle has no effect with verify_tls: false"))
        return out

    def warnings(self) -> list[tuple[tuple, str]]:
        """Insecure but legal settings the compiler warns about: no TLS check, credentials over plain http.

        Returns:
            ``(sub_path, message)`` pairs; empty when nothing is risky.
        """
        o = self.options
        out: list[tuple[tuple, str]] = []
        if not o.verify_tls:
            out.append(
                (
                    ("verify_tls",),
                    "the server's certificate is not checked: whoever intercepts the "
                    "connection gets the credentials and the data; use ca_bundle instead",
                )
            )
        host = urlsplit(str(o.base_url)).hostname or ""
        if o.auth and str(o.base_url).startswith("http://") and host not in ("localhost", "127.0.0.1", "::1"):
            out.append((("base_url",), "credentials would travel unencrypted over http://; use https://"))
        return out

    def _verify(self, run: RunContext) -> Any:
        o = self.options
        if not o.verify_tls:
            return False
        if not o.ca_bundle:
            return True
        path = Path(o.ca_bundle).expanduser()
        if not path.is_absolute():
            path = Path(run.spec_dir) / path
        try:
            return ssl.create_default_context(cafile=str(path))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"http connection '{self.label}': ca_bundle {path} cannot be loaded: {exc}"
            ) from None

    @override
    def open(self, run: RunContext) -> None:
        if self.client is not None:
            return
        o = self.options
        base_url = str(reveal(o.base_url))
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"http connection '{self.label}': base_url must start with https:// or http://")
        headers = {str(k): str(reveal(v)) for k, v in (o.headers or {}).items()}
        log = run.log.bind(connection=self.label)
        self.client = HttpClient(
            f"http connection '{self.label}'",
            base_url,
            headers=headers,
            log=log,
            policy=self.policy,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            rate_limit=o.rate_limit,
            verify=self._verify(run),
            guard=self.guard,
        )
        self.client.auth = self._auth(self.client, log)

    @override
    def check(self, run: RunContext) -> list[Check]:
        """Reach the server (TCP, and TLS verified like every request); an OAuth2 client also gets its token.

        Bearer, basic and API-key credentials travel with requests only, so
        they are not checked: checking them would send one.
        """
        self.open(run)
        assert self.client is not None  # opened above
        lines = [Check(self.path, self._reach(self.client, run))]
        auth = self.client.auth
        if isinstance(auth, http_auth.TokenAuth) and isinstance(auth.grant, http_auth.ClientCredentials):
            auth.token()
            lines.append(Check(self.path, f"OAuth2 token granted by {auth.grant.token_url}"))
        elif self.options.auth:
            kind = next(iter(self.options.auth))
            lines.append(
                Check(self.path, f"{kind} credentials resolved; the server checks them at the first request")
            )
        return lines

    def _reach(self, client: HttpClient, run: RunContext) -> str:
        url = urlsplit(client.base_url)
        secure = url.scheme == "https"
        host, port = url.hostname or "", url.port or (443 if secure else 80)
        where = f"http connection '{self.label}': {host}:{port}"
        try:
            with socket.create_connection((host, port), timeout=self.connect_timeout) as sock:
                if not secure:
                    return f"reached {host}:{port}"
                verify = self._verify(run)
                context = verify if isinstance(verify, ssl.SSLContext) else ssl.create_default_context()
                if verify is False:
                    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
                with context.wrap_socket(sock, server_hostname=host):
                    return (
                        f"reached {host}:{port} (TLS {'verified' if verify is not False else 'not verified'})"
                    )
        except ssl.SSLCertVerificationError as exc:
            raise ConfigError(
                f"{where}: the server's TLS certificate is not trusted ({exc.verify_message})",
                hint="for a private authority set ca_bundle to its certificate",
            ) from None
        except (OSError, ssl.SSLError) as exc:
            raise TransientError(
                f"{where}: cannot connect: {exc.strerror or exc}",
                hint="check base_url, and that this machine may reach the server (proxy, firewall)",
            ) from None

    def _auth(self, client: HttpClient, log: Logger) -> http_auth.Credentials:
        auth = self.options.auth or {}
        if "bearer" in auth:
            return http_auth.bearer(str(reveal(auth["bearer"])))
        if "basic" in auth:
            b = auth["basic"]
            return http_auth.basic(str(reveal(b["username"])), str(reveal(b["password"])))
        if "api_key" in auth:
            k = auth["api_key"]
            return http_auth.api_key(str(reveal(k["value"])), header=k.get("header"), param=k.get("param"))
        if "oauth2_client_credentials" in auth:
            c = auth["oauth2_client_credentials"]
            grant = http_auth.ClientCredentials(
                token_url=str(reveal(c["token_url"])),
                client_id=str(reveal(c["client_id"])),
                client_secret=str(reveal(c["client_secret"])),
                scope=c.get("scope"),
                params={str(k): str(reveal(v)) for k, v in (c.get("params") or {}).items()},
                client_auth=c.get("client_auth", "basic"),
            )
            return http_auth.TokenAuth(client, grant, log=log)
        return http_auth.StaticAuth()

    @override
    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        super().close()
