"""OAuth grants, token errors and bearer checks (§3, §11.1)."""

from __future__ import annotations

import httpx


def sdk_form_body(creds: dict[str, str]) -> str:
    # The SDK's exact field order for the password grant (fluent-api.md §3.1).
    return (
        f"grant_type=password&client_id={creds['client_id']}&client_secret={creds['client_secret']}"
        f"&username={creds['username']}&password={creds['password']}&scope=api"
    )


def test_sdk_shaped_password_grant_is_accepted(emu):
    response = httpx.post(
        f"{emu.url}/oauth/token",
        content=sdk_form_body(emu.credentials),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "*/*"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["scope"] == "api"
    assert body["expires_in"] == 43199 and body["expires_in"] > 60
    assert body["Retailer_id"] == "1" and body["refresh_token"]


def test_query_string_grant_with_empty_body_works(emu):
    c = emu.credentials
    params = {
        "username": c["username"],
        "password": c["password"],
        "client_id": c["client_id"],
        "client_secret": c["client_secret"],
        "grant_type": "password",
        "scope": "api",
    }
    response = httpx.post(f"{emu.url}/oauth/token", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["access_token"]


def test_json_body_grant_and_body_wins_over_query(emu):
    c = emu.credentials
    response = httpx.post(
        f"{emu.url}/oauth/token",
        params={"password": "wrong"},
        json={
            "grant_type": "password",
            "client_id": c["client_id"],
            "client_secret": c["client_secret"],
            "username": "demo",
            "password": "demo-password",
        },
    )
    assert response.status_code == 200, response.text


def test_client_credentials_grant_and_its_switch(emu):
    form = {
        "grant_type": "client_credentials",
        "client_id": "DEMO",
        "client_secret": "demo-secret",
        "scope": "api",
    }
    assert httpx.post(f"{emu.url}/oauth/token", data=form).status_code == 200
    emu.configure(client_credentials_grant=False)
    response = httpx.post(f"{emu.url}/oauth/token", data=form)
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_refresh_grant_issues_a_new_working_token(emu):
    first = httpx.post(
        f"{emu.url}/oauth/token",
        content=sdk_form_body(emu.credentials),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ).json()
    form = {
        "grant_type": "refresh_token",
        "client_id": "DEMO",
        "client_secret": "demo-secret",
        "refresh_token": first["refresh_token"],
    }
    response = httpx.post(f"{emu.url}/oauth/token", data=form)
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert token != first["access_token"]
    me = httpx.post(
        f"{emu.url}/graphql",
        json={"query": "query { me { ref } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert me.json() == {"data": {"me": {"ref": "demo"}}}


def test_token_errors(emu):
    url = f"{emu.url}/oauth/token"
    bad_client = httpx.post(
        url,
        data={
            "grant_type": "password",
            "client_id": "DEMO",
            "client_secret": "nope",
            "username": "demo",
            "password": "demo-password",
        },
    )
    assert bad_client.status_code == 401 and bad_client.json()["error"] == "invalid_client"
    bad_password = httpx.post(
        url,
        data={
            "grant_type": "password",
            "client_id": "DEMO",
            "client_secret": "demo-secret",
            "username": "demo",
            "password": "x",
        },
    )
    assert bad_password.status_code == 400
    assert bad_password.json() == {"error": "invalid_grant", "error_description": "Bad credentials"}
    bad_refresh = httpx.post(
        url,
        data={
            "grant_type": "refresh_token",
            "client_id": "DEMO",
            "client_secret": "demo-secret",
            "refresh_token": "unknown",
        },
    )
    assert bad_refresh.status_code == 400 and bad_refresh.json()["error"] == "invalid_grant"
    missing = httpx.post(url, data={"client_id": "DEMO"})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def test_bearer_token_is_required_everywhere(emu):
    for method, path in (
        ("POST", "/graphql"),
        ("POST", "/api/v4.1/job"),
        ("GET", "/api/v4.1/event"),
        ("GET", "/api/v4.1/job/1"),
        ("GET", "/no/such/route"),
    ):
        response = httpx.request(method, f"{emu.url}{path}")
        assert response.status_code == 401, path
        assert response.json()["error"] == "invalid_token"
    response = httpx.get(f"{emu.url}/api/v4.1/event", headers={"Authorization": "Bearer made-up"})
    assert response.status_code == 401
    assert response.json()["error_description"] == "Invalid access token: made-up"


def test_token_expires_on_the_emulator_clock(emu, api):
    assert api.get("/api/v4.1/event").status_code == 200
    emu.advance(43199 - 10)
    assert api.get("/api/v4.1/event").status_code == 200
    emu.advance(20)
    response = api.get("/api/v4.1/event")
    assert response.status_code == 401
    assert "expired" in response.json()["error_description"]


def test_token_ttl_setting(emu, api):
    emu.configure(token_ttl_seconds=120)
    api.token = api.login()
    assert (
        api.http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "DEMO", "client_secret": "demo-secret"},
        ).json()["expires_in"]
        == 120
    )
    emu.advance(121)
    assert api.get("/api/v4.1/event").status_code == 401


def test_user_cannot_use_a_retailer_it_has_no_access_to(api):
    response = api.post("/api/v4.1/job", {"name": "x", "retailerId": "2"})
    assert response.status_code == 403
