"""A Fluent Commerce account: OAuth, timeouts and retries shared by every Fluent block.

Every Fluent source and target of a spec borrows this one connection.

```yaml
connections:
  fluent:
    type: fluent
    base_url: "${env:FLUENT_BASE_URL}"
    client_id: "${env:FLUENT_CLIENT_ID}"
    client_secret: "${env:FLUENT_CLIENT_SECRET}"
    username: "${env:FLUENT_USERNAME}"
    password: "${env:FLUENT_PASSWORD}"
    retailer_id: "1"
```

``base_url: embedded`` starts the local emulator in-process (with its demo
account unless credentials are given): the way to try a connector without a
Fluent account. ``profile: NAME`` reads a Fluent CLI profile instead of the
credential options. The retailer id comes from the spec, else the profile,
else the token response; mappings read it as ``$context.retailer_id``.
Requests go through the engine's one HTTP client (:mod:`engine.http`), so
they obey the same retry policy and limits as an ``http`` connection's
(``retry``, ``request_timeout``, ``max_response_size``,
``allow_redirects_to``); what is Fluent's (its grants, error codes,
profiles) lives in :mod:`engine.fluent`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from typing_extensions import override

from engine.contracts import Check, Connection, RunContext
from engine.errors import ConfigError
from engine.http.guard import SCHEMA as GUARD_SCHEMA
from engine.http.guard import Guard
from engine.retry import SCHEMA as RETRY_SCHEMA
from engine.retry import RetryPolicy
from engine.secrets import reveal
from engine.units import duration

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "base_url": {"type": "string", "description": "https://ACCOUNT.api.fluentretail.com, or 'embedded'"},
        "client_id": {"type": "string", "description": "OAuth client id (the account id)"},
        "client_secret": {"type": "string", "writeOnly": True},
        "username": {"type": "string"},
        "password": {"type": "string", "writeOnly": True},
        "profile": {"type": "string", "description": "a Fluent CLI profile name (~/.fluentcommerce/NAME)"},
        "profile_dir": {
            "type": "string",
            "description": "where profiles live (default $FLUENT_PROFILE_DIR or ~/.fluentcommerce)",
        },
        "retailer": {"type": "string", "description": "retailer ref of the profile (retailer.REF.json)"},
        "retailer_id": {"type": ["string", "integer"], "description": "default retailer for jobs and events"},
        "scope": {"type": ["string", "null"], "default": "api"},
        "connect_timeout": duration("time allowed to connect", default="10s"),
        "read_timeout": duration("time allowed between bytes of an answer", default="60s"),
        "rate_limit": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "at most this many requests/s",
        },
        "retry": RETRY_SCHEMA,
        **GUARD_SCHEMA,
    },
}


@dataclasses.dataclass
class FluentOptions:
    """The validated ``fluent`` connection block; secrets may still be unrevealed references."""

    base_url: Any
    client_id: Any
    client_secret: Any
    username: Any
    password: Any
    profile: str | None
    profile_dir: str | None
    retailer: str | None
    retailer_id: Any
    scope: str | None
    connect_timeout: float
    read_timeout: float
    rate_limit: float | None
    retry: RetryPolicy
    max_response_size: int
    request_timeout: float
    allow_redirects_to: list


class FluentConnection(Connection):
    """One authenticated Fluent client per spec, opened lazily on first borrow.

    Closing it also stops the embedded emulator when ``base_url: embedded``
    started one.
    """

    name = "fluent"
    summary = "a Fluent Commerce account (OAuth, retries, timeouts)"
    schema = SCHEMA
    Options = FluentOptions

    def __init__(self, options: FluentOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.client: Any = None
        self.emulator: Any = None
        self.connection_label = path.rsplit(".", 1)[-1] if path else "fluent"
        self.policy: RetryPolicy = options.retry
        self.connect_timeout: float = options.connect_timeout
        self.read_timeout: float = options.read_timeout
        self.guard, self._guard_problems = Guard.from_options(options)

    def problems(self) -> list[tuple[tuple, str]]:
        """Credential combinations the compiler reports before anything runs.

        Returns:
            ``(sub_path, message)`` pairs; empty when the block is usable.
        """
        o = self.options
        if self._guard_problems:
            return list(self._guard_problems)
        if o.profile:
            clash = [k for k in ("client_id", "client_secret", "username", "password") if getattr(o, k)]
            if clash:
                return [((), f"use either profile or {', '.join(clash)}, not both")]
            return []
        if o.base_url is None:
            return [((), "missing 'base_url' (or use 'profile: NAME', or 'base_url: embedded')")]
        if str(o.base_url) != "embedded":
            missing = [k for k in ("client_id", "client_secret") if not getattr(o, k)]
            if missing:
                return [((), f"missing {' and '.join(repr(m) for m in missing)} (or use a profile)")]
            if bool(o.username) != bool(o.password):
                return [
                    ((), "give both username and password (password grant), or neither (client credentials)")
                ]
        return []

    def static_context(self) -> dict[str, Any]:
        """``$context`` values known without opening: the spec's retailer id unless it is a secret."""
        rid = self.options.retailer_id
        return {"retailer_id": str(rid)} if rid is not None and not hasattr(rid, "reveal") else {}

    def run_context(self) -> dict[str, Any]:
        """``$context`` values once opened: the retailer id from the spec, profile or token."""
        rid = self.retailer_id
        return {"retailer_id": rid} if rid else {}

    @property
    def retailer_id(self) -> str | None:
        """The spec's retailer id, else the profile's (or demo account's), else the token's; or None."""
        if self.options.retailer_id is not None:
            return str(reveal(self.options.retailer_id))
        if getattr(self, "_profile_retailer", None):
            return self._profile_retailer
        if self.client is not None and self.client.retailer_id:
            return str(self.client.retailer_id)
        return None

    def _settings(self) -> tuple[str, dict[str, str]]:
        o = self.options
        if o.profile:
            from engine.fluent.profiles import load_profile

            profile = load_profile(o.profile, retailer=o.retailer, directory=o.profile_dir)
            self._profile_retailer = profile.get("retailer_id")
            creds = {k: profile[k] for k in ("client_id", "client_secret", "username", "password")}
            return profile["base_url"], creds
        base_url = str(reveal(o.base_url))
        creds = {
            k: str(reveal(getattr(o, k)))
            for k in ("client_id", "client_secret", "username", "password")
            if getattr(o, k) is not None
        }
        if base_url == "embedded":
            from engine.emulator import Emulator

            self.emulator = Emulator()
            self.emulator.start()
            base_url = self.emulator.url
            demo = self.emulator.credentials
            for key in ("client_id", "client_secret", "username", "password"):
                creds.setdefault(key, str(demo[key]))
            if o.retailer_id is None:
                self._profile_retailer = str(demo["retailer_id"])
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"fluent connection '{self.connection_label}': base_url must start with https:// "
                "(or be 'embedded')"
            )
        return base_url, creds

    @override
    def open(self, run: RunContext) -> None:
        if self.client is not None:
            return
        from engine.fluent.client import FluentClient

        base_url, creds = self._settings()
        self.base_url = base_url
        self.client = FluentClient(
            self.connection_label,
            base_url,
            creds,
            log=run.log.bind(connection=self.connection_label),
            policy=self.policy,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            rate_limit=self.options.rate_limit,
            scope=self.options.scope,
            guard=self.guard,
        )

    @override
    def check(self, run: RunContext) -> list[Check]:
        """Sign in (one token request); nothing else is sent."""
        self.open(run)
        auth = self.client.auth
        auth.token()
        grant = auth.grant
        who = f"user '{grant.credentials['username']}'" if grant.grant_type == "password" else "the client"
        retailer = f", retailer {self.retailer_id}" if self.retailer_id else ""
        return [
            Check(self.path, f"signed in to {self.base_url} as {who} ({grant.grant_type} grant{retailer})")
        ]

    @override
    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        super().close()
