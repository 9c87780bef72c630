"""Chunk surgery for the runner (resume, --limit) and a calmer garbage collector."""

from __future__ import annotations

import bisect
import contextlib
import gc
from collections.abc import Iterator

from engine.contracts import ArrowRows, Chunk


@contextlib.contextmanager
def quiet_gc() -> Iterator[None]:
    """Fewer cyclic garbage collections while records stream.

    Records are freed by reference counting; the collector's full passes
    over every long-lived object (modules, schemas, compiled mappings) are
    pure overhead in the hot loop. Objects alive at the start are frozen out
    of collection and young-generation passes run less often.
    """
    old = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def drop_delivered(chunk: Chunk, position: int) -> bool:
    """Drop records at or before ``position`` (already delivered); False if nothing is left."""
    cut = bisect.bisect_right(chunk.positions, position)
    if cut:
        chunk.records = chunk.records[cut:]
        chunk.positions = chunk.positions[cut:]
        if chunk.lines is not None:
            chunk.lines = chunk.lines[cut:]
        if chunk.locators is not None:
            chunk.locators = chunk.locators[cut:]
    if chunk.rejects:
        chunk.rejects = [r for r in chunk.rejects if r.position > position] or None
    return bool(chunk.records or chunk.rejects)


def delivered_part(chunk: Chunk, position: int) -> Chunk | None:
    """A copy of the records at or before ``position`` (delivered by an earlier run), or None."""
    cut = bisect.bisect_right(chunk.positions, position)
    if not cut:
        return None
    return Chunk(
        chunk.item,
        chunk.records[:cut],
        chunk.positions[:cut],
        chunk.columns,
        chunk.lines[:cut] if chunk.lines is not None else None,
        chunk.locators[:cut] if chunk.locators is not None else None,
        text=chunk.text,
    )


def truncate(chunk: Chunk, n: int) -> None:
    """Keep only the first ``n`` records of ``chunk`` (``--limit``), in place."""
    chunk.records = chunk.records[:n]
    chunk.positions = chunk.positions[:n]
    if chunk.lines is not None:
        chunk.lines = chunk.lines[:n]
    if chunk.locators is not None:
        chunk.locators = chunk.locators[:n]
    if chunk.rejects:
        last = chunk.positions[-1] if chunk.positions else 0
        chunk.rejects = [r for r in chunk.rejects if r.position <= last]


def keep(chunk: Chunk, indexes: list[int]) -> None:
    """Keep only the records at ``indexes`` (in order), with their positions, lines and locators."""
    records = chunk.records
    chunk.records = records.take(indexes) if isinstance(records, ArrowRows) else [records[i] for i in indexes]  # type: ignore[assignment]
    chunk.positions = [chunk.positions[i] for i in indexes]
    if chunk.lines is not None:
        chunk.lines = [chunk.lines[i] for i in indexes]
    if chunk.locators is not None:
        chunk.locators = [chunk.locators[i] for i in indexes]
