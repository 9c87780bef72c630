"""``engine check``: wrong credentials are found before a run, and nothing is sent finding them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from engine.emulator import Emulator
from tests.processes import engine


@pytest.fixture(scope="module")
def emu():
    with Emulator() as server:
        yield server


def _spec(tmp_path: Path, sftp: dict, fluent: dict, **extra: object) -> Path:
    spec = {
        "version": 1,
        "name": "checked",
        "connections": {"partner": sftp, "fluent": fluent},
        "source": {"type": "sftp", "connection": "partner", "path": "inbox", "pattern": "*.csv"},
        "parser": {"type": "csv"},
        "target": {"type": "fluent.batch", "connection": "fluent"},
        **extra,
    }
    path = tmp_path / "checked.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def _fluent(emu: Emulator, secret: str) -> dict:
    c = emu.credentials
    return {
        "type": "fluent",
        "base_url": emu.url,
        "client_id": c["client_id"],
        "client_secret": secret,
        "username": c["username"],
        "password": c["password"],
        "retailer_id": str(c["retailer_id"]),
    }


def test_a_wrong_sftp_password_and_a_wrong_fluent_secret_are_both_named_and_nothing_is_sent(
    tmp_path, sftp_server, emu, monkeypatch
) -> None:
    sftp_server.write("inbox/stock.csv", "sku,qty\nA,1\n")
    monkeypatch.setenv("WRONG_SFTP_PASSWORD", "not-the-password")
    monkeypatch.setenv("WRONG_FLUENT_SECRET", "not-the-secret")
    spec = _spec(
        tmp_path,
        sftp_server.connection(password="${env:WRONG_SFTP_PASSWORD}"),
        _fluent(emu, "${env:WRONG_FLUENT_SECRET}"),
    )
    emu.clear_requests()
    done = engine("check", spec, state=tmp_path / "state")
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(
        line.startswith("FAIL  connections.partner")
        and "authentication failed for user 'sftptest' (wrong password)" in line
        for line in lines
    ), done.stdout
    assert any(
        line.startswith("FAIL  connections.fluent") and "credentials refused" in line for line in lines
    ), done.stdout
    assert "what to do: check username and the password or private_key" in done.stdout
    assert "what to do: check client_id, client_secret, username and password" in done.stdout
    assert re.search(r"^FAIL  source +not checked: its connection 'partner' failed$", done.stdout, re.M)
    assert re.search(r"^FAIL  target +not checked: its connection 'fluent' failed$", done.stdout, re.M)
    assert "not-the-password" not in done.stdout + done.stderr
    assert "not-the-secret" not in done.stdout + done.stderr
    assert "nothing was sent" in done.stderr
    # the only request Fluent saw was the sign-in; no job, no batch, no event
    assert [(r["method"], r["path"]) for r in emu.requests()] == [("POST", "/oauth/token")]
    assert sftp_server.files() == ["inbox/stock.csv"]
    assert not (tmp_path / "state").exists(), "no state was touched"


def test_right_credentials_pass_every_check_and_json_lists_them(tmp_path, sftp_server, emu) -> None:
    sftp_server.write("inbox/stock.csv", "sku,qty\nA,1\n")
    spec = _spec(tmp_path, sftp_server.connection(), _fluent(emu, emu.credentials["client_secret"]))
    emu.clear_requests()
    done = engine("check", spec, "--format", "json", state=tmp_path / "state")
    assert done.returncode == 0, done.stdout + done.stderr
    checks = json.loads(done.stdout)
    assert [(c["subject"], c["ok"]) for c in checks] == [
        ("connections.partner", True),
        ("connections.fluent", True),
        ("source", True),
    ]
    assert f"host key ssh-ed25519 {sftp_server.host_fingerprint}, pinned" in checks[0]["message"]
    assert "1 file(s) match '*.csv' now" in checks[2]["message"]
    assert [r["path"] for r in emu.requests()] == ["/oauth/token"]


def test_a_missing_secret_variable_and_an_unwritable_destination_are_found(
    tmp_path, monkeypatch, cli
) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    (tmp_path / "inbox").mkdir()
    (tmp_path / "readonly").mkdir()
    (tmp_path / "readonly").chmod(0o555)
    spec = {
        "version": 1,
        "name": "local-check",
        "connections": {
            "api": {
                "type": "http",
                "base_url": "http://127.0.0.1:9",
                "auth": {"bearer": "${env:NOT_SET_ANYWHERE}"},
            }
        },
        "source": {"type": "local", "path": "inbox", "on_success": {"move_to": "done/{name}"}},
        "parser": {"type": "csv"},
        "target": {
            "type": "file",
            "writer": {"type": "jsonl"},
            "destination": {"type": "local", "path": "readonly/out"},
        },
    }
    path = tmp_path / "local.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    done = engine("check", path, state=tmp_path / "state")
    assert done.returncode == 1
    out = done.stdout
    assert re.search(r"^FAIL  connections.api +environment variable NOT_SET_ANYWHERE is not set", out, re.M)
    assert re.search(r"^ok    source +.*inbox: writable \(for on_success/on_failure moves\)$", out, re.M)
    assert re.search(
        rf"^FAIL  target\S* +target\S*: {tmp_path / 'readonly'} is not a writable directory", out, re.M
    ), out


def test_a_server_that_does_not_answer_is_a_failed_check_not_a_traceback(tmp_path, cli) -> None:
    spec = {
        "version": 1,
        "name": "unreachable",
        "connections": {"api": {"type": "http", "base_url": "http://127.0.0.1:9/api"}},
        "source": {"type": "http", "connection": "api", "path": "/items"},
        "target": {"type": "stdout"},
    }
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    result = cli("check", str(path))
    assert result.exit_code == 1
    assert "FAIL  connections.api  http connection 'api': 127.0.0.1:9: cannot connect" in result.output
    assert "what to do: check base_url" in result.output
    assert "Traceback" not in result.output


def test_every_route_s_target_is_checked(tmp_path) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "readonly").mkdir()
    (tmp_path / "readonly").chmod(0o555)

    def target(where: str) -> dict:
        return {"type": "file", "writer": {"type": "jsonl"}, "destination": {"type": "local", "path": where}}

    spec = {
        "version": 1,
        "name": "routed-check",
        "source": {"type": "local", "path": "inbox"},
        "parser": {"type": "csv"},
        "routes": [
            {"name": "fine", "target": target("out")},
            {"name": "stuck", "steps": [{"name": "first", "target": target("readonly/out")}]},
        ],
    }
    path = tmp_path / "routed.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    (tmp_path / "out").mkdir()
    done = engine("check", path, state=tmp_path / "state")
    assert done.returncode == 1
    assert re.search(r"^ok    routes\[0\]\.target\S* ", done.stdout, re.M), done.stdout
    assert re.search(
        r"^FAIL  routes\[1\]\.steps\[0\]\.target\S* .*is not a writable directory", done.stdout, re.M
    )
