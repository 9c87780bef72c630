"""A spec's ``tests:``: fixture records in, expected records and rejects out.

Runs entirely offline: the spec's parser and mapping, no source listing, no
target, no state. Inline ``input`` records are mapped as dicts; ``input:
{file: ...}`` is parsed with the spec's parser exactly as a run would.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from pathlib import Path
from typing import Any

from engine.contracts import Chunk, Item
from engine.errors import EngineError
from engine.jsonutil import to_jsonable

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
    if isinstance(data, dict):
        path = Path(data["file"])
        if not path.is_absolute():
            path = plan.base_dir / path
        if plan.parser is None:
            raise EngineError("input: {file: ...} needs a parser in the spec")
        item = Item(uri=path.resolve().as_uri(), name=path.name, size=path.stat().st_size)
        with open(path, "rb") as stream:
            return list(plan.parser.parse(stream, item, None))
    item = Item(uri="test://inline", name="input")
    return [Chunk(item, list(data), list(range(1, len(data) + 1)))]


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
    ctx = _context(plan, case)
    mapped: list[Any] = []
    rejects: list[dict[str, Any]] = []
    for chunk in chunks:
        for r in chunk.rejects or ():
            rejects.append({"row": r.position, "field": None, "message": r.reason})
        if plan.mapping is None:
            mapped.extend(chunk.original(i) for i in range(len(chunk.records)))
            continue
        out, _idx, bad = plan.mapping.map_chunk(chunk, ctx)
        mapped.extend(out)
        for i, issues in bad:
            for issue in issues:
                rejects.append({"row": chunk.positions[i], "field": issue.field, "message": issue.render()})
    if "expect" in case:
        got = to_jsonable(mapped)
        want = to_jsonable(case["expect"])
        if got != want:
            result.ok = False
            result.problems.append("mapped records differ from expect:\n" + _diff(want, got))
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
