"""The generic builder that turns a validated block into a plugin's options.

Plugins never see raw dicts: defaults come from the plugin's schema (the only
place they live), strings holding ``${env:..}``/``${file:..}`` references
become :class:`~engine.secrets.Secret` values resolved at run time, and the
result is the plugin's ``Options`` dataclass.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

from engine.secrets import Secret, has_reference
from engine.spec.diagnostics import SpecPath, render_path


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


def wrap_secrets(value: Any, path: SpecPath, base_dir: Path | None) -> Any:
    """Replace strings that reference secrets with :class:`Secret` values."""
    if isinstance(value, str):
        if has_reference(value):
            return Secret(value, where=render_path(path), base_dir=base_dir)
        return value
    if isinstance(value, dict):
        return {k: wrap_secrets(v, (*path, k), base_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [wrap_secrets(v, (*path, i), base_dir) for i, v in enumerate(value)]
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
    values = wrap_secrets(values, path, base_dir)
    if nested:
        values.update(nested)
    if options_cls is dict:
        return values
    names = {f.name for f in dataclasses.fields(options_cls)}
    unknown = set(values) - names
    if unknown:
        raise TypeError(f"{options_cls.__qualname__} lacks fields for schema properties {sorted(unknown)}")
    return options_cls(**{name: values.get(name) for name in names})


def secret_properties(schema: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Paths of properties marked ``writeOnly`` (secrets) in a schema."""
    out = []
    for key, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, dict):
            continue
        if sub.get("writeOnly"):
            out.append((*prefix, key))
        if sub.get("type") == "object" or "properties" in sub:
            out.extend(secret_properties(sub, (*prefix, key)))
    return out
