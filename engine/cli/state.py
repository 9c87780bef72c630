"""``engine state show|files|runs|clear|retry SPEC``: inspect and repair a connector's state.

A store that cannot be opened (empty, damaged, unreadable) is explained,
with what to do, instead of a traceback; ``clear --force`` repairs a damaged
one by moving it aside. ``clear`` asks first on a terminal and needs
``--yes`` anywhere else. Names from the ledger are printed escaped.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from engine.cli.common import echo_err, load_plan
from engine.errors import CorruptStateError, StateError
from engine.jsonutil import dumps_safe
from engine.printable import printable
from engine.runtime.paths import state_dir

EXIT_FAILED = 1


@contextlib.contextmanager
def _open_store(spec: str, *, force: bool = False) -> Iterator[tuple[Any, Any]]:
    """The compiled plan and its opened store, closed afterwards.

    A store that cannot be opened or read (empty, damaged, unreadable) ends
    the command with exit 1, its reason and what to do, never a traceback.
    With ``force``, a damaged store is moved aside first and an empty one
    started (``clear --force``).
    """
    plan = load_plan(spec, show_warnings=False)
    store = plan.state_store
    base = Path(plan.base_dir)
    try:
        try:
            store.open_for(base)
        except CorruptStateError:
            if not force:
                raise
            aside = store.set_aside(base)
            click.echo(f"moved the damaged store aside to {aside}; a new, empty store starts now")
            store.open_for(base)
        yield plan, store
    except StateError as exc:
        echo_err(f"{spec}: {exc.message}")
        if exc.hint:
            echo_err(f"  what to do: {exc.hint}")
        sys.exit(EXIT_FAILED)


class StateGroup(click.Group):
    """``engine state``: a spec given before the subcommand (``engine state SPEC show``) is explained."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, Any, list[str]]:
        """The subcommand; ``SPEC SUBCOMMAND`` (the old order) is a usage error showing the right one."""
        if args and args[0] not in self.commands and len(args) > 1 and args[1] in self.commands:
            raise click.UsageError(
                f"the subcommand comes first: engine state {args[1]} {args[0]} {' '.join(args[2:])}".rstrip(),
                ctx,
            )
        return super().resolve_command(ctx, args)


@click.group("state", cls=StateGroup)
def state_cmd() -> None:
    """Inspect and repair the state store of a connector: engine state show|files|runs|clear|retry SPEC."""


@state_cmd.command("show")
@click.argument("spec", type=click.Path(dir_okay=False))
def show(spec: str) -> None:
    """Where state lives, the lock, file counts by status, stored values."""
    with _open_store(spec) as (plan, store):
        click.echo(f"connector: {plan.name}")
        click.echo(f"store:     {store.location}")
        click.echo(f"reports:   {state_dir(Path(plan.base_dir)) / 'reports'}")
        store.runs_mark_crashed(plan.name)
        holder = store.lock_holder(plan.name)
        click.echo(
            f"lock:      {'held by ' + holder['owner'] + ' until ' + holder['expires'] if holder else 'free'}"
        )
        files = store.ledger_list(plan.name, limit=1_000_000)
        by_status: dict[str, int] = {}
        for f in files:
            by_status[f["status"]] = by_status.get(f["status"], 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) or "none"
        click.echo(f"files:     {summary}")
        for key, value in store.kv_list(plan.name).items():
            click.echo(f"value:     {key} = {json.dumps(value)}")
        runs = store.runs_list(plan.name, limit=1)
        if runs:
            r = runs[0]
            click.echo(f"last run:  {r['run_id']} {r['status']} (started {r['started']})")


@state_cmd.command("files")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--limit", default=100, show_default=True, help="Show at most this many files.")
def files(spec: str, limit: int) -> None:
    """The processed-file ledger, newest first."""
    with _open_store(spec) as (plan, store):
        for f in store.ledger_list(plan.name, limit=limit):
            extra = f" -> {printable(f['moved_to'])}" if f.get("moved_to") else ""
            err = f"  ({printable(f['error'])})" if f.get("error") else ""
            click.echo(
                f"{f['updated']}  {f['status']:11} attempts={f['attempts']}  {printable(f['name'])}{extra}{err}"
            )


@state_cmd.command("runs")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--limit", default=20, show_default=True, help="Show at most this many runs.")
def runs(spec: str, limit: int) -> None:
    """Recent runs: start, end, status and counts; runs whose process is gone show as crashed."""
    with _open_store(spec) as (plan, store):
        store.runs_mark_crashed(plan.name)
        for r in store.runs_list(plan.name, limit=limit):
            c = r.get("counts") or {}
            rej = (c.get("rejected") or {}).get("total", 0)
            click.echo(
                f"{r['run_id']}  {r['status'] or '?':16} started {r['started']}  ended {r['ended'] or '-'}  "
                f"read={c.get('read', 0)} written={c.get('written', 0)} rejected={rej}"
            )


@state_cmd.command("values")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--namespace", help="Default: state.changed_only's namespace, else the connector's name.")
@click.option("--limit", default=100, show_default=True)
def values(spec: str, namespace: str | None, limit: int) -> None:
    """Stored values of a namespace (what state.changed_only last delivered per key), newest first."""
    with _open_store(spec) as (plan, store):
        ns = namespace or _namespace(plan)
        rows = store.values_list(plan.name, ns, limit=limit)
        click.echo(f"namespace {ns}: {len(rows)} value(s) shown")
        for r in rows:
            until = f"  until {r['expires']}" if r.get("expires") else ""
            click.echo(f"{r['updated']}  {printable(r['key'])} = {dumps_safe(r['value'])}{until}")


def _namespace(plan: Any) -> str:
    changed = plan.state.changed_only
    return str(changed.namespace) if changed is not None and changed.namespace else str(plan.name)


@state_cmd.command("clear")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--yes", "-y", is_flag=True, help="Do not ask: needed when not on a terminal (scripts, CI).")
@click.option(
    "--force",
    is_flag=True,
    help="Also repair a damaged store: move it aside (kept as state.db.broken-TIME) and start an empty one.",
)
@click.option(
    "--namespace",
    help="Forget only the stored values of this namespace (the next run sends every record again).",
)
def clear(spec: str, yes: bool, force: bool, namespace: str | None) -> None:
    """Forget processed files, checkpoints, stored values and the lock (runs stay in history).

    Every file the source lists is then new again: the next run sends them all.
    With --namespace only the stored values of that namespace are forgotten.
    Asks first on a terminal; elsewhere refuses without --yes.
    """
    if force and not yes:
        _confirm_clear(spec)  # before a damaged store is moved aside
    with _open_store(spec, force=force) as (plan, store):
        if not yes and not force:
            _confirm_clear(spec)  # after the store opened: a damaged one is explained first
        if namespace is not None:
            n = store.values_clear(plan.name, namespace)
            click.echo(f"cleared {n} stored value(s) of {plan.name} in namespace {namespace}")
            return
        removed = store.clear(plan.name)
        click.echo(f"cleared state of {plan.name}: " + ", ".join(f"{n} {t}" for t, n in removed.items()))


def _confirm_clear(spec: str) -> None:
    """Ask on a terminal; refuse (exit 1) anywhere else, since nobody can answer."""
    question = (
        f"Clear the state of {spec}? Every file its source lists becomes new again and the next run "
        "sends them all"
    )
    if not sys.stdin.isatty():
        echo_err(f"{spec}: not cleared: engine state clear asks first, and there is no terminal to ask on")
        echo_err("  what to do: add --yes to clear without asking")
        sys.exit(EXIT_FAILED)
    if not click.confirm(question, default=False, err=True):
        echo_err("not cleared")
        sys.exit(EXIT_FAILED)


@state_cmd.command("retry")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.argument("name")
def retry(spec: str, name: str) -> None:
    """Make the file NAME (name or uri) eligible again on the next run."""
    with _open_store(spec) as (plan, store):
        matches = [f for f in store.ledger_list(plan.name, limit=1_000_000) if name in (f["name"], f["uri"])]
        if not matches:
            raise click.ClickException(f"no ledger entry named {name!r}")
        for f in matches:
            store.ledger_forget(plan.name, f["uri"])
            store.checkpoint_clear(plan.name, f["uri"])
            click.echo(f"{printable(f['name'])}: will be processed again on the next run")
