"""A spec's ``tests:``: fixture records in, expected records and rejects out.

Runs entirely offline: the spec's parser, ``explode:`` and mapping, no source
listing, no target, no state. Inline ``input`` records are mapped as dicts;
``input: {file: ...}`` is parsed with the spec's parser exactly as a run would,
or, for a GraphQL source, read as one recorded answer through its ``records:``.
A spec's lookups answer from the case's ``lookups:`` fixtures (answers per
key, a file lookup's ``rows``, a ``fluent.graphql`` lookup's recorded
``responses``) through the run's own lookup stage, so policies, matching and
rejects behave as in a run.
Every expected record is also checked against the record the target takes
(its schema), so a test cannot bless what the target would refuse.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from pathlib import Path
from typing import Any

from engine.contracts import Chunk, Item, Lookup
from engine.errors import ConfigError, EngineError
from engine.jsonutil import to_jsonable
from engine.mapping.steps import truthy
from engine.runtime.explode import Exploder
from engine.runtime.lookups import LookupStage

TEST_RUN_STARTED = "2026-01-01T00:00:00.000Z"


@dataclasses.dataclass
class CaseResult:
    """The verdict on one test case; ``problems`` says, for people, why it failed."""

    name: str
    ok: bool
    problems: list[str] = dataclasses.field(default_factory=list)


def _context(plan: Any, case: dict[str, Any]) -> dict[str, Any]:
    ctx: dict[str, Any] = {"connector": plan.name, "run_id": "test", "run_started": TEST_RUN_STARTED}
    for conn in plan.connections.values():
        ctx.update(conn.static_context())
    ctx.update(plan.context)
    ctx.update(case.get("context") or {})
    if "retailer_id" in ctx:
        ctx.setdefault("retailerId", ctx["retailer_id"])
    return ctx


def _chunks(plan: Any, case: dict[str, Any]) -> list[Chunk]:
    data = case.get("input", [])
    if not isinstance(data, dict):
        item = Item(uri="test://inline", name="input")
        records = [dict(r) if isinstance(r, dict) else r for r in data]  # the lookup stage adds its answers
        chunks = [Chunk(item, records, list(range(1, len(data) + 1)))]
    else:
        chunks = _file_chunks(plan, data["file"])
    if plan.explode is not None:
        chunks = list(Exploder(plan.explode).chunks(iter(chunks)))
    return chunks


def _file_chunks(plan: Any, name: str) -> list[Chunk]:
    path = Path(name)
    if not path.is_absolute():
        path = plan.base_dir / path
    item = Item(uri=path.resolve().as_uri(), name=path.name, size=path.stat().st_size)
    if plan.parser is None and plan.source is not None and plan.source.reads_recorded_pages:
        # a record source (a GraphQL query): the file is one answer as the server sent it
        try:
            answer = json.loads(path.read_bytes())
        except ValueError as exc:
            raise EngineError(f"{path.name}: not a JSON answer: {exc}") from None
        records = plan.source.recorded_page(answer)
        return [Chunk(item, records, list(range(1, len(records) + 1)))]
    if plan.parser is None:
        raise EngineError("input: {file: ...} needs a parser in the spec")
    with open(path, "rb") as stream:
        return list(plan.parser.parse(stream, item, None))


class _CaseRejects:
    """The lookup stage's rejects of one case, as the case compares them."""

    def __init__(self) -> None:
        self.rejects: list[dict[str, Any]] = []

    def invalid(
        self,
        item: Item,
        stage: str,
        lineage: dict[str, Any],
        reasons: list[str],
        original: Any,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        for reason in reasons:
            self.rejects.append({"row": lineage.get("row"), "field": None, "message": reason})

    def skipped_by_lookup(self, item: Item, n: int) -> None:
        """Skipped records are simply not mapped (``expect`` shows they are gone)."""


def _lookups(plan: Any, case: dict[str, Any], into: _CaseRejects) -> LookupStage | None:
    """The spec's lookups answering from the case's fixtures; every lookup needs one."""
    fixtures: dict[str, Any] = case.get("lookups") or {}
    for name in fixtures:
        if name not in plan.lookups:
            raise ConfigError(f"lookups.{name}: the spec has no lookup of that name")
    if not plan.lookups:
        return None
    stand_ins: dict[str, Lookup] = {}
    for name, lookup in plan.lookups.items():
        if name not in fixtures:
            raise ConfigError(
                f"lookups.{name}: this case gives the lookup no answers (answers: [{{key, answer}}]; "
                "rows: for a file lookup; responses: for fluent.graphql)"
            )
        stand_ins[name] = lookup.with_fixture(fixtures[name])
    return LookupStage(stand_ins, into)


def _map(plan: Any, case: dict[str, Any], chunks: list[Chunk]) -> tuple[list[Any], list[dict[str, Any]]]:
    """The case's records through its lookups and the mapping (a route's or step's): what was mapped, and every reject."""
    ctx = _context(plan, case)
    mapping, route = _tested(plan, case)
    mapped: list[Any] = []
    looked_up = _CaseRejects()
    rejects = looked_up.rejects
    stage = _lookups(plan, case, looked_up)
    for chunk in chunks:
        for r in chunk.rejects or ():
            rejects.append({"row": r.position, "field": None, "message": r.reason})
        if stage is not None:
            stage.apply(chunk)
        if route is not None:
            chunk = _routed(chunk, plan, route, case, ctx)
        if mapping is None:
            mapped.extend(chunk.original(i) for i in range(len(chunk.records)))
            continue
        out, _idx, bad = mapping.map_chunk(chunk, ctx)
        mapped.extend(out)
        for i, issues in bad:
            for issue in issues:
                rejects.append({"row": chunk.positions[i], "field": issue.field, "message": issue.render()})
    return mapped, rejects


def run_case(plan: Any, case: dict[str, Any]) -> CaseResult:
    """Map one case's input through the compiled ``plan`` and compare with its expectations.

    Never raises for a failing case: an unreadable input, differing records and
    missing or unexpected rejects all come back as ``problems``. Expected
    rejects match by ``row``, ``field`` and a ``message`` substring, whichever
    the case gives.
    """
    result = CaseResult(case["name"], True)
    try:
        chunks = _chunks(plan, case)
    except (EngineError, OSError) as exc:
        return CaseResult(case["name"], False, [f"cannot read the input: {exc}"])
    try:
        mapped, rejects = _map(plan, case, chunks)
    except EngineError as exc:
        return CaseResult(case["name"], False, [str(exc)])
    if "expect" in case:
        got = to_jsonable(mapped)
        want = to_jsonable(case["expect"])
        if got != want:
            result.ok = False
            result.problems.append("mapped records differ from expect:\n" + _diff(want, got))
        refused = _refused(plan, case, want)
        if refused:
            result.ok = False
            result.problems.append(
                f"the target would refuse what expect holds ({refused[0]}):\n" + "\n".join(refused[1:])
            )
    expected_rejects = case.get("expect_rejects")
    if expected_rejects is not None:
        unmatched = list(rejects)
        for exp in expected_rejects:
            hit = next((r for r in unmatched if _matches(exp, r)), None)
            if hit is None:
                result.ok = False
                result.problems.append(
                    f"expected a reject {json.dumps(exp)}; got: "
                    + (json.dumps(unmatched, indent=2) if unmatched else "none")
                )
            else:
                unmatched.remove(hit)
        if unmatched and len(expected_rejects) < len(rejects):
            result.ok = False
            result.problems.append("unexpected rejects:\n" + json.dumps(unmatched, indent=2))
    elif rejects:
        result.ok = False
        result.problems.append("unexpected rejects:\n" + json.dumps(rejects, indent=2))
    return result


def _refused(plan: Any, case: dict[str, Any], records: Any) -> list[str]:
    """The target's name, then every way ``records`` do not fit the record it takes (none: empty).

    With routes or steps the target is the tested route's or step's.
    """
    from engine.mapping.conformance import record_problems

    target = plan.target if plan.routes is None else _tested_target(plan, case)
    shape = target.record_shape(plan.base_dir)
    if shape is None or not isinstance(records, list):
        return []
    problems = [
        f"expect[{i}].{p}" for i, record in enumerate(records) for p in record_problems(record, shape)
    ]
    return [f"{target.name}: {shape.name}", *problems] if problems else []


def _tested(plan: Any, case: dict[str, Any]) -> tuple[Any, Any]:
    """The mapping a case tests, and its route (None without routes): ``route`` and ``step`` choose them."""
    if plan.routes is None:
        return plan.mapping, None
    routes = {r.name: r for r in plan.routes.routes}
    name = case.get("route") or (next(iter(routes)) if len(routes) == 1 else None)
    if name not in routes:
        raise EngineError(f"say which route this case tests: route: one of {', '.join(routes)}")
    route = routes[name]
    steps = {s.name: s for s in route.steps}
    step = case.get("step") or route.steps[0].name
    if step not in steps:
        raise EngineError(f"route {name} has no step {step!r} (steps: {', '.join(str(s) for s in steps)})")
    return steps[step].mapping, route


def _tested_target(plan: Any, case: dict[str, Any]) -> Any:
    """The target of the route or step a case tests (see :func:`_tested`)."""
    routes = {r.name: r for r in plan.routes.routes}
    route = routes[case.get("route") or next(iter(routes))]
    step = case.get("step") or route.steps[0].name
    return next(s.target for s in route.steps if s.name == step)


def _routed(chunk: Chunk, plan: Any, route: Any, case: dict[str, Any], ctx: dict[str, Any]) -> Chunk:
    """The records of ``chunk`` the tested step gets (as a run routes them and the step's ``after`` and ``when`` take them), with the case's step answers under ``$steps``."""
    from engine.mapping.paths import STEPS_KEY

    answers = {
        name: {"outcome": given.get("outcome", "succeeded"), "answer": given.get("answer")}
        for name, given in (case.get("steps") or {}).items()
    }
    step = next(s for s in route.steps if s.name == (case.get("step") or route.steps[0].name))
    failed = any(a["outcome"] == "failed" for a in answers.values())
    if failed != (step.after == "failed"):
        return Chunk(chunk.item, [], [])
    index = plan.routes.routes.index(route)
    records, positions = [], []
    for i in range(len(chunk.records)):
        record = chunk.original(i)
        view = {"record": record, "context": ctx, "file": chunk.item.file_vars(), "row": chunk.positions[i]}
        if index not in (plan.routes.choose(lambda view=view: view) or ()):
            continue
        record = {**record, STEPS_KEY: answers} if answers and isinstance(record, dict) else record
        if step.when is not None and not truthy(
            step.when.search({**view, "record": record, "steps": answers})
        ):
            continue
        records.append(record)
        positions.append(chunk.positions[i])
    return Chunk(chunk.item, records, positions)


def _matches(expected: dict[str, Any], got: dict[str, Any]) -> bool:
    if "row" in expected and expected["row"] != got["row"]:
        return False
    if "field" in expected and expected["field"] != got["field"]:
        return False
    return "message" not in expected or expected["message"] in got["message"]


def _diff(want: Any, got: Any) -> str:
    a = json.dumps(want, indent=2, sort_keys=True).splitlines()
    b = json.dumps(got, indent=2, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(a, b, "expect", "got", lineterm=""))


def run_tests(plan: Any) -> list[CaseResult]:
    """Run every case of the spec's ``tests:``, in order, one result each."""
    return [run_case(plan, case) for case in plan.tests]
