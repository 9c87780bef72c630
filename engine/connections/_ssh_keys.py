"""SSH keys: the client's private key, and the server's pinned host key.

Sending a password to a server whose identity was never checked hands it to
whoever answers first, so the host key is verified before authentication and
an unknown or changed key stops the connection. The message shows the key
the server offered, so a user can compare it with what the server's owner
publishes and pin it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import os
from pathlib import Path
from typing import Any

from engine.errors import ConfigError

#: host key algorithms that sign with a key of each type
ALGORITHMS = {
    "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
}


@dataclasses.dataclass(frozen=True)
class Pin:
    """One acceptable host key: its SHA256 fingerprint, and its type when known."""

    fingerprint: str
    key_type: str | None = None


def fingerprint_of(blob: bytes) -> str:
    """OpenSSH's ``SHA256:...`` form (unpadded base64 of the key blob's digest)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def parse_pin(text: str) -> Pin:
    """``SHA256:...``, or a known_hosts / ``ssh-keyscan`` line (the host part is ignored)."""
    text = text.strip()
    if text.startswith("SHA256:"):
        return Pin("SHA256:" + text[len("SHA256:") :].rstrip("="))
    fields = text.split()
    for i, field in enumerate(fields[:-1]):
        if field.startswith(("ssh-", "ecdsa-", "sk-")):
            try:
                blob = base64.b64decode(fields[i + 1], validate=True)
            except ValueError:
                break
            return Pin(fingerprint_of(blob), field)
    raise ConfigError(
        f"host_key {text[:60]!r} is neither a SHA256:... fingerprint nor a known_hosts line",
        hint="use the output of `ssh-keyscan -p PORT HOST`, or `ssh-keygen -lf` on the server's key",
    )


def known_hosts_pins(path: str, host: str, port: int) -> list[Pin]:
    """Keys for ``host``/``port`` in an OpenSSH known_hosts file (hashed entries included)."""
    import paramiko

    try:
        keys = paramiko.HostKeys(os.path.expanduser(path))
    except OSError as exc:
        raise ConfigError(f"known_hosts file {path} cannot be read: {exc.strerror or exc}") from None
    name = host if port == 22 else f"[{host}]:{port}"
    entry = keys.lookup(name) or {}
    return [Pin(key.fingerprint, key_type) for key_type, key in entry.items()]


def preferred_types(pins: list[Pin], available: tuple[str, ...]) -> tuple[str, ...] | None:
    """Offer the pinned key types first, so the server shows the key that was pinned."""
    typed = [p.key_type for p in pins if p.key_type]
    if not typed or len(typed) != len(pins):
        return None
    wanted = [alg for t in typed for alg in ALGORITHMS.get(t, [t])]
    first = [a for a in wanted if a in available]
    return tuple(dict.fromkeys(first + list(available))) if first else None


def check_host_key(label: str, hostport: str, offered: Any, pins: list[Pin]) -> None:
    """Raise unless the server's key is one of ``pins`` (an empty list means nothing is pinned)."""
    fp = offered.fingerprint
    shown = f"{offered.get_name()} {fp}"
    if any(p.fingerprint == fp for p in pins):
        return
    if not pins:
        raise ConfigError(
            f"{label}: the host key of {hostport} is unknown; the server offered {shown}",
            hint=f'confirm this fingerprint with the server\'s owner, then pin it with host_key: "{fp}" '
            f"(or a line from `ssh-keyscan -p {hostport.rsplit(':', 1)[-1]} {hostport.rsplit(':', 1)[0]}`)",
        )
    pinned = ", ".join(p.fingerprint for p in pins)
    raise ConfigError(
        f"{label}: the host key of {hostport} has CHANGED: the server offered {shown}, but {pinned} is pinned",
        hint="the server was re-installed or someone is intercepting the connection; confirm the new "
        "fingerprint with the server's owner before updating host_key",
    )


def load_private_key(label: str, value: str, passphrase: str | None, base_dir: Path) -> Any:
    """A paramiko key from a file path or inline PEM/OpenSSH text."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from paramiko import ECDSAKey, Ed25519Key, RSAKey

    if "-----BEGIN" in value:
        text, where = value, "the inline private_key"
    else:
        path = Path(os.path.expanduser(value))
        path = path if path.is_absolute() else base_dir / path
        where = f"private key {path}"
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{label}: {where} cannot be read: {getattr(exc, 'strerror', None) or exc}"
            ) from None
    data = text.encode("ascii", "replace")
    secret = passphrase.encode() if passphrase else None
    loaded: Any
    try:
        try:
            loaded = serialization.load_ssh_private_key(data, password=secret)
        except ValueError:
            loaded = serialization.load_pem_private_key(data, password=secret)
    except TypeError:
        raise ConfigError(
            f"{label}: {where} is encrypted", hint="set passphrase (as a ${env:...} reference)"
        ) from None
    except ValueError:
        why = (
            "the passphrase is wrong, or it is not a private key"
            if passphrase
            else "it is not an OpenSSH or PEM private key"
        )
        raise ConfigError(f"{label}: {where} cannot be loaded: {why}") from None
    except Exception as exc:  # cryptography's unsupported formats
        raise ConfigError(f"{label}: {where} cannot be loaded: {exc}") from None
    classes = (
        (rsa.RSAPrivateKey, RSAKey),
        (ed25519.Ed25519PrivateKey, Ed25519Key),
        (ec.EllipticCurvePrivateKey, ECDSAKey),
    )
    for kind, cls in classes:
        if isinstance(loaded, kind):
            try:
                return cls.from_private_key(io.StringIO(text), password=passphrase or None)
            except Exception as exc:  # paramiko's own parsing errors
                raise ConfigError(f"{label}: {where} cannot be loaded: {exc}") from None
    raise ConfigError(
        f"{label}: {where} is a {type(loaded).__name__}, which SSH here does not support",
        hint="use an ed25519, RSA or ECDSA key",
    )
