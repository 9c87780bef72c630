"""The ``http`` lookup against the test REST server over real HTTP: per key, per batch, retried, down."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.runtime.report import EXIT_FAILED, EXIT_OK
from tests.http.server import TOKEN, ApiServer

FAST_RETRY = {"max_attempts": 5, "backoff": "10ms", "max_backoff": "50ms", "max_elapsed": "30s"}

SPEC = """
version: 1
name: prices
connections:
  shop: %(connection)s
source: {type: local, path: inbox, pattern: "*.csv"}
parser: {type: csv}
lookups:
  product: %(lookup)s
mapping:
  fields:
    sku:   {source: sku}
    qty:   {source: qty, resolver: int}
    price: {source: $lookup.product.price, resolver: decimal}
target: {type: file, writer: jsonl, destination: {type: local, path: out}, name: "{run_id}.jsonl"}
on_error: {max_reject_ratio: 1}
"""

PER_KEY = {
    "type": "http",
    "connection": "shop",
    "key": {"sku": "sku"},
    "path": "/products/{sku}",
    "records": "data",
}


@pytest.fixture
def api() -> Iterator[ApiServer]:
    server = ApiServer().start()
    server.auth = "bearer"
    server.products = {f"A{n}": {"sku": f"A{n}", "price": f"{n}.10"} for n in range(1, 7)}
    yield server
    server.stop()


def spec(url: str, **lookup: Any) -> str:
    connection = {"type": "http", "base_url": url, "auth": {"bearer": TOKEN}, "retry": FAST_RETRY}
    return SPEC % {"connection": json.dumps(connection), "lookup": json.dumps({**PER_KEY, **lookup})}


def inbox(tmp_path: Path, *skus: str) -> None:
    (tmp_path / "inbox").mkdir(exist_ok=True)
    (tmp_path / "inbox" / "stock.csv").write_text(
        "sku,qty\n" + "".join(f"{s},{n}\n" for n, s in enumerate(skus))
    )


def outputs(tmp_path: Path) -> list[dict]:
    return [
        json.loads(line)
        for f in sorted((tmp_path / "out").glob("*.jsonl"))
        for line in f.read_text().splitlines()
    ]


def rejects(report: Any) -> list[dict]:
    if not report.rejects_path:
        return []
    return [json.loads(line) for line in Path(report.rejects_path).read_text().splitlines()]


def test_each_key_is_one_request_with_the_connections_auth_and_a_missing_key_is_a_reject_with_its_row(
    api, tmp_path, write_spec, run_spec
) -> None:
    inbox(tmp_path, "A1", "NOPE", "A2", "A1")
    report = run_spec(write_spec(spec(api.url)))
    assert report.exit_code == EXIT_OK and report.status == "ok", report.error
    assert outputs(tmp_path) == [
        {"sku": "A1", "qty": 0, "price": "1.10"},
        {"sku": "A2", "qty": 2, "price": "2.10"},
        {"sku": "A1", "qty": 3, "price": "1.10"},
    ]
    asked = sorted(r["path"] for r in api.requests("/products"))
    assert asked == ["/products/A1", "/products/A2", "/products/NOPE"]  # distinct keys, once each
    assert all(r["headers"]["authorization"] == f"Bearer {TOKEN}" for r in api.requests("/products"))
    [entry] = rejects(report)
    assert entry["stage"] == "lookup" and entry["lineage"]["row"] == 2 and entry["original"]["sku"] == "NOPE"
    assert entry["errors"][0]["lookup"] == "product" and entry["errors"][0]["key"] == {"sku": "NOPE"}
    assert entry["reasons"] == ["lookup product: no answer for sku 'NOPE'"]
    stats = report.lookups["product"]
    assert (stats["found"], stats["not_found"], stats["fetched"], stats["requests"]) == (3, 1, 3, 3)
    assert TOKEN not in Path(report.rejects_path).read_text()


def test_a_server_answering_500_three_times_then_200_is_retried_by_the_connections_policy(
    api, tmp_path, write_spec, run_spec
) -> None:
    inbox(tmp_path, "A1")
    api.fail("/products/A1", 500, times=3)
    report = run_spec(write_spec(spec(api.url)))
    assert report.exit_code == EXIT_OK, report.error
    assert outputs(tmp_path) == [{"sku": "A1", "qty": 0, "price": "1.10"}]
    assert len(api.requests("/products/A1")) == 4
    assert report.lookups["product"]["requests"] == 4 and report.lookups["product"]["retries"] == 3


def test_a_server_that_is_down_fails_the_file_which_the_next_run_delivers(
    api, tmp_path, write_spec, run_spec
) -> None:
    inbox(tmp_path, "A1", "A2")
    url = api.url
    api.stop()
    report = run_spec(write_spec(spec(url)))
    assert report.exit_code == EXIT_FAILED
    assert report.items[0].status == "failed" and (tmp_path / "inbox" / "stock.csv").exists()
    assert (report.items[0].reason or "").startswith(
        "lookups.product: http connection 'shop': GET /products/A"
    )
    assert outputs(tmp_path) == []
    api.start()
    report = run_spec(write_spec(spec(api.url)))
    assert report.exit_code == EXIT_OK, report.error
    assert [r["sku"] for r in outputs(tmp_path)] == ["A1", "A2"]


def test_with_on_error_reject_a_down_server_rejects_each_record_with_its_row_and_the_error(
    api, tmp_path, write_spec, run_spec
) -> None:
    inbox(tmp_path, "A1", "A2")
    url = api.url
    api.stop()
    report = run_spec(write_spec(spec(url, on_error="reject")))
    assert report.exit_code == EXIT_OK and report.counts["rejected"]["lookup"] == 2
    entries = rejects(report)
    assert [e["lineage"]["row"] for e in entries] == [1, 2]
    assert [e["original"]["sku"] for e in entries] == ["A1", "A2"]
    assert all(e["reasons"][0].startswith("lookup product failed for sku 'A") for e in entries)
    assert TOKEN not in Path(report.rejects_path).read_text()


def test_a_refusal_other_than_a_missing_status_fails_the_file_as_a_lookup_error(
    api, tmp_path, write_spec, run_spec
) -> None:
    inbox(tmp_path, "A1")
    api.fail("/products/A1", 403, times=1)
    report = run_spec(write_spec(spec(api.url)))
    assert report.exit_code == EXIT_FAILED
    assert "403" in (report.items[0].reason or "")
    assert len(api.requests("/products/A1")) == 1  # a refusal is not retried


def test_a_batch_of_keys_is_one_request_with_the_list_in_the_query(
    api, tmp_path, write_spec, run_spec
) -> None:
    inbox(tmp_path, "A1", "A2", "NOPE", "A3", "A2")
    lookup = {"path": "/products", "params": {"sku": "{sku}"}, "batch": True, "match": "sku"}
    report = run_spec(write_spec(spec(api.url, **lookup)))
    assert report.exit_code == EXIT_OK, report.error
    assert [(r["sku"], r["price"]) for r in outputs(tmp_path)] == [
        ("A1", "1.10"),
        ("A2", "2.10"),
        ("A3", "3.10"),
        ("A2", "2.10"),
    ]
    [asked] = api.requests("/products")
    assert asked["raw_path"] == "/products" and report.lookups["product"]["requests"] == 1
    assert [e["original"]["sku"] for e in rejects(report)] == ["NOPE"]


def test_a_batch_can_be_joined_into_one_parameter_or_sent_as_a_json_list(
    api, tmp_path, write_spec, run_spec
) -> None:
    inbox(tmp_path, "A1", "A2", "A3")
    joined = {"path": "/products", "params": {"skus": "{sku}"}, "batch": True, "join": ",", "batch_size": 2}
    report = run_spec(write_spec(spec(api.url, **joined)))
    assert report.exit_code == EXIT_OK, report.error
    assert [r["query"] for r in api.requests("/products")] == [{"skus": "A1,A2"}, {"skus": "A3"}]
    searched = {"path": "/products/search", "method": "POST", "body": {"skus": "{sku}"}, "batch": True}
    (tmp_path / "spec.yaml").unlink()
    for f in (tmp_path / "out").glob("*"):
        f.unlink()
    inbox(tmp_path, "A4", "A5")
    report = run_spec(write_spec(spec(api.url, **searched)))
    assert report.exit_code == EXIT_OK, report.error
    assert [r["body"] for r in api.requests("/products/search")] == [{"skus": ["A4", "A5"]}]
    assert [r["price"] for r in outputs(tmp_path)] == ["4.10", "5.10"]


def test_per_key_requests_run_concurrently_up_to_the_limit(api, tmp_path, write_spec, run_spec) -> None:
    api.product_delay = 0.2
    inbox(tmp_path, "A1", "A2", "A3", "A4", "A5", "A6")
    report = run_spec(write_spec(spec(api.url, concurrency=3)))
    assert report.exit_code == EXIT_OK, report.error
    assert 1 < api.peak <= 3
    api.peak = 0
    for f in (tmp_path / "out").glob("*"):
        f.unlink()
    inbox(tmp_path, "A1", "A2", "A3")
    report = run_spec(write_spec(spec(api.url, concurrency=1)))
    assert report.exit_code == EXIT_OK, report.error
    assert api.peak == 1


def test_the_lookups_rate_limit_spaces_its_requests(api, tmp_path, write_spec, run_spec) -> None:
    inbox(tmp_path, "A1", "A2", "A3", "A4", "A5", "A6")
    started = time.monotonic()
    report = run_spec(write_spec(spec(api.url, rate_limit=5, concurrency=6)))
    assert report.exit_code == EXIT_OK, report.error
    # six requests at five a second: the last leaves a second after the first (a lower bound only)
    assert time.monotonic() - started >= 0.9


@pytest.mark.parametrize(
    ("lookup", "message"),
    [
        ({"body": {"x": 1}}, "a body needs method: POST"),
        ({"join": ","}, "join is for batch: true"),
        ({"batch": True}, "a key part in the path needs join"),
        ({"path": "/products/{sku"}, "unbalanced"),
        ({"key": "sku"}, "{sku} is not a part of the key (parts: key"),
    ],
)
def test_mistakes_are_validation_errors_at_the_option(api, tmp_path, write_spec, lookup, message) -> None:
    from engine.errors import SpecError
    from engine.spec.compile import compile_file

    with pytest.raises(SpecError) as caught:
        compile_file(write_spec(spec(api.url, **lookup)))
    [d] = [d for d in caught.value.diagnostics if d.path.startswith("lookups")]
    assert d.path.startswith("lookups.product") and message in d.message, (d.path, d.message)


def test_a_dry_run_asks_the_live_lookup_and_prints_the_enriched_records(
    api, tmp_path, write_spec, run_spec
) -> None:
    import io

    inbox(tmp_path, "A1", "A2")
    out = io.StringIO()
    report = run_spec(write_spec(spec(api.url)), dry_run=True, out=out)
    assert report.exit_code == EXIT_OK, report.error
    printed = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    assert [(r["sku"], r["price"]) for r in printed] == [("A1", "1.10"), ("A2", "2.10")]
    assert sorted(r["path"] for r in api.requests("/products")) == ["/products/A1", "/products/A2"]
    assert not (tmp_path / "out").exists() and (tmp_path / "inbox" / "stock.csv").exists()


def test_one_key_failing_rejects_only_its_records_with_on_error_reject(
    api, tmp_path, write_spec, run_spec
) -> None:
    inbox(tmp_path, "A1", "A2", "A3", "A2")
    api.fail("/products/A2", 500, times=99)
    report = run_spec(write_spec(spec(api.url, on_error="reject")))
    assert report.exit_code == EXIT_OK, report.error
    assert [r["sku"] for r in outputs(tmp_path)] == ["A1", "A3"]
    entries = rejects(report)
    assert [(e["lineage"]["row"], e["original"]["sku"]) for e in entries] == [(2, "A2"), (4, "A2")]
    assert "answered 500" in entries[0]["reasons"][0]


def test_one_key_failing_fails_the_file_by_default(api, tmp_path, write_spec, run_spec) -> None:
    inbox(tmp_path, "A1", "A2", "A3")
    api.fail("/products/A2", 500, times=99)
    report = run_spec(write_spec(spec(api.url)))
    assert report.exit_code == EXIT_FAILED and outputs(tmp_path) == []
    reason = report.items[0].reason or ""
    assert reason.startswith(
        "lookups.product: 1 of 3 keys failed; the first: http connection 'shop': GET /products/A2"
    )
    assert (tmp_path / "inbox" / "stock.csv").exists()
