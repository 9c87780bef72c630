"""The composed JSON Schema (``engine schema``): skeleton + every plugin.

Plugin blocks are discriminated by ``type`` with ``if``/``then`` pairs, so an
editor validating a spec reports errors of the branch the user chose, not
"not valid under any of the given schemas".
"""

from __future__ import annotations

import copy
from typing import Any

from engine.registry import KINDS, Registries
from engine.spec import sections

SLOTS = {"source": "sources", "parser": "parsers", "target": "targets", "executor": "executors"}


def block_schema(cls: Any) -> dict[str, Any]:
    """A plugin's options schema with its ``type`` discriminator."""
    schema = copy.deepcopy(cls.schema)
    schema["properties"] = {"type": {"const": cls.name}, **schema.get("properties", {})}
    schema.setdefault("additionalProperties", False)
    required = schema.get("required", [])
    schema["required"] = ["type", *[r for r in required if r != "type"]]
    if cls.summary:
        schema.setdefault("description", cls.summary)
    linked: dict[str, Any] = _link_nested(schema)
    return linked


def _link_nested(schema: Any) -> Any:
    if isinstance(schema, dict):
        kind = schema.get("x-plugin")
        if kind:
            linked = {k: v for k, v in schema.items() if k not in ("x-plugin",)}
            linked["anyOf"] = [{"$ref": f"#/$defs/{kind}"}, {"type": "string", "description": "a type name"}]
            return linked
        return {k: _link_nested(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_link_nested(v) for v in schema]
    return schema


def kind_union(regs: Registries, kind: str) -> dict[str, Any]:
    """A schema accepting any plugin of ``kind``, checked against the chosen plugin's own schema."""
    names = regs.kind(kind).names()
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": names}},
        "allOf": [
            {
                "if": {"properties": {"type": {"const": n}}, "required": ["type"]},
                "then": {"$ref": f"#/$defs/{kind}.{n}"},
            }
            for n in names
        ],
    }


#: a minimal spec, offered by editors that show a schema's examples
EXAMPLE: dict[str, Any] = {
    "version": 1,
    "name": "stock-to-files",
    "source": {"type": "local", "path": "inbox", "pattern": "*.csv"},
    "parser": {"type": "csv"},
    "mapping": {
        "fields": {"sku": {"source": "sku", "required": True}, "qty": {"source": "qty", "resolver": "int"}}
    },
    "target": {"type": "file", "writer": {"type": "jsonl"}, "destination": {"type": "local", "path": "out"}},
}


def composed_schema(regs: Registries) -> dict[str, Any]:
    """The whole connector schema (skeleton plus every plugin), for editors and ``engine schema``."""
    schema = copy.deepcopy(sections.SKELETON)
    schema["title"] = "engine connector spec"
    schema["$id"] = "engine.schema.json"
    schema["description"] = (
        "A whole connector spec: the sections and every plugin's options. Point editors here "
        "(docs/editors.md); engine validate checks the same rules with line and column."
    )
    schema["examples"] = [EXAMPLE]
    defs: dict[str, Any] = {}
    for kind in KINDS:
        if kind == "resolvers":
            continue
        names = regs.kind(kind).names()
        if not names:
            continue
        for name in names:
            defs[f"{kind}.{name}"] = block_schema(regs.kind(kind).get(name))
        defs[kind] = kind_union(regs, kind)
    props = schema["properties"]
    for slot, kind in SLOTS.items():
        props[slot] = {"$ref": f"#/$defs/{kind}"}
    props["connections"] = {"type": "object", "additionalProperties": {"$ref": "#/$defs/connections"}}
    if "connections" not in defs:
        defs["connections"] = {"type": "object", "required": ["type"]}
    for name, sec in sections.SECTIONS.items():
        props[name] = copy.deepcopy(sec)
    props["state"]["properties"]["store"] = {"$ref": "#/$defs/state_stores"}
    props["mapping"] = mapping_section(regs)
    step, route = flow_sections(regs)
    props["steps"]["items"] = step
    props["routes"]["items"] = route
    defs.update(mapping_definitions(regs))
    schema["$defs"] = defs
    return schema


def flow_sections(regs: Registries) -> tuple[dict[str, Any], dict[str, Any]]:
    """A step's and a route's schema for editors: the mapping's fields described, the target one of the targets."""
    step = copy.deepcopy(sections.STEP)
    route = copy.deepcopy(sections.ROUTE)
    for block in (step, route):
        block["properties"]["mapping"] = mapping_section(regs)
        block["properties"]["target"] = {"$ref": "#/$defs/targets"}
    route["properties"]["steps"]["items"] = step
    return step, route


def mapping_definitions(regs: Registries) -> dict[str, Any]:
    """The ``$defs`` of a mapping's fields, every registered resolver (and its arguments) included."""
    from engine.mapping.schema import field_definitions

    return field_definitions({name: regs.resolvers.get(name) for name in regs.resolvers.names()})


def mapping_section(regs: Registries, *, standalone: bool = False) -> dict[str, Any]:
    """The ``mapping:`` section with its fields described; ``standalone`` carries its own ``$defs``.

    The engine validates the section against :data:`sections.MAPPING`, whose
    fields are only an object: the mapping model checks them with located
    diagnostics. This richer form is for editors and CI tools.
    """
    section = copy.deepcopy(sections.MAPPING)
    from engine.mapping.schema import FIELDS_REF

    section["properties"]["fields"] = {"$ref": FIELDS_REF, "description": "target field -> field definition"}
    if standalone:
        section["$defs"] = mapping_definitions(regs)
    return section


def section_schemas(regs: Registries) -> dict[str, dict[str, Any]]:
    """The engine's own sections as exported, one schema each (the mapping's with its field definitions)."""
    out = {name: copy.deepcopy(sec) for name, sec in sections.SECTIONS.items()}
    out["mapping"] = mapping_section(regs, standalone=True)
    return out


def plugin_schemas(regs: Registries) -> dict[str, dict[str, Any]]:
    """``{"targets/file.schema.json": schema, ...}`` for export."""
    out = {}
    for kind in KINDS:
        if kind == "resolvers":
            continue
        for name in regs.kind(kind).names():
            out[f"{kind}/{name}.schema.json"] = block_schema(regs.kind(kind).get(name))
    return out
