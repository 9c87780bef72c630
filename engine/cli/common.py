"""Helpers shared by commands: loading specs, printing diagnostics and errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from engine.errors import EngineError, SpecError
from engine.secrets import redactor
from engine.spec.compile import compile_file
from engine.spec.diagnostics import Diagnostic

EXIT_INVALID = 2
#: what a directory given to ``engine validate`` / ``engine test`` expands to
SPEC_SUFFIXES = (".yaml", ".yml")


def expand_specs(paths: tuple[str, ...]) -> list[str]:
    """Spec files from the arguments: files as given, directories as every ``*.yaml``/``*.yml`` below them.

    Hidden directories (``.engine/`` state, ``.git``) are not searched; files
    come in name order. A directory holding no spec is a usage error.
    """
    out: list[str] = []
    for arg in paths:
        path = Path(arg)
        if not path.is_dir():
            out.append(arg)
            continue
        found = sorted(
            p
            for p in path.rglob("*")
            if p.suffix in SPEC_SUFFIXES
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts[:-1])
        )
        if not found:
            raise click.UsageError(f"{arg}: no spec files (*.yaml, *.yml) in this directory")
        out.extend(str(p) for p in found)
    return out


def echo_err(message: str) -> None:
    """Print to stderr with secrets masked; every command's messages go through here."""
    click.echo(redactor.scrub(message), err=True)


def print_diagnostics(diags: list[Diagnostic]) -> None:
    """Print each diagnostic on stderr, one rendered line (``file:line:col``) per problem."""
    for d in diags:
        echo_err(d.render())


def load_plan(
    spec: str,
    *,
    overrides: list[str] | None = None,
    allow_custom_code: bool = False,
    show_warnings: bool = True,
) -> Any:
    """Compile a spec or exit 2 with every diagnostic."""
    try:
        plan = compile_file(spec, overrides=overrides, allow_custom_code=allow_custom_code)
    except SpecError as exc:
        if exc.diagnostics:
            print_diagnostics(exc.diagnostics)
        else:
            echo_err(f"{spec}: {exc}")
        count = sum(1 for d in exc.diagnostics if d.severity == "error")
        if count:
            echo_err(f"{spec}: {count} problem{'s' if count != 1 else ''}; nothing was run")
        sys.exit(EXIT_INVALID)
    except EngineError as exc:
        echo_err(f"{spec}: {exc}")
        sys.exit(EXIT_INVALID)
    if show_warnings:
        print_diagnostics([d for d in plan.warnings if d.severity == "warning"])
    return plan
