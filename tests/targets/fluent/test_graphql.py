"""fluent.graphql against the emulator: alias batching with per-record outcomes, upsert, and
faults that must neither lose nor duplicate a mutation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.targets.fluent._support import connection, posts, rejects, write_csv


def location_rows(n: int, start: int = 1) -> list[list[str]]:
    return [[f"NEW-{i:03d}", f"Store {i}", "STORE", "Perth"] for i in range(start, start + n)]


def location_spec(
    emu,
    tmp_path: Path,
    rows: list[list[str]],
    *,
    upsert: bool = False,
    extra: str = "",
    read_timeout: str = "10s",
    concurrency: int = 1,
) -> str:
    write_csv(tmp_path / "in" / "locations.csv", ["ref", "name", "type", "city"], rows)
    upsert_block = (
        "  upsert: {lookup: location, key: ref, update: updateLocation, update_omit: [ref, retailer]}\n"
        if upsert
        else ""
    )
    return f"""
version: 1
name: locations
{connection(emu, read_timeout=read_timeout)}
source: {{type: local, path: in, pattern: "*.csv"}}
parser: {{type: csv}}
mapping:
  fields:
    ref: {{source: ref, required: true}}
    name: {{source: name, when: record.name}}
    type: {{source: type}}
    primaryAddress.city: {{source: city}}
    retailer.id: {{source: $context.retailer_id}}
target:
  type: fluent.graphql
  connection: fluent
  mutation: createLocation
  returning: "id ref"
  aliases_per_request: 10
  concurrency: {concurrency}
{upsert_block}{extra}on_error: {{max_reject_ratio: 1}}
"""


def locations(emu, prefix: str = "NEW-") -> list[dict]:
    return [loc for loc in emu.state("locations") if loc["ref"].startswith(prefix)]


def test_alias_batches_apply_every_record_and_reject_exactly_the_failed(
    emu, tmp_path, write_spec, run_spec
) -> None:
    rows = location_rows(25)
    rows[3] = ["LOC-001", "Clash", "STORE", "Perth"]  # exists: C0123E
    rows[12] = ["NEW-013", "x" * 300, "STORE", "Perth"]  # too long: C0141E
    rows[20] = ["NEW-021", "", "STORE", "Perth"]  # name missing: a variable error
    report = run_spec(write_spec(location_spec(emu, tmp_path, rows)))
    assert report.status == "ok", report.error
    assert report.counts["written"] == 22 and report.counts["rejected"]["target"] == 3
    assert (
        len(posts(emu, "^/graphql$")) == 4
    )  # 3 aliased requests + 1 resend of the batch the bad variable held
    assert report.target["applied"] == 22 and report.target["rejected"] == 3
    created = {loc["ref"] for loc in locations(emu)}
    assert len(created) == 22 and {"NEW-004", "NEW-013", "NEW-021"}.isdisjoint(created)
    by_line = {r["lineage"]["line"]: r for r in rejects(report)}
    assert sorted(by_line) == [5, 14, 22]
    assert "C0123E" in by_line[5]["reasons"][0] and "LOC-001" in by_line[5]["reasons"][0]
    assert by_line[5]["response"]["errors"][0]["extensions"]["code"] == "C0123E"
    assert "C0141E" in by_line[14]["reasons"][0]
    assert "required field 'name'" in by_line[22]["reasons"][0]
    assert by_line[5]["mapped"]["ref"] == "LOC-001" and by_line[5]["original"]["name"] == "Clash"
    first = posts(emu, "^/graphql$")[0]["json"]
    assert (
        first["query"].count(": createLocation(") == 10
        and "createLocation_10: createLocation" in first["query"]
    )
    assert first["variables"]["input_1"]["retailer"] == {"id": "1"}


def test_injected_partial_failure_rejects_only_that_alias(emu, tmp_path, write_spec, run_spec) -> None:
    emu.add_fault(
        {
            "match": {"path_regex": "^/graphql$"},
            "when": {"nth": 1},
            "action": {
                "graphql_partial": {"paths": ["createLocation_3", "createLocation_7"], "code": "C0120E"}
            },
        }
    )
    report = run_spec(write_spec(location_spec(emu, tmp_path, location_rows(10))))
    assert report.counts["written"] == 8 and report.counts["rejected"]["target"] == 2
    assert sorted(r["mapped"]["ref"] for r in rejects(report)) == ["NEW-003", "NEW-007"]
    assert all("C0120E" in r["reasons"][0] for r in rejects(report))


def test_throttling_and_server_codes_are_retried_not_rejected(emu, tmp_path, write_spec, run_spec) -> None:
    create = {"path_regex": "^/graphql$", "graphql_root_field": "createLocation"}
    emu.add_fault({"match": create, "when": {"nth": 1}, "action": {"graphql_error": {"code": "C0011E"}}})
    emu.add_fault(
        {
            "match": create,
            "when": {"nth": 2},
            "action": {"graphql_partial": {"paths": ["createLocation_2"], "code": "S0002E"}},
        }
    )
    report = run_spec(write_spec(location_spec(emu, tmp_path, location_rows(20), upsert=True)))
    assert report.status == "ok", report.error
    assert report.counts["written"] == 20 and report.counts["rejected"]["total"] == 0
    assert len(locations(emu)) == 20
    assert report.target["retried"] == 11  # the whole throttled request, then the alias that failed
    # the emulator applies a mutation before nulling its alias, so the retry's lookup finds it and updates
    assert (report.target["created"], report.target["updated"]) == (19, 1)


def test_upsert_creates_the_missing_and_updates_the_found(emu, tmp_path, write_spec, run_spec) -> None:
    rows = [
        ["LOC-001", "Sydney renamed", "STORE", "Sydney"],
        ["NEW-001", "One", "STORE", "Perth"],
        ["NEW-002", "Two", "STORE", "Perth"],
        ["NEW-001", "One again", "STORE", "Darwin"],
    ]
    report = run_spec(write_spec(location_spec(emu, tmp_path, rows, upsert=True)))
    assert report.status == "ok", report.error
    assert report.counts["written"] == 4
    assert (report.target["created"], report.target["updated"]) == (2, 2)
    assert emu.state("locations", ref="LOC-001")[0]["name"] == "Sydney renamed"
    (one,) = emu.state("locations", ref="NEW-001")
    assert one["name"] == "One again" and one["primaryAddress"]["city"] == "Darwin"
    update = next(r["json"] for r in posts(emu, "^/graphql$") if "updateLocation" in r["json"]["query"])
    sent = update["variables"]["input_1"]
    assert sent["id"] == "1" and "ref" not in sent and "retailer" not in sent


def test_an_update_refusing_a_field_says_to_omit_it(emu, tmp_path, write_spec, run_spec) -> None:
    spec = location_spec(emu, tmp_path, [["LOC-001", "Renamed", "STORE", "Perth"]], upsert=True)
    report = run_spec(write_spec(spec.replace("update_omit: [ref, retailer]", "update_omit: [ref]")))
    (reject,) = rejects(report)
    assert "retailer" in reject["reasons"][0] and "upsert.update_omit" in reject["reasons"][0]


@pytest.mark.parametrize(
    "fault", [{"status": 503, "after_commit": True}, {"hang": 5, "after_commit": True}, {"status": 503}]
)
def test_upsert_settles_an_unknown_outcome_without_duplicates(
    emu, tmp_path, write_spec, run_spec, fault
) -> None:
    emu.add_fault(
        {
            "match": {"method": "POST", "path_regex": "^/graphql$", "graphql_root_field": "createLocation"},
            "when": {"nth": 1},
            "action": fault,
        }
    )
    spec = location_spec(emu, tmp_path, location_rows(12), upsert=True, read_timeout="1500ms")
    report = run_spec(write_spec(spec))
    assert report.status == "ok", report.error
    assert report.counts["written"] == 12 and report.counts["rejected"]["total"] == 0
    refs = [loc["ref"] for loc in locations(emu)]
    assert sorted(refs) == [f"NEW-{i:03d}" for i in range(1, 13)]  # each exactly once
    assert report.target["unknown_outcome"] == 1
    applied_first = fault.get("after_commit", False)
    assert report.target["updated"] == (10 if applied_first else 0)
    assert report.target["created"] == (2 if applied_first else 12)


def test_without_upsert_an_unknown_outcome_is_rejected_not_resent(
    emu, tmp_path, write_spec, run_spec
) -> None:
    emu.add_fault(
        {
            "match": {"method": "POST", "path_regex": "^/graphql$"},
            "when": {"nth": 2},
            "action": {"status": 503, "after_commit": True},
        }
    )
    report = run_spec(write_spec(location_spec(emu, tmp_path, location_rows(15))))
    assert report.counts["written"] == 10 and report.counts["rejected"]["target"] == 5
    assert len(posts(emu, "^/graphql$")) == 2
    assert len(locations(emu)) == 15  # applied once, never twice
    assert all("may or may not have been applied" in r["reasons"][0] for r in rejects(report))


def test_429_with_retry_after_is_honoured(emu, tmp_path, write_spec, run_spec) -> None:
    emu.add_fault(
        {
            "match": {"path_regex": "^/graphql$"},
            "when": {"nth": 1},
            "action": {"status": 429, "headers": {"Retry-After": "1"}},
        }
    )
    report = run_spec(write_spec(location_spec(emu, tmp_path, location_rows(10))))
    assert report.status == "ok" and report.counts["written"] == 10
    times = [_seconds(r["time"]) for r in posts(emu, "^/graphql$")]
    assert len(times) == 2 and times[1] - times[0] >= 1.0


def test_rate_limit_paces_requests(emu, tmp_path, write_spec, run_spec) -> None:
    spec = location_spec(emu, tmp_path, location_rows(60), extra="  rate_limit: 4\n")
    report = run_spec(write_spec(spec.replace("concurrency: 1", "concurrency: 4")))
    assert report.status == "ok" and report.counts["written"] == 60
    times = sorted(_seconds(r["time"]) for r in posts(emu, "^/graphql$"))
    assert len(times) == 6
    # started 0.25 s apart; the first may arrive late (it waits for the token), arrivals jitter a little
    assert times[-1] - times[1] >= 4 * 0.25 - 0.2


def test_concurrent_upserts_of_one_entity_do_not_race(emu, tmp_path, write_spec, run_spec) -> None:
    rows = [[f"NEW-{i % 7:03d}", f"Store {i}", "STORE", "Perth"] for i in range(60)]
    spec = location_spec(emu, tmp_path, rows, upsert=True, concurrency=4)
    report = run_spec(write_spec(spec.replace("aliases_per_request: 10", "aliases_per_request: 5")))
    assert report.status == "ok", report.error
    assert report.counts["written"] == 60 and report.counts["rejected"]["total"] == 0
    assert len(locations(emu)) == 7
    assert report.target["created"] == 7 and report.target["updated"] == 53


def test_a_document_with_variables_from_the_mapping(emu, tmp_path, write_spec, run_spec) -> None:
    orders = {o["ref"]: o["id"] for o in emu.state("orders")}
    write_csv(
        tmp_path / "in" / "status.csv",
        ["id", "status"],
        [[orders["ORD-1001"], "ON_HOLD"], [orders["ORD-1002"], "ON_HOLD"], ["99999", "ON_HOLD"]],
    )
    spec = f"""
version: 1
name: statuses
{connection(emu)}
source: {{type: local, path: in}}
parser: {{type: csv}}
mapping:
  fields:
    input.id: {{source: id}}
    input.status: {{source: status}}
    input.attributes: {{value: [{{name: reason, type: STRING, value: held}}]}}
target:
  type: fluent.graphql
  connection: fluent
  document: |
    mutation Hold($input: UpdateOrderInput!) {{ updateOrder(input: $input) {{ id status }} }}
on_error: {{max_reject_ratio: 1}}
"""
    report = run_spec(write_spec(spec))
    assert report.counts["written"] == 2 and report.counts["rejected"]["target"] == 1
    assert {o["ref"]: o["status"] for o in emu.state("orders")}["ORD-1002"] == "ON_HOLD"
    (reject,) = rejects(report)
    assert reject["lineage"]["line"] == 4 and "C0120E" in reject["reasons"][0]
    assert "updateOrder_3: updateOrder" in posts(emu, "^/graphql$")[0]["json"]["query"]


@pytest.mark.parametrize(
    "target,message",
    [
        ("{type: fluent.graphql, connection: fluent}", "give either mutation"),
        (
            "{type: fluent.graphql, connection: fluent, mutation: createLocation, returning: 'id {'}",
            "target.returning: not a valid GraphQL document",
        ),
        (
            "{type: fluent.graphql, connection: fluent, document: 'query { me { id } }'}",
            "expected a mutation",
        ),
        (
            "{type: fluent.graphql, connection: fluent, document: 'mutation { a }', upsert: {lookup: x, update: y}}",
            "upsert works with mutation",
        ),
    ],
)
def test_spec_problems_are_validation_errors(write_spec, cli, target, message) -> None:
    path = write_spec(f"""
version: 1
name: bad
connections: {{fluent: {{type: fluent, base_url: embedded}}}}
source: {{type: local, path: in}}
parser: {{type: csv}}
target: {target}
""")
    result = cli("validate", str(path))
    assert result.exit_code == 2 and message in result.output, result.output


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
