"""``engine emulator``: serve the Fluent Commerce emulator until Ctrl-C.

The printed credentials are the seed's local demo login (the default seed's are public and
documented), so printing them is safe and saves a trip to the docs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from engine.emulator.server import Emulator


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", default=8787, show_default=True, type=int, help="Port to listen on (0 = any free port)."
)
@click.option(
    "--seed",
    "seed_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Seed file (YAML) with the starting data; default: the demo seed.",
)
@click.option(
    "--setting",
    "pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Change a behaviour switch, e.g. --setting job_shape=sdk_types (repeatable).",
)
def emulator(host: str, port: int, seed_file: str | None, pairs: tuple[str, ...]) -> None:
    """Run a local Fluent Commerce emulator (OAuth, GraphQL, Batch and Event APIs)."""
    # the server stack loads here, not when the `engine` command line starts
    from engine.emulator.seed import SeedError
    from engine.emulator.server import Emulator
    from engine.emulator.settings import SettingsError, parse_pairs

    try:
        settings = parse_pairs(list(pairs))
        emu = Emulator(seed=seed_file, settings=settings, host=host, port=port)
    except (SettingsError, SeedError) as exc:
        raise click.ClickException(str(exc)) from None

    def announce(server: Emulator) -> None:
        creds = server.credentials
        click.echo(f"Fluent emulator listening on {server.url}")
        click.echo(f"  client_id={creds['client_id']} client_secret={creds['client_secret']}")
        click.echo(
            f"  username={creds['username']} password={creds['password']} retailer_id={creds['retailer_id']}"
        )
        click.echo(f"  control API: {server.url}/_emulator/  (Ctrl-C to stop)", nl=True)

    try:
        emu.serve_forever(announce)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


if __name__ == "__main__":
    emulator()
