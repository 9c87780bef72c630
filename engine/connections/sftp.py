"""An SFTP server shared by sources and destinations, with a pinned host key.

```yaml
connections:
  partner:
    type: sftp
    host: sftp.partner.example
    username: retail
    private_key: ~/.ssh/partner_ed25519
    host_key: "SHA256:uGEi9eJqKfXJ0xkQf6bO0n2Dk0pU2F6o8bqv1m3XyZ8"
```

The server's key is checked before any credential is sent: ``host_key``
(a fingerprint or a line of ``ssh-keyscan`` output, or a list of them) or a
``known_hosts`` file must vouch for it. One SSH connection serves the whole
run; when it drops, it is re-established and the operation repeated
(downloads resume at the byte where they stopped), under ``retry``, the
engine's one retry policy. The old ``retries: N`` and ``retry_delay`` still
work (as ``max_attempts: N+1`` and ``backoff``) and are reported as deprecated.
"""

from __future__ import annotations

import dataclasses
import errno
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from typing_extensions import override

from engine.connections._common import connection_name
from engine.connections._ssh_keys import Pin, check_host_key, known_hosts_pins, load_private_key, parse_pin
from engine.connections._ssh_keys import preferred_types as _preferred
from engine.contracts import Check, Connection, RunContext
from engine.errors import PHASES, ConfigError, EngineError, TransientError
from engine.retry import SCHEMA as RETRY_SCHEMA
from engine.retry import RetryPolicy, legacy_schema, legacy_warnings, with_legacy
from engine.secrets import Secret, reveal
from engine.units import duration

T = TypeVar("T")

_LEGACY = legacy_schema("retries", "retry_delay")

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["host", "username"],
    "properties": {
        "host": {"type": "string"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 22},
        "username": {"type": "string"},
        "password": {"type": "string", "writeOnly": True},
        "private_key": {
            "type": "string",
            "x-secret": "key-or-path",
            "description": "a key file path, or the key itself (${file:..}/${env:..})",
        },
        "passphrase": {"type": "string", "writeOnly": True, "description": "decrypts private_key"},
        "host_key": {
            "description": "pinned server key: 'SHA256:...' or an ssh-keyscan line, or a list",
            "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
        },
        "known_hosts": {
            "type": "string",
            "description": "an OpenSSH known_hosts file vouching for the server",
        },
        "insecure_accept_any_host_key": {
            "type": "boolean",
            "default": False,
            "description": "do not check the server's identity (testing only)",
        },
        "connect_timeout": duration("time allowed to connect and authenticate", default="15s"),
        "timeout": duration(
            "an operation waiting longer than this counts as a dropped connection", default="60s"
        ),
        "keepalive": duration("interval of SSH keepalive messages (0: none)", default="30s"),
        "retry": RETRY_SCHEMA,
        **_LEGACY["properties"],
    },
    "dependentSchemas": _LEGACY["dependentSchemas"],
}


@dataclasses.dataclass
class SftpOptions:
    """The validated ``sftp`` connection block; credentials may still be unrevealed references."""

    host: str
    port: int
    username: str
    password: Any
    private_key: Any
    passphrase: Any
    host_key: Any
    known_hosts: str | None
    insecure_accept_any_host_key: bool
    connect_timeout: float
    timeout: float
    keepalive: float
    retry: RetryPolicy
    retries: int | None
    retry_delay: float | None


class SftpConnection(Connection):
    """One SSH/SFTP session per spec, checked against pinned host keys and reconnected when it drops.

    Borrowers run their operations through :meth:`call`, which retries on a
    fresh connection and translates paramiko's errors into engine errors.
    """

    name = "sftp"
    summary = "an SFTP server (password or key, pinned host key)"
    schema = SCHEMA
    Options = SftpOptions

    def __init__(self, options: SftpOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.label = f"sftp connection '{connection_name(path)}'"
        self.hostport = f"{options.host}:{options.port}"  # a ${env:...} host shows as written
        self.connect_timeout: float = options.connect_timeout
        self.timeout: float = options.timeout
        self.keepalive = int(options.keepalive)
        self.policy = with_legacy(options.retry, options.retries, options.retry_delay)
        pins = options.host_key if isinstance(options.host_key, list) else [options.host_key]
        # literal pins are checked now; ${env:...} ones when connecting
        self.pins: list[Pin | Secret] = [p if isinstance(p, Secret) else parse_pin(str(p)) for p in pins if p]
        self._transport: Any = None
        self._sftp: Any = None
        self._key: Any = None
        self.base_dir = Path(".")
        self.log: Any = None

    def problems(self) -> list[tuple[tuple, str]]:
        """Missing credentials or contradictory host-key settings, reported by the compiler.

        Returns:
            ``(sub_path, message)`` pairs; empty when the block is usable.
        """
        o = self.options
        out: list[tuple[tuple, str]] = []
        if not o.password and not o.private_key:
            out.append(((), "set password or private_key (as ${env:...}/${file:...} references)"))
        if o.insecure_accept_any_host_key and (o.host_key or o.known_hosts):
            out.append(
                (
                    ("insecure_accept_any_host_key",),
                    "choose a pinned host_key/known_hosts or insecure_accept_any_host_key, not both",
                )
            )
        return out

    def warnings(self) -> list[tuple[tuple, str]]:
        """Legal but unsafe settings: an unchecked host key (a key written in the spec: ``x-secret``).

        Returns:
            ``(sub_path, message)`` pairs; empty when nothing is risky.
        """
        out: list[tuple[tuple, str]] = []
        if self.options.insecure_accept_any_host_key:
            out.append(
                (
                    ("insecure_accept_any_host_key",),
                    "the server's identity is not checked: whoever intercepts the connection gets the "
                    "credentials and the files; pin host_key instead (see `ssh-keyscan`)",
                )
            )
        out.extend(legacy_warnings(self.options.retries, self.options.retry_delay))
        return out

    # -- connecting ----------------------------------------------------------------------

    @override
    def open(self, run: RunContext | None = None) -> None:
        if run is not None:
            self.base_dir = Path(run.spec_dir)
            self.log = run.log.bind(connection=connection_name(self.path))
        if self._sftp is None:
            self._connect_with_retries()

    @override
    def check(self, run: RunContext) -> list[Check]:
        """Connect, check the server's key against the pins, and sign in; no file is touched."""
        self.open(run)
        key = self._transport.get_remote_server_key()
        checked = (
            "not checked: insecure_accept_any_host_key"
            if self.options.insecure_accept_any_host_key
            else "pinned"
        )
        return [
            Check(
                self.path,
                f"signed in to {self.hostport} as '{self.options.username}' "
                f"(host key {key.get_name()} {key.fingerprint}, {checked})",
            )
        ]

    def _connect_with_retries(self) -> None:
        attempt, started = 0, time.monotonic()
        while True:
            try:
                self._connect()
                return
            except TransientError as exc:
                attempt += 1
                wait = self.policy.next_wait(attempt, started)
                if wait is None:
                    raise
                if self.log is not None:
                    self.log.warning("cannot connect, retrying", error=str(exc), attempt=attempt)
                time.sleep(wait)

    def _connect(self) -> None:
        import paramiko

        o = self.options
        if self._key is None and o.private_key:
            self._key = load_private_key(
                self.label, str(reveal(o.private_key)), reveal(o.passphrase), self.base_dir
            )
        try:
            sock = socket.create_connection((str(reveal(o.host)), o.port), timeout=self.connect_timeout)
        except OSError as exc:
            raise TransientError(
                f"{self.label}: cannot connect to {self.hostport}: {exc.strerror or exc}"
            ) from None
        transport = paramiko.Transport(sock)
        try:
            transport.banner_timeout = transport.handshake_timeout = self.connect_timeout
            transport.auth_timeout = self.connect_timeout
            pins = self._pins()
            options = transport.get_security_options()
            preferred = _preferred(pins, tuple(options.key_types))
            if preferred:
                options.key_types = preferred
            try:
                transport.start_client(timeout=self.connect_timeout)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise TransientError(
                    f"{self.label}: SSH handshake with {self.hostport} failed: {exc or type(exc).__name__}"
                ) from None
            offered = transport.get_remote_server_key()
            if o.insecure_accept_any_host_key:
                if self.log is not None:
                    self.log.warning(
                        "host key not checked (insecure_accept_any_host_key)",
                        host_key=f"{offered.get_name()} {offered.fingerprint}",
                    )
            else:
                check_host_key(self.label, self.hostport, offered, pins)
            self._authenticate(transport)
            if self.keepalive:
                transport.set_keepalive(self.keepalive)
            client = paramiko.SFTPClient.from_transport(transport)
            if client is None:
                raise TransientError(f"{self.label}: the server at {self.hostport} did not start SFTP")
            client.get_channel().settimeout(self.timeout)
        except BaseException:
            transport.close()
            raise
        self._transport, self._sftp = transport, client

    def _pins(self) -> list[Pin]:
        pins = [parse_pin(p.reveal()) if isinstance(p, Secret) else p for p in self.pins]
        if self.options.known_hosts:
            path = Path(str(reveal(self.options.known_hosts))).expanduser()
            path = path if path.is_absolute() else self.base_dir / path
            pins += known_hosts_pins(str(path), str(reveal(self.options.host)), self.options.port)
        return pins

    def _authenticate(self, transport: Any) -> None:
        import paramiko

        o = self.options
        user = str(reveal(o.username))
        password = reveal(o.password)
        tried = []
        try:
            if self._key is not None:
                tried.append("key")
                try:
                    transport.auth_publickey(user, self._key)
                    return
                except paramiko.AuthenticationException:
                    if not password:
                        raise
            tried.append("password")
            transport.auth_password(user, password)
        except paramiko.BadAuthenticationType as exc:
            raise ConfigError(
                f"{self.label}: the server does not accept {tried[-1]} authentication for user "
                f"'{user}' (it allows: {', '.join(exc.allowed_types)})"
            ) from None
        except paramiko.AuthenticationException:
            why: dict[tuple[str, ...], str] = {
                ("key",): "the server did not accept the private key",
                ("password",): "wrong password",
            }
            raise ConfigError(
                f"{self.label}: authentication failed for user '{user}' "
                f"({why.get(tuple(tried), 'wrong password or key')})",
                hint="check username and the password or private_key the spec refers to",
            ) from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise TransientError(f"{self.label}: connection lost during authentication: {exc}") from None

    # -- using it ---------------------------------------------------------------------------

    def client(self) -> Any:
        """The SFTP client, reconnected if the previous connection died."""
        if self._sftp is None or not self._transport.is_active():
            self.reset()
            self._connect_with_retries()
        return self._sftp

    def dropped(self, exc: BaseException) -> bool:
        """``exc`` means the connection is gone (then it is reset for the next call)."""
        import paramiko

        dead = self._transport is None or not self._transport.is_active()
        if dead or isinstance(exc, EOFError | TimeoutError | ConnectionError | paramiko.SSHException):
            self.reset()
            return True
        return False

    def call(self, action: str, where: str, fn: Callable[[Any], T], *, phase: str) -> T:
        """``fn(sftp_client)``, repeated on a fresh connection when the connection drops."""
        attempt, started = 0, time.monotonic()
        while True:
            client = self.client()
            try:
                return fn(client)
            except EngineError:
                raise
            except Exception as exc:  # classified, then translated
                attempt += 1
                wait = self.policy.next_wait(attempt, started)
                if not self.dropped(exc) or wait is None:
                    raise self.error(exc, action, where, phase=phase) from None
                if self.log is not None:
                    self.log.warning(
                        "connection lost, reconnecting", action=action, path=where, attempt=attempt
                    )
                time.sleep(wait)

    def error(self, exc: BaseException, action: str, where: str, *, phase: str) -> EngineError:
        """Translate an SFTP failure into an engine error naming this connection.

        The caller raises what is returned; engine errors come back unchanged.
        A missing file or a denied permission is fatal, a lost connection
        transient.

        Args:
            exc: what paramiko or the socket raised.
            action: the verb for the message (``list``, ``read``, ``rename`` ...).
            where: the remote path it concerned.
            phase: ``source``, ``target`` or ``connection``: picks the fatal and
                transient error classes.

        Returns:
            The engine error to raise.
        """
        if isinstance(exc, EngineError):
            return exc
        fatal, transient = PHASES[phase].fatal, PHASES[phase].transient
        prefix = f"{self.label}: cannot {action} {where}"
        code = getattr(exc, "errno", None)
        if code == errno.ENOENT:
            return fatal(f"{prefix}: no such file or directory")
        if code == errno.EACCES:
            return fatal(f"{prefix}: permission denied")
        if self._transport is None or isinstance(exc, EOFError | TimeoutError | ConnectionError):
            return transient(
                f"{prefix}: the connection was lost ({type(exc).__name__}: {exc})",
                hint=f"tried {self.policy.max_attempts} times; the file was left in place",
            )
        return fatal(f"{prefix}: {exc or type(exc).__name__}")

    def uri(self, path: str) -> str:
        """``sftp://host:port/path`` for a remote path, absolute or not, as items and messages show it."""
        return f"sftp://{self.hostport}{path if path.startswith('/') else '/' + path}"

    def reset(self) -> None:
        """Forget the current session, closing it quietly; the next :meth:`client` call reconnects."""
        transport, self._transport, self._sftp = self._transport, None, None
        if transport is not None:
            try:
                transport.close()
            except Exception:  # it is already broken
                pass

    @override
    def close(self) -> None:
        self.reset()
        super().close()
