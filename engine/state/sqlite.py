"""SQLite state store: embedded, zero set-up, safe for concurrent processes.

```yaml
state:
  store: {type: sqlite, path: .engine/state.db}
```

By default the database lives in ``.engine/state.db`` next to the spec (or
in ``$ENGINE_STATE_DIR``). WAL mode and ``BEGIN IMMEDIATE`` transactions make
lock acquisition and claims atomic across processes on one machine. Text
and JSON written here (errors, checkpoints, key-values, run history) are
scrubbed of secrets first.

A new database appears complete (built under a temporary name, then
linked into place), so an empty or foreign file where the database should
be is damage, never a fresh store: it is refused with
:class:`~engine.errors.CorruptStateError` until it is restored or set aside
(``engine state clear --force``). A run remembers which file it opened and
stops when that file is deleted or replaced under it (:meth:`verify`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from typing_extensions import override

from engine.contracts import Item, RunContext, StateStore
from engine.errors import CorruptStateError, StateError
from engine.jsonutil import dumps_safe
from engine.runtime.paths import state_dir
from engine.secrets import redactor
from engine.state._common import SETTLED, iso, now_utc, owner_is_dead

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "path": {"type": "string", "description": "database file; default .engine/state.db next to the spec"},
    },
}

DDL = """
CREATE TABLE IF NOT EXISTS ledger (
    connector TEXT NOT NULL, uri TEXT NOT NULL, name TEXT, size INTEGER, mtime TEXT, etag TEXT,
    checksum TEXT, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, first_seen TEXT NOT NULL,
    updated TEXT NOT NULL, next_retry TEXT, run_id TEXT, records INTEGER, error TEXT, moved_to TEXT,
    owner TEXT, claim_expires TEXT,
    PRIMARY KEY (connector, uri));
CREATE INDEX IF NOT EXISTS ledger_by_checksum ON ledger (connector, checksum);
CREATE INDEX IF NOT EXISTS ledger_by_updated ON ledger (connector, updated);
CREATE TABLE IF NOT EXISTS locks (
    connector TEXT PRIMARY KEY, owner TEXT NOT NULL, host TEXT, pid INTEGER,
    acquired TEXT NOT NULL, expires TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
    connector TEXT NOT NULL, uri TEXT NOT NULL, fingerprint TEXT NOT NULL, data TEXT NOT NULL,
    updated TEXT NOT NULL, PRIMARY KEY (connector, uri));
CREATE TABLE IF NOT EXISTS kv (
    connector TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires TEXT,
    PRIMARY KEY (connector, key));
CREATE TABLE IF NOT EXISTS stored (
    connector TEXT NOT NULL, namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    updated TEXT NOT NULL, expires TEXT, PRIMARY KEY (connector, namespace, key));
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, connector TEXT NOT NULL, started TEXT NOT NULL, ended TEXT, status TEXT,
    counts TEXT, report TEXT, owner TEXT);
CREATE INDEX IF NOT EXISTS runs_by_connector ON runs (connector, started);
CREATE TABLE IF NOT EXISTS spool (
    connector TEXT NOT NULL, id TEXT NOT NULL, meta TEXT NOT NULL, body BLOB NOT NULL,
    status TEXT NOT NULL, received TEXT NOT NULL, not_before TEXT NOT NULL, attempts INTEGER NOT NULL,
    owner TEXT, hold_expires TEXT, failure TEXT,
    PRIMARY KEY (connector, id));
"""

#: columns added after a table was first released: (table, column)
ADDED_COLUMNS = (("ledger", "owner"), ("ledger", "claim_expires"), ("runs", "owner"))
#: the first bytes of every SQLite 3 database file
MAGIC = b"SQLite format 3\x00"
#: SQLite's primary result codes for a damaged file or one that is not a database
SQLITE_CORRUPT, SQLITE_NOTADB = 11, 26
REPAIR_HINT = (
    "restore it from a backup, or run `engine state clear SPEC --force` to move it aside and start "
    "an empty store; files still waiting in the source are then processed again"
)


@dataclasses.dataclass
class SqliteOptions:
    """The validated ``sqlite`` store block; no ``path`` means ``state.db`` in the state directory."""

    path: str | None


class SqliteStateStore(StateStore):
    """The default state store: one SQLite file shared by every run and worker of a connector.

    Implements :class:`engine.contracts.StateStore`. Every method is one
    transaction; writes take the database lock up front (``BEGIN IMMEDIATE``)
    so read-then-write decisions such as claims are atomic across processes.
    SQLite failures surface as :class:`engine.errors.StateError`.
    """

    name = "sqlite"
    summary = "state in a local SQLite file (the default)"
    schema = SCHEMA
    Options = SqliteOptions

    def __init__(self, options: SqliteOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self.file: Path | None = None
        self._identity: tuple[int, int] | None = None

    # -- lifecycle ------------------------------------------------------------------

    @property
    def location(self) -> str:
        """The database file (once opened)."""
        return str(self.file) if self.file is not None else "sqlite"

    def locate(self, spec_dir: Path) -> Path:
        """The database file: ``path`` (relative to ``spec_dir``), else ``state.db`` in the state dir."""
        if self.options.path:
            p = Path(os.path.expanduser(self.options.path))
            return p if p.is_absolute() else spec_dir / p
        return state_dir(spec_dir) / "state.db"

    def open_at(self, file: Path) -> None:
        """Open (creating or upgrading) the database in ``file``; does nothing when already open.

        ``engine state`` uses it directly, without a run.

        Raises:
            CorruptStateError: ``file`` is empty, truncated or not a database.
            StateError: the file or its directory cannot be created or opened.
        """
        if self._db is not None:
            return
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            if not file.exists():
                _create(file)
            _check_header(file)
            db = sqlite3.connect(str(file), timeout=30, isolation_level=None, check_same_thread=False)
            try:
                _prepare(db)
            except BaseException:
                db.close()
                raise
            identity = _identity(file)
        except sqlite3.Error as exc:
            raise _state_error(file, " cannot be opened", exc) from None
        except OSError as exc:
            raise StateError(f"state store {file} cannot be opened: {exc.strerror or exc}") from None
        self._db = db
        self.file = file
        self._identity = identity

    @override
    def verify(self) -> None:
        """Check that the database file is still the one this store opened.

        A run calls it before it sends or publishes: when the state
        directory was deleted (or the file replaced) under a running run, a
        second run may already work from a new store, and going on would
        deliver the same files twice.

        Raises:
            StateError: the file is gone or is another file now.
        """
        if self.file is None or self._identity is None:
            return
        if _identity(self.file) != self._identity:
            raise StateError(
                f"state store {self.file} was deleted or replaced while this run was working",
                hint="the run stopped without publishing or committing anything more; another run may "
                "have started with a new, empty store: check its outputs before running again",
            )

    @override
    def set_aside(self, spec_dir: Path) -> str:
        return str(self._set_aside(self.locate(spec_dir)))

    def _set_aside(self, file: Path) -> Path:
        """Rename a damaged database (and its journal files) out of the way; returns where it went.

        The next :meth:`open_at` then starts an empty store. Nothing is deleted:
        the old file stays next to the new one for inspection or recovery.
        """
        self.close()
        stamp = now_utc().strftime("%Y%m%dT%H%M%SZ")
        aside = file.with_name(f"{file.name}.broken-{stamp}")
        try:
            os.replace(file, aside)
            for suffix in ("-wal", "-shm"):
                journal = file.with_name(file.name + suffix)
                if journal.exists():
                    os.replace(journal, aside.with_name(aside.name + suffix))
        except OSError as exc:
            raise StateError(f"state store {file} cannot be moved aside: {exc.strerror or exc}") from None
        return aside

    @override
    def open(self, run: RunContext) -> None:
        self.open_at(self.locate(Path(run.spec_dir)))

    @override
    def open_for(self, spec_dir: Path) -> None:
        self.open_at(self.locate(spec_dir))

    @override
    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
            self._identity = None
        super().close()

    @contextmanager
    def _tx(self, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        if self._db is None:
            raise StateError("state store is not open")
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
                yield db
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(db)
                raise _state_error(self.file, "", exc) from None
            except BaseException:
                _rollback(db)
                raise

    def _rows(self, sql: str, args: tuple = ()) -> list[dict[str, Any]]:
        with self._tx() as db:
            cur = db.execute(sql, args)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    # -- ledger ----------------------------------------------------------------------

    @override
    def ledger_get(self, connector: str, uri: str) -> dict[str, Any] | None:
        """One item's ledger row (status, attempts, fingerprint, next retry ...), or None if never seen."""
        rows = self._rows("SELECT * FROM ledger WHERE connector=? AND uri=?", (connector, uri))
        return rows[0] if rows else None

    @override
    def ledger_find_checksum(self, connector: str, checksum: str) -> dict[str, Any] | None:
        """The latest item delivered with these exact bytes (``dedupe: checksum``), or None."""
        rows = self._rows(
            "SELECT * FROM ledger WHERE connector=? AND checksum=? AND status IN ('done', 'unmoved') "
            "ORDER BY updated DESC LIMIT 1",
            (connector, checksum),
        )
        return rows[0] if rows else None

    @override
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
        """Record an item's outcome (``done``, ``failed``, ``partial`` ...) and its fingerprint.

        The row is created or updated. ``records``, ``moved_to`` and a known
        checksum are kept from earlier when not given now; ``attempt`` adds one
        to the attempt count; ``next_retry`` (None: no wait) tells later runs
        when a failed item may be tried again.
        """
        now = iso(now_utc())
        fp = item.fingerprint()
        with self._tx(immediate=True) as db:
            db.execute(
                """INSERT INTO ledger (connector, uri, name, size, mtime, etag, checksum, status, attempts,
                       first_seen, updated, next_retry, run_id, records, error, moved_to)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                   ON CONFLICT (connector, uri) DO UPDATE SET
                       name=excluded.name, size=excluded.size, mtime=excluded.mtime, etag=excluded.etag,
                       checksum=COALESCE(excluded.checksum, ledger.checksum), status=excluded.status,
                       attempts=ledger.attempts + excluded.attempts, updated=excluded.updated,
                       next_retry=excluded.next_retry, run_id=excluded.run_id,
                       records=COALESCE(excluded.records, ledger.records), error=excluded.error,
                       moved_to=COALESCE(excluded.moved_to, ledger.moved_to)""",
                (
                    connector,
                    item.uri,
                    item.name,
                    fp["size"],
                    fp["mtime"],
                    fp["etag"],
                    fp["checksum"],
                    status,
                    1 if attempt else 0,
                    now,
                    now,
                    iso(next_retry),
                    run_id,
                    records,
                    redactor.scrub(error) if error else error,
                    moved_to,
                ),
            )

    @override
    def ledger_claim(
        self, connector: str, item: Item, run_id: str, owner: str, ttl: float
    ) -> dict[str, Any] | None:
        """Claim ``item`` for this worker, or return the row that refuses it (a live claim, or settled by this run)."""
        now = now_utc()
        with self._tx(immediate=True) as db:
            row = db.execute(
                "SELECT status, owner, run_id, claim_expires FROM ledger WHERE connector=? AND uri=?",
                (connector, item.uri),
            ).fetchone()
            if row is not None:
                status, holder, settled_by, expires = row
                live = (
                    status == "claimed"
                    and holder
                    and holder != owner
                    and expires
                    and datetime.fromisoformat(expires) > now
                    and not owner_is_dead(holder)
                )
                if live or (status in SETTLED and settled_by == run_id):
                    return {"status": status, "owner": holder, "run_id": settled_by, "claim_expires": expires}
            fp = item.fingerprint()
            stamp = iso(now)
            db.execute(
                """INSERT INTO ledger (connector, uri, name, size, mtime, etag, checksum, status, attempts,
                       first_seen, updated, run_id, owner, claim_expires)
                   VALUES (?,?,?,?,?,?,?,'claimed',1,?,?,?,?,?)
                   ON CONFLICT (connector, uri) DO UPDATE SET
                       name=excluded.name, size=excluded.size, mtime=excluded.mtime, etag=excluded.etag,
                       checksum=COALESCE(excluded.checksum, ledger.checksum), status='claimed',
                       attempts=ledger.attempts + 1, updated=excluded.updated, run_id=excluded.run_id,
                       owner=excluded.owner, claim_expires=excluded.claim_expires, error=NULL""",
                (
                    connector,
                    item.uri,
                    item.name,
                    fp["size"],
                    fp["mtime"],
                    fp["etag"],
                    fp["checksum"],
                    stamp,
                    stamp,
                    run_id,
                    owner,
                    iso(now + timedelta(seconds=ttl)),
                ),
            )
        return None

    @override
    def ledger_renew(self, connector: str, owner: str, ttl: float) -> int:
        """Push the expiry of ``owner``'s open claims ``ttl`` seconds ahead; returns how many it holds."""
        with self._tx(immediate=True) as db:
            return db.execute(
                "UPDATE ledger SET claim_expires=? WHERE connector=? AND owner=? AND status='claimed'",
                (iso(now_utc() + timedelta(seconds=ttl)), connector, owner),
            ).rowcount

    @override
    def ledger_release(self, connector: str, owner: str) -> int:
        """Claims of ``owner`` still open at the end of its run: the files were not finished."""
        with self._tx(immediate=True) as db:
            return db.execute(
                """UPDATE ledger SET status='failed', error=COALESCE(error, 'the run ended before this file was '
                   || 'finished'), owner=NULL, claim_expires=NULL, updated=?
                   WHERE connector=? AND owner=? AND status='claimed'""",
                (iso(now_utc()), connector, owner),
            ).rowcount

    @override
    def ledger_list(self, connector: str, limit: int = 100) -> list[dict[str, Any]]:
        """The connector's ledger rows, most recently updated first, at most ``limit``."""
        return self._rows(
            "SELECT * FROM ledger WHERE connector=? ORDER BY updated DESC LIMIT ?", (connector, limit)
        )

    @override
    def ledger_forget(self, connector: str, uri: str | None = None) -> int:
        """Forget one item (all when ``uri`` is None) so it is processed again; returns rows deleted."""
        with self._tx(immediate=True) as db:
            if uri is None:
                return db.execute("DELETE FROM ledger WHERE connector=?", (connector,)).rowcount
            return db.execute("DELETE FROM ledger WHERE connector=? AND uri=?", (connector, uri)).rowcount

    @override
    def ledger_prune(self, connector: str, keep: int, window_seconds: float) -> int:
        """Bound the ledger's history; returns how many rows were deleted.

        Only ``done`` rows go: those last updated more than ``window_seconds``
        ago, and those outside the ``keep`` most recently updated rows.
        Failed and claimed items are never forgotten here.
        """
        cutoff = iso(now_utc() - timedelta(seconds=window_seconds))
        with self._tx(immediate=True) as db:
            n = db.execute(
                "DELETE FROM ledger WHERE connector=? AND updated < ? AND status='done'", (connector, cutoff)
            ).rowcount
            n += db.execute(
                """DELETE FROM ledger WHERE connector=? AND status='done' AND uri NOT IN (
                       SELECT uri FROM ledger WHERE connector=? ORDER BY updated DESC LIMIT ?)""",
                (connector, connector, keep),
            ).rowcount
            return n

    # -- locks -----------------------------------------------------------------------

    @override
    def lock_acquire(
        self, connector: str, owner: str, ttl: float, *, host: str = "", pid: int = 0
    ) -> dict[str, Any] | None:
        """Take the lock, or return the live holder. A lock past its expiry is taken over."""
        now = now_utc()
        with self._tx(immediate=True) as db:
            row = db.execute(
                "SELECT owner, host, pid, acquired, expires FROM locks WHERE connector=?", (connector,)
            ).fetchone()
            if (
                row is not None
                and row[0] != owner
                and datetime.fromisoformat(row[4]) > now
                and not owner_is_dead(row[0], row[1], row[2])
            ):
                return {"owner": row[0], "host": row[1], "pid": row[2], "acquired": row[3], "expires": row[4]}
            db.execute(
                """INSERT INTO locks (connector, owner, host, pid, acquired, expires) VALUES (?,?,?,?,?,?)
                   ON CONFLICT (connector) DO UPDATE SET owner=excluded.owner, host=excluded.host,
                   pid=excluded.pid, acquired=excluded.acquired, expires=excluded.expires""",
                (connector, owner, host, pid, iso(now), iso(now + timedelta(seconds=ttl))),
            )
        return None

    @override
    def lock_renew(self, connector: str, owner: str, ttl: float) -> bool:
        """Push the lock's expiry ``ttl`` seconds ahead; False when ``owner`` no longer holds it."""
        with self._tx(immediate=True) as db:
            n = db.execute(
                "UPDATE locks SET expires=? WHERE connector=? AND owner=?",
                (iso(now_utc() + timedelta(seconds=ttl)), connector, owner),
            ).rowcount
        return n == 1

    @override
    def lock_release(self, connector: str, owner: str) -> bool:
        """Give the lock up; False when ``owner`` did not hold it (taken over, or already released)."""
        with self._tx(immediate=True) as db:
            n = db.execute("DELETE FROM locks WHERE connector=? AND owner=?", (connector, owner)).rowcount
        return n == 1

    @override
    def lock_holder(self, connector: str) -> dict[str, Any] | None:
        """The lock row as stored, expired or not (for ``engine state``), or None when nobody holds it."""
        rows = self._rows("SELECT * FROM locks WHERE connector=?", (connector,))
        return rows[0] if rows else None

    # -- checkpoints -------------------------------------------------------------------

    @override
    def checkpoint_get(self, connector: str, uri: str) -> dict[str, Any] | None:
        """The saved progress inside a file: its data plus the ``fingerprint`` it was saved for, or None."""
        rows = self._rows(
            "SELECT fingerprint, data FROM checkpoints WHERE connector=? AND uri=?", (connector, uri)
        )
        if not rows:
            return None
        return {"fingerprint": json.loads(rows[0]["fingerprint"]), **json.loads(rows[0]["data"])}

    @override
    def checkpoint_set(
        self, connector: str, uri: str, fingerprint: dict[str, Any], data: dict[str, Any]
    ) -> None:
        """Save progress inside a file, replacing the previous one; both dicts must be JSON-serialisable."""
        with self._tx(immediate=True) as db:
            db.execute(
                """INSERT INTO checkpoints (connector, uri, fingerprint, data, updated) VALUES (?,?,?,?,?)
                   ON CONFLICT (connector, uri) DO UPDATE SET fingerprint=excluded.fingerprint,
                   data=excluded.data, updated=excluded.updated""",
                (
                    connector,
                    uri,
                    json.dumps(fingerprint, sort_keys=True),
                    json.dumps(redactor.scrub_obj(data)),
                    iso(now_utc()),
                ),
            )

    @override
    def checkpoint_clear(self, connector: str, uri: str | None = None) -> None:
        """Drop one file's checkpoint, or all of the connector's when ``uri`` is None."""
        with self._tx(immediate=True) as db:
            if uri is None:
                db.execute("DELETE FROM checkpoints WHERE connector=?", (connector,))
            else:
                db.execute("DELETE FROM checkpoints WHERE connector=? AND uri=?", (connector, uri))

    # -- key-values (job ids, watermarks) -----------------------------------------------

    @override
    def kv_get(self, connector: str, key: str) -> Any:
        """The JSON value stored under ``key``, or None when absent or expired."""
        rows = self._rows("SELECT value, expires FROM kv WHERE connector=? AND key=?", (connector, key))
        if not rows:
            return None
        expires = rows[0]["expires"]
        if expires and datetime.fromisoformat(expires) <= now_utc():
            return None
        return json.loads(rows[0]["value"])

    @override
    def kv_set(self, connector: str, key: str, value: Any, *, expires: datetime | None = None) -> None:
        """Store a JSON-serialisable ``value`` under ``key``; it reads as None after ``expires``."""
        with self._tx(immediate=True) as db:
            db.execute(
                """INSERT INTO kv (connector, key, value, expires) VALUES (?,?,?,?)
                   ON CONFLICT (connector, key) DO UPDATE SET value=excluded.value, expires=excluded.expires""",
                (connector, key, json.dumps(redactor.scrub_obj(value)), iso(expires)),
            )

    @override
    def kv_delete(self, connector: str, key: str) -> None:
        """Remove ``key``; harmless when it is absent."""
        with self._tx(immediate=True) as db:
            db.execute("DELETE FROM kv WHERE connector=? AND key=?", (connector, key))

    @override
    def kv_list(self, connector: str) -> dict[str, Any]:
        """Every key-value of the connector, expired ones included (for ``engine state``)."""
        return {
            r["key"]: json.loads(r["value"])
            for r in self._rows("SELECT key, value FROM kv WHERE connector=? ORDER BY key", (connector,))
        }

    # -- stored values in namespaces (changed-only fingerprints, state lookups) ---------

    @override
    def values_get(self, connector: str, namespace: str, keys: Sequence[str]) -> dict[str, Any]:
        now = iso(now_utc())
        out: dict[str, Any] = {}
        for start in range(0, len(keys), 500):  # SQLite's limit on parameters
            part = list(keys[start : start + 500])
            marks = ",".join("?" * len(part))
            rows = self._rows(
                f"SELECT key, value FROM stored WHERE connector=? AND namespace=? AND key IN ({marks}) "
                "AND (expires IS NULL OR expires > ?)",
                (connector, namespace, *part, now),
            )
            out.update((r["key"], json.loads(r["value"], parse_float=Decimal)) for r in rows)
        return out

    @override
    def values_set(
        self, connector: str, namespace: str, values: Mapping[str, Any], *, expires: datetime | None = None
    ) -> None:
        if not values:
            return
        now = iso(now_utc())
        rows = [
            (connector, namespace, key, dumps_safe(redactor.scrub_obj(value)), now, iso(expires))
            for key, value in values.items()
        ]
        with self._tx(immediate=True) as db:
            db.executemany(
                """INSERT INTO stored (connector, namespace, key, value, updated, expires) VALUES (?,?,?,?,?,?)
                   ON CONFLICT (connector, namespace, key) DO UPDATE SET value=excluded.value,
                   updated=excluded.updated, expires=excluded.expires""",
                rows,
            )

    @override
    def values_list(self, connector: str, namespace: str, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT key, value, updated, expires FROM stored WHERE connector=? AND namespace=? "
            "ORDER BY updated DESC, key LIMIT ?",
            (connector, namespace, limit),
        )
        for r in rows:
            r["value"] = json.loads(r["value"], parse_float=Decimal)
        return rows

    @override
    def values_clear(self, connector: str, namespace: str) -> int:
        with self._tx(immediate=True) as db:
            return db.execute(
                "DELETE FROM stored WHERE connector=? AND namespace=?", (connector, namespace)
            ).rowcount

    # -- run history -------------------------------------------------------------------

    @override
    def run_started(self, connector: str, run_id: str, started: datetime, owner: str | None = None) -> None:
        """Add a run to the history as ``running``; :meth:`run_ended` completes the row.

        ``owner`` (``host:pid:run_id``) lets :meth:`runs_mark_crashed` tell a
        run that still works from one whose process is gone.
        """
        with self._tx(immediate=True) as db:
            db.execute(
                "INSERT OR REPLACE INTO runs (run_id, connector, started, status, owner) VALUES (?,?,?,?,?)",
                (run_id, connector, iso(started), "running", owner),
            )

    @override
    def runs_mark_crashed(self, connector: str) -> int:
        """Mark ``running`` runs that cannot be running any more as ``crashed``; returns how many.

        A run is gone when its process on this machine no longer exists, or
        when the connector's lock is held by another owner or expired in its
        hands (a run holds the lock while it works). Runs on other machines
        without such evidence stay ``running``.
        """
        now = now_utc()
        with self._tx(immediate=True) as db:
            lock = db.execute("SELECT owner, expires FROM locks WHERE connector=?", (connector,)).fetchone()
            gone = []
            for run_id, owner in db.execute(
                "SELECT run_id, owner FROM runs WHERE connector=? AND status='running' AND owner IS NOT NULL",
                (connector,),
            ).fetchall():
                lock_elsewhere = lock is not None and lock[0] != owner
                lock_expired = (
                    lock is not None and lock[0] == owner and datetime.fromisoformat(lock[1]) <= now
                )
                if lock_elsewhere or lock_expired or owner_is_dead(owner):
                    gone.append(run_id)
            for run_id in gone:
                db.execute("UPDATE runs SET status='crashed' WHERE run_id=? AND status='running'", (run_id,))
        return len(gone)

    @override
    def run_ended(self, run_id: str, status: str, counts: dict[str, Any], report: str | None) -> None:
        """Close a run's history row with its status, record counts and the path of its report (if any)."""
        with self._tx(immediate=True) as db:
            db.execute(
                "UPDATE runs SET ended=?, status=?, counts=?, report=? WHERE run_id=?",
                (iso(now_utc()), status, json.dumps(redactor.scrub_obj(counts)), report, run_id),
            )

    @override
    def runs_list(self, connector: str, limit: int = 20) -> list[dict[str, Any]]:
        """The connector's latest runs, newest first, ``counts`` decoded (``{}`` for runs still going)."""
        rows = self._rows(
            "SELECT * FROM runs WHERE connector=? ORDER BY started DESC LIMIT ?", (connector, limit)
        )
        for r in rows:
            r["counts"] = json.loads(r["counts"]) if r.get("counts") else {}
        return rows

    # -- everything ----------------------------------------------------------------------

    @override
    def clear(self, connector: str) -> dict[str, int]:
        """Forget everything about a connector but its run history; returns the rows deleted per table."""
        out = {}
        with self._tx(immediate=True) as db:
            for table in ("ledger", "checkpoints", "kv", "locks", "stored"):
                out[table] = db.execute(f"DELETE FROM {table} WHERE connector=?", (connector,)).rowcount
        return out

    # -- spooled request bodies ---------------------------------------------------------------

    @override
    def spool_put(self, connector: str, payload_id: str, meta: dict[str, Any], body: bytes) -> None:
        """Keep a body as pending (synced to disk when the transaction commits)."""
        stamp = iso(now_utc())
        with self._tx(immediate=True) as db:
            db.execute(
                """INSERT INTO spool (connector, id, meta, body, status, received, not_before, attempts)
                   VALUES (?,?,?,?, 'pending', ?, ?, 0)""",
                (connector, payload_id, json.dumps(meta), body, stamp, stamp),
            )

    @override
    def spool_take(self, connector: str, owner: str, ttl: float) -> dict[str, Any] | None:
        """Hold the oldest due body that nobody alive holds; None when nothing waits."""
        now = now_utc()
        with self._tx(immediate=True) as db:
            for payload_id, holder, expires in db.execute(
                """SELECT id, owner, hold_expires FROM spool WHERE connector=? AND status='pending'
                   AND not_before <= ? ORDER BY received, id""",
                (connector, iso(now)),
            ).fetchall():
                held = holder and expires and datetime.fromisoformat(expires) > now
                if held and holder != owner and not owner_is_dead(holder):
                    continue
                db.execute(
                    "UPDATE spool SET owner=?, hold_expires=? WHERE connector=? AND id=?",
                    (owner, iso(now + timedelta(seconds=ttl)), connector, payload_id),
                )
                meta, body, attempts = db.execute(
                    "SELECT meta, body, attempts FROM spool WHERE connector=? AND id=?",
                    (connector, payload_id),
                ).fetchone()
                return {"id": payload_id, "meta": json.loads(meta), "body": bytes(body), "attempts": attempts}
        return None

    @override
    def spool_hold(self, connector: str, payload_id: str, owner: str, ttl: float) -> bool:
        """Extend ``owner``'s hold on a body; False when another owner took it over (or it is gone)."""
        with self._tx(immediate=True) as db:
            return (
                db.execute(
                    "UPDATE spool SET hold_expires=? WHERE connector=? AND id=? AND owner=? AND status='pending'",
                    (iso(now_utc() + timedelta(seconds=ttl)), connector, payload_id, owner),
                ).rowcount
                == 1
            )

    @override
    def spool_release(
        self, connector: str, payload_id: str, owner: str, delay: float, *, attempt: bool = True
    ) -> None:
        """Give a held body back, to be tried again ``delay`` seconds from now by any instance."""
        with self._tx(immediate=True) as db:
            db.execute(
                """UPDATE spool SET owner=NULL, hold_expires=NULL, attempts=attempts + ?, not_before=?
                   WHERE connector=? AND id=? AND owner=?""",
                (int(attempt), iso(now_utc() + timedelta(seconds=delay)), connector, payload_id, owner),
            )

    @override
    def spool_settle(self, connector: str, payload_id: str, failure: dict[str, Any] | None = None) -> None:
        """Forget a body whose run succeeded, or keep it as failed with the reason."""
        with self._tx(immediate=True) as db:
            if failure is None:
                db.execute("DELETE FROM spool WHERE connector=? AND id=?", (connector, payload_id))
            else:
                db.execute(
                    """UPDATE spool SET status='failed', owner=NULL, hold_expires=NULL, failure=?
                       WHERE connector=? AND id=?""",
                    (json.dumps(redactor.scrub_obj(failure), default=str), connector, payload_id),
                )

    @override
    def spool_counts(self, connector: str) -> dict[str, int]:
        """How many bodies are pending and failed."""
        rows = self._rows(
            "SELECT status, COUNT(*) AS n FROM spool WHERE connector=? GROUP BY status", (connector,)
        )
        counts = {"pending": 0, "failed": 0}
        counts.update({r["status"]: r["n"] for r in rows})
        return counts


def _create(file: Path) -> None:
    """Build a new database under a temporary name, then link it into place.

    The file appears with its schema or not at all, so an empty ``state.db``
    is never a store being created by another process: it is damage. A
    process that loses the race keeps the other's file.
    """
    tmp = file.with_name(f".{file.name}.{os.getpid()}-{secrets.token_hex(4)}.new")
    try:
        db = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            _prepare(db)
        finally:
            db.close()
        try:
            os.link(tmp, file)
        except FileExistsError:
            pass
        except OSError:  # a filesystem without hard links
            if not file.exists():
                os.replace(tmp, file)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _prepare(db: sqlite3.Connection) -> None:
    """Journal mode, timeouts, the schema and columns added since (idempotent)."""
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=30000")
    db.executescript(DDL)
    for table, column in ADDED_COLUMNS:
        if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")


def _check_header(file: Path) -> None:
    """Refuse a file that cannot be this store: empty, or not starting like an SQLite database."""
    with open(file, "rb") as f:
        head = f.read(len(MAGIC))
    if not head:
        raise CorruptStateError(
            f"state store {file} is empty (0 bytes): it was truncated or replaced, and running on it "
            "would process finished files again",
            hint=REPAIR_HINT,
        )
    if head != MAGIC:
        raise CorruptStateError(f"state store {file} is not an SQLite database", hint=REPAIR_HINT)


def _identity(file: Path) -> tuple[int, int] | None:
    """The file's device and inode, or None when it is gone."""
    try:
        st = os.stat(file)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _state_error(file: Path | None, what: str, exc: sqlite3.Error) -> StateError:
    """A :class:`StateError` for an SQLite failure; a damaged file is a :class:`CorruptStateError`.

    Decided by SQLite's result code (``SQLITE_CORRUPT``, ``SQLITE_NOTADB``), not by its message.
    """
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return CorruptStateError(f"state store {file} is damaged: {exc}", hint=REPAIR_HINT)
    return StateError(f"state store {file}{what}: {exc}")


def _rollback(db: sqlite3.Connection) -> None:
    """Roll back when a transaction is open (a failed BEGIN leaves none)."""
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
