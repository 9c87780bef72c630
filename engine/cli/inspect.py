"""``engine schema``, ``engine plugins`` and ``engine explain``."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from engine.cli.common import load_plan
from engine.cli.fluent_schema import fluent_schema_cmd
from engine.errors import PluginError
from engine.registry import KINDS, default_registries, example_of
from engine.secrets import MASK, Secret, has_reference, redactor
from engine.spec import sections
from engine.spec.compose import composed_schema, plugin_schemas, section_schemas
from engine.spec.options import fill_defaults, secret_options


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def export_schemas(directory: Path) -> list[Path]:
    """Write the skeleton, composed, per-section and per-plugin schemas under ``directory``.

    Subdirectories are created as needed and existing files overwritten;
    returns the paths written.
    """
    regs = default_registries()
    files = {
        "connector.schema.json": sections.SKELETON,
        "engine.schema.json": composed_schema(regs),
        **{f"sections/{name}.schema.json": schema for name, schema in section_schemas(regs).items()},
        **plugin_schemas(regs),
    }
    written = []
    for rel, schema in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_dump(schema), encoding="utf-8")
        written.append(path)
    return written


@click.group("schema", invoke_without_command=True)
@click.option("--export", "export_dir", type=click.Path(file_okay=False), help="Write every schema to DIR.")
@click.pass_context
def schema_cmd(ctx: click.Context, export_dir: str | None) -> None:
    """Print the composed JSON Schema of specs (for editors and CI); `schema fluent` fetches an account's."""
    if ctx.invoked_subcommand is not None:
        return
    if export_dir:
        for path in export_schemas(Path(export_dir)):
            click.echo(str(path))
        return
    click.echo(_dump(composed_schema(default_registries())), nl=False)


schema_cmd.add_command(fluent_schema_cmd)


def _describe_options(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    rows = []
    for name, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, dict):
            continue
        kind = sub.get("type") or ("one of " + ", ".join(map(str, sub["enum"])) if "enum" in sub else "")
        if sub.get("x-plugin"):
            kind = f"{sub['x-plugin'][:-1]} block"
        if isinstance(kind, list):
            kind = " | ".join(kind)
        default = f" = {json.dumps(sub['default'])}" if "default" in sub else ""
        flag = " (required)" if name in required else ""
        secret = {
            "credential-names": " (entries named like credentials are secret)",
            "key-or-path": " (secret unless a path)",
        }.get(str(sub.get("x-secret")), " (secret)" if sub.get("writeOnly") else "")
        desc = sub.get("description", "")
        rows.append(f"  {name}{flag}{secret}: {kind}{default}" + (f"\n      {desc}" if desc else ""))
    return rows


def _kind(word: str) -> str:
    """The registry kind a user means: ``targets``, ``target`` (as the spec key says) or ``state-store``."""
    key = word.lower().replace("-", "_")
    for kind in KINDS:
        if key in (kind, kind[:-1]):
            return kind
    raise click.UsageError(f"unknown kind {word!r}; one of: {', '.join(k[:-1] for k in KINDS)}")


@click.command("plugins")
@click.argument("kind", required=False)
@click.argument("name", required=False)
def plugins_cmd(kind: str | None, name: str | None) -> None:
    """List plugins, or one kind's, or one plugin's options, defaults and example.

    KIND is singular or plural (target, targets); e.g. engine plugins target fluent.batch.
    """
    regs = default_registries()
    if kind is None:
        for k in KINDS:
            names = regs.kind(k).names()
            if not names:
                continue
            click.echo(f"{k}:")
            for n in names:
                if k == "resolvers":
                    continue
                cls = regs.kind(k).get(n)
                click.echo(f"  {n:18} {cls.summary}")
            if k == "resolvers":
                click.echo("  " + ", ".join(names))
        return
    kind = _kind(kind)
    registry = regs.kind(kind)
    if name is None:
        for n in registry.names():
            obj = registry.get(n)
            click.echo(f"{n:18} {getattr(obj, 'summary', '')}")
        return
    try:
        obj = registry.get(name)
    except PluginError as exc:
        raise click.UsageError(str(exc)) from None
    if kind == "resolvers":
        click.echo(f"{name}: {obj.summary}")
        if obj.args:
            click.echo("arguments:")
            click.echo("\n".join(_describe_options(obj.args)))
        return
    click.echo(f"{kind[:-1]} {name}: {obj.summary}")
    click.echo("options:")
    click.echo("\n".join(_describe_options(obj.schema)) or "  (none)")
    example = example_of(obj)
    if example:
        click.echo("example:")
        click.echo("\n".join("  " + line for line in example.splitlines()))


def _redact(value: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``value`` with every secret written in it masked: the options ``engine validate`` warns about.

    References (``${env:NAME}``) are shown as written; they say where the value comes from.
    """
    out = copy.deepcopy(value)
    for path, secret in secret_options(schema, value):
        if isinstance(secret, Secret) or has_reference(secret):
            continue
        node = out
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = MASK
    return out


def _effective_block(regs: Any, kind: str, block: Any) -> Any:
    if isinstance(block, str):
        block = {"type": block}
    if not isinstance(block, dict) or "type" not in block:
        return block
    cls = regs.kind(kind).get(block["type"])
    filled = fill_defaults(cls.schema, block)
    for prop, sub in cls.schema.get("properties", {}).items():
        if isinstance(sub, dict) and sub.get("x-plugin") and filled.get(prop) is not None:
            filled[prop] = _effective_block(regs, sub["x-plugin"], filled[prop])
    return _redact(filled, cls.schema)


def _effective_flow(regs: Any, schema: dict[str, Any], block: dict[str, Any]) -> dict[str, Any]:
    """A route or step with its defaults, its mapping's and its target's (and its steps')."""
    filled = fill_defaults(schema, block)
    if filled.get("mapping"):
        filled["mapping"] = fill_defaults(sections.MAPPING, filled["mapping"])
    if "target" in filled:
        filled["target"] = _effective_block(regs, "targets", filled["target"])
    if "steps" in filled:
        filled["steps"] = [_effective_flow(regs, sections.STEP, step) for step in filled["steps"]]
    return filled


@click.command("explain")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE", help="Override a spec value.")
@click.option(
    "--allow-custom-code", is_flag=True, help="Load the Python modules the spec lists under plugins."
)
def explain_cmd(spec: str, overrides: tuple[str, ...], allow_custom_code: bool) -> None:
    """Print the effective spec: defaults filled in, secrets redacted."""
    plan = load_plan(spec, overrides=list(overrides), allow_custom_code=allow_custom_code)
    regs = plan.registries
    data = plan.spec
    out: dict[str, Any] = {"version": data["version"], "name": data["name"]}
    if data.get("description"):
        out["description"] = data["description"]
    if data.get("context"):
        out["context"] = data["context"]
    if data.get("connections"):
        out["connections"] = {
            n: _effective_block(regs, "connections", b) for n, b in data["connections"].items()
        }
    out["source"] = _effective_block(regs, "sources", data["source"])
    if data.get("parser"):
        out["parser"] = _effective_block(regs, "parsers", data["parser"])
    if data.get("mapping"):
        out["mapping"] = fill_defaults(sections.MAPPING, data["mapping"])
    if "target" in data:
        out["target"] = _effective_block(regs, "targets", data["target"])
    if "routes" in data:
        out["routing"] = data.get("routing") or sections.SKELETON["properties"]["routing"]["default"]
        out["routes"] = [_effective_flow(regs, sections.ROUTE, route) for route in data["routes"]]
    if "steps" in data:
        out["steps"] = [_effective_flow(regs, sections.STEP, step) for step in data["steps"]]
    state = fill_defaults(sections.STATE, data.get("state") or {})
    state["store"] = _effective_block(regs, "state_stores", state.get("store") or {"type": "sqlite"})
    out["state"] = state
    out["on_error"] = fill_defaults(sections.ON_ERROR, data.get("on_error") or {})
    if data.get("trigger"):
        out["trigger"] = _redact(fill_defaults(sections.TRIGGER, data["trigger"]), sections.TRIGGER)
    if plan.tests:
        out["tests"] = f"{len(plan.tests)} case(s)"
    text = yaml.safe_dump(out, sort_keys=False, allow_unicode=True, default_flow_style=False)
    click.echo(redactor.scrub(text), nl=False)
    sys.exit(0)
