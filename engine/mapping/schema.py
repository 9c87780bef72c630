"""The JSON Schema of a mapping's fields, published for editors and CI tools.

``engine schema`` (and ``make schemas``) put these definitions under
``$defs`` so that an editor flags ``requird: true`` or ``resolver: integr``
as the user types, and offers every field option and every resolver with its
arguments. The engine itself does not validate mappings with this schema:
:mod:`engine.mapping.model` checks them with located, did-you-mean
diagnostics (``qty.resolver: unknown resolver 'integr' (did you mean
'int'?)``), which a schema cannot give. Its field options are the model's
(a test holds them to :data:`engine.mapping.model.FIELD_KEYS`).
"""

from __future__ import annotations

import copy
from typing import Any

from engine.contracts import Resolver
from engine.mapping.model import KINDS, may_be_object

#: where the definitions live in the composed schema
FIELDS_REF = "#/$defs/mapping.fields"
#: custom resolvers come from a spec's own ``plugins:``, so no schema can list them
CUSTOM_PREFIX = "custom."

_SINGLE = "single values only (not fields or each)"

FIELD_OPTIONS: dict[str, dict[str, Any]] = {
    "source": {
        "type": "string",
        "minLength": 1,
        "description": "a path in the record (a.b, items[0], @attr, $context.NAME, $parent.x ...); "
        "with fields, the object the nested paths are relative to",
    },
    "value": {"description": "a constant (resolvers still apply)"},
    "expr": {
        "type": "string",
        "minLength": 1,
        "description": "a JMESPath expression over {record, root, parent, context, file, row}",
    },
    "fields": {"$ref": FIELDS_REF, "description": "a nested object: target field -> field definition"},
    "each": {
        "type": "string",
        "minLength": 1,
        "description": "a path to a list; fields builds one object per item (items see $parent and $root)",
    },
    "default": {"description": "used when the value is missing or empty (null or ''), before the resolvers"},
    "required": {
        "type": "boolean",
        "default": False,
        "description": "a value still missing or empty after default and resolvers rejects the record",
    },
    "resolver": {
        "$ref": "#/$defs/mapping.resolvers",
        "description": "a resolver name, a list applied in order, or {name, args}",
    },
    "when": {
        "type": "string",
        "minLength": 1,
        "description": "a JMESPath condition, evaluated first; when false the field is left out",
    },
    "description": {"type": "string", "description": "a note for people; not used"},
    "pattern": {
        "type": "string",
        "description": f"a Python regular expression the whole value must match; {_SINGLE}",
    },
    "enum": {"type": "array", "minItems": 1, "description": f"the allowed values; {_SINGLE}"},
    "min": {"type": "number", "description": f"the smallest allowed number; {_SINGLE}"},
    "max": {"type": "number", "description": f"the largest allowed number; {_SINGLE}"},
    "min_length": {
        "type": "integer",
        "minimum": 0,
        "description": f"the fewest characters (items for a list); {_SINGLE}",
    },
    "max_length": {
        "type": "integer",
        "minimum": 0,
        "description": f"the most characters (items for a list); {_SINGLE}",
    },
}


def field_definitions(resolvers: dict[str, Resolver]) -> dict[str, Any]:
    """The ``$defs`` entries describing ``mapping.fields``, with every resolver in ``resolvers`` by name.

    Nested ``fields`` (and ``each`` + ``fields``) refer back to
    ``mapping.fields``, so the schema follows a mapping to any depth.
    """
    something_to_map = [{"required": [k]} for k in (*KINDS, "resolver", "default")]
    return {
        "mapping.fields": {
            "type": "object",
            "description": "target field (dots nest: attributes.batchNumber) -> field definition",
            "additionalProperties": {"$ref": "#/$defs/mapping.field"},
        },
        "mapping.field": {
            "description": "a source path, or a field definition",
            "type": ["string", "object"],
            "if": {"type": "string"},
            "then": {"minLength": 1},
            "else": {"$ref": "#/$defs/mapping.field_definition"},
        },
        "mapping.field_definition": {
            "type": "object",
            "additionalProperties": False,
            "properties": copy.deepcopy(FIELD_OPTIONS),
            "anyOf": something_to_map,
            "dependentRequired": {"each": ["fields"]},
            "not": {
                "description": "a field takes one of source, value or expr",
                "anyOf": [
                    {"required": ["source", "value"]},
                    {"required": ["source", "expr"]},
                    {"required": ["value", "expr"]},
                ],
            },
        },
        "mapping.resolvers": {
            "if": {"type": "array"},
            "then": {"items": {"$ref": "#/$defs/mapping.resolver"}, "minItems": 1},
            "else": {"$ref": "#/$defs/mapping.resolver"},
        },
        "mapping.resolver": {
            "type": ["string", "object"],
            "if": {"type": "string"},
            "then": {"$ref": "#/$defs/mapping.resolver_name"},
            "else": {"$ref": "#/$defs/mapping.resolver_call"},
        },
        "mapping.resolver_name": {
            "type": "string",
            "if": {"pattern": "^" + CUSTOM_PREFIX.replace(".", "\\.")},
            "then": {"description": "a resolver from the spec's plugins (needs --allow-custom-code)"},
            "else": {"enum": sorted(resolvers), "description": "a resolver (see docs/resolvers.md)"},
        },
        "mapping.resolver_call": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {
                "name": {"$ref": "#/$defs/mapping.resolver_name"},
                "args": {"description": "the resolver's arguments (or its shorthand argument alone)"},
            },
            "allOf": [
                {
                    "if": {"properties": {"name": {"const": name}}, "required": ["name"]},
                    "then": {"properties": {"args": arguments_schema(resolvers[name])}},
                }
                for name in sorted(resolvers)
            ],
        },
    }


def arguments_schema(resolver: Resolver) -> dict[str, Any]:
    """What ``args:`` may be for ``resolver``: its argument object, or its shorthand argument alone."""
    if resolver.args is None:
        return {
            "description": f"{resolver.name} takes no arguments",
            "type": ["null", "object"],
            "maxProperties": 0,
        }
    args = copy.deepcopy(resolver.args)
    if resolver.summary:
        args.setdefault("description", resolver.summary)
    if resolver.shorthand is None:
        return args
    short = copy.deepcopy(args.get("properties", {}).get(resolver.shorthand, {}))
    short.setdefault("description", f"shorthand for {{{resolver.shorthand}: ...}}")
    if may_be_object(short):
        return {"anyOf": [args, short]}
    return {"if": {"type": "object"}, "then": args, "else": short}
