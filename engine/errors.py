"""One exception root for everything the engine raises on purpose.

Recovery is decided by class, never by message text:

* ``TransientError`` (and ``RateLimitedError``): worth retrying with backoff.
* ``DataError``: one record is bad; reject it and keep going.
* ``ConfigError``: the spec or environment is wrong; the run cannot start.
* ``FatalError``: the run cannot continue.

Sub-roots by phase (spec, plugin, source, parse, mapping, target, state) let
callers catch what belongs to them. Third-party exceptions are translated into
these classes where a plugin calls the library, so the runtime never sees them.
"""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """Root of every error the engine raises deliberately."""

    #: Short machine-readable code, shown in reports (``engine.<phase>``).
    code = "engine.error"

    def __init__(self, message: str, *, hint: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


# --- intent ---------------------------------------------------------------


class TransientError(EngineError):
    """Retrying later may succeed (network, timeouts, 5xx)."""

    code = "engine.transient"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class RateLimitedError(TransientError):
    """The other side asked us to slow down (429, throttling codes)."""

    code = "engine.rate_limited"


class AmbiguousWriteError(TransientError):
    """A write may or may not have been applied: reconcile before resending."""

    code = "engine.ambiguous_write"


class FatalError(EngineError):
    """The run cannot continue."""

    code = "engine.fatal"


class ConfigError(FatalError):
    """The spec, a secret or the environment is wrong."""

    code = "engine.config"


class DataError(EngineError):
    """One record (or one value) is bad. The record is rejected; others flow."""

    code = "engine.data"

    def __init__(self, message: str, *, field: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.field = field


# --- phases ---------------------------------------------------------------


class SpecError(ConfigError):
    """A spec cannot be loaded, validated or compiled. Carries diagnostics."""

    code = "engine.spec"

    def __init__(self, message: str, diagnostics: list | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.diagnostics = list(diagnostics or [])


class PluginError(ConfigError):
    """A plugin is missing, duplicated or broken."""

    code = "engine.plugin"


class SecretError(ConfigError):
    """A secret reference cannot be resolved."""

    code = "engine.secret"


class SourceError(FatalError):
    """Listing, reading or moving source items failed."""

    code = "engine.source"


class TransientSourceError(TransientError):
    """A source failed in a way worth retrying (connection reset, timeout, 5xx)."""

    code = "engine.source.transient"


class ParseError(FatalError):
    """A whole item cannot be parsed (not one bad record: that is a DataError)."""

    code = "engine.parse"


class MappingError(DataError):
    """A field could not be mapped for one record."""

    code = "engine.mapping"


class TargetError(FatalError):
    """The target refused the work as a whole."""

    code = "engine.target"


class TransientTargetError(TransientError):
    """A target failed in a way worth retrying; ``retry_after`` carries the server's hint."""

    code = "engine.target.transient"


class AuthError(TargetError):
    """Credentials were refused after a renewal attempt."""

    code = "engine.auth"


class StateError(FatalError):
    """The state store cannot be read or written."""

    code = "engine.state"


class LockedError(StateError):
    """Another run holds the lock for this connector."""

    code = "engine.locked"

    def __init__(self, message: str, *, holder: dict | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.holder = holder or {}


def is_transient(exc: BaseException) -> bool:
    """Whether retrying ``exc`` may succeed; decided by class, never by message."""
    return isinstance(exc, TransientError)
