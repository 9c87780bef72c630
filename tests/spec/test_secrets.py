"""Secret references resolve at run time and never appear in output."""

from __future__ import annotations

import json
import logging

import pytest

from engine.errors import SecretError
from engine.runtime.logs import Log, configure
from engine.secrets import Secret, redactor


def test_env_and_file_references_resolve_when_revealed(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ENGINE_TEST_TOKEN", "tok-123456")
    (tmp_path / "pw.txt").write_text("s3cr3t-pass\n")
    s = Secret(
        "Bearer ${env:ENGINE_TEST_TOKEN} ${file:pw.txt}", where="connections.x.token", base_dir=tmp_path
    )
    assert str(s) == "Bearer ${env:ENGINE_TEST_TOKEN} ${file:pw.txt}"
    assert s.reveal() == "Bearer tok-123456 s3cr3t-pass"


def test_a_missing_variable_is_a_clear_error_naming_it(monkeypatch) -> None:
    monkeypatch.delenv("ENGINE_TEST_MISSING", raising=False)
    with pytest.raises(SecretError) as info:
        Secret("${env:ENGINE_TEST_MISSING}", where="connections.fluent.password").reveal()
    assert "ENGINE_TEST_MISSING is not set" in str(info.value)
    assert "connections.fluent.password" in str(info.value)


def test_revealed_values_are_scrubbed_from_logs(monkeypatch, capsys) -> None:
    monkeypatch.setenv("ENGINE_TEST_PW", "hunter2-very-secret")
    value = Secret("${env:ENGINE_TEST_PW}").reveal()
    configure("info", "text")
    Log().info(f"connecting with {value}", password=value)
    configure("info", "json")
    Log().info("again", detail={"pw": value})
    err = capsys.readouterr().err
    assert "hunter2-very-secret" not in err
    assert err.count("***") >= 3
    logging.getLogger("engine").handlers.clear()


def test_scrub_obj_reaches_nested_values() -> None:
    redactor.add("nested-secret-value")
    data = redactor.scrub_obj({"a": ["x nested-secret-value y", {"b": "nested-secret-value"}]})
    assert "nested-secret-value" not in json.dumps(data)
