"""A real OpenSSH sshd on a free loopback port, one per test session (and xdist worker).

Nothing under /etc/ssh is read or changed: the server runs from its own
config, host key and authorized-keys directory under /srv (not /tmp: sshd's
StrictModes and ChrootDirectory refuse group- or world-writable parents).
The login user and /run/sshd come from tests/servers/setup.sh, which
`make test` runs first. Clients see a chroot whose writable home is /upload.
"""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"
USER = "sftptest"
PASSWORD = "sftptest-pw"
PASSPHRASE = "open-sesame"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"sshd did not listen on {port}")


def _keygen(path: Path, kind: str = "ed25519", passphrase: str = "", fmt: list[str] | None = None) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-C", path.name, *(fmt or []), "-f", str(path)],
        check=True,
    )


class Sshd:
    """The running server and everything a test needs to reach it."""

    host = "127.0.0.1"
    user = USER
    password = PASSWORD
    passphrase = PASSPHRASE

    def __init__(self) -> None:
        if not os.path.exists(SSHD):
            raise RuntimeError(f"{SSHD} is missing: run `make test-servers` (tests/servers/setup.sh) as root")
        try:
            self.uid = pwd.getpwnam(USER).pw_uid
        except KeyError:
            raise RuntimeError(
                f"user {USER} is missing: run `make test-servers` (tests/servers/setup.sh)"
            ) from None
        os.makedirs("/run/sshd", exist_ok=True)
        self.base = Path(tempfile.mkdtemp(prefix="engine-sftp-", dir="/srv"))
        self.chroot = self.base / "root"
        self.home = self.chroot / "upload"
        keys = self.base / "keys"
        self.home.mkdir(parents=True)
        keys.mkdir()
        for p in (self.base, self.chroot, keys):
            p.chmod(0o755)
        os.chown(self.home, self.uid, -1)
        _keygen(self.base / "host_key")
        _keygen(self.base / "other_host_key")
        self.key = self.base / "client_ed25519"
        _keygen(self.key)
        self.key_with_passphrase = self.base / "client_rsa"
        _keygen(self.key_with_passphrase, "rsa", PASSPHRASE, ["-b", "2048", "-m", "PEM"])
        self.unknown_key = self.base / "stranger_ed25519"
        _keygen(self.unknown_key)
        authorized = keys / USER
        authorized.write_text(
            (self.base / "client_ed25519.pub").read_text() + (self.base / "client_rsa.pub").read_text()
        )
        authorized.chmod(0o644)
        self.host_key_line = (self.base / "host_key.pub").read_text().strip()
        self.other_host_key_line = (self.base / "other_host_key.pub").read_text().strip()
        self.log = self.base / "sshd.log"
        self._log_file = open(self.log, "w")  # noqa: SIM115 - closed in stop()
        for attempt in range(3):  # another process may take the free port before sshd binds it
            self.port = free_port()
            self.proc = self._start()
            try:
                wait_port(self.port, self.proc, self.log)
                break
            except RuntimeError:
                if attempt == 2:
                    raise

    def _start(self) -> subprocess.Popen:
        config = self.base / "sshd_config"
        keys = self.base / "keys"
        config.write_text(f"""Port {self.port}
ListenAddress 127.0.0.1
HostKey {self.base}/host_key
PidFile none
AuthorizedKeysFile {keys}/%u
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin no
AllowUsers {USER}
UseDNS no
MaxStartups 100
MaxSessions 50
LogLevel VERBOSE
Subsystem sftp internal-sftp
Match User {USER}
  ChrootDirectory {self.chroot}
  ForceCommand internal-sftp -d /upload
  AllowTcpForwarding no
  X11Forwarding no
  PermitTTY no
""")
        return subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=self._log_file)

    @functools.cached_property
    def host_fingerprint(self) -> str:
        """``SHA256:...`` as ``ssh-keygen -lf`` prints it (what a server's owner would publish)."""
        out = subprocess.run(
            ["ssh-keygen", "-lf", str(self.base / "host_key.pub")], check=True, capture_output=True, text=True
        ).stdout
        return out.split()[1]

    def connection(self, port: int | None = None, **options: object) -> dict:
        """A spec's ``type: sftp`` block for this server (password from $SFTP_TEST_PASSWORD)."""
        block: dict = {
            "type": "sftp",
            "host": self.host,
            "port": port or self.port,
            "username": self.user,
            "password": "${env:SFTP_TEST_PASSWORD}",
            "host_key": self.host_fingerprint,
            "retry": {"max_attempts": 4, "backoff": "50ms"},
            "connect_timeout": "5s",
            "timeout": "10s",
        }
        block.update(options)
        return {k: v for k, v in block.items() if v is not None}

    def write(self, rel: str, data: bytes | str, mtime: float | None = None) -> Path:
        """A file in the user's home (``/upload/REL`` as clients see it), owned by the user."""
        path = self.home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        parent = path.parent
        while parent != self.home:
            os.chown(parent, self.uid, -1)
            parent = parent.parent
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        os.chown(path, self.uid, -1)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        return path

    def files(self) -> list[str]:
        """Every file under the home, as sorted relative paths."""
        return sorted(p.relative_to(self.home).as_posix() for p in self.home.rglob("*") if p.is_file())

    def clear(self) -> None:
        for child in self.home.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log_file.close()
        shutil.rmtree(self.base, ignore_errors=True)
