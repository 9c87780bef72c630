"""engine: a declarative, config-driven connector engine.

The Python API (docs/python-api.md): ``engine.validate``, ``engine.test``,
``engine.check`` and ``engine.run`` take a spec's path and do what the
commands of the same names do, returning values; ``engine.compile_spec``
builds the plan. The names in ``__all__`` are the stable surface. They are
imported on first use, so ``import engine`` stays cheap for the parts of the
package (the emulator, plugins) that need none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "CaseResult",
    "Check",
    "ConfigError",
    "Diagnostic",
    "EngineError",
    "RunReport",
    "SpecError",
    "__version__",
    "check",
    "compile_spec",
    "run",
    "test",
    "validate",
]

#: public name -> the module that defines it
_HOMES = {
    "check": "engine.api",
    "compile_spec": "engine.api",
    "run": "engine.api",
    "test": "engine.api",
    "validate": "engine.api",
    "Check": "engine.contracts",
    "CaseResult": "engine.testing.spec_tests",
    "ConfigError": "engine.errors",
    "Diagnostic": "engine.spec.diagnostics",
    "EngineError": "engine.errors",
    "RunReport": "engine.runtime.report",
    "SpecError": "engine.errors",
}

if TYPE_CHECKING:
    from engine.api import check, compile_spec, run, test, validate
    from engine.contracts import Check
    from engine.errors import ConfigError, EngineError, SpecError
    from engine.runtime.report import RunReport
    from engine.spec.diagnostics import Diagnostic
    from engine.testing.spec_tests import CaseResult


def __getattr__(name: str) -> Any:
    """Import a public name from its module the first time it is used."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
