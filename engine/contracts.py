"""The small contracts every plugin kind implements.

One main method per kind, all closeable. Constructors do no I/O: a plugin is
built from validated options at compile time (``engine validate`` needs no
network) and opened by the runner with a :class:`RunContext`.

Data moves in chunks, not records: a :class:`Chunk` holds a few thousand
records of one :class:`Item` together with where each came from (its
position), so lineage costs one integer per record until somebody needs it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import IO, Any, ClassVar, Protocol, Self

# --- plugin base ------------------------------------------------------------


class Plugin:
    """Base of every plugin: options in, closeable, no I/O until opened."""

    #: registry kind, e.g. ``"sources"``; set by the kind's base class
    kind: ClassVar[str] = ""
    #: the ``type:`` users write, e.g. ``"fluent.batch"``
    name: ClassVar[str] = ""
    #: JSON Schema of the block's options (without ``type``); defaults live here
    schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}
    #: dataclass the validated block is turned into
    Options: ClassVar[type] = dict
    #: one-line summary shown by ``engine plugins``
    summary: ClassVar[str] = ""

    def __init__(self, options: Any, *, path: str = "") -> None:
        self.options = options
        #: spec path of the block, e.g. ``"target"``, for messages
        self.path = path
        self._closed = False

    def open(self, run: RunContext) -> None:
        """Acquire resources. Called once per run, before use."""

    def close(self) -> None:
        """Release resources. Must be harmless when called twice."""
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- items and chunks -------------------------------------------------------


@dataclasses.dataclass
class Item:
    """One unit of work from a source: a file, an object, a payload, a query."""

    uri: str
    name: str
    size: int | None = None
    mtime: datetime | None = None
    etag: str | None = None
    #: source-specific details (bucket, key, remote path, headers ...)
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: set by the runner when dedupe needs it
    checksum: str | None = None

    def fingerprint(self) -> dict[str, Any]:
        """What the ledger compares to tell a new or changed item from one already processed."""
        return {
            "uri": self.uri,
            "size": self.size,
            "mtime": self.mtime.isoformat() if self.mtime else None,
            "etag": self.etag,
            "checksum": self.checksum,
        }

    def file_vars(self) -> dict[str, Any]:
        """What mappings see as ``$file.*``."""
        stem, dot, ext = self.name.rpartition(".")
        return {
            "name": self.name,
            "uri": self.uri,
            "stem": stem if dot else self.name,
            "ext": ext if dot else "",
            "size": self.size,
            "mtime": self.mtime.isoformat() if self.mtime else None,
        }


@dataclasses.dataclass(slots=True)
class ParseReject:
    """A record a parser could not read (ragged row, bad bytes, invalid JSON line)."""

    position: int
    reason: str
    line: int | None = None
    raw: Any = None
    locator: Any = None


@dataclasses.dataclass(slots=True)
class Chunk:
    """Records of one item, with one position per record.

    ``records`` are dicts, or lists when ``columns`` is set (the row form of
    flat formats such as CSV, which maps faster). ``positions`` are 1-based
    record numbers in the item; ``lines`` (optional) the physical line where
    each record starts; ``locators`` (optional) a format-specific position
    such as an XML element path or a Parquet row group.
    """

    item: Item
    records: list[Any]
    positions: list[int]
    columns: tuple[str, ...] | None = None
    lines: list[int] | None = None
    locators: list[Any] | None = None
    #: records the parser could not read, reported with their position
    rejects: list[ParseReject] | None = None
    #: row values are all str or None (CSV), which the mapping exploits
    text: bool = False

    def __len__(self) -> int:
        return len(self.records)

    def original(self, i: int) -> Any:
        """Record ``i`` as a dict (row form is zipped with its columns)."""
        rec = self.records[i]
        if self.columns is not None:
            return dict(zip(self.columns, rec, strict=False))
        return rec

    def lineage(self, i: int) -> dict[str, Any]:
        """Where record ``i`` came from, as the rejects file and reports show it."""
        out: dict[str, Any] = {"uri": self.item.uri, "file": self.item.name, "row": self.positions[i]}
        if self.lines is not None:
            out["line"] = self.lines[i]
        if self.locators is not None:
            out["at"] = self.locators[i]
        return out

    def where(self, i: int) -> str:
        """``stock.csv:1042`` style location for messages."""
        line = self.lines[i] if self.lines is not None else None
        loc = self.locators[i] if self.locators is not None else None
        if loc is not None:
            return f"{self.item.name} {loc}"
        if line is not None:
            return f"{self.item.name}:{line}"
        return f"{self.item.name} record {self.positions[i]}"


@dataclasses.dataclass(slots=True)
class Batch:
    """Mapped records on their way to a target, with their origin.

    ``index[i]`` is the index in ``chunk`` of mapped record ``i``, so a
    target's answer about record ``i`` can be traced to its source row.
    """

    chunk: Chunk
    records: list[dict[str, Any]]
    index: list[int]

    def __len__(self) -> int:
        return len(self.records)

    def lineage(self, i: int) -> dict[str, Any]:
        """Lineage of mapped record ``i`` (see :meth:`Chunk.lineage`)."""
        return self.chunk.lineage(self.index[i])

    def original(self, i: int) -> Any:
        """The source record behind mapped record ``i``, as a dict."""
        return self.chunk.original(self.index[i])

    def where(self, i: int) -> str:
        """``stock.csv:1042`` style location of mapped record ``i``."""
        return self.chunk.where(self.index[i])


# --- outcomes ---------------------------------------------------------------


class Outcomes(Protocol):
    """Where targets report what happened to each record (callable from any thread)."""

    def accepted(self, batch: Batch, count: int | None = None) -> None:
        """Records of ``batch`` the other side acknowledged (all of them when ``count`` is None)."""

    def accepted_count(self, count: int, item: Item) -> None:
        """``count`` records of ``item`` acknowledged without a batch at hand (replays, resumed jobs)."""

    def rejected_at(self, item: Item, lineage: dict[str, Any], reason: str, *, response: Any = None) -> None:
        """A record refused after its batch is gone, known only by its lineage (a batch job's late answer)."""

    def flush(self) -> None:
        """Write buffered rejects out, so a crash after this loses none of them."""

    def rejected(
        self,
        batch: Batch,
        i: int,
        reason: str,
        *,
        stage: str = "target",
        response: Any = None,
        field: str | None = None,
    ) -> None:
        """Record ``i`` of ``batch`` was refused: ``reason`` and the target's ``response`` go to the rejects file."""


# --- run context ------------------------------------------------------------


class RunContext(Protocol):
    """What a plugin may use while a run is under way."""

    run_id: str
    started: datetime
    dry_run: bool
    #: values mappings see as ``$context.*`` (retailer id, spec name, run id ...)
    context: Mapping[str, Any]
    outcomes: Outcomes
    log: Any
    state: StateStore
    connector: str
    spec_dir: Any
    #: a backfill window from ``engine run --since/--until`` (ISO-8601), or None
    since: str | None
    until: str | None
    #: per-file progress of acknowledged records (see engine.runtime.checkpoints)
    checkpoints: Any
    #: the mapping's target fields (dotted), for tabular writers
    output_fields: list[str] | None

    def connection(self, name: str) -> Any:
        """The opened connection named ``name`` under the spec's ``connections:``."""

    def progress(self, **counts: int) -> None:
        """Report progress counters (shown on a terminal while the run goes on)."""


# --- kinds --------------------------------------------------------------------


class Connection(Plugin):
    """A shared client (Fluent, S3, SFTP, HTTP) that other plugins borrow."""

    kind = "connections"


class Source(Plugin):
    """Lists items and reads them.

    Byte sources return a binary stream from :meth:`read` that a parser turns
    into chunks. Record sources (``produces = "records"``) yield chunks
    themselves from :meth:`read_records` and take no parser.
    """

    kind = "sources"
    produces: ClassVar[str] = "bytes"
    #: set by the compiler from the spec's ``connection:``
    connection_name: str | None = None

    def items(self, run: RunContext) -> Iterator[Item]:
        """The items to process this run, in order (listing only: nothing is read yet)."""
        raise NotImplementedError

    def read(self, item: Item) -> IO[bytes]:
        """A binary stream of ``item``'s bytes for the parser; the caller closes it."""
        raise NotImplementedError

    def read_records(self, item: Item, run: RunContext) -> Iterator[Chunk]:
        """Chunks of records read straight from ``item`` (record sources: no parser)."""
        raise NotImplementedError

    def complete(self, item: Item, ok: bool, run: RunContext) -> str | None:
        """Lifecycle after an item is done (move/delete). Returns where it went."""
        return None


class Parser(Plugin):
    """Turns a binary stream into chunks of records with positions."""

    kind = "parsers"

    def parse(self, stream: IO[bytes], item: Item, run: RunContext) -> Iterator[Chunk]:
        """Chunks of records read from ``stream``, each record with its position in ``item``."""
        raise NotImplementedError


class Target(Plugin):
    """Receives mapped batches and reports each record's outcome.

    :meth:`write` may buffer. :meth:`finish_item` returns once everything
    written for ``item`` has been acknowledged by the other side; only then
    does the runner commit state for it.
    """

    kind = "targets"

    def write(self, batch: Batch) -> None:
        """Send (or buffer) a batch; per-record outcomes go to ``run.outcomes``."""
        raise NotImplementedError

    def finish_item(self, item: Item) -> None:
        """Return once everything written for ``item`` is acknowledged; only then is its state committed."""
        pass

    def finish_run(self) -> None:
        """Everything written in this run is acknowledged or reported."""


class Writer(Plugin):
    """Serialises records into one output file (for the ``file`` target)."""

    kind = "writers"
    extension: ClassVar[str] = ""

    def begin(self, stream: IO[bytes], meta: Mapping[str, Any]) -> None:
        """Start an output file on ``stream``; ``meta`` holds the run's values for headers and templates."""
        raise NotImplementedError

    def write(self, records: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]] | None:
        """Write records; returns ``(index, reason)`` for records it could not write."""
        raise NotImplementedError

    def end(self) -> None:
        """Finish the output file (footers, closing tags); the caller closes the stream."""
        raise NotImplementedError


class Destination(Plugin):
    """Publishes finished files atomically (temp name, then rename)."""

    kind = "destinations"
    connection_name: str | None = None

    def publish(self, local_path: str, name: str, run: RunContext) -> str:
        """Publish a finished local file as ``name``; returns the final uri."""
        raise NotImplementedError


class StateStore(Protocol):
    """Durable state of a connector. See :mod:`engine.state.sqlite` for the semantics."""

    def kv_get(self, connector: str, key: str) -> Any:
        """The value stored under ``key`` for ``connector``, or None when absent or expired."""

    def kv_set(self, connector: str, key: str, value: Any, *, expires: datetime | None = None) -> None:
        """Store ``value`` (JSON-compatible) under ``key``, until ``expires`` when given."""

    def kv_delete(self, connector: str, key: str) -> None:
        """Forget ``key``."""

    def checkpoint_get(self, connector: str, uri: str) -> dict[str, Any] | None:
        """The saved progress of ``uri``, or None."""

    def checkpoint_set(
        self, connector: str, uri: str, fingerprint: dict[str, Any], data: dict[str, Any]
    ) -> None:
        """Save the progress of ``uri`` with the fingerprint of the item it belongs to."""

    def checkpoint_clear(self, connector: str, uri: str | None = None) -> None:
        """Forget the progress of ``uri`` (of every item when None)."""

    def close(self) -> None:
        """Release the store's resources; harmless when called twice."""


# --- resolvers ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Resolver:
    """A named value transformation usable in mappings.

    ``make(**args)`` is called once at compile time with the validated
    ``args`` and returns the function applied to each value: ``fn(value)``,
    or ``fn(value, record, context)`` when ``needs_record`` is set. Missing
    values (``None``) skip the resolver unless ``accepts_missing`` is set.
    Bad input raises :class:`engine.errors.DataError` (or ``ValueError``);
    the record is rejected with the message, never silently zeroed.
    """

    name: str
    make: Any
    #: JSON Schema of ``args`` (an object schema), or None when it takes none
    args: dict[str, Any] | None = None
    needs_record: bool = False
    accepts_missing: bool = False
    summary: str = ""
    #: a positional argument name: ``{name: pad, args: 5}`` means ``{width: 5}``
    shorthand: str | None = None


@dataclasses.dataclass(frozen=True)
class ResolverOptions:
    """Mapping-wide settings a resolver factory may ask for.

    A resolver's ``make`` receives them when it declares a parameter named
    ``options``: ``make(*, width, options)``.
    """

    #: reproduce the SDK's fallback values (0, false, the input) instead of rejecting
    lenient: bool = False
    #: time zone assumed for dates without one (IANA name); None means UTC
    timezone: str | None = None
    #: directory of the spec, for files a resolver loads at compile time
    base_dir: str = "."
