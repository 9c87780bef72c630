"""Load a Fluent SDK ``GraphQLMutationMapper`` config unchanged.

The config's ``arguments`` (what the SDK's ``map()`` reads) become the
engine's fields, one per mutation variable, so a record maps to the variables
the SDK would send (``{"input": {...}}``). The SDK's rules are kept for valid
input: ``value`` wins, an object without ``source`` is a nested object whose
own keys are its fields, ``isArray``/``_array`` maps every item of ``source``
(items use ``transform``, and ``{source, mapping}`` for nested objects), and
the resolver names are the mapper's transforms (``parseInt``, ``trim``,
``toBoolean`` ...), run by the engine's strict equivalents (``sdk.*``, ``bool``): invalid
input rejects the record instead of becoming ``NaN`` (``null``) as in the SDK.
Whatever the SDK's ``map()`` skips (``fields`` inside an argument, ``resolver``
on array items, ``sdk.*`` names, ``_type`` ...) is skipped here too, each with a
warning naming the key.

A config with ``fields`` (and ``nodes``) instead of ``arguments`` is read as
the SDK's ``mapWithNodes()`` reads it (:class:`_FieldsTranslator`): the
variables are ``{"input": fields}`` and nodes are named extract paths. Nodes
that decode text held in a field (``parse: json|xml``, ``unescape``) are
decoded by the ``sdk.nodes`` resolver into the record ``input`` reads, as the
SDK merges them into the data its fields read.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from engine.mapping.sdk_config import LoadedSdkConfig, read_sdk_file
from engine.spec.diagnostics import Diagnostic, SpecPath
from engine.spec.loader import Mark, SpecDocument

#: the mapper's built-in transforms and the engine resolver that does the same for valid input
TRANSFORMS: dict[str, Any] = {
    "parseInt": "sdk.parseInt",
    "parseFloat": "sdk.parseFloat",
    "toString": "sdk.toString",
    "toUpperCase": "sdk.uppercase",
    "toLowerCase": "sdk.lowercase",
    "trim": "sdk.trim",
    # the transform's true words; strict, a false word is needed for false (anything else is false in the SDK)
    "toBoolean": {
        "name": "bool",
        "args": {
            "true_values": ["true", "1", "yes", "y", "on"],
            "false_values": ["false", "0", "no", "n", "off"],
        },
    },
    "toISO8601": "sdk.formatDate",
    "toDate": "sdk.parseDate",
}
#: top-level keys that describe the query or the run, not the variables: accepted, with a warning
QUERY_KEYS = {
    "mutation": "names the mutation the target sends",
    "operationName": "names the query's operation",
    "returnFields": "lists what the mutation returns",
    "sourceFormat": "the parser reads the record",
    "schemaValidation": "the SDK does not use it either",
    "aliasBatching": "the target batches the mutations",
    "customTransforms": "transform functions cannot be loaded from a config",
    "direction": "the spec says where records go",
    "comment": "a note for readers",
}
INFO_KEYS = {"name", "version", "description"}
#: notes for readers, anywhere in a field config: accepted, with a warning
NOTE_KEYS = {"comment", "description"}
#: keys of a scalar field that are translated
SCALAR_KEYS = {"source", "resolver", "transform", "defaultValue", "required"}
#: keys of an array field that configure the array rather than name an item field
ARRAY_KEYS = {"source", "isArray", "autoWrap", "validation", "required", "resolver", "transform"}
#: keys of a nested object the SDK skips instead of reading them as child fields
NESTED_SKIPPED = {
    "source",
    "value",
    "resolver",
    "transform",
    "required",
    "defaultValue",
    "isArray",
    "autoWrap",
    "validation",
    "fields",
    "mapping",
}


def load_sdk_graphql_mapper(spec_doc: SpecDocument, ref: Any, ref_path: SpecPath) -> LoadedSdkConfig:
    """Translate the ``GraphQLMutationMapper`` config ``ref`` names: a file path (relative to the spec) or inline.

    Never raises for a bad config: an unreadable file or one with neither
    ``arguments`` nor ``fields`` gives ``fields=None`` and says why in the diagnostics.
    """
    diags: list[Diagnostic] = []
    read = read_sdk_file(spec_doc, ref, ref_path, diags)
    if read is None:
        return LoadedSdkConfig(spec_doc, ref_path, None, diags)
    doc, base, config = read
    pattern = _pattern(doc, base, config, diags)
    if pattern is None:
        return LoadedSdkConfig(doc, base, None, diags)
    translator = _Translator(doc, diags) if pattern == "arguments" else _FieldsTranslator(doc, diags)
    _warn_top_keys(translator, config, base, pattern)
    where = (*base, pattern)
    view = _ConfigPositions(**{f.name: getattr(doc, f.name) for f in dataclasses.fields(doc)})
    if isinstance(translator, _FieldsTranslator):
        translator.nodes(config.get("nodes"), (*base, "nodes"))
        fields: dict[str, dict[str, Any]] = {
            "input": {"fields": translator.children(config["fields"], where)}
        }
        if translator.decoded:  # the nodes decoded into the record, which input's fields then read
            nodes = {"name": "sdk.nodes", "args": {"nodes": translator.decoded}}
            fields["input"].update({"source": "$record", "resolver": nodes})
        return LoadedSdkConfig(view, base, fields, diags)
    return LoadedSdkConfig(view, where, translator.children(config["arguments"], where, skipped=set()), diags)


#: keys of an engine field written under another name in an SDK config
CONFIG_KEYS = {"default": "defaultValue", "each": "source"}
#: path steps the translation adds (nested ``fields``, the ``input`` of mapWithNodes)
ADDED_STEPS = {"fields", "input"}


class _ConfigPositions(SpecDocument):
    """The config's document, reporting a translated field's problems at the config's own key.

    The engine's paths nest with ``fields`` where the SDK's objects do not;
    each path is read against the config, skipping the steps the translation
    added, so a diagnostic names the config's path, line and column.
    """

    def config_path(self, path: SpecPath) -> SpecPath:
        """``path`` as it is written in the config, up to the first step it does not have."""
        node, out = self.data, []
        for step in path:
            if isinstance(node, dict):
                key = next((k for k in (step, CONFIG_KEYS.get(str(step)), f"{step}[]") if k in node), None)
                if key is not None:
                    node = node[key]
                    out.append(key)
                    continue
            if step not in ADDED_STEPS:
                break
        return tuple(out)

    def mark(self, path: SpecPath, *, key: bool = False) -> Mark:
        """Position of the config's own ``path`` (see :meth:`config_path`)."""
        return super().mark(self.config_path(path), key=key)

    def diagnostic(self, path: SpecPath, message: str, *, key: bool = False, **kw: Any) -> Diagnostic:
        """A :class:`Diagnostic` at, and naming, the config's own ``path``."""
        return super().diagnostic(self.config_path(path), message, key=key, **kw)


def _pattern(doc: SpecDocument, base: SpecPath, config: Any, diags: list[Diagnostic]) -> str | None:
    """Which of the SDK's forms the config is: ``arguments`` (``map()``) or ``fields`` (``mapWithNodes``)."""
    if not isinstance(config, dict):
        diags.append(doc.diagnostic(base, "a GraphQLMutationMapper config is an object"))
        return None
    pattern = "arguments" if config.get("arguments") else "fields" if "fields" in config else None
    if pattern is None:
        diags.append(doc.diagnostic(base, "a GraphQLMutationMapper config needs 'arguments' or 'fields'"))
        return None
    if not isinstance(config[pattern], dict):
        diags.append(doc.diagnostic((*base, pattern), f"'{pattern}' must be an object"))
        return None
    return pattern


def _warn_top_keys(translator: _Translator, config: dict[str, Any], base: SpecPath, pattern: str) -> None:
    """A warning for each top-level key that does not change the variables."""
    for key in config:
        if key in QUERY_KEYS:
            translator.warn(
                (*base, key), f"'{key}' does not change the variables ({QUERY_KEYS[key]}); ignored"
            )
        elif key in ("fields", "nodes") and pattern == "arguments":
            translator.warn(
                (*base, key), f"'{key}' is read only by mapWithNodes, not next to 'arguments'; ignored"
            )
        elif key not in INFO_KEYS and key not in ("arguments", "fields", "nodes"):
            translator.warn((*base, key), f"unknown GraphQLMutationMapper key '{key}'; ignored")


class _Translator:
    """Turns the mapper's field configs into engine field definitions, collecting warnings and errors."""

    def __init__(self, doc: SpecDocument, diags: list[Diagnostic]) -> None:
        self.doc = doc
        self.diags = diags

    def warn(self, path: SpecPath, message: str) -> None:
        """A warning at the key ``path`` ends with."""
        self.diags.append(
            self.doc.diagnostic(path, message, key=True, severity="warning", code="sdk-ignored")
        )

    def error(self, path: SpecPath, message: str) -> None:
        """An error at the node for ``path``."""
        self.diags.append(self.doc.diagnostic(path, message))

    def children(self, raw: dict[str, Any], path: SpecPath, *, skipped: set[str]) -> dict[str, Any]:
        """The child fields of an object (the arguments, or a nested object): its own keys, as ``field``."""
        out: dict[str, Any] = {}
        for key, value in raw.items():
            if key.startswith("_") or key in NOTE_KEYS:
                self.warn((*path, key), f"'{key}' does not change the variables; ignored")
            elif key in skipped:
                self.warn(
                    (*path, key), f"'{key}' is not a field of a nested object (the SDK skips it); ignored"
                )
            else:
                field = self.field(value, (*path, key))
                if field is not None:
                    out[key] = field
        return out

    def field(self, raw: Any, path: SpecPath) -> Any:
        """One field as the SDK's ``map()`` reads it: a path, ``value``, an array, a nested object or a source."""
        if isinstance(raw, str):
            return {"source": raw}
        if not isinstance(raw, dict):
            self.warn(path, f"'{path[-1]}' is not a field config (the SDK gives nothing for it); ignored")
            return None
        if "value" in raw:
            return self.value(raw, path)
        if raw.get("isArray") or raw.get("_array"):
            return self.array(raw, path)
        if raw.get("_nested") or "source" not in raw:
            out: dict[str, Any] = {"fields": self.children(raw, path, skipped=NESTED_SKIPPED)}
            if "source" in raw:
                out["source"] = raw["source"]
            return out
        return self.scalar(raw, path, resolver_keys=("resolver", "transform"))

    def value(self, raw: dict[str, Any], path: SpecPath) -> dict[str, Any]:
        """A constant; the SDK replaces a ``"${NAME}"`` string from its environment, the engine does not."""
        literal = raw["value"]
        if isinstance(literal, str) and literal.startswith("${") and literal.endswith("}"):
            self.warn(
                (*path, "value"),
                f"the SDK reads {literal} from its environment; the engine sends it as written "
                "(use a source from $context instead)",
            )
        for key in raw:
            if key != "value":
                self.warn((*path, key), f"'{key}' does nothing next to 'value' (as in the SDK); ignored")
        return {"value": literal}

    def scalar(
        self, raw: dict[str, Any], path: SpecPath, *, resolver_keys: tuple[str, ...]
    ) -> dict[str, Any]:
        """A value read from ``source``: the first of ``resolver_keys`` present names the transform."""
        out: dict[str, Any] = {"source": raw["source"]}
        for key in raw:
            if key in NOTE_KEYS or key.startswith("_"):
                self.warn((*path, key), f"'{key}' does not change the variables; ignored")
            elif key not in SCALAR_KEYS:
                self.warn((*path, key), f"unknown key '{key}' of a field; ignored")
        names = [k for k in resolver_keys if k in raw]
        for key in ("resolver", "transform"):
            if key in raw and key not in resolver_keys:
                self.warn((*path, key), f"the SDK ignores '{key}' on the fields of array items; ignored")
        if names:
            if len(names) > 1:
                self.warn((*path, names[1]), f"'{names[0]}' is used and '{names[1]}' ignored (as in the SDK)")
            resolver = self.resolver(raw[names[0]], (*path, names[0]))
            if resolver is not None:
                out["resolver"] = resolver
        if "defaultValue" in raw:
            out["default"] = raw["defaultValue"]
        if raw.get("required") is True:
            out["required"] = True
        return out

    def resolver(self, name: Any, path: SpecPath) -> Any:
        """The engine resolver for a transform name, or a custom resolver's own name (None when the SDK skips it)."""
        if not isinstance(name, str):
            self.error(path, "a resolver is one name (a string)")
            return None
        if name in TRANSFORMS:
            return TRANSFORMS[name]
        if name.startswith("sdk."):
            self.warn(
                path,
                f"'{name}' is not a GraphQLMutationMapper transform: the SDK leaves the value unchanged; "
                f"ignored (use one of {', '.join(sorted(TRANSFORMS))})",
            )
            return None
        return name

    def array(self, raw: dict[str, Any], path: SpecPath) -> dict[str, Any] | None:
        """``isArray``/``_array``: every item of ``source`` mapped with the config's own keys."""
        if "source" not in raw:
            self.error(path, "an array field needs a 'source' (the SDK fails the record without one)")
            return None
        for key in ("resolver", "transform"):
            if key in raw:
                self.warn((*path, key), f"the SDK does not apply '{key}' to an array; ignored")
        items: dict[str, Any] = {}
        for key, value in raw.items():
            if key.startswith("_") or key in ARRAY_KEYS or key in NOTE_KEYS:
                if key not in ARRAY_KEYS and key not in ("_array", "_autoWrap", "_validation"):
                    self.warn((*path, key), f"'{key}' does not change the variables; ignored")
                continue
            item = self.item_field(value, (*path, key))
            if item is not None:
                items[key] = item
        out: dict[str, Any] = {"each": raw["source"], "fields": items}
        if raw.get("required") is True or self.min_items(raw, path):
            out["required"] = True
        return out

    def min_items(self, raw: dict[str, Any], path: SpecPath) -> bool:
        """Whether the array's ``validation`` (or ``_validation``) asks for at least one item.

        The SDK checks only ``minItems``; a minimum above 1 cannot be checked
        here and is an error rather than a check silently dropped.
        """
        key = "validation" if "validation" in raw else "_validation"
        rules = raw.get(key)
        if not isinstance(rules, dict):
            return False
        for rule in rules:
            if rule != "minItems":
                self.warn((*path, key, rule), f"the SDK does not check '{rule}'; ignored")
        least = rules.get("minItems")
        if isinstance(least, int) and least > 1:
            self.error(
                (*path, key, "minItems"), "'minItems' above 1 is not supported (1 is: at least one item)"
            )
        return isinstance(least, int) and least >= 1

    def item_field(self, raw: Any, path: SpecPath) -> Any:
        """A field of an array item: a path, ``value``, ``{source, mapping}`` or a source with ``transform``."""
        if isinstance(raw, str):
            return {"source": raw}
        if not isinstance(raw, dict):
            self.warn(path, f"'{path[-1]}' is not a field config (the SDK gives nothing for it); ignored")
            return None
        if "value" in raw:
            return self.value(raw, path)
        if "source" in raw and isinstance(raw.get("mapping"), dict):
            mapping = raw["mapping"]
            inner = mapping.get("source")
            source = f"{raw['source']}.{inner}" if isinstance(inner, str) else raw["source"]
            return {
                "source": source,
                "fields": self.children(mapping, (*path, "mapping"), skipped=NESTED_SKIPPED),
            }
        if "source" in raw:
            return self.scalar(raw, path, resolver_keys=("transform",))
        self.warn(
            path,
            "the SDK leaves this item field out (a nested object in an array item is written "
            "{source, mapping}); ignored",
        )
        return None


#: a node name, as the SDK's nodes processor requires it
NODE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _FieldsTranslator(_Translator):
    """The ``fields`` + ``nodes`` form (the SDK's ``mapWithNodes``): the variables are ``{"input": fields}``.

    Paths are read from the record; ``$name.path`` (or ``name.path``) reads
    from the node ``name``, which is its ``extract`` path, or, for a node that
    is decoded (``parse``, ``unescape``), ``name.path`` in the record
    ``sdk.nodes`` builds. Array items read ``$.path`` from the item and any
    other path from the record.
    """

    def __init__(self, doc: SpecDocument, diags: list[Diagnostic]) -> None:
        super().__init__(doc, diags)
        self.extracts: dict[str, str] = {}
        #: nodes decoded into the record, as ``sdk.nodes`` takes them
        self.decoded: dict[str, dict[str, Any]] = {}
        #: how many array items the field being translated is inside
        self.depth = 0

    def nodes(self, raw: Any, path: SpecPath) -> None:
        """Record each node's ``extract`` path; what needs decoding is an error at its key."""
        if raw is None:
            return
        if not isinstance(raw, dict):
            self.error(path, "'nodes' must be an object")
            return
        for name, node in raw.items():
            where = (*path, name)
            if not NODE_NAME.fullmatch(name):
                self.error(
                    where, f"node name '{name}' must start with a letter or '_' (letters, digits, '_')"
                )
            elif not isinstance(node, dict) or not isinstance(node.get("extract"), str):
                self.error(where, f"node '{name}' needs an 'extract' path")
            else:
                self._node(name, node, where)

    def _node(self, name: str, node: dict[str, Any], where: SpecPath) -> None:
        decoded: dict[str, Any] = {"extract": node["extract"]}
        for key in node:
            if key == "parse" and node[key] not in ("json", "xml"):
                self.error((*where, key), f"node '{name}': parse is json or xml, not {node[key]!r}")
            elif key == "unescape" and not isinstance(node[key], bool):
                self.error((*where, key), f"node '{name}': unescape is true or false")
            elif key in ("parse", "unescape"):
                decoded[key] = node[key]
            elif key == "required":
                self.warn(
                    (*where, key), "a node's 'required' is not checked (make its fields required); ignored"
                )
            elif key != "extract":
                self.warn((*where, key), f"'{key}' does not change the variables; ignored")
        if len(decoded) > 1:
            self.decoded[name] = decoded
        else:
            self.extracts[name] = node["extract"]

    def path(self, source: Any, where: SpecPath, *, root: bool = False) -> str | None:
        """An SDK source path as an engine path: a node replaced by its extract path; from ``$root`` in items."""
        if not isinstance(source, str) or not source:
            self.error(where, "a source is a non-empty path")
            return None
        head, dot, rest = source.partition(".")
        name = head[1:] if head.startswith("$") else head
        if name in self.decoded:  # in the record sdk.nodes built: the record itself, or items' $parent
            found = name + (dot + rest if dot else "")
            return ".".join(["$parent"] * self.depth + [found]) if root else found
        if name in self.extracts:
            source = self.extracts[name] + (dot + rest if dot else "")
        elif head.startswith("$"):
            self.warn(where, f"no node named '{name}': the SDK reads nothing here; ignored")
            return None
        elif head == "nodes" and rest.partition(".")[0] in self.extracts:
            self.warn(
                where, "'nodes.NAME.path' reads nothing in the SDK (write '$NAME.path'); kept as written"
            )
        return f"$root.{source}" if root else source

    def children(
        self, raw: dict[str, Any], path: SpecPath, *, skipped: set[str] | None = None
    ) -> dict[str, Any]:
        """The fields of an object: each key (``name[]`` is an array) as a field."""
        out: dict[str, Any] = {}
        for key, value in raw.items():
            field = self.field(value, (*path, key))
            if field is not None:
                out[key[:-2] if key.endswith("[]") else key] = field
        return out

    def field(self, raw: Any, path: SpecPath, *, root: bool = False) -> Any:
        """One field as ``mapWithNodes`` reads it: an array, ``value``, nested fields, or source and resolver."""
        if not isinstance(raw, dict):
            self.warn(path, f"'{path[-1]}' is not a field config (the SDK gives nothing for it); ignored")
            return None
        if str(path[-1]).endswith("[]") or raw.get("isArray") is True:
            return self.array(raw, path)
        if "value" in raw:
            return self.value(raw, path)
        if isinstance(raw.get("fields"), dict):
            for key in raw:
                if key != "fields":
                    self.warn((*path, key), f"'{key}' is not used next to 'fields' (as in the SDK); ignored")
            return self.nested(raw["fields"], (*path, "fields"), root=root)
        if "source" not in raw and "resolver" not in raw:
            return self.nested(raw, path, root=root)
        return self.computed(raw, path, root=root)

    def nested(self, raw: dict[str, Any], path: SpecPath, *, root: bool) -> dict[str, Any]:
        """A nested object: its fields read from the same record (``source`` does not move them)."""
        fields: dict[str, Any] = {}
        for key, value in raw.items():
            field = self.field(value, (*path, key), root=root)
            if field is not None:
                fields[key] = field
        return {"fields": fields}

    def computed(self, raw: dict[str, Any], path: SpecPath, *, root: bool) -> dict[str, Any] | None:
        """A value from ``source`` and/or a resolver; ``required`` is checked (the SDK does not check it)."""
        for key in raw:
            if key in NOTE_KEYS or key.startswith("_"):
                self.warn((*path, key), f"'{key}' does not change the variables; ignored")
            elif key not in ("source", "resolver", "defaultValue", "required"):
                self.warn((*path, key), f"unknown key '{key}' of a field; ignored")
        out: dict[str, Any] = {}
        if "source" in raw:
            source = self.path(raw["source"], (*path, "source"), root=root)
            if source is None:
                return None
            out["source"] = source
        resolver = self.resolver(raw["resolver"], (*path, "resolver")) if "resolver" in raw else None
        if resolver is not None and ("source" in raw or resolver not in TRANSFORMS.values()):
            out["resolver"] = resolver
        if not out:
            return None
        if "defaultValue" in raw:
            if resolver in TRANSFORMS.values():
                self.warn(
                    (*path, "defaultValue"),
                    "the SDK does not apply 'defaultValue' after a transform; ignored",
                )
            else:
                out["default"] = raw["defaultValue"]
        if raw.get("required") is True:
            out["required"] = True
        return out

    def array(self, raw: dict[str, Any], path: SpecPath) -> dict[str, Any] | None:
        """``name[]`` or ``isArray: true``: each item of ``source`` mapped with ``fields``."""
        if "source" not in raw:
            return {"value": []}
        source = self.path(raw["source"], (*path, "source"))
        if source is None:
            return None
        items: dict[str, Any] = {}
        self.depth += 1
        for key, item in (raw.get("fields") or {}).items():
            where = (*path, "fields", key)
            if isinstance(item, dict) and str(item.get("source", "")).startswith("$."):
                field = self.item_source(item, where)
            else:
                field = self.field(item, where, root=True)
            if field is not None:
                items[key] = field
        self.depth -= 1
        return {"each": source, "fields": items}

    def item_source(self, raw: dict[str, Any], path: SpecPath) -> dict[str, Any]:
        """An item field reading ``$.path`` from the item: only its transform applies (as in the SDK)."""
        out: dict[str, Any] = {"source": raw["source"][2:]}
        for key in raw:
            if key in NOTE_KEYS or key.startswith("_"):
                self.warn((*path, key), f"'{key}' does not change the variables; ignored")
            elif key not in ("source", "resolver"):
                self.warn((*path, key), f"the SDK does not apply '{key}' to a '$.' item field; ignored")
        resolver = self.resolver(raw["resolver"], (*path, "resolver")) if "resolver" in raw else None
        if resolver is not None:
            out["resolver"] = resolver
        return out
