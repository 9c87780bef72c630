"""Paths, parameters, headers and bodies of HTTP requests with ``{path}`` placeholders.

The placeholder grammar is the one of the Fluent targets
(:mod:`engine.targets.fluent._templates`): ``/items/{ref}``,
``{$context.watermark}``; ``{{``/``}}`` are literal braces, and a value that
is one placeholder keeps its type. Placeholders in a URL path are
percent-encoded as one segment, so a ref holding ``/`` or ``?`` cannot
change which resource is addressed.

A placeholder without a value raises :class:`Missing`; the caller decides
what that means (the target rejects the record, the source leaves the
parameter out, so ``updated_since: "{$context.watermark}"`` is simply not
sent on a first run without ``initial``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from engine.mapping.paths import Scope
from engine.secrets import Secret
from engine.targets.fluent._templates import FieldTemplate


class Missing(Exception):
    def __init__(self, path: str, where: str) -> None:
        super().__init__(f"{where}: {{{path}}} has no value")
        self.path = path
        self.where = where


class Template:
    def __init__(self, text: Any, where: str) -> None:
        self.field = FieldTemplate(text, where)
        self.where = where
        self.paths = [p[0] for p in self.field.parts if not isinstance(p, str)]

    @property
    def constant(self) -> bool:
        return self.field.constant

    def uses(self, prefix: str) -> bool:
        """Whether a placeholder reads ``prefix`` (``$context.watermark``)."""
        return any(p == prefix or p.startswith(prefix + ".") for p in self.paths)

    def render(self, record: Any, context: Mapping[str, Any], *, encode: bool = False) -> Any:
        if self.field.constant:
            return self.field.value
        scope = Scope(root=record, context=context)
        values: list[Any] = []
        for part in self.field.parts:
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
        return any(t.uses(prefix) for t in self.templates)

    def render(self, record: Any, context: Mapping[str, Any], *, omit_missing: bool = False) -> Any:
        """The value filled in; with ``omit_missing`` a key or item whose placeholder has no value is left out."""
        return _render(self.value, record, context, omit_missing)


def _compile(value: Any, where: str) -> Any:
    if isinstance(value, str):
        template = Template(value, where)
        return template.field.value if template.constant else template
    if isinstance(value, dict):
        return {str(k): _compile(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_compile(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _templates(value: Any) -> Any:
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
