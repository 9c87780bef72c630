"""Ledger decisions: is a file already done, when may a failed one be retried.

A file delivered but not moved (its ``on_success`` move failed) is
``unmoved``: it counts as delivered under every ``dedupe`` policy while it
is unchanged, so it is never sent twice, and later runs only retry its move.

Also the end-of-run housekeeping (released claims, bounded history).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.contracts import Item, Source
from engine.errors import DataError, StateError
from engine.plan import HistoryPolicy, RetryPolicy

#: the ledger status of a file delivered whose ``on_success`` move failed
UNMOVED = "unmoved"


def already_done(run: Any, source: Source, item: Item, dedupe: str) -> str | None:
    """Why ``item`` is skipped, or None to process it."""
    if dedupe == "none":
        return None
    store = run.state
    if dedupe == "checksum":
        try:
            item.checksum = checksum(source, item)
        except DataError:  # unreadable by policy (a link leading outside): it fails as a file, not the run
            return None
        entry = store.ledger_find_checksum(run.connector, item.checksum)
        if entry:
            return f"same content as {entry['name']} processed by run {entry['run_id']}"
        return None
    entry = store.ledger_get(run.connector, item.uri)
    waiting = entry and entry["status"] == "failed" and entry.get("next_retry")
    if waiting and datetime.fromisoformat(entry["next_retry"]) > datetime.now(UTC):
        return (
            f"failed {entry['attempts']} time(s); next attempt after {entry['next_retry']} "
            f"(`engine state retry SPEC {item.name}` to retry now)"
        )
    if not entry or entry["status"] not in ("done", UNMOVED):
        return None
    if dedupe == "name":
        return f"processed by run {entry['run_id']}"
    return f"unchanged since run {entry['run_id']}" if unchanged(entry, item) else None


def unmoved(run: Any, item: Item) -> dict[str, Any] | None:
    """The ledger entry of ``item`` when it was delivered but not moved and is unchanged since, else None.

    Such a file is never delivered again, whatever ``dedupe`` says: the run
    only tries its move again.
    """
    entry: dict[str, Any] | None = run.state.ledger_get(run.connector, item.uri)
    if entry and entry["status"] == UNMOVED and unchanged(entry, item):
        return entry
    return None


def unchanged(entry: dict[str, Any], item: Item) -> bool:
    """Whether ``item`` has the size and etag (or modification time) the ledger recorded."""
    fp = item.fingerprint()
    return bool(
        entry["size"] == fp["size"]
        and (
            (fp["etag"] is not None and entry["etag"] == fp["etag"])
            or (fp["etag"] is None and entry["mtime"] == fp["mtime"])
        )
    )


def checksum(source: Source, item: Item) -> str:
    """SHA-256 of the item's bytes (one extra read; what ``dedupe: checksum`` costs)."""
    digest = hashlib.sha256()
    stream = source.read(item)
    try:
        while True:
            block = stream.read(1 << 20)
            if not block:
                break
            digest.update(block)
    finally:
        stream.close()
    return digest.hexdigest()


def next_retry(attempts: int, retry: RetryPolicy) -> datetime:
    """A first failure is retried by the next run (a blip); repeated failures back off exponentially."""
    wait = 0.0 if attempts <= 1 else retry.backoff * (2 ** (attempts - 2))
    return datetime.now(UTC) + timedelta(seconds=wait)


def release_claims(run: Any) -> None:
    """Files this run claimed but did not finish become eligible again (serve reuses the process)."""
    try:
        released = run.state.ledger_release(run.connector, run.owner)
    except StateError as exc:
        run.log.warning("releasing claims failed", error=str(exc))
        return
    if released:
        run.log.info("unfinished files released for the next run", files=released)


def prune(run: Any, history: HistoryPolicy) -> None:
    """Keep the ledger bounded (``state.history``: at most ``keep`` entries, none older than ``window``)."""
    try:
        run.state.ledger_prune(run.connector, history.keep, history.window)
    except StateError as exc:
        run.log.warning("pruning the ledger failed", error=str(exc))
