"""Lookups against Fluent's GraphQL API (the emulator over real HTTP): batched, paged, retried."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.emulator import Emulator
from engine.runtime.report import EXIT_FAILED, EXIT_OK

QUERY = """
      query($sku: [String], $location: [String], $after: String) {
        inventoryPositions(productRef: $sku, locationRef: $location, first: %(first)d, after: $after) {
          edges { cursor node { productRef locationRef onHand } }
          pageInfo { hasNextPage }
        }
      }"""

SPEC = """
version: 1
name: cycle-count
%(connections)s
source: {type: local, path: inbox, pattern: "*.csv"}
parser: {type: csv, chunk_size: %(chunk)d}
lookups:
  position:
    type: fluent.graphql
    connection: fluent
    key: {sku: sku, location: location}
    batch_size: %(batch)d
    on_error: %(on_error)s
    query: |%(query)s
    records: inventoryPositions.edges[*].node
    match: {sku: productRef, location: locationRef}
mapping:
  fields:
    skuRef:      {source: sku}
    locationRef: {source: location}
    counted:     {source: counted, resolver: int}
    onHand:      {source: $lookup.position.onHand}
    variance:    {expr: "subtract(record.counted, lookup.position.onHand)"}
target: {type: file, writer: jsonl, destination: {type: local, path: out}, name: "{run_id}.jsonl"}
on_error: {max_reject_ratio: 1}
"""


def connections(emu: Emulator) -> str:
    c = emu.credentials
    block = {
        "type": "fluent",
        "base_url": emu.url,
        "client_id": c["client_id"],
        "client_secret": c["client_secret"],
        "username": c["username"],
        "password": c["password"],
        "retailer_id": c["retailer_id"],
        "retry": {"backoff": "20ms", "max_backoff": "100ms", "max_attempts": 5},
    }
    return "connections:\n  fluent: " + json.dumps(block)


def spec(
    emu: Emulator, *, chunk: int = 5000, batch: int = 500, first: int = 5000, on_error: str = "fail"
) -> str:
    return SPEC % {
        "connections": connections(emu),
        "chunk": chunk,
        "batch": batch,
        "query": QUERY % {"first": first},
        "on_error": on_error,
    }


def outputs(tmp_path: Path) -> list[dict]:
    return [
        json.loads(line)
        for f in sorted((tmp_path / "out").glob("*.jsonl"))
        for line in f.read_text().splitlines()
    ]


def graphql_requests(emu: Emulator) -> list[dict]:
    return [
        r for r in emu.requests(path="/graphql", direction="in") if "inventoryPositions" in str(r.get("body"))
    ]


@pytest.fixture
def emu():
    with Emulator() as emulator:
        yield emulator


def positions(emu: Emulator) -> dict[tuple[str, str], int]:
    return {(p["productRef"], p["locationRef"]): p["onHand"] for p in emu.store.inventory_positions}


def test_variance_is_exact_and_one_request_serves_a_batch_of_keys(
    emu, tmp_path, write_spec, run_spec
) -> None:
    known = positions(emu)
    keys = sorted(known)[:120]
    (tmp_path / "inbox").mkdir()
    rows = "".join(f"{sku},{loc},{n % 7}\n" for n, (sku, loc) in enumerate(keys))
    (tmp_path / "inbox" / "counts.csv").write_text("sku,location,counted\n" + rows)
    emu.clear_requests()
    report = run_spec(write_spec(spec(emu, chunk=50, batch=50, first=2)))
    assert report.exit_code == EXIT_OK, report.error
    out = outputs(tmp_path)
    assert len(out) == 120
    for record, (sku, loc) in zip(out, keys, strict=True):
        assert record["onHand"] == known[(sku, loc)]
        assert record["variance"] == record["counted"] - known[(sku, loc)]
    stats = report.lookups["position"]
    # 3 chunks of at most 50 keys, one batch each; the answers come 2 nodes a page
    assert stats["fetched"] == 120 and stats["found"] == 120
    assert len(graphql_requests(emu)) == stats["requests"] == stats["pages"]
    assert stats["requests"] >= 60


def test_a_cached_key_is_not_asked_again(emu, tmp_path, write_spec, run_spec) -> None:
    (tmp_path / "inbox").mkdir()
    (sku, loc) = sorted(positions(emu))[0]
    (tmp_path / "inbox" / "counts.csv").write_text("sku,location,counted\n" + f"{sku},{loc},1\n" * 30)
    report = run_spec(write_spec(spec(emu, chunk=10)))
    assert report.exit_code == EXIT_OK
    assert report.lookups["position"]["fetched"] == 1 and report.lookups["position"]["cached"] == 2


def test_an_unknown_position_is_a_reject_with_its_row(emu, tmp_path, write_spec, run_spec) -> None:
    (tmp_path / "inbox").mkdir()
    (sku, loc) = sorted(positions(emu))[0]
    (tmp_path / "inbox" / "counts.csv").write_text(f"sku,location,counted\n{sku},{loc},1\nNOPE,{loc},2\n")
    report = run_spec(write_spec(spec(emu)))
    assert report.status == "ok" and len(outputs(tmp_path)) == 1
    [entry] = [json.loads(line) for line in Path(report.rejects_path).read_text().splitlines()]
    assert entry["lineage"]["row"] == 2 and entry["lineage"]["line"] == 3
    assert entry["reasons"] == [f"lookup position: no answer for sku 'NOPE', location '{loc}'"]


def test_a_server_failing_three_times_then_answering_is_retried(emu, tmp_path, write_spec, run_spec) -> None:
    (tmp_path / "inbox").mkdir()
    (sku, loc) = sorted(positions(emu))[0]
    (tmp_path / "inbox" / "counts.csv").write_text(f"sku,location,counted\n{sku},{loc},1\n")
    emu.add_fault({"match": {"path_regex": "^/graphql$"}, "when": {"times": 3}, "action": {"status": 500}})
    report = run_spec(write_spec(spec(emu)))
    assert report.exit_code == EXIT_OK, report.error
    assert len(outputs(tmp_path)) == 1


def test_a_server_that_stays_down_fails_the_file_which_waits_for_the_next_run(
    emu, tmp_path, write_spec, run_spec
) -> None:
    (tmp_path / "inbox").mkdir()
    (sku, loc) = sorted(positions(emu))[0]
    (tmp_path / "inbox" / "counts.csv").write_text(f"sku,location,counted\n{sku},{loc},1\n")
    emu.add_fault({"match": {"path_regex": "^/graphql$"}, "action": {"status": 503}})
    report = run_spec(write_spec(spec(emu)))
    assert report.exit_code == EXIT_FAILED
    assert report.items[0].status == "failed" and (tmp_path / "inbox" / "counts.csv").exists()
    emu.clear_faults()
    report = run_spec(write_spec(spec(emu)))
    assert report.exit_code == EXIT_OK and len(outputs(tmp_path)) == 1


def test_with_on_error_reject_the_records_are_rejected_with_their_rows(
    emu, tmp_path, write_spec, run_spec
) -> None:
    (tmp_path / "inbox").mkdir()
    keys = sorted(positions(emu))[:2]
    (tmp_path / "inbox" / "counts.csv").write_text(
        "sku,location,counted\n" + "".join(f"{s},{loc},1\n" for s, loc in keys)
    )
    emu.add_fault({"match": {"path_regex": "^/graphql$"}, "action": {"status": 503}})
    report = run_spec(write_spec(spec(emu, on_error="reject")))
    assert report.exit_code == EXIT_OK and report.counts["rejected"]["lookup"] == 2
    entries = [json.loads(line) for line in Path(report.rejects_path).read_text().splitlines()]
    assert [e["lineage"]["row"] for e in entries] == [1, 2]
    assert all(e["reasons"][0].startswith("lookup position failed for sku") for e in entries)


@pytest.mark.slow
def test_a_100k_row_count_file_asks_one_request_per_chunk_and_the_variance_is_exact(
    tmp_path, write_spec, run_spec
):
    with Emulator(seed={"extends": "default", "generate": {"inventory_positions": 100_000}}) as emu:
        known = positions(emu)
        keys = sorted(known)[:100_000]
        assert len(keys) == 100_000
        (tmp_path / "inbox").mkdir()
        rows = "".join(f"{sku},{loc},{(n * 7) % 130}\n" for n, (sku, loc) in enumerate(keys))
        (tmp_path / "inbox" / "counts.csv").write_text("sku,location,counted\n" + rows)
        emu.clear_requests()
        report = run_spec(write_spec(spec(emu, chunk=5000, batch=5000, first=5000)))
        assert report.exit_code == EXIT_OK, report.error
        stats = report.lookups["position"]
        assert stats["found"] == 100_000 and stats["not_found"] == 0
        # one request per chunk of 5,000: 20, and a few more where a chunk ends with a 1 MiB block
        # of the file read with Arrow (its last chunk is short)
        assert len(graphql_requests(emu)) == stats["requests"], stats
        assert 20 <= stats["requests"] <= 25, stats
        expected = sum((n * 7) % 130 - known[k] for n, k in enumerate(keys))
        out = outputs(tmp_path)
        assert len(out) == 100_000 and sum(r["variance"] for r in out) == expected


def test_refused_credentials_fail_the_run_even_when_errors_reject(
    emu, tmp_path, write_spec, run_spec
) -> None:
    (tmp_path / "inbox").mkdir()
    (sku, loc) = sorted(positions(emu))[0]
    (tmp_path / "inbox" / "counts.csv").write_text(f"sku,location,counted\n{sku},{loc},1\n")
    emu.add_fault({"match": {"path_regex": "^/graphql$"}, "action": {"status": 401}})
    report = run_spec(write_spec(spec(emu, on_error="reject")))
    assert report.exit_code == EXIT_FAILED
    assert report.counts["rejected"]["lookup"] == 0
    assert report.items[0].status == "failed" and "401" in (report.items[0].reason or ""), report.items[
        0
    ].reason
    assert (tmp_path / "inbox" / "counts.csv").exists()


@pytest.mark.slow
def test_a_100k_row_count_file_with_decimal_counts_has_every_variance_exact(tmp_path, write_spec, run_spec):
    from decimal import Decimal

    with Emulator(seed={"extends": "default", "generate": {"inventory_positions": 100_000}}) as emu:
        known = positions(emu)
        keys = sorted(known)[:100_000]
        counted = [f"{n % 130}.{(n * 37) % 100:02d}" for n in range(len(keys))]  # 0.1 + 0.2 style values
        (tmp_path / "inbox").mkdir()
        rows = "".join(f"{s},{loc},{c}\n" for (s, loc), c in zip(keys, counted, strict=True))
        (tmp_path / "inbox" / "counts.csv").write_text("sku,location,counted\n" + rows)
        emu.clear_requests()
        text = spec(emu, chunk=5000, batch=5000, first=5000).replace(
            "    counted:     {source: counted, resolver: int}\n", ""
        )
        report = run_spec(write_spec(text))
        assert report.exit_code == EXIT_OK, report.error
        requests = report.lookups["position"]["requests"]
        assert len(graphql_requests(emu)) == requests and 20 <= requests <= 25  # one per chunk, as above
        out = [
            json.loads(line, parse_float=Decimal)
            for f in sorted((tmp_path / "out").glob("*.jsonl"))
            for line in f.read_text().splitlines()
        ]
        wanted = [Decimal(c) - known[k] for c, k in zip(counted, keys, strict=True)]
        assert [Decimal(str(r["variance"])) for r in out] == wanted  # each one exact, no float drift
        assert sum(wanted) == sum(Decimal(str(r["variance"])) for r in out)
