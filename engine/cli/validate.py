"""``engine validate``: load, validate and compile specs; no network, all problems at once."""

from __future__ import annotations

import json
import sys
from xml.sax.saxutils import escape, quoteattr

import click

from engine import __version__
from engine.api import validate
from engine.cli.common import expand_specs
from engine.secrets import redactor
from engine.spec.diagnostics import Diagnostic


def diagnostics_for(spec: str, allow_custom_code: bool) -> list[Diagnostic]:
    """Compile one spec and return its problems (errors and warnings) instead of raising."""
    return validate(spec, allow_custom_code=allow_custom_code)


def _sarif(results: dict[str, list[Diagnostic]]) -> str:
    runs = [
        {
            "tool": {"driver": {"name": "engine", "version": __version__}},
            "results": [
                {
                    "ruleId": d.code,
                    "level": "error" if d.severity == "error" else "warning",
                    "message": {"text": f"{d.path}: {d.message}"},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": d.file},
                                "region": {"startLine": d.line, "startColumn": d.col},
                            }
                        }
                    ],
                }
                for diags in results.values()
                for d in diags
            ],
        }
    ]
    return json.dumps(
        {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": runs},
        indent=2,
    )


def _junit(results: dict[str, list[Diagnostic]]) -> str:
    failures = sum(1 for diags in results.values() if any(d.severity == "error" for d in diags))
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuite name="engine validate" tests="{len(results)}" failures="{failures}">',
    ]
    for spec, diags in results.items():
        out.append(f'  <testcase classname="engine.validate" name={quoteattr(spec)}>')
        errs = [d for d in diags if d.severity == "error"]
        if errs:
            text = "\n".join(d.render() for d in errs)
            out.append(
                f"    <failure message={quoteattr(f'{len(errs)} problem(s)')}>{escape(text)}</failure>"
            )
        warns = [d for d in diags if d.severity != "error"]
        if warns:
            out.append(f"    <system-out>{escape(chr(10).join(d.render() for d in warns))}</system-out>")
        out.append("  </testcase>")
    out.append("</testsuite>")
    return "\n".join(out)


def _github(d: Diagnostic) -> str:
    kind = "error" if d.severity == "error" else "warning"
    message = f"{d.path}: {d.message}".replace("%", "%25").replace("\n", "%0A")
    return f"::{kind} file={d.file},line={d.line},col={d.col}::{message}"


@click.command("validate")
@click.argument("specs", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif", "junit", "github"]),
    default="text",
    show_default=True,
    help="FILE:LINE:COL lines, JSON, SARIF (code scanning), JUnit XML, or GitHub annotations.",
)
@click.option(
    "--allow-custom-code", is_flag=True, help="Load the Python modules the specs list under plugins."
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def validate_cmd(specs: tuple[str, ...], fmt: str, allow_custom_code: bool, strict: bool) -> None:
    """Check SPECS (files, or directories of *.yaml): schema, plugins, mappings, expressions. Exit 0 or 2.

    Nothing is connected to: `engine check SPEC` reaches the servers.
    """
    results = {spec: diagnostics_for(spec, allow_custom_code) for spec in expand_specs(specs)}
    failed = any(d.severity == "error" or strict for diags in results.values() for d in diags)
    if fmt == "json":
        data = [dict(d.as_dict()) for diags in results.values() for d in diags]
        click.echo(redactor.scrub(json.dumps(data, indent=2)))
    elif fmt == "sarif":
        click.echo(redactor.scrub(_sarif(results)))
    elif fmt == "junit":
        click.echo(redactor.scrub(_junit(results)))
    else:
        for spec, diags in results.items():
            for d in diags:
                click.echo(redactor.scrub(_github(d) if fmt == "github" else d.render()))
            if fmt == "text":
                errs = sum(1 for d in diags if d.severity == "error")
                state = "ok" if not errs else f"{errs} problem{'s' if errs != 1 else ''}"
                click.echo(f"{spec}: {state}", err=True)
    sys.exit(2 if failed else 0)
