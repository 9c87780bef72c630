"""The ``http`` connection: every kind of credential, OAuth2 renewal without storms, TLS, secrecy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.http import server as srv
from tests.http.conftest import connection, rejects
from tests.http.test_source import PAGINGS, spec

ITEMS = "target: {type: http, connection: api, path: /items, concurrency: 4, idempotency_key: {}}\n"
OAUTH = {
    "token_url": "/oauth/token",
    "client_id": "engine-client",
    "client_secret": "${env:API_CLIENT_SECRET}",
    "scope": "orders:read",
}


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_TOKEN", srv.TOKEN)
    monkeypatch.setenv("API_KEY", srv.API_KEY)
    monkeypatch.setenv("API_PASSWORD", srv.PASSWORD)
    monkeypatch.setenv("API_CLIENT_SECRET", srv.CLIENT_SECRET)


def with_auth(api, auth: dict[str, Any], source: dict[str, Any] | None = None, target: str = "") -> str:
    text = spec(api, source or PAGINGS["cursor"], target=target)
    return text.replace(connection(api), connection(api, auth))


AUTHS = {
    "bearer": {"bearer": "${env:API_TOKEN}"},
    "basic": {"basic": {"username": srv.USER, "password": "${env:API_PASSWORD}"}},
    "api_key_header": {"api_key": {"header": "X-Api-Key", "value": "${env:API_KEY}"}},
    "api_key_param": {"api_key": {"param": "api_key", "value": "${env:API_KEY}"}},
    "oauth": {"oauth2_client_credentials": OAUTH},
}


@pytest.mark.parametrize("kind", AUTHS)
def test_every_kind_of_credential_is_accepted(kind, api, write_spec, run_spec) -> None:
    api.orders, api.auth = srv.orders(25), kind
    report = run_spec(write_spec(with_auth(api, AUTHS[kind])))
    assert report.status == "ok", report.error
    assert report.counts["read"] == 25


@pytest.mark.parametrize("kind", AUTHS)
def test_wrong_credentials_fail_at_once_without_hammering(
    kind, api, write_spec, run_spec, monkeypatch
) -> None:
    api.orders, api.auth = srv.orders(5), kind
    for name in ("API_TOKEN", "API_KEY", "API_PASSWORD", "API_CLIENT_SECRET"):
        monkeypatch.setenv(name, "not-the-right-one")
    report = run_spec(write_spec(with_auth(api, AUTHS[kind])))
    assert report.status == "failed" and report.exit_code == 1
    if kind == "oauth":
        assert "token request to /oauth/token was refused (401: bad client credentials)" in report.error
        assert api.grants == 1 and not api.requests("/orders")
    else:
        assert "GET /orders/cursor was refused with 401" in report.error
        assert len(api.requests("/orders")) == 1


def test_oauth_client_credentials_basic_by_default_or_in_the_body(api, write_spec, run_spec) -> None:
    api.orders, api.auth = srv.orders(25), "oauth"
    assert run_spec(write_spec(with_auth(api, AUTHS["oauth"]))).status == "ok"
    grant = api.requests("/oauth/token")[0]
    assert grant["headers"]["authorization"].startswith("Basic ") and "client_secret" not in grant["body"]
    assert grant["body"] == {"grant_type": "client_credentials", "scope": "orders:read"}
    in_body = {
        "oauth2_client_credentials": {**OAUTH, "client_auth": "body", "params": {"audience": "orders"}}
    }
    assert run_spec(write_spec(with_auth(api, in_body), name="body.yaml")).status == "ok"
    grant = api.requests("/oauth/token")[1]
    assert "authorization" not in grant["headers"]
    assert grant["body"] == {
        "grant_type": "client_credentials",
        "client_id": "engine-client",
        "client_secret": srv.CLIENT_SECRET,
        "scope": "orders:read",
        "audience": "orders",
    }


def test_one_token_serves_every_request_and_is_renewed_once_when_revoked(
    api, write_spec, run_spec, tmp_path
) -> None:
    api.auth, api.revoke_at = "oauth", 20  # the server rotates its keys while the run is sending
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "items.csv").write_text("sku\n" + "".join(f"S{n}\n" for n in range(40)))
    report = run_spec(
        write_spec(
            connection(api, AUTHS["oauth"]) + ITEMS + "version: 1\nname: items\n"
            "source: {type: local, path: in}\nparser: {type: csv}\n"
        )
    )
    assert report.status == "ok", report.error
    assert report.counts["written"] == 40 and len(api.items) == 40
    assert api.grants == 2  # the first token, and one renewal shared by the requests it failed
    first = [r for r in api.requests("/items") if r["headers"]["authorization"] == "Bearer tok-1-cl1"]
    assert len(api.requests("/items")) == len(first) + 20  # the last 20 went with the renewed token
    assert len(first) - 20 <= 4  # refused: at most the requests in flight when the key rotated


def test_a_token_refused_after_renewal_stops_the_run_without_a_storm(api, write_spec, run_spec) -> None:
    api.orders, api.auth, api.refuse_tokens = srv.orders(5), "oauth", True
    report = run_spec(write_spec(with_auth(api, AUTHS["oauth"])))
    assert report.status == "failed" and "refused with 401 after a fresh token" in report.error
    assert api.grants == 2 and len(api.requests("/orders")) == 2


def test_secrets_never_reach_logs_reports_or_rejects(api, write_spec, run_spec, logs, cli, tmp_path) -> None:
    api.auth = "oauth"
    api.fail("/items", 422, times=2, body={"error": f"echoing your token {srv.CLIENT_SECRET}"})
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "items.csv").write_text("sku\nS1\nS2\nS3\n")
    text = (
        connection(api, AUTHS["oauth"], headers={"X-Api-Key": "${env:API_KEY}"})
        + ITEMS
        + "version: 1\nname: items\nsource: {type: local, path: in}\nparser: {type: csv}\n"
    )
    path = write_spec(text)
    report = run_spec(path)
    assert report.status == "rejects_exceeded" and report.counts["written"] == 1
    assert api.requests("/items")[0]["headers"]["x-api-key"] == srv.API_KEY
    token = next(iter(api.tokens))
    everything = logs.getvalue() + json.dumps(report.as_dict()) + json.dumps(rejects(report))
    everything += cli("explain", str(path)).output
    assert "echoing your token ***" in json.dumps(rejects(report))
    for secret in (srv.CLIENT_SECRET, srv.API_KEY, token):
        assert secret not in everything


def test_tls_with_a_private_authority(write_spec, run_spec, tmp_path) -> None:
    from tests.http.tls import make_certificates

    ca, cert, key = make_certificates(tmp_path)
    api = srv.ApiServer(srv.orders(3)).start(ssl={"ssl_certfile": str(cert), "ssl_keyfile": str(key)})
    try:
        trusted = run_spec(
            write_spec(
                spec(api, PAGINGS["cursor"]).replace(
                    '"read_timeout"', f'"ca_bundle": "{ca.name}", "read_timeout"'
                )
            )
        )
        assert trusted.status == "ok" and trusted.counts["read"] == 3
        unknown = run_spec(write_spec(spec(api, PAGINGS["cursor"]), name="plain.yaml"))
        assert unknown.status == "failed" and "cannot connect" in unknown.error
    finally:
        api.stop()


def test_validation_catches_what_it_can_without_a_network(write_spec, cli) -> None:
    text = """
    version: 1
    name: bad
    connections:
      api:
        type: http
        base_url: api.example.com
        verify_tls: false
        auth: {api_key: {header: X-Key, param: key, value: "${env:K}"}}
      two: {type: http, base_url: "https://x.example", auth: {bearer: "${env:T}", basic: {username: u, password: p}}}
    source: {type: http, connection: api, path: /x, method: GET, body: {a: 1}}
    target: {type: http, connection: nope, path: /y}
    """
    result = cli("validate", str(write_spec(text)))
    assert result.exit_code == 2
    out = result.output
    assert "connections.api.base_url: expected an http:// or https:// address, got 'api.example.com'" in out
    assert "connections.api.auth.api_key: give header (the key goes in a header) or param" in out
    assert "connections.two.auth: give exactly one kind of auth: bearer, basic, api_key or " in out
    assert "source.body: a GET sends no body; use method: POST, or params" in out
    assert "target.connection: connection 'nope' is not defined" in out
    assert "connections.api.verify_tls: warning: the server's certificate is not checked" in out
    paging = cli(
        "validate",
        str(write_spec(text.replace("body: {a: 1}", "pagination: {page: {}, link: {}}"), name="paging.yaml")),
    )
    assert (
        "source.pagination: give exactly one kind of pagination: page, offset, cursor, next_url or link"
        in paging.output
    )


def test_refused_credentials_are_the_error_of_the_block_that_asked(
    api, write_spec, run_spec, monkeypatch, caplog, tmp_path
) -> None:
    api.orders, api.auth = srv.orders(5), "bearer"
    monkeypatch.setenv("API_TOKEN", "not-the-right-one")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "items.csv").write_text("sku\nS1\n")
    reading = write_spec(with_auth(api, AUTHS["bearer"]))
    writing = write_spec(
        connection(api, AUTHS["bearer"]) + ITEMS + "version: 1\nname: items\n"
        "source: {type: local, path: in}\nparser: {type: csv}\n",
        name="items.yaml",
    )
    with caplog.at_level("ERROR", logger="engine"):
        assert run_spec(reading).status == run_spec(writing).status == "failed"
    kinds = [r.fields["kind"] for r in caplog.records if r.getMessage() == "run failed"]
    assert kinds == ["engine.source.auth", "engine.target.auth"]
