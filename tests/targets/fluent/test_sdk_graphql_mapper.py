"""An SDK GraphQLMutationMapper config drives real mutations: the emulator receives the SDK's variables."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.errors import SpecError
from engine.spec.compile import compile_file
from tests.mapping.sdk.test_sdk_graphql_mapper import HERE, LOCATION, sdk_variables
from tests.targets.fluent._support import connection, posts, rejects

DOCUMENT = "mutation Create($input: CreateLocationInput!) { createLocation(input: $input) { id ref } }"


def test_the_sdks_location_config_creates_locations_through_fluent_graphql(
    emu, tmp_path: Path, write_spec, run_spec
) -> None:
    shutil.copy(HERE / "graphql-create-location.json", tmp_path / "location-mapping.json")
    good = [
        LOCATION,
        {
            **LOCATION,
            "locationRef": "LOC-8",
            "locationName": "Perth",
            "geo": {"latitude": "-31.95", "longitude": "115.86"},
        },
    ]
    bad = {**LOCATION, "locationRef": "LOC-9", "geo": {"latitude": "north", "longitude": "115.86"}}
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "locations.json").write_text(json.dumps([good[0], bad, good[1]]))
    spec = f"""
version: 1
name: sdk-locations
{connection(emu)}
source: {{type: local, path: in}}
parser: {{type: json}}
mapping: {{sdk_graphql_mapper: location-mapping.json}}
target:
  type: fluent.graphql
  connection: fluent
  document: "{DOCUMENT}"
on_error: {{max_reject_ratio: 1}}
"""
    report = run_spec(write_spec(spec))
    assert report.counts["written"] == 2 and report.counts["rejected"]["total"] == 1, report.error
    (reject,) = rejects(report)
    assert (
        "input.primaryAddress.latitude" in reject["reasons"][0] and "sdk.parseFloat" in reject["reasons"][0]
    )
    created = {loc["ref"]: loc for loc in emu.state("locations")}
    assert {"LOC-7", "LOC-8"} <= set(created) and "LOC-9" not in created
    config = json.loads((HERE / "graphql-create-location.json").read_text())
    expected = [result["variables"]["input"] for result in sdk_variables(config, good)]
    sent = [
        value
        for request in posts(emu, "^/graphql$")
        if "createLocation" in request["json"]["query"]
        for value in request["json"]["variables"].values()
    ]
    assert sent == expected, "the variables on the wire are the SDK's"


def test_a_misspelled_input_field_in_the_sdk_config_is_reported_at_its_line(
    emu, tmp_path: Path, write_spec
) -> None:
    config = json.loads((HERE / "graphql-create-location.json").read_text())
    address = config["arguments"]["input"]["primaryAddress"]
    address["stret"] = address.pop("street")
    text = json.dumps(config, indent=1)
    (tmp_path / "location-mapping.json").write_text(text)
    spec = f"""
version: 1
name: sdk-locations
{connection(emu)}
source: {{type: local, path: in}}
parser: {{type: json}}
mapping: {{sdk_graphql_mapper: location-mapping.json}}
target: {{type: fluent.graphql, connection: fluent, document: "{DOCUMENT}"}}
"""
    with pytest.raises(SpecError) as info:
        compile_file(write_spec(spec))
    [diag] = [d for d in info.value.diagnostics if d.severity == "error"]
    line = next(n for n, row in enumerate(text.splitlines(), 1) if '"stret"' in row)
    assert (Path(diag.file).name, diag.line, diag.path) == (
        "location-mapping.json",
        line,
        "arguments.input.primaryAddress.stret",
    )
    assert "AddressInput has no field 'stret' (did you mean 'street'?)" in diag.message
