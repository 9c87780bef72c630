"""Name templates for moved and written files.

``processed/{date:%Y/%m/%d}/{name}`` — placeholders in braces:

* ``{name}`` the file name, ``{stem}`` without its extension, ``{ext}`` the
  extension (no dot), ``{run_id}``, ``{connector}``;
* ``{date:FORMAT}`` / ``{time:FORMAT}`` the run's start time (UTC) with a
  strftime format (``{date}`` alone is ``%Y-%m-%d``);
* plugins add their own (``{part}``, ``{partition}``...).

Templates are parsed when the spec compiles, so an unknown placeholder is a
validation error, and rendered names are checked so they cannot climb out of
the directory they belong to.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from engine.errors import ConfigError, DataError
from engine.suggest import did_you_mean

BASE_FIELDS = ("name", "stem", "ext", "run_id", "connector", "date", "time")


class NameTemplate:
    """A parsed name template: placeholders are checked once, at compile time.

    Raises :class:`ConfigError` for malformed text or a placeholder outside
    ``allowed``; :attr:`fields` lists the placeholders used, in order.
    """

    def __init__(self, text: str, allowed: Iterable[str] = BASE_FIELDS) -> None:
        self.text = text
        self.allowed = tuple(allowed)
        self.fields: list[str] = []
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise ConfigError(f"malformed name template {text!r}: {exc}") from None
        for _literal, field, _spec, conversion in parsed:
            if field is None:
                continue
            if field == "" or conversion:
                raise ConfigError(f"malformed name template {text!r}: use named placeholders like {{name}}")
            if field not in self.allowed:
                raise ConfigError(
                    f"unknown placeholder {{{field}}} in {text!r}{did_you_mean(field, self.allowed)}",
                    hint=f"known: {', '.join('{' + a + '}' for a in self.allowed)}",
                )
            self.fields.append(field)

    def render(self, values: Mapping[str, Any], when: datetime) -> str:
        """The name for ``values``, with ``{date}``/``{time}`` taken from ``when``.

        The result is not made safe here: pass it through :func:`safe_relative`.

        Raises:
            DataError: a placeholder has no value (None or absent).
        """
        out = []
        for literal, field, spec, _conv in string.Formatter().parse(self.text):
            out.append(literal)
            if field is None:
                continue
            if field in ("date", "time"):
                fmt = spec or ("%Y-%m-%d" if field == "date" else "%H%M%S")
                out.append(when.strftime(fmt))
                continue
            value = values.get(field)
            if value is None:
                raise DataError(f"no value for {{{field}}} in name template {self.text!r}")
            out.append(format(value, spec) if spec else str(value))
        return "".join(out)


def safe_relative(name: str) -> str:
    """``name`` as a relative path that cannot leave its base directory."""
    cleaned = name.replace("\\", "/")
    parts = [p for p in cleaned.split("/") if p not in ("", ".")]
    if cleaned.startswith("/") or any(p == ".." for p in parts) or not parts:
        raise DataError(f"unsafe file name {name!r}: it must stay inside its directory")
    return "/".join(parts)


def file_values(name: str) -> dict[str, str]:
    """The ``{name}``, ``{stem}`` and ``{ext}`` values of a path (its last segment only)."""
    base = name.rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    return {"name": base, "stem": stem if dot else base, "ext": ext if dot else ""}
