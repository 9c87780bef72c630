"""The SQLite store never writes a secret: errors, checkpoints, key-values and run history are scrubbed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from engine.contracts import Item
from engine.secrets import redactor
from engine.state.sqlite import SqliteOptions, SqliteStateStore

SECRET = 'st"ore\\ \nsecret-ü-' + "Z" * 40


def test_what_the_store_writes_is_scrubbed_first(tmp_path: Path) -> None:
    redactor.add(SECRET)
    store = SqliteStateStore(SqliteOptions(path=None))
    db = tmp_path / "state.db"
    store.open_at(db)
    item = Item("file:///in/a.csv", "a.csv", size=3)
    store.ledger_mark("c", item, "failed", "r1", error=f"the server said {SECRET[:120]}")
    store.checkpoint_set("c", item.uri, item.fingerprint(), {"acked": 2, "note": {"answer": SECRET}})
    store.kv_set("c", "watermark", {"cursor": "next", "echo": [SECRET]})
    store.run_started("c", "r1", datetime.now(UTC))
    store.run_ended("r1", "failed", {"error": SECRET}, None)

    assert store.ledger_get("c", item.uri)["error"] == "the server said ***"
    assert store.checkpoint_get("c", item.uri)["note"] == {"answer": "***"}
    assert store.kv_get("c", "watermark") == {"cursor": "next", "echo": ["***"]}
    assert store.runs_list("c")[0]["counts"] == {"error": "***"}
    store.close()
    written = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for form in (SECRET, json.dumps(SECRET)[1:-1], json.dumps(SECRET, ensure_ascii=False)[1:-1]):
        assert form[:8].encode() not in written
