"""The ``http`` target against a live API: bodies, per-record outcomes with lineage, safe resends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.http.conftest import FAST_RETRY, block, connection, rejects
from tests.http.server import ApiServer

ROWS = [("S1", "1", "A-1"), ("S2", "2", "A-2"), ("", "3", "A-3"), ("S4", "4", "A-4"), ("S5", "5", "A-5")]


def write_rows(tmp_path: Path, rows: list[tuple[str, str, str]] = ROWS, name: str = "items.csv") -> None:
    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "in" / name).write_text("sku,qty,ref\n" + "".join(",".join(r) + "\n" for r in rows))


def spec(api: ApiServer, target: dict[str, Any], **conn: Any) -> str:
    return (
        "version: 1\nname: items\n"
        + connection(api, **conn)
        + "source: {type: local, path: in}\nparser: {type: csv}\n"
        + "mapping: {fields: {sku: {source: sku}, qty: {source: qty, resolver: int}, ref: {source: ref}}}\n"
        + block("target", {"type": "http", "connection": "api", **target})
        + "on_error: {max_reject_ratio: 1}\n"
    )


def keys(api: ApiServer) -> list[str | None]:
    return [r["headers"].get("idempotency-key") for r in api.requests("/items")]


def test_one_request_per_record_and_4xx_rejects_with_lineage(api, tmp_path, write_spec, run_spec) -> None:
    write_rows(tmp_path)
    report = run_spec(write_spec(spec(api, {"path": "/items", "concurrency": 1})))
    assert report.status == "ok", report.error
    assert report.counts["written"] == 4 and report.counts["rejected"]["target"] == 1
    assert sorted(i["sku"] for i in api.items.values()) == ["S1", "S2", "S4", "S5"]
    assert [r["body"] for r in api.requests("/items")][:2] == [
        {"sku": "S1", "qty": 1, "ref": "A-1"},
        {"sku": "S2", "qty": 2, "ref": "A-2"},
    ]
    (reject,) = rejects(report)
    assert reject["lineage"] == {
        "uri": (tmp_path / "in" / "items.csv").as_uri(),
        "file": "items.csv",
        "row": 3,
        "line": 4,
    }
    assert reject["reasons"] == [
        'POST /items answered 422: {"error":"sku is required","got":{"sku":"","qty":3,"ref":"A-3"}}'
    ]
    assert reject["response"]["status"] == 422 and reject["response"]["body"]["error"] == "sku is required"
    assert reject["mapped"] == {"sku": "", "qty": 3, "ref": "A-3"}
    assert report.target == {
        "requests": 5,
        "accepted": 4,
        "rejected": 1,
        "retries": 0,
        "resent": 0,
        "unknown_outcome": 0,
    }


def test_path_placeholders_are_encoded_and_missing_values_reject(api, tmp_path, write_spec, run_spec) -> None:
    write_rows(tmp_path, [("S1", "1", "A 1?x=2"), ("S2", "2", "café"), ("S3", "3", "")])
    target = {"method": "PUT", "path": "/items/{ref}", "headers": {"X-Sku": "{sku}"}, "wrapper": "item"}
    report = run_spec(write_spec(spec(api, target)))
    assert report.counts["written"] == 2
    assert sorted(api.items) == ["A 1?x=2", "café"]
    raw = sorted(r["raw_path"] for r in api.requests("/items"))
    assert raw == ["/items/A%201%3Fx%3D2", "/items/caf%C3%A9"]
    assert {r["headers"]["x-sku"] for r in api.requests("/items")} == {"S1", "S2"}
    assert api.items["café"] == {"item": {"sku": "S2", "qty": 2, "ref": "café"}}
    (reject,) = rejects(report)
    assert reject["lineage"]["row"] == 3 and "{ref} has no value in the mapped record" in reject["reasons"][0]


def test_batches_map_per_item_results_back_to_their_rows(api, tmp_path, write_spec, run_spec) -> None:
    write_rows(tmp_path, [(f"S{n}" if n % 3 else "", str(n), f"A-{n}") for n in range(1, 8)])
    target = {
        "path": "/items/batch",
        "body": "batch",
        "batch_size": 3,
        "wrapper": "items",
        "results": {"path": "results", "status": "status", "error": "error"},
    }
    report = run_spec(write_spec(spec(api, target)))
    assert report.status == "ok", report.error
    bodies = [r["body"] for r in api.requests("/items/batch")]
    assert sorted([i["qty"] for i in b["items"]] for b in bodies) == [[1, 2, 3], [4, 5, 6], [7]]
    assert report.counts["written"] == 5 and len(api.items) == 5
    by_row = {r["lineage"]["row"]: r for r in rejects(report)}
    assert sorted(by_row) == [3, 6]
    assert by_row[6]["reasons"] == ["the server refused this record: sku is required"]
    assert by_row[6]["response"] == {"status": 200, "result": {"status": 422, "error": "sku is required"}}
    assert report.target["batches"] == 3 and report.target["requests"] == 3


def test_a_refused_batch_rejects_each_of_its_records(api, tmp_path, write_spec, run_spec) -> None:
    write_rows(tmp_path, [(f"S{n}", str(n), f"A-{n}") for n in range(1, 6)])
    api.fail("/items/batch", 400, body={"error": "batch too large"})
    report = run_spec(
        write_spec(spec(api, {"path": "/items/batch", "body": "batch", "batch_size": 2, "concurrency": 1}))
    )
    assert report.counts["written"] == 3 and [r["lineage"]["row"] for r in rejects(report)] == [1, 2]
    assert all("answered 400" in r["reasons"][0] for r in rejects(report))


def test_results_that_do_not_line_up_are_not_guessed(api, tmp_path, write_spec, run_spec) -> None:
    write_rows(tmp_path, [("S1", "1", "A-1"), ("S2", "2", "A-2")])
    api.fail("/items/batch", 200, body={"results": [{"status": 201}]})
    target = {"path": "/items/batch", "body": "batch", "results": {"path": "results", "status": "status"}}
    report = run_spec(write_spec(spec(api, target)))
    assert report.counts["written"] == 0
    assert all("answered 1 results for 2 records" in r["reasons"][0] for r in rejects(report))


def test_429_waits_as_long_as_retry_after_asks(api, tmp_path, write_spec, run_spec, logs) -> None:
    write_rows(tmp_path)
    api.fail("/items", 429, retry_after="1")
    report = run_spec(write_spec(spec(api, {"path": "/items", "concurrency": 1})))
    assert report.counts["written"] == 4 and report.target["retries"] == 1
    (line,) = [x for x in logs.getvalue().splitlines() if "retrying" in x]
    assert "wait=1" in line and "rate limited (429)" in line
    assert len(api.requests("/items")) == 6 and len(api.items) == 4


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_is_resent_with_the_same_key(status, api, tmp_path, write_spec, run_spec) -> None:
    write_rows(tmp_path, [("S1", "1", "A-1")])
    api.fail("/items", status, times=2)
    report = run_spec(write_spec(spec(api, {"path": "/items", "idempotency_key": {}})))
    assert report.counts["written"] == 1 and report.target["resent"] == 2
    sent = keys(api)
    assert len(sent) == 3 and len(set(sent)) == 1 and len(sent[0] or "") == 64


def test_5xx_without_a_key_rejects_instead_of_resending(api, tmp_path, write_spec, run_spec) -> None:
    write_rows(tmp_path, [("S1", "1", "A-1")])
    api.fail("/items", 503)
    report = run_spec(write_spec(spec(api, {"path": "/items"})))
    assert report.counts["written"] == 0 and len(api.requests("/items")) == 1
    (reject,) = rejects(report)
    assert (
        "answered 503" in reject["reasons"][0] and "may or may not have been applied" in reject["reasons"][0]
    )
    assert report.target["unknown_outcome"] == 1


def test_a_write_committed_before_a_500_is_applied_once(api, tmp_path, write_spec, run_spec) -> None:
    write_rows(tmp_path, [("S1", "1", "A-1"), ("S2", "2", "A-2")])
    api.fail("/items", 500, after_commit=True)
    report = run_spec(write_spec(spec(api, {"path": "/items", "idempotency_key": {}, "concurrency": 1})))
    assert report.status == "ok" and report.counts["written"] == 2
    assert sorted(i["sku"] for i in api.items.values()) == ["S1", "S2"]  # S1 once, though sent twice
    sent = keys(api)
    assert len(sent) == 3 and sent[0] == sent[1] != sent[2]
    assert report.target["resent"] == 1


def test_without_a_key_that_write_is_rejected_not_resent(api, tmp_path, write_spec, run_spec) -> None:
    write_rows(tmp_path, [("S1", "1", "A-1"), ("S2", "2", "A-2")])
    api.fail("/items", 500, after_commit=True)
    report = run_spec(write_spec(spec(api, {"path": "/items", "concurrency": 1})))
    assert report.counts["written"] == 1 and len(api.requests("/items")) == 2
    (reject,) = rejects(report)
    assert reject["lineage"]["row"] == 1 and "may or may not have been applied" in reject["reasons"][0]
    assert len(api.items) == 2  # it had been applied: sending it again would have duplicated it


def test_a_timeout_after_commit_is_resent_safely(api, tmp_path, write_spec, run_spec) -> None:
    write_rows(tmp_path, [("S1", "1", "A-1")])
    api.fail("/items", 500, after_commit=True, delay=3)
    api.key_header = "x-request-key"
    target = {"path": "/items", "idempotency_key": {"header": "X-Request-Key"}}
    report = run_spec(write_spec(spec(api, target, read_timeout="1s")))
    assert report.counts["written"] == 1 and len(api.items) == 1
    sent = [r["headers"].get("x-request-key") for r in api.requests("/items")]
    assert len(sent) == 2 and sent[0] == sent[1]


def test_an_idempotent_api_is_resent_without_a_key(api, tmp_path, write_spec, run_spec) -> None:
    write_rows(tmp_path, [("S1", "1", "A-1")])
    api.fail("/items", 502, after_commit=True)
    report = run_spec(write_spec(spec(api, {"method": "PUT", "path": "/items/{ref}", "idempotent": True})))
    assert report.counts["written"] == 1 and report.target["resent"] == 1
    assert api.items == {"A-1": {"sku": "S1", "qty": 1, "ref": "A-1"}}


def test_on_status_rules_come_first(api, tmp_path, write_spec, run_spec) -> None:
    write_rows(tmp_path, [("S1", "1", "A-1"), ("S2", "2", "A-2")])
    api.fail("/items", 409, body={"error": "exists"})
    api.fail("/items", 423, body={"error": "locked"})
    rules = [{"status": [409], "action": "accept"}, {"status": ["423"], "action": "retry"}]
    report = run_spec(write_spec(spec(api, {"path": "/items", "concurrency": 1, "on_status": rules})))
    assert report.counts["written"] == 2 and report.target["retries"] == 1
    assert [i["sku"] for i in api.items.values()] == ["S2"]  # S1 "existed"; S2 was retried, then stored
    api.fail("/items", 403)
    stop = [{"status": ["4xx"], "action": "fail"}]
    failed = run_spec(
        write_spec(spec(api, {"path": "/items", "on_status": stop}), name="stop.yaml"),
        overrides=["name=stop"],
    )
    assert failed.status == "failed" and "answered 403" in failed.error


def test_keys_stay_the_same_across_runs_of_the_same_file(api, tmp_path, write_spec, run_spec, cli) -> None:
    write_rows(tmp_path, [("S1", "1", "A-1"), ("S2", "2", "A-2")])
    path = write_spec(spec(api, {"path": "/items", "idempotency_key": {}}))
    assert run_spec(path).counts["written"] == 2
    assert cli("state", "clear", "--yes", str(path)).exit_code == 0
    again = run_spec(path)
    assert again.counts["written"] == 2 and len(api.items) == 2  # the server recognised both
    first, second = keys(api)[:2], keys(api)[2:]
    assert sorted(first) == sorted(second) and len(set(first)) == 2
    write_rows(tmp_path, [("S1", "1", "A-1"), ("S2", "7", "A-2")])  # a new version of the file
    assert run_spec(path).counts["written"] == 2
    assert len(api.items) == 4 and not set(keys(api)[4:]) & set(first)


def test_many_records_in_flight_each_settled_once(api, tmp_path, write_spec, run_spec) -> None:
    write_rows(tmp_path, [(f"S{n}", str(n), f"A-{n}") for n in range(60)])
    report = run_spec(write_spec(spec(api, {"path": "/items", "concurrency": 8, "rate_limit": 500})))
    assert report.counts["written"] == 60 and len(api.items) == 60
    assert sorted(int(i["qty"]) for i in api.items.values()) == list(range(60))


def test_batch_paths_cannot_read_record_fields(api, write_spec, cli) -> None:
    text = spec(api, {"path": "/items/{ref}", "body": "batch", "headers": {"X": "{$context.connector}"}})
    result = cli("validate", str(write_spec(text)))
    assert result.exit_code == 2 and "cannot read a record's fields (ref)" in result.output
    bad = spec(api, {"path": "/items", "success": ["2xx", "7xx"], "results": {"path": "r", "status": "s"}})
    result = cli("validate", str(write_spec(bad, name="bad.yaml")))
    assert "target.success: expected statuses such as 201" in result.output
    assert "target.results: results maps a batch answer to its records" in result.output


def test_rejected_records_can_be_replayed_after_a_fix(api, tmp_path, write_spec, run_spec) -> None:
    write_rows(tmp_path)
    path = write_spec(spec(api, {"path": "/items", "idempotency_key": {}}))
    report = run_spec(path)
    (reject,) = rejects(report)
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text(json.dumps({**reject, "original": {"sku": "S3", "qty": "3", "ref": "A-3"}}) + "\n")
    replayed = run_spec(path, replay=fixed)
    assert replayed.counts["written"] == 1 and len(api.items) == 5


def test_a_later_step_reads_the_response_body_an_earlier_http_step_answered(
    api, tmp_path, write_spec, run_spec
):
    write_rows(tmp_path, [("S1", "1", "A-1"), ("S2", "2", "A-2")])
    text = (
        "version: 1\nname: chained\n"
        + connection(api)
        + "source: {type: local, path: in}\nparser: {type: csv}\n"
        + "steps:\n"
        + "  - name: create\n"
        + "    mapping: {fields: {sku: {source: sku}, qty: {source: qty, resolver: int}}}\n"
        + "    target: "
        + json.dumps({"type": "http", "connection": "api", "path": "/items", "concurrency": 2})
        + "\n  - name: tag\n"
        + "    mapping: {fields: {id: {source: $steps.create.answer.id}, ref: {source: ref}}}\n"
        + "    target: "
        + json.dumps({"type": "http", "connection": "api", "method": "PATCH", "path": "/items/{id}"})
        + "\n"
    )
    from engine.runtime.records import RecordLog

    log = RecordLog()
    report = run_spec(write_spec(text), records=log)
    assert report.status == "ok", report.error
    created = {r.row: r.answers["main.create"]["id"] for r in log.outcomes({i.uri for i in report.items})}
    assert sorted(created) == [1, 2]
    for row, ref in ((1, "A-1"), (2, "A-2")):
        assert api.items[str(created[row])]["ref"] == ref  # the second step patched what the first created
    assert report.routes["main.tag"]["written"] == 2


def test_a_later_step_gets_an_answer_whole_though_it_holds_the_connection_s_secret_address(
    api, tmp_path, write_spec, run_spec, monkeypatch
):
    """The label URL sits under the API's address, read from the environment and so masked in output:
    the next step must still send it whole, while the rejects file masks it."""
    monkeypatch.setenv("LABELS_API_URL", api.url)
    write_rows(tmp_path, [("S1", "1", "A-1"), ("S2", "2", "A-2")])
    api.fail("/items", status=422)  # the first item is refused
    conn = {"type": "http", "base_url": "${env:LABELS_API_URL}", "retry": FAST_RETRY}
    text = (
        "version: 1\nname: labelled\n"
        + "connections:\n  api: "
        + json.dumps(conn)
        + "\n"
        + "source: {type: local, path: in}\nparser: {type: csv}\n"
        + "steps:\n"
        + "  - name: label\n"
        + "    mapping: {fields: {reference: {source: ref}, carrier: {value: AUSPOST}, from: {value: CUST}, to: {source: sku}}}\n"
        + "    target: {type: http, connection: api, path: /labels}\n"
        + "  - name: item\n"
        + "    mapping: {fields: {sku: {source: $steps.label.answer.labelUrl}, qty: {source: qty, resolver: int}}}\n"
        + "    target: {type: http, connection: api, path: /items, concurrency: 1}\n"
        + "on_error: {max_reject_ratio: 1}\n"
    )
    report = run_spec(write_spec(text))
    assert report.status == "ok", report.error
    urls = {label["reference"]: label["labelUrl"] for label in api.labels.values()}
    assert urls["A-1"].startswith(api.url) and urls["A-2"].startswith(api.url)
    [item] = api.items.values()  # the first item (row 1) was refused, in file order
    assert item["sku"] == urls["A-2"], "the answer reached the next step unmasked"
    [refused] = rejects(report)
    assert (refused["step"], refused["lineage"]["row"]) == ("item", 1)
    assert refused["mapped"]["sku"] == urls["A-1"].replace(api.url, "***")
    assert api.url not in json.dumps(refused)
