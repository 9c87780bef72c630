"""Load a Fluent SDK ``UniversalMapper`` config unchanged.

The SDK's field keys (``source``, ``value``, ``defaultValue``, ``required``,
``resolver``, ``isArray``, ``fields``) are translated into the engine's
mapping; keys the SDK itself ignores (``_type``, ``_array``, ``comment`` ...)
are accepted with a warning. Where the SDK's behaviour is a trap (``required``
checked before ``defaultValue``), the engine does the sensible thing and says
so in a warning.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from engine.errors import SpecError
from engine.spec.diagnostics import Diagnostic, SpecPath
from engine.spec.loader import SpecDocument, load_file

SDK_FIELD_KEYS = {"source", "value", "defaultValue", "required", "resolver", "isArray", "fields"}
#: keys the SDK's UniversalMapper does not honour; accepted, with a warning
SDK_IGNORED_FIELD_KEYS = {
    "_type",
    "_array",
    "_autoWrap",
    "_resolver",
    "comment",
    "transform",
    "resolverConfig",
    "description",
    "validation",
    "mapping",
}
SDK_TOP_KEYS = {"name", "version", "description", "fields"}
SDK_IGNORED_TOP_KEYS = {
    "mutation",
    "operationName",
    "sourceFormat",
    "returnFields",
    "arguments",
    "nodes",
    "aliasBatching",
    "schemaValidation",
    "customTransforms",
    "direction",
    "query",
}


@dataclasses.dataclass
class LoadedSdkConfig:
    """An SDK config translated: its document and path (for positions), fields (None when unusable), diagnostics."""

    doc: SpecDocument
    path: SpecPath
    fields: dict[str, Any] | None
    diagnostics: list[Diagnostic]


def read_sdk_file(
    spec_doc: SpecDocument, ref: Any, ref_path: SpecPath, diags: list[Diagnostic]
) -> tuple[SpecDocument, SpecPath, Any] | None:
    """The SDK config ``ref`` names, with the document and path its positions are reported against.

    ``ref`` is a file path (relative to the spec) or a config written inline;
    an unreadable file gives None and says why in ``diags``.
    """
    if not isinstance(ref, str):
        return spec_doc, ref_path, ref
    file = Path(ref)
    if not file.is_absolute():
        file = spec_doc.base_dir / file
    try:
        doc = load_file(file)
    except SpecError as exc:
        if exc.diagnostics and "cannot read" in exc.diagnostics[0].message:
            diags.append(spec_doc.diagnostic(ref_path, f"cannot read SDK mapping file {file}"))
        else:
            diags.extend(exc.diagnostics)
        return None
    return doc, (), doc.data


def load_sdk_config(spec_doc: SpecDocument, ref: Any, ref_path: SpecPath) -> LoadedSdkConfig:
    """Translate the SDK config ``ref`` names: a file path (relative to the spec) or a config written inline.

    Never raises for a bad config: an unreadable file or one without a
    ``fields`` object gives ``fields=None`` and says why in the diagnostics.
    """
    diags: list[Diagnostic] = []
    read = read_sdk_file(spec_doc, ref, ref_path, diags)
    if read is None:
        return LoadedSdkConfig(spec_doc, ref_path, None, diags)
    doc, base, config = read
    if not isinstance(config, dict) or not isinstance(config.get("fields"), dict):
        diags.append(doc.diagnostic(base, "an SDK mapping config needs a 'fields' object"))
        return LoadedSdkConfig(doc, base, None, diags)
    for key in config:
        if key in SDK_IGNORED_TOP_KEYS:
            diags.append(
                doc.diagnostic(
                    (*base, key),
                    f"'{key}' is not used by a field mapping; ignored",
                    key=True,
                    severity="warning",
                    code="sdk-ignored",
                )
            )
        elif key not in SDK_TOP_KEYS:
            diags.append(
                doc.diagnostic(
                    (*base, key),
                    f"unknown SDK mapping key '{key}'; ignored",
                    key=True,
                    severity="warning",
                    code="sdk-ignored",
                )
            )
    fields = {k: _field(doc, v, (*base, "fields", k), diags) for k, v in config["fields"].items()}
    return LoadedSdkConfig(doc, (*base, "fields"), fields, diags)


def _field(doc: SpecDocument, raw: Any, path: SpecPath, diags: list[Diagnostic]) -> Any:
    """One SDK field as an engine field definition (anything but an object is passed on as it is)."""
    if not isinstance(raw, dict):
        return raw
    _warn_field_keys(doc, raw, path, diags)
    out: dict[str, Any] = {}
    has_fields = isinstance(raw.get("fields"), dict)
    if "value" in raw:
        out["value"] = raw["value"]
        if "source" in raw:
            diags.append(
                doc.diagnostic(
                    (*path, "source"),
                    "'value' takes precedence over 'source' (as in the SDK)",
                    key=True,
                    severity="warning",
                    code="sdk",
                )
            )
    elif has_fields:
        sub = {k: _field(doc, v, (*path, "fields", k), diags) for k, v in raw["fields"].items()}
        if raw.get("isArray") and "source" in raw:
            out["each"] = raw["source"]
        elif "source" in raw:
            out["source"] = raw["source"]
        out["fields"] = sub
    elif "source" in raw:
        out["source"] = raw["source"]
        if raw.get("isArray"):
            diags.append(
                doc.diagnostic(
                    (*path, "isArray"),
                    "'isArray' without 'fields' copies the value as is (as in the SDK)",
                    key=True,
                    severity="warning",
                    code="sdk",
                )
            )
    if "defaultValue" in raw:
        out["default"] = raw["defaultValue"]
    if raw.get("required") is True:
        out["required"] = True
        if "defaultValue" in raw:
            diags.append(
                doc.diagnostic(
                    (*path, "required"),
                    "the SDK checks 'required' before 'defaultValue' and "
                    "always fails this field; the engine applies the default first",
                    key=True,
                    severity="warning",
                    code="sdk",
                )
            )
    if "resolver" in raw and "fields" not in out:
        out["resolver"] = raw["resolver"]
    return out


def _warn_field_keys(doc: SpecDocument, raw: dict[str, Any], path: SpecPath, diags: list[Diagnostic]) -> None:
    """Warn about keys of an SDK field that are not translated: ignored by the SDK too, or unknown."""
    for key in raw:
        if key in SDK_IGNORED_FIELD_KEYS:
            diags.append(
                doc.diagnostic(
                    (*path, key),
                    f"'{key}' is ignored (the SDK's mapper ignores it too)",
                    key=True,
                    severity="warning",
                    code="sdk-ignored",
                )
            )
        elif key not in SDK_FIELD_KEYS:
            diags.append(
                doc.diagnostic(
                    (*path, key),
                    f"unknown SDK field key '{key}'; ignored",
                    key=True,
                    severity="warning",
                    code="sdk-ignored",
                )
            )
