"""An SMTP server for the ``email`` target: TLS, authentication, timeouts.

```yaml
connections:
  mail:
    type: smtp
    host: smtp.example.com
    port: 587
    security: starttls
    username: alerts@example.com
    password: "${env:SMTP_PASSWORD}"
```

``security: starttls`` (the default; port 587) upgrades the connection
before anything else is said, and refuses a server that does not offer it;
``tls`` (port 465) speaks TLS from the first byte; ``none`` sends in clear
text and is only for a relay on the same host (``engine validate`` warns,
and credentials over it are refused). Certificates are checked against the
system's authorities, or ``ca_bundle`` for a private one. The password is a
secret reference, never logged: a refused login says the server refused the
username, with the server's code. ``smtplib`` is the client; its
exceptions are translated here and in the target, never seen by the runtime.
"""

from __future__ import annotations

import dataclasses
import smtplib
import socket
import ssl
from pathlib import Path
from typing import Any

from typing_extensions import override

from engine.connections._common import connection_name
from engine.contracts import Connection, RunContext
from engine.errors import ConfigError, NotificationError, TargetAuthError, TransientNotificationError
from engine.retry import SCHEMA as RETRY_SCHEMA
from engine.retry import RetryPolicy
from engine.secrets import reveal
from engine.units import duration

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["host"],
    "properties": {
        "host": {"type": "string", "minLength": 1, "description": "the SMTP server, e.g. smtp.example.com"},
        "port": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65535,
            "description": "default: 587 for starttls, 465 for tls, 25 for none",
        },
        "security": {
            "enum": ["starttls", "tls", "none"],
            "default": "starttls",
            "description": "starttls: upgrade a plain connection (587); tls: TLS from the start (465); "
            "none: clear text (a relay on this host only)",
        },
        "username": {"type": "string", "description": "login; without it no AUTH is attempted"},
        "password": {"type": "string", "writeOnly": True, "description": "a secret reference"},
        "timeout": duration("time allowed to connect and for each answer of the server", default="30s"),
        "ca_bundle": {"type": "string", "description": "PEM file of the authorities to trust (a private CA)"},
        "local_hostname": {"type": "string", "description": "name given in EHLO (default: this host's name)"},
        "retry": RETRY_SCHEMA,
    },
}

DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


@dataclasses.dataclass
class SmtpConnectionOptions:
    """The validated ``smtp`` connection block; defaults and meanings are in :data:`SCHEMA`."""

    host: Any
    port: int | None
    security: str
    username: Any
    password: Any
    timeout: float
    ca_bundle: str | None
    local_hostname: str | None
    retry: RetryPolicy


class SmtpConnection(Connection):
    """Where the ``email`` target sends: :meth:`session` opens one logged-in SMTP session."""

    name = "smtp"
    summary = "an SMTP server (STARTTLS or implicit TLS, login) for the email target"
    schema = SCHEMA
    Options = SmtpConnectionOptions

    def __init__(self, options: SmtpConnectionOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.label = connection_name(path) if path else "smtp"
        self.context: ssl.SSLContext | None = None
        #: how a message the server could not take for now (unreachable, 4xx) is tried again
        self.policy: RetryPolicy = options.retry

    def problems(self) -> list[tuple[tuple, str]]:
        """A password without a username, and credentials in clear text, are refused."""
        o = self.options
        out: list[tuple[tuple, str]] = []
        if o.password is not None and o.username is None:
            out.append((("username",), "a password needs a username to log in with"))
        if o.username is not None and o.security == "none":
            out.append(
                (("security",), "credentials would travel in clear text; use starttls or tls to log in")
            )
        return out

    def warnings(self) -> list[tuple[tuple, str]]:
        """Clear-text SMTP to another host is legal, but anyone on the way reads the mail."""
        o = self.options
        if o.security == "none" and str(o.host) not in LOCAL_HOSTS:
            return [(("security",), "mail to another host in clear text; use starttls or tls")]
        return []

    @property
    def port(self) -> int:
        """The port to connect to: the option, or the usual one for ``security``."""
        return self.options.port or DEFAULT_PORTS[self.options.security]

    @override
    def open(self, run: RunContext) -> None:
        o = self.options
        if o.security == "none" or self.context is not None:
            return
        context = ssl.create_default_context()
        if o.ca_bundle:
            path = Path(o.ca_bundle).expanduser()
            if not path.is_absolute():
                path = Path(run.spec_dir) / path
            try:
                context.load_verify_locations(cafile=str(path))
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(
                    f"smtp connection '{self.label}': ca_bundle {path} cannot be loaded: {exc}"
                ) from None
        self.context = context

    def session(self) -> smtplib.SMTP:
        """A connected, secured and logged-in session; the caller quits it.

        Raises:
            TransientNotificationError: the server cannot be reached or answered with a temporary refusal.
            TargetAuthError: the server refused the login.
            NotificationError: the server refused TLS, or does not offer STARTTLS.
        """
        o = self.options
        host = str(reveal(o.host))
        where = f"smtp connection '{self.label}' ({host}:{self.port})"
        try:
            if o.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    host, self.port, local_hostname=o.local_hostname, timeout=o.timeout, context=self.context
                )
            else:
                client = smtplib.SMTP(host, self.port, local_hostname=o.local_hostname, timeout=o.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientNotificationError(f"{where}: cannot connect: {_describe(exc)}") from None
        try:
            if o.security == "starttls":
                client.ehlo()
                if not client.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError("the server does not offer STARTTLS")
                client.starttls(context=self.context)
                client.ehlo()
            if o.username is not None:
                client.login(
                    str(reveal(o.username)), str(reveal(o.password)) if o.password is not None else ""
                )
        except smtplib.SMTPAuthenticationError as exc:
            _quit(client)
            raise TargetAuthError(
                f"{where}: the server refused the login of {reveal(o.username)!s} ({exc.smtp_code})",
                hint="check username and password",
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            _quit(client)
            raise translate(exc, f"{where}: ") from None
        return client


def translate(exc: BaseException, prefix: str = "") -> Exception:
    """An smtplib or socket error as the engine's: temporary (4xx, network) or not (5xx, TLS)."""
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, ssl.SSLError | ssl.CertificateError | smtplib.SMTPNotSupportedError):
        return NotificationError(f"{prefix}TLS failed: {_describe(exc)}", hint="check security and ca_bundle")
    if isinstance(code, int) and 500 <= code < 600:
        return NotificationError(f"{prefix}the server refused: {_describe(exc)}")
    if isinstance(exc, OSError | smtplib.SMTPException):
        return TransientNotificationError(f"{prefix}{_describe(exc)}")
    return NotificationError(f"{prefix}{_describe(exc)}")


def _describe(exc: BaseException) -> str:
    code = getattr(exc, "smtp_code", None)
    error = getattr(exc, "smtp_error", None)
    if code is not None:
        text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
        return f"{code} {text}"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


def _quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()
