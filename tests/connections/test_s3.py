"""The s3 connection against a real S3 HTTP server: credentials, endpoints and clear errors."""

from __future__ import annotations

import pytest
import yaml

from engine.errors import SpecError
from engine.runtime.report import EXIT_FAILED
from engine.spec.compile import compile_file
from tests.servers.sshd import free_port

BUCKET = "wms-out"


def spec(server, bucket: str = BUCKET, endpoint: str | None = None, **conn: object) -> str:
    data = {
        "version": 1,
        "name": "s3-conn",
        "connections": {"wms": server.connection(bucket, endpoint, **conn)},
        "source": {"type": "s3", "connection": "wms", "prefix": "in/"},
        "parser": {"type": "jsonl"},
        "target": {"type": "null"},
    }
    return yaml.safe_dump(data, sort_keys=False)


@pytest.fixture
def bucket(s3_server):
    s3 = s3_server.bucket(BUCKET)
    s3.put_object(Bucket=BUCKET, Key="in/a.jsonl", Body=b'{"n": 1}\n')
    return s3_server


def test_explicit_credentials_from_secret_references(bucket, write_spec, run_spec):
    report = run_spec(write_spec(spec(bucket)))
    assert report.status == "ok", report.error
    assert [i.uri for i in report.items] == [f"s3://{BUCKET}/in/a.jsonl"]


def test_the_default_credential_chain_is_used_without_keys(bucket, write_spec, run_spec, monkeypatch):
    from tests.servers.s3 import KEY_ID, SECRET

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    report = run_spec(write_spec(spec(bucket, access_key_id=None, secret_access_key=None)))
    assert report.status == "ok", report.error


def test_a_missing_bucket_names_the_connection_and_the_bucket(bucket, write_spec, run_spec):
    report = run_spec(write_spec(spec(bucket, bucket="no-such-bucket")))
    assert report.exit_code == EXIT_FAILED
    assert report.error == (
        "s3 connection 'wms': bucket 'no-such-bucket' does not exist "
        "(check bucket, region and endpoint_url of the connection)"
    )


def test_signature_and_permission_errors_are_told_apart(s3_server, write_spec, run_spec, monkeypatch):
    with s3_server.enforce_auth() as users:
        admin = s3_server.client(key_id=users["admin"]["key_id"], secret=users["admin"]["secret"])
        admin.create_bucket(Bucket=BUCKET)
        admin.put_object(Bucket=BUCKET, Key="in/a.jsonl", Body=b'{"n": 1}\n')

        def run_as(key_id: str, secret: str, name: str):
            monkeypatch.setenv("S3_TEST_KEY_ID", key_id)
            monkeypatch.setenv("S3_TEST_SECRET", secret)
            return run_spec(write_spec(spec(s3_server), name=name))

        good = run_as(users["admin"]["key_id"], users["admin"]["secret"], "admin.yaml")
        assert good.status == "ok", good.error
        denied = run_as(users["reader"]["key_id"], users["reader"]["secret"], "reader.yaml")
        assert denied.error == (
            f"s3 connection 'wms': cannot list s3://{BUCKET}/in/: access denied "
            "(the credentials lack the permission for this operation)"
        )
        unknown = run_as("AKIAUNKNOWNKEY000000", "whatever", "unknown.yaml")
        assert unknown.error == (
            "s3 connection 'wms': the access key id is not known to the server "
            "(check access_key_id (and that endpoint_url points at the right service))"
        )
        wrong = run_as(users["admin"]["key_id"], "not-the-secret", "wrong.yaml")
        assert wrong.error == (
            "s3 connection 'wms': the secret access key does not match the access key id "
            "(check secret_access_key)"
        )
    assert all(r.exit_code == EXIT_FAILED for r in (denied, unknown, wrong))


def test_an_unreachable_endpoint_is_a_transient_error_naming_the_connection(s3_server, write_spec, run_spec):
    endpoint = f"http://127.0.0.1:{free_port()}"
    report = run_spec(write_spec(spec(s3_server, endpoint=endpoint, retry={"max_attempts": 1})))
    assert report.exit_code == EXIT_FAILED
    assert report.error.startswith(
        f"s3 connection 'wms': cannot list s3://{BUCKET}/in/: the connection failed (EndpointConnectionError"
    )


def test_an_unknown_profile_is_a_configuration_error(s3_server, write_spec, run_spec, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    report = run_spec(write_spec(spec(s3_server, access_key_id=None, secret_access_key=None, profile="nope")))
    assert report.error == "s3 connection 'wms': The config profile (nope) could not be found"


def test_validation_catches_half_credentials_and_tiny_parts(s3_server, write_spec):
    path = write_spec(spec(s3_server, secret_access_key=None, part_size="1MiB"))
    with pytest.raises(SpecError) as info:
        compile_file(path)
    found = sorted((d.path, d.message) for d in info.value.diagnostics if d.severity == "error")
    assert found == [
        (
            "connections.wms",
            "access_key_id and secret_access_key go together: set both, or neither to use "
            "the default AWS credential chain",
        ),
        ("connections.wms.part_size", "S3 parts must be at least 5MiB"),
    ]


def test_a_literal_secret_in_the_spec_is_warned_about(s3_server, write_spec):
    plan = compile_file(write_spec(spec(s3_server, secret_access_key="plain-text-secret")))
    assert [d.path for d in plan.warnings if d.code == "literal-secret"] == [
        "connections.wms.secret_access_key"
    ]
    plan.close()


def test_the_source_requires_a_declared_s3_connection(s3_server, write_spec):
    data = yaml.safe_load(spec(s3_server))
    data["source"]["connection"] = "elsewhere"
    with pytest.raises(SpecError) as info:
        compile_file(write_spec(yaml.safe_dump(data)))
    assert any(
        d.path == "source.connection" and "connection 'elsewhere' is not defined" in d.message
        for d in info.value.diagnostics
    )
