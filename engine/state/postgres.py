"""PostgreSQL state store: one database every host reaches, for workers and servers on several machines.

```yaml
state:
  store: {type: postgres, dsn: "${env:ENGINE_STATE_DSN}"}
```

The same ledger, claims, locks, checkpoints, stored values, run history and
spooled webhook bodies as the SQLite store, in tables of one PostgreSQL
schema (``engine`` unless ``schema`` says otherwise) that the engine creates
and migrates itself (a ``schema_version`` table says how far). Every method
is one transaction; claims and locks lock the row they decide on (``SELECT
... FOR UPDATE``), and leases are compared with the database's clock, so hosts
whose clocks differ still agree on who holds what.

``dsn`` is a libpq connection string (``host=db dbname=engine user=engine``)
or URL (``postgresql://engine@db/engine``). Give it as a reference
(``${env:ENGINE_STATE_DSN}``) when it holds a password: the password is
redacted from every message either way. Each process keeps a small pool of
connections (``pool_size``). Needs ``pip install 'engine[postgres]'``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import secrets
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from typing_extensions import override

from engine.contracts import Item, RunContext, StateStore
from engine.errors import ConfigError, CorruptStateError, StateError
from engine.jsonutil import dumps_safe
from engine.secrets import redactor, reveal
from engine.state import _pg_schema
from engine.state._common import SETTLED, iso, now_utc, owner_is_dead
from engine.units import duration

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["dsn"],
    "properties": {
        "dsn": {
            "type": "string",
            "minLength": 1,
            "description": "libpq connection string or postgresql:// URL; use ${env:NAME} when it holds a password",
        },
        "schema": {
            "type": "string",
            "pattern": "^[a-z_][a-z0-9_]{0,62}$",
            "default": "engine",
            "description": "PostgreSQL schema holding the engine's tables (created when missing)",
            "x-error": "{value!r} is not a schema name: lower-case letters, digits and '_' (up to 63)",
        },
        "pool_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": 64,
            "default": 4,
            "description": "connections each process keeps open to the database at most",
        },
        "connect_timeout": duration("how long to wait for the database when connecting", default="10s"),
    },
}

#: ledger columns a claim or listing returns
_LEDGER = (
    "connector, uri, name, size, mtime, etag, checksum, status, attempts, first_seen, updated, next_retry, "
    "run_id, records, error, moved_to, owner, claim_expires"
)


@dataclasses.dataclass
class PostgresOptions:
    """The validated ``postgres`` store block; ``connect_timeout`` in seconds."""

    dsn: Any
    schema: str
    pool_size: int
    connect_timeout: float


class PostgresStateStore(StateStore):
    """State in a PostgreSQL database shared by every host, worker and ``engine serve`` instance.

    Implements :class:`engine.contracts.StateStore`; PostgreSQL failures
    surface as :class:`engine.errors.StateError` naming the database (never
    its password).
    """

    name = "postgres"
    summary = "state in a PostgreSQL database every host reaches"
    schema = SCHEMA
    Options = PostgresOptions
    shared = True

    def __init__(self, options: PostgresOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self._pool: Any = None
        self._store_id: str | None = None
        self._t = f'"{options.schema}"'
        self.where = "postgres"

    @property
    def location(self) -> str:
        """``postgres://user@host:port/db (schema engine)``: the database, never its password."""
        return self.where

    def warnings(self) -> list[tuple[tuple[str | int, ...], str]]:
        """A password written into the spec's ``dsn`` (it belongs in ``${env:...}``)."""
        if isinstance(self.options.dsn, str) and _password(self.options.dsn):
            return [(("dsn",), "holds a password written in the spec: use ${env:ENGINE_STATE_DSN} instead")]
        return []

    # -- lifecycle ------------------------------------------------------------------

    @override
    def open(self, run: RunContext) -> None:
        self.open_for(Path(run.spec_dir))

    @override
    def open_for(self, spec_dir: Path) -> None:
        """Connect, create or migrate the schema, and start the pool; harmless when already open.

        Raises:
            ConfigError: psycopg is not installed.
            CorruptStateError: the schema holds tables that are not a store.
            StateError: the database cannot be reached, or was made by a newer engine.
        """
        if self._pool is not None:
            return
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise ConfigError(
                "the postgres state store needs psycopg: pip install 'engine[postgres]'"
            ) from None
        dsn = str(reveal(self.options.dsn))
        password = _password(dsn)
        if password:
            redactor.add(password)
        self.where = _describe(dsn, self.options.schema)
        timeout = max(1, round(self.options.connect_timeout))
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=timeout) as conn:
                self._store_id = self._migrate(conn)
            pool = ConnectionPool(
                dsn,
                min_size=1,
                max_size=self.options.pool_size,
                kwargs={"autocommit": True, "connect_timeout": timeout},
                timeout=self.options.connect_timeout,
                check=ConnectionPool.check_connection,
                name=f"engine-state:{self.options.schema}",
                open=False,
            )
            pool.open(wait=True, timeout=self.options.connect_timeout)
        except psycopg.Error as exc:
            raise self._error(exc, "cannot be opened") from None
        self._pool = pool

    def _migrate(self, conn: Any) -> str:
        """Create or upgrade the schema (once, whoever else starts now); returns the store's id."""
        t = self._t
        with conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"engine-state:{self.options.schema}",)
            )
            exists = conn.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname=%s", (self.options.schema,)
            ).fetchone()
            if exists is None:  # creating needs CREATE on the database; a role given its schema does not
                conn.execute(f"CREATE SCHEMA {t}")
            tables = {
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema=%s",
                    (self.options.schema,),
                ).fetchall()
            }
            if tables and "schema_version" not in tables:
                raise CorruptStateError(
                    f"state store {self.where}: the schema holds tables that are not an engine state store "
                    f"({', '.join(sorted(tables)[:5])})",
                    hint="point state.store.schema at a schema of its own",
                )
            conn.execute(_pg_schema.VERSION_TABLE.format(schema=t))
            row = conn.execute(f"SELECT max(version) FROM {t}.schema_version").fetchone()
            current = row[0] or 0
            if current > _pg_schema.LATEST:
                raise StateError(
                    f"state store {self.where} was made by a newer engine (schema version {current}, this "
                    f"engine knows up to {_pg_schema.LATEST})",
                    hint="upgrade the engine on this host: every host sharing a store runs the same release",
                )
            for version, statements in _pg_schema.MIGRATIONS:
                if version > current:
                    conn.execute(statements.format(schema=t))
                    conn.execute(f"INSERT INTO {t}.schema_version (version) VALUES (%s)", (version,))
            if current == 0:
                conn.execute(f"INSERT INTO {t}.store (store_id) VALUES (%s)", (secrets.token_hex(8),))
            found = conn.execute(f"SELECT store_id FROM {t}.store").fetchone()
        if found is None:
            raise CorruptStateError(f"state store {self.where} lost its identity row (table store is empty)")
        return str(found[0])

    @override
    def verify(self) -> None:
        """Check that the schema is still the one this store opened (not dropped and made anew).

        Raises:
            StateError: the schema was dropped or replaced, or the database cannot be reached.
        """
        if self._pool is None or self._store_id is None:
            return
        try:
            rows = self._rows(f"SELECT store_id FROM {self._t}.store")
        except StateError as exc:
            raise StateError(
                f"{exc.message} while this run was working",
                hint="the run stopped without publishing or committing anything more",
            ) from None
        if not rows or rows[0]["store_id"] != self._store_id:
            raise StateError(
                f"state store {self.where} was dropped or replaced while this run was working",
                hint="the run stopped without publishing or committing anything more; another run may "
                "have started with a new, empty store: check its outputs before running again",
            )

    @override
    def set_aside(self, spec_dir: Path) -> str:
        """Rename a damaged schema out of the way (nothing is deleted); returns its new name."""
        import psycopg

        self.close()
        aside = f"{self.options.schema}_broken_{now_utc().strftime('%Y%m%d%H%M%S')}"
        dsn = str(reveal(self.options.dsn))
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
                conn.execute(f'ALTER SCHEMA {self._t} RENAME TO "{aside}"')
        except psycopg.Error as exc:
            raise self._error(exc, "cannot be moved aside") from None
        self._closed = False
        return f"{self.where.rsplit(' (schema', 1)[0]} (schema {aside})"

    @override
    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
        self._store_id = None
        super().close()

    # -- transactions ------------------------------------------------------------------

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Any]:
        """A cursor inside one transaction on a pooled connection; PostgreSQL errors become StateError."""
        import psycopg

        if self._pool is None:
            raise StateError("state store is not open")
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                yield cur
        except psycopg.Error as exc:
            raise self._error(exc, "") from None

    def _rows(self, query: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._tx() as cur:
            cur.execute(query, args)
            return _dicts(cur)

    def _error(self, exc: Exception, what: str) -> StateError:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = f"state store {self.where}" + (f" {what}" if what else "")
        return StateError(redactor.scrub(f"{where}: {message}"))

    # -- ledger ----------------------------------------------------------------------

    @override
    def ledger_get(self, connector: str, uri: str) -> dict[str, Any] | None:
        """One item's ledger row, or None if never seen."""
        rows = self._rows(
            f"SELECT {_LEDGER} FROM {self._t}.ledger WHERE connector=%s AND uri=%s", (connector, uri)
        )
        return rows[0] if rows else None

    @override
    def ledger_find_checksum(self, connector: str, checksum: str) -> dict[str, Any] | None:
        """The latest item delivered with these exact bytes, or None."""
        rows = self._rows(
            f"""SELECT {_LEDGER} FROM {self._t}.ledger WHERE connector=%s AND checksum=%s
                AND status IN ('done', 'unmoved') ORDER BY updated DESC LIMIT 1""",
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
        """Record an item's outcome and fingerprint (see :meth:`StateStore.ledger_mark`)."""
        fp = item.fingerprint()
        with self._tx() as cur:
            cur.execute(
                f"""INSERT INTO {self._t}.ledger AS l (connector, uri, name, size, mtime, etag, checksum, status,
                       attempts, first_seen, updated, next_retry, run_id, records, error, moved_to)
                   VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s, now(), now(), %s,%s,%s,%s,%s)
                   ON CONFLICT (connector, uri) DO UPDATE SET
                       name=excluded.name, size=excluded.size, mtime=excluded.mtime, etag=excluded.etag,
                       checksum=COALESCE(excluded.checksum, l.checksum), status=excluded.status,
                       attempts=l.attempts + excluded.attempts, updated=excluded.updated,
                       next_retry=excluded.next_retry, run_id=excluded.run_id,
                       records=COALESCE(excluded.records, l.records), error=excluded.error,
                       moved_to=COALESCE(excluded.moved_to, l.moved_to)""",
                (
                    connector,
                    item.uri,
                    _text(item.name),
                    fp["size"],
                    fp["mtime"],
                    fp["etag"],
                    fp["checksum"],
                    status,
                    1 if attempt else 0,
                    next_retry,
                    run_id,
                    records,
                    _text(redactor.scrub(error)) if error else error,
                    _text(moved_to),
                ),
            )

    @override
    def ledger_claim(
        self, connector: str, item: Item, run_id: str, owner: str, ttl: float
    ) -> dict[str, Any] | None:
        """Claim ``item``, or return the row that refuses it (a live claim, or settled by this run)."""
        fp = item.fingerprint()
        values = (
            connector,
            item.uri,
            _text(item.name),
            fp["size"],
            fp["mtime"],
            fp["etag"],
            fp["checksum"],
            run_id,
            owner,
            ttl,
        )
        t = self._t
        with self._tx() as cur:
            cur.execute(
                f"""INSERT INTO {t}.ledger (connector, uri, name, size, mtime, etag, checksum, status, attempts,
                       first_seen, updated, run_id, owner, claim_expires)
                   VALUES (%s,%s,%s,%s,%s,%s,%s,'claimed',1, now(), now(), %s,%s,
                           clock_timestamp() + %s * interval '1 second')
                   ON CONFLICT (connector, uri) DO NOTHING RETURNING 1""",
                values,
            )
            if cur.fetchone() is not None:
                return None
            cur.execute(
                f"""SELECT status, owner, run_id, claim_expires, claim_expires > clock_timestamp() AS live
                    FROM {t}.ledger WHERE connector=%s AND uri=%s FOR UPDATE""",
                (connector, item.uri),
            )
            row = _dicts(cur)[0]
            live = row.pop("live")
            holder = row["owner"]
            claimed_by_other = row["status"] == "claimed" and holder and holder != owner
            if (claimed_by_other and live and not owner_is_dead(holder)) or (
                row["status"] in SETTLED and row["run_id"] == run_id
            ):
                return row
            cur.execute(
                f"""UPDATE {t}.ledger l SET name=%s, size=%s, mtime=%s, etag=%s,
                       checksum=COALESCE(%s, l.checksum), status='claimed', attempts=l.attempts + 1,
                       updated=now(), run_id=%s, owner=%s,
                       claim_expires=clock_timestamp() + %s * interval '1 second', error=NULL
                   WHERE connector=%s AND uri=%s""",
                (*values[2:], connector, item.uri),
            )
        return None

    @override
    def ledger_renew(self, connector: str, owner: str, ttl: float) -> int:
        """Push the expiry of ``owner``'s open claims ``ttl`` seconds ahead; returns how many it holds."""
        with self._tx() as cur:
            cur.execute(
                f"""UPDATE {self._t}.ledger SET claim_expires=clock_timestamp() + %s * interval '1 second'
                    WHERE connector=%s AND owner=%s AND status='claimed'""",
                (ttl, connector, owner),
            )
            return int(cur.rowcount)

    @override
    def ledger_release(self, connector: str, owner: str) -> int:
        """Claims of ``owner`` still open at the end of its run: the files were not finished."""
        with self._tx() as cur:
            cur.execute(
                f"""UPDATE {self._t}.ledger SET status='failed',
                       error=COALESCE(error, 'the run ended before this file was finished'),
                       owner=NULL, claim_expires=NULL, updated=now()
                   WHERE connector=%s AND owner=%s AND status='claimed'""",
                (connector, owner),
            )
            return int(cur.rowcount)

    @override
    def ledger_list(self, connector: str, limit: int = 100) -> list[dict[str, Any]]:
        """The connector's ledger rows, most recently updated first, at most ``limit``."""
        return self._rows(
            f"SELECT {_LEDGER} FROM {self._t}.ledger WHERE connector=%s ORDER BY updated DESC, uri LIMIT %s",
            (connector, limit),
        )

    @override
    def ledger_forget(self, connector: str, uri: str | None = None) -> int:
        """Forget one item (all when ``uri`` is None); returns rows deleted."""
        with self._tx() as cur:
            if uri is None:
                cur.execute(f"DELETE FROM {self._t}.ledger WHERE connector=%s", (connector,))
            else:
                cur.execute(f"DELETE FROM {self._t}.ledger WHERE connector=%s AND uri=%s", (connector, uri))
            return int(cur.rowcount)

    @override
    def ledger_prune(self, connector: str, keep: int, window_seconds: float) -> int:
        """Forget ``done`` rows older than the window or beyond the ``keep`` newest; returns how many."""
        t = self._t
        with self._tx() as cur:
            cur.execute(
                f"""DELETE FROM {t}.ledger WHERE connector=%s AND status='done'
                    AND updated < now() - %s * interval '1 second'""",
                (connector, window_seconds),
            )
            n = int(cur.rowcount)
            cur.execute(
                f"""DELETE FROM {t}.ledger WHERE connector=%s AND status='done' AND uri NOT IN (
                       SELECT uri FROM {t}.ledger WHERE connector=%s ORDER BY updated DESC LIMIT %s)""",
                (connector, connector, keep),
            )
            return n + int(cur.rowcount)

    # -- locks -----------------------------------------------------------------------

    @override
    def lock_acquire(
        self, connector: str, owner: str, ttl: float, *, host: str = "", pid: int = 0
    ) -> dict[str, Any] | None:
        """Take the lock, or return the live holder. A lock past its expiry, or of a dead owner, is taken over."""
        t = self._t
        with self._tx() as cur:
            cur.execute(
                f"""INSERT INTO {t}.locks (connector, owner, host, pid, acquired, expires)
                    VALUES (%s,%s,%s,%s, clock_timestamp(), clock_timestamp() + %s * interval '1 second')
                    ON CONFLICT (connector) DO NOTHING RETURNING 1""",
                (connector, owner, host, pid, ttl),
            )
            if cur.fetchone() is not None:
                return None
            cur.execute(
                f"""SELECT owner, host, pid, acquired, expires, expires > clock_timestamp() AS live
                    FROM {t}.locks WHERE connector=%s FOR UPDATE""",
                (connector,),
            )
            row = _dicts(cur)[0]
            live = row.pop("live")
            if row["owner"] != owner and live and not owner_is_dead(row["owner"], row["host"], row["pid"]):
                return row
            cur.execute(
                f"""UPDATE {t}.locks SET owner=%s, host=%s, pid=%s, acquired=clock_timestamp(),
                       expires=clock_timestamp() + %s * interval '1 second' WHERE connector=%s""",
                (owner, host, pid, ttl, connector),
            )
        return None

    @override
    def lock_renew(self, connector: str, owner: str, ttl: float) -> bool:
        """Push the lock's expiry ``ttl`` seconds ahead; False when ``owner`` no longer holds it."""
        with self._tx() as cur:
            cur.execute(
                f"""UPDATE {self._t}.locks SET expires=clock_timestamp() + %s * interval '1 second'
                    WHERE connector=%s AND owner=%s""",
                (ttl, connector, owner),
            )
            return cur.rowcount == 1

    @override
    def lock_release(self, connector: str, owner: str) -> bool:
        """Give the lock up; False when ``owner`` did not hold it."""
        with self._tx() as cur:
            cur.execute(f"DELETE FROM {self._t}.locks WHERE connector=%s AND owner=%s", (connector, owner))
            return cur.rowcount == 1

    @override
    def lock_holder(self, connector: str) -> dict[str, Any] | None:
        """The lock as stored, expired or not, or None when nobody holds it."""
        rows = self._rows(f"SELECT * FROM {self._t}.locks WHERE connector=%s", (connector,))
        return rows[0] if rows else None

    # -- checkpoints -------------------------------------------------------------------

    @override
    def checkpoint_get(self, connector: str, uri: str) -> dict[str, Any] | None:
        """The saved progress inside an item plus the ``fingerprint`` it was saved for, or None."""
        rows = self._rows(
            f"SELECT fingerprint, data FROM {self._t}.checkpoints WHERE connector=%s AND uri=%s",
            (connector, uri),
        )
        if not rows:
            return None
        return {"fingerprint": json.loads(rows[0]["fingerprint"]), **json.loads(rows[0]["data"])}

    @override
    def checkpoint_set(
        self, connector: str, uri: str, fingerprint: dict[str, Any], data: dict[str, Any]
    ) -> None:
        """Save progress inside an item, replacing the previous one."""
        with self._tx() as cur:
            cur.execute(
                f"""INSERT INTO {self._t}.checkpoints (connector, uri, fingerprint, data, updated)
                    VALUES (%s,%s,%s,%s, now()) ON CONFLICT (connector, uri) DO UPDATE SET
                    fingerprint=excluded.fingerprint, data=excluded.data, updated=excluded.updated""",
                (
                    connector,
                    uri,
                    json.dumps(fingerprint, sort_keys=True),
                    json.dumps(redactor.scrub_obj(data)),
                ),
            )

    @override
    def checkpoint_clear(self, connector: str, uri: str | None = None) -> None:
        """Drop one item's checkpoint, or all of the connector's when ``uri`` is None."""
        with self._tx() as cur:
            if uri is None:
                cur.execute(f"DELETE FROM {self._t}.checkpoints WHERE connector=%s", (connector,))
            else:
                cur.execute(
                    f"DELETE FROM {self._t}.checkpoints WHERE connector=%s AND uri=%s", (connector, uri)
                )

    # -- stored values --------------------------------------------------------------------

    @override
    def kv_get(self, connector: str, key: str) -> Any:
        """The value stored under ``key``, or None when absent or expired (by the database's clock)."""
        rows = self._rows(
            f"""SELECT value FROM {self._t}.kv WHERE connector=%s AND key=%s
                AND (expires IS NULL OR expires > clock_timestamp())""",
            (connector, key),
        )
        return json.loads(rows[0]["value"]) if rows else None

    @override
    def kv_set(self, connector: str, key: str, value: Any, *, expires: datetime | None = None) -> None:
        """Store a JSON-serialisable ``value`` under ``key``; it reads as None after ``expires``."""
        with self._tx() as cur:
            cur.execute(
                f"""INSERT INTO {self._t}.kv (connector, key, value, expires) VALUES (%s,%s,%s,%s)
                    ON CONFLICT (connector, key) DO UPDATE SET value=excluded.value, expires=excluded.expires""",
                (connector, key, json.dumps(redactor.scrub_obj(value)), expires),
            )

    @override
    def kv_delete(self, connector: str, key: str) -> None:
        """Remove ``key``; harmless when it is absent."""
        with self._tx() as cur:
            cur.execute(f"DELETE FROM {self._t}.kv WHERE connector=%s AND key=%s", (connector, key))

    @override
    def kv_list(self, connector: str) -> dict[str, Any]:
        """Every stored value of the connector, expired ones included."""
        rows = self._rows(
            f"SELECT key, value FROM {self._t}.kv WHERE connector=%s ORDER BY key", (connector,)
        )
        return {r["key"]: json.loads(r["value"]) for r in rows}

    # -- stored values (state.changed_only, the state lookup) ---------------------------

    @override
    def values_get(self, connector: str, namespace: str, keys: Sequence[str]) -> dict[str, Any]:
        """The unexpired values stored under ``keys`` (absent keys are left out), decimals exact."""
        if not keys:
            return {}
        rows = self._rows(
            f"""SELECT key, value FROM {self._t}.stored WHERE connector=%s AND namespace=%s
                AND key = ANY(%s) AND (expires IS NULL OR expires > clock_timestamp())""",
            (connector, namespace, list(keys)),
        )
        return {r["key"]: json.loads(r["value"], parse_float=Decimal) for r in rows}

    @override
    def values_set(
        self, connector: str, namespace: str, values: Mapping[str, Any], *, expires: datetime | None = None
    ) -> None:
        """Store each of ``values`` under its key (replacing what was there) in one transaction."""
        if not values:
            return
        rows = [
            (connector, namespace, key, dumps_safe(redactor.scrub_obj(value)), expires)
            for key, value in values.items()
        ]
        with self._tx() as cur:
            cur.executemany(
                f"""INSERT INTO {self._t}.stored (connector, namespace, key, value, updated, expires)
                    VALUES (%s,%s,%s,%s,clock_timestamp(),%s)
                    ON CONFLICT (connector, namespace, key) DO UPDATE SET value=excluded.value,
                    updated=excluded.updated, expires=excluded.expires""",
                rows,
            )

    @override
    def values_list(self, connector: str, namespace: str, limit: int = 100) -> list[dict[str, Any]]:
        """The newest ``limit`` values of a namespace with when they were stored and when they expire."""
        rows = self._rows(
            f"""SELECT key, value, updated, expires FROM {self._t}.stored WHERE connector=%s AND namespace=%s
                ORDER BY updated DESC, key LIMIT %s""",
            (connector, namespace, limit),
        )
        for r in rows:  # timestamps come back as the ISO text every store returns
            r["value"] = json.loads(r["value"], parse_float=Decimal)
        return rows

    @override
    def values_clear(self, connector: str, namespace: str) -> int:
        """Forget every value of a namespace; returns how many there were."""
        with self._tx() as cur:
            cur.execute(
                f"DELETE FROM {self._t}.stored WHERE connector=%s AND namespace=%s", (connector, namespace)
            )
            return cur.rowcount

    # -- run history -------------------------------------------------------------------

    @override
    def run_started(self, connector: str, run_id: str, started: datetime, owner: str | None = None) -> None:
        """Add a run to the history as ``running``."""
        with self._tx() as cur:
            cur.execute(
                f"""INSERT INTO {self._t}.runs (run_id, connector, started, status, owner)
                    VALUES (%s,%s,%s,'running',%s) ON CONFLICT (run_id) DO UPDATE SET connector=excluded.connector,
                    started=excluded.started, status='running', owner=excluded.owner, ended=NULL, counts=NULL,
                    report=NULL""",
                (run_id, connector, started, owner),
            )

    @override
    def runs_mark_crashed(self, connector: str) -> int:
        """Mark ``running`` runs whose owner is gone (dead process, lock lost or expired) as ``crashed``."""
        t = self._t
        with self._tx() as cur:
            cur.execute(
                f"SELECT owner, expires > clock_timestamp() AS live FROM {t}.locks WHERE connector=%s FOR UPDATE",
                (connector,),
            )
            lock = cur.fetchone()
            cur.execute(
                f"""SELECT run_id, owner FROM {t}.runs WHERE connector=%s AND status='running'
                    AND owner IS NOT NULL FOR UPDATE""",
                (connector,),
            )
            gone = [
                run_id
                for run_id, owner in cur.fetchall()
                if (lock is not None and (lock[0] != owner or not lock[1])) or owner_is_dead(owner)
            ]
            if gone:
                cur.execute(
                    f"UPDATE {t}.runs SET status='crashed' WHERE run_id = ANY(%s) AND status='running'",
                    (gone,),
                )
        return len(gone)

    @override
    def run_ended(self, run_id: str, status: str, counts: dict[str, Any], report: str | None) -> None:
        """Close a run's history row with its status, counts and report path."""
        with self._tx() as cur:
            cur.execute(
                f"UPDATE {self._t}.runs SET ended=now(), status=%s, counts=%s, report=%s WHERE run_id=%s",
                (status, json.dumps(redactor.scrub_obj(counts)), report, run_id),
            )

    @override
    def runs_list(self, connector: str, limit: int = 20) -> list[dict[str, Any]]:
        """The connector's latest runs, newest first, ``counts`` decoded."""
        rows = self._rows(
            f"SELECT * FROM {self._t}.runs WHERE connector=%s ORDER BY started DESC LIMIT %s",
            (connector, limit),
        )
        for r in rows:
            r["counts"] = json.loads(r["counts"]) if r.get("counts") else {}
        return rows

    @override
    def clear(self, connector: str) -> dict[str, int]:
        """Forget everything about a connector but its run history; returns rows deleted per table."""
        out = {}
        with self._tx() as cur:
            for table in ("ledger", "checkpoints", "kv", "locks", "stored"):
                cur.execute(f"DELETE FROM {self._t}.{table} WHERE connector=%s", (connector,))
                out[table] = int(cur.rowcount)
        return out

    # -- spooled request bodies -------------------------------------------------------------

    @override
    def spool_put(self, connector: str, payload_id: str, meta: dict[str, Any], body: bytes) -> None:
        """Keep a body as pending; committed (durable) when this returns."""
        with self._tx() as cur:
            cur.execute(
                f"""INSERT INTO {self._t}.spool (connector, id, meta, body, status, received, not_before)
                    VALUES (%s,%s,%s,%s,'pending', clock_timestamp(), clock_timestamp())""",
                (connector, payload_id, json.dumps(meta), body),
            )

    @override
    def spool_take(self, connector: str, owner: str, ttl: float) -> dict[str, Any] | None:
        """Hold the oldest due body that nobody alive holds (rows other takers lock are passed over)."""
        t = self._t
        with self._tx() as cur:
            cur.execute(
                f"""SELECT id, owner, hold_expires > clock_timestamp() AS held FROM {t}.spool
                    WHERE connector=%s AND status='pending' AND not_before <= clock_timestamp()
                    ORDER BY received, id FOR UPDATE SKIP LOCKED""",
                (connector,),
            )
            for payload_id, holder, held in cur.fetchall():
                if holder and held and holder != owner and not owner_is_dead(holder):
                    continue
                cur.execute(
                    f"""UPDATE {t}.spool SET owner=%s, hold_expires=clock_timestamp() + %s * interval '1 second'
                        WHERE connector=%s AND id=%s RETURNING id, meta, body, attempts""",
                    (owner, ttl, connector, payload_id),
                )
                found = cur.fetchone()
                return {
                    "id": found[0],
                    "meta": json.loads(found[1]),
                    "body": bytes(found[2]),
                    "attempts": found[3],
                }
        return None

    @override
    def spool_hold(self, connector: str, payload_id: str, owner: str, ttl: float) -> bool:
        """Extend ``owner``'s hold on a body; False when another owner took it over (or it is gone)."""
        with self._tx() as cur:
            cur.execute(
                f"""UPDATE {self._t}.spool SET hold_expires=clock_timestamp() + %s * interval '1 second'
                    WHERE connector=%s AND id=%s AND owner=%s AND status='pending'""",
                (ttl, connector, payload_id, owner),
            )
            return cur.rowcount == 1

    @override
    def spool_release(
        self, connector: str, payload_id: str, owner: str, delay: float, *, attempt: bool = True
    ) -> None:
        """Give a held body back, to be tried again ``delay`` seconds from now by any instance."""
        with self._tx() as cur:
            cur.execute(
                f"""UPDATE {self._t}.spool SET owner=NULL, hold_expires=NULL, attempts=attempts + %s,
                       not_before=clock_timestamp() + %s * interval '1 second'
                    WHERE connector=%s AND id=%s AND owner=%s""",
                (int(attempt), delay, connector, payload_id, owner),
            )

    @override
    def spool_settle(self, connector: str, payload_id: str, failure: dict[str, Any] | None = None) -> None:
        """Forget a body whose run succeeded, or keep it as failed with the reason."""
        with self._tx() as cur:
            if failure is None:
                cur.execute(
                    f"DELETE FROM {self._t}.spool WHERE connector=%s AND id=%s", (connector, payload_id)
                )
            else:
                cur.execute(
                    f"""UPDATE {self._t}.spool SET status='failed', owner=NULL, hold_expires=NULL, failure=%s
                        WHERE connector=%s AND id=%s""",
                    (json.dumps(redactor.scrub_obj(failure), default=str), connector, payload_id),
                )

    @override
    def spool_counts(self, connector: str) -> dict[str, int]:
        """How many bodies are pending and failed."""
        rows = self._rows(
            f"SELECT status, count(*) AS n FROM {self._t}.spool WHERE connector=%s GROUP BY status",
            (connector,),
        )
        counts = {"pending": 0, "failed": 0}
        counts.update({r["status"]: int(r["n"]) for r in rows})
        return counts


def _dicts(cur: Any) -> list[dict[str, Any]]:
    """Rows as dicts; timestamps as the ISO-8601 UTC text every store returns."""
    names = [d.name for d in cur.description]
    return [
        {n: iso(v) if isinstance(v, datetime) else v for n, v in zip(names, row, strict=True)}
        for row in cur.fetchall()
    ]


def _text(value: str | None) -> str | None:
    r"""Text PostgreSQL accepts: it has no NUL character, so one is written as ``\x00``."""
    return value.replace("\x00", "\\x00") if value else value


def _password(dsn: str) -> str | None:
    """The password written in a connection string or URL, if any."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        value = conninfo_to_dict(dsn).get("password")
    except Exception:  # psycopg's ProgrammingError for an unreadable DSN: the connection reports it
        return None
    return str(value) if value else None


def _describe(dsn: str, schema: str) -> str:
    """``postgres://user@host:port/db (schema engine)``: the store named without its password."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(dsn)
    except Exception:  # an unreadable DSN: connecting reports it with libpq's words
        return f"postgres (schema {schema})"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return (
        f"postgres://{user}{parts.get('host', 'localhost')}{port}/{parts.get('dbname', '')} (schema {schema})"
    )
