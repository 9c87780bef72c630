"""The ``http`` connection against hostile servers: redirects elsewhere, huge and dripping answers, endless pages.

Each attack runs for real: a server on loopback that redirects, streams a
1.5 GB answer or drips one byte at a time, and the engine in its own process
where memory and time matter. What must hold: no request to another server
carries a credential or the connection's headers, nothing ends in a
traceback, memory stays bounded, and the run ends as docs/http.md says.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from tests.http import server as srv
from tests.http.conftest import FAST_RETRY, block, connection, rejects
from tests.http.test_source import PAGINGS, output
from tests.servers.hostile import Hostile, Seen, drip, huge, json_answer, redirect
from tests.servers.measured import run_engine

KEY = {"api_key": {"header": "X-Api-Key", "value": "${env:API_KEY}"}}
KEY_PARAM = {"api_key": {"param": "api_key", "value": "${env:API_KEY}"}}
TENANT = {"X-Tenant": "retail-eu-private"}
GIB_1_5 = 1_500_000_000


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEY", srv.API_KEY)


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    server = Hostile().start()
    yield server
    server.stop()


def source_spec(server: Any, source: dict[str, Any], *, auth: dict | None = KEY, **options: Any) -> str:
    return (
        "version: 1\nname: hostile\n"
        + connection(server, auth, headers=TENANT, **options)
        + block("source", {"type": "http", "connection": "api", **source})
        + "target: {type: file, writer: jsonl, destination: {type: local, path: out}}\n"
    )


def carried_a_secret(headers: dict[str, str], query: dict[str, str]) -> list[str]:
    found = [h for h in ("x-api-key", "x-tenant", "authorization", "cookie") if h in headers]
    return found + [q for q in query if q == "api_key"]


# -- redirects ------------------------------------------------------------------------------------


def test_a_redirect_to_another_server_is_refused_naming_both_origins(
    hostile, api, write_spec, run_spec
) -> None:
    api.orders = srv.orders(25)
    hostile.route("/orders/cursor", redirect(f"{api.url}/orders/cursor"))
    report = run_spec(write_spec(source_spec(hostile, PAGINGS["cursor"])))
    assert report.status == "failed" and report.exit_code == 1
    assert f"http://127.0.0.1:{hostile.port} redirected to http://127.0.0.1:{api.port}, another server" in (
        report.error
    )
    assert "allow_redirects_to" in report.error
    assert api.requests() == []  # not one request reached the other server
    assert hostile.requests()[0].headers["x-api-key"] == srv.API_KEY  # the connection's own server had it


@pytest.mark.parametrize("auth", [KEY, KEY_PARAM], ids=["header", "param"])
def test_an_allowed_origin_is_followed_without_credentials_or_headers(
    auth, hostile, api, write_spec, run_spec, tmp_path
) -> None:
    api.orders = srv.orders(25)

    def back_to_the_api(sock: socket.socket, seen: Seen) -> None:
        # the redirect keeps the query, the credential parameter included: the engine must drop it
        query = "&".join(f"{k}={v}" for k, v in seen.query.items())
        redirect(f"{api.url}/orders/cursor?{query}")(sock, seen)

    hostile.route("/orders/cursor", back_to_the_api)
    text = source_spec(hostile, PAGINGS["cursor"], auth=auth, allow_redirects_to=[api.url])
    report = run_spec(write_spec(text))
    assert report.status == "ok", report.error
    assert [o["id"] for o in output(tmp_path / "out")] == list(range(1, 26))
    assert len(api.requests()) == 3
    for request in api.requests():
        assert carried_a_secret(request["headers"], request["query"]) == []
        assert request["query"].get("limit") == "10"  # the rest of the request went along
    first = hostile.requests()[0]
    assert carried_a_secret(first.headers, first.query) != []  # while the connection's own server had them


def test_a_redirect_on_the_same_server_keeps_credentials_and_headers(
    hostile, write_spec, run_spec, tmp_path
) -> None:
    hostile.route("/v1/orders", redirect("/v2/orders", status=301))
    hostile.route("/v2/orders", json_answer([{"id": 1}, {"id": 2}]))
    report = run_spec(write_spec(source_spec(hostile, {"path": "/v1/orders"}, auth=KEY_PARAM)))
    assert report.status == "ok", report.error
    assert output(tmp_path / "out") == [{"id": 1}, {"id": 2}]
    moved = hostile.requests("/v2/orders")[0]
    assert moved.query["api_key"] == srv.API_KEY and moved.headers["x-tenant"] == TENANT["X-Tenant"]


def test_a_write_is_never_redirected(hostile, api, write_spec, run_spec, tmp_path) -> None:
    hostile.route("/items", redirect(f"{api.url}/items", status=307))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "items.csv").write_text("sku\nS1\n")
    text = (
        "version: 1\nname: items\n"
        + connection(hostile, KEY, headers=TENANT, allow_redirects_to=[api.url])
        + "source: {type: local, path: in}\nparser: {type: csv}\n"
        + "target: {type: http, connection: api, path: /items}\n"
    )
    report = run_spec(write_spec(text))
    assert report.exit_code == 3 and report.counts["written"] == 0
    assert "POST /items answered 307" in rejects(report)[0]["reasons"][0]
    assert api.requests() == []  # a POST is not sent on, not even to an allowed server


def test_a_redirect_loop_is_an_error_with_a_report_not_a_traceback(hostile, write_spec, tmp_path) -> None:
    hostile.route("/a", redirect("/b")).route("/b", redirect("/a"))
    spec = write_spec(source_spec(hostile, {"path": "/a"}))
    done = run_engine("run", str(spec), "--report", "report.json", cwd=tmp_path, env={"API_KEY": srv.API_KEY})
    assert done.code == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "failed"
    port = hostile.port
    assert (
        f"GET /a: a redirect loop (http://127.0.0.1:{port}/a -> http://127.0.0.1:{port}/b -> "
        f"http://127.0.0.1:{port}/a)" in report["error"]
    )
    assert len(hostile.requests()) == 2


def test_a_long_redirect_chain_stops_after_ten_hops(hostile, write_spec, run_spec) -> None:
    for n in range(20):
        hostile.route(f"/r{n}", redirect(f"/r{n + 1}"))
    report = run_spec(write_spec(source_spec(hostile, {"path": "/r0"})))
    assert report.status == "failed" and "more than 10 redirects" in report.error
    assert len(hostile.requests()) == 11


def test_allow_redirects_to_takes_origins_only(write_spec, cli) -> None:
    text = source_spec(
        SimpleNamespace(url="http://127.0.0.1:9"),
        {"path": "/x"},
        allow_redirects_to=["https://cdn.example.com", "cdn.example.com", "https://x/y"],
    )
    result = cli("validate", str(write_spec(text)))
    assert result.exit_code == 2
    assert "connections.api.allow_redirects_to[1]: expected an origin such as https://cdn.example.com" in (
        result.output
    )
    assert "allow_redirects_to[2]" in result.output and "allow_redirects_to[0]" not in result.output


# -- huge answers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "declared"])
def test_a_huge_page_stops_at_max_response_size_in_bounded_memory(
    declared, hostile, write_spec, tmp_path
) -> None:
    hostile.route("/orders", huge(GIB_1_5, declared=declared))
    spec = write_spec(source_spec(hostile, {"path": "/orders", "records": "data"}))
    done = run_engine("run", str(spec), "--report", "report.json", cwd=tmp_path, env={"API_KEY": srv.API_KEY})
    assert done.code == 1, done.stderr
    assert "Traceback" not in done.stderr
    error = json.loads((tmp_path / "report.json").read_text())["error"]
    assert "GET /orders: the answer is larger than max_response_size (32 MB)" in error
    assert ("it announced 1.5 GB" in error) == declared
    assert done.peak_mb < 300, f"peak RSS {done.peak_mb:.0f} MB"


def test_max_response_size_is_configurable(hostile, write_spec, run_spec) -> None:
    hostile.route("/orders", huge(3_000_000))
    report = run_spec(
        write_spec(source_spec(hostile, {"path": "/orders", "records": "data"}, max_response_size="2MB"))
    )
    assert report.status == "failed" and "larger than max_response_size (2 MB)" in report.error


def test_a_huge_answer_to_a_write_stops_the_run_in_bounded_memory(hostile, write_spec, tmp_path) -> None:
    hostile.route("/items", huge(GIB_1_5))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "items.csv").write_text("sku\nS1\n")
    spec = write_spec(
        "version: 1\nname: items\n"
        + connection(hostile, KEY)
        + "source: {type: local, path: in}\nparser: {type: csv}\n"
        + "target: {type: http, connection: api, path: /items}\n"
    )
    done = run_engine("run", str(spec), "--report", "report.json", cwd=tmp_path, env={"API_KEY": srv.API_KEY})
    assert done.code == 1 and "Traceback" not in done.stderr
    error = json.loads((tmp_path / "report.json").read_text())["error"]
    assert "POST /items: the answer is larger than max_response_size" in error
    assert done.peak_mb < 300, f"peak RSS {done.peak_mb:.0f} MB"


def test_a_huge_token_answer_stops_the_run_in_bounded_memory(hostile, write_spec, tmp_path) -> None:
    hostile.route("/oauth/token", huge(GIB_1_5, prefix=b'{"access_token": "'))
    oauth = {
        "oauth2_client_credentials": {
            "token_url": "/oauth/token",
            "client_id": "engine-client",
            "client_secret": "${env:API_KEY}",
        }
    }
    spec = write_spec(source_spec(hostile, {"path": "/orders"}, auth=oauth))
    done = run_engine("run", str(spec), "--report", "report.json", cwd=tmp_path, env={"API_KEY": srv.API_KEY})
    assert done.code == 1 and "Traceback" not in done.stderr
    error = json.loads((tmp_path / "report.json").read_text())["error"]
    assert "token request to /oauth/token: the answer is larger than max_response_size" in error
    assert hostile.requests("/orders") == []
    assert done.peak_mb < 300, f"peak RSS {done.peak_mb:.0f} MB"


def test_json_nested_beyond_reason_is_not_json_not_a_crash(hostile, write_spec, run_spec) -> None:
    deep = b"[" * 200_000

    def answer(sock: socket.socket, seen: Seen) -> None:
        sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(deep), deep)
        )

    hostile.route("/orders", answer)
    report = run_spec(write_spec(source_spec(hostile, {"path": "/orders"})))
    assert report.status == "failed" and "page 1: the answer to GET /orders is not JSON" in report.error


# -- slow answers and endless pages -----------------------------------------------------------------


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_dripping_server_is_cut_off_at_request_timeout(where, hostile, write_spec, tmp_path) -> None:
    hostile.route("/orders", drip(where=where, every=0.05))
    retry = {**FAST_RETRY, "max_attempts": 2}
    spec = write_spec(
        source_spec(hostile, {"path": "/orders"}, read_timeout="2s", request_timeout="1500ms", retry=retry)
    )
    done = run_engine("run", str(spec), "--report", "report.json", cwd=tmp_path, env={"API_KEY": srv.API_KEY})
    assert done.code == 1 and "Traceback" not in done.stderr
    error = json.loads((tmp_path / "report.json").read_text())["error"]
    assert "GET /orders took longer than request_timeout (1.5s) in total" in error
    assert len(hostile.requests("/orders")) == 2  # retried once, as the policy says
    assert done.seconds < 30  # two attempts of 1.5 s; the drip alone would take hours


def test_an_endless_crawl_stops_at_max_pages_and_keeps_the_watermark(
    hostile, write_spec, run_spec, cli
) -> None:
    last = {"page": 3}  # the first run's crawl ends after 3 pages; then the server never stops

    def pages(sock: socket.socket, seen: Seen) -> None:
        n = int(seen.query.get("cursor", "0"))
        following = str(n + 1) if n + 1 < last["page"] else None
        record = {"id": n, "updated_at": f"2026-03-01T10:{n % 60:02d}:00.000Z"}
        json_answer({"data": [record], "meta": {"next": following}})(sock, seen)

    hostile.route("/orders", pages)
    source = {
        "path": "/orders",
        "records": "data",
        "pagination": {"cursor": {"path": "meta.next"}},
        "max_pages": 5,
        "watermark": {"field": "updated_at", "param": "since", "initial": "2020-01-01T00:00:00Z"},
    }
    path = write_spec(source_spec(hostile, source))
    assert run_spec(path).status == "ok"
    stored = 'http.watermark = {"value": "2026-03-01T10:02:00.000Z"'
    assert stored in cli("state", "show", str(path)).output

    last["page"] = 10**9
    report = run_spec(path)
    assert report.status == "failed" and report.exit_code == 1
    assert "page 5: max_pages (5) pages read and the server still offers another" in report.error
    assert "the watermark stays where it was" in report.error
    assert len(hostile.requests("/orders")) == 3 + 5
    assert stored in cli("state", "show", str(path)).output
