"""One exception root for everything the engine raises on purpose.

Every error has a *phase* (where it happened: spec, plugin, source, parse,
mapping, target, state) and an *intent* (what to do about it). Callers that
own a phase catch the phase class (``except SourceError``); recovery loops
catch the intent (``except TransientError``). Recovery is decided by class,
never by message text.

Intents:

* ``TransientError`` (``RateLimitedError``, ``AmbiguousWriteError``): worth
  retrying with backoff; an ambiguous write is reconciled before a resend.
* ``DataError``: one record is bad; reject it and keep going.
* ``BadItemError``: one item (a file, a payload) cannot be used as a whole;
  it is quarantined and the run goes on with the others.
* ``FatalError`` (``ConfigError``): the run cannot continue.

A phase error with no intent of its own (a plain ``SourceError`` or
``TargetError``) stops the run, as a fatal one does: see :func:`intent`.
Third-party exceptions are translated into these classes where a plugin
calls the library, so the runtime never sees them. Code shared by several
phases (an HTTP client, an S3 or SFTP connection) is told whose request it
makes and raises that :class:`Phase`'s classes: a source gets source errors
and a target target errors, each with its intent.
"""

from __future__ import annotations

import dataclasses
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


class BadItemError(EngineError):
    """One item (a file, a payload) cannot be used as a whole: it is quarantined, the others go on."""

    code = "engine.bad_item"


# --- phases ---------------------------------------------------------------


class SpecError(ConfigError):
    """A spec cannot be loaded, validated or compiled. Carries diagnostics."""

    code = "engine.spec"

    def __init__(self, message: str, diagnostics: list[Any] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.diagnostics = list(diagnostics or [])


class PluginError(ConfigError):
    """A plugin is missing, duplicated or broken."""

    code = "engine.plugin"


class SecretError(ConfigError):
    """A secret reference cannot be resolved."""

    code = "engine.secret"


class SourceError(EngineError):
    """Listing, reading or moving source items failed (the source phase; stops the run unless transient)."""

    code = "engine.source"


class TransientSourceError(SourceError, TransientError):
    """A source failed in a way worth retrying (connection reset, timeout, 5xx)."""

    code = "engine.source.transient"


class ParseError(BadItemError):
    """A whole item cannot be parsed (not one bad record: that is a DataError); the item is quarantined."""

    code = "engine.parse"


class OutsideSourceError(DataError):
    """An item, or a move, would lead outside the source's directory (a symbolic link elsewhere).

    The item fails like unreadable data: it is not read, others flow.
    """

    code = "engine.source.outside"


class MappingError(DataError):
    """A field could not be mapped for one record."""

    code = "engine.mapping"


class TargetError(EngineError):
    """The target refused the work as a whole (the target phase; stops the run unless transient)."""

    code = "engine.target"


class TransientTargetError(TargetError, TransientError):
    """A target failed in a way worth retrying; ``retry_after`` carries the server's hint."""

    code = "engine.target.transient"


class NotificationError(TargetError):
    """An e-mail or chat message could not be delivered: the server refused it, or TLS failed.

    Fatal for the run when it is about the server (login, TLS, the sender
    refused); a refusal of one message rejects its records instead.
    """

    code = "engine.target.notification"


class TransientNotificationError(NotificationError, TransientTargetError):
    """The mail or chat server could not be reached, or refused for now (4xx): worth retrying later."""

    code = "engine.target.notification.transient"


class RateLimitedSourceError(TransientSourceError, RateLimitedError):
    """A source was asked to slow down (429, throttling codes); ``retry_after`` carries the server's hint."""

    code = "engine.source.rate_limited"


class RateLimitedTargetError(TransientTargetError, RateLimitedError):
    """A target was asked to slow down (429, throttling codes); ``retry_after`` carries the server's hint."""

    code = "engine.target.rate_limited"


class AuthError(FatalError):
    """Credentials were refused after a renewal attempt (the phase classes below say whose request it was)."""

    code = "engine.auth"


class SourceAuthError(SourceError, AuthError):
    """A source's credentials were refused after a renewal attempt."""

    code = "engine.source.auth"


class TargetAuthError(TargetError, AuthError):
    """A target's credentials were refused after a renewal attempt."""

    code = "engine.target.auth"


class LookupFailedError(EngineError):
    """A lookup's service refused or failed a question (after its connection's retries)."""

    code = "engine.lookup"


class TransientLookupError(LookupFailedError, TransientError):
    """A lookup's service was unreachable or failing; asking again later may succeed."""

    code = "engine.lookup.transient"


class RateLimitedLookupError(TransientLookupError, RateLimitedError):
    """A lookup's service asked to slow down and kept asking."""

    code = "engine.lookup.rate_limited"


class PartialLookupError(LookupFailedError):
    """Some keys of a batch failed and the others were answered (a lookup asking per key).

    ``answers`` holds what was found, ``failed`` each failed key's error; with
    ``on_error: reject`` only the records of the failed keys are rejected.
    """

    code = "engine.lookup.partial"

    def __init__(self, message: str, *, answers: dict[Any, Any], failed: dict[Any, str], **kw: Any) -> None:
        super().__init__(message, **kw)
        self.answers = answers
        self.failed = failed


class LookupAuthError(LookupFailedError, AuthError):
    """A lookup's credentials were refused after a renewal attempt; never a per-record matter."""

    code = "engine.lookup.auth"


class StateError(FatalError):
    """The state store cannot be read or written."""

    code = "engine.state"


class CorruptStateError(StateError):
    """The state store's file is empty, truncated or not a database: nothing may run on it.

    ``engine state clear --force`` moves it aside and starts a new store.
    """

    code = "engine.state.corrupt"


class LockedError(StateError):
    """Another run holds the lock for this connector."""

    code = "engine.locked"

    def __init__(self, message: str, *, holder: dict[str, Any] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.holder = holder or {}


@dataclasses.dataclass(frozen=True)
class Phase:
    """The error classes of one phase, by intent: what shared code raises for the caller it serves."""

    name: str
    #: refused, not worth retrying (a 4xx, a missing file, a bad answer)
    fatal: type[EngineError]
    #: worth retrying (a dropped connection, a timeout, a 5xx)
    transient: type[TransientError]
    #: the other side asked to slow down
    rate_limited: type[RateLimitedError]
    #: credentials refused after a renewal attempt
    auth: type[AuthError]


SOURCE = Phase("source", SourceError, TransientSourceError, RateLimitedSourceError, SourceAuthError)
TARGET = Phase("target", TargetError, TransientTargetError, RateLimitedTargetError, TargetAuthError)
#: what a lookup asks while records are mapped; its ``on_error`` policy decides per record
LOOKUP = Phase("lookup", LookupFailedError, TransientLookupError, RateLimitedLookupError, LookupAuthError)
#: what a connection does for itself (opening a client, fetching a token before any request)
CONNECTION = Phase("connection", ConfigError, TransientError, RateLimitedError, AuthError)
#: every phase by name, for callers that name theirs (``phase="source"``)
PHASES: dict[str, Phase] = {p.name: p for p in (SOURCE, TARGET, LOOKUP, CONNECTION)}


def is_transient(exc: BaseException) -> bool:
    """Whether retrying ``exc`` may succeed; decided by class, never by message."""
    return isinstance(exc, TransientError)


def intent(exc: BaseException) -> str:
    """What an error asks for: ``transient``, ``data`` (one record), ``bad_item`` or ``fatal``.

    Errors of no declared intent (a plain phase error, or an exception the
    engine did not raise on purpose) are fatal.
    """
    if isinstance(exc, TransientError):
        return "transient"
    if isinstance(exc, DataError):
        return "data"
    if isinstance(exc, BadItemError):
        return "bad_item"
    return "fatal"
