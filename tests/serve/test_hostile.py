"""``engine serve`` against hostile senders: floods of large unauthenticated bodies, idle and dripping connections.

The memory cases run a real ``engine serve`` process and read its resident
set from ``/proc`` after the flood and its peak from the kernel when it
exits. What must hold: a request that fails authentication on its headers
is refused before its body is read, memory for bodies is bounded whatever
the senders do, and a connection cannot be held open without sending a
request in time.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.servers.hostile import Hostile, Seen, json_answer

KEY = "hostile-hook-key-0123456789"
HOOK = """
version: 1
name: hostile-hook
source: {type: payload}
parser: {type: json}
mapping:
  fields:
    ref: {source: ref, required: true}
target: {type: file, destination: {type: local, path: out}, name: "{run_id}.jsonl"}
trigger:
  webhook: {path: /in, response: sync, auth: AUTH}
"""
API_KEY_AUTH = '{type: api_key, api_key: "${env:HOOK_KEY}"}'
SIGNATURE_AUTH = '{type: fluent_signature, public_key: "${env:HOOK_PUBLIC_KEY}"}'
BODY_SIZE = 9_500_000
SENDERS = 200


class Served:
    """A real ``engine serve`` process on a free port."""

    def __init__(self, tmp_path: Path, spec: Path, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine", "serve", str(spec), "--port", "0", *args],
            env={**os.environ, **env, "ENGINE_STATE_DIR": str(tmp_path / "state")},
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stderr is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = re.search(r"serving url=http://127.0.0.1:(\d+)", self.proc.stderr.readline())
            if found:
                self.port = int(found.group(1))
                # drain the log (a full pipe would block the server)
                self._drain = ThreadPoolExecutor(1)
                self._drain.submit(self.proc.stderr.read)
                return
        self.proc.kill()
        raise AssertionError("engine serve did not start")

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]

    def stop(self) -> tuple[int, float]:
        """SIGTERM; the exit code and the peak resident set (MB) over the process's life.

        The peak is the server's own ``VmHWM``, read before it stops: the
        ``ru_maxrss`` of a child would also count this test process's pages
        it shared before exec.
        """
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        peak = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]
        self.proc.send_signal(signal.SIGTERM)
        _, code, _usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(code)
        self._drain.shutdown()
        return self.proc.returncode, peak


@pytest.fixture
def served(tmp_path, write_spec, keys) -> Iterator:
    started: list[Served] = []

    def start(auth: str, *args: str) -> Served:
        spec = write_spec(HOOK.replace("AUTH", auth))
        env = {"HOOK_KEY": KEY, "HOOK_PUBLIC_KEY": keys.pem}
        started.append(Served(tmp_path, spec, env, *args))
        return started[-1]

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()


def head(port: int, headers: dict[str, str], size: int) -> bytes:
    lines = ["POST /in HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {size}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def flood(port: int, headers: dict[str, str]) -> Counter:
    """``SENDERS`` senders at once, each pushing headers and a 9.5 MB body without waiting; their answers."""
    body = b"x" * BODY_SIZE

    def one(_: int) -> str:
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        try:
            sock.sendall(head(port, headers, BODY_SIZE))
            sock.sendall(body)
        except OSError:
            pass  # the server closed the connection on us: that is the point
        try:
            answer = sock.recv(64)
        except OSError:
            answer = b""
        finally:
            sock.close()
        found = re.match(rb"HTTP/1.1 (\d+)", answer)
        return found.group(1).decode() if found else "closed"

    with ThreadPoolExecutor(SENDERS) as pool:
        return Counter(pool.map(one, range(SENDERS)))


def answer_before_the_body(port: int, headers: dict[str, str]) -> tuple[int, bytes]:
    """Send only the headers of a 9.5 MB request and read the answer: it must come without the body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head(port, headers, BODY_SIZE))
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            part = sock.recv(4096)
            if not part:
                break
            data += part
    status = int(data.split(b" ", 2)[1])
    return status, data


@pytest.mark.parametrize(
    "auth,headers,reason",
    [
        (API_KEY_AUTH, {"x-api-key": "guessed-wrong-0123456789"}, "wrong x-api-key"),
        (SIGNATURE_AUTH, {}, "missing fluent-signature header"),
        (SIGNATURE_AUTH, {"fluent-signature": "%%%"}, "fluent-signature is not base64"),
    ],
    ids=["wrong api key", "no signature", "malformed signature"],
)
def test_a_flood_refused_on_its_headers_never_reads_the_bodies(served, auth, headers, reason) -> None:
    server = served(auth)
    status, answer = answer_before_the_body(server.port, headers)
    assert status == 401 and reason.encode() in answer and b"connection: close" in answer.lower()
    outcomes = flood(server.port, headers)
    assert set(outcomes) <= {"401", "503", "closed"}, outcomes
    after = server.rss_mb()
    code, peak = server.stop()
    assert code == 0
    assert peak < 300 and after < 300, f"peak {peak:.0f} MB, {after:.0f} MB after the flood"


def test_a_flood_of_forged_signatures_stays_within_the_body_budget(served) -> None:
    forged = {
        "fluent-signature": base64.b64encode(os.urandom(256)).decode()
    }  # well formed, for a 2048-bit key
    server = served(SIGNATURE_AUTH)
    outcomes = flood(server.port, forged)
    assert set(outcomes) <= {"401", "503", "closed"}, outcomes
    assert outcomes["401"] >= 1  # some were read and judged: the signature does not match
    after = server.rss_mb()
    code, peak = server.stop()
    assert code == 0
    assert peak < 300 and after < 300, f"peak {peak:.0f} MB, {after:.0f} MB after the flood"


# -- connections and time ---------------------------------------------------------------------------


@pytest.fixture
def hook(write_spec, monkeypatch) -> Path:
    monkeypatch.setenv("HOOK_KEY", KEY)
    return write_spec(HOOK.replace("AUTH", API_KEY_AUTH))


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``sock`` within ``seconds`` (whatever it sends first)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except OSError:
        pass
    return True


def test_idle_connections_are_closed_at_the_header_timeout(serve, hook) -> None:
    server = serve(hook, header_timeout=1.0)
    idle = [socket.create_connection(("127.0.0.1", server.options.port)) for _ in range(20)]
    started = time.monotonic()
    assert all(closed_within(sock, 10) for sock in idle)
    assert 0.8 < time.monotonic() - started < 8
    for sock in idle:
        sock.close()


def test_a_request_dripping_its_headers_is_cut_off(serve, hook) -> None:
    server = serve(hook, header_timeout=1.0)
    sock = socket.create_connection(("127.0.0.1", server.options.port))
    started = time.monotonic()
    cut = False
    for byte in head(server.options.port, {"x-api-key": KEY, "x-padding": "p" * 200}, 20):
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            cut = True
            break
        time.sleep(0.02)
    assert cut or closed_within(sock, 5)
    assert time.monotonic() - started < 5  # the headers alone would have taken 5 s
    sock.close()


def test_a_slow_body_gets_408(serve, hook) -> None:
    server = serve(hook, body_timeout=1.0)
    sock = socket.create_connection(("127.0.0.1", server.options.port))
    sock.sendall(head(server.options.port, {"x-api-key": KEY}, 1000) + b'{"ref": ')
    sock.settimeout(10)
    answer = b""
    while part := sock.recv(4096):  # the answer may come in several reads; the server then closes
        answer += part
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408") and b"body not received within 1s" in answer


def test_connections_beyond_the_limit_get_503_until_idle_ones_are_closed(serve, hook) -> None:
    server = serve(hook, max_connections=10, header_timeout=1.0)
    idle = [socket.create_connection(("127.0.0.1", server.options.port)) for _ in range(10)]
    time.sleep(0.2)  # the server has accepted them
    with httpx.Client(timeout=10) as client:
        busy = client.post(f"{server.url}/in", content=b'{"ref": "A"}', headers={"x-api-key": KEY})
        assert busy.status_code == 503
        assert all(closed_within(sock, 10) for sock in idle)  # the header timeout frees the slots
        ok = client.post(f"{server.url}/in", content=b'{"ref": "B"}', headers={"x-api-key": KEY})
        assert ok.status_code == 200, ok.text
    for sock in idle:
        sock.close()


def test_the_header_timeout_never_cuts_a_request_being_handled(serve, write_spec, monkeypatch) -> None:
    def slow(sock: socket.socket, seen: Seen) -> None:
        time.sleep(2.5)  # the sync run waits on this target longer than the header timeout
        json_answer({"id": 1}, status=201)(sock, seen)

    api = Hostile().route("/items", slow).start()
    monkeypatch.setenv("HOOK_KEY", KEY)
    spec = write_spec(
        HOOK.replace("AUTH", API_KEY_AUTH).replace(
            'target: {type: file, destination: {type: local, path: out}, name: "{run_id}.jsonl"}',
            f"connections:\n  api: {{type: http, base_url: '{api.url}'}}\n"
            "target: {type: http, connection: api, path: /items}",
        )
    )
    try:
        server = serve(spec, header_timeout=1.0)
        with httpx.Client(timeout=20) as client:
            answer = client.post(f"{server.url}/in", content=b'{"ref": "A"}', headers={"x-api-key": KEY})
            assert answer.status_code == 200 and answer.json()["records"]["written"] == 1
            again = client.post(f"{server.url}/in", content=b'{"ref": "B"}', headers={"x-api-key": KEY})
            assert again.status_code == 200  # the same kept-alive connection serves the next request
    finally:
        api.stop()
