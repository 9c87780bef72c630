"""``engine serve``: webhook endpoints and cron schedules that trigger specs."""

from __future__ import annotations

import sys

import click

from engine.cli.common import EXIT_INVALID, echo_err, expand_specs, print_diagnostics
from engine.errors import EngineError, SpecError
from engine.runtime import logs
from engine.units import seconds, size_bytes


def _size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    try:
        parsed = size_bytes(value)
    except (ValueError, EngineError) as exc:
        raise click.BadParameter(str(exc)) from None
    if not parsed or parsed <= 0:
        raise click.BadParameter(f"expected a size such as 10MB, got {value!r}")
    return parsed


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        parsed = seconds(value)
    except (ValueError, EngineError) as exc:
        raise click.BadParameter(str(exc)) from None
    if parsed is None or parsed < 0:
        raise click.BadParameter(f"expected a duration such as 60s or 5m, got {value!r}")
    return parsed


def _positive_duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    parsed = _duration(ctx, param, value)
    if parsed <= 0:
        raise click.BadParameter(f"expected a duration longer than 0, such as 10s, got {value!r}")
    return parsed


@click.command("serve")
@click.argument("specs", nargs=-1, required=True, type=click.Path())
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: all).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="Port to listen on (0: any free port; the 'serving' log line names it).",
)
@click.option(
    "--max-body",
    default="10MB",
    show_default=True,
    callback=_size,
    help="Refuse larger webhook bodies with 413.",
)
@click.option(
    "--max-body-total",
    default="100MB",
    show_default=True,
    callback=_size,
    help="Bodies held in memory at once, all requests together; beyond it 503.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Connections open at once; a request beyond them gets 503.",
)
@click.option(
    "--header-timeout",
    default="10s",
    show_default=True,
    callback=_positive_duration,
    help="Close a connection that has not sent a request's headers within this time.",
)
@click.option(
    "--body-timeout",
    default="30s",
    show_default=True,
    callback=_positive_duration,
    help="Refuse (408) a request whose body takes longer to arrive.",
)
@click.option(
    "--queue-size",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Async webhook bodies waiting per spec before 503.",
)
@click.option(
    "--shutdown-timeout",
    default="60s",
    show_default=True,
    callback=_duration,
    help="On SIGTERM/Ctrl-C, wait this long for runs under way.",
)
@click.option(
    "--unhealthy-after",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="/health answers 503 once a spec's last N runs failed (0: never).",
)
@click.option(
    "--otel",
    is_flag=True,
    help="Send OpenTelemetry traces of runs, webhooks and HTTP calls (OTEL_EXPORTER_OTLP_ENDPOINT; the otel extra).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="Log lines on stderr from this level up.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines as text, or one JSON object per line for log collectors.",
)
@click.option(
    "--allow-custom-code", is_flag=True, help="Load the Python modules the specs list under plugins."
)
def serve_cmd(
    specs: tuple[str, ...],
    host: str,
    port: int,
    max_body: int,
    max_body_total: int,
    max_connections: int,
    header_timeout: float,
    body_timeout: float,
    queue_size: int,
    shutdown_timeout: float,
    unhealthy_after: int,
    otel: bool,
    log_level: str,
    log_format: str,
    allow_custom_code: bool,
) -> None:
    """Serve the webhooks and schedules (trigger:) of each SPEC (or every spec in a directory) until SIGTERM or Ctrl-C."""
    from engine.runtime.logs import Log
    from engine.serve import ServeOptions, Server, load_specs

    logs.configure(log_level, log_format)
    try:
        served = load_specs(expand_specs(specs), allow_custom_code=allow_custom_code, log=Log())
    except SpecError as exc:
        print_diagnostics(exc.diagnostics)
        echo_err(exc.message)
        echo_err("nothing is served")
        sys.exit(EXIT_INVALID)
    for spec in served:
        webhook = spec.webhook
        if webhook is not None and webhook.auth is not None and webhook.auth.type == "none":
            echo_err(f"{spec.path}: warning: {webhook.path} accepts requests from anyone (auth: none)")
    options = ServeOptions(
        host=host,
        port=port,
        max_body=max_body,
        max_body_total=max_body_total,
        max_connections=max_connections,
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        queue_size=queue_size,
        shutdown_timeout=shutdown_timeout,
        unhealthy_after=unhealthy_after,
        otel=otel,
        allow_custom_code=allow_custom_code,
    )
    try:
        clean = Server(served, options).serve_forever()
    except EngineError as exc:
        echo_err(str(exc))
        sys.exit(1)
    sys.exit(0 if clean else 1)
