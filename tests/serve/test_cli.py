"""``engine serve`` and ``engine run --payload`` as a user runs them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

HOOK = """
    version: 1
    name: cli-hook
    source: {type: payload}
    parser: {type: json}
    mapping:
      fields:
        ref: {source: ref, required: true}
    target: {type: file, destination: {type: local, path: out}, name: "{run_id}.jsonl"}
    trigger:
      webhook: {path: /in, response: sync, auth: {type: api_key, api_key: "${env:CLI_HOOK_KEY}"}}
    """
KEY = "cli-hook-key-0123456789"


def refs(tmp_path: Path) -> list[str]:
    out = tmp_path / "out"
    return (
        [json.loads(x)["ref"] for f in sorted(out.glob("*.jsonl")) for x in f.read_text().splitlines()]
        if out.is_dir()
        else []
    )


def test_run_with_a_payload_file(cli, write_spec, tmp_path):
    spec = write_spec(HOOK)
    body = tmp_path / "order.json"
    body.write_bytes(b'{"ref": "P-1"}')
    result = cli("run", str(spec), "--payload", str(body), "-q", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["records"]["written"] == 1 and report["items"][0]["name"] == "order.json"
    assert report["items"][0]["uri"].startswith("payload://")
    assert refs(tmp_path) == ["P-1"]


def test_run_with_a_payload_from_stdin_and_a_bad_one(cli, write_spec, tmp_path):
    spec = write_spec(HOOK)
    assert cli("run", str(spec), "--payload", "-", "-q", input='{"ref": "P-2"}').exit_code == 0
    assert refs(tmp_path) == ["P-2"]
    result = cli("run", str(spec), "--payload", "-", "-q", input="{not json")
    assert result.exit_code == 3 and "failed: payload-" in result.output


def test_run_payload_needs_a_payload_source(cli, write_spec, tmp_path):
    spec = write_spec("""
        version: 1
        name: files
        source: {type: local, path: in}
        parser: {type: json}
        target: {type: stdout}
        """)
    body = tmp_path / "b.json"
    body.write_text("{}")
    result = cli("run", str(spec), "--payload", str(body))
    assert result.exit_code == 2 and "--payload needs a spec whose source is {type: payload}" in result.output


def test_a_payload_spec_run_without_a_body_says_how(cli, write_spec):
    result = cli("run", str(write_spec(HOOK)), "-q")
    assert result.exit_code == 1 and "engine run SPEC --payload FILE" in result.output


def test_validate_warns_about_an_open_webhook_and_refuses_one_without_auth(cli, write_spec):
    open_hook = write_spec(
        HOOK.replace('{type: api_key, api_key: "${env:CLI_HOOK_KEY}"}', "{type: none}"), "open.yaml"
    )
    result = cli("validate", str(open_hook))
    assert result.exit_code == 0 and "anyone who can reach this endpoint can trigger runs" in result.output
    no_auth = write_spec(
        HOOK.replace(', auth: {type: api_key, api_key: "${env:CLI_HOOK_KEY}"}', ""), "noauth.yaml"
    )
    result = cli("validate", str(no_auth))
    assert result.exit_code == 2 and "trigger.webhook: missing auth" in result.output


@pytest.mark.parametrize(
    "case,message",
    [
        ("no trigger", "no trigger to serve"),
        ("unset secret", "environment variable CLI_UNSET_KEY is not set"),
        ("same path twice", "trigger.webhook.path /in is also served for"),
        ("reserved path", "/health is reserved"),
        ("payload on a schedule", "a payload source has no body to read on a schedule"),
    ],
)
def test_serve_refuses_to_start_with_unservable_specs(cli, write_spec, monkeypatch, case, message):
    monkeypatch.setenv("CLI_HOOK_KEY", KEY)
    specs = [write_spec(HOOK)]
    if case == "no trigger":
        specs = [write_spec(HOOK.split("    trigger:")[0])]
    elif case == "unset secret":
        specs = [write_spec(HOOK.replace("CLI_HOOK_KEY", "CLI_UNSET_KEY"))]
    elif case == "same path twice":
        specs.append(write_spec(HOOK.replace("name: cli-hook", "name: other"), "other.yaml"))
    elif case == "reserved path":
        specs = [write_spec(HOOK.replace("path: /in", "path: /health"))]
    elif case == "payload on a schedule":
        specs = [
            write_spec(
                HOOK.replace("webhook: {path: /in", 'schedule: "* * * * *"\n      webhook: {path: /in')
            )
        ]
    result = cli("serve", *map(str, specs), "--port", "0")
    assert result.exit_code == 2
    assert message in result.output and "nothing is served" in result.output


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "CLI_HOOK_KEY": KEY, "ENGINE_STATE_DIR": str(tmp_path / "state")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "serve", *args, "--port", "0"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        found = re.search(r"serving url=(\S+)", line)
        if found:
            return proc, found.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("engine serve did not start")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_runs_webhooks_and_exits_0_on_a_signal(write_spec, tmp_path, sig):
    spec = write_spec(HOOK)
    proc, url = _start(tmp_path, str(spec))
    try:
        answer = httpx.post(url + "/in", content=b'{"ref": "S-1"}', headers={"x-api-key": KEY}, timeout=20)
        assert answer.status_code == 200 and answer.json()["records"]["written"] == 1
        health = httpx.get(url + "/health", timeout=10).json()
        assert health["status"] == "ok" and health["specs"][0]["last_run"]["status"] == "ok"
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0
        assert proc.stderr is not None
        assert "stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert refs(tmp_path) == ["S-1"]
