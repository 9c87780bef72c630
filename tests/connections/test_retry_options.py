"""Every connection takes the same ``retry`` block; S3's and SFTP's old ``retries`` still work, reported."""

from __future__ import annotations

import logging

import pytest
import yaml

from engine.errors import SpecError
from engine.registry import build_registries
from engine.retry import SCHEMA, RetryPolicy
from engine.spec.compile import compile_file
from tests.servers.sshd import free_port

SPEC = """
version: 1
name: retry-options
connections:
  wms: {type: s3, bucket: wms-out, region: eu-west-1, retries: 2}
  partner: {type: sftp, host: h.example, username: u, password: "${env:P}", host_key: "SHA256:x",
            retries: 1, retry_delay: 2s}
  shop: {type: http, base_url: "https://shop.example", retry: {max_attempts: 3, backoff: 1s}}
source: {type: local, path: in}
parser: {type: csv}
target: {type: "null"}
"""


def test_every_connection_takes_the_one_retry_schema() -> None:
    connections = build_registries(with_entry_points=False).connections
    assert connections.names() == ["fluent", "http", "s3", "sftp", "smtp"]
    for name in connections:
        assert connections.get(name).schema["properties"]["retry"] is SCHEMA, name


def test_the_deprecated_options_are_warnings_saying_what_to_write(write_spec, cli) -> None:
    path = write_spec(SPEC)
    result = cli("validate", str(path))
    assert result.exit_code == 0, result.output
    lines = [line.split("/")[-1] for line in result.output.splitlines() if "is deprecated" in line]
    assert lines == [
        "spec.yaml:4:64 connections.wms.retries: warning: retries is deprecated; write retry: "
        "{max_attempts: 3} instead",
        "spec.yaml:6:22 connections.partner.retries: warning: retries is deprecated; write retry: "
        "{max_attempts: 2, backoff: 2s} instead",
        "spec.yaml:6:38 connections.partner.retry_delay: warning: retry_delay is deprecated; write retry: "
        "{max_attempts: 2, backoff: 2s} instead",
    ]


def test_the_deprecated_options_mean_what_they_meant(write_spec, monkeypatch) -> None:
    monkeypatch.setenv("P", "x")
    plan = compile_file(write_spec(SPEC))
    try:
        defaults = RetryPolicy()
        assert plan.connections["wms"].policy == RetryPolicy(3, defaults.max_elapsed, defaults.backoff, 30.0)
        assert plan.connections["partner"].policy == RetryPolicy(2, defaults.max_elapsed, 2.0, 30.0)
        assert plan.connections["shop"].policy == RetryPolicy(3, 300.0, 1.0, 30.0)
    finally:
        plan.close()


def test_retries_and_retry_together_are_an_error(write_spec) -> None:
    path = write_spec(SPEC.replace("retries: 2}", "retries: 2, retry: {max_attempts: 3}}"))
    with pytest.raises(SpecError) as info:
        compile_file(path)
    assert [d.message for d in info.value.diagnostics if d.severity == "error"] == [
        "retries is the deprecated form of retry; give retry only"
    ]


@pytest.mark.parametrize(
    ("options", "attempts"),
    [({"retry": {"max_attempts": 3, "backoff": "10ms"}}, 3), ({"retries": 1, "retry_delay": "10ms"}, 2)],
)
def test_an_sftp_server_that_is_down_is_tried_as_the_policy_says(
    sftp_server, write_spec, run_spec, caplog, options, attempts
) -> None:
    block = {**sftp_server.connection(port=free_port()), "retry": None, **options}
    block = {k: v for k, v in block.items() if v is not None}
    spec = {
        "version": 1,
        "name": "down",
        "connections": {"partner": block},
        "source": {"type": "sftp", "connection": "partner", "path": "inbox"},
        "parser": {"type": "jsonl"},
        "target": {"type": "null"},
    }
    with caplog.at_level(logging.WARNING, logger="engine"):
        report = run_spec(write_spec(yaml.safe_dump(spec)))
    assert report.status == "failed" and "Connection refused" in report.error
    retried = [r for r in caplog.records if r.getMessage() == "cannot connect, retrying"]
    assert len(retried) == attempts - 1
