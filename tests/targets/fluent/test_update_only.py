"""fluent.graphql with update_only against the emulator: found entities are updated, the rest rejected
"not found" and never created; merge_attributes keeps stored attributes the mapping does not set."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import SpecError
from engine.fluent.schemas import SHIPPED_HINT
from engine.spec.compile import compile_file
from tests.targets.fluent._support import connection, posts, rejects, write_csv


def spec(emu, tmp_path: Path, rows: list[list[str]], *, merge: bool = False, extra: str = "") -> str:
    write_csv(tmp_path / "in" / "locations.csv", ["ref", "name", "attr", "value"], rows)
    return f"""
version: 1
name: location-names
{connection(emu)}
source: {{type: local, path: in, pattern: "*.csv"}}
parser: {{type: csv}}
mapping:
  fields:
    ref:        {{source: ref, required: true}}
    name:       {{source: name}}
    attributes: {{expr: "[{{name: record.attr, type: 'STRING', value: record.value}}]"}}
target:
  type: fluent.graphql
  connection: fluent
  mutation: updateLocation
  returning: "id ref"
  update_only: {{lookup: location, key: ref, update_omit: [ref], merge_attributes: {str(merge).lower()}}}
{extra}on_error: {{max_reject_ratio: 1}}
"""


def location(emu, ref: str) -> dict | None:
    found = emu.state("locations", ref=ref)
    return found[0] if found else None


def sent_inputs(emu) -> list[dict]:
    """The inputs of every updateLocation the emulator received."""
    out = []
    for request in posts(emu, "^/graphql$"):
        body = request.get("json") or {}
        if "updateLocation" in str(body.get("query")):
            out.extend(v for k, v in (body.get("variables") or {}).items() if k.startswith("input"))
    return out


def test_found_entities_are_updated_and_a_missing_one_is_rejected_not_found_never_created(
    emu, tmp_path, write_spec, run_spec
) -> None:
    rows = [
        ["LOC-001", "Sydney Renamed", "region", "east"],
        ["NOPE-9", "Ghost", "region", "west"],
        ["LOC-002", "Melb", "region", "south"],
    ]
    report = run_spec(write_spec(spec(emu, tmp_path, rows)))
    assert report.status == "ok", report.error
    assert report.counts["written"] == 2 and report.counts["rejected"]["target"] == 1
    assert location(emu, "LOC-001")["name"] == "Sydney Renamed"
    assert location(emu, "LOC-002")["name"] == "Melb"
    assert location(emu, "NOPE-9") is None
    [entry] = rejects(report)
    assert entry["lineage"]["row"] == 2
    assert entry["reasons"] == ["not found: no location with ref 'NOPE-9'; update_only never creates one"]
    assert (
        report.target["updated"] == 2 and report.target["not_found"] == 1 and "created" not in report.target
    )
    assert all("createLocation" not in str(r.get("json")) for r in posts(emu, "^/graphql$"))
    inputs = sent_inputs(emu)
    assert len(inputs) == 2 and all("ref" not in i and i["id"] for i in inputs)  # update_omit, the found id


def test_merge_attributes_sends_the_stored_attributes_with_the_mapped_replacing_by_name(
    emu, tmp_path, write_spec, run_spec
) -> None:
    def run(name: str, attr: str, value: str, merge: bool) -> list[dict]:
        emu.clear_requests()
        path = write_spec(spec(emu, tmp_path, [["LOC-003", "Brisbane", attr, value]], merge=merge))
        report = run_spec(path)
        assert report.status == "ok" and report.counts["written"] == 1, report.error
        [sent] = sent_inputs(emu)
        return sent["attributes"]

    assert run("one", "tier", "gold", merge=False) == [{"name": "tier", "type": "STRING", "value": "gold"}]
    assert run("two", "region", "north", merge=False) == [
        {"name": "region", "type": "STRING", "value": "north"}
    ]
    merged = run("three", "region", "tropics", merge=True)
    assert merged == [
        {"name": "tier", "type": "STRING", "value": "gold"},
        {"name": "region", "type": "STRING", "value": "tropics"},
    ]
    stored = {a["name"]: a["value"] for a in location(emu, "LOC-003")["attributes"]}
    assert stored == {"tier": "gold", "region": "tropics"}


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "{type: fluent.graphql, connection: fluent, mutation: updateLocation, update_only: {lookup: location},"
            " upsert: {lookup: location, update: updateLocation}}",
            "give upsert (create or update) or update_only, not both",
        ),
        (
            "{type: fluent.graphql, connection: fluent, document: 'mutation { x }', update_only: {lookup: location}}",
            "update_only works with mutation, not with a document",
        ),
    ],
)
def test_contradictions_are_validation_errors(emu, write_spec, target, message) -> None:
    text = f"version: 1\nname: x\n{connection(emu)}source: {{type: local, path: in}}\nparser: {{type: csv}}\n"
    text += f"mapping: {{fields: {{ref: {{source: ref}}}}}}\ntarget: {target}\n"
    with pytest.raises(SpecError) as caught:
        compile_file(write_spec(text))
    assert any(message in d.message for d in caught.value.diagnostics), caught.value.diagnostics


def test_the_mapping_is_checked_against_the_update_input_less_what_update_only_fills_or_omits(
    emu, tmp_path, write_spec
) -> None:
    text = spec(emu, tmp_path, [["LOC-001", "x", "a", "b"]]).replace(
        "name:       {source: name}", "nmae: {source: name}"
    )
    with pytest.raises(SpecError) as caught:
        compile_file(write_spec(text))
    messages = [d.message for d in caught.value.diagnostics if d.severity == "error"]
    assert messages == [f"UpdateLocationInput has no field 'nmae' (did you mean 'name'?). {SHIPPED_HINT}"]
