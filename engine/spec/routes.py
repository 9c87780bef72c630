"""``routes:`` and ``steps:`` compiled: conditions, mappings and targets, checked at their own paths.

A spec has one ``mapping`` and one ``target``, a list of ``routes``, or a
list of ``steps`` (one route, named ``main``). Each route is ``{name, when?,
otherwise?, mapping?, target}`` or ``{name, when?, otherwise?, steps}``;
``routing: first`` (the default) sends a record to the first route whose
``when`` holds, ``routing: all`` to every one (fan-out). Steps run in order
for each record; a step's mapping reads an earlier step's answer as
``$steps.NAME.answer.FIELD``, and it is checked here that the step exists,
runs earlier, and answers with that field. Every problem is reported at its
own line and column (``routes[1].steps[0].mapping.fields.qty.source``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from jmespath.exceptions import JMESPathError

from engine.contracts import Target
from engine.mapping.functions import compile_expression
from engine.mapping.model import jmespath_problem
from engine.mapping.paths import STEPS_KEY, Key, PathSyntaxError, parse_path
from engine.plan import Route, RoutingPolicy, Step
from engine.spec import sections
from engine.spec.diagnostics import SpecPath
from engine.spec.options import fill_defaults
from engine.suggest import did_you_mean

if TYPE_CHECKING:  # pragma: no cover - types only
    from engine.spec.compile import Compiler

#: the route a spec's top-level ``steps:`` make up
MAIN = "main"


def compile_routes(compiler: Compiler, data: dict[str, Any]) -> RoutingPolicy | None:
    """The spec's routes (None when it has none), every mistake reported at its path."""
    flows = [k for k in ("routes", "steps") if k in data]
    if not flows:
        if "routing" in data:
            compiler.error(("routing",), "routing applies to routes: add routes, or remove routing")
        if "target" not in data:
            compiler.error(
                (), "missing target: say where records go (target:), or route them (routes: or steps:)"
            )
        return None
    for section in ("mapping", "target", *flows[1:]):
        if section in data:
            compiler.error(
                (section,),
                f"a spec with {flows[0]} has no {section} of its own: "
                + (
                    "each route has its mapping and target"
                    if flows[0] == "routes"
                    else "each step has its own"
                ),
                key=True,
            )
    state = data.get("state")
    if isinstance(state, dict) and state.get("changed_only") is not None:
        compiler.error(("state", "changed_only"), f"changed_only does not apply to {flows[0]} yet", key=True)
    raw = data.get(flows[0])
    if not isinstance(raw, list):
        return None  # the skeleton check reported it
    if flows[0] == "steps":
        steps = _steps(compiler, data, raw, ("steps",))
        return RoutingPolicy("first", (Route(MAIN, None, steps),)) if steps is not None else None
    routes = [_route(compiler, data, block, i, len(raw)) for i, block in enumerate(raw)]
    _unique_names(compiler, raw, ("routes",), "route")
    if any(route is None for route in routes):
        return None
    routing = data.get("routing") or sections.SKELETON["properties"]["routing"]["default"]
    return RoutingPolicy(routing, tuple(r for r in routes if r is not None))


def _route(compiler: Compiler, data: dict[str, Any], block: Any, i: int, count: int) -> Route | None:
    path = ("routes", i)
    if not compiler.check(path, sections.ROUTE, block, what="route option"):
        return None
    block = fill_defaults(sections.ROUTE, block)
    when, ok = _when(compiler, block, path)
    if block["otherwise"] and "when" in block:
        compiler.error((*path, "when"), "an otherwise route takes what no other route took; remove when")
    if block["otherwise"] and i != count - 1:
        compiler.error((*path, "otherwise"), "the otherwise route must be the last route")
    if "steps" in block:
        for key in ("mapping", "target"):
            if key in block:
                compiler.error((*path, key), f"a route with steps has no {key} of its own", key=True)
        steps = _steps(compiler, data, block["steps"], (*path, "steps"))
    elif "target" not in block:
        compiler.error(path, "a route needs a target (or steps)")
        return None
    else:
        step = _step_parts(compiler, data, block, path)
        steps = (Step(None, step[0], step[1]),) if step is not None else None
    if steps is None or not ok:
        return None
    return Route(block["name"], when, steps, otherwise=block["otherwise"])


def _steps(compiler: Compiler, data: dict[str, Any], raw: Any, path: SpecPath) -> tuple[Step, ...] | None:
    """A route's steps, each checked; a step reads only the answers of steps before it."""
    if not isinstance(raw, list):
        return None
    _unique_names(compiler, raw, path, "step")
    names = [b.get("name") for b in raw if isinstance(b, dict)]
    out: list[Step] = []
    answers: dict[str, list[str] | None] = {}
    ok = True
    for j, block in enumerate(raw):
        where = (*path, j)
        if not compiler.check(where, sections.STEP, block, what="step option"):
            ok = False
            continue
        explicit_after = "after" in block
        block = fill_defaults(sections.STEP, block)
        if j == 0 and explicit_after:
            compiler.error((*where, "after"), "the first step has no earlier step to follow; remove after")
        when, when_ok = _when(compiler, block, where)
        parts = _step_parts(compiler, data, block, where)
        if isinstance(block.get("mapping"), dict):
            _step_references(compiler, block["mapping"], (*where, "mapping"), block["name"], answers, names)
        if parts is None or not when_ok:
            ok = False
            answers[block["name"]] = ["*"]  # its readers are not blamed for its own mistakes
            continue
        mapping, target = parts
        answers[block["name"]] = target.answer_fields()
        out.append(Step(block["name"], mapping, target, when=when, after=block["after"]))
    return tuple(out) if ok else None


def _step_parts(
    compiler: Compiler, data: dict[str, Any], block: dict[str, Any], path: SpecPath
) -> tuple[Any, Target] | None:
    """The mapping and target of a route or a step (None when either is wrong)."""
    mapping, ok = None, True
    if "mapping" in block:
        mapping = compiler.mapping(block["mapping"], (*path, "mapping"))
        ok = mapping is not None
        compiler.lookup_references(block["mapping"], data.get("lookups"), (*path, "mapping"))
    target = compiler.block("targets", block["target"], (*path, "target"))
    if target is None or not ok:
        return None
    if mapping is not None:
        compiler.conformance(target, (*path, "target"))  # the mapping against the record its target takes
    return mapping, target


def _when(compiler: Compiler, block: dict[str, Any], path: SpecPath) -> tuple[Any, bool]:
    if "when" not in block:
        return None, True
    try:
        return compile_expression(block["when"]), True
    except JMESPathError as exc:
        compiler.error(
            (*path, "when"),
            f"invalid JMESPath expression {block['when']!r}: {jmespath_problem(exc)}",
            code="expr",
        )
        return None, False


def _step_references(
    compiler: Compiler,
    mapping: dict[str, Any],
    path: SpecPath,
    own: str,
    earlier: dict[str, list[str] | None],
    names: list[Any],
) -> None:
    """Every ``$steps.NAME...`` a step's mapping reads names an earlier step and a field its answer has."""
    for where, text in _sources(mapping, path):
        try:
            steps = parse_path(text).steps
        except PathSyntaxError:
            continue  # the mapping reports it
        if len(steps) < 2 or steps[0] != Key(STEPS_KEY) or not isinstance(steps[1], Key):
            continue
        name = steps[1].name
        if name == own or (name in names and name not in earlier):
            compiler.error(
                where,
                f"$steps.{name}: step '{name}' runs "
                + ("as this step" if name == own else "after this one")
                + " (a cycle: steps run in order, and each reads only the answers of the steps before it)",
            )
            continue
        if name not in earlier:
            known = did_you_mean(name, list(earlier)) or (
                f" (earlier steps: {', '.join(earlier)})" if earlier else " (this is the first step)"
            )
            compiler.error(where, f"$steps.{name}: no step of that name runs before this one{known}")
            continue
        _answer_field(compiler, where, name, list(steps[2:]), earlier[name])


def _answer_field(
    compiler: Compiler, where: SpecPath, name: str, rest: list[Any], fields: list[str] | None
) -> None:
    """``$steps.NAME.outcome`` always exists; ``$steps.NAME.answer.FIELD`` only when the step answers with it."""
    if not rest or rest[0] == Key("outcome"):
        return
    if rest[0] != Key("answer"):
        compiler.error(
            where, f"$steps.{name}: a step offers outcome and answer (e.g. $steps.{name}.answer.id)"
        )
        return
    if fields is None:
        compiler.error(where, f"$steps.{name}.answer: step '{name}' has a target that answers nothing")
        return
    if len(rest) < 2 or "*" in fields or not isinstance(rest[1], Key) or rest[1].name in fields:
        return
    hint = did_you_mean(rest[1].name, fields) or f" (it answers: {', '.join(fields)})"
    compiler.error(
        where, f"$steps.{name}.answer.{rest[1].name}: step '{name}' does not answer with that field{hint}"
    )


def _sources(mapping: dict[str, Any], path: SpecPath) -> Iterator[tuple[SpecPath, str]]:
    """``(path, text)`` of every ``source`` in a mapping's fields, nested blocks included."""
    stack: list[tuple[SpecPath, Any]] = []
    if isinstance(mapping.get("fields"), dict):
        stack.append(((*path, "fields"), mapping["fields"]))
    while stack:
        where, fields = stack.pop()
        for key, field in fields.items():
            if not isinstance(field, dict):
                continue
            if isinstance(field.get("fields"), dict):
                stack.append(((*where, key, "fields"), field["fields"]))
            if isinstance(field.get("source"), str):
                yield (*where, key, "source"), field["source"]


def _unique_names(compiler: Compiler, raw: list[Any], path: SpecPath, what: str) -> None:
    seen: dict[str, int] = {}
    for i, block in enumerate(raw):
        name = block.get("name") if isinstance(block, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            compiler.error(
                (*path, i, "name"),
                f"{what} '{name}' is already the name of {path[-1]}[{seen[name]}]; {what} names key "
                "checkpoints and rejects, so each must be unique",
            )
        else:
            seen[name] = i
