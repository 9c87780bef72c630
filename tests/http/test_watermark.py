"""Incremental reads of the ``http`` source: the watermark moves only after delivery."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from engine.errors import SourceError
from engine.sources import _http_stamps as stamps
from tests.http.server import orders
from tests.http.test_source import PAGINGS, spec

INITIAL = "2020-01-01T00:00:00Z"
SOURCE = {
    **PAGINGS["cursor"],
    "watermark": {
        "field": "updated_at",
        "param": "updated_since",
        "until_param": "updated_before",
        "initial": INITIAL,
        "overlap": "5m",
    },
}


def yesterday() -> str:
    moment = (datetime.now(UTC) - timedelta(days=1)).replace(second=0, microsecond=0)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def since_params(api) -> list[str | None]:
    return [r["query"].get("updated_since") for r in api.requests("/orders") if "cursor" not in r["query"]]


def test_a_second_run_reads_only_what_changed(api, write_spec, run_spec, tmp_path) -> None:
    api.orders = orders(12, start=yesterday())
    path = write_spec(spec(api, SOURCE))
    first = run_spec(path)
    assert first.status == "ok" and first.counts["read"] == 12
    before = set((tmp_path / "out").rglob("*.jsonl"))
    assert since_params(api) == ["2020-01-01T00:00:00.000Z"]
    last = api.orders[-1]["updated_at"]
    assert first.source["watermark_to"] == last

    changed = dict(api.orders[4], status="CANCELLED", updated_at=_plus(last, minutes=3), total=1)
    api.orders[4] = changed
    api.orders.append(
        {"id": 13, "ref": "ORD-0013", "status": "CANCELLED", "updated_at": _plus(last, minutes=4)}
    )
    second = run_spec(path)
    assert second.status == "ok", second.error
    assert since_params(api)[-1] == _plus(last, minutes=-5)  # the watermark minus the overlap
    # orders 7..12 are in the overlap and unchanged: dropped; order 5 changed again: delivered again
    assert second.counts["read"] == 2 and second.source["overlap_dropped"] == 6
    (new,) = set((tmp_path / "out").rglob("*.jsonl")) - before
    delivered = [json.loads(line) for line in new.read_text().splitlines()]
    assert [o["ref"] for o in delivered] == ["ORD-0005", "ORD-0013"] and delivered[0]["total"] == 1


def test_the_watermark_stays_when_the_target_fails(api, write_spec, run_spec) -> None:
    api.orders = orders(5, start=yesterday())
    api.fail("/items", 503, times=100)
    target = "target: {type: http, connection: api, path: /items, idempotency_key: {}}\n"
    failed = run_spec(write_spec(spec(api, SOURCE, target=target)))
    assert failed.status == "failed"
    ok = run_spec(write_spec(spec(api, SOURCE), name="again.yaml"))
    assert ok.status == "ok" and ok.counts["read"] == 5
    assert since_params(api) == ["2020-01-01T00:00:00.000Z"] * 2  # the failed run stored nothing


def test_max_records_leaves_the_watermark_where_it_was(api, write_spec, run_spec) -> None:
    api.orders = orders(25, start=yesterday())
    path = write_spec(spec(api, {**SOURCE, "max_records": 15}))
    assert run_spec(path).source["truncated"] is True
    again = run_spec(path)
    assert again.source["watermark_from"] == "2020-01-01T00:00:00.000Z"


def test_a_backfill_window_does_not_move_the_watermark(api, write_spec, run_spec) -> None:
    api.orders = orders(30, start="2026-02-01T00:00:00.000Z")
    path = write_spec(spec(api, SOURCE))
    report = run_spec(path, since="2026-02-01T00:10:00Z", until="2026-02-01T00:20:00Z")
    assert report.status == "ok" and report.counts["read"] == 10
    query = api.requests("/orders")[0]["query"]
    assert (query["updated_since"], query["updated_before"]) == (
        "2026-02-01T00:10:00.000Z",
        "2026-02-01T00:20:00.000Z",
    )
    assert "watermark_to" not in report.source
    assert run_spec(path).source["watermark_from"] == "2020-01-01T00:00:00.000Z"


def test_the_bound_can_go_in_a_placeholder_and_until_needs_somewhere_to_go(api, write_spec, run_spec) -> None:
    api.orders = orders(3, start=yesterday())
    source = {
        **PAGINGS["cursor"],
        "params": {"updated_since": "{$context.watermark}"},
        "watermark": {"field": "updated_at", "initial": "2021-05-01T00:00:00Z"},
    }
    path = write_spec(spec(api, source))
    assert run_spec(path).counts["read"] == 3
    assert since_params(api) == ["2021-05-01T00:00:00.000Z"]
    report = run_spec(path, until="2026-01-01T00:00:00Z")
    assert report.status == "failed" and "--until needs watermark.until_param" in report.error


def test_a_watermark_that_is_never_sent_is_a_validation_error(api, write_spec, cli) -> None:
    source = {**PAGINGS["cursor"], "watermark": {"field": "updated_at"}}
    result = cli("validate", str(write_spec(spec(api, source))))
    assert result.exit_code == 2 and "the lower bound is not sent" in result.output


@pytest.mark.parametrize(
    "value,fmt,expected",
    [
        ("2026-03-01T10:00:00Z", "iso", "2026-03-01T10:00:00.000Z"),
        ("2026-03-01T12:00:00+02:00", "iso", "2026-03-01T10:00:00.000Z"),
        (1772359200, "epoch", "2026-03-01T10:00:00.000Z"),
        (1772359200500, "epoch_ms", "2026-03-01T10:00:00.500Z"),
        ("01/03/2026 10:00", "%d/%m/%Y %H:%M", "2026-03-01T10:00:00.000Z"),
        (None, "iso", None),
    ],
)
def test_record_times_are_read_in_their_format(value, fmt, expected) -> None:
    assert stamps.read(value, fmt, "updated_at") == expected


@pytest.mark.parametrize("value,fmt", [("yesterday", "iso"), ("2026-03-01", "%d/%m/%Y")])
def test_a_record_time_that_does_not_parse_names_the_value(value, fmt) -> None:
    with pytest.raises(SourceError, match=repr(value)):
        stamps.read(value, fmt, "page 2 record 7 updated_at")


def test_bounds_are_sent_in_the_format_asked_for() -> None:
    moment = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert [stamps.send(moment, f) for f in ("iso", "epoch", "epoch_ms", "%Y-%m-%d")] == [
        "2026-03-01T10:00:00.000Z",
        1772359200,
        1772359200000,
        "2026-03-01",
    ]


def _plus(text: str, *, minutes: int) -> str:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")) + timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
