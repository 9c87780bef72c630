"""``${aws-sm:...}`` and ``${ssm:...}`` references, resolved over HTTP from a real AWS API stand-in (moto).

Values are fetched the way a run fetches them (boto3 with the standard AWS
settings from the environment) and go through the one redactor: nothing a
reference resolves to is ever printed.
"""

from __future__ import annotations

import json
import socket

import pytest

from engine import aws_secrets
from engine.errors import SecretError
from engine.secrets import Secret, redactor
from tests.processes import engine

CLIENT_SECRET = "fluent-client-secret-8c1e7a"
PASSWORD = "ssm-password-5d0b44"


@pytest.fixture
def aws(s3_server, monkeypatch):
    """The moto server as this process's AWS, with a JSON secret and a SecureString parameter."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(aws_secrets, "_clients", {})
    sm = s3_server.client("secretsmanager")
    sm.create_secret(
        Name="prod/fluent", SecretString=json.dumps({"client_secret": CLIENT_SECRET, "user": "u"})
    )
    sm.create_secret(Name="plain", SecretString="whole-value-31f")
    s3_server.client("ssm").put_parameter(Name="/engine/password", Value=PASSWORD, Type="SecureString")
    return s3_server


def test_references_resolve_to_the_secret_the_key_and_the_decrypted_parameter(aws) -> None:
    assert Secret("${aws-sm:prod/fluent#client_secret}").reveal() == CLIENT_SECRET
    assert Secret("${aws-sm:plain}").reveal() == "whole-value-31f"
    assert Secret("${ssm:/engine/password}").reveal() == PASSWORD
    assert Secret("user:${aws-sm:prod/fluent#user}x${ssm:/engine/password}").reveal() == f"user:ux{PASSWORD}"


def test_resolved_values_are_masked_like_every_other_secret(aws) -> None:
    Secret("${aws-sm:prod/fluent#client_secret}").reveal()
    Secret("${ssm:/engine/password}").reveal()
    text = f"body: {json.dumps({'secret': CLIENT_SECRET})} and {PASSWORD[:10]}"
    assert CLIENT_SECRET not in redactor.scrub(text)
    assert PASSWORD[:10] not in redactor.scrub(text)


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("${aws-sm:nope}", "AWS Secrets Manager has no secret nope (referenced by connections.x.password)"),
        ("${aws-sm:prod/fluent#nokey}", "AWS secret prod/fluent has no key 'nokey' (referenced by"),
        ("${aws-sm:plain#key}", "AWS secret plain is not a JSON object, so it has no key 'key'"),
        ("${ssm:/engine/missing}", "AWS Systems Manager Parameter Store has no parameter /engine/missing"),
    ],
)
def test_a_missing_secret_is_an_error_naming_it_and_the_option(aws, reference, message) -> None:
    with pytest.raises(SecretError) as caught:
        Secret(reference, where="connections.x.password").reveal()
    assert message in str(caught.value)
    assert CLIENT_SECRET not in str(caught.value)


def test_engine_check_resolves_them_and_prints_none_of_them(aws, tmp_path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "version: 1\nname: aws-refs\n"
        f"connections:\n  api: {{type: http, base_url: 'http://127.0.0.1:{port}',"
        " auth: {bearer: '${aws-sm:prod/fluent#client_secret}'}, headers: {X-Pw: '${ssm:/engine/password}'}}\n"
        "source: {type: http, connection: api, path: /items}\ntarget: {type: stdout}\n"
    )
    try:
        checked = engine("check", spec, state=tmp_path / "state")
    finally:
        listener.close()
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "bearer credentials resolved" in checked.stdout
    assert CLIENT_SECRET not in checked.stdout + checked.stderr
    assert PASSWORD not in checked.stdout + checked.stderr


def test_without_aws_settings_the_error_says_what_to_set(monkeypatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setattr(aws_secrets, "_clients", {})
    with pytest.raises(SecretError) as caught:
        Secret("${ssm:/x}").reveal()
    assert "set AWS_REGION" in str(caught.value)
