"""``routes:`` compiled: each route's condition, mapping and target, checked at its own path.

A spec either has one ``mapping`` and one ``target`` or a list of routes,
each ``{name, when?, otherwise?, mapping?, target}``; ``routing: first``
(the default) sends a record to the first route whose ``when`` holds,
``routing: all`` to every one (fan-out). Every problem is reported at the
route's own line and column (``routes[1].mapping.fields.qty.source``), the
way the single mapping's are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jmespath.exceptions import JMESPathError

from engine.mapping.functions import compile_expression
from engine.mapping.model import jmespath_problem
from engine.plan import Route, RoutingPolicy
from engine.spec import sections
from engine.spec.options import fill_defaults

if TYPE_CHECKING:  # pragma: no cover - types only
    from engine.spec.compile import Compiler


def compile_routes(compiler: Compiler, data: dict[str, Any]) -> RoutingPolicy | None:
    """The spec's routes (None when it has none), every mistake reported at its path."""
    raw = data.get("routes")
    if raw is None:
        if "routing" in data:
            compiler.error(("routing",), "routing applies to routes: add routes, or remove routing")
        if "target" not in data:
            compiler.error((), "missing target: say where records go (target:), or route them (routes:)")
        return None
    for section in ("mapping", "target"):
        if section in data:
            compiler.error(
                (section,),
                f"a spec with routes has no {section} of its own: each route has its mapping and target",
                key=True,
            )
    state = data.get("state")
    if isinstance(state, dict) and state.get("changed_only") is not None:
        compiler.error(("state", "changed_only"), "changed_only does not apply to routes yet", key=True)
    if not isinstance(raw, list):
        return None  # the skeleton check reported it
    routes = [_route(compiler, data, block, i, len(raw)) for i, block in enumerate(raw)]
    _unique_names(compiler, raw)
    if any(route is None for route in routes):
        return None
    routing = data.get("routing") or sections.SKELETON["properties"]["routing"]["default"]
    return RoutingPolicy(routing, tuple(r for r in routes if r is not None))


def _route(compiler: Compiler, data: dict[str, Any], block: Any, i: int, count: int) -> Route | None:
    path = ("routes", i)
    if not compiler.check(path, sections.ROUTE, block, what="route option"):
        return None
    block = fill_defaults(sections.ROUTE, block)
    when, ok = None, True
    if "when" in block:
        try:
            when = compile_expression(block["when"])
        except JMESPathError as exc:
            compiler.error(
                (*path, "when"),
                f"invalid JMESPath expression {block['when']!r}: {jmespath_problem(exc)}",
                code="expr",
            )
            ok = False
        if block["otherwise"]:
            compiler.error((*path, "when"), "an otherwise route takes what no other route took; remove when")
    if block["otherwise"] and i != count - 1:
        compiler.error((*path, "otherwise"), "the otherwise route must be the last route")
    mapping = None
    if "mapping" in block:
        mapping = compiler.mapping(block["mapping"], (*path, "mapping"))
        ok = ok and mapping is not None
        compiler.lookup_references(block["mapping"], data.get("lookups"), (*path, "mapping"))
    target = compiler.block("targets", block["target"], (*path, "target"))
    if target is None or not ok:
        return None
    return Route(block["name"], when, mapping, target, otherwise=block["otherwise"])


def _unique_names(compiler: Compiler, raw: list[Any]) -> None:
    seen: dict[str, int] = {}
    for i, block in enumerate(raw):
        name = block.get("name") if isinstance(block, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            compiler.error(
                ("routes", i, "name"),
                f"route '{name}' is already the name of routes[{seen[name]}]; route names key "
                "checkpoints and rejects, so each must be unique",
            )
        else:
            seen[name] = i
