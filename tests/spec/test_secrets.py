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


def _every_form(secret: str) -> dict[str, str]:
    """The secret as each output or server may write it, computed here independently of the redactor."""
    import base64
    import html
    from urllib.parse import quote, quote_plus

    once = json.dumps(secret)[1:-1]
    return {
        "raw": secret,
        "json": once,
        "json, unicode kept": json.dumps(secret, ensure_ascii=False)[1:-1],
        "json in json": json.dumps(once)[1:-1],
        "repr": repr(secret)[1:-1],
        "csv": secret.replace('"', '""'),
        "html": html.escape(secret),
        "url": quote(secret, safe=""),
        "form": quote_plus(secret),
        "base64": base64.b64encode(secret.encode()).decode(),
        "collapsed": " ".join(secret.split()),
        "collapsed, json": json.dumps(" ".join(secret.split()))[1:-1],
        **{
            f"basic auth of {user!r}": base64.b64encode(f"{user}:{secret}".encode()).decode()
            for user in ("", "u", "us", "usr")
        },
    }


def test_every_form_of_a_secret_is_masked() -> None:
    secret = 'fo"rm\\s \n of ü€ secret-' + "F" * 40
    redactor.add(secret)
    for name, form in _every_form(secret).items():
        scrubbed = redactor.scrub(f"before {form} after")
        if name.startswith("basic auth"):  # what the user name and the last byte decide stays
            head, _, tail = scrubbed.removeprefix("before ").removesuffix(" after").partition("***")
            assert len(head) <= 6 and len(tail) <= 4, (name, scrubbed)
        else:
            assert scrubbed == "before *** after", name


def test_a_cut_secret_is_masked_from_its_first_eight_characters() -> None:
    secret = "cut-Secret-" + "C" * 289
    redactor.add(secret)
    assert redactor.scrub(f"echo: {secret[:101]}!") == "echo: ***!"
    assert redactor.scrub(f"echo: {secret[:8]}") == "echo: ***"
    assert redactor.scrub(f"echo: {secret[:7]}") == f"echo: {secret[:7]}", "7 characters: below the minimum"
    assert redactor.scrub(json.dumps({"k": secret})[:150]) == '{"k": "***'


def test_a_reference_in_an_option_that_is_no_secret_is_masked_only_whole() -> None:
    from engine.secrets import Redactor

    mine = Redactor()  # not the process's: its "https://" would be masked in every later test
    mine.add("https://api.partner.example/v1", prefixes=False)
    text = "GET https://api.partner.example/v1/items and https://api.partner.example/v2"
    assert mine.scrub(text) == "GET ***/items and https://api.partner.example/v2"
    mine.add("https://api.partner.example/v1")  # once a secret option uses it, its start is masked too
    assert mine.scrub("https://api.partner.example/v2") == "***2"


def test_values_shorter_than_the_minimum_are_not_remembered() -> None:
    redactor.add("ab")
    assert redactor.scrub("ab abc") == "ab abc"


def test_an_excerpt_is_scrubbed_before_it_is_collapsed_or_cut() -> None:
    from engine.secrets import excerpt

    secret = "multi\nline\tsecret " + "M" * 50
    redactor.add(secret)
    answer = f"error:   {secret}\n\n trailing"
    assert excerpt(answer, 300) == "error: *** trailing"
    assert excerpt(answer, 20) == "error: *** trailing"[:20]
    assert excerpt(f"{'x' * 10}{secret}", 15) == "x" * 10 + "***"
    assert excerpt(answer, 2000, collapse=False) == "error:   ***\n\n trailing"


def test_log_fields_are_scrubbed_before_quoting_and_encoding(capsys) -> None:
    secret = 'lo"g\\ \nsecret-ü-' + "L" * 30
    redactor.add(secret)
    configure("debug", "text")
    Log().info(f"message with {secret}", field=secret, nested={"deep": [secret]}, cut=secret[:60])
    configure("debug", "json")
    Log().info(f"message with {secret}", field=secret, nested={"deep": [secret]}, cut=secret[:60])
    logging.getLogger("engine").handlers.clear()
    err = capsys.readouterr().err
    for name, form in _every_form(secret).items():
        assert form[:8] not in err, name
    assert err.count("***") >= 8
    json_line = json.loads(err.splitlines()[-1])
    assert (
        json_line["field"] == "***" and json_line["nested"] == {"deep": ["***"]} and json_line["cut"] == "***"
    )


def test_scrub_obj_masks_keys_too() -> None:
    redactor.add("key-secret-value")
    assert redactor.scrub_obj({"key-secret-value": ("key-secret-value", 3)}) == {"***": ["***", 3]}


def test_secret_options_mask_their_starts_other_references_only_whole(write_spec, monkeypatch) -> None:
    from engine.spec.compile import compile_file

    for name in ("T_URL", "T_AUTH", "T_TRACE", "T_ASSERTION", "T_AUDIENCE", "T_SECRET"):
        monkeypatch.setenv(name, f"value of {name}")
    plan = compile_file(
        write_spec("""
        version: 1
        name: sensitive
        connections:
          api:
            type: http
            base_url: "${env:T_URL}"
            headers: {Authorization: "Bearer ${env:T_AUTH}", X-Trace: "${env:T_TRACE}"}
            auth:
              oauth2_client_credentials:
                token_url: /token
                client_id: me
                client_secret: "${env:T_SECRET}"
                params: {client_assertion: "${env:T_ASSERTION}", audience: "${env:T_AUDIENCE}"}
        source: {type: local, path: in}
        parser: {type: csv}
        target: {type: stdout}
        """)
    )
    o = plan.connections["api"].options
    oauth = o.auth["oauth2_client_credentials"]
    sensitive = {
        "base_url": o.base_url.sensitive,
        "Authorization": o.headers["Authorization"].sensitive,
        "X-Trace": o.headers["X-Trace"].sensitive,
        "client_secret": oauth["client_secret"].sensitive,
        "client_assertion": oauth["params"]["client_assertion"].sensitive,
        "audience": oauth["params"]["audience"].sensitive,
    }
    assert sensitive == {
        "base_url": False,
        "Authorization": True,
        "X-Trace": False,
        "client_secret": True,
        "client_assertion": True,
        "audience": False,
    }


def test_a_secret_written_in_a_spec_is_remembered_when_it_is_compiled(write_spec) -> None:
    from engine.spec.compile import compile_file

    plan = compile_file(
        write_spec("""
        version: 1
        name: literal
        connections:
          api: {type: http, base_url: "https://x.example", auth: {bearer: literal-bearer-token-777}}
        source: {type: local, path: in}
        parser: {type: csv}
        target: {type: stdout}
        """)
    )
    assert [d.code for d in plan.warnings] == ["literal-secret"]
    assert redactor.scrub("echoed literal-bearer-token-777 back") == "echoed *** back"
