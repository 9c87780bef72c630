"""The lookups of a run: per chunk, before mapping, every record's answers.

For each lookup the chunk's distinct keys are collected, answers the run's
cache holds are served from it, and the rest are fetched in batches of the
lookup's ``batch_size`` (one request serves many records). Each record then
gets its answers beside its own fields (under ``"$lookup"``, read in
mappings as ``$lookup.NAME``; row-form chunks become dict records), or its
lookup's ``on_missing`` policy applies: the record
is rejected naming the lookup and the key (default), reads null, or is
skipped. A lookup that fails after its connection's retries fails the item
(``on_error: fail``: it is retried by a later run, nothing is lost) or
rejects the records that needed it (``on_error: reject``).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from engine.contracts import ArrowRows, Chunk, Item, Lookup
from engine.errors import AuthError, EngineError, PartialLookupError
from engine.mapping.paths import LOOKUP_KEY, Scope, compile_getter, parse_path
from engine.runtime.chunks import keep
from engine.secrets import redactor

Key = tuple[str, ...]
#: the answer of a key the lookup does not know
MISSING: Any = object()


class _Cache:
    """The answers of one lookup for the run, least recently used dropped past ``size``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: collections.OrderedDict[Key, Any] = collections.OrderedDict()

    def get(self, key: Key) -> Any:
        """The cached answer of ``key`` (the caller checks it is there), now the most recently used."""
        self.entries.move_to_end(key)
        return self.entries[key]

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def put(self, key: Key, answer: Any) -> None:
        if self.size <= 0:
            return
        self.entries[key] = answer
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


class _Resolved:
    """One lookup's part of a chunk: an answer per key, and the error of keys whose fetch failed."""

    def __init__(self) -> None:
        self.answers: dict[Key, Any] = {}
        self.failed: dict[Key, str] = {}


class LookupOutcomes(Protocol):
    """Where the stage reports records it rejects or skips (the run's outcomes, or a test case's)."""

    def invalid(
        self,
        item: Item,
        stage: str,
        lineage: dict[str, Any],
        reasons: list[str],
        original: Any,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        """A record refused by the lookup stage, with the lookup's name, key and answer in ``errors``."""

    def skipped_by_lookup(self, item: Item, n: int) -> None:
        """``n`` records of ``item`` left out by ``on_missing: skip``."""


class LookupStage:
    """The spec's lookups for one run; :meth:`apply` attaches answers to a chunk and drops what it must."""

    def __init__(self, lookups: dict[str, Lookup], outcomes: LookupOutcomes) -> None:
        self.lookups = lookups
        self.outcomes = outcomes
        self.getters: dict[str, list[Callable[[Any, Scope], Any]]] = {
            name: [compile_getter(parse_path(p)) for p in lk.parts.values()] for name, lk in lookups.items()
        }
        #: each lookup's key parts as columns of a flat record (None: a part is a path into a value)
        self.key_columns = {name: _simple_keys(lk) for name, lk in lookups.items()}
        self.caches = {name: _Cache(lk.cache_size) for name, lk in lookups.items()}
        self.counts: dict[str, collections.Counter[str]] = {
            name: collections.Counter({"found": 0, "not_found": 0, "fetched": 0, "cached": 0})
            for name in lookups
        }

    def stats(self) -> dict[str, Any]:
        """Per lookup: answers found, keys not found, keys fetched, answers served from the cache, requests."""
        out: dict[str, Any] = {}
        for name, lk in self.lookups.items():
            entry: dict[str, Any] = dict(self.counts[name])
            entry.update(lk.stats() or {})
            out[name] = entry
        return out

    def apply(self, chunk: Chunk, *, quiet: bool = False) -> None:
        """Give every record of ``chunk`` its answers; reject or skip those a policy says to.

        ``quiet`` (records an earlier run delivered, replayed only to learn their
        values) drops records without an answer without rejecting or counting them.
        """
        if not chunk.records:
            return
        on_columns = self._column_keys(chunk)
        if on_columns is None:
            _as_dicts(chunk)
        answers: list[dict[str, Any]] = [{} for _ in range(len(chunk.records))]
        drop: dict[int, str] = {}  # index -> "reject" or "skip"
        for name, lookup in self.lookups.items():
            if on_columns is not None:
                keys = on_columns[name]
            else:
                keys = [self._key(name, record, chunk, i) for i, record in enumerate(chunk.records)]
            resolved = self._resolve(name, lookup, keys)
            for i, key in enumerate(keys):
                if i in drop:
                    continue
                verdict = self._answer(name, lookup, chunk, i, key, resolved, answers[i], quiet)
                if verdict is not None:
                    drop[i] = verdict
        _attach(chunk, answers)
        skipped = sum(1 for v in drop.values() if v == "skip")
        if skipped and not quiet:
            self.outcomes.skipped_by_lookup(chunk.item, skipped)
        if drop:
            keep(chunk, [i for i in range(len(chunk.records)) if i not in drop])

    def _column_keys(self, chunk: Chunk) -> dict[str, list[Key | None]] | None:
        """Each lookup's key for every row of a chunk held as Arrow columns, or None when it is not one.

        A key part that is a column of the chunk (or one it lacks: missing) is
        read from the column, so the chunk stays columnar for the mapping.
        """
        records = chunk.records
        if not isinstance(records, ArrowRows) or chunk.columns is None or LOOKUP_KEY in chunk.columns:
            return None
        found: dict[str, list[Key | None]] = {}
        names = set(records.table.column_names)
        for name, keys in self.key_columns.items():
            if keys is None:
                return None
            parts: list[list[Any]] = []
            for key in keys:
                parts.append(records.table.column(key).to_pylist() if key in names else [None] * len(records))
            found[name] = [_key_of(values) for values in zip(*parts, strict=True)]
        return found

    # -- keys and answers -----------------------------------------------------------------

    def _key(self, name: str, record: Any, chunk: Chunk, i: int) -> Key | None:
        scope = Scope(root=record, context={}, file={}, row=chunk.positions[i])
        return _key_of([get(record, scope) for get in self.getters[name]])

    def _resolve(self, name: str, lookup: Lookup, keys: Sequence[Key | None]) -> _Resolved:
        resolved = _Resolved()
        cache, counts = self.caches[name], self.counts[name]
        wanted: list[Key] = []
        for key in dict.fromkeys(k for k in keys if k is not None):
            if key in cache:
                resolved.answers[key] = cache.get(key)
                counts["cached"] += 1
            else:
                wanted.append(key)
        for batch in _batches(wanted, lookup.batch_size):
            counts["fetched"] += len(batch)
            answered = batch
            try:
                got = lookup.fetch(batch)
            except PartialLookupError as exc:  # some keys failed: only their records are concerned
                if lookup.on_error == "fail":
                    raise
                got = exc.answers
                for key, message in exc.failed.items():
                    resolved.failed[key] = redactor.scrub(message)
                answered = [k for k in batch if k not in exc.failed]
            except EngineError as exc:
                if lookup.on_error == "fail" or isinstance(exc, AuthError):
                    raise
                message = redactor.scrub(str(exc))
                for key in batch:
                    resolved.failed[key] = message
                continue
            for key in answered:
                answer = got.get(key, MISSING)
                resolved.answers[key] = answer
                cache.put(key, answer)
        return resolved

    def _answer(
        self,
        name: str,
        lookup: Lookup,
        chunk: Chunk,
        i: int,
        key: Key | None,
        resolved: _Resolved,
        into: dict[str, Any],
        quiet: bool = False,
    ) -> str | None:
        """Put record ``i``'s answer in ``into``; ``"reject"``/``"skip"`` when the record must go."""
        counts = self.counts[name] if not quiet else collections.Counter()
        if key is not None and key in resolved.failed:
            if not quiet:
                failed = dict(zip(lookup.parts, key, strict=True))
                reason = f"lookup {name} failed for {_show(failed)}: {resolved.failed[key]}"
                self._reject(chunk, i, name, failed, reason, answer=None)
            return "reject"
        answer = MISSING if key is None else resolved.answers.get(key, MISSING)
        if answer is not MISSING:
            counts["found"] += 1
            into[name] = answer
            return None
        counts["not_found"] += 1
        if lookup.on_missing == "null":
            into[name] = None
            return None
        if lookup.on_missing == "skip" or quiet:
            return "skip"
        why = "the key is empty" if key is None else "no answer"
        shown = None if key is None else dict(zip(lookup.parts, key, strict=True))
        empty = shown or _empty_key(lookup, chunk.original(i), self.getters[name])
        reason = f"lookup {name}: {why} for {_show(empty)}"
        self._reject(chunk, i, name, shown, reason, answer=None)
        return "reject"

    def _reject(self, chunk: Chunk, i: int, name: str, key: Any, reason: str, *, answer: Any) -> None:
        self.outcomes.invalid(
            chunk.item,
            "lookup",
            chunk.lineage(i),
            [reason],
            chunk.original(i),
            errors=[{"lookup": name, "key": key, "answer": answer, "message": reason}],
        )


def _as_dicts(chunk: Chunk) -> None:
    """Row-form records become dicts, which the answers join under ``"$lookup"``."""
    if chunk.columns is not None:
        columns = chunk.columns
        chunk.records = [dict(zip(columns, row, strict=False)) for row in chunk.records]
        chunk.columns = None
        chunk.text = False


def _attach(chunk: Chunk, answers: list[dict[str, Any]]) -> None:
    """Put each record's answers under ``"$lookup"``: a column of a chunk of Arrow rows, else a key of each dict."""
    records = chunk.records
    if isinstance(records, ArrowRows) and chunk.columns is not None:
        chunk.records = records.with_extra(LOOKUP_KEY, answers)  # type: ignore[assignment]
        chunk.columns = (*chunk.columns, LOOKUP_KEY)
        chunk.text = False
        return
    for record, found in zip(records, answers, strict=True):
        if isinstance(record, dict):
            record[LOOKUP_KEY] = found


def _simple_keys(lookup: Lookup) -> list[str] | None:
    """The columns a lookup's key parts read, when each is one (None: a part reads into a value)."""
    keys = [parse_path(text).simple_key for text in lookup.parts.values()]
    return None if any(k is None for k in keys) else [k for k in keys if k is not None]


def _key_of(values: Sequence[Any]) -> Key | None:
    """A key from its parts' values; None when a part is missing or empty."""
    parts = []
    for value in values:
        if value is None or value == "":
            return None
        parts.append(value if isinstance(value, str) else _text(value))
    return tuple(parts)


def _batches(keys: list[Key], size: int) -> Iterator[list[Key]]:
    for start in range(0, len(keys), max(1, size)):
        yield keys[start : start + size]


def _text(value: Any) -> str:
    """A key part as text: numbers as written (1, 2.5), booleans lower-case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _show(key: dict[str, Any] | None) -> str:
    if not key:
        return "the record"
    return ", ".join(f"{part} {value!r}" for part, value in key.items())


def _empty_key(lookup: Lookup, record: Any, getters: list[Callable[[Any, Scope], Any]]) -> dict[str, Any]:
    scope = Scope(root=record, context={}, file={}, row=0)
    return {part: get(record, scope) for part, get in zip(lookup.parts, getters, strict=True)}
