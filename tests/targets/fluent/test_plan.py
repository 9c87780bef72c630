"""``engine run --plan`` prints the requests a real run sends: compared with the emulator's request log."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from tests.targets.fluent.test_connectors import CONNECTORS, against

RUN = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \d{8}T\d{6}Z-[0-9a-f]{6}")


def _normalised(requests: list[tuple[str, str, Any]]) -> list[tuple[str, str, Any]]:
    """Server-assigned job ids become {job N} in order of appearance; the run's time and id in job names go."""
    jobs: dict[str, str] = {}
    out = []
    for method, path, body in requests:
        match = re.fullmatch(r"/api/v4\.1/job/([^/]+)/batch", path)
        if match:
            job = jobs.setdefault(match.group(1), f"{{job {len(jobs) + 1}}}")
            path = f"/api/v4.1/job/{job}/batch"
        if isinstance(body, dict) and isinstance(body.get("name"), str):
            body = {**body, "name": RUN.sub("<run>", body["name"])}
        out.append((method, path, body))
    return out


def _plan(cli, spec: Path, *args: str) -> list[dict[str, Any]]:
    result = cli("run", str(spec), "--plan", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_the_quickstart_s_plan_is_what_a_real_run_sends(emu, tmp_path, cli, run_spec) -> None:
    shutil.copytree(CONNECTORS / "quickstart", tmp_path / "quickstart")
    spec = tmp_path / "quickstart" / "quickstart.yaml"
    overrides = [arg for o in against(emu) for arg in ("--set", o)]
    planned = _plan(cli, spec, *overrides)
    assert emu.requests(path_regex="/api/v4.1/job") == []  # planning sent nothing
    assert [p["group"] for p in planned[:2]] == [
        "job {job 1}",
        "batch 1 (10 entities, inventory_2026-01-05.csv) into {job 1}",
    ]
    assert all(
        p["headers"] == {"Authorization": "Bearer ***", "Content-Type": "application/json"} for p in planned
    )
    report = run_spec(spec, overrides=against(emu))
    assert report.counts["written"] > 0
    sent = [
        (r["method"], r["path"], r["json"])
        for r in emu.requests(path_regex="^/api/v4.1/job")
        if r["method"] == "POST"
    ]
    assert _normalised([(p["method"], p["path"], p["body"]) for p in planned]) == _normalised(sent)
    assert len(sent) == 3  # the job and two batches of 10
    secret = emu.credentials["client_secret"]
    assert all(secret not in json.dumps(p) for p in planned)


def test_limit_and_text_output(emu, tmp_path, cli) -> None:
    shutil.copytree(CONNECTORS / "quickstart", tmp_path / "quickstart")
    spec = tmp_path / "quickstart" / "quickstart.yaml"
    assert [p["group"] for p in _plan(cli, spec, "--limit", "10")] == [
        "job {job 1}",
        "batch 1 (10 entities, inventory_2026-01-05.csv) into {job 1}",
    ]
    text = cli("run", str(spec), "--plan", "--limit", "10")
    assert text.exit_code == 0
    assert "# fluent.batch: job {job 1}\nPOST /api/v4.1/job\nAuthorization: Bearer ***\n" in text.stdout
    assert "planned requests 2" in text.output


def test_a_target_that_cannot_plan_says_so(tmp_path, cli, write_spec) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.json").write_text('[{"a": 1}]')
    spec = write_spec("""
    version: 1
    name: t
    source: {type: local, path: in}
    parser: {type: json}
    target: {type: stdout}
    """)
    result = cli("run", str(spec), "--plan")
    assert result.exit_code != 0
    assert "target 'stdout' cannot say what it would send; use --dry-run to see the records" in result.output


def _unordered(requests: list[tuple[str, str, Any]]) -> list[str]:
    """Requests in flight at once race; the same requests (and groups), in any order."""
    return sorted(json.dumps(list(r), sort_keys=True) for r in requests)


def _sent(emu, path_regex: str) -> list[tuple[str, str, Any]]:
    return [
        (r["method"], r["path"], r["json"])
        for r in emu.requests(path_regex=path_regex)
        if r["method"] == "POST"
    ]


def test_aliased_mutations_are_planned_as_sent(emu, tmp_path, cli, run_spec, write_spec) -> None:
    (tmp_path / "in").mkdir()
    rows = [{"ref": f"PLAN-{n}", "name": f"Store {n}", "type": "STORE"} for n in range(5)]
    (tmp_path / "in" / "stores.json").write_text(json.dumps(rows))
    spec = write_spec("""
    version: 1
    name: stores
    connections: {fluent: {type: fluent, base_url: embedded, retailer_id: "1"}}
    source: {type: local, path: in}
    parser: {type: json}
    mapping:
      fields:
        ref: {source: ref}
        name: {source: name}
        type: {source: type}
        retailer.id: {source: $context.retailer_id}
    target: {type: fluent.graphql, connection: fluent, mutation: createLocation, returning: "id ref",
             aliases_per_request: 2}
    """)
    overrides = [arg for o in against(emu) for arg in ("--set", o)]
    planned = _plan(cli, spec, *overrides)
    assert [p["group"] for p in planned] == [
        "request 1: 2 aliased createLocation",
        "request 2: 2 aliased createLocation",
        "request 3: 1 aliased createLocation",
    ]
    assert emu.requests(path="/graphql") == []
    report = run_spec(spec, overrides=against(emu))
    assert report.counts["written"] == 5
    assert _unordered([(p["method"], p["path"], p["body"]) for p in planned]) == _unordered(
        _sent(emu, "^/graphql$")
    )


def test_events_are_planned_as_sent(emu, tmp_path, cli, run_spec) -> None:
    shutil.copytree(CONNECTORS / "order-cancel", tmp_path / "order-cancel")
    spec = tmp_path / "order-cancel" / "order-cancel.yaml"
    overrides = [arg for o in against(emu) for arg in ("--set", o)]
    planned = _plan(cli, spec, *overrides)
    assert planned and all(p["group"].endswith(": OrderCancel") for p in planned)
    run_spec(spec, overrides=against(emu))
    sent = _sent(emu, "^/api/v4.1/event/")
    assert _unordered([(p["method"], p["path"], p["body"]) for p in planned]) == _unordered(sent)
