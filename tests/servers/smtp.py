"""A real SMTP server on a free loopback port (aiosmtpd), for the email target tests.

Plain, STARTTLS (required before anything else) or implicit TLS, with AUTH
(PLAIN/LOGIN, only over TLS) when a username is given. Recipients can be
refused for good (550) or for now (451), to see both paths of the target.
Every accepted message is kept, parsed, in :attr:`SmtpServer.messages`.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.http.tls import make_certificates


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.server.refuse:
            return "550 5.1.1 no such mailbox"
        if address in self.server.busy:
            return "451 4.3.0 try again later"
        if self.server.busy_times.get(address, 0) > 0:
            self.server.busy_times[address] -= 1
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.server.lock:
            self.server.messages.append(message)  # type: ignore[arg-type]
            self.server.envelopes.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos)})
        return "250 2.0.0 accepted"


class SmtpServer:
    """One aiosmtpd server; ``security`` is ``none``, ``starttls`` or ``tls``."""

    def __init__(
        self,
        directory: Path,
        *,
        security: str = "none",
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.security = security
        self.username, self.password = username, password
        self.messages: list[EmailMessage] = []
        self.envelopes: list[dict[str, Any]] = []
        self.logins: list[str] = []
        self.refuse: set[str] = set()
        self.busy: set[str] = set()
        #: addresses refused for now this many more times, then accepted
        self.busy_times: dict[str, int] = {}
        self.lock = threading.Lock()
        self.port = free_port()
        self.ca: Path | None = None
        context = None
        if security != "none":
            self.ca, cert, key = make_certificates(directory)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(cert), str(key))
        kwargs: dict[str, Any] = {}
        if security == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        if username is not None:
            kwargs.update(
                authenticator=self._authenticate, auth_required=True, auth_require_tls=security != "none"
            )
        self.controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=context if security == "tls" else None,
            server_hostname="localhost",
            **kwargs,
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = data.login.decode("utf-8")
        with self.lock:
            self.logins.append(login)
        ok = login == self.username and data.password.decode("utf-8") == self.password
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 235 or 535

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
