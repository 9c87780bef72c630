"""Spec values with ``{path}`` placeholders filled from the mapped record.

``entityRef: "{orderRef}"`` or ``rootEntityRef: "PC:MASTER:{$context.retailer_id}"``:
each placeholder is a mapping path (see :mod:`engine.mapping.paths`) read
from the record the mapping produced, or from ``$context``. Paths are parsed
when the spec compiles, so a malformed one is a validation error. ``{{`` and
``}}`` are literal braces. A value that is one placeholder and nothing else
keeps its type (a number stays a number).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from engine.errors import ConfigError, DataError
from engine.mapping.paths import PathSyntaxError, Scope, compile_getter, parse_path

_PART = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class FieldTemplate:
    def __init__(self, text: Any, where: str) -> None:
        self.text = str(text)
        self.where = where
        self.parts: list[str | tuple[str, Any]] = []
        pos = 0
        for match in _PART.finditer(self.text):
            if match.start() > pos:
                self.parts.append(self.text[pos : match.start()])
            token = match.group(0)
            if token in ("{{", "}}"):
                self.parts.append(token[0])
            elif match.group(1) is None:
                raise ConfigError(
                    f"{where}: unbalanced {token!r} in {self.text!r} (write {token * 2} for a brace)"
                )
            else:
                path = match.group(1).strip()
                try:
                    getter = compile_getter(parse_path(path))
                except PathSyntaxError as exc:
                    raise ConfigError(f"{where}: {exc.message}") from None
                self.parts.append((path, getter))
            pos = match.end()
        if pos < len(self.text):
            self.parts.append(self.text[pos:])
        self.constant = all(isinstance(p, str) for p in self.parts)
        self.value = "".join(p for p in self.parts if isinstance(p, str)) if self.constant else None

    def render(self, record: Any, context: Mapping[str, Any]) -> Any:
        if self.constant:
            return self.value
        scope = Scope(root=record, context=context)
        values = []
        for part in self.parts:
            if isinstance(part, str):
                values.append(part)
                continue
            path, getter = part
            value = getter(record, scope)
            if value is None or value == "":
                raise DataError(
                    f"{self.where}: {{{path}}} has no value in the mapped record", field=self.where
                )
            values.append(value)
        if len(values) == 1:
            return values[0]
        return "".join(str(v) for v in values)
