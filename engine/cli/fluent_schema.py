"""``engine schema fluent``: an account's GraphQL schema, fetched once into a file specs name.

Validation needs no network, so a spec is checked against the schema file it
names (``schema: fluent-schema.graphql``); this command writes that file by
introspection, through the spec's own ``fluent`` connection (its
credentials, timeouts and retries).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.cli.common import EXIT_INVALID, echo_err, print_diagnostics
from engine.errors import SOURCE, EngineError, SpecError
from engine.runtime.context import Run
from engine.runtime.logs import Log
from engine.spec.compile import compile_connection

#: the file written beside the spec when ``--output`` is not given
DEFAULT_OUTPUT = "fluent-schema.graphql"


def fetch_sdl(spec: Path, connection: str) -> str:
    """The SDL of the schema the server behind ``connection`` in ``spec`` answers introspection with."""
    # graphql-core loads with this command, not with every command line
    from engine.fluent.schemas import introspection_query, sdl_of_introspection

    conn = compile_connection(spec, connection)
    run = Run.offline(spec.stem, spec.parent, {connection: conn}, Log("engine").bind(command="schema fluent"))
    try:
        client = run.connection(connection).client
        answer = client.graphql(introspection_query(), phase=SOURCE)
    finally:
        conn.close()
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), dict):
        errors = answer.get("errors") if isinstance(answer, dict) else answer
        raise SOURCE.fatal(f"connection '{connection}': the server refused the introspection query: {errors}")
    return sdl_of_introspection(answer["data"])


@click.command("fluent")
@click.option(
    "--connection",
    "spec",
    required=True,
    type=click.Path(dir_okay=False, exists=True),
    help="The spec whose fluent connection to ask.",
)
@click.option(
    "--name", "connection", default="fluent", show_default=True, help="The connection's name in the spec."
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help=f"File to write (default: {DEFAULT_OUTPUT} beside the spec).",
)
def fluent_schema_cmd(spec: str, connection: str, output: str | None) -> None:
    """Fetch the GraphQL schema of a spec's Fluent account into an SDL file its blocks can name."""
    path = Path(spec)
    try:
        sdl = fetch_sdl(path, connection)
    except SpecError as exc:
        if exc.diagnostics:
            print_diagnostics(exc.diagnostics)
        else:
            echo_err(str(exc))
        sys.exit(EXIT_INVALID)
    except EngineError as exc:
        echo_err(f"{spec}: {exc}")
        sys.exit(1)
    target = Path(output) if output else path.parent / DEFAULT_OUTPUT
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(sdl, encoding="utf-8")
    tmp.replace(target)
    name = target.name if target.parent.resolve() == path.parent.resolve() else str(target)
    click.echo(str(target))
    echo_err(f"add 'schema: {name}' to the Fluent blocks of {spec} to check them against this account")
