"""No secret, in any form, reaches any output of a run: the engine's CLI against a server that echoes them.

Secrets full of quotes, backslashes, newlines and non-ASCII characters go
in through every kind of credential (an API key in the query, a custom
header, OAuth2 client credentials and the token they buy, Basic auth, an
SSH key file that is not a key). A hostile server repeats each one back in
JSON, plain text, URL-encoded, base64, cut and whitespace-collapsed. Then the
raw bytes of every file the runs wrote (logs are captured from stderr,
reports, rejects in JSONL and CSV, ``state.db`` and its WAL) and every
command's stdout and stderr are searched for any representation of any
secret, or its first eight characters.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from tests.servers.echo import EchoServer

#: sent in HTTP headers (a bearer token, a session header): quotes and backslashes, nothing HTTP refuses
TOKEN = 'to"k\\en/' + "T" * 292
SESSION = 'se"s\\sion-' + "S" * 40
#: sent URL-encoded, in a form or base64: anything at all
API_KEY = 'ke"y\\\nü€漢-' + "K" * 291
CLIENT_SECRET = 'cl"i\\e\nnt-ß-' + "C" * 30
USER, PASSWORD = "integrator", 'pa"s\\s\nwörd-' + "P" * 30
SHADOW = (
    'root:$6$sa"lt\\x$' + "H" * 60 + ":19000:0:99999:7:::\n"
    "daemon:*:19000:0:99999:7:::\n"
    'user:$6$ü"\\' + "U" * 40 + ":19000:0:99999:7:::"
)
SECRETS = {
    "token": TOKEN,
    "session": SESSION,
    "api key": API_KEY,
    "client secret": CLIENT_SECRET,
    "password": PASSWORD,
    "basic credentials": f"{USER}:{PASSWORD}",
    "key file": SHADOW,
}

CONNECTIONS = {
    "key": {
        "auth": {"api_key": {"param": "api_key", "value": "${env:T_API_KEY}"}},
        "headers": {"X-Session": "${env:T_SESSION}"},
    },
    "oauth": {
        "auth": {
            "oauth2_client_credentials": {
                "token_url": "/oauth/token",
                "client_id": "engine",
                "client_secret": "${env:T_CLIENT_SECRET}",
                "client_auth": "body",
            }
        }
    },
    "basic": {"auth": {"basic": {"username": USER, "password": "${env:T_PASSWORD}"}}},
}


def representations(secret: str) -> set[str]:
    """How a secret can be written: raw, JSON (twice), repr, CSV, HTML, URL, base64, whitespace collapsed."""
    once = {json.dumps(secret, ensure_ascii=a)[1:-1] for a in (True, False)}
    twice = {json.dumps(o, ensure_ascii=a)[1:-1] for o in once for a in (True, False)}
    raw = secret.encode()
    return {
        secret,
        *once,
        *twice,
        repr(secret)[1:-1],
        secret.replace('"', '""'),
        html.escape(secret),
        quote(secret, safe=""),
        quote_plus(secret),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
        " ".join(secret.split()),
    }


def leak_pattern(secret: str, *, encoded_only: bool = False) -> re.Pattern[bytes]:
    """Any representation's first 8 characters, or any 16 characters of it, as UTF-8 bytes.

    ``encoded_only``: only the base64 forms (``user:password`` starts with the user name, which is no secret).
    """
    needles = set()
    forms = representations(secret)
    if encoded_only:
        forms = {
            base64.b64encode(secret.encode()).decode(),
            base64.urlsafe_b64encode(secret.encode()).decode(),
        }
    for form in forms:
        needles.add(form[:8])
        needles.update(form[i : i + 16] for i in range(0, max(1, len(form) - 15), 4))
    return re.compile(b"|".join(re.escape(n.encode()) for n in sorted(needles, key=len, reverse=True)))


class Outputs:
    """Every command run, and everything it printed."""

    def __init__(self, root: Path, url: str) -> None:
        self.root, self.url = root, url
        self.printed: list[tuple[str, bytes]] = []
        self.env = {
            **os.environ,
            "ENGINE_STATE_DIR": str(root / "state"),
            "T_API_KEY": API_KEY,
            "T_SESSION": SESSION,
            "T_CLIENT_SECRET": CLIENT_SECRET,
            "T_PASSWORD": PASSWORD,
        }

    def engine(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run(
            [sys.executable, "-m", "engine", *args],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            timeout=120,
        )
        self.printed += [(f"{args} stdout", done.stdout), (f"{args} stderr", done.stderr)]
        return done

    def http_spec(
        self, name: str, kind: str, *, path: str = "/items", rejects: str = "jsonl", idempotent: bool = True
    ) -> Path:
        connection = {
            "type": "http",
            "base_url": self.url,
            "retry": {"max_attempts": 2, "backoff": "10ms", "max_backoff": "10ms"},
            **CONNECTIONS[kind],
        }
        return self._spec(
            name,
            f"""
            connections:
              api: {json.dumps(connection)}
            source: {{type: local, path: in}}
            parser: {{type: csv}}
            target: {{type: http, connection: api, path: {path}, idempotent: {str(idempotent).lower()}}}
            on_error: {{invalid_record: reject, rejects: {{format: {rejects}}}}}
            """,
        )

    def sftp_spec(self) -> Path:
        return self._spec(
            "sftp",
            """
            connections:
              partner: {type: sftp, host: 127.0.0.1, port: 1, username: u, private_key: "${file:shadow}",
                        insecure_accept_any_host_key: true, retries: 0}
            source: {type: sftp, connection: partner, path: /out}
            parser: {type: csv}
            target: {type: stdout}
            """,
        )

    def _spec(self, name: str, body: str) -> Path:
        path = self.root / f"{name}.yaml"
        path.write_text(f"version: 1\nname: {name}\n" + textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
        return path


@pytest.fixture
def echo():
    with EchoServer(TOKEN) as server:
        yield server


def test_no_secret_in_any_form_reaches_any_output(tmp_path: Path, echo: EchoServer, cli, monkeypatch) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "items.csv").write_text("sku\njson\ntext\nflaky\n", encoding="utf-8")
    (tmp_path / "shadow").write_text(SHADOW + "\n", encoding="utf-8")
    out = Outputs(tmp_path, echo.url)
    key, oauth = out.http_spec("key", "key"), out.http_spec("oauth", "oauth", rejects="csv", idempotent=False)
    basic = out.http_spec("basic", "basic")
    denied = out.http_spec("denied", "oauth", path="/denied", rejects="csv")
    sftp = out.sftp_spec()
    runs = [
        (key, ["--log-format", "json"], 1),  # the 500 is retried until the run gives up
        (oauth, ["--format", "json"], 3),  # the 500 is a reject: its outcome is unknown
        (basic, [], 1),
        (denied, ["--log-format", "json", "--format", "json"], 1),
        (out.http_spec("denied-text", "key", path="/denied"), [], 1),
        (sftp, [], 1),
        (sftp, ["--log-format", "json", "--format", "json"], 1),
        (sftp, ["--dry-run"], 1),
    ]
    for spec, flags, code in runs:
        done = out.engine("run", str(spec), "--log-level", "debug", *flags)
        assert done.returncode == code, done.stderr.decode()
    for name, value in out.env.items():
        monkeypatch.setenv(name, value)
    for spec in (key, oauth, basic, denied, sftp):
        for args in (["explain"], ["validate"], ["state", "show"], ["state", "runs"], ["state", "files"]):
            result = cli(*args, str(spec))
            out.printed.append((f"{args} {spec.name}", result.stdout_bytes + result.stderr_bytes))

    for secret in (API_KEY, SESSION, CLIENT_SECRET, TOKEN, PASSWORD):
        assert secret in echo.received, "the server saw the secret, and echoed it"
    inputs = {tmp_path / "in" / "items.csv", tmp_path / "shadow", *tmp_path.glob("*.yaml")}
    written = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p not in inputs}
    names = {p.name for p in written}
    assert (
        "state.db" in names
        and any(n.endswith(".csv") for n in names)
        and any(n.endswith(".jsonl") for n in names)
    )
    rejected = b"".join(data for p, data in written.items() if "rejects" in p.parts)
    assert rejected.count(b"***") >= 10, "echoed secrets are masked where they were, the rest kept"
    stderr = b"".join(data for name, data in out.printed if name.endswith("stderr"))
    assert b"private key" in stderr and b"cannot be read" in stderr and b"401" in stderr
    assert b"retrying" in stderr and b"token obtained" in stderr, "debug and retry lines, echoes in them"

    leaks = []
    for what, secret in SECRETS.items():
        pattern = leak_pattern(secret, encoded_only=what == "basic credentials")
        for where, data in [*((str(p.relative_to(tmp_path)), d) for p, d in written.items()), *out.printed]:
            found = pattern.search(data)
            if found:
                leaks.append(f"{what} in {where}: ...{data[max(0, found.start() - 40) : found.end() + 20]!r}")
    assert not leaks, "\n".join(leaks[:20])
