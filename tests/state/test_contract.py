"""The state-store contract: every registered store passes the same suite.

A store plugs in by subclassing :class:`engine.contracts.StateStore` and
passing these tests: ledger rows and their fingerprints, atomic claims
(also between processes), locks with expiry and owner-checked release,
checkpoints, stored values with expiry, run history, and clearing a
connector. Each store kind gets a factory below that opens a fresh store.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.contracts import Item, StateStore
from engine.registry import default_registries
from engine.spec.options import build_options

Factory = Callable[[], StateStore]


def _sqlite(tmp_path: Path) -> Factory:
    cls = default_registries().state_stores.get("sqlite")

    def make() -> StateStore:
        store: StateStore = cls(
            build_options(cls.Options, cls.schema, {"path": "state.db"}, ("state",), None)
        )
        store.open_for(tmp_path)
        return store

    return make


def _postgres(tmp_path: Path) -> Factory:
    """A store in a schema of its own (named after the test's directory) in the session's database."""
    cls = default_registries().state_stores.get("postgres")
    schema = "t_" + hashlib.sha1(str(tmp_path).encode()).hexdigest()[:16]
    block = {"dsn": "${env:ENGINE_TEST_PG_DSN}", "schema": schema}

    def make() -> StateStore:
        store: StateStore = cls(build_options(cls.Options, cls.schema, block, ("state", "store"), None))
        store.open_for(tmp_path)
        return store

    return make


FACTORIES: dict[str, Callable[[Path], Factory]] = {"sqlite": _sqlite, "postgres": _postgres}
#: what a store kind needs running before its factory works (a real server for postgres)
SERVERS = {"postgres": "_postgres"}


def test_every_registered_store_has_a_factory_here() -> None:
    assert sorted(default_registries().state_stores.names()) == sorted(FACTORIES)


@pytest.fixture(params=sorted(FACTORIES))
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    if request.param in SERVERS:
        request.getfixturevalue(SERVERS[request.param])
    opened: list[StateStore] = []

    def make() -> StateStore:
        store = FACTORIES[request.param](tmp_path)()
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(factory: Factory) -> StateStore:
    return factory()


def item(name: str = "a.csv", size: int = 10, etag: str | None = None) -> Item:
    return Item(
        uri=f"file:///in/{name}", name=name, size=size, mtime=datetime(2026, 1, 1, tzinfo=UTC), etag=etag
    )


# --- ledger ---------------------------------------------------------------------------------


def test_a_marked_item_keeps_its_fingerprint_status_and_counts(store: StateStore) -> None:
    assert store.ledger_get("c", item().uri) is None
    store.ledger_mark("c", item(), "done", "run-1", records=5, moved_to="processed/a.csv")
    row = store.ledger_get("c", item().uri)
    assert row is not None
    assert (row["status"], row["size"], row["records"], row["moved_to"], row["run_id"]) == (
        "done",
        10,
        5,
        "processed/a.csv",
        "run-1",
    )
    store.ledger_mark("c", item(), "failed", "run-2", error="boom", attempt=True)
    row = store.ledger_get("c", item().uri)
    assert row is not None
    assert (row["status"], row["records"], row["moved_to"], row["error"]) == (
        "failed",
        5,
        "processed/a.csv",
        "boom",
    )


def test_connectors_do_not_see_each_others_rows(store: StateStore) -> None:
    store.ledger_mark("c", item(), "done", "r")
    assert store.ledger_get("other", item().uri) is None
    assert store.ledger_list("other") == []


def test_a_checksum_finds_only_a_done_item(store: StateStore) -> None:
    done = item("a.csv")
    done.checksum = "abc"
    store.ledger_mark("c", done, "failed", "r")
    assert store.ledger_find_checksum("c", "abc") is None
    store.ledger_mark("c", done, "done", "r")
    found = store.ledger_find_checksum("c", "abc")
    assert found is not None and found["uri"] == done.uri


def test_a_live_claim_is_refused_to_another_owner_and_released_at_the_end(store: StateStore) -> None:
    assert store.ledger_claim("c", item(), "r1", "host:1:r1", 60) is None
    refused = store.ledger_claim("c", item(), "r2", "other-host:2:r2", 60)
    assert refused is not None and (refused["owner"], refused["status"]) == ("host:1:r1", "claimed")
    assert store.ledger_claim("c", item(), "r1", "host:1:r1", 60) is None, "the owner may claim again"
    assert store.ledger_release("c", "host:1:r1") == 1
    row = store.ledger_get("c", item().uri)
    assert row is not None and row["status"] == "failed" and row["owner"] is None
    assert store.ledger_claim("c", item(), "r2", "other-host:2:r2", 60) is None


def test_an_expired_claim_is_taken_over(store: StateStore) -> None:
    assert store.ledger_claim("c", item(), "r1", "other-host:1:r1", 0.05) is None
    time.sleep(0.1)
    assert store.ledger_claim("c", item(), "r2", "other-host:2:r2", 60) is None


def _claim_in_process(args: tuple[str, str, str]) -> dict | None:
    kind, directory, owner = args
    store = FACTORIES[kind](Path(directory))()
    try:
        return store.ledger_claim("c", item(), owner, f"other-host:{owner}:{owner}", 60)
    finally:
        store.close()


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_claims_made_at_once_by_eight_processes_give_the_item_to_exactly_one(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind in SERVERS:
        request.getfixturevalue(SERVERS[kind])
    FACTORIES[kind](tmp_path)().close()  # create the store first
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        results = pool.map(_claim_in_process, [(kind, str(tmp_path), f"w{i}") for i in range(8)])
    assert results.count(None) == 1, results


def test_forgetting_and_pruning_keep_failed_items(store: StateStore) -> None:
    for i in range(5):
        store.ledger_mark("c", item(f"{i}.csv"), "done", "r")
        time.sleep(0.002)
    store.ledger_mark("c", item("bad.csv"), "failed", "r")
    # keep counts the newest rows of any status; only done rows are ever pruned
    assert store.ledger_prune("c", keep=2, window_seconds=3600) == 4
    assert sorted(r["name"] for r in store.ledger_list("c")) == ["4.csv", "bad.csv"]
    assert store.ledger_prune("c", keep=1, window_seconds=0) == 1
    assert [r["name"] for r in store.ledger_list("c")] == ["bad.csv"]
    store.ledger_mark("c", item("5.csv"), "done", "r")
    assert store.ledger_forget("c", item("5.csv").uri) == 1
    assert store.ledger_forget("c") == 1
    assert store.ledger_list("c") == []


def test_the_ledger_lists_the_latest_first_up_to_a_limit(store: StateStore) -> None:
    for i in range(3):
        store.ledger_mark("c", item(f"{i}.csv"), "done", "r")
        time.sleep(0.01)
    assert [r["name"] for r in store.ledger_list("c", limit=2)] == ["2.csv", "1.csv"]


# --- locks -------------------------------------------------------------------------------------


def test_one_owner_holds_the_lock_until_it_releases_it(store: StateStore) -> None:
    assert store.lock_acquire("c", "h:1:a", 60, host="other-host", pid=1) is None
    holder = store.lock_acquire("c", "h:2:b", 60, host="other-host", pid=2)
    assert holder is not None and holder["owner"] == "h:1:a"
    assert store.lock_release("c", "h:2:b") is False, "only the owner releases"
    assert store.lock_renew("c", "h:2:b", 60) is False
    assert store.lock_renew("c", "h:1:a", 60) is True
    assert store.lock_release("c", "h:1:a") is True
    assert store.lock_holder("c") is None
    assert store.lock_acquire("c", "h:2:b", 60, host="other-host", pid=2) is None


def test_an_expired_lock_is_taken_over_and_its_old_owner_cannot_renew_it(store: StateStore) -> None:
    assert store.lock_acquire("c", "h:1:a", 0.05, host="other-host", pid=1) is None
    time.sleep(0.1)
    assert store.lock_acquire("c", "h:2:b", 60, host="other-host", pid=2) is None
    assert store.lock_renew("c", "h:1:a", 60) is False
    holder = store.lock_holder("c")
    assert holder is not None and holder["owner"] == "h:2:b"


def test_locks_of_different_connectors_are_independent(store: StateStore) -> None:
    assert store.lock_acquire("c1", "h:1:a", 60, host="other-host", pid=1) is None
    assert store.lock_acquire("c2", "h:2:b", 60, host="other-host", pid=2) is None


# --- checkpoints ---------------------------------------------------------------------------------


def test_a_checkpoint_comes_back_with_its_fingerprint_until_cleared(store: StateStore) -> None:
    fingerprint = {"size": 10, "etag": None}
    store.checkpoint_set(
        "c", "u1", fingerprint, {"run_id": "r", "acked": 7, "target": {"pending": {"1": [2]}}}
    )
    store.checkpoint_set("c", "u2", fingerprint, {"run_id": "r", "acked": 1, "target": {}})
    assert store.checkpoint_get("c", "u1") == {
        "fingerprint": fingerprint,
        "run_id": "r",
        "acked": 7,
        "target": {"pending": {"1": [2]}},
    }
    store.checkpoint_set("c", "u1", fingerprint, {"run_id": "r", "acked": 9, "target": {}})
    saved = store.checkpoint_get("c", "u1")
    assert saved is not None and saved["acked"] == 9
    store.checkpoint_clear("c", "u1")
    assert store.checkpoint_get("c", "u1") is None and store.checkpoint_get("c", "u2") is not None
    store.checkpoint_clear("c")
    assert store.checkpoint_get("c", "u2") is None


# --- stored values ---------------------------------------------------------------------------------


def test_stored_values_round_trip_and_expire(store: StateStore) -> None:
    store.kv_set("c", "watermark", {"value": "2026-01-01T00:00:00Z", "seen": ["a", "b"]})
    store.kv_set("c", "job", 42, expires=datetime.now(UTC) + timedelta(milliseconds=50))
    assert store.kv_get("c", "watermark") == {"value": "2026-01-01T00:00:00Z", "seen": ["a", "b"]}
    assert store.kv_get("c", "job") == 42
    time.sleep(0.1)
    assert store.kv_get("c", "job") is None
    assert store.kv_list("c") == {
        "job": 42,
        "watermark": {"value": "2026-01-01T00:00:00Z", "seen": ["a", "b"]},
    }
    store.kv_delete("c", "watermark")
    store.kv_delete("c", "absent")
    assert store.kv_get("c", "watermark") is None and store.kv_get("other", "job") is None


def test_values_survive_reopening_the_store(factory: Factory) -> None:
    first = factory()
    first.kv_set("c", "k", [1, "two"])
    first.ledger_mark("c", item(), "done", "r")
    first.close()
    second = factory()
    assert second.kv_get("c", "k") == [1, "two"]
    assert second.ledger_get("c", item().uri) is not None


# --- stored values in namespaces ------------------------------------------------------------------


def test_stored_values_are_read_written_and_cleared_in_bulk_per_namespace(store: StateStore) -> None:
    many = {f'["S{i}","L1"]': {"qty": i} for i in range(1200)}  # more than one statement's parameters
    store.values_set("c", "delta", many)
    store.values_set("c", "other", {'["S1","L1"]': {"qty": -1}})
    got = store.values_get("c", "delta", [*many, '["absent"]'])
    assert got == many
    assert store.values_get("c", "other", ['["S1","L1"]']) == {'["S1","L1"]': {"qty": -1}}
    assert store.values_get("other-connector", "delta", ['["S1","L1"]']) == {}
    store.values_set("c", "delta", {'["S1","L1"]': {"qty": 99}})
    assert store.values_get("c", "delta", ['["S1","L1"]']) == {'["S1","L1"]': {"qty": 99}}
    listed = store.values_list("c", "delta", limit=3)
    assert len(listed) == 3 and listed[0]["key"] == '["S1","L1"]' and listed[0]["value"] == {"qty": 99}
    assert store.values_clear("c", "delta") == 1200
    assert store.values_get("c", "delta", list(many)) == {}
    assert store.values_get("c", "other", ['["S1","L1"]']) != {}


def test_stored_values_expire(store: StateStore) -> None:
    store.values_set("c", "delta", {"a": 1}, expires=datetime.now(UTC) + timedelta(milliseconds=50))
    store.values_set("c", "delta", {"b": 2})
    time.sleep(0.1)
    assert store.values_get("c", "delta", ["a", "b"]) == {"b": 2}


# --- run history and clearing ---------------------------------------------------------------------


def test_run_history_is_newest_first_with_its_counts(store: StateStore) -> None:
    start = datetime.now(UTC)
    store.run_started("c", "r1", start)
    store.run_started("c", "r2", start + timedelta(seconds=1))
    store.run_ended("r1", "ok", {"read": 3}, "/reports/r1.json")
    runs = store.runs_list("c")
    assert [(r["run_id"], r["status"]) for r in runs] == [("r2", "running"), ("r1", "ok")]
    assert (
        runs[0]["counts"] == {}
        and runs[1]["counts"] == {"read": 3}
        and runs[1]["report"] == "/reports/r1.json"
    )
    assert [r["run_id"] for r in store.runs_list("c", limit=1)] == ["r2"]


def test_clearing_a_connector_forgets_everything_but_its_history(store: StateStore) -> None:
    store.ledger_mark("c", item(), "done", "r")
    store.checkpoint_set("c", "u", {}, {"acked": 1})
    store.kv_set("c", "k", 1)
    store.lock_acquire("c", "h:1:a", 60, host="other-host", pid=1)
    store.run_started("c", "r", datetime.now(UTC))
    store.kv_set("other", "k", 2)
    store.values_set("c", "delta", {"k": {"qty": 1}})
    assert store.clear("c") == {"ledger": 1, "checkpoints": 1, "kv": 1, "locks": 1, "stored": 1}
    assert store.ledger_list("c") == [] and store.kv_get("c", "k") is None and store.lock_holder("c") is None
    assert [r["run_id"] for r in store.runs_list("c")] == ["r"]
    assert store.kv_get("other", "k") == 2


# --- claims by workers of one run, renewed while they work ----------------------------------------


def test_an_item_settled_by_a_run_is_not_claimed_again_by_that_run(store: StateStore) -> None:
    """A task retried after its worker was lost must not deliver what the lost worker finished."""
    assert store.ledger_claim("c", item(), "run-1", "other-host:1:run-1", 60) is None
    store.ledger_mark("c", item(), "done", "run-1", records=3)
    refused = store.ledger_claim("c", item(), "run-1", "other-host:2:run-1", 60)
    assert refused is not None and (refused["status"], refused["run_id"]) == ("done", "run-1")
    assert store.ledger_claim("c", item(), "run-2", "other-host:3:run-2", 60) is None, "a later run may"


def test_a_failed_item_may_be_claimed_again_by_the_same_run(store: StateStore) -> None:
    store.ledger_claim("c", item(), "run-1", "other-host:1:run-1", 60)
    store.ledger_mark("c", item(), "failed", "run-1", error="boom")
    assert store.ledger_claim("c", item(), "run-1", "other-host:2:run-1", 60) is None


def test_claims_renewed_by_their_owner_outlive_their_first_expiry(store: StateStore) -> None:
    assert store.ledger_claim("c", item("a.csv"), "r1", "other-host:1:r1", 0.05) is None
    assert store.ledger_claim("c", item("b.csv"), "r1", "other-host:1:r1", 0.05) is None
    assert store.ledger_renew("c", "other-host:1:r1", 60) == 2
    assert store.ledger_renew("c", "other-host:9:r9", 60) == 0, "only the owner's claims"
    time.sleep(0.1)
    refused = store.ledger_claim("c", item("a.csv"), "r2", "other-host:2:r2", 60)
    assert refused is not None and refused["owner"] == "other-host:1:r1"
    store.ledger_mark("c", item("b.csv"), "done", "r1")
    assert store.ledger_renew("c", "other-host:1:r1", 60) == 1, "a settled item is no longer held"


def test_a_claim_of_a_process_gone_from_this_host_is_taken_over_at_once(store: StateStore) -> None:
    import socket
    import subprocess
    import sys

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = f"{socket.gethostname()}:{gone.stdout.strip()}:r1"
    assert store.ledger_claim("c", item(), "r1", dead, 600) is None
    assert store.ledger_claim("c", item(), "r2", "other-host:2:r2", 60) is None


# --- spooled request bodies ---------------------------------------------------------------------------


def test_spooled_bodies_are_taken_oldest_first_by_one_holder_each(store: StateStore) -> None:
    odd = b"\x00\xff{not json}\r\n"
    store.spool_put("c", "p1", {"ext": "json", "headers": {"x-a": "1"}}, b'{"n": 1}')
    time.sleep(0.01)
    store.spool_put("c", "p2", {"ext": "bin"}, odd)
    store.spool_put("other", "p3", {}, b"x")
    first = store.spool_take("c", "other-host:1:a", 60)
    assert first is not None and (first["id"], first["body"], first["meta"]["headers"]) == (
        "p1",
        b'{"n": 1}',
        {"x-a": "1"},
    )
    second = store.spool_take("c", "other-host:2:b", 60)
    assert second is not None and (second["id"], second["body"], second["attempts"]) == ("p2", odd, 0)
    assert store.spool_take("c", "other-host:3:c", 60) is None, "both are held"
    assert store.spool_counts("c") == {"pending": 2, "failed": 0}
    store.spool_settle("c", "p1")
    store.spool_settle("c", "p2", {"status": "rejects_exceeded", "error": "too many"})
    assert store.spool_counts("c") == {"pending": 0, "failed": 1}
    assert store.spool_take("c", "other-host:3:c", 60) is None, "a failed body is kept, not taken"


def test_a_spooled_body_whose_hold_lapsed_is_taken_over(store: StateStore) -> None:
    store.spool_put("c", "p1", {}, b"body")
    assert store.spool_take("c", "other-host:1:a", 0.05) is not None
    assert store.spool_hold("c", "p1", "other-host:1:a", 0.05) is True
    time.sleep(0.1)
    taken = store.spool_take("c", "other-host:2:b", 60)
    assert taken is not None and taken["id"] == "p1"
    assert store.spool_hold("c", "p1", "other-host:1:a", 60) is False, "the first holder lost it"
    assert store.spool_hold("c", "p1", "other-host:2:b", 60) is True


def test_a_released_body_waits_its_delay_then_goes_to_any_instance(store: StateStore) -> None:
    store.spool_put("c", "p1", {}, b"body")
    store.spool_take("c", "other-host:1:a", 60)
    store.spool_release("c", "p1", "other-host:1:a", 0.2)
    assert store.spool_take("c", "other-host:2:b", 60) is None, "not before its delay"
    time.sleep(0.3)
    again = store.spool_take("c", "other-host:2:b", 60)
    assert again is not None and again["attempts"] == 1
