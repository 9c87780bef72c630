"""A real PostgreSQL server on a free loopback port, one per test session (and xdist worker).

A throwaway cluster: ``initdb`` in a new temporary directory, then
``postgres`` on a free port with its socket in that directory, both run as
an unprivileged user (the server refuses to run as root; under root the
Debian package's ``postgres`` account is used). Nothing of the system's
own clusters is read or changed. Durability settings are off (a test
server's data may be lost on a power cut); the engine's transactions and
locks behave as on any server. `make test` installs the package first
(tests/servers/setup.sh).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.servers.sshd import free_port

SUPERUSER = "engine"
PASSWORD = "engine-pg-test-pw"
#: the account the server runs as when the tests run as root (created by Debian's postgresql package)
SYSTEM_USER = "postgres"


def bindir() -> Path:
    """The newest installed server's binaries (Debian keeps them under /usr/lib/postgresql/N/bin)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3].split(".")[0])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise RuntimeError(
        "PostgreSQL is not installed: run `make test-servers` (tests/servers/setup.sh) as root"
    )


class Postgres:
    """The running server, and databases made on it for tests."""

    host = "127.0.0.1"
    user = SUPERUSER
    password = PASSWORD

    def __init__(self) -> None:
        self.bin = bindir()
        self.base = Path(tempfile.mkdtemp(prefix="engine-pg-"))
        self.data = self.base / "data"
        self._demote: Any = None
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam(SYSTEM_USER)
            except KeyError:
                raise RuntimeError(
                    f"user {SYSTEM_USER} is missing: run `make test-servers` (tests/servers/setup.sh)"
                ) from None
            os.chown(self.base, account.pw_uid, account.pw_gid)
            uid, gid = account.pw_uid, account.pw_gid

            def demote() -> None:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)

            self._demote = demote
        pwfile = self.base / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self._demote is not None:
            os.chown(pwfile, uid, gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-instructions",
        )
        pwfile.unlink()
        self.log = self.base / "server.log"
        for attempt in range(3):  # another process may take the free port before the server binds it
            self.port = free_port()
            self.proc = self._start()
            try:
                self._wait()
                break
            except RuntimeError:
                if attempt == 2:
                    raise

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [str(self.bin / tool), *args],
            check=True,
            capture_output=True,
            preexec_fn=self._demote,
            cwd=self.base,
        )

    def _start(self) -> subprocess.Popen[bytes]:
        settings = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.base),
            "max_connections": "300",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        args = [str(self.bin / "postgres"), "-D", str(self.data)]
        for name, value in settings.items():
            args += ["-c", f"{name}={value}"]
        with open(self.log, "ab") as log:
            return subprocess.Popen(args, stdout=log, stderr=log, preexec_fn=self._demote, cwd=self.base)

    def _wait(self, timeout: float = 30.0) -> None:
        import psycopg

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"postgres exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}"
                )
            try:
                psycopg.connect(self.dsn("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                time.sleep(0.05)
        raise TimeoutError(
            f"postgres did not accept connections on {self.port}: {self.log.read_text()[-2000:]}"
        )

    def dsn(self, database: str = "postgres", *, password: str | None = None) -> str:
        """A libpq connection string for ``database`` as the test superuser."""
        pw = PASSWORD if password is None else password
        return f"host={self.host} port={self.port} dbname={database} user={SUPERUSER} password={pw}"

    def create_database(self, prefix: str = "t") -> str:
        """A new, empty database; returns its connection string."""
        import psycopg

        name = f"{prefix}_{secrets.token_hex(6)}"
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def execute(self, dsn: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Run one statement on ``dsn``; returns its rows (empty for statements without any)."""
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:
            cur = conn.execute(sql, args or None)
            return cur.fetchall() if cur.description else []

    def stop(self) -> None:
        self.proc.send_signal(
            signal.SIGINT
        )  # "fast" shutdown: open sessions are ended (SIGTERM waits for them)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        with contextlib.suppress(OSError):
            shutil.rmtree(self.base)
