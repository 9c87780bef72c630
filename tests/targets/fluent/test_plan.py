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
    assert "planned_requests 2" in text.output


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
