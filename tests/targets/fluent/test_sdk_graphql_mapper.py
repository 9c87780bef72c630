"""An SDK GraphQLMutationMapper config drives real mutations: the emulator receives the SDK's variables."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

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
