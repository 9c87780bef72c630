"""The Fluent client against a hostile server posing as Fluent: the same limits as the ``http`` connection.

A redirect elsewhere, a 1.5 GB answer, a dripping answer and endless pages
end the run as docs/fluent.md says; a redirect never carries the bearer
token to another server, and a write is never redirected (it used to count
as a success).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.servers.hostile import Hostile, Seen, drip, huge, json_answer, redirect
from tests.servers.measured import run_engine

SECRET = "fluent-s3cret-for-tests"
TOKEN = "tok-fluent-hostile-0001"
QUERY = (
    "query Orders($first: Int, $after: String) { orders(first: $first, after: $after) "
    "{ edges { cursor node { id ref } } pageInfo { hasNextPage } } }"
)
GIB_1_5 = 1_500_000_000


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENT_TEST_SECRET", SECRET)


@pytest.fixture
def fluent() -> Iterator[Hostile]:
    """A server posing as Fluent: it hands out a token, every other answer is up to the test."""
    server = Hostile().start()
    server.route("/oauth/token", json_answer({"access_token": TOKEN, "expires_in": 3600}))
    yield server
    server.stop()


@pytest.fixture
def elsewhere() -> Iterator[Hostile]:
    server = Hostile().start()
    yield server
    server.stop()


def page(n: int, *, more: bool) -> dict[str, Any]:
    edges = [{"cursor": f"c{n}", "node": {"id": str(n), "ref": f"O-{n}"}}]
    return {"data": {"orders": {"edges": edges, "pageInfo": {"hasNextPage": more}}}}


def spec(server: Hostile, *, source: dict[str, Any] | None = None, **options: Any) -> str:
    conn = {
        "type": "fluent",
        "base_url": server.url,
        "client_id": "hostile",
        "client_secret": "${env:FLUENT_TEST_SECRET}",
        "retry": {"max_attempts": 2, "backoff": "10ms", "max_backoff": "50ms"},
        **options,
    }
    block = {
        "type": "fluent.graphql",
        "connection": "fluent",
        "query": QUERY,
        "records": "orders.edges[*].node",
        **(source or {}),
    }
    return (
        "version: 1\nname: hostile-fluent\n"
        f"connections:\n  fluent: {json.dumps(conn)}\n"
        f"source: {json.dumps(block)}\n"
        "target: {type: file, writer: jsonl, destination: {type: local, path: out}}\n"
    )


def test_a_redirect_to_another_server_is_refused_naming_both_origins(
    fluent, elsewhere, write_spec, run_spec
) -> None:
    fluent.route("/graphql", redirect(f"{elsewhere.url}/graphql", status=307))
    report = run_spec(write_spec(spec(fluent)))
    assert report.status == "failed" and report.exit_code == 1
    assert (
        f"fluent connection 'fluent': POST /graphql: http://127.0.0.1:{fluent.port} redirected to "
        f"http://127.0.0.1:{elsewhere.port}, another server" in report.error
    )
    assert elsewhere.requests() == []
    assert fluent.requests("/graphql")[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_an_allowed_origin_gets_the_query_but_not_the_token(
    fluent, elsewhere, write_spec, run_spec, tmp_path
) -> None:
    fluent.route("/graphql", redirect(f"{elsewhere.url}/graphql", status=307))
    elsewhere.route("/graphql", json_answer(page(1, more=False)))
    report = run_spec(write_spec(spec(fluent, allow_redirects_to=[elsewhere.url])))
    assert report.status == "ok", report.error
    assert report.counts["written"] == 1
    (moved,) = elsewhere.requests()
    assert "authorization" not in moved.headers and "cookie" not in moved.headers
    assert json.loads(moved.body)["query"] == QUERY  # a 307 keeps the method and the body


def test_a_write_is_never_redirected(fluent, elsewhere, write_spec, run_spec, tmp_path) -> None:
    fluent.route("/api/v4.1/event/async", redirect(f"{elsewhere.url}/api/v4.1/event/async", status=307))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "orders.csv").write_text("ref\nO-1\n")
    text = spec(fluent, allow_redirects_to=[elsewhere.url]).split("source:")[0] + (
        "source: {type: local, path: in}\nparser: {type: csv}\n"
        "target:\n  type: fluent.event\n  connection: fluent\n  mode: async\n"
        "  event: {name: OrderCancel, entityType: ORDER, entityRef: '{ref}', retailerId: '1'}\n"
    )
    report = run_spec(write_spec(text))
    assert report.exit_code == 3 and report.counts["written"] == 0 and report.counts["rejected"]["total"] == 1
    assert elsewhere.requests() == []


def test_a_huge_answer_stops_at_max_response_size_in_bounded_memory(fluent, write_spec, tmp_path) -> None:
    fluent.route("/graphql", huge(GIB_1_5, prefix=b'{"data": {"orders": {"edges": ['))
    path = write_spec(spec(fluent))
    done = run_engine("run", str(path), "--report", "report.json", cwd=tmp_path)
    assert done.code == 1 and "Traceback" not in done.stderr, done.stderr
    error = json.loads((tmp_path / "report.json").read_text())["error"]
    assert "POST /graphql: the answer is larger than max_response_size (32 MB)" in error
    assert done.peak_mb < 300, f"peak RSS {done.peak_mb:.0f} MB"


def test_a_huge_token_answer_stops_in_bounded_memory(fluent, write_spec, tmp_path) -> None:
    fluent.route("/oauth/token", huge(GIB_1_5, prefix=b'{"access_token": "'))
    path = write_spec(spec(fluent))
    done = run_engine("run", str(path), "--report", "report.json", cwd=tmp_path)
    assert done.code == 1 and "Traceback" not in done.stderr, done.stderr
    error = json.loads((tmp_path / "report.json").read_text())["error"]
    assert "token request to /oauth/token: the answer is larger than max_response_size" in error
    assert fluent.requests("/graphql") == []
    assert done.peak_mb < 300, f"peak RSS {done.peak_mb:.0f} MB"


def test_a_dripping_answer_is_cut_off_at_request_timeout(fluent, write_spec, tmp_path) -> None:
    fluent.route("/graphql", drip(where="body", every=0.05, body=json.dumps(page(1, more=False)).encode()))
    path = write_spec(spec(fluent, read_timeout="2s", request_timeout="1500ms"))
    done = run_engine("run", str(path), "--report", "report.json", cwd=tmp_path)
    assert done.code == 1 and "Traceback" not in done.stderr, done.stderr
    error = json.loads((tmp_path / "report.json").read_text())["error"]
    assert "POST /graphql took longer than request_timeout (1.5s) in total" in error
    assert len(fluent.requests("/graphql")) == 2 and done.seconds < 30


def test_endless_pages_stop_at_max_pages(fluent, write_spec, run_spec) -> None:
    def endless(sock: socket.socket, seen: Seen) -> None:
        after = json.loads(seen.body)["variables"].get("after") or "c0"
        json_answer(page(int(after[1:]) + 1, more=True))(sock, seen)

    fluent.route("/graphql", endless)
    report = run_spec(write_spec(spec(fluent, source={"max_pages": 4, "page_size": 1})))
    assert report.status == "failed"
    assert "page 4: max_pages (4) pages read and the server still offers another" in report.error
    assert len(fluent.requests("/graphql")) == 4
