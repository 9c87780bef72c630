"""Request values with ``{path}`` placeholders: paths, parameters, headers, bodies, event fields.

``/items/{ref}``, ``entityRef: "{orderRef}"`` or
``rootEntityRef: "PC:MASTER:{$context.retailer_id}"``: each placeholder is
a mapping path (see :mod:`engine.mapping.paths`) read from the mapped record
or from ``$context``. Paths are parsed when the spec compiles, so a
malformed one is a validation error (:class:`~engine.errors.ConfigError`).
``{{`` and ``}}`` are literal braces. A value that is one placeholder and
nothing else keeps its type (a number stays a number). Placeholders in a URL
path are percent-encoded as one segment, so a ref holding ``/`` or ``?``
cannot change which resource is addressed.

A placeholder without a value raises :class:`Missing`; the caller decides
what that means (a target rejects the record, a source leaves the parameter
out, so ``updated_since: "{$context.watermark}"`` is simply not sent on a
first run without ``initial``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from engine.errors import ConfigError, DataError
from engine.mapping.paths import PathSyntaxError, Scope, compile_getter, parse_path
from engine.secrets import Secret

_PART = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class Missing(Exception):
    """A placeholder has no value in the record (or the context)."""

    def __init__(self, path: str, where: str) -> None:
        super().__init__(f"{where}: {{{path}}} has no value")
        self.path = path
        self.where = where

    def data_error(self) -> DataError:
        """The record's rejection: its placeholder has no value."""
        return DataError(f"{self.where}: {{{self.path}}} has no value in the mapped record", field=self.where)


class Template:
    """One text with placeholders, compiled once; ``where`` (its spec path) starts every message."""

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
        self.paths = [p[0] for p in self.parts if not isinstance(p, str)]
        self.constant = not self.paths
        self.value = "".join(p for p in self.parts if isinstance(p, str)) if self.constant else None

    def uses(self, prefix: str) -> bool:
        """Whether a placeholder reads ``prefix`` (``$context.watermark``)."""
        return any(p == prefix or p.startswith(prefix + ".") for p in self.paths)

    def render(self, record: Any, context: Mapping[str, Any], *, encode: bool = False) -> Any:
        """The text filled in from ``record`` and ``context``; ``encode`` makes each value one URL segment.

        Raises:
            Missing: a placeholder has no value (None, empty, or an object in a URL).
        """
        if self.constant:
            return self.value
        scope = Scope(root=record, context=context)
        values: list[Any] = []
        for part in self.parts:
            if isinstance(part, str):
                values.append(part)
                continue
            path, getter = part
            value = getter(record, scope)
            if value is None or value == "" or (isinstance(value, dict | list) and encode):
                raise Missing(path, self.where)
            values.append(quote(_text(value), safe="") if encode else value)
        if len(values) == 1 and not encode:
            return values[0]
        return "".join(_text(v) for v in values)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Structure:
    """A JSON value (object, list, scalars) whose strings are templates."""

    def __init__(self, value: Any, where: str) -> None:
        self.value = _compile(value, where)
        self.templates = list(_templates(self.value))

    def uses(self, prefix: str) -> bool:
        """Whether a placeholder anywhere in the value reads ``prefix``."""
        return any(t.uses(prefix) for t in self.templates)

    def render(self, record: Any, context: Mapping[str, Any], *, omit_missing: bool = False) -> Any:
        """The value filled in; with ``omit_missing`` a key or item whose placeholder has no value is left out."""
        return _render(self.value, record, context, omit_missing)


def _compile(value: Any, where: str) -> Any:
    if isinstance(value, str):
        template = Template(value, where)
        return template.value if template.constant else template
    if isinstance(value, dict):
        return {str(k): _compile(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_compile(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _templates(value: Any) -> Iterator[Template]:
    if isinstance(value, Template):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _templates(v)
    elif isinstance(value, list):
        for v in value:
            yield from _templates(v)


_GONE = object()


def _render(value: Any, record: Any, context: Mapping[str, Any], omit: bool) -> Any:
    if isinstance(value, Secret):
        return value.reveal()  # an API key in a parameter or header
    if isinstance(value, Template):
        try:
            return value.render(record, context)
        except Missing:
            if omit:
                return _GONE
            raise
    if isinstance(value, dict):
        out = {k: _render(v, record, context, omit) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not _GONE}
    if isinstance(value, list):
        items = [_render(v, record, context, omit) for v in value]
        return [v for v in items if v is not _GONE]
    return value
