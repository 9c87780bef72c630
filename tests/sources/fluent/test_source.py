"""fluent.graphql as a source on the demo data (250 positions): pagination anomalies fail cleanly,
throttling is retried, the watermark moves only after the output is published, backfills."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.emulator import Emulator
from engine.errors import SpecError
from engine.fluent.sdl import graphql_sdl
from tests.sources.fluent._support import extraction_spec, output

WATERMARK = (
    "  watermark: {field: updatedOn, variable: from, until_variable: to, initial: '2020-01-01T00:00:00Z'}\n"
)


@pytest.fixture(scope="module")
def _server() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(_server: Emulator) -> Emulator:
    _server.reset()
    return _server


def anomaly(emu: Emulator, kind: str, nth: int = 2) -> None:
    emu.add_fault(
        {"match": {"path_regex": "^/graphql$"}, "when": {"nth": nth}, "action": {"pagination_anomaly": kind}}
    )


def test_pages_of_demo_data(emu, tmp_path, write_spec, run_spec, cli) -> None:
    spec = write_spec(extraction_spec(emu, page_size=100))
    result = cli("run", str(spec))
    assert result.exit_code == 0, result.output
    assert "source   3 pages read, 250 records" in result.output
    assert len(output(tmp_path / "out")) == 250


@pytest.mark.parametrize(
    "kind,message",
    [
        ("repeat_cursor", "returned cursor"),
        ("missing_cursor", "hasNextPage is true but the last edge's cursor is missing"),
        ("empty_page_with_has_next", "is empty but says hasNextPage"),
    ],
)
def test_a_broken_cursor_stops_the_run_cleanly(emu, tmp_path, write_spec, run_spec, kind, message) -> None:
    anomaly(emu, kind)
    spec = write_spec(extraction_spec(emu, page_size=50, source=WATERMARK))
    report = run_spec(spec)
    assert report.status == "failed" and message in report.error
    assert report.error.startswith("page 2")
    assert (
        not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True
    )  # nothing published
    assert len([r for r in emu.requests(path="/graphql") if r["method"] == "POST"]) <= 3  # no loop
    assert report.exit_code == 1


def test_duplicate_nodes_across_pages_are_dropped_and_counted(emu, tmp_path, write_spec, run_spec) -> None:
    anomaly(emu, "duplicate_node_ids", nth=2)
    report = run_spec(write_spec(extraction_spec(emu, page_size=100)))
    assert report.status == "ok", report.error
    records = output(tmp_path / "out")
    assert len(records) == 250 == len({r["id"] for r in records})
    assert report.source["duplicates_dropped"] == 1


def test_throttled_pages_are_retried(emu, tmp_path, write_spec, run_spec) -> None:
    emu.add_fault(
        {
            "match": {"path_regex": "^/graphql$"},
            "when": {"times": 2},
            "action": {"graphql_error": {"code": "C0011E"}},
        }
    )
    emu.add_fault(
        {"match": {"path_regex": "^/graphql$"}, "when": {"nth": 5}, "action": {"status": 503, "html": True}}
    )
    report = run_spec(write_spec(extraction_spec(emu, page_size=100)))
    assert report.status == "ok", report.error
    assert report.source["pages"] == 3 and len(output(tmp_path / "out")) == 250


def test_partial_data_fails_instead_of_delivering_incomplete_records(
    emu, tmp_path, write_spec, run_spec
) -> None:
    emu.add_fault(
        {
            "match": {"path_regex": "^/graphql$"},
            "when": {"nth": 1},
            "action": {
                "graphql_partial": {"paths": ["inventoryPositions.edges.3.node.onHand"], "code": "C0120E"}
            },
        }
    )
    report = run_spec(write_spec(extraction_spec(emu, page_size=100)))
    assert report.status == "failed" and "partial data" in report.error
    assert "inventoryPositions.edges.3.node.onHand" in report.error


def test_end_cursor_when_the_schema_has_it(emu, tmp_path, write_spec, run_spec) -> None:
    query = """
query Positions($first: Int, $after: String) {
  inventoryPositions(first: $first, after: $after) { edges { node { id ref } } pageInfo { hasNextPage endCursor } }
}"""
    spec = write_spec(extraction_spec(emu, page_size=100, query=query, source="  cursor_from: page_info\n"))
    with pytest.raises(SpecError) as refused:  # Fluent's schema has no endCursor
        run_spec(spec)
    [problem] = [d for d in refused.value.diagnostics if d.severity == "error"]
    assert problem.path == "source.query" and "Cannot query field 'endCursor'" in problem.message
    emu.configure(pageinfo_end_cursor=True)
    # an account whose schema has it: checked against that schema instead of the shipped one
    account = tmp_path / "account.graphql"
    account.write_text(graphql_sdl(["pageinfo_end_cursor"]))
    source = "  cursor_from: page_info\n  schema: account.graphql\n"
    spec = write_spec(extraction_spec(emu, page_size=100, query=query, source=source))
    report = run_spec(spec)
    assert report.status == "ok", report.error
    assert report.source["pages"] == 3 and len({r["id"] for r in output(tmp_path / "out")}) == 250


def test_the_watermark_moves_only_after_the_file_is_published(
    emu, tmp_path, write_spec, run_spec, cli
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "positions.jsonl").write_text("in the way\n")
    target = """  type: file
  writer: jsonl
  name: positions.jsonl
  destination: {type: local, path: out, if_exists: fail}"""
    spec = write_spec(extraction_spec(emu, page_size=100, source=WATERMARK, target=target))
    failed = run_spec(spec)
    assert failed.status == "failed" and "already exists" in failed.error
    state = cli("state", "show", str(spec))
    assert "fluent.graphql.watermark" not in state.output
    (tmp_path / "out" / "positions.jsonl").unlink()
    report = run_spec(spec)
    assert report.status == "ok" and report.source["records"] == 250  # nothing was lost to the failed run
    assert report.source["watermark_from"] == "2020-01-01T00:00:00.000Z"
    assert "fluent.graphql.watermark" in cli("state", "show", str(spec)).output


def test_a_backfill_window_leaves_the_stored_watermark_alone(emu, tmp_path, write_spec, run_spec) -> None:
    spec = write_spec(extraction_spec(emu, page_size=100, source=WATERMARK))
    assert run_spec(spec).source["records"] == 250
    stored = run_spec(spec).source
    assert stored["records"] == 0
    now = emu.now()
    backfill = run_spec(spec, since="2020-01-01T00:00:00Z", until=now)
    assert backfill.status == "ok" and backfill.source["records"] == 250
    assert backfill.source["watermark_from"] == "2020-01-01T00:00:00.000Z"
    posted = [r["json"]["variables"] for r in emu.requests(path="/graphql") if r["method"] == "POST"][-1]
    assert posted["to"].startswith(now[:19])
    after = run_spec(spec).source
    assert after["watermark_from"] == stored["watermark_from"] and after["records"] == 0


def test_until_needs_a_variable_for_it(emu, tmp_path, write_spec, run_spec) -> None:
    source = "  watermark: {field: updatedOn, variable: from}\n"
    report = run_spec(write_spec(extraction_spec(emu, source=source)), until="2030-01-01T00:00:00Z")
    assert report.status == "failed" and "until_variable" in report.error


@pytest.mark.parametrize(
    "source,message",
    [
        ("  page_size_variable: size\n", "the query does not declare $size"),
        ("  watermark: {field: updatedOn, variable: since}\n", "the query does not declare $since"),
        ("  records: inventoryPositions.nodes\n", "does not go through a connection's edges"),
    ],
)
def test_spec_problems_are_validation_errors(emu, write_spec, cli, source, message) -> None:
    text = extraction_spec(emu, source=source)
    if "records:" in source:
        text = text.replace("  records: inventoryPositions.edges[*].node\n", "")
    result = cli("validate", str(write_spec(text)))
    assert result.exit_code == 2 and message in result.output, result.output


def test_refused_credentials_fail_the_run_as_a_source_error(emu, write_spec, run_spec, caplog) -> None:
    secret = str(emu.credentials["client_secret"])
    spec = write_spec(extraction_spec(emu).replace(f'"client_secret": "{secret}"', '"client_secret": "nope"'))
    with caplog.at_level("ERROR", logger="engine"):
        report = run_spec(spec)
    assert report.status == "failed" and "fluent connection 'fluent': credentials refused" in report.error
    [failed] = [r for r in caplog.records if r.getMessage() == "run failed"]
    assert failed.fields["kind"] == "engine.source.auth"  # the source's error, not a target's
