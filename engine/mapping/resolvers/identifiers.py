"""Stable identifiers and the run's time.

``hash`` and ``uuid5`` are deterministic, so re-running a file gives the same
references and targets can deduplicate. ``now`` is the run's start time, not
the wall clock, so every record of a run carries the same instant and a
replayed run can be compared with the first.

Example::

    fields:
      ref:      {source: sku, resolver: {name: uuid5, args: {namespace: url}}}
      checksum: {source: payload, resolver: {name: hash, args: sha256}}
      seen_at:  {resolver: now}
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import uuid
from typing import Any

from engine.contracts import Resolver, ResolverFunction, ResolverOptions
from engine.errors import DataError
from engine.mapping.resolvers._common import ValueFunction, as_text, bad_args, show
from engine.mapping.resolvers.dates import output_writer, zone_of

_NAMESPACES = {
    "dns": uuid.NAMESPACE_DNS,
    "url": uuid.NAMESPACE_URL,
    "oid": uuid.NAMESPACE_OID,
    "x500": uuid.NAMESPACE_X500,
}
_DEFAULT_OPTIONS = ResolverOptions()


def make_hash(*, algorithm: str = "sha256") -> ValueFunction:
    """Build ``hash``: the lowercase hex digest of the value's UTF-8 text (numbers as JSON writes them)."""
    new = getattr(hashlib, algorithm)

    def fn(value: Any) -> str:
        text = value if type(value) is str else as_text(value)
        digest: str = new(text.encode("utf-8")).hexdigest()
        return digest

    return fn


def make_uuid5(*, namespace: str) -> ValueFunction:
    """Build ``uuid5``: a name-based UUID of the value's text, in a named namespace or one given as a UUID.

    Raises:
        ConfigError: ``namespace`` is neither.
    """
    space = _NAMESPACES.get(namespace.lower())
    if space is None:
        try:
            space = uuid.UUID(namespace)
        except ValueError:
            raise bad_args(
                f"namespace {namespace!r} is neither a UUID nor one of dns, url, oid, x500"
            ) from None
    uuid5 = uuid.uuid5

    def fn(value: Any) -> str:
        return str(uuid5(space, value if type(value) is str else as_text(value)))

    return fn


@functools.lru_cache(maxsize=8)
def _run_start(text: str) -> _dt.datetime:
    moment = _dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=_dt.UTC)


def make_now(
    *, format: str = "iso", timezone: str | None = None, options: ResolverOptions = _DEFAULT_OPTIONS
) -> ResolverFunction:
    """Build ``now``: the run's start time (``$context.run_started``), never the wall clock.

    It is written in ``timezone`` (default: the mapping's) with ``format`` as
    in ``datetime``; a context without a readable start time is a :class:`DataError`.
    """
    zone = zone_of(timezone or options.timezone)
    write = output_writer("datetime", format)

    @functools.lru_cache(maxsize=8)
    def render(started: Any) -> Any:
        if isinstance(started, _dt.datetime):
            moment = started if started.tzinfo else started.replace(tzinfo=_dt.UTC)
        else:
            try:
                moment = _run_start(started)
            except (TypeError, ValueError):
                raise DataError(f"the run's start time {show(started)} is not an ISO 8601 time") from None
        return write(moment.astimezone(zone))

    def fn(value: Any, started: Any) -> Any:
        if started is None:
            raise DataError("the run's start time (run_started) is not in the context")
        return render(started)

    return ResolverFunction(fn, reads=("$context.run_started",))


RESOLVERS = [
    Resolver(
        "hash",
        make_hash,
        returns="string",
        shorthand="algorithm",
        summary="Hex digest of the value's text.",
        args={
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "algorithm": {"enum": ["sha256", "sha1", "md5", "sha512"], "default": "sha256"},
            },
        },
    ),
    Resolver(
        "uuid5",
        make_uuid5,
        shorthand="namespace",
        summary="A name-based UUID (version 5) of the value's text.",
        args={
            "type": "object",
            "additionalProperties": False,
            "required": ["namespace"],
            "properties": {
                "namespace": {
                    "type": "string",
                    "minLength": 1,
                    "description": "a UUID, or dns, url, oid or x500",
                },
            },
        },
    ),
    Resolver(
        "now",
        make_now,
        accepts_missing=True,
        shorthand="format",
        summary="The run's start time (the same for every record of a run).",
        args={
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "format": {
                    "type": "string",
                    "minLength": 1,
                    "default": "iso",
                    "description": "iso, epoch_seconds, epoch_millis or a strftime format",
                },
                "timezone": {
                    "type": ["string", "null"],
                    "minLength": 1,
                    "default": None,
                    "description": "IANA zone to show the time in; null means the mapping's, else UTC",
                },
            },
        },
    ),
]
