"""The PostgreSQL store's tables, and the migrations that create and upgrade them.

Each migration is applied once, in order, in one transaction with the
version it brings; the ``schema_version`` table says which have been applied.
Starting stores hold a transaction-scoped advisory lock while they migrate, so
several processes opening a new store at once create it exactly once. A
store made by a newer engine (a version this one does not know) is refused
rather than written with old assumptions.

JSON is kept as text (``json.dumps``), as SQLite keeps it: exact round trips
(``jsonb`` would reorder keys and refuses the NUL character). Timestamps are
``timestamptz``, compared with the database's clock, so leases do not depend
on the clocks of the hosts that take them.
"""

from __future__ import annotations

#: ``(version, statements)``; ``{schema}`` is the store's PostgreSQL schema (quoted)
MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
CREATE TABLE {schema}.store (store_id text PRIMARY KEY, created timestamptz NOT NULL DEFAULT now());
CREATE TABLE {schema}.ledger (
    connector text NOT NULL, uri text NOT NULL, name text, size bigint, mtime text, etag text,
    checksum text, status text NOT NULL, attempts integer NOT NULL DEFAULT 0,
    first_seen timestamptz NOT NULL, updated timestamptz NOT NULL, next_retry timestamptz, run_id text,
    records bigint, error text, moved_to text, owner text, claim_expires timestamptz,
    PRIMARY KEY (connector, uri));
CREATE INDEX ledger_by_checksum ON {schema}.ledger (connector, checksum);
CREATE INDEX ledger_by_updated ON {schema}.ledger (connector, updated);
CREATE INDEX ledger_claims ON {schema}.ledger (connector, owner) WHERE status = 'claimed';
CREATE TABLE {schema}.locks (
    connector text PRIMARY KEY, owner text NOT NULL, host text, pid integer,
    acquired timestamptz NOT NULL, expires timestamptz NOT NULL);
CREATE TABLE {schema}.checkpoints (
    connector text NOT NULL, uri text NOT NULL, fingerprint text NOT NULL, data text NOT NULL,
    updated timestamptz NOT NULL, PRIMARY KEY (connector, uri));
CREATE TABLE {schema}.kv (
    connector text NOT NULL, key text NOT NULL, value text NOT NULL, expires timestamptz,
    PRIMARY KEY (connector, key));
CREATE TABLE {schema}.runs (
    run_id text PRIMARY KEY, connector text NOT NULL, started timestamptz NOT NULL, ended timestamptz,
    status text, counts text, report text, owner text);
CREATE INDEX runs_by_connector ON {schema}.runs (connector, started);
CREATE TABLE {schema}.spool (
    connector text NOT NULL, id text NOT NULL, meta text NOT NULL, body bytea NOT NULL,
    status text NOT NULL, received timestamptz NOT NULL, not_before timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0, owner text, hold_expires timestamptz, failure text,
    PRIMARY KEY (connector, id));
""",
    ),
    (
        2,
        """
CREATE TABLE {schema}.stored (
    connector text NOT NULL, namespace text NOT NULL, key text NOT NULL, value text NOT NULL,
    updated timestamptz NOT NULL, expires timestamptz,
    PRIMARY KEY (connector, namespace, key));
CREATE INDEX stored_by_updated ON {schema}.stored (connector, namespace, updated);
""",
    ),
]

#: the newest schema version this engine knows
LATEST = MIGRATIONS[-1][0]

VERSION_TABLE = """CREATE TABLE IF NOT EXISTS {schema}.schema_version (
    version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())"""
