"""``engine check SPEC``: can this spec reach everything it needs? Nothing is sent.

One line per check (``ok`` or ``FAIL``, what was checked, and for a failure
what to do). Exit 0 when every check passed, 1 when one failed, 2 for an
invalid spec.
"""

from __future__ import annotations

import dataclasses
import json
import sys

import click

from engine.cli.common import load_plan
from engine.runtime import logs
from engine.runtime.checks import check_plan
from engine.secrets import redactor


@click.command("check")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One line per check, or a JSON list of {subject, ok, message, hint}.",
)
@click.option(
    "--allow-custom-code", is_flag=True, help="Load the Python modules the spec lists under plugins."
)
def check_cmd(spec: str, fmt: str, allow_custom_code: bool) -> None:
    """Connect and sign in to every connection of SPEC and look at its source and destination.

    Secrets are resolved, Fluent and OAuth2 connections get a token, SFTP
    servers are checked against the pinned host key, S3 prefixes and source
    directories are listed, destinations looked at. No record is read or
    sent, no file moved, no state touched. Exit 0 all passed, 1 one failed.
    """
    logs.configure("error", "text")
    plan = load_plan(spec, allow_custom_code=allow_custom_code)
    results = check_plan(plan)
    failed = sum(1 for r in results if not r.ok)
    if fmt == "json":
        click.echo(redactor.scrub(json.dumps([dataclasses.asdict(r) for r in results], indent=2)))
    else:
        width = max((len(r.subject) for r in results), default=0)
        for r in results:
            click.echo(redactor.scrub(f"{'ok  ' if r.ok else 'FAIL'}  {r.subject:{width}}  {r.message}"))
            if not r.ok and r.hint:
                click.echo(redactor.scrub(f"      {'':{width}}  what to do: {r.hint}"))
        if not results:
            click.echo(f"{spec}: nothing to check (no connection, source or destination reaches out)")
        verdict = (
            f"{failed} of {len(results)} checks failed" if failed else f"all {len(results)} checks passed"
        )
        click.echo(f"{spec}: {verdict}; nothing was sent", err=True)
    sys.exit(1 if failed else 0)
