"""``engine run``: run a connector."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.cli.common import EXIT_INVALID, echo_err, load_plan
from engine.contracts import Payload
from engine.jsonutil import dumps_pretty
from engine.plan import Plan
from engine.runtime import logs
from engine.runtime.coordinator import run_with_executor
from engine.runtime.runner import RunOptions


@click.command("run")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Read and map, print records; no writes, moves or state.")
@click.option(
    "--plan",
    "planned",
    is_flag=True,
    help="Read and map, print the exact requests the target would send (--format json: JSON Lines); "
    "nothing is sent, moved or stored.",
)
@click.option("--limit", type=click.IntRange(min=1), help="Stop after N records (unfinished files stay).")
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE", help="Override a spec value.")
@click.option("--fail-if-locked", is_flag=True, help="Exit 1 (not 0) when another run holds the lock.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Write the JSON report here.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    help="Print the final report as text or JSON (on stdout); with --plan, how the requests print.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default=None,
    help="Log lines on stderr from this level up (default: warning on a terminal, else info).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines as text, or one JSON object per line for log collectors.",
)
@click.option(
    "--allow-custom-code", is_flag=True, help="Load the Python modules the spec lists under plugins."
)
@click.option("--since", help="Backfill from this time (ISO-8601); the stored watermark does not move.")
@click.option("--until", help="Backfill up to this time (ISO-8601).")
@click.option(
    "--replay",
    type=click.Path(dir_okay=False, exists=True),
    help="Send the (corrected) records of a rejects file through the mapping and target again.",
)
@click.option(
    "--route",
    help="With --replay and routes: replay only the rejects of this route, sent to this route alone.",
)
@click.option(
    "--step",
    help="With --replay and steps: replay only the rejects of this step (of --route), sent to this step alone.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Share the files between N worker processes (same as executor: {type: processes, workers: N}).",
)
@click.option(
    "--full",
    is_flag=True,
    help="Send every record even when state.changed_only finds it unchanged (values are stored as usual).",
)
@click.option(
    "--payload",
    "payload_file",
    type=click.Path(dir_okay=False, exists=True, allow_dash=True),
    help="Run a payload spec (source: {type: payload}) once with this body ('-' reads stdin).",
)
def run_cmd(
    spec: str,
    dry_run: bool,
    planned: bool,
    limit: int | None,
    overrides: tuple[str, ...],
    fail_if_locked: bool,
    report_path: str | None,
    fmt: str,
    quiet: bool,
    log_level: str | None,
    log_format: str,
    allow_custom_code: bool,
    since: str | None,
    until: str | None,
    replay: str | None,
    route: str | None,
    step: str | None,
    workers: int | None,
    payload_file: str | None,
    full: bool,
) -> None:
    """Run the connector described by SPEC."""
    interactive = sys.stderr.isatty() and not quiet
    dry_run = dry_run or planned
    logs.configure(log_level or ("warning" if interactive or dry_run else "info"), log_format)
    plan = load_plan(spec, overrides=list(overrides), allow_custom_code=allow_custom_code)
    if payload_file is not None:
        _deliver_payload(spec, plan, payload_file)
    options = RunOptions(
        dry_run=dry_run,
        plan=fmt if planned else None,
        limit=limit,
        progress=interactive and not dry_run,
        fail_if_locked=fail_if_locked,
        report_path=Path(report_path) if report_path else None,
        since=since,
        until=until,
        replay=Path(replay) if replay else None,
        route=_route(plan, route, replay),
        step=_step(plan, route, step, replay),
        full=full,
    )
    executor = plan.executor
    if workers is not None:
        from engine.registry import default_registries
        from engine.spec.options import build_options

        cls = default_registries().executors.get("processes")
        executor = cls(
            build_options(cls.Options, cls.schema, {"workers": workers}, ("executor",), None),
            path="--workers",
        )
    report = run_with_executor(
        plan,
        options,
        executor,
        allow_custom_code=allow_custom_code,
        log_level=log_level or "info",
        log_format=log_format,
    )
    if fmt == "json" and not planned:
        click.echo(dumps_pretty(report.as_dict()))
    else:
        echo_err(report.render_text())
    sys.exit(report.exit_code)


def _deliver_payload(spec: str, plan: Plan, payload_file: str) -> None:
    """Hand the file's exact bytes to the spec's payload source (as ``engine serve`` does with a body)."""
    source = plan.source
    if not source.accepts_payload:
        echo_err(
            f"{spec}: --payload needs a spec whose source is {{type: payload}} (this one reads '{source.name}')"
        )
        sys.exit(EXIT_INVALID)
    if payload_file == "-":
        body, name = sys.stdin.buffer.read(), None
    else:
        path = Path(payload_file)
        body, name = path.read_bytes(), path.name
    ext = Path(name).suffix.lstrip(".") if name else "json"
    source.deliver(Payload(body, ext=ext or "bin", name=name))


def _step(plan: Plan, route: str | None, step: str | None, replay: str | None) -> str | None:
    """``--step NAME``: only with ``--replay``, naming a step (of ``--route``, or of any route)."""
    if step is None:
        return None
    routes = plan.routes.routes if plan.routes is not None else ()
    names = sorted({s.name for r in routes if route in (None, r.name) for s in r.steps if s.name})
    if replay is None or step not in names:
        from engine.suggest import did_you_mean

        known = did_you_mean(step, names) or (f" (steps: {', '.join(names)})" if names else "")
        problem = "needs --replay" if replay is None else f"names no step of the spec{known}"
        echo_err(f"--step {step}: {problem}")
        sys.exit(EXIT_INVALID)
    return step


def _route(plan: Plan, route: str | None, replay: str | None) -> str | None:
    """``--route NAME``: only with ``--replay``, and naming one of the spec's routes."""
    if route is None:
        return None
    names = [r.name for r in plan.routes.routes] if plan.routes is not None else []
    if replay is None or route not in names:
        from engine.suggest import did_you_mean

        known = did_you_mean(route, names) or (f" (routes: {', '.join(names)})" if names else "")
        problem = "needs --replay" if replay is None else f"names no route of the spec{known}"
        echo_err(f"--route {route}: {problem}")
        sys.exit(EXIT_INVALID)
    return route
