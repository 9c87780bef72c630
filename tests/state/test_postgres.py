"""What only the PostgreSQL store has: its own schema and migrations, a server that can refuse, a DSN with a password.

The contract every store passes is tests/state/test_contract.py; these tests
run real ``engine`` processes and stores against the session's PostgreSQL.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from engine.errors import CorruptStateError, StateError
from engine.registry import default_registries
from engine.spec.options import build_options
from engine.state import _pg_schema
from tests.processes import engine

SPEC = """
version: 1
name: pg
source: {type: local, path: inbox, pattern: "*.csv", on_success: {move_to: "done/{name}"}}
parser: {type: csv}
mapping: {fields: {sku: {source: sku, required: true}, qty: {source: qty, resolver: int}}}
target: {type: file, writer: jsonl, destination: {type: local, path: out}}
state:
  store: {type: postgres, dsn: "${env:ENGINE_STATE_DSN}"%(extra)s}
"""


def _store(dsn: str, **options):
    cls = default_registries().state_stores.get("postgres")
    block = {"dsn": dsn, **options}
    return cls(build_options(cls.Options, cls.schema, block, ("state", "store"), None))


def _spec(tmp_path: Path, extra: str = "") -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / "a.csv").write_text("sku,qty\nA,1\nB,two\nC,3\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC % {"extra": extra})
    return spec


def test_a_run_keeps_its_ledger_and_history_in_postgres_and_a_rerun_skips_what_is_done(pg_server, tmp_path):
    spec = _spec(tmp_path)
    first = engine("run", spec, "--format", "json", "--quiet", state=tmp_path / "state")
    report = json.loads(first.stdout)
    assert first.returncode == 3
    assert {k: report["records"][k] for k in ("read", "mapped", "written")} == {
        "read": 3,
        "mapped": 2,
        "written": 2,
    }
    assert report["records"]["rejected"]["mapping"] == report["records"]["rejected"]["total"] == 1
    assert not (tmp_path / "state" / "state.db").exists(), "no SQLite file"
    rows = pg_server.execute(pg_server.test_dsn, "SELECT name, status, records FROM engine.ledger")
    assert rows == [("a.csv", "done", 3)]
    (tmp_path / "inbox" / "a.csv").write_bytes((tmp_path / "inbox" / "done" / "a.csv").read_bytes())
    import os

    stamp = (tmp_path / "inbox" / "done" / "a.csv").stat().st_mtime
    os.utime(tmp_path / "inbox" / "a.csv", (stamp, stamp))
    again = json.loads(engine("run", spec, "--format", "json", "--quiet", state=tmp_path / "state").stdout)
    assert again["items"][0]["status"] == "skipped" and "unchanged since run" in again["items"][0]["reason"]
    shown = engine("state", "runs", spec, state=tmp_path / "state")
    assert shown.returncode == 0 and report["run_id"] in shown.stdout
    where = engine("state", "show", spec, state=tmp_path / "state")
    assert where.returncode == 0 and "store:     postgres://engine@127.0.0.1:" in where.stdout
    assert "(schema engine)" in where.stdout and pg_server.password not in where.stdout


def test_the_schema_is_created_once_by_processes_starting_together(pg_server):
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        ids = pool.map(_open_and_identify, [pg_server.test_dsn] * 6)
    assert len(set(ids)) == 1
    assert pg_server.execute(
        pg_server.test_dsn, "SELECT version FROM engine.schema_version ORDER BY version"
    ) == [(v,) for v, _ in _pg_schema.MIGRATIONS]


def _open_and_identify(dsn: str) -> str:
    store = _store(dsn)
    store.open_for(Path("."))
    try:
        return str(store._store_id)
    finally:
        store.close()


def test_a_store_of_an_older_version_is_migrated_in_place_keeping_its_rows(pg_server):
    dsn = pg_server.test_dsn
    store = _store(dsn, schema="older")
    store.open_for(Path("."))
    store.kv_set("c", "k", {"kept": True})
    store.close()
    # what a version-1 store looks like: no stored values yet
    pg_server.execute(dsn, "DROP TABLE older.stored")
    pg_server.execute(dsn, "DELETE FROM older.schema_version WHERE version > 1")
    again = _store(dsn, schema="older")
    again.open_for(Path("."))
    try:
        assert again.kv_get("c", "k") == {"kept": True}
        again.values_set("c", "ns", {"a": {"qty": 1}})
        assert again.values_get("c", "ns", ["a"]) == {"a": {"qty": 1}}
    finally:
        again.close()
    versions = pg_server.execute(dsn, "SELECT version FROM older.schema_version ORDER BY version")
    assert versions == [(v,) for v, _ in _pg_schema.MIGRATIONS]


def test_a_store_made_by_a_newer_engine_and_a_foreign_schema_are_refused(pg_server):
    dsn = pg_server.test_dsn
    _store(dsn).open_for(Path("."))
    pg_server.execute(dsn, "INSERT INTO engine.schema_version (version) VALUES (99)")
    with pytest.raises(StateError, match=r"made by a newer engine .*version 99.*upgrade the engine"):
        _store(dsn).open_for(Path("."))
    pg_server.execute(dsn, "CREATE SCHEMA shop")
    pg_server.execute(dsn, "CREATE TABLE shop.orders (id int)")
    with pytest.raises(CorruptStateError, match=r"not an engine state store \(orders\)"):
        _store(dsn, schema="shop").open_for(Path("."))


def test_a_schema_dropped_under_a_run_stops_it(pg_server):
    store = _store(pg_server.test_dsn, schema="dropped")
    store.open_for(Path("."))
    try:
        store.verify()
        pg_server.execute(pg_server.test_dsn, "DROP SCHEMA dropped CASCADE")
        _store(pg_server.test_dsn, schema="dropped").open_for(Path("."))  # another run makes it anew
        with pytest.raises(StateError, match="was dropped or replaced while this run was working"):
            store.verify()
    finally:
        store.close()


def test_a_damaged_schema_is_set_aside_and_an_empty_one_starts(pg_server):
    store = _store(pg_server.test_dsn, schema="broken")
    store.open_for(Path("."))
    store.close()
    pg_server.execute(pg_server.test_dsn, "DELETE FROM broken.store")
    with pytest.raises(CorruptStateError, match="lost its identity row"):
        _store(pg_server.test_dsn, schema="broken").open_for(Path("."))
    aside = _store(pg_server.test_dsn, schema="broken").set_aside(Path("."))
    assert "(schema broken_broken_" in aside
    fresh = _store(pg_server.test_dsn, schema="broken")
    fresh.open_for(Path("."))
    fresh.close()


def test_the_password_never_appears_in_errors_reports_or_the_store(pg_server, tmp_path, monkeypatch):
    wrong = pg_server.dsn(pg_server.test_dsn.split("dbname=")[1].split()[0], password="wrong-pw-s3cr3t-value")
    monkeypatch.setenv("ENGINE_STATE_DSN", wrong)
    spec = _spec(tmp_path)
    run = engine("run", spec, "--format", "json", "--quiet", state=tmp_path / "state")
    assert run.returncode == 1
    report = json.loads(run.stdout)
    assert (
        "password authentication failed" in report["error"]
        and "postgres://engine@127.0.0.1" in report["error"]
    )
    assert "wrong-pw-s3cr3t-value" not in run.stdout + run.stderr

    monkeypatch.setenv("ENGINE_STATE_DSN", pg_server.test_dsn)
    ok = engine("run", spec, "--format", "json", "--quiet", state=tmp_path / "state")
    assert pg_server.password not in ok.stdout + ok.stderr
    stored = pg_server.execute(pg_server.test_dsn, "SELECT counts, report FROM engine.runs")
    assert stored and all(pg_server.password not in str(row) for row in stored)


def test_validate_warns_about_a_password_written_in_the_spec(tmp_path):
    spec = (
        _spec(tmp_path)
        .read_text()
        .replace('"${env:ENGINE_STATE_DSN}"', '"host=db dbname=e password=hunter2-literal"')
    )
    path = tmp_path / "literal.yaml"
    path.write_text(spec)
    checked = engine("validate", path)
    assert checked.returncode == 0
    assert "state.store.dsn: warning: holds a password written in the spec: use ${env:ENGINE_STATE_DSN}" in (
        checked.stdout + checked.stderr
    )


def test_a_role_given_its_own_schema_needs_no_other_right(pg_server, tmp_path, monkeypatch):
    """What docs/scale.md asks of a database administrator is enough, and a run works with it."""
    dsn = pg_server.test_dsn
    database = dsn.split("dbname=")[1].split()[0]
    pg_server.execute(dsn, "CREATE ROLE limited LOGIN PASSWORD 'limited-pw-0123'")
    pg_server.execute(dsn, f'REVOKE CREATE ON DATABASE "{database}" FROM PUBLIC')
    pg_server.execute(dsn, "CREATE SCHEMA own AUTHORIZATION limited")
    limited = dsn.replace("user=engine", "user=limited").replace(
        f"password={pg_server.password}", "password=limited-pw-0123"
    )
    monkeypatch.setenv("ENGINE_STATE_DSN", limited)
    spec = _spec(tmp_path, extra=", schema: own")
    run = engine("run", spec, "--format", "json", "--quiet", state=tmp_path / "state")
    assert run.returncode == 3, run.stdout[-1000:] + run.stderr[-1000:]
    assert pg_server.execute(dsn, "SELECT status FROM own.ledger") == [("done",)]
    refused = _store(limited, schema="other")
    with pytest.raises(StateError, match="permission denied"):
        refused.open_for(Path("."))
