"""Diagnostics: one problem in a spec, with file, line, column and spec path.

Every user-facing spec problem is a :class:`Diagnostic`; :func:`render_path`
is the one place spec paths are turned into text.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

SpecPath = tuple[str | int, ...]

_PLAIN_KEY = re.compile(r"^[A-Za-z_$@#][A-Za-z0-9_\-$@#]*$")


def render_path(path: Sequence[str | int]) -> str:
    """``("mapping", "fields", "qty")`` -> ``mapping.fields.qty``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out or "(spec)"


@dataclasses.dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in a spec, located by file, line, column and spec path."""

    file: str
    line: int
    col: int
    path: str
    message: str
    severity: str = "error"  # or "warning"
    code: str = "spec"

    def render(self) -> str:
        """``FILE:LINE:COL path: message``, the form editors and CI annotate."""
        label = "" if self.severity == "error" else f"{self.severity}: "
        return f"{self.file}:{self.line}:{self.col} {self.path}: {label}{self.message}"

    def as_dict(self) -> dict[str, Any]:
        """The diagnostic as JSON-compatible data (``--format json``)."""
        return dataclasses.asdict(self)


def sort_diagnostics(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Diagnostics without duplicates, sorted by file, line and column."""
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for d in diags:
        key = (d.file, d.line, d.col, d.path, d.message)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return sorted(unique, key=lambda d: (d.file, d.line, d.col, d.path, d.message))


def errors(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Only the errors (warnings do not make a spec invalid)."""
    return [d for d in diags if d.severity == "error"]
