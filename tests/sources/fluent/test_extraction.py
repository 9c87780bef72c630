"""Extraction at scale: 25,000 seeded positions through fluent.graphql into files, exactly once,
with exact limits, truthful counts and incremental runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from engine.emulator import Emulator
from tests.sources.fluent._support import extraction_spec, output, update_positions

SEED = {"extends": "default", "time": "2026-01-01T00:00:00.000Z", "generate": {"inventory_positions": 25000}}
WATERMARK = "  watermark: {field: updatedOn, variable: from, overlap: 60s, initial: '2025-12-01T00:00:00Z'}\n"


@pytest.fixture(scope="module")
def _server() -> Iterator[Emulator]:
    with Emulator(seed=SEED) as emu:
        yield emu


@pytest.fixture
def emu(_server: Emulator) -> Emulator:
    _server.reset()
    return _server


def graphql_posts(emu: Emulator) -> list[dict]:
    return [r for r in emu.requests(path="/graphql") if r["method"] == "POST"]


def test_every_position_exactly_once_with_truthful_counts(emu, tmp_path, write_spec, run_spec) -> None:
    report = run_spec(write_spec(extraction_spec(emu, page_size=1000)))
    assert report.status == "ok", report.error
    records = output(tmp_path / "out")
    ids = Counter(r["id"] for r in records)
    assert len(records) == 25000 and max(ids.values()) == 1
    assert set(ids) == {row["id"] for row in emu.state("inventory_positions")}
    assert report.source["pages"] == 25 == len(graphql_posts(emu))
    assert report.source["records"] == 25000 == report.counts["read"] == report.counts["written"]
    assert report.source["duplicates_dropped"] == 0 and report.source["truncated"] is False
    assert all(r["json"]["variables"]["first"] == 1000 for r in graphql_posts(emu))


@pytest.mark.parametrize(
    "max_records,page_size,sizes",
    [(2500, 1000, [1000, 1000, 500]), (1, 500, [1]), (1234, 500, [500, 500, 234])],
)
def test_max_records_is_exact(emu, tmp_path, write_spec, run_spec, max_records, page_size, sizes) -> None:
    spec = extraction_spec(emu, page_size=page_size, source=f"  max_records: {max_records}\n")
    report = run_spec(write_spec(spec))
    assert report.status == "ok", report.error
    records = output(tmp_path / "out")
    assert len(records) == max_records == len({r["id"] for r in records})
    assert [r["json"]["variables"]["first"] for r in graphql_posts(emu)] == sizes
    assert report.source["pages"] == len(sizes) and report.source["records"] == max_records
    assert report.source["truncated"] is True


def test_a_second_incremental_run_reads_only_what_changed(emu, tmp_path, write_spec, run_spec) -> None:
    spec = write_spec(extraction_spec(emu, page_size=5000, source=WATERMARK))
    first = run_spec(spec)
    assert first.status == "ok" and first.source["records"] == 25000
    assert first.source["watermark_from"] == "2025-12-01T00:00:00.000Z"
    assert first.source["watermark_to"] == "2026-01-01T00:00:00.000Z"
    changed = [(f"SKU-{n:04d}", "LOC-003") for n in range(1, 31)]
    update_positions(emu, changed, qty=999)
    emu.clear_requests()

    second = run_spec(spec)
    assert second.status == "ok", second.error
    assert second.source["watermark_from"] == "2025-12-31T23:59:00.000Z"  # one overlap behind
    delivered = [r for r in output(tmp_path / "out") if r["onHand"] == 999]
    assert len(delivered) == 30 and {(r["productRef"], r["locationRef"]) for r in delivered} == set(changed)
    assert second.source["records"] == 30 == second.counts["written"]
    assert second.source["overlap_dropped"] == 25000 - 30  # re-read in the overlap, delivered before

    third = run_spec(spec)
    assert third.status == "ok" and third.source["records"] == 0
    assert third.source["overlap_dropped"] == 30
    assert third.source["watermark_from"] > second.source["watermark_from"]
