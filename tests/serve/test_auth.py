"""Webhook authentication: the opposite of each WebhookValidationService trap (sdk-behaviour §7)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

from engine.errors import ConfigError, SecretError
from engine.serve.auth import ApiKey, FluentSignature, load_public_key, make_verifier

BODY = json.dumps(
    {"id": "e1", "name": "ORDER_STATUS_CHANGED", "retailerId": "1", "note": "ünï"}, separators=(",", ":")
).encode("utf-8")


@pytest.mark.parametrize("form", ["pem", "base64", "base64 wrapped", "pem with spaces around"])
def test_both_key_forms_load_and_verify(keys, form):
    text = {
        "pem": keys.pem,
        "base64": keys.base64,
        "base64 wrapped": "\n".join(keys.base64[i : i + 64] for i in range(0, len(keys.base64), 64)),
        "pem with spaces around": f"\n  {keys.pem}  \n",
    }[form]
    verifier = FluentSignature(load_public_key(text))
    assert verifier.check(BODY, {"fluent-signature": keys.sign(BODY)}) is None


@pytest.mark.parametrize(
    "name",
    [
        "fluent-signature",
        "Fluent-Signature",
        "FLUENT-SIGNATURE",
        "x-fluent-signature",
        "X-Fluent-Signature",
        "fluent_signature",
    ],
)
def test_signature_header_is_found_whatever_its_case(keys, name):
    verifier = FluentSignature(load_public_key(keys.pem))
    assert verifier.check(BODY, {name: keys.sign(BODY)}) is None


@pytest.mark.parametrize(
    "case,headers,body,reason",
    [
        ("missing", {}, BODY, "missing fluent-signature header"),
        ("empty", {"fluent-signature": ""}, BODY, "missing fluent-signature header"),
        ("not base64", {"fluent-signature": "%%%"}, BODY, "fluent-signature is not base64"),
        ("tampered body", "sign", BODY.replace(b"e1", b"e2"), "fluent-signature does not match the body"),
        (
            "re-serialised body",
            "sign",
            json.dumps(json.loads(BODY), indent=2).encode(),
            "fluent-signature does not match the body",
        ),
        ("legacy only", {"flex.signature": "abc"}, BODY, "only a legacy flex.signature"),
    ],
)
def test_refusals(keys, case, headers, body, reason):
    verifier = FluentSignature(load_public_key(keys.base64))
    if headers == "sign":
        headers = {"fluent-signature": keys.sign(BODY)}
    refused = verifier.check(body, headers)
    assert refused is not None and refused.startswith(reason), case


def test_a_signature_by_another_key_is_refused(keys, other_keys):
    verifier = FluentSignature(load_public_key(keys.pem))
    assert (
        verifier.check(BODY, {"fluent-signature": other_keys.sign(BODY)})
        == "fluent-signature does not match the body"
    )


def test_md5_signatures_are_not_accepted_as_sha512(keys):
    md5 = base64.b64encode(keys.private.sign(BODY, padding.PKCS1v15(), hashes.MD5())).decode()
    verifier = FluentSignature(load_public_key(keys.pem))
    assert verifier.check(BODY, {"fluent-signature": md5}) == "fluent-signature does not match the body"


@pytest.mark.parametrize(
    "text,message",
    [
        ("not a key", "not a public key"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "not a public key"),
        (base64.b64encode(b"\x30\x03\x02\x01\x00").decode(), "not a public key"),
    ],
)
def test_bad_keys_stop_start_up_with_the_option_named(text, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_public_key(text, "trigger.webhook.auth.public_key")
    assert "trigger.webhook.auth.public_key" in info.value.message


def test_a_non_rsa_key_is_named():
    from cryptography.hazmat.primitives import serialization

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(ConfigError, match="Fluent signs with RSA"):
        load_public_key(pem)


@pytest.mark.parametrize(
    "headers,reason",
    [
        ({"x-api-key": "s3cret-s3cret-s3cret"}, None),
        ({"X-API-Key": "s3cret-s3cret-s3cret"}, None),
        ({}, "missing x-api-key header"),
        ({"x-api-key": "s3cret-s3cret-s3cre"}, "wrong x-api-key"),
        ({"x-api-key": "s3cret-s3cret-s3cret-and-more"}, "wrong x-api-key"),
        ({"authorization": "s3cret-s3cret-s3cret"}, "missing x-api-key header"),
    ],
)
def test_api_key(headers, reason):
    assert ApiKey("s3cret-s3cret-s3cret", "x-api-key").check(b"{}", headers) == reason


def test_api_key_in_authorization_may_be_a_bearer_token():
    verifier = ApiKey("s3cret-s3cret-s3cret", "Authorization")
    assert verifier.check(b"", {"authorization": "Bearer s3cret-s3cret-s3cret"}) is None
    assert verifier.check(b"", {"authorization": "Bearer nope"}) == "wrong Authorization"


def test_secrets_are_resolved_at_start_up(tmp_path: Path, keys, monkeypatch):
    (tmp_path / "fluent.pem").write_text(keys.pem)
    verifier = make_verifier(
        {"type": "fluent_signature", "public_key": "${file:fluent.pem}"}, base_dir=tmp_path
    )
    assert verifier.check(BODY, {"fluent-signature": keys.sign(BODY)}) is None
    monkeypatch.setenv("HOOK_KEY", "0123456789abcdef-key")
    verifier = make_verifier(
        {"type": "api_key", "api_key": "${env:HOOK_KEY}", "header": "x-hook-key"}, base_dir=tmp_path
    )
    assert verifier.check(b"", {"x-hook-key": "0123456789abcdef-key"}) is None


@pytest.mark.parametrize(
    "auth,error,message",
    [
        ({"type": "api_key", "api_key": "${env:UNSET_HOOK_KEY}"}, SecretError, "UNSET_HOOK_KEY is not set"),
        ({"type": "api_key", "api_key": "short"}, ConfigError, "too short"),
        ({"type": "api_key"}, ConfigError, "api_key: required"),
        ({"type": "fluent_signature"}, ConfigError, "public_key: required"),
        ({"type": "fluent_signature", "public_key": "${file:missing.pem}"}, SecretError, "cannot be read"),
        (None, ConfigError, "missing"),
    ],
)
def test_start_up_refuses_unusable_auth(tmp_path, auth, error, message):
    with pytest.raises(error, match=message):
        make_verifier(auth, base_dir=tmp_path)


def test_a_pem_certificate_gives_its_public_key(keys):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fluent webhooks")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(keys.private.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(keys.private, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    assert FluentSignature(load_public_key(pem)).check(BODY, {"fluent-signature": keys.sign(BODY)}) is None
