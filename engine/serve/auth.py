"""Who may trigger a run: Fluent's webhook signature, an API key, or (said out loud) anyone.

Fluent signs each webhook with RSASSA-PKCS1-v1_5 / SHA-512 over the exact
body bytes and sends the base64 signature in ``fluent-signature``. The SDK's
validator has four traps, and this module does the opposite of each:

* it rejects PEM keys (only bare base64 works): here both forms load;
* its header lookup is case-sensitive: here any case, and the
  ``x-fluent-signature`` and ``fluent_signature`` spellings, are found;
* a missing signature passes: here it is refused like a bad one;
* its middleware re-serialises JSON before checking: here the raw bytes are
  verified before anything parses them.

API keys are compared in constant time. A verifier answers ``None`` when a
request may pass, else a short reason that is safe to send back. It is
asked twice: :meth:`Verifier.check_headers` before the body is read (an API
key is decided there; a signature that is missing, not base64 or not the
key's length is refused there), then :meth:`Verifier.check` with the body.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from engine.errors import ConfigError
from engine.secrets import Secret, has_reference, reveal

SIGNATURE_HEADERS = ("fluent-signature", "x-fluent-signature", "fluent_signature")
LEGACY_HEADERS = ("flex.signature", "flex-signature", "flex_signature")


class Verifier(Protocol):
    """What the webhook endpoint asks of an authentication scheme."""

    kind: str

    def check_headers(self, headers: Mapping[str, str]) -> str | None:
        """A refusal decided from the headers alone (the body is then never read), else ``None``."""
        ...

    def check(self, body: bytes, headers: Mapping[str, str]) -> str | None:
        """``None`` when the request may pass, else a short reason that is safe to send back."""
        ...


def header(headers: Mapping[str, str], *names: str) -> str | None:
    """The first of ``names`` present, whatever the case the sender used."""
    lowered = {str(k).lower(): v for k, v in headers.items()}
    for name in names:
        value = lowered.get(name.lower())
        if value:
            return str(value).strip()
    return None


def load_public_key(text: str, where: str = "public_key") -> rsa.RSAPublicKey:
    """An RSA public key from PEM, a PEM certificate, or bare base64 SubjectPublicKeyInfo (DER)."""
    text = text.strip()
    try:
        if "-----BEGIN CERTIFICATE-----" in text:
            key: Any = x509.load_pem_x509_certificate(text.encode("ascii")).public_key()
        elif "-----BEGIN" in text:
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            der = base64.b64decode("".join(text.split()), validate=True)
            key = serialization.load_der_public_key(der)
    except (ValueError, TypeError, binascii.Error, UnicodeEncodeError) as exc:
        raise ConfigError(
            f"{where}: not a public key ({exc})",
            hint="give the PEM (-----BEGIN PUBLIC KEY-----) or the bare base64 key Fluent provides",
        ) from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigError(f"{where}: Fluent signs with RSA, but this is a {type(key).__name__} key")
    return key


class FluentSignature:
    """Fluent's RSA/SHA-512 webhook signature over the raw body (``auth: fluent_signature``)."""

    kind = "fluent_signature"

    def __init__(self, key: rsa.RSAPublicKey) -> None:
        self.key = key

    def _signature(self, headers: Mapping[str, str]) -> bytes | str:
        """The decoded signature, or why there is none worth checking."""
        signature = header(headers, *SIGNATURE_HEADERS)
        if signature is None:
            if header(headers, *LEGACY_HEADERS):
                return "only a legacy flex.signature (MD5withRSA) was sent; fluent-signature (SHA512withRSA) is required"
            return "missing fluent-signature header"
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            return "fluent-signature is not base64"
        if len(raw) != (self.key.key_size + 7) // 8:  # an RSA signature is exactly as long as the key
            return "fluent-signature does not match the body"
        return raw

    def check_headers(self, headers: Mapping[str, str]) -> str | None:
        """Refuse a missing, legacy-only, non-base64 or wrong-length signature; see :class:`Verifier`."""
        found = self._signature(headers)
        return found if isinstance(found, str) else None

    def check(self, body: bytes, headers: Mapping[str, str]) -> str | None:
        """Refuse what :meth:`check_headers` refuses, and a signature that does not match the body."""
        raw = self._signature(headers)
        if isinstance(raw, str):
            return raw
        try:
            self.key.verify(raw, body, padding.PKCS1v15(), hashes.SHA512())
        except InvalidSignature:
            return "fluent-signature does not match the body"
        return None


class ApiKey:
    """A shared secret in a header (``auth: api_key``), compared in constant time.

    With ``header: authorization`` a ``Bearer`` prefix is accepted and dropped.
    """

    kind = "api_key"

    def __init__(self, secret: str, header_name: str) -> None:
        self.secret = secret.encode("utf-8")
        self.header = header_name

    def check_headers(self, headers: Mapping[str, str]) -> str | None:
        """Refuse a missing or wrong key (decided here: the key is all there is). See :class:`Verifier`."""
        return self.check(b"", headers)

    def check(self, body: bytes, headers: Mapping[str, str]) -> str | None:
        """Refuse a missing or wrong key; the body is not looked at. See :class:`Verifier`."""
        given = header(headers, self.header)
        if given is None:
            return f"missing {self.header} header"
        if self.header.lower() == "authorization" and given[:7].lower() == "bearer ":
            given = given[7:].strip()
        if not hmac.compare_digest(given.encode("utf-8"), self.secret):
            return f"wrong {self.header}"
        return None


class Anyone:
    """No authentication (``auth: {type: none}``); ``engine serve`` warns about it at start-up."""

    kind = "none"

    def check_headers(self, headers: Mapping[str, str]) -> str | None:
        """Let every request pass."""
        return None

    def check(self, body: bytes, headers: Mapping[str, str]) -> str | None:
        """Let every request pass."""
        return None


def _secret(value: Any, where: str, base_dir: Path) -> str:
    """Resolve a ``${env:...}``/``${file:...}`` reference now (start-up), so a missing one stops start-up."""
    if isinstance(value, str) and has_reference(value):
        value = Secret(value, where=where, base_dir=base_dir)
    return str(reveal(value))


def make_verifier(
    auth: Mapping[str, Any] | None, *, base_dir: Path, where: str = "trigger.webhook.auth"
) -> Verifier:
    """The verifier a spec's ``trigger.webhook.auth`` asks for, with its secrets resolved."""
    if not auth:
        raise ConfigError(
            f"{where}: missing; say how senders authenticate "
            "(fluent_signature or api_key), or {type: none} to accept anyone"
        )
    kind = auth.get("type")
    if kind == "fluent_signature":
        if not auth.get("public_key"):
            raise ConfigError(
                f"{where}.public_key: required for fluent_signature",
                hint="the account's webhook public key, e.g. ${file:fluent-webhook.pem}",
            )
        text = _secret(auth["public_key"], f"{where}.public_key", base_dir)
        return FluentSignature(load_public_key(text, f"{where}.public_key"))
    if kind == "api_key":
        if not auth.get("api_key"):
            raise ConfigError(f"{where}.api_key: required for api_key", hint="e.g. ${env:WEBHOOK_API_KEY}")
        secret = _secret(auth["api_key"], f"{where}.api_key", base_dir)
        if len(secret) < 16:
            raise ConfigError(
                f"{where}.api_key: {len(secret)} characters is too short to keep guessers out "
                "(use at least 16, e.g. `openssl rand -hex 32`)"
            )
        return ApiKey(secret, auth.get("header") or "x-api-key")
    if kind == "none":
        return Anyone()
    raise ConfigError(f"{where}.type: unknown {kind!r} (expected fluent_signature, api_key or none)")
