"""Control API: request log, state, clock, reset, seed, settings and tick (§11.5)."""

from __future__ import annotations

import httpx


def test_request_log_records_what_the_client_sent(emu, api):
    api.post("/api/v4.1/job", {"name": "logged", "retailerId": "1"})
    api.get("/api/v4.1/event", count=5)
    entries = api.control("GET", "requests?path_regex=^/api")
    assert [e["method"] for e in entries] == ["POST", "GET"]
    post, get = entries
    assert post["path"] == "/api/v4.1/job" and post["body"] == '{"name":"logged","retailerId":"1"}'
    assert post["json"] == {"name": "logged", "retailerId": "1"} and post["status"] == 200
    assert post["headers"]["content-type"] == "application/json" and post["headers"]["accept"] == "*/*"
    assert post["headers"]["authorization"].startswith("Bearer ") and post["latency_ms"] >= 0
    assert get["query"] == "count=5" and get["headers"]["content-type"] == "application/json"
    assert post["response_body"] == '{"id":"1"}'
    assert emu.requests(method="GET", path="/api/v4.1/event")[0]["seq"] == get["seq"]
    assert all("body" not in e for e in api.control("GET", "requests?body=0"))
    api.control("DELETE", "requests")
    assert api.control("GET", "requests") == []


def test_control_routes_need_no_token_and_are_not_logged(emu):
    assert httpx.get(f"{emu.url}/_emulator/state/settings").status_code == 200
    assert emu.requests() == []


def test_state_inspection(emu, api):
    positions = api.control("GET", "state/inventory_positions?productRef=SKU-0001")
    assert [p["locationRef"] for p in positions] == ["LOC-001", "LOC-002", "LOC-003", "LOC-004", "LOC-005"]
    assert api.control("GET", "state/inventoryPositions?limit=3") == api.control(
        "GET", "state/positions?limit=3"
    )
    assert len(api.control("GET", "state/orders")) == 5
    assert api.control("GET", "state/tokens")[0]["username"] == "demo"
    assert api.control("GET", "state/clock")[0]["now"]
    assert all(not k.startswith("_") for k in api.control("GET", "state/orders")[0])
    unknown = httpx.get(f"{emu.url}/_emulator/state/invetory_positions")
    assert unknown.status_code == 400 and "did you mean 'inventory_positions'" in unknown.text


def test_clock_advance_and_set(api):
    before = api.control("GET", "clock")
    moved = api.control("POST", "clock", {"advance_seconds": 3600})
    assert moved["offset_seconds"] == before["offset_seconds"] + 3600
    fixed = api.control("POST", "clock", {"set": "2030-01-01T00:00:00Z"})
    assert fixed["now"].startswith("2030-01-01T00:00:0")
    assert httpx.post(f"{api.emu.url}/_emulator/clock", json={}).status_code == 400


def test_reset_restores_seed_settings_clock_and_faults(emu, api):
    api.gql('mutation { createLocation(input: {ref: "TEMP", name: "t", type: "STORE"}) { id } }')
    emu.configure(job_shape="sdk_types")
    emu.add_fault({"action": {"status": 500}})
    emu.advance(999)
    result = api.control("POST", "reset")
    assert result["counts"]["locations"] == 11
    assert emu.settings.job_shape == "inferred" and emu.faults() == [] and emu.requests() == []
    assert abs(api.control("GET", "clock")["offset_seconds"]) < 1


def test_seed_replace_and_merge(emu, api):
    yaml_seed = """
accounts: [{id: ACME, clientSecret: acme-secret-1}]
retailers: [{id: 7, ref: acme}]
users: [{username: ann, password: pw-ann, retailers: [7]}]
catalogues: [{ref: "DEFAULT:7", type: INVENTORY, retailerId: 7}, {ref: "PC:7", type: PRODUCT, retailerId: 7}]
locations: [{ref: A1, retailerId: 7}]
products: [{ref: P1, catalogue: "PC:7"}]
inventoryPositions: [{catalogue: "DEFAULT:7", productRef: P1, locationRef: A1, onHand: 4}]
"""
    response = httpx.post(
        f"{emu.url}/_emulator/seed", content=yaml_seed, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 200 and response.json()["counts"]["inventory_positions"] == 1
    assert emu.credentials == {
        "client_id": "ACME",
        "client_secret": "acme-secret-1",
        "username": "ann",
        "password": "pw-ann",
        "retailer_id": "7",
    }
    emu.reset()
    assert len(emu.state("locations")) == 1  # reset returns to the last loaded seed
    merged = api.control("POST", "seed?merge=true", {"locations": [{"ref": "A2", "retailerId": 7}]})
    assert merged["counts"]["locations"] == 2
    bad = httpx.post(f"{emu.url}/_emulator/seed", json={"locatons": []})
    assert bad.status_code == 400 and "did you mean 'locations'" in bad.text
    emu.load_seed(None)


def test_settings_over_http(emu, api):
    changed = api.control("POST", "settings", {"max_batch_records": 10, "job_shape": "sdk_types"})
    assert changed["max_batch_records"] == 10 and api.control("GET", "settings")["job_shape"] == "sdk_types"
    bad = httpx.post(f"{emu.url}/_emulator/settings", json={"max_batch_record": 1})
    assert bad.status_code == 400 and "did you mean 'max_batch_records'" in bad.text
    wrong_type = httpx.post(f"{emu.url}/_emulator/settings", json={"job_shape": "other"})
    assert wrong_type.status_code == 400
