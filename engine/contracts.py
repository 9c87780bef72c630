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
import re
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar, Protocol, Self

if TYPE_CHECKING:
    from engine.mapping.columnar.mapped import MappedColumns

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
    #: the spec's ``connection:`` for plugins that borrow one (set by the compiler)
    connection_name: str | None = None

    def __init__(self, options: Any, *, path: str = "") -> None:
        self.options = options
        #: spec path of the block, e.g. ``"target"``, for messages
        self.path = path
        self._closed = False

    def problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Mistakes in the options no schema can express, each at its path inside the block.

        Reported by ``engine validate`` at that option's line and column; a
        plugin with problems is not used.
        """
        return []

    def warnings(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Doubtful but valid options (``engine validate`` shows them; the spec still runs)."""
        return []

    def schema_problems(self, spec_dir: Path) -> list[tuple[tuple[str | int, ...], str]]:
        """What the remote API's schema refuses in the options (an unknown mutation or field).

        Read from a schema the block names (a shipped or cached file under
        ``spec_dir``), never from the network; reported like :meth:`problems`.
        """
        return []

    def open(self, run: RunContext) -> None:
        """Acquire resources. Called once per run, before use."""

    def check(self, run: RunContext) -> list[Check]:
        """Reach what the plugin uses, without sending or changing anything (``engine check``).

        Returns one :class:`Check` per thing reached (a directory listed, a
        bucket found); a failure is raised as the engine error that says what
        went wrong. Plugins that reach nothing of their own check nothing.
        """
        return []

    def close(self) -> None:
        """Release resources. Must be harmless when called twice."""
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclasses.dataclass(frozen=True)
class Check:
    """One line of ``engine check``: what was reached (or not), and what to do when it failed."""

    #: the spec path checked, e.g. ``connections.partner`` or ``source``
    subject: str
    message: str
    ok: bool = True
    hint: str | None = None


# --- items and chunks -------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ByteRange:
    """A part of one large file read on its own: bytes ``[start, end)``, aligned to record boundaries.

    A parser that can split a file (:meth:`Parser.split`) makes these; the
    part's records keep the file's own numbering (``records_before`` and
    ``lines_before`` come before its first record), and ``header`` holds the
    bytes a part is read after (a CSV header line), so every part reads alone.
    """

    file_uri: str
    start: int
    end: int
    #: 1-based number of this part, and how many parts the file has
    index: int
    parts: int
    records_before: int = 0
    lines_before: int = 0
    header: bytes = b""

    def uri(self) -> str:
        """The part's own uri (its ledger row and checkpoint): the file's, with the byte range."""
        return f"{self.file_uri}#bytes={self.start}-{self.end}"


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
    #: set when the item is one part of a large file (see :meth:`part`), read by several workers
    range: ByteRange | None = None

    @property
    def file_uri(self) -> str:
        """The uri of the file the item reads (its own, unless it is a part of one): what lineage shows."""
        return self.range.file_uri if self.range is not None else self.uri

    def part(self, byte_range: ByteRange) -> Item:
        """This file's part ``byte_range``: same name, fingerprint and details, its own uri."""
        # no checksum: a part's ledger row must not pass for the whole file's content (dedupe: checksum)
        return dataclasses.replace(
            self, uri=byte_range.uri(), meta=dict(self.meta), range=byte_range, checksum=None
        )

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


#: rows of an :class:`ArrowRows` made one at a time before all of them are made at once
_PICKED_ALONE = 64


class ArrowRows(Sequence[list[Any]]):
    """A chunk's rows held as Arrow columns: a ``pyarrow.Table`` or record batch of flat columns.

    A parser that reads with Arrow (CSV and JSON Lines, when every guarantee
    of its row reader holds, as text columns; Parquet batches of flat
    columns) hands its
    rows over in this form, so a mapping that has a
    columnar form (:mod:`engine.mapping.columnar`) works on whole columns.
    Everyone else sees what they always saw, rows of cells in column order:
    the lists are made on first use, once. Slices stay columnar.

    ``extra`` holds columns of Python values after the table's, one value per
    row: the lookups' answers (``"$lookup"``), which are objects Arrow would
    reshape. The chunk's ``columns`` name them last.
    """

    __slots__ = ("_picked", "_rows", "block", "extra", "offset", "table")

    def __init__(
        self, table: Any, block: Any = None, offset: int = 0, extra: dict[str, list[Any]] | None = None
    ) -> None:
        self.table = table
        #: the larger table ``table`` is a slice of, from row ``offset`` (a parser's block), or None
        self.block = block
        self.offset = offset
        self.extra = extra or {}
        self._rows: list[list[Any]] | None = None
        self._picked = 0

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step == 1:
                extra = {name: values[start:stop] for name, values in self.extra.items()}
                return ArrowRows(
                    self.table.slice(start, max(0, stop - start)), self.block, self.offset + start, extra
                )
            return self.rows()[i]
        if self._rows is None and self._picked < _PICKED_ALONE:
            # a few rows asked for one by one (a rejected record's original): no need to make them all
            self._picked += 1
            at = range(len(self))[i]
            return [column[at].as_py() for column in self.table.columns] + [
                v[at] for v in self.extra.values()
            ]
        return self.rows()[i]

    def __iter__(self) -> Iterator[list[Any]]:
        return iter(self.rows())

    def rows(self) -> list[list[Any]]:
        """The rows as lists of cells (made once)."""
        if self._rows is None:
            columns = [column.to_pylist() for column in self.table.columns] + list(self.extra.values())
            self._rows = [list(row) for row in zip(*columns, strict=True)] if columns else []
        return self._rows

    def take(self, indexes: list[int]) -> ArrowRows:
        """The rows at ``indexes``, in that order (no longer a slice of a block)."""
        import pyarrow as pa

        extra = {name: [values[i] for i in indexes] for name, values in self.extra.items()}
        return ArrowRows(self.table.take(pa.array(indexes, pa.int64())), extra=extra)

    def with_extra(self, name: str, values: list[Any]) -> ArrowRows:
        """These rows with one more column of Python values (see :attr:`extra`)."""
        return ArrowRows(self.table, extra={**self.extra, name: values})


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
        out: dict[str, Any] = {"uri": self.item.file_uri, "file": self.item.name, "row": self.positions[i]}
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


class LateRecords(Sequence[dict[str, Any]]):
    """Mapped records made only when somebody reads them.

    A columnar mapping knows how many records a chunk gave long before it
    builds them as dicts; a target that only counts (``null``) never needs
    them built. ``make`` builds them, once. ``columns`` (optional) are the
    same records as columns (:class:`~engine.mapping.columnar.mapped.MappedColumns`),
    for a target that writes from columns.
    """

    __slots__ = ("_count", "_made", "_make", "columns")

    def __init__(
        self, count: int, make: Callable[[], list[dict[str, Any]]], columns: MappedColumns | None = None
    ) -> None:
        self._count = count
        self._make: Callable[[], list[dict[str, Any]]] | None = make
        self._made: list[dict[str, Any]] | None = None
        self.columns = columns

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i: Any) -> Any:
        return self.made()[i]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.made())

    def made(self) -> list[dict[str, Any]]:
        """The records as dicts (built on the first call)."""
        if self._made is None:
            assert self._make is not None
            self._made, self._make = self._make(), None
        return self._made


class Batch:
    """Mapped records on their way to a target, with their origin.

    ``index[i]`` is the index in ``chunk`` of mapped record ``i``, so a
    target's answer about record ``i`` can be traced to its source row.
    ``records`` are built when first read when the mapping gave them late
    (:class:`LateRecords`).
    """

    __slots__ = ("_records", "chunk", "index")

    def __init__(self, chunk: Chunk, records: Sequence[dict[str, Any]], index: list[int]) -> None:
        self.chunk = chunk
        self._records = records
        self.index = index

    @property
    def records(self) -> list[dict[str, Any]]:
        """The mapped records as dicts."""
        records = self._records
        if isinstance(records, list):
            return records
        made = records.made() if isinstance(records, LateRecords) else list(records)
        self._records = made
        return made

    @records.setter
    def records(self, records: list[dict[str, Any]]) -> None:
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    @property
    def columns(self) -> MappedColumns | None:
        """The records as columns, while nobody has read or replaced them as dicts; else None.

        A target that can write from columns (``fluent.batch``, the Parquet,
        CSV and JSONL writers) takes these; once :attr:`records` is read
        (to filter, route or amend them) the dicts are what counts.
        """
        records = self._records
        return records.columns if isinstance(records, LateRecords) else None

    def lineage(self, i: int) -> dict[str, Any]:
        """Lineage of mapped record ``i`` (see :meth:`Chunk.lineage`)."""
        return self.chunk.lineage(self.index[i])

    def original(self, i: int) -> Any:
        """The source record behind mapped record ``i``, as a dict."""
        return self.chunk.original(self.index[i])

    def where(self, i: int) -> str:
        """``stock.csv:1042`` style location of mapped record ``i``."""
        return self.chunk.where(self.index[i])


# --- payloads ---------------------------------------------------------------


#: header names that carry credentials; they never reach an item, a log line or a report
_SECRET_HEADER = re.compile(
    r"^(authorization|proxy-authorization|cookie|set-cookie)$|signature|api[-_.]?key|token|secret|password",
    re.IGNORECASE,
)


def safe_headers(headers: Mapping[str, str] | Any, *, also: tuple[str, ...] = ()) -> dict[str, str]:
    """Request headers minus credentials, names lower-cased (HTTP names are case-insensitive)."""
    drop = {h.lower() for h in also}
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = str(name).lower()
        if key in drop or _SECRET_HEADER.search(key):
            continue
        out[key] = str(value)
    return out


def new_payload_id() -> str:
    """A fresh payload id, UTC time then random hex (``20260102T030405Z-a1b2c3``): sortable and unique."""
    now = datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


@dataclasses.dataclass
class Payload:
    """One body to process: the exact bytes received, an id, and safe headers."""

    body: bytes
    id: str = dataclasses.field(default_factory=new_payload_id)
    #: file extension for the item name (json, xml, csv ...)
    ext: str = "json"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    received: datetime = dataclasses.field(default_factory=lambda: datetime.now(UTC))
    #: the item's name; ``payload-<id>.<ext>`` unless given (``--payload FILE`` keeps the file's name)
    name: str | None = None

    def item(self) -> Item:
        """The run's one item for this body; its ``meta`` holds the safe headers and the payload id."""
        name = self.name or f"payload-{self.id}.{self.ext}"
        return Item(
            uri=f"payload://{self.id}",
            name=name,
            size=len(self.body),
            mtime=self.received,
            meta={"headers": safe_headers(self.headers), "payload_id": self.id},
        )


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

    @property
    def keeps_answers(self) -> bool:
        """Whether :meth:`answered` keeps anything: build a costly answer (parse a body) only then."""
        ...

    def answered(self, batch: Batch, i: int, answer: Any, *, step: str = "target") -> None:
        """Record ``i`` of ``batch`` was applied and ``step`` answered ``answer`` for it.

        The answer is what the other side returned for this one record (a
        GraphQL mutation's ``returning`` fields, an HTTP response body, an
        event's outcome). Call it besides ``accepted*``, which count. It is
        kept only when the run collects per-record outcomes
        (:class:`RecordOutcome`, for a synchronous webhook answer), under
        ``step`` so that several steps of one record keep their own answers,
        or when a later step of a route reads it (``$steps.NAME.answer``):
        targets that declare :meth:`Target.answer_fields` report it before
        the record is settled.
        """


@dataclasses.dataclass
class RecordOutcome:
    """What happened to one record of a run, for answers built from per-record results.

    ``status`` is ``delivered``, ``rejected`` (``stage`` and ``reasons`` say
    where and why), ``skipped`` (``on_error.invalid_record: skip``),
    ``left_out`` (unchanged since its last delivery, or skipped by a lookup)
    or ``pending`` (the run ended before the target settled it). ``answers`` maps a step name (``target``
    for a spec's one target) to what that step answered for the record.
    """

    row: int
    input: Any
    output: Any = None
    status: str = "pending"
    stage: str | None = None
    reasons: list[str] = dataclasses.field(default_factory=list)
    answers: dict[str, Any] = dataclasses.field(default_factory=dict)
    response: Any = None

    def as_dict(self) -> dict[str, Any]:
        """The outcome as an answer template sees it (``answer`` is the last step's answer)."""
        last = list(self.answers.values())[-1] if self.answers else None
        return {
            "row": self.row,
            "status": self.status,
            "stage": self.stage,
            "reason": "; ".join(self.reasons) if self.reasons else None,
            "reasons": list(self.reasons),
            "input": self.input,
            "output": self.output,
            "answer": last,
            "answers": dict(self.answers),
            "response": self.response,
        }


# --- mappings ----------------------------------------------------------------


class MappingIssue(Protocol):
    """Why one field of one record could not be mapped."""

    def render(self) -> str:
        """``qty: 'ten' is not an integer`` for people."""
        ...

    def as_dict(self) -> dict[str, Any]:
        """The issue as data (field, message, value) for the rejects file."""
        ...


class RecordMapping(Protocol):
    """A compiled mapping as the runtime uses it (see :mod:`engine.mapping.compiler`)."""

    def map_chunk(
        self, chunk: Chunk, context: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], list[int], list[tuple[int, list[MappingIssue]]]]:
        """Mapped records, the chunk index of each, and the rejected ``(index, issues)``."""
        ...

    def map_chunk_late(
        self, chunk: Chunk, context: Mapping[str, Any]
    ) -> tuple[Sequence[dict[str, Any]], list[int], list[tuple[int, list[MappingIssue]]]]:
        """As :meth:`map_chunk`, the records possibly built only when read (:class:`LateRecords`)."""
        ...

    def map_record(
        self,
        record: Any,
        context: Mapping[str, Any] | None = None,
        *,
        row: int = 1,
        file: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any] | None, list[MappingIssue]]:
        """Map one record (``engine test``, ``engine init``); returns the result or its issues."""
        ...

    def leaf_targets(self) -> list[tuple[str, ...]]:
        """Target paths of the fields that hold values (column order for tabular writers)."""
        ...


# --- run context ------------------------------------------------------------


class Logger(Protocol):
    """Structured logging: a short message, fields beside it (``log.info("file read", records=10)``)."""

    def bind(self, **fields: Any) -> Logger:
        """A logger adding ``fields`` to every line."""
        ...

    def debug(self, message: str, **fields: Any) -> None:
        """Log at debug level."""

    def info(self, message: str, **fields: Any) -> None:
        """Log at info level."""

    def warning(self, message: str, **fields: Any) -> None:
        """Log at warning level."""

    def error(self, message: str, **fields: Any) -> None:
        """Log at error level."""


class Checkpoints(Protocol):
    """Where targets save how far they got inside an item (see :class:`Checkpoint`)."""

    def load(self, item: Item) -> Checkpoint | None:
        """The checkpoint of ``item`` as it is now, or None (also when the file changed since)."""
        ...

    def save(self, item: Item, checkpoint: Checkpoint) -> None:
        """Save ``item``'s progress (targets call it as records are acknowledged)."""

    def clear(self, item: Item) -> None:
        """Forget ``item``'s progress (once the item is committed)."""


class RunContext(Protocol):
    """What a plugin may use while a run is under way (read-only; the runtime's ``Run`` provides it)."""

    @property
    def run_id(self) -> str:
        """The run's id (sortable: start time, then a random suffix)."""
        ...

    @property
    def started(self) -> datetime:
        """When the run started (UTC)."""
        ...

    @property
    def dry_run(self) -> bool:
        """Whether nothing may be written, moved or sent."""
        ...

    @property
    def context(self) -> Mapping[str, Any]:
        """Values mappings see as ``$context.*`` (retailer id, connector, run id ...)."""
        ...

    @property
    def outcomes(self) -> Outcomes:
        """Where targets report each record's outcome."""
        ...

    @property
    def log(self) -> Logger:
        """The run's logger (bound to the connector and run id)."""
        ...

    @property
    def state(self) -> StateStore:
        """The connector's state store, open for the run."""
        ...

    @property
    def connector(self) -> str:
        """The connector's name (keys its state)."""
        ...

    @property
    def spec_dir(self) -> Path:
        """The spec's directory: relative paths in the spec are relative to it."""
        ...

    @property
    def since(self) -> str | None:
        """The start of a backfill window (``engine run --since``, ISO-8601), or None."""
        ...

    @property
    def until(self) -> str | None:
        """The end of a backfill window (``engine run --until``), or None."""
        ...

    @property
    def checkpoints(self) -> Checkpoints:
        """Per-item progress of acknowledged records."""
        ...

    @property
    def output_fields(self) -> list[str] | None:
        """The mapping's target fields (dotted), for tabular writers; None without a mapping."""
        ...

    def connection(self, name: str) -> Any:
        """The opened connection named ``name`` under the spec's ``connections:``."""

    def progress(self, **counts: int) -> None:
        """Report progress counters (shown on a terminal while the run goes on)."""

    def note(self, text: str) -> None:
        """Add a line to the run report's notes: something the operator should know that is not an error."""


# --- kinds --------------------------------------------------------------------


class Connection(Plugin):
    """A shared client (Fluent, S3, SFTP, HTTP) that other plugins borrow."""

    kind = "connections"

    def static_context(self) -> dict[str, Any]:
        """Values mappings see as ``$context.*`` known without I/O (e.g. a retailer id in the spec)."""
        return {}

    def run_context(self) -> dict[str, Any]:
        """Values for ``$context.*`` learnt once opened (e.g. the retailer of a profile's account)."""
        return {}

    def check(self, run: RunContext) -> list[Check]:
        """Open the connection (secrets resolved); kinds that can sign in without sending data do so too."""
        self.open(run)
        return [Check(self.path, "opened")]


class Source(Plugin):
    """Lists items and reads them.

    Byte sources return a binary stream from :meth:`read` that a parser turns
    into chunks. Record sources (``produces = "records"``) yield chunks
    themselves from :meth:`read_records` and take no parser.
    """

    kind = "sources"
    produces: ClassVar[str] = "bytes"
    #: :meth:`read` honours :attr:`Item.range` (reads only that part of the file), so a large file
    #: can be shared between workers
    reads_ranges: ClassVar[bool] = False
    #: the source reads a request body handed to it (``engine serve`` webhooks, ``engine run --payload``)
    accepts_payload: ClassVar[bool] = False
    #: ``engine test`` can read a recorded answer of this record source (:meth:`recorded_page`)
    reads_recorded_pages: ClassVar[bool] = False

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

    def stats(self) -> dict[str, Any] | None:
        """The source's own counters for the run report (pages, requests, watermarks), or None."""
        return None

    def recorded_page(self, answer: Any) -> list[Any]:
        """The records of one recorded answer, read as a run reads a page (sources with :attr:`reads_recorded_pages`)."""
        raise NotImplementedError(f"source '{self.name}' has no recorded pages")

    def deliver(self, payload: Payload) -> None:
        """Hand the source the body its next run reads (sources with :attr:`accepts_payload`)."""
        raise NotImplementedError(f"source '{self.name}' does not read request bodies")


class Parser(Plugin):
    """Turns a binary stream into chunks of records with positions."""

    kind = "parsers"

    #: whether this parser can give rows as :class:`ArrowRows` (read with Arrow)
    arrow_rows: ClassVar[bool] = False
    #: set by the spec compiler when the mapping can take whole columns (``mapping.columnar``): a
    #: parser with ``arrow_rows`` then gives its rows as :class:`ArrowRows` where it can
    columnar: bool = False

    def parse(self, stream: IO[bytes], item: Item, run: RunContext) -> Iterator[Chunk]:
        """Chunks of records read from ``stream``, each record with its position in ``item``.

        For a part of a file (``item.range``), ``stream`` holds only that part;
        positions and lines continue the file's own numbering.
        """
        raise NotImplementedError

    def split(self, stream: IO[bytes], item: Item, part_size: int) -> list[ByteRange] | None:
        """Parts of about ``part_size`` bytes that cover ``item``, each starting at a record.

        ``stream`` is the whole file. None when this parser (with these
        options) cannot read a file in parts; one part when the file is small.
        """
        return None


class Target(Plugin):
    """Receives mapped batches and reports each record's outcome.

    :meth:`write` may buffer. :meth:`finish_item` returns once everything
    written for ``item`` has been acknowledged by the other side; only then
    does the runner commit state for it.
    """

    kind = "targets"
    #: ``"item"``: an item commits once :meth:`finish_item` returns; ``"run"``: its output is
    #: published only at :meth:`finish_run` (one file per run), so items commit then
    commit_scope: str = "item"

    def write(self, batch: Batch) -> None:
        """Send (or buffer) a batch; per-record outcomes go to ``run.outcomes``."""
        raise NotImplementedError

    def finish_item(self, item: Item) -> None:
        """Return once everything written for ``item`` is acknowledged; only then is its state committed."""

    def finish_run(self) -> None:
        """Everything written in this run is acknowledged or reported."""

    def parts_refused(self) -> str | None:
        """Why this target cannot take one file in parts from several workers; None when it can.

        A target can when what it sends for a part depends on that part alone
        and its progress is checkpointed per item.
        """
        return f"target '{self.name}' does not take a file in parts"

    def wait_settled(self, item: Item) -> None:
        """Return once every record written so far for ``item`` is settled; the item stays open.

        A step whose answers a later step reads is settled before that step
        runs. The default finishes the item; targets that keep per-item
        progress (checkpoint windows) wait for their requests instead.
        """
        self.finish_item(item)

    def answer_fields(self) -> list[str] | None:
        """The fields of the answer this target reports for each record it applies (:meth:`Outcomes.answered`).

        None (the default): it reports none. ``["*"]``: an answer whose fields
        are not known before the run (an HTTP response body).
        """
        return None

    def resume(self, item: Item, checkpoint: Checkpoint) -> int:
        """Take up ``item`` after an interrupted run; returns how many records to skip.

        The default trusts the checkpoint's settled prefix. Targets whose
        writes may have been in flight when the run died reconcile them here
        (or when those records come again) instead of sending them blindly.
        """
        return checkpoint.acked

    def stats(self) -> dict[str, Any] | None:
        """The target's own counters for the run report (jobs, batches, requests, retries), or None."""
        return None

    def planner(self, run: RunContext) -> Planner | None:
        """What the target would send, request by request, without sending (``engine run --plan``).

        The planner groups records exactly as :meth:`write` does (jobs,
        batches of ``batch_size``, aliased requests); None when the target
        cannot say (it writes files, say).
        """
        return None

    def record_shape(self, spec_dir: Path) -> RecordShape | None:
        """What every mapped record must look like for the other side to take it, or None (anything).

        ``engine validate`` checks the mapping against it and ``engine test``
        every expected record, so a spec cannot pass checks with records the
        target would refuse.
        """
        return None


@dataclasses.dataclass(frozen=True)
class PlannedRequest:
    """One request a target would send; ids the server would assign are placeholders (``{job 1}``)."""

    method: str
    #: the path below the connection's base URL, e.g. ``/api/v4.1/job``
    path: str
    body: Any
    #: headers with every credential redacted
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: what the target groups it as, e.g. ``job``, ``batch 2 (1000 entities)``
    group: str = ""


class Planner:
    """The requests a target's writes would make, as :meth:`Target.write` would group them."""

    def write(self, batch: Batch) -> list[PlannedRequest]:
        """The requests this batch of mapped records completes (a full batch, a full aliased request)."""
        raise NotImplementedError

    def finish_item(self, item: Item) -> list[PlannedRequest]:
        """The requests the end of ``item`` flushes (its last partial batch)."""
        return []

    def finish_run(self) -> list[PlannedRequest]:
        """The requests the end of the run flushes."""
        return []


@dataclasses.dataclass(frozen=True)
class RecordShape:
    """The record a target sends, as a GraphQL input type: its fields, their types, which are required.

    GraphQL types describe REST bodies too (``engine/fluent/rest.graphql``),
    so one checker reads every target's shape. ``fields`` maps each field
    name to its graphql-core ``GraphQLInputField`` (a non-null type without a
    default is required); ``filled`` are required fields the target fills in
    itself when the record leaves them out. ``open``: the other side takes
    fields it does not declare (a JSON Schema without ``additionalProperties:
    false``), so an unknown field is a warning, not an error. ``check``, when
    given, is the other side's own validator of a whole record (``record ->
    problems``), used by ``engine test`` instead of walking ``fields``.
    ``hint`` is said once, after the first field the shape does not have
    (how to check against a fuller schema).
    """

    #: how messages name it: ``CreateLocationInput``, ``InventoryBatchEntity``
    name: str
    fields: Mapping[str, Any]
    filled: frozenset[str] = frozenset()
    open: bool = False
    check: Callable[[Any], list[str]] | None = None
    hint: str | None = None


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

    def write_columns(self, columns: MappedColumns) -> bool:
        """Write records given as columns (:attr:`Batch.columns`), exactly as :meth:`write` would write them.

        All or nothing: False (having written nothing) when the columns are not
        plain enough to write so (a type the writer would treat differently, a
        record it would reject); the caller then passes the records to :meth:`write`.
        """
        return False

    def end(self) -> None:
        """Finish the output file (footers, closing tags); the caller closes the stream."""
        raise NotImplementedError

    def size_hint(self) -> int | None:
        """Bytes the file will hold so far, for writers that buffer (None: the stream's position is right)."""
        return None

    def publishable(self) -> bool:
        """Whether the finished file is worth publishing (a Parquet file without a schema is not)."""
        return True


class Destination(Plugin):
    """Publishes finished files atomically (temp name, then rename)."""

    kind = "destinations"

    def publish(self, local_path: str, name: str, run: RunContext) -> str:
        """Publish a finished local file as ``name``; returns the final uri."""
        raise NotImplementedError

    def staging_dir(self) -> Path | None:
        """Where files are written before publishing (the same file system allows a rename), or None."""
        return None


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """How far a run got inside one item, saved as records are acknowledged.

    ``acked``: every record up to this position (1-based) is settled (applied
    or rejected), so a resumed run skips them. ``target`` is the target's
    own part (job and batch ids, records possibly in flight): opaque to the
    runtime, JSON-compatible, handed back to :meth:`Target.resume`.
    """

    run_id: str
    acked: int = 0
    target: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The stored form."""
        return {"run_id": self.run_id, "acked": self.acked, "target": dict(self.target)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Checkpoint:
        """A checkpoint read back from a store (missing parts take their defaults)."""
        return cls(
            str(data.get("run_id") or "?"), int(data.get("acked") or 0), dict(data.get("target") or {})
        )


class Lookup(Plugin):
    """Answers for keys taken from each record, read in mappings as ``$lookup.NAME``.

    The runtime collects a chunk's distinct keys, serves what its cache
    knows, and asks :meth:`fetch` for the rest, at most ``batch_size`` keys
    at a time, so one request can serve many records. Every lookup's options
    include the common ones (:data:`engine.lookups.base.COMMON`): ``key``
    (the key's parts and the record paths they come from), ``on_missing``,
    ``on_error``, ``cache_size`` and ``batch_size``.
    """

    kind = "lookups"
    #: the key's parts and the record paths they come from, in order
    parts: dict[str, str] = {}
    #: a key with no answer: ``reject`` the record, read ``null``, or ``skip`` the record
    on_missing: str = "reject"
    #: a lookup that failed: ``fail`` the item (retried later) or ``reject`` its records
    on_error: str = "fail"
    #: answers kept for the run
    cache_size: int = 100000
    #: keys asked for at once
    batch_size: int = 500

    def fetch(self, keys: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], Any]:
        """The answers for ``keys`` (each a tuple of the key's parts as text); absent keys are not found.

        Raises:
            TransientError: the answer could not be had now (after the connection's own retries).
            EngineError: the lookup failed for these keys.
        """
        raise NotImplementedError

    def stats(self) -> dict[str, Any] | None:
        """The lookup's own counters (requests, pages), merged into the run report."""
        return None

    def with_fixture(self, fixture: Mapping[str, Any]) -> Lookup:
        """This lookup answering offline from a test case's fixture (``engine test``).

        ``fixture`` is the case's block for this lookup (``answers``, or the
        kind's own recorded form such as ``rows`` or ``responses``).

        Raises:
            ConfigError: the fixture is not one this lookup can answer from.
        """
        from engine.errors import ConfigError

        raise ConfigError(f"{self.path}: this lookup cannot answer from a test fixture")


def stored_key(parts: Sequence[Any]) -> str:
    """The key of a stored value: its parts as a JSON array of text (``["S1","L1"]``).

    The changed-only filter writes with it and the ``state`` lookup reads
    with it, so both agree on one key for the same record.
    """
    import json

    return json.dumps(
        [p if isinstance(p, str) else str(p) for p in parts], separators=(",", ":"), ensure_ascii=False
    )


class StateStore(Plugin):
    """Durable state of connectors: the ledger, locks, checkpoints, stored values and run history.

    Every method is atomic (one transaction). A store is shared by every run
    and worker of a connector, possibly in several processes at once, so
    read-then-write decisions (claims, locks) must be made atomically in the
    store. Store failures raise :class:`engine.errors.StateError`.
    Timestamps are timezone-aware UTC. ``tests/state/test_contract.py`` runs
    the same contract suite against every registered store.
    """

    kind = "state_stores"
    #: every host reaches the same store (a database server), so workers on several machines and
    #: several ``engine serve`` instances may share it; False for a file on one machine
    shared: ClassVar[bool] = False

    @property
    def location(self) -> str:
        """Where the state lives, for people (a file path, a database and schema); never a password."""
        return self.name

    def open_for(self, spec_dir: Path) -> None:
        """Open the store for a spec without a run (``engine state``); harmless when already open.

        An empty, damaged or foreign store is never taken for a new one: it
        raises :class:`~engine.errors.CorruptStateError` until repaired.
        """
        raise NotImplementedError

    def set_aside(self, spec_dir: Path) -> str:
        """Move a damaged store out of the way, keeping it, so an empty one can start; returns where it went."""
        raise NotImplementedError

    def verify(self) -> None:
        """Raise :class:`~engine.errors.StateError` when the store opened is gone or replaced.

        A run calls it before it sends or publishes: a store deleted or swapped
        under a run (and with it the lock and the ledger) must stop the run.
        """
        raise NotImplementedError

    # -- ledger: one row per item ever seen ----------------------------------------------
    # Rows hold connector, uri, name, size, mtime, etag, checksum, status (claimed, done,
    # failed, quarantined, partial, unmoved), attempts, first_seen, updated, next_retry, run_id,
    # records, error, moved_to, owner, claim_expires.

    def ledger_get(self, connector: str, uri: str) -> dict[str, Any] | None:
        """One item's ledger row, or None if never seen."""
        raise NotImplementedError

    def ledger_find_checksum(self, connector: str, checksum: str) -> dict[str, Any] | None:
        """The latest ``done`` item with these exact bytes (``dedupe: checksum``), or None."""
        raise NotImplementedError

    def ledger_mark(
        self,
        connector: str,
        item: Item,
        status: str,
        run_id: str,
        *,
        records: int | None = None,
        error: str | None = None,
        moved_to: str | None = None,
        attempt: bool = False,
        next_retry: datetime | None = None,
    ) -> None:
        """Record an item's outcome and fingerprint, creating or updating its row.

        ``records``, ``moved_to`` and a known checksum are kept from earlier
        when not given now; ``attempt`` adds one to the attempt count;
        ``next_retry`` (None: no wait) says when a failed item may be tried again.
        """
        raise NotImplementedError

    def ledger_claim(
        self, connector: str, item: Item, run_id: str, owner: str, ttl: float
    ) -> dict[str, Any] | None:
        """Claim ``item`` for ``owner`` for ``ttl`` seconds; None when it is now ``owner``'s.

        Otherwise returns the row that refused the claim (its ``status``,
        ``owner``, ``run_id`` and ``claim_expires``): a live claim of another
        owner, or an item already settled (``done``, ``unmoved``,
        ``quarantined``) by this same ``run_id`` — a task run again after its
        worker was lost must not deliver the item twice. A claim whose owner
        is known dead, or whose time ran out, is taken over.
        """
        raise NotImplementedError

    def ledger_renew(self, connector: str, owner: str, ttl: float) -> int:
        """Push the expiry of ``owner``'s open claims ``ttl`` seconds ahead; returns how many it holds.

        A worker renews its claims while it works, so a short ``ttl`` lets
        another host take over the items of a host that died, and only those.
        """
        raise NotImplementedError

    def ledger_release(self, connector: str, owner: str) -> int:
        """Mark ``owner``'s claims still open at the end of its run as failed; returns how many."""
        raise NotImplementedError

    def ledger_list(self, connector: str, limit: int = 100) -> list[dict[str, Any]]:
        """The connector's ledger rows, most recently updated first, at most ``limit``."""
        raise NotImplementedError

    def ledger_forget(self, connector: str, uri: str | None = None) -> int:
        """Forget one item (all when ``uri`` is None) so it is processed again; returns rows deleted."""
        raise NotImplementedError

    def ledger_prune(self, connector: str, keep: int, window_seconds: float) -> int:
        """Forget ``done`` rows older than the window or beyond the ``keep`` newest; returns how many."""
        raise NotImplementedError

    # -- the run lock ------------------------------------------------------------------

    def lock_acquire(
        self, connector: str, owner: str, ttl: float, *, host: str = "", pid: int = 0
    ) -> dict[str, Any] | None:
        """Take the connector's lock for ``ttl`` seconds, or return the live holder.

        The holder is a dict with owner, host, pid, acquired and expires. A
        lock past its expiry, or whose owner is known dead, is taken over.
        """
        raise NotImplementedError

    def lock_renew(self, connector: str, owner: str, ttl: float) -> bool:
        """Push the lock's expiry ``ttl`` seconds ahead; False when ``owner`` no longer holds it."""
        raise NotImplementedError

    def lock_release(self, connector: str, owner: str) -> bool:
        """Give the lock up; False when ``owner`` did not hold it (taken over, or already released)."""
        raise NotImplementedError

    def lock_holder(self, connector: str) -> dict[str, Any] | None:
        """The lock as stored, expired or not (for ``engine state``), or None when nobody holds it."""
        raise NotImplementedError

    # -- checkpoints: progress inside one item -------------------------------------------

    def checkpoint_get(self, connector: str, uri: str) -> dict[str, Any] | None:
        """The saved progress of ``uri``: its data plus the ``fingerprint`` it was saved for, or None."""
        raise NotImplementedError

    def checkpoint_set(
        self, connector: str, uri: str, fingerprint: dict[str, Any], data: dict[str, Any]
    ) -> None:
        """Save the progress of ``uri`` (JSON-compatible), replacing the previous one."""
        raise NotImplementedError

    def checkpoint_clear(self, connector: str, uri: str | None = None) -> None:
        """Forget the progress of ``uri`` (of every item when None)."""
        raise NotImplementedError

    # -- stored values: job ids, watermarks -------------------------------------------------

    def kv_get(self, connector: str, key: str) -> Any:
        """The value stored under ``key`` for ``connector``, or None when absent or expired."""
        raise NotImplementedError

    def kv_set(self, connector: str, key: str, value: Any, *, expires: datetime | None = None) -> None:
        """Store ``value`` (JSON-compatible) under ``key``; it reads as None after ``expires``."""
        raise NotImplementedError

    def kv_delete(self, connector: str, key: str) -> None:
        """Forget ``key``; harmless when absent."""
        raise NotImplementedError

    def kv_list(self, connector: str) -> dict[str, Any]:
        """Every stored value of the connector, expired ones included (for ``engine state``)."""
        raise NotImplementedError

    # -- stored values in namespaces: delivered fingerprints, values a state lookup reads --------

    def values_get(self, connector: str, namespace: str, keys: Sequence[str]) -> dict[str, Any]:
        """The stored values of ``keys`` in ``namespace`` (absent or expired keys are left out)."""
        raise NotImplementedError

    def values_set(
        self, connector: str, namespace: str, values: Mapping[str, Any], *, expires: datetime | None = None
    ) -> None:
        """Store several values (JSON-compatible) at once, replacing earlier ones, until ``expires``."""
        raise NotImplementedError

    def values_list(self, connector: str, namespace: str, limit: int = 100) -> list[dict[str, Any]]:
        """The namespace's rows (key, value, updated, expires), latest first (for ``engine state``)."""
        raise NotImplementedError

    def values_clear(self, connector: str, namespace: str) -> int:
        """Forget every value of ``namespace``; returns how many."""
        raise NotImplementedError

    # -- run history ------------------------------------------------------------------------

    def run_started(self, connector: str, run_id: str, started: datetime, owner: str | None = None) -> None:
        """Add a run to the history as ``running``; ``owner`` (``host:pid:run_id``) tells a live run from a dead one."""
        raise NotImplementedError

    def runs_mark_crashed(self, connector: str) -> int:
        """Mark ``running`` runs whose owner is gone (dead process, lock lost or expired) as ``crashed``."""
        raise NotImplementedError

    def run_ended(self, run_id: str, status: str, counts: dict[str, Any], report: str | None) -> None:
        """Close a run's history row with its status, counts and report path."""
        raise NotImplementedError

    def runs_list(self, connector: str, limit: int = 20) -> list[dict[str, Any]]:
        """The connector's latest runs, newest first, ``counts`` decoded (``{}`` while running)."""
        raise NotImplementedError

    def clear(self, connector: str) -> dict[str, int]:
        """Forget everything about a connector but its run history; returns rows deleted per table."""
        raise NotImplementedError

    # -- spooled request bodies (engine serve with a shared store) ----------------------------
    # A body accepted by one instance of ``engine serve`` waits here until a run settles it, so
    # any instance (or the same one restarted) can take it over.

    def spool_put(self, connector: str, payload_id: str, meta: dict[str, Any], body: bytes) -> None:
        """Keep a body (exact bytes) and its metadata (JSON-compatible) as pending; durable on return."""
        raise NotImplementedError

    def spool_take(self, connector: str, owner: str, ttl: float) -> dict[str, Any] | None:
        """Hold the oldest pending body that is due and not held by a live owner, for ``ttl`` seconds.

        Returns ``{"id", "meta", "body", "attempts"}``, or None when nothing is waiting.
        A hold whose owner is known dead, or whose time ran out, is taken over.
        """
        raise NotImplementedError

    def spool_hold(self, connector: str, payload_id: str, owner: str, ttl: float) -> bool:
        """Extend ``owner``'s hold on a body ``ttl`` seconds; False when it is no longer ``owner``'s."""
        raise NotImplementedError

    def spool_release(
        self, connector: str, payload_id: str, owner: str, delay: float, *, attempt: bool = True
    ) -> None:
        """Give a held body back to be tried again (by any instance) ``delay`` seconds from now.

        ``attempt`` counts the run that just ended as an attempt (False: it never started, e.g. locked).
        """
        raise NotImplementedError

    def spool_settle(self, connector: str, payload_id: str, failure: dict[str, Any] | None = None) -> None:
        """A body's runs are over: forgotten when ``failure`` is None, else kept as failed with the reason."""
        raise NotImplementedError

    def spool_counts(self, connector: str) -> dict[str, int]:
        """How many bodies are ``pending`` and ``failed`` (for ``/health``)."""
        raise NotImplementedError


# --- resolvers ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ResolverFunction:
    """What a resolver's ``make`` builds for one field: the function and what the mapping passes it.

    ``make`` may return a plain function; it returns this to declare more,
    which the mapping compiler reads instead of guessing:

    - ``reads``: paths (the mapping's path language) whose values follow the
      value, ``fn(value, *values)``. They are read the way a field's
      ``source`` is (by column index for CSV rows), so the record is never
      built as a whole just for this resolver.
    - ``text_form``: a function of text alone with ``text_form(s) == fn(s)``
      for every ``str`` ``s``; the generated code calls it directly when the
      value is known to be text, and chains several (``trim`` then ``upper``).
    """

    fn: Callable[..., Any]
    reads: tuple[str, ...] | None = None
    text_form: Callable[[str], Any] | None = None


@dataclasses.dataclass(frozen=True)
class Resolver:
    """A named value transformation usable in mappings.

    ``make(**args)`` is called once at compile time with the validated
    ``args`` and returns the function applied to each value, or a
    :class:`ResolverFunction` declaring how to call it. The function is
    called ``fn(value)``; ``fn(value, *values)`` when it declares ``reads``;
    ``fn(value, record, context)`` when ``needs_record`` is set (the record
    as a whole, and the ``$context`` values). Missing values (``None``) skip
    the resolver unless ``accepts_missing`` is set. Bad input raises
    :class:`engine.errors.DataError` (or ``ValueError``); the record is
    rejected with the message, never silently zeroed.
    """

    name: str
    make: Any
    #: JSON Schema of ``args`` (an object schema), or None when it takes none
    args: dict[str, Any] | None = None
    #: the function takes ``(value, record, context)``; prefer declaring ``reads``
    needs_record: bool = False
    accepts_missing: bool = False
    summary: str = ""
    #: a positional argument name: ``{name: pad, args: 5}`` means ``{width: 5}``
    shorthand: str | None = None
    #: the JSON kind of what it returns (string, integer, number, boolean, object, array), when
    #: fixed: validation checks it against the target's field types
    returns: str | None = None


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
