"""The fluent connection: grants, refresh, single-flight renewal, profiles, clear failures."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from engine.errors import SOURCE, TARGET, AuthError, ConfigError, SourceAuthError, TargetAuthError
from engine.fluent.client import FluentClient
from engine.fluent.profiles import load_profile
from engine.runtime.logs import Log


def client(emu, **creds) -> FluentClient:
    c = {**{k: str(v) for k, v in emu.credentials.items() if k != "retailer_id"}, **creds}
    return FluentClient("fluent", emu.url, c, log=Log())


def test_password_grant_sends_the_sdk_form_and_learns_the_retailer(emulator):
    fc = client(emulator)
    assert fc.get("api/v4.1/event", {"count": 1}, phase=TARGET)["results"] is not None
    [grant] = emulator.requests(path="/oauth/token")
    assert grant["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert grant["body"].startswith("grant_type=password&client_id=DEMO&client_secret=")
    assert fc.retailer_id == "1"
    fc.close()


def test_client_credentials_when_no_user_is_given(emulator):
    fc = client(emulator, username="", password="")
    fc.get("api/v4.1/event", {"count": 1}, phase=TARGET)
    assert "grant_type=client_credentials" in emulator.requests(path="/oauth/token")[0]["body"]


def test_concurrent_callers_share_one_token_request(emulator):
    fc = client(emulator)
    errors = []

    def call():
        try:
            fc.get("api/v4.1/event", {"count": 1}, phase=TARGET)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(emulator.requests(path="/oauth/token")) == 1


def test_an_expired_token_is_refreshed_with_the_refresh_token(emulator):
    fc = client(emulator)
    fc.get("api/v4.1/event", {"count": 1}, phase=TARGET)
    emulator.advance(50_000)  # past the token's lifetime on the emulator clock
    fc.auth._expires = 0  # the client's clock agrees
    fc.get("api/v4.1/event", {"count": 1}, phase=TARGET)
    grants = [r["body"].split("&")[0] for r in emulator.requests(path="/oauth/token")]
    assert grants == ["grant_type=password", "grant_type=refresh_token"]


def test_a_refused_refresh_token_falls_back_to_the_password_grant(emulator):
    fc = client(emulator)
    fc.get("api/v4.1/event", {"count": 1}, phase=TARGET)
    emulator.add_fault({"match": {"grant_type": "refresh_token"}, "action": {"refresh_grant_fails": True}})
    fc.auth._expires = 0
    fc.get("api/v4.1/event", {"count": 1}, phase=TARGET)
    grants = [r["body"].split("&")[0] for r in emulator.requests(path="/oauth/token")]
    assert grants == ["grant_type=password", "grant_type=refresh_token", "grant_type=password"]


def test_wrong_client_secret_is_a_clear_auth_error(emulator):
    with pytest.raises(AuthError) as info:
        client(emulator, client_secret="nope-nope-nope").get("api/v4.1/event", phase=TARGET)
    assert "fluent connection 'fluent': credentials refused" in str(info.value)
    assert "nope-nope-nope" not in str(info.value)


@pytest.mark.parametrize(("phase", "expected"), [(SOURCE, SourceAuthError), (TARGET, TargetAuthError)])
def test_refused_credentials_are_an_error_of_the_phase_that_asked(emulator, phase, expected):
    with pytest.raises(AuthError) as info:
        client(emulator, client_secret="nope-nope-nope").graphql(
            "{ locations { edges { node { id } } } }", phase=phase
        )
    assert type(info.value) is expected


def test_a_refused_query_is_an_error_of_the_phase_that_asked(emulator):
    from engine.errors import SourceError, TargetError

    fc = client(emulator)
    emulator.add_fault(
        {"match": {"path_regex": "^/graphql"}, "when": {"times": 2}, "action": {"status": 403}}
    )
    with pytest.raises(SourceError) as source:
        fc.graphql("{ locations { edges { node { id } } } }", phase=SOURCE)
    with pytest.raises(TargetError) as target:
        fc.graphql("{ locations { edges { node { id } } } }", phase=TARGET)
    assert not isinstance(source.value, TargetError) and not isinstance(target.value, SourceError)
    assert source.value.status == target.value.status == 403


def test_profiles_are_read_from_the_fluent_cli_layout(tmp_path: Path, monkeypatch, emulator):
    base = tmp_path / "profiles" / "dev"
    base.mkdir(parents=True)
    (base / "profile.json").write_text(
        json.dumps({"baseUrl": emulator.url, "id": "DEMO", "clientSecret": "demo-secret", "user": "demo"})
    )
    (base / "user.demo.json").write_text(json.dumps({"username": "demo", "password": "demo-password"}))
    (base / "retailer.demo-retailer.json").write_text(json.dumps({"id": 1}))
    monkeypatch.setenv("FLUENT_PROFILE_DIR", str(tmp_path / "profiles"))
    loaded = load_profile("dev", retailer="demo-retailer")
    assert loaded == {
        "base_url": emulator.url,
        "client_id": "DEMO",
        "client_secret": "demo-secret",
        "retailer_id": "1",
        "username": "demo",
        "password": "demo-password",
    }
    with pytest.raises(ConfigError, match=r"Fluent profile .prod. not found .*\(profiles there: dev\)"):
        load_profile("prod")


def test_a_spec_using_a_profile_runs(tmp_path: Path, monkeypatch, emulator, write_spec, run_spec):
    base = tmp_path / "profiles" / "dev"
    base.mkdir(parents=True)
    (base / "profile.json").write_text(
        json.dumps({"baseUrl": emulator.url, "id": "DEMO", "clientSecret": "demo-secret", "user": "demo"})
    )
    (base / "user.demo.json").write_text(json.dumps({"username": "demo", "password": "demo-password"}))
    monkeypatch.setenv("FLUENT_PROFILE_DIR", str(tmp_path / "profiles"))
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "s.csv").write_text("loc,sku,qty\nLOC-001,SKU-0001,3\n")
    spec = write_spec("""
    version: 1
    name: profile-run
    connections: {fluent: {type: fluent, profile: dev}}
    source: {type: local, path: inbox}
    parser: {type: csv}
    mapping: {fields: {locationRef: loc, skuRef: sku, qty: {source: qty, resolver: int}}}
    target: {type: fluent.batch, connection: fluent, poll: {interval: 20ms}}
    """)
    report = run_spec(spec)
    assert report.exit_code == 0 and report.counts["written"] == 1


def test_connection_options_are_validated(write_spec, cli):
    spec = write_spec("""
    version: 1
    name: bad-conn
    connections: {fluent: {type: fluent, base_url: "https://x.example", client_id: A, username: u}}
    source: {type: local, path: in}
    parser: {type: csv}
    target: {type: fluent.batch, connection: fluent}
    """)
    out = cli("validate", str(spec)).output
    assert "missing 'client_secret'" in out
