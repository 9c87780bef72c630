"""The generic builder that turns a validated block into typed options.

Plugins (and the engine's own sections: state, on_error, trigger) never see
raw dicts: defaults come from the schema (the only place they live), values
the schema marks with ``x-convert`` become what they mean (a duration in
seconds, a size in bytes, see :mod:`engine.units`), strings holding
``${env:..}``/``${file:..}`` references become
:class:`~engine.secrets.Secret` values resolved at run time, and the result
is the ``Options`` dataclass, with nested dataclasses for nested objects.
A value that cannot be converted raises :class:`OptionError` carrying the
value's own spec path, so it is reported at its line and column.
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from pathlib import Path
from typing import Any

from engine.errors import ConfigError, EngineError
from engine.secrets import Secret, has_reference, is_credential_name, looks_like_key_material
from engine.spec.diagnostics import SpecPath, render_path
from engine.units import CONVERTERS


class OptionError(ConfigError):
    """An option's value is wrong; ``path`` is the value's own spec path."""

    def __init__(self, message: str, path: SpecPath, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.path = path


def fill_defaults(schema: dict[str, Any], value: Any) -> Any:
    """A copy of ``value`` with the schema's defaults filled in, recursively."""
    if not isinstance(schema, dict):
        return value
    if value is None and "default" in schema:
        return copy.deepcopy(schema["default"])
    if isinstance(value, dict):
        props = schema.get("properties", {})
        out = dict(value)
        for key, sub in props.items():
            if not isinstance(sub, dict):
                continue
            if key in out:
                out[key] = fill_defaults(sub, out[key])
            elif "default" in sub:
                out[key] = copy.deepcopy(sub["default"])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in out:
                if key not in props:
                    out[key] = fill_defaults(extra, out[key])
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [fill_defaults(schema["items"], v) for v in value]
    return value


def convert_units(schema: Any, value: Any, path: SpecPath) -> Any:
    """``value`` with every ``x-convert`` value (durations, sizes) converted, recursively."""
    if not isinstance(schema, dict) or value is None:
        return value
    kind = schema.get("x-convert")
    if kind is not None and not isinstance(value, Secret):
        try:
            return CONVERTERS[kind](value)
        except EngineError as exc:
            raise OptionError(exc.message, path, hint=exc.hint) from None
    if isinstance(value, dict) and "properties" not in schema:
        for branch in schema.get("oneOf") or schema.get("anyOf") or ():
            if isinstance(branch, dict) and (branch.get("type") == "object" or "properties" in branch):
                return convert_units(branch, value, path)
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        out = {}
        for key, sub_value in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            out[key] = convert_units(sub, sub_value, (*path, key))
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [convert_units(schema["items"], v, (*path, i)) for i, v in enumerate(value)]
    return value


def wrap_secrets(
    value: Any, path: SpecPath, base_dir: Path | None, secret_paths: frozenset[SpecPath] = frozenset()
) -> Any:
    """Replace strings that reference secrets with :class:`Secret` values.

    Those at ``secret_paths`` (secret options, see :func:`secret_options`) are
    sensitive: their values' starts are masked too.
    """
    if isinstance(value, str):
        if has_reference(value):
            return Secret(value, where=render_path(path), base_dir=base_dir, sensitive=path in secret_paths)
        return value
    if isinstance(value, dict):
        return {k: wrap_secrets(v, (*path, k), base_dir, secret_paths) for k, v in value.items()}
    if isinstance(value, list):
        return [wrap_secrets(v, (*path, i), base_dir, secret_paths) for i, v in enumerate(value)]
    return value


def build_options(
    options_cls: type,
    schema: dict[str, Any],
    block: dict[str, Any],
    path: SpecPath,
    base_dir: Path | None,
    *,
    nested: dict[str, Any] | None = None,
) -> Any:
    """``options_cls`` built from ``block`` (already valid against ``schema``).

    ``nested`` holds values already built for some keys (nested plugins).
    """
    values = fill_defaults(schema, {k: v for k, v in block.items() if k != "type"})
    secret_paths = frozenset((*path, *where) for where, _ in secret_options(schema, values))
    values = wrap_secrets(values, tuple(path), base_dir, secret_paths)
    values = convert_units(schema, values, path)
    if nested:
        values.update(nested)
    return _instance(options_cls, values)


def _instance(options_cls: Any, values: Any) -> Any:
    """``options_cls(**values)``, nested dataclass fields built from their dicts."""
    if options_cls is dict or not isinstance(values, dict):
        return values
    try:
        hints = typing.get_type_hints(options_cls)
    except (NameError, TypeError):  # annotations naming what only type checkers import
        hints = {}
    names = {f.name for f in dataclasses.fields(options_cls)}
    unknown = set(values) - names
    if unknown:
        raise TypeError(f"{options_cls.__qualname__} lacks fields for schema properties {sorted(unknown)}")
    kwargs = {}
    for name in names:
        value = values.get(name)
        nested_cls = _dataclass_of(hints.get(name))
        kwargs[name] = _instance(nested_cls, value) if nested_cls is not None else value
    return options_cls(**kwargs)


def _dataclass_of(hint: Any) -> type | None:
    """The dataclass a field is typed with (``Lock`` in ``Lock | None``), or None."""
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return hint
    for arg in typing.get_args(hint):
        if dataclasses.is_dataclass(arg) and isinstance(arg, type):
            return arg
    return None


def secret_options(
    schema: dict[str, Any], value: Any, prefix: tuple[Any, ...] = ()
) -> list[tuple[tuple[Any, ...], Any]]:
    """``(path, value)`` of every secret held in ``value``, a block valid against ``schema``.

    Secrets are: options marked ``writeOnly``; in a map marked
    ``x-secret: credential-names`` (headers, form fields) the entries whose
    name carries a credential (``Authorization``, ``X-Api-Key``,
    ``client_assertion``); an option marked ``x-secret: key-or-path`` when it
    holds a reference or the key itself rather than a path. ``engine validate``
    warns about those written literally, ``engine explain`` masks them, the
    redactor remembers them and references in them mask their values' starts too.
    """
    if not isinstance(value, dict):
        return []
    out: list[tuple[tuple[Any, ...], Any]] = []
    for key, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, dict) or key not in value:
            continue
        here, item = (*prefix, key), value[key]
        kind = sub.get("x-secret")
        if sub.get("writeOnly"):
            out.append((here, item))
        elif kind == "key-or-path" and isinstance(item, str | Secret):
            if isinstance(item, Secret) or has_reference(item) or looks_like_key_material(item):
                out.append((here, item))
        elif kind == "credential-names" and isinstance(item, dict):
            out.extend(((*here, k), v) for k, v in item.items() if is_credential_name(str(k)))
        else:
            out.extend(secret_options(sub, item, here))
    return out
