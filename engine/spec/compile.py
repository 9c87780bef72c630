"""``compile(spec) -> Plan``: every lookup and every object, no I/O.

Validation is compilation that stops before running: all problems are
collected (skeleton, each plugin block against its own schema, connections,
mapping paths, resolvers and expressions, cron expressions), sorted by line
and raised together as one :class:`~engine.errors.SpecError`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from engine.contracts import Connection, Lookup, ResolverOptions
from engine.errors import EngineError, PluginError, SpecError
from engine.plan import ErrorPolicy, ExplodePolicy, Plan, StatePolicy, TriggerPolicy
from engine.registry import Entry, Registries, Registry, default_registries, resolvers_of_module
from engine.secrets import Secret, has_reference, redactor, unset_references
from engine.spec import sections
from engine.spec.diagnostics import Diagnostic, SpecPath, errors, render_path, sort_diagnostics
from engine.spec.loader import SpecDocument, load_file
from engine.spec.options import OptionError, build_options, fill_defaults, secret_options
from engine.spec.routes import compile_routes
from engine.spec.schema_errors import check
from engine.text_templates import answer_template


class Compiler:
    """One spec's compilation: every problem collected as a diagnostic, the plan built when none is an error.

    Sections compiled in modules of their own (:mod:`engine.spec.routes`)
    use its :meth:`error`, :meth:`check`, :meth:`block` and :meth:`mapping`.
    """

    def __init__(self, doc: SpecDocument, registries: Registries, allow_custom_code: bool) -> None:
        self.doc = doc
        self.regs = registries
        self.allow_custom_code = allow_custom_code
        self.diags: list[Diagnostic] = []
        self.connections: dict[str, Connection] = {}
        self.connection_types: dict[str, str] = {}
        #: the mapping's fields as written, with their document and path (for the target's checks)
        self.written: tuple[SpecDocument, Any, SpecPath] | None = None

    # -- helpers -----------------------------------------------------------------

    def error(self, path: SpecPath, message: str, *, key: bool = False, code: str = "spec") -> None:
        """Report an error at ``path`` (at its key with ``key=True``)."""
        self.diags.append(self.doc.diagnostic(path, message, key=key, code=code))

    def warn(self, path: SpecPath, message: str, *, key: bool = False, code: str = "spec") -> None:
        """Report a warning at ``path``."""
        self.diags.append(self.doc.diagnostic(path, message, key=key, severity="warning", code=code))

    def check(self, path: SpecPath, schema: dict[str, Any], value: Any, what: str = "option") -> bool:
        """Check ``value`` at ``path`` against ``schema``, reporting every problem; True when none is an error."""
        found = check(self.doc, path, schema, value, what=what)
        self.diags.extend(found)
        return not errors(found)

    # -- plugin blocks ---------------------------------------------------------

    def block(self, kind: str, block: Any, path: SpecPath, *, parent_connection: str | None = None) -> Any:
        """Validate a ``{type: ...}`` block against its plugin and build the plugin."""
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            return None  # the skeleton check already reported it
        registry: Registry = self.regs.kind(kind)
        name = block["type"]
        try:
            cls = registry.get(name)
        except PluginError as exc:
            self.error((*path, "type"), str(exc), code="unknown-plugin")
            return None
        schema = cls.schema
        full = {**schema, "properties": {"type": {"const": name}, **schema.get("properties", {})}}
        full.setdefault("additionalProperties", False)
        references_ok = self._connection_refs(schema, block, path)
        if not self.check(path, full, block) or not references_ok:
            return None
        nested, ok = self._nested_plugins(schema, block, path)
        self._secret_lint(schema, block, path)
        ok = self._custom_code(schema, block, path) and ok
        if not ok:
            return None
        try:
            options = build_options(cls.Options, schema, block, path, self.doc.base_dir, nested=nested)
            plugin = cls(options, path=render_path(path))
        except OptionError as exc:
            self.error(exc.path, exc.message, code="option")
            return None
        except EngineError as exc:
            self.error(path, exc.message, code="plugin")
            return None
        for sub_path, message in plugin.problems():
            self.error((*path, *sub_path), message, code="plugin")
        for sub_path, message in plugin.warnings():
            self.warn((*path, *sub_path), message, code="plugin")
        try:
            for sub_path, message in plugin.schema_problems(self.doc.base_dir):
                self.error((*path, *sub_path), message, code="target-schema")
        except EngineError as exc:
            self.error(path, exc.message, code="target-schema")
        if isinstance(block.get("connection"), str):
            plugin.connection_name = block["connection"]
        return plugin

    def _connection_refs(self, schema: dict[str, Any], block: dict[str, Any], path: SpecPath) -> bool:
        """Check every option that names a connection (``x-connection``); all are reported."""
        ok = True
        for prop, sub in schema.get("properties", {}).items():
            if isinstance(sub, dict) and sub.get("x-connection") and prop in block:
                ok = self._connection_ref(block[prop], sub["x-connection"], (*path, prop)) and ok
        return ok

    def _nested_plugins(
        self, schema: dict[str, Any], block: dict[str, Any], path: SpecPath
    ) -> tuple[dict[str, Any], bool]:
        """Build the plugins named inside a block (``x-plugin`` options, e.g. a file target's writer)."""
        nested: dict[str, Any] = {}
        ok = True
        for prop, sub in schema.get("properties", {}).items():
            if not isinstance(sub, dict) or not sub.get("x-plugin"):
                continue
            value = block.get(prop, sub.get("default"))
            if isinstance(value, str):
                value = {"type": value}
            if value is None:
                nested[prop] = None
                continue
            built = self.block(sub["x-plugin"], value, (*path, prop))
            ok = ok and built is not None
            nested[prop] = built
        return nested, ok

    def _connection_ref(self, name: Any, wanted: Any, path: SpecPath) -> bool:
        from engine.suggest import did_you_mean

        types = [wanted] if isinstance(wanted, str) else list(wanted)
        declared = self.doc.data.get("connections") or {}
        if not isinstance(name, str) or name not in declared:
            hint = (
                did_you_mean(str(name), declared)
                or f" (known: {', '.join(sorted(declared)) or 'none declared'})"
            )
            self.error(path, f"connection '{name}' is not defined under connections{hint}", code="reference")
            return False
        actual = (declared.get(name) or {}).get("type")
        if actual not in types:
            self.error(
                path,
                f"connection '{name}' is of type '{actual}', expected {' or '.join(types)}",
                code="reference",
            )
            return False
        return True

    def _secret_lint(self, schema: dict[str, Any], block: dict[str, Any], path: SpecPath) -> None:
        """Warn about secrets written in the spec, and remember them so no output shows them."""
        for secret_path, value in secret_options(schema, block):
            if isinstance(value, str) and value and not has_reference(value):
                redactor.add(value)
                self.warn(
                    (*path, *secret_path),
                    "a secret is written in the spec; reference it instead, e.g. ${env:NAME} or ${file:PATH}",
                    code="literal-secret",
                )

    def _custom_code(self, schema: dict[str, Any], block: dict[str, Any], path: SpecPath) -> bool:
        """Options that make the engine run or load foreign code (``x-custom-code``) need the flag."""
        if self.allow_custom_code:
            return True
        ok = True
        for prop, sub in schema.get("properties", {}).items():
            if isinstance(sub, dict) and sub.get("x-custom-code") and block.get(prop) is not None:
                self.error(
                    (*path, prop),
                    f"{sub['x-custom-code']}: it counts as custom code and is used only with "
                    "--allow-custom-code",
                    code="custom-code",
                )
                ok = False
        return ok

    # -- sections ----------------------------------------------------------------

    def custom_resolvers(self, data: dict[str, Any]) -> None:
        """Load the spec's own resolver modules (``plugins:``), only with ``--allow-custom-code``."""
        modules = data.get("plugins") or []
        if not modules:
            return
        if not self.allow_custom_code:
            self.error(
                ("plugins",),
                "custom code is not loaded unless you pass --allow-custom-code "
                "(it runs with your permissions)",
                code="custom-code",
            )
            return
        overlay = self.regs.resolvers.copy()
        import sys

        sys.path.insert(0, str(self.doc.base_dir))
        try:
            for i, module in enumerate(modules):
                try:
                    for resolver in resolvers_of_module(module, prefix="custom."):
                        overlay.add(
                            Entry(
                                "resolvers",
                                resolver.name,
                                f"spec plugin {module}",
                                f"spec plugin {module}",
                                resolver,
                            )
                        )
                except PluginError as exc:
                    self.error(("plugins", i), exc.message, code="custom-code")
        finally:
            sys.path.remove(str(self.doc.base_dir))
        self.regs = self.regs.replacing("resolvers", overlay)

    def explode(self, section: Any, parser: Any) -> ExplodePolicy | None:
        """``explode:`` checked (paths parse, records can hold lists) and built."""
        from engine.mapping.paths import PathSyntaxError, parse_path

        if not isinstance(section, dict):
            return None
        schema = sections.SKELETON["properties"]["explode"]
        if errors(check(self.doc, ("explode",), schema, section, what="explode option")):
            return None
        if parser is not None and parser.name == "csv":
            self.error(("explode",), "a CSV row holds no lists to explode (use json, jsonl, xml or parquet)")
        for where, text in [
            (("explode", "path"), section["path"]),
            *((("explode", "parent", k), v) for k, v in (section.get("parent") or {}).items()),
        ]:
            try:
                parse_path(text)
            except PathSyntaxError as exc:
                self.error(where, exc.message)
        policy: ExplodePolicy = self._policy(ExplodePolicy, schema, section, ("explode",))
        return policy

    def lookups(self, section: Any) -> dict[str, Lookup]:
        """``lookups:``, each block built like any plugin (``$lookup.NAME`` in mappings reads them)."""
        out: dict[str, Lookup] = {}
        for name, block in (section or {}).items() if isinstance(section, dict) else ():
            plugin = self.block("lookups", block, ("lookups", name))
            if plugin is not None:
                out[name] = plugin
        return out

    def lookup_references(self, raw: Any, section: Any, path: SpecPath = ("mapping",)) -> None:
        """Every ``$lookup.NAME`` a mapping's sources read names a declared lookup (a did-you-mean otherwise)."""
        from engine.mapping.paths import LOOKUP_KEY, Key, PathSyntaxError, parse_path
        from engine.suggest import did_you_mean

        declared = list(section) if isinstance(section, dict) else []
        stack: list[tuple[SpecPath, Any]] = []
        if isinstance(raw, dict) and isinstance(raw.get("fields"), dict):
            stack.append(((*path, "fields"), raw["fields"]))
        while stack:
            where, fields = stack.pop()
            for key, field in fields.items():
                if not isinstance(field, dict):
                    continue
                if isinstance(field.get("fields"), dict):
                    stack.append(((*where, key, "fields"), field["fields"]))
                text = field.get("source")
                if not isinstance(text, str) or not text.startswith("$lookup"):
                    continue
                try:
                    steps = parse_path(text).steps
                except PathSyntaxError:
                    continue  # the mapping reports it
                if len(steps) < 2 or steps[0] != Key(LOOKUP_KEY) or not isinstance(steps[1], Key):
                    continue
                name = steps[1].name
                if name not in declared:
                    known = did_you_mean(name, declared) or (
                        f" (declared: {', '.join(declared)})"
                        if declared
                        else " (none are declared under lookups:)"
                    )
                    self.error((*where, key, "source"), f"$lookup.{name}: no lookup of that name{known}")

    def mapping(self, section: Any, path: SpecPath = ("mapping",)) -> Any:
        """A ``mapping:`` block (the spec's, or a route's at ``path``) compiled; None when absent or wrong."""
        from engine.mapping.compiler import compile_fields
        from engine.mapping.sdk_config import load_sdk_config
        from engine.mapping.sdk_graphql import load_sdk_graphql_mapper

        if section is None:
            return None
        if not self.check(path, sections.MAPPING, section, what="mapping option"):
            return None
        section = fill_defaults(sections.MAPPING, section)
        opts = section.get("options") or {}
        options = ResolverOptions(
            lenient=bool(opts.get("lenient")),
            timezone=opts.get("timezone"),
            base_dir=str(self.doc.base_dir),
        )
        given = [key for key in ("fields", "sdk_config", "sdk_graphql_mapper") if key in section]
        if len(given) > 1:
            self.error(
                path,
                f"use one of fields, sdk_config or sdk_graphql_mapper, not {' and '.join(given)}",
            )
            return None
        if given and given[0] != "fields":
            load = load_sdk_config if given[0] == "sdk_config" else load_sdk_graphql_mapper
            loaded = load(self.doc, section[given[0]], (*path, given[0]))
            self.diags.extend(loaded.diagnostics)
            if loaded.fields is None:
                return None
            compiled, diags = compile_fields(
                loaded.doc, loaded.fields, loaded.path, self.regs.resolvers, options, section["columnar"]
            )
            self.written = (loaded.doc, loaded.fields, loaded.path)
        elif "fields" in section:
            compiled, diags = compile_fields(
                self.doc,
                section["fields"],
                (*path, "fields"),
                self.regs.resolvers,
                options,
                section["columnar"],
            )
            self.written = (self.doc, section["fields"], (*path, "fields"))
        else:
            self.error(path, "a mapping needs fields (or sdk_config, or sdk_graphql_mapper)")
            return None
        self.diags.extend(diags)
        return compiled

    def conformance(self, target: Any, path: SpecPath = ("target",)) -> None:
        """The mapping just compiled checked against the record the target at ``path`` takes (fields, types, required ones)."""
        try:
            shape = target.record_shape(self.doc.base_dir)
        except EngineError as exc:
            self.error(path, exc.message, code="target-schema")
            return
        if shape is None or self.written is None:
            return
        # graphql-core comes with the checker: only for a target that declares its record
        from engine.mapping.conformance import mapping_problems

        doc, fields, path = self.written
        self.diags.extend(mapping_problems(doc, fields, path, shape, self.regs.resolvers))

    def trigger(self, section: Any) -> TriggerPolicy:
        """``trigger:`` checked (cron syntax, webhook auth) and built; empty when absent or wrong."""
        if section is None:
            return TriggerPolicy(None, None)
        if not self.check(("trigger",), sections.TRIGGER, section, what="trigger option"):
            return TriggerPolicy(None, None)
        schedule = section.get("schedule")
        if schedule is not None:
            from croniter import croniter

            if not croniter.is_valid(schedule):
                self.error(
                    ("trigger", "schedule"),
                    f"invalid cron expression {schedule!r} "
                    "(expected five fields: minute hour day month weekday)",
                )
        self._webhook_auth(section.get("webhook"))
        self._webhook_answer(section.get("webhook"))
        self._secret_lint(sections.TRIGGER, section, ("trigger",))
        policy: TriggerPolicy = self._policy(TriggerPolicy, sections.TRIGGER, section, ("trigger",))
        return policy

    def _webhook_auth(self, webhook: Any) -> None:
        """What ``engine serve`` would refuse, and what it would serve unprotected."""
        if not isinstance(webhook, dict):
            return
        path = ("trigger", "webhook")
        auth = webhook.get("auth")
        if auth is None:
            self.error(
                path,
                "missing auth: say how senders prove who they are (fluent_signature or api_key), "
                "or auth: {type: none} to accept anyone",
                code="webhook-auth",
            )
            return
        kind = auth.get("type")
        needs = {"fluent_signature": "public_key", "api_key": "api_key"}.get(kind)
        if needs and not auth.get(needs):
            self.error((*path, "auth"), f"{kind} needs {needs}", code="webhook-auth")
        if kind == "none":
            self.warn(
                (*path, "auth", "type"),
                "anyone who can reach this endpoint can trigger runs; use fluent_signature or api_key",
                code="webhook-no-auth",
            )

    def _webhook_answer(self, webhook: Any) -> None:
        """An answer's templates compile, and only a sync answer has a body."""
        answer = webhook.get("answer") if isinstance(webhook, dict) else None
        if not isinstance(answer, dict):
            return
        path = ("trigger", "webhook", "answer")
        mode = answer.get("mode") or webhook.get("response") or "async"
        if mode == "async":
            for option in ("body", "each", "timeout"):
                if option in answer:
                    self.error(
                        (*path, option),
                        f"only a sync answer has a {option}; an async webhook answers 202 with the run id "
                        "at once (set mode: sync)",
                    )
        if answer.get("each") is not None and answer.get("body") is None:
            self.error((*path, "each"), "each is joined into the body's {{ each }}: give a body too")
        if answer.get("body") is None:
            return
        template = answer_template(
            str(answer["body"]),
            answer.get("each"),
            content_type=answer.get("content_type") or "application/json",
            escape=answer.get("escape"),
        )
        for option, message in template.problems:
            self.error((*path, option), message, code="template")

    def section(self, name: str, data: dict[str, Any], default: Any) -> Any:
        """A section checked against its schema, defaults filled (its default when absent or wrong)."""
        value = data.get(name, default)
        if value is None:
            value = default
        if not self.check((name,), sections.SECTIONS[name], value, what=f"{name.replace('_', ' ')} option"):
            return fill_defaults(sections.SECTIONS[name], default)
        return fill_defaults(sections.SECTIONS[name], value)

    def _policy(self, cls: type[Any], schema: dict[str, Any], value: Any, path: SpecPath) -> Any:
        """A section's typed policy, built like plugin options (defaults from the schema, units converted)."""
        try:
            return build_options(cls, schema, value, path, self.doc.base_dir)
        except OptionError as exc:
            self.error(exc.path, exc.message, code="option")
            return build_options(cls, schema, {}, path, self.doc.base_dir)

    def state(self, data: dict[str, Any]) -> StatePolicy:
        """``state:`` as a :class:`StatePolicy` (``lock: false`` is None, ``lock: true`` the default lock)."""
        value = dict(self.section("state", data, {}))
        unlocked = value.get("lock") is False
        if isinstance(value.get("lock"), bool):
            value["lock"] = {}
        policy: StatePolicy = self._policy(StatePolicy, sections.STATE, value, ("state",))
        return dataclasses.replace(policy, lock=None) if unlocked else policy

    # -- everything ----------------------------------------------------------------

    def run(self) -> Plan | None:
        """Compile every section; the plan, or None when an error was reported."""
        data = self.doc.data
        if not isinstance(data, dict):
            self.error((), "a spec is a mapping of sections (version, name, source, target, ...)")
            return None
        version = data.get("version")
        if isinstance(version, int) and not isinstance(version, bool) and version > sections.SPEC_VERSION:
            self.error(
                ("version",),
                f"spec version {version} is newer than this engine reads "
                f"(version {sections.SPEC_VERSION}); upgrade the engine",
            )
            return None
        self.check((), sections.SKELETON, data, what="section")
        self.custom_resolvers(data)
        for name, block in (data.get("connections") or {}).items():
            plugin = self.block("connections", block, ("connections", name))
            if plugin is not None:
                self.connections[name] = plugin
        source = self.block("sources", data.get("source"), ("source",))
        parser = None
        if "parser" in data:
            parser = self.block("parsers", data.get("parser"), ("parser",))
            if source is not None and source.produces == "records":
                self.error(("parser",), f"source '{source.name}' produces records itself; remove the parser")
        elif source is not None and source.produces == "bytes":
            self.error(
                ("source",), f"source '{source.name}' reads files: add a parser, e.g. 'parser: {{type: csv}}'"
            )
        explode = self.explode(data.get("explode"), parser)
        lookups = self.lookups(data.get("lookups"))
        mapping = self.mapping(data.get("mapping"))
        if mapping is not None:
            self.lookup_references(data.get("mapping"), data.get("lookups"))
        target = self.block("targets", data.get("target"), ("target",)) if "target" in data else None
        if mapping is not None and target is not None:
            self.conformance(target)
        routes = compile_routes(self, data)
        if parser is not None and parser.arrow_rows and mapping is not None:
            # explode and routes need records as dicts first; lookups answer beside the columns
            parser.columnar = explode is None and routes is None and mapping.takes_columns
        state = self.state(data)
        raw_state = data.get("state")
        store = (
            raw_state.get("store") if isinstance(raw_state, dict) else None
        )  # as written: secrets unwrapped
        state_store = self.block("state_stores", store or {"type": "sqlite"}, ("state", "store"))
        on_error: ErrorPolicy = self._policy(
            ErrorPolicy, sections.ON_ERROR, self.section("on_error", data, {}), ("on_error",)
        )
        executor = self.block("executors", data.get("executor") or {"type": "local"}, ("executor",))
        if (
            executor is not None
            and state_store is not None
            and executor.spans_hosts
            and not state_store.shared
        ):
            self.warn(
                ("executor", "type"),
                f"workers on other hosts need a state store every host reaches (state.store: {{type: postgres, "
                f"...}}); the '{state_store.name}' store belongs to one machine",
                code="store-not-shared",
            )
        trigger = self.trigger(data.get("trigger"))
        tests = self.section("tests", data, [])
        context = data.get("context") or {}
        for path, name in _env_references(data):
            self.warn(
                path,
                f"environment variable {name} is not set here (it must be when the connector runs)",
                code="unset-env",
            )
        if errors(self.diags) or source is None or (target is None and routes is None) or state_store is None:
            return None
        return Plan(
            doc=self.doc,
            name=data["name"],
            spec=data,
            connections=self.connections,
            source=source,
            parser=parser,
            mapping=mapping,
            target=target,
            state=state,
            state_store=state_store,
            on_error=on_error,
            trigger=trigger,
            tests=tests,
            context=dict(context),
            warnings=sort_diagnostics(self.diags),
            registries=self.regs,
            executor=executor,
            lookups=lookups,
            explode=explode,
            routes=routes,
        )


def _env_references(data: Any, path: SpecPath = ()) -> list[tuple[SpecPath, str]]:
    out: list[tuple[SpecPath, str]] = []
    if path and path[0] == "tests":
        return out
    if isinstance(data, dict):
        for k, v in data.items():
            out.extend(_env_references(v, (*path, k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.extend(_env_references(v, (*path, i)))
    elif isinstance(data, str | Secret):
        out.extend((path, name) for name in unset_references(data))
    return out


def apply_overrides(doc: SpecDocument, overrides: list[str]) -> None:
    """``--set target.batch_size=500``: change spec values before validation."""
    import yaml

    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"--set expects PATH=VALUE, got {item!r}")
        value = yaml.safe_load(raw) if raw.strip() else ""
        node = doc.data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            if not isinstance(node, dict):
                raise SpecError(f"--set {key}: {part} is not a mapping in the spec")
            node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise SpecError(f"--set {key}: cannot set a value inside a non-mapping")
        node[parts[-1]] = value


def compile_document(
    doc: SpecDocument, *, registries: Registries | None = None, allow_custom_code: bool = False
) -> Plan:
    """Compile or raise :class:`SpecError` carrying every diagnostic, sorted by line."""
    compiler = Compiler(doc, registries or default_registries(), allow_custom_code)
    try:
        plan = compiler.run()
    except SpecError as exc:
        raise SpecError(exc.message, sort_diagnostics([*compiler.diags, *exc.diagnostics])) from None
    if plan is None:
        diags = sort_diagnostics(compiler.diags)
        count = len(errors(diags))
        raise SpecError(f"{doc.file}: {count} problem{'s' if count != 1 else ''} found", diags)
    return plan


def compile_connection(path: str | Path, name: str, *, registries: Registries | None = None) -> Connection:
    """Only the connection ``name`` of the spec at ``path``, for commands that ask its server something.

    The rest of the spec is not checked, so a spec whose checks need what the
    command fetches (``schema: account.graphql`` before it exists) still lends
    its connection. Raises :class:`SpecError` with the block's diagnostics.
    """
    doc = load_file(path)
    declared = doc.data.get("connections") if isinstance(doc.data, dict) else None
    if not isinstance(declared, dict) or name not in declared:
        from engine.suggest import did_you_mean

        known = list(declared or {})
        hint = did_you_mean(name, known) or f" (declared: {', '.join(known) or 'none'})"
        raise SpecError(f"{doc.file}: no connection named {name!r}{hint}")
    compiler = Compiler(doc, registries or default_registries(), allow_custom_code=False)
    plugin = compiler.block("connections", declared[name], ("connections", name))
    if plugin is None or errors(compiler.diags):
        raise SpecError(f"{doc.file}: connections.{name} is not valid", sort_diagnostics(compiler.diags))
    connection: Connection = plugin
    return connection


def compile_file(
    path: str | Path,
    *,
    overrides: list[str] | None = None,
    registries: Registries | None = None,
    allow_custom_code: bool = False,
) -> Plan:
    """Load, validate and compile the spec at ``path``.

    ``overrides`` are ``--set path=value`` strings applied before validation. Raises
    :class:`~engine.errors.SpecError` carrying every diagnostic when the spec is invalid.
    """
    doc = load_file(path)
    if overrides:
        apply_overrides(doc, overrides)
    return compile_document(doc, registries=registries, allow_custom_code=allow_custom_code)
