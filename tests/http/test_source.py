"""The ``http`` source against a live API: every pagination kind, exact limits, strict stops."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.http.conftest import block, connection
from tests.http.server import ApiServer, orders


def spec(api: ApiServer, source: dict[str, Any], *, target: str = "") -> str:
    return (
        "version: 1\nname: orders\n"
        + connection(api)
        + block("source", {"type": "http", "connection": "api", **source})
        + (target or "target: {type: file, writer: jsonl, destination: {type: local, path: out}}\n")
    )


def output(directory: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in sorted(directory.rglob("*.jsonl")):
        records.extend(json.loads(line) for line in path.read_text().splitlines() if line)
    return records


PAGINGS = {
    "page": {
        "path": "/orders/page",
        "records": "data",
        "pagination": {"page": {"size": 10, "size_param": "per_page"}},
    },
    "offset": {"path": "/orders/offset", "records": "items", "pagination": {"offset": {"size": 10}}},
    "cursor": {
        "path": "/orders/cursor",
        "records": "data",
        "pagination": {"cursor": {"path": "meta.next_cursor", "size": 10, "size_param": "limit"}},
    },
    "next_url": {
        "path": "/orders/next",
        "records": "data",
        "pagination": {"next_url": {"path": "links.next", "size": 10, "size_param": "limit"}},
    },
    "link": {"path": "/orders/link", "pagination": {"link": {"size": 10, "size_param": "per_page"}}},
}


@pytest.mark.parametrize("kind", PAGINGS)
def test_every_pagination_kind_reads_every_record_once(kind, api, write_spec, run_spec, tmp_path) -> None:
    api.orders = orders(35)
    report = run_spec(write_spec(spec(api, PAGINGS[kind])))
    assert report.status == "ok", report.error
    assert [o["ref"] for o in output(tmp_path / "out")] == [f"ORD-{n:04d}" for n in range(1, 36)]
    assert report.source["records"] == 35 and report.counts["read"] == 35
    pages = api.requests("/orders")
    # 4 pages of records; page and offset learn the end from the short page, the others from "no next"
    assert report.source["pages"] == len(pages) == 4
    assert report.source["truncated"] is False


@pytest.mark.parametrize("kind", PAGINGS)
def test_max_records_is_exact_and_stops_asking(kind, api, write_spec, run_spec, tmp_path) -> None:
    api.orders = orders(35)
    report = run_spec(write_spec(spec(api, {**PAGINGS[kind], "max_records": 13})))
    assert report.status == "ok", report.error
    assert [o["id"] for o in output(tmp_path / "out")] == list(range(1, 14))
    assert len(api.requests("/orders")) == 2 and report.source["truncated"] is True
    if kind in ("offset", "cursor"):  # next_url and link follow the address the server gave
        assert api.requests("/orders")[1]["query"].get("limit") == "3"  # only what is still needed


def test_a_repeated_cursor_stops_the_run_with_a_clear_error(api, write_spec, run_spec) -> None:
    api.orders, api.repeat_cursor = orders(35), True
    report = run_spec(write_spec(spec(api, PAGINGS["cursor"])))
    assert report.status == "failed" and report.exit_code == 1
    assert "returned the cursor 'c1' again" in report.error
    assert len(api.requests("/orders")) == 2  # the first page gave c1, and c1 gave c1 again


def test_a_server_ignoring_the_page_parameter_does_not_loop(api, write_spec, run_spec) -> None:
    api.orders, api.ignore_page = orders(35), True
    report = run_spec(write_spec(spec(api, PAGINGS["page"])))
    assert report.status == "failed" and "holds the same records as page 1" in report.error
    assert len(api.requests("/orders")) == 2


def test_a_wrong_records_path_names_what_the_answer_has(api, write_spec, run_spec) -> None:
    api.orders = orders(3)
    report = run_spec(write_spec(spec(api, {"path": "/orders/cursor", "records": "items"})))
    assert report.status == "failed"
    assert "nothing at records 'items' (the answer has: data, meta)" in report.error


def test_params_and_a_post_body_carry_paging_and_filters(api, write_spec, run_spec, tmp_path) -> None:
    api.orders = [
        *orders(12),
        {"id": 99, "ref": "ORD-0099", "status": "BOOKED", "updated_at": "2026-03-01T10:30:00.000Z"},
    ]
    source = {
        "path": "/orders/page",
        "method": "POST",
        "records": "data",
        "body": {"status": "CANCELLED"},
        "pagination": {"page": {"size": 5, "size_param": "per_page", "in": "body"}},
    }
    report = run_spec(write_spec(spec(api, source)))
    assert report.status == "ok", report.error
    assert len(output(tmp_path / "out")) == 12
    bodies = [r["body"] for r in api.requests("/orders")]
    assert bodies == [{"status": "CANCELLED", "page": p, "per_page": 5} for p in (1, 2, 3)]


def test_429_with_retry_after_and_503_are_retried(api, write_spec, run_spec, tmp_path, logs) -> None:
    api.orders = orders(15)
    api.fail("/orders", 429, retry_after="1")
    api.fail("/orders", 503)
    report = run_spec(write_spec(spec(api, PAGINGS["cursor"])))
    assert report.status == "ok", report.error
    assert len(output(tmp_path / "out")) == 15
    assert report.source["retries"] == 2 and report.source["requests"] == 4
    waits = [line for line in logs.getvalue().splitlines() if "retrying" in line]
    assert len(waits) == 2 and "wait=1" in waits[0] and "429" in waits[0] and "503" in waits[1]


def test_a_4xx_fails_the_run_naming_the_status_and_answer(api, write_spec, run_spec) -> None:
    api.fail("/orders", 400, body={"error": "unknown filter 'colour'"})
    report = run_spec(write_spec(spec(api, PAGINGS["cursor"])))
    assert report.status == "failed"
    assert "GET /orders/cursor answered 400" in report.error and "unknown filter 'colour'" in report.error
    assert len(api.requests("/orders")) == 1


def test_placeholders_read_the_context(api, write_spec, run_spec) -> None:
    api.orders = orders(2)
    text = spec(
        api, {**PAGINGS["cursor"], "params": {"status": "{$context.wanted}", "note": "{$context.none}"}}
    )
    report = run_spec(write_spec(text + "context: {wanted: CANCELLED}\n"))
    assert report.status == "ok", report.error
    assert api.requests("/orders")[0]["query"] == {"status": "CANCELLED", "limit": "10"}  # no value: left out


def test_credentials_never_follow_a_link_to_another_server(api, write_spec, run_spec) -> None:
    api.orders, api.link_base = orders(25), "http://collector.example"
    report = run_spec(write_spec(spec(api, PAGINGS["link"])))
    assert report.status == "failed" and len(api.requests("/orders")) == 1
    assert "pointed to http://collector.example:80, another server than http://127.0.0.1:" in report.error


def test_an_object_where_a_parameter_goes_is_refused(api, write_spec, run_spec) -> None:
    report = run_spec(
        write_spec(
            spec(api, {**PAGINGS["cursor"], "params": {"filter": "{$context.f}"}}) + "context: {f: {a: 1}}\n"
        )
    )
    assert (
        report.status == "failed"
        and "source.params.filter: an object cannot be a query parameter" in report.error
    )
    assert not api.requests("/orders")
