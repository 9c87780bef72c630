"""An HTTP server on loopback that misbehaves on purpose, for the engine's HTTP clients to survive.

Each path has a scripted answer written byte by byte on the raw socket, so
the server can do what no well-behaved framework lets it do: redirect in a
circle or to another server, stream an answer of any size without holding
it, drip one byte at a time through the headers or the body. Every request
is recorded with its headers and query, so a test can see what the engine
sent where (a credential that reached another server, say).
"""

from __future__ import annotations

import dataclasses
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclasses.dataclass
class Seen:
    """One request as the server received it (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


Answer = Callable[[socket.socket, Seen], None]


class Hostile:
    """``Hostile().start()``; ``route(path, answer)`` with one of the answers below; ``seen`` records."""

    def __init__(self) -> None:
        self.routes: dict[str, Answer] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        hostile = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                hostile._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 256

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Hostile:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def route(self, path: str, answer: Answer) -> Hostile:
        self.routes[path] = answer
        return self

    def requests(self, path: str | None = None) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if path is None or s.path == path]

    def _handle(self, sock: socket.socket) -> None:
        try:
            seen = _read_request(sock)
            if seen is None:
                return
            with self._lock:
                self.seen.append(seen)
            answer = self.routes.get(seen.path) or json_answer({"error": "no such path"}, status=404)
            answer(sock, seen)
        except OSError:
            pass  # the client went away: that is what the tests make it do


def _read_request(sock: socket.socket) -> Seen | None:
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            return None
        data += part
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    while len(rest) < length:
        part = sock.recv(65536)
        if not part:
            break
        rest += part
    split = urlsplit(target)
    return Seen(method, split.path, dict(parse_qsl(split.query)), headers, rest[:length])


# -- answers -----------------------------------------------------------------------------------


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} Scripted", "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def json_answer(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    """A plain JSON answer."""
    content = json.dumps(body).encode()

    def answer(sock: socket.socket, seen: Seen) -> None:
        sock.sendall(
            _head(
                status,
                {"Content-Type": "application/json", "Content-Length": str(len(content)), **(headers or {})},
            )
            + content
        )

    return answer


def redirect(location: str, *, status: int = 302) -> Answer:
    """``status`` with ``Location: location`` (absolute, or a path on this server)."""

    def answer(sock: socket.socket, seen: Seen) -> None:
        sock.sendall(_head(status, {"Location": location, "Content-Length": "0"}))

    return answer


def huge(size: int, *, declared: bool = False, prefix: bytes = b'{"data": [') -> Answer:
    """A JSON answer of ``size`` bytes, made as it is sent (the server never holds it).

    With ``declared`` the size is announced in ``Content-Length``; without, the
    body is chunked and its size is only known by reading it.
    """
    record = b'{"id": 1, "ref": "' + b"x" * 200 + b'"},'

    def answer(sock: socket.socket, seen: Seen) -> None:
        headers = {"Content-Type": "application/json"}
        headers.update({"Content-Length": str(size)} if declared else {"Transfer-Encoding": "chunked"})
        sock.sendall(_head(200, headers))
        block = prefix + record * (65536 // len(record))
        sent = 0
        while sent < size:
            part = block[: size - sent]
            sock.sendall(part if declared else b"%x\r\n%s\r\n" % (len(part), part))
            sent += len(part)
            block = record * (65536 // len(record))
        if not declared:
            sock.sendall(b"0\r\n\r\n")

    return answer


def drip(*, where: str, every: float = 0.1, body: bytes = b'{"data": []}') -> Answer:
    """A valid answer sent one byte every ``every`` seconds, in the headers or the body.

    Each byte arrives well within any read timeout, so only a deadline on the
    whole request ends the wait; the answer is long enough to outlast a test.
    """

    def answer(sock: socket.socket, seen: Seen) -> None:
        padding = b" " * 100_000
        content = body + padding
        head = _head(200, {"Content-Type": "application/json", "Content-Length": str(len(content))})
        if where == "headers":
            head = head[:-2] + b"X-Padding: " + b"p" * 50_000 + b"\r\n\r\n"
            slow, fast = head, content
        else:
            sock.sendall(head)
            slow, fast = content, b""
        for i in range(len(slow)):
            sock.sendall(slow[i : i + 1])
            time.sleep(every)
        sock.sendall(fast)

    return answer
