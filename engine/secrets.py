"""Secret references: ``${env:NAME}`` and ``${file:PATH}``.

A spec never holds a credential, only a reference to one. References are kept
as :class:`Secret` values through validation and compilation and resolved at
run time, when a plugin calls :func:`reveal`. Every value revealed is
remembered by the process-wide :data:`redactor`, which scrubs it from log
lines, error messages and reports; ``engine explain`` prints the reference,
never the value.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

from engine.errors import SecretError

REFERENCE = re.compile(r"\$\{(env|file):([^}]*)\}")
#: ``$${`` escapes a literal ``${``
ESCAPED = "$${"

MASK = "***"


class Redactor:
    """Remembers secret values and removes them from text."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        """Remember a revealed value so it is scrubbed from now on; values under 3 characters are ignored."""
        if not value or len(value) < 3:  # masking "a" everywhere would ruin every message
            return
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                self._pattern = None

    def scrub(self, text: str) -> str:
        """``text`` with every remembered value (longest first) replaced by ``***``."""
        if not self._values or not text:
            return text
        pattern = self._pattern
        if pattern is None:
            with self._lock:
                ordered = sorted(self._values, key=len, reverse=True)
                pattern = self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
        return pattern.sub(MASK, text)

    def scrub_obj(self, obj: Any) -> Any:
        """Scrub strings anywhere inside JSON-like data."""
        if isinstance(obj, str):
            return self.scrub(obj)
        if isinstance(obj, dict):
            return {k: self.scrub_obj(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.scrub_obj(v) for v in obj]
        if isinstance(obj, Secret):
            return str(obj)
        return obj


redactor = Redactor()


class Secret:
    """A string whose value comes from references resolved at run time.

    ``str(secret)`` is the template as written (``${env:TOKEN}``), never the
    value, so a secret printed by accident shows where it comes from.
    """

    __slots__ = ("base_dir", "template", "where")

    def __init__(self, template: str, *, where: str = "", base_dir: str | Path | None = None) -> None:
        self.template = template
        self.where = where
        self.base_dir = Path(base_dir) if base_dir else None

    def __repr__(self) -> str:
        return f"Secret({self.template!r})"

    def __str__(self) -> str:
        return self.template

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.template == self.template

    def __hash__(self) -> int:
        return hash(self.template)

    def references(self) -> list[tuple[str, str]]:
        """The ``(scheme, name)`` pairs the template refers to, e.g. ``("env", "TOKEN")``."""
        return REFERENCE.findall(self.template)

    def reveal(self) -> str:
        """Resolve every reference now and return the value; each resolved part is added to the redactor.

        Raises:
            SecretError: a variable is unset, a file unreadable or a reference empty.
        """

        def resolve(match: re.Match[str]) -> str:
            scheme, name = match.group(1), match.group(2).strip()
            value = _resolve_one(scheme, name, self.where, self.base_dir)
            redactor.add(value)
            return value

        return REFERENCE.sub(resolve, self.template).replace(ESCAPED, "${")


def _resolve_one(scheme: str, name: str, where: str, base_dir: Path | None) -> str:
    at = f" (referenced by {where})" if where else ""
    if not name:
        raise SecretError(f"empty ${{{scheme}:}} reference{at}")
    if scheme == "env":
        value = os.environ.get(name)
        if value is None:
            raise SecretError(
                f"environment variable {name} is not set{at}",
                hint=f"export {name}=... before running, or change the reference",
            )
        return value
    path = Path(os.path.expanduser(name))
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise SecretError(f"secret file {path} cannot be read: {exc.strerror or exc}{at}") from None


def has_reference(value: Any) -> bool:
    """Whether ``value`` is a string holding a ``${env:...}`` or ``${file:...}`` reference."""
    return isinstance(value, str) and REFERENCE.search(value) is not None


def reveal(value: Any) -> Any:
    """The run-time value of an option: secrets resolved, anything else unchanged."""
    if isinstance(value, Secret):
        return value.reveal()
    return value


def unset_references(value: Any) -> list[str]:
    """Names of ``${env:...}`` references in ``value`` that are not set now."""
    if isinstance(value, Secret):
        value = value.template
    if not isinstance(value, str):
        return []
    return [name for scheme, name in REFERENCE.findall(value) if scheme == "env" and name not in os.environ]
