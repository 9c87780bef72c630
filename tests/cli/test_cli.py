"""The command line as a user meets it."""

from __future__ import annotations

import json
from pathlib import Path

QUICKSTART = Path(__file__).resolve().parent.parent.parent / "connectors" / "quickstart" / "quickstart.yaml"


def test_plugins_lists_kinds_and_shows_one_plugin(cli) -> None:
    out = cli("plugins").output
    assert "sources:" in out and "local" in out and "fluent.batch" in out
    one = cli("plugins", "parsers", "csv").output
    assert ("ragged_rows" in one and "default" not in one) or '= "reject"' in one
    assert "example:" in one and "type: csv" in one
    assert "int" in cli("plugins", "resolvers").output


def test_schema_prints_the_composed_json_schema(cli) -> None:
    schema = json.loads(cli("schema").output)
    assert schema["$defs"]["parsers.csv"]["properties"]["delimiter"]["default"] == ","


def test_explain_fills_defaults_and_never_prints_secrets(write_spec, cli, monkeypatch) -> None:
    monkeypatch.setenv("ENGINE_TEST_SECRET", "s3cr3t-value-xyz")
    path = write_spec("""
    version: 1
    name: explain-me
    connections:
      fluent: {type: fluent, base_url: embedded, client_id: DEMO, client_secret: "${env:ENGINE_TEST_SECRET}",
               username: demo, password: plain-text-password}
    source: {type: local, path: in}
    parser: {type: csv}
    target: {type: fluent.batch, connection: fluent}
    """)
    result = cli("explain", str(path))
    assert result.exit_code == 0
    out = result.output
    assert "s3cr3t-value-xyz" not in out and "plain-text-password" not in out
    assert "${env:ENGINE_TEST_SECRET}" in out and "'***'" in out
    assert "delimiter: ','" in out and "batch_size: 1000" in out
    assert "a secret is written in the spec" in out


def test_test_command_shows_a_diff_and_junit(tmp_path, write_spec, cli) -> None:
    path = write_spec("""
    version: 1
    name: t
    source: {type: local, path: in}
    parser: {type: json}
    mapping: {fields: {a: {source: a, resolver: upper}}}
    target: {type: stdout}
    tests:
      - {name: right, input: [{a: x}], expect: [{a: X}]}
      - {name: wrong, input: [{a: y}], expect: [{a: y}]}
    """)
    result = cli("test", str(path))
    assert result.exit_code == 1
    assert "PASS" in result.output and "FAIL" in result.output and '-    "a": "y"' in result.output
    junit = cli("test", "--format", "junit", str(path)).output
    assert 'tests="2" failures="1"' in junit


GRAPHQL_SPEC = """
version: 1
name: g
connections: {fluent: {type: fluent, base_url: embedded}}
source:
  type: fluent.graphql
  connection: fluent
  query: |
    query($first: Int, $after: String) {
      orders(first: $first, after: $after) {
        edges { cursor node { ref items { edges { node { ref quantity } } } } }
        pageInfo { hasNextPage }
      }
    }
  records: orders.edges[*].node
explode: {path: items.edges, parent: {orderRef: ref}}
mapping: {fields: {order: {source: orderRef}, line: {source: node.ref}, qty: {source: node.quantity}}}
target: {type: stdout}
tests:
  - name: a recorded page, exploded
    input: {file: page.json}
    expect: [{order: O1, line: O1-1, qty: 2}, {order: O1, line: O1-2, qty: 0}]
"""


def test_test_command_reads_a_recorded_graphql_page_and_explodes_it(tmp_path, write_spec, cli) -> None:
    page = {
        "data": {
            "orders": {
                "edges": [
                    {
                        "cursor": "T3JkZXI6MQ==",
                        "node": {
                            "ref": "O1",
                            "items": {
                                "edges": [
                                    {"node": {"ref": "O1-1", "quantity": 2}},
                                    {"node": {"ref": "O1-2", "quantity": 0}},
                                ]
                            },
                        },
                    }
                ],
                "pageInfo": {"hasNextPage": False},
            }
        }
    }
    (tmp_path / "page.json").write_text(json.dumps(page))
    path = write_spec(GRAPHQL_SPEC)
    result = cli("test", str(path))
    assert result.exit_code == 0 and "1 passed, 0 failed" in result.output, result.output
    (tmp_path / "page.json").write_text(
        json.dumps({"errors": [{"message": "C0001E: too many"}], "data": None})
    )
    failed = cli("test", str(path))
    assert failed.exit_code == 1
    assert "cannot read the input: page 1: the query failed: C0001E: too many" in failed.output


def test_dry_run_prints_records_and_the_report_goes_to_stderr(cli) -> None:
    result = cli("run", str(QUICKSTART), "--dry-run", "--limit", "3")
    assert result.exit_code == 0
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert [r["skuRef"] for r in lines] == ["SKU-0001", "SKU-0002", "SKU-0003"]


def test_set_overrides_a_spec_value(cli) -> None:
    result = cli("validate", str(QUICKSTART))
    assert result.exit_code == 0
    bad = cli("run", str(QUICKSTART), "--set", "target.batch_size=9000", "--dry-run")
    assert bad.exit_code == 2 and "batch_size must be between 1 and 5000" in bad.output


def test_explain_masks_every_secret_validate_warns_about(write_spec, cli) -> None:
    path = write_spec("""
    version: 1
    name: literal-secrets
    connections:
      api:
        type: http
        base_url: https://api.example.com
        headers: {Authorization: "Bearer header-token-123456", X-Trace: trace-visible}
        auth:
          oauth2_client_credentials:
            token_url: /token
            client_id: cid-visible
            client_secret: client-secret-123456
            params: {client_assertion: signed-jwt-123456, audience: audience-visible}
      keyed: {type: sftp, host: h, username: u, private_key: "-----BEGIN KEY-----\\nkey-material-123456\\n"}
      pathed: {type: sftp, host: h, username: u, private_key: ~/.ssh/path-visible}
    source: {type: sftp, connection: keyed, path: /in}
    parser: {type: csv}
    target: {type: http, connection: api, path: /items, params: {api_key: param-key-123456}}
    trigger:
      webhook: {path: /hook, auth: {type: api_key, api_key: webhook-key-123456}}
    """)
    warned = cli("validate", str(path)).output
    flagged = sorted(
        line.split(" ")[1].rstrip(":")
        for line in warned.splitlines()
        if "literal" in line or "secret is" in line
    )
    assert flagged == [
        "connections.api.auth.oauth2_client_credentials.client_secret",
        "connections.api.auth.oauth2_client_credentials.params.client_assertion",
        "connections.api.headers.Authorization",
        "connections.keyed.private_key",
        "target.params.api_key",
        "trigger.webhook.auth.api_key",
    ]
    out = cli("explain", str(path)).output
    for secret in (
        "header-token",
        "client-secret",
        "signed-jwt",
        "key-material",
        "param-key",
        "webhook-key",
    ):
        assert secret not in out
    assert out.count("'***'") == 6
    for shown in (
        "trace-visible",
        "cid-visible",
        "audience-visible",
        "~/.ssh/path-visible",
        "https://api.example.com",
    ):
        assert shown in out


def test_test_command_fails_an_expect_the_target_would_refuse(write_spec, cli) -> None:
    path = write_spec("""
    version: 1
    name: t
    connections:
      fluent: {type: fluent, base_url: embedded, retailer_id: "1"}
    source: {type: local, path: in}
    parser: {type: csv}
    mapping:
      fields:
        locationRef: {source: store}
        skuRef: {source: sku}
        qty: {source: onHand}
    target: {type: fluent.batch, connection: fluent}
    tests:
      - {name: text quantity, input: [{store: S1, sku: A, onHand: "5"}],
         expect: [{locationRef: S1, skuRef: A, qty: "5"}]}
      - {name: whole quantity, input: [{store: S1, sku: A, onHand: 5}],
         expect: [{locationRef: S1, skuRef: A, qty: 5}]}
    """)
    assert cli("validate", str(path)).exit_code == 0  # what a CSV column holds is known only per row
    result = cli("test", str(path))
    assert result.exit_code == 1
    assert "FAIL" in result.output and "1 passed, 1 failed" in result.output
    assert "the target would refuse what expect holds (fluent.batch: InventoryBatchEntity)" in result.output
    assert "expect[0].qty is Int!: it takes an integer, not '5'" in result.output
