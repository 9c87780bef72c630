"""A hostile API on a real loopback socket: it repeats every credential it receives back at the client.

It answers as a careless or malicious server would, so the tests can see
that no output of the engine shows a secret in any form: in a JSON error
(escaped by the encoder), in plain text as received, URL-encoded, base64,
cut after 101 characters and with its whitespace collapsed. ``/oauth/token``
hands out :attr:`EchoServer.token`, a secret the engine only learns at run
time. Records are answered by their ``sku``: ``json`` a 400 with a JSON
body, ``flaky`` a 500, any other a 400 in plain text; anything on
``/denied`` is refused with a 401 that echoes too.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit


def echoes(value: str) -> list[str]:
    """The ways the server repeats one credential."""
    return [
        value,
        quote_plus(value),
        base64.b64encode(value.encode()).decode(),
        value[:101],
        " ".join(value.split()),
    ]


class EchoServer:
    """``with EchoServer(token) as server:``; :attr:`received` holds every credential sent to it."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.received: list[str] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                owner._answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def __enter__(self) -> EchoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(5)

    def _credentials(self, request: BaseHTTPRequestHandler, body: bytes) -> list[str]:
        """Every credential in the request: query and form values, auth headers (decoded), custom headers."""
        found = [v for _, v in parse_qsl(urlsplit(request.path).query)]
        if request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            found += [v for _, v in parse_qsl(body.decode())]
        for name, value in request.headers.items():
            if name.lower() == "authorization":
                scheme, _, credential = value.partition(" ")
                found += [value, credential]
                if scheme.lower() == "basic":
                    found += base64.b64decode(credential).decode().split(":", 1)
            elif name.lower().startswith("x-"):
                found.append(value)
        with self._lock:
            self.received += found
        return found

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        credentials = self._credentials(request, body)
        path = urlsplit(request.path).path
        if path == "/oauth/token":
            self._send(request, 200, json.dumps({"access_token": self.token, "expires_in": 3600}))
            return
        text = "\n".join(form for c in credentials for form in echoes(c))
        if path == "/denied":
            self._send(request, 401, f"who are you?\n{text}", "text/plain")
            return
        sku = (json.loads(body) if body else {}).get("sku")
        if sku == "json":
            self._send(request, 400, json.dumps({"error": f"bad credentials {text}", "got": credentials}))
        elif sku == "flaky":
            self._send(request, 500, f"crashed while checking {text}", "text/plain")
        else:
            self._send(request, 400, f"refused:\n{text}", "text/plain")

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler, status: int, text: str, kind: str = "application/json"
    ) -> None:
        data = text.encode()
        request.send_response(status)
        request.send_header("Content-Type", f"{kind}; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
