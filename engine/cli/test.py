"""``engine test``: run specs' ``tests:`` offline."""

from __future__ import annotations

import sys
from xml.sax.saxutils import escape, quoteattr

import click

from engine.cli.common import expand_specs, load_plan
from engine.testing.spec_tests import run_tests


@click.command("test")
@click.argument("specs", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "junit"]),
    default="text",
    show_default=True,
    help="PASS/FAIL lines, or JUnit XML for CI.",
)
@click.option(
    "--allow-custom-code", is_flag=True, help="Load the Python modules the spec lists under plugins."
)
def test_cmd(specs: tuple[str, ...], fmt: str, allow_custom_code: bool) -> None:
    """Run the tests: cases of SPECS (files, or directories of *.yaml), offline. Exit 0 or 1."""
    failed = 0
    total = 0
    junit = []
    for spec in expand_specs(specs):
        plan = load_plan(spec, allow_custom_code=allow_custom_code, show_warnings=False)
        results = run_tests(plan)
        if not results and fmt == "text":
            click.echo(f"{spec}: no tests")
        for r in results:
            total += 1
            failed += not r.ok
            if fmt == "text":
                click.echo(f"{'PASS' if r.ok else 'FAIL'} {spec} :: {r.name}")
                for p in r.problems:
                    click.echo("\n".join("    " + line for line in p.splitlines()))
            junit.append((spec, r))
    if fmt == "junit":
        out = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<testsuite name="engine test" tests="{total}" failures="{failed}">',
        ]
        for spec, r in junit:
            out.append(f"  <testcase classname={quoteattr(spec)} name={quoteattr(r.name)}>")
            if not r.ok:
                out.append(
                    f'    <failure message="mapping test failed">{escape(chr(10).join(r.problems))}</failure>'
                )
            out.append("  </testcase>")
        out.append("</testsuite>")
        click.echo("\n".join(out))
    else:
        click.echo(f"{total - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
