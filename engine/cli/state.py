"""``engine state SPEC ...``: inspect and repair a connector's state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from engine.cli.common import load_plan
from engine.runtime.paths import state_dir


def _open_store(spec: str) -> tuple[Any, Any]:
    plan = load_plan(spec, show_warnings=False)
    store = plan.state_store
    store.open_for(Path(plan.base_dir))
    return plan, store


@click.group("state")
def state_cmd() -> None:
    """Inspect and repair the state store of a connector."""


@state_cmd.command("show")
@click.argument("spec", type=click.Path(dir_okay=False))
def show(spec: str) -> None:
    """Where state lives, the lock, file counts by status, stored values."""
    plan, store = _open_store(spec)
    try:
        click.echo(f"connector: {plan.name}")
        click.echo(f"store:     {store.file}")
        click.echo(f"reports:   {state_dir(Path(plan.base_dir)) / 'reports'}")
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
    finally:
        store.close()


@state_cmd.command("files")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--limit", default=100, show_default=True)
def files(spec: str, limit: int) -> None:
    """The processed-file ledger, newest first."""
    plan, store = _open_store(spec)
    try:
        for f in store.ledger_list(plan.name, limit=limit):
            extra = f" -> {f['moved_to']}" if f.get("moved_to") else ""
            err = f"  ({f['error']})" if f.get("error") else ""
            click.echo(f"{f['updated']}  {f['status']:11} attempts={f['attempts']}  {f['name']}{extra}{err}")
    finally:
        store.close()


@state_cmd.command("runs")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--limit", default=20, show_default=True)
def runs(spec: str, limit: int) -> None:
    """Recent runs: start, end, status and counts."""
    plan, store = _open_store(spec)
    try:
        for r in store.runs_list(plan.name, limit=limit):
            c = r.get("counts") or {}
            rej = (c.get("rejected") or {}).get("total", 0)
            click.echo(
                f"{r['run_id']}  {r['status'] or '?':16} started {r['started']}  ended {r['ended'] or '-'}  "
                f"read={c.get('read', 0)} written={c.get('written', 0)} rejected={rej}"
            )
    finally:
        store.close()


@state_cmd.command("clear")
@click.argument("spec", type=click.Path(dir_okay=False))
def clear(spec: str) -> None:
    """Forget processed files, checkpoints, stored values and the lock (runs stay in history)."""
    plan, store = _open_store(spec)
    try:
        removed = store.clear(plan.name)
        click.echo(f"cleared state of {plan.name}: " + ", ".join(f"{n} {t}" for t, n in removed.items()))
    finally:
        store.close()


@state_cmd.command("retry")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.argument("name")
def retry(spec: str, name: str) -> None:
    """Make the file NAME (name or uri) eligible again on the next run."""
    plan, store = _open_store(spec)
    try:
        matches = [f for f in store.ledger_list(plan.name, limit=1_000_000) if name in (f["name"], f["uri"])]
        if not matches:
            raise click.ClickException(f"no ledger entry named {name!r}")
        for f in matches:
            store.ledger_forget(plan.name, f["uri"])
            store.checkpoint_clear(plan.name, f["uri"])
            click.echo(f"{f['name']}: will be processed again on the next run")
    finally:
        store.close()
