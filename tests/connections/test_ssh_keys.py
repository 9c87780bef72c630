"""Host key pins: fingerprints and known_hosts lines mean the same key."""

from __future__ import annotations

import base64

import pytest

from engine.connections._ssh_keys import Pin, fingerprint_of, parse_pin, preferred_types
from engine.errors import ConfigError

BLOB = base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(32)).decode()


def test_a_keyscan_line_a_bare_key_and_a_fingerprint_pin_the_same_key() -> None:
    fp = fingerprint_of(base64.b64decode(BLOB))
    assert parse_pin(f"[sftp.example]:2222 ssh-ed25519 {BLOB}") == Pin(fp, "ssh-ed25519")
    assert parse_pin(f"ssh-ed25519 {BLOB} comment") == Pin(fp, "ssh-ed25519")
    assert parse_pin(f"  {fp}=  ") == Pin(fp)
    assert fp.startswith("SHA256:") and not fp.endswith("=")


@pytest.mark.parametrize("text", ["ssh-ed25519 not-base64!", "MD5:aa:bb", "hello"])
def test_anything_else_is_a_configuration_error(text: str) -> None:
    with pytest.raises(ConfigError, match="neither a SHA256"):
        parse_pin(text)


def test_pinned_key_types_are_offered_first() -> None:
    available = ("ecdsa-sha2-nistp256", "ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")
    assert preferred_types([Pin("x", "ssh-rsa")], available)[:3] == (
        "rsa-sha2-512",
        "rsa-sha2-256",
        "ssh-rsa",
    )
    assert preferred_types([Pin("x", "ssh-ed25519")], available)[0] == "ssh-ed25519"
    assert preferred_types([Pin("x")], available) is None  # a bare fingerprint says nothing about the type
