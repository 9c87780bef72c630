"""``engine schema fluent``: an account's schema fetched by introspection into a file specs name."""

from __future__ import annotations

from graphql import build_schema, print_schema

from engine.fluent.sdl import graphql_sdl

QUERY = """  query: |
    query($first: Int, $after: String) {
      locations(first: $first, after: $after) { edges { node { ref } } pageInfo { hasNextPage endCursor } }
    }"""


def _spec(fluent_block, schema: str) -> str:
    return f"""
version: 1
name: locations
{fluent_block()}
source:
  type: fluent.graphql
  connection: fluent
  records: locations.edges[*].node
  cursor_from: page_info
  schema: {schema}
{QUERY}
target: {{type: stdout}}
"""


def test_the_fetched_schema_is_the_one_the_server_serves_and_specs_check_against_it(
    emulator, fluent_block, write_spec, cli, tmp_path
) -> None:
    spec = write_spec(_spec(fluent_block, "account.graphql"))
    refused = cli("validate", str(spec))
    assert refused.exit_code == 2 and "cannot read the schema file" in refused.output
    assert "engine schema fluent --connection SPEC" in refused.output
    emulator.configure(pageinfo_end_cursor=True)  # this account's PageInfo has endCursor
    fetched = cli(
        "schema", "fluent", "--connection", str(spec), "--output", str(tmp_path / "account.graphql")
    )
    assert fetched.exit_code == 0, fetched.output
    sdl = (tmp_path / "account.graphql").read_text()
    assert sdl == print_schema(build_schema(graphql_sdl(["pageinfo_end_cursor"]))) + "\n"
    assert cli("validate", str(spec)).exit_code == 0
    shipped = cli("validate", str(write_spec(_spec(fluent_block, "shipped"), name="shipped.yaml")))
    assert shipped.exit_code == 2
    assert (
        "Cannot query field 'endCursor' on type 'PageInfo' (line 2, column 91 of the document)"
        in shipped.output
    )


def test_the_default_file_lands_beside_the_spec_and_secrets_stay_out(
    emulator, fluent_block, write_spec, cli, tmp_path
) -> None:
    spec = write_spec(_spec(fluent_block, "shipped"))
    result = cli("schema", "fluent", "--connection", str(spec))
    assert result.exit_code == 0
    written = spec.parent / "fluent-schema.graphql"
    assert result.stdout.strip() == str(written) and "add 'schema: fluent-schema.graphql'" in result.output
    assert "type Mutation" in written.read_text()
    secret = emulator.credentials["client_secret"]
    assert secret not in result.output and secret not in written.read_text()


def test_an_unknown_connection_or_refused_credentials_say_so(emulator, fluent_block, write_spec, cli) -> None:
    spec = write_spec(_spec(fluent_block, "shipped"))
    unknown = cli("schema", "fluent", "--connection", str(spec), "--name", "flunt")
    assert unknown.exit_code == 2 and "no connection named 'flunt' (did you mean 'fluent'?)" in unknown.output
    wrong = write_spec(
        _spec(fluent_block, "shipped").replace(emulator.credentials["password"], "nope"), "w.yaml"
    )
    refused = cli("schema", "fluent", "--connection", str(wrong))
    assert refused.exit_code == 1 and "fluent" in refused.output
    assert "nope" not in refused.output
