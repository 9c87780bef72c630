"""The Python API: validate, test, check and run a spec from code, as the CLI does.

```python
import engine

problems = [d for d in engine.validate("stock.yaml") if d.severity == "error"]
report = engine.run("stock.yaml", overrides=["source.path=/data/today"])
if report.exit_code:
    raise SystemExit(report.render_text())
```

Each function takes the spec's path and does what the command of the same
name does, returning values instead of printing: diagnostics, test results,
check lines, the run report. Nothing here exits or configures logging
(a dry run writes its records to ``out``) (the engine logs to the ``engine`` logger; configure it as the
application does). This module and the names :mod:`engine` re-exports are
the stable surface (``tests/test_api.py`` holds their signatures); anything
else may change between releases. See docs/python-api.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

from engine.contracts import Check, Payload
from engine.errors import ConfigError, EngineError, SpecError
from engine.plan import Plan
from engine.runtime.report import RunReport
from engine.spec.diagnostics import Diagnostic, sort_diagnostics
from engine.testing.spec_tests import CaseResult

__all__ = ["check", "compile_spec", "run", "test", "validate"]


def compile_spec(
    spec: str | Path, *, overrides: list[str] | None = None, allow_custom_code: bool = False
) -> Plan:
    """Load, validate and compile ``spec``: no network, no state.

    Raises:
        SpecError: the spec is invalid; ``.diagnostics`` lists every problem with its line and column.
    """
    from engine.spec.compile import compile_file

    return compile_file(spec, overrides=overrides, allow_custom_code=allow_custom_code)


def validate(spec: str | Path, *, allow_custom_code: bool = False) -> list[Diagnostic]:
    """Every problem of ``spec``, errors and warnings, sorted by line (``engine validate``); [] when clean.

    An engine error without diagnostics (an unreadable file) becomes one
    diagnostic at line 1, so every spec reports in the same shape.
    """
    name = str(spec)
    try:
        plan = compile_spec(spec, allow_custom_code=allow_custom_code)
    except SpecError as exc:
        return sort_diagnostics(exc.diagnostics or [Diagnostic(name, 1, 1, "(spec)", exc.message)])
    except EngineError as exc:
        return [Diagnostic(name, 1, 1, "(spec)", str(exc))]
    except RecursionError:  # the loader refuses deep nesting with its position; this is the backstop
        return [Diagnostic(name, 1, 1, "(spec)", "the spec is nested too deeply to check")]
    plan.close()
    return list(plan.warnings)


def test(spec: str | Path, *, allow_custom_code: bool = False) -> list[CaseResult]:
    """The results of ``spec``'s ``tests:`` cases, run offline (``engine test``).

    Raises:
        SpecError: the spec is invalid.
    """
    from engine.testing.spec_tests import run_tests

    plan = compile_spec(spec, allow_custom_code=allow_custom_code)
    try:
        return run_tests(plan)
    finally:
        plan.close()


def check(spec: str | Path, *, allow_custom_code: bool = False) -> list[Check]:
    """Reach every connection, the source and the destination of ``spec``; send nothing (``engine check``).

    Raises:
        SpecError: the spec is invalid.
    """
    from engine.runtime.checks import check_plan

    return check_plan(compile_spec(spec, allow_custom_code=allow_custom_code))


def run(
    spec: str | Path,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    overrides: list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    replay: str | Path | None = None,
    payload: bytes | None = None,
    report_path: str | Path | None = None,
    out: IO[str] | None = None,
    allow_custom_code: bool = False,
) -> RunReport:
    """Run ``spec`` once (``engine run``) and return its report; a failed run is a report, not an exception.

    ``report.exit_code`` is the CLI's exit code (0 ok, 1 failed, 3 rejects
    beyond tolerance, 130 interrupted), ``report.status`` says how it ended.
    ``payload`` is the body for a spec whose source is ``{type: payload}``;
    a dry run writes its records to ``out`` (standard output by default).

    Raises:
        SpecError: the spec is invalid (nothing ran).
        ConfigError: ``payload`` for a spec that does not read one.
    """
    from engine.runtime.coordinator import run_with_executor
    from engine.runtime.runner import RunOptions

    plan = compile_spec(spec, overrides=overrides, allow_custom_code=allow_custom_code)
    if payload is not None:
        if not plan.source.accepts_payload:
            plan.close()
            raise ConfigError(f"{spec}: payload needs a spec whose source is {{type: payload}}")
        plan.source.deliver(Payload(payload))
    options = RunOptions(
        dry_run=dry_run,
        limit=limit,
        progress=False,
        since=since,
        until=until,
        replay=Path(replay) if replay is not None else None,
        report_path=Path(report_path) if report_path is not None else None,
        out=out,
    )
    return run_with_executor(plan, options, plan.executor, allow_custom_code=allow_custom_code)
