"""``engine check``: reach every connection, the source and the target's (or each route's) destination; send nothing.

Each plugin's :meth:`~engine.contracts.Plugin.check` hook does its kind's
part: a Fluent or OAuth2 connection gets a token, an SFTP connection shakes
hands (its host key checked against the pins) and signs in, an S3 bucket is
asked for, the source's directory is listed and the destination's looked at.
Secrets are resolved on the way, so a missing variable shows here too.
Nothing is read, written, moved or sent, and no state is touched.

A failure is a line with the engine's message and what to do; plugins that
borrow a connection that failed are not checked (their line says why).
"""

from __future__ import annotations

from engine.contracts import Check, Plugin
from engine.errors import EngineError
from engine.plan import Plan
from engine.runtime.context import Run
from engine.runtime.logs import Log
from engine.runtime.outcomes import RunOutcomes

#: what to do when a check failed and the error did not say
HINTS = {
    "connections": "check the connection's address and credentials (engine explain SPEC shows the settings)",
    "source": "check the source's path and that this user may read it",
    "target": "check the target's destination and that this user may write there",
}


def check_plan(plan: Plan, *, log: Log | None = None) -> list[Check]:
    """Every check of ``plan``'s connections, source and target, in that order; plugins closed after."""
    log = log or Log()
    outcomes = RunOutcomes(None, "reject", log, "check")
    run = Run(
        connector=plan.name,
        spec_dir=plan.base_dir,
        dry_run=True,
        connections=plan.connections,
        context=plan.context,
        outcomes=outcomes,
        log=log,
        state=plan.state_store,
        run_id="check",
    )
    results: list[Check] = []
    failed: set[str] = set()
    checked: list[Plugin] = []
    try:
        for name, conn in plan.connections.items():
            checked.append(conn)
            lines = _one(conn, run, f"connections.{name}")
            if not all(c.ok for c in lines):
                failed.add(name)
            results += lines
        routed = plan.routes.targets() if plan.routes is not None else []
        borrowers: tuple[Plugin | None, ...] = (plan.source, plan.target, *routed)
        for plugin in borrowers:
            if plugin is None:
                continue
            if plugin.connection_name in failed:
                results.append(
                    Check(
                        plugin.path,
                        f"not checked: its connection '{plugin.connection_name}' failed",
                        ok=False,
                        hint=f"fix connections.{plugin.connection_name} first",
                    )
                )
                continue
            checked.append(plugin)
            results += _one(plugin, run, plugin.path)
    finally:
        for opened in reversed(checked):
            try:
                opened.close()
            except Exception as exc:  # closing must not hide what the checks found
                log.warning("closing after a check failed", plugin=opened.path, error=str(exc))
    return results


def _one(plugin: Plugin, run: Run, subject: str) -> list[Check]:
    """One plugin's checks, or the one failed line its error makes."""
    try:
        return plugin.check(run)
    except EngineError as exc:
        kind = "target" if subject.startswith("routes[") else subject.split(".", 1)[0]
        hint = exc.hint or HINTS.get(kind)
        return [Check(subject, exc.message, ok=False, hint=hint)]
    except Exception as exc:  # a defect in the plugin, not a verdict on the settings: still one line
        return [Check(subject, f"internal error: {type(exc).__name__}: {exc} (please report it)", ok=False)]
