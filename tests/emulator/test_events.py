"""Event API: validation, workflow rules, sync/async outcomes and the event log (§5, §11.2)."""

from __future__ import annotations

from typing import Any


def product_event(ref: str = "NEW-1", **attrs: Any) -> dict[str, Any]:
    return {
        "name": "UPSERT_PRODUCT",
        "entityType": "PRODUCT_CATALOGUE",
        "entitySubtype": "MASTER",
        "entityRef": "PC:MASTER:1",
        "rootEntityType": "PRODUCT_CATALOGUE",
        "rootEntityRef": "PC:MASTER:1",
        "retailerId": "1",
        "attributes": {"ref": ref, "type": "VARIANT", "status": "ACTIVE", "name": "New", **attrs},
    }


def cancel(order_ref: str) -> dict[str, Any]:
    return {
        "name": "OrderCancel",
        "entityType": "ORDER",
        "entityRef": order_ref,
        "rootEntityType": "ORDER",
        "rootEntityRef": order_ref,
        "retailerId": "1",
    }


def test_validation_lists_missing_fields(api):
    response = api.post("/api/v4.1/event/async", {"entityType": "ORDER"})
    assert response.status_code == 400
    assert {e["message"] for e in response.json()["errors"]} == {"name: required", "retailerId: required"}
    bad_attrs = api.post("/api/v4.1/event/sync", {**cancel("ORD-1001"), "attributes": "x"})
    assert bad_attrs.status_code == 400 and "attributes" in bad_attrs.text


def test_async_event_is_accepted_with_an_empty_body_and_handled(emu, api):
    response = api.post("/api/v4.1/event/async", product_event())
    assert response.status_code == 200 and response.content == b""
    assert emu.state("products", ref="NEW-1")[0]["name"] == "New"
    logged = api.get("/api/v4.1/event", name="UPSERT_PRODUCT").json()["results"][0]
    assert logged["eventStatus"] == "COMPLETE" and logged["type"] == "NORMAL"
    assert logged["context"]["entityRef"] == "PC:MASTER:1" and logged["generatedBy"] == "demo"
    assert {"name": "ref", "type": "STRING", "value": "NEW-1"} in logged["attributes"]


def test_async_body_switch_returns_an_id(emu, api):
    emu.configure(event_async_body="id")
    event_id = api.post("/api/v4.1/event/async", product_event()).json()["id"]
    assert api.get(f"/api/v4.1/event/{event_id}").json()["eventStatus"] == "COMPLETE"


def test_unknown_event_name(emu, api):
    unknown = {**cancel("ORD-1001"), "name": "NoSuchWorkflow"}
    assert api.post("/api/v4.1/event/async", unknown).status_code == 400
    emu.configure(strict_event_names=False)
    assert api.post("/api/v4.1/event/async", unknown).status_code == 200
    assert api.get("/api/v4.1/event", name="NoSuchWorkflow").json()["results"][0]["eventStatus"] == "NO_MATCH"


def test_sync_success_failure_and_no_match(emu, api):
    ok = api.post("/api/v4.1/event/sync", cancel("ORD-1002"))
    assert ok.status_code == 200 and ok.json()["eventStatus"] == "COMPLETE"
    assert emu.state("orders", ref="ORD-1002")[0]["status"] == "CANCELLED"
    again = api.post("/api/v4.1/event/sync", cancel("ORD-1002")).json()
    assert again["eventStatus"] == "FAILED" and "cannot be cancelled" in again["message"]
    missing = api.post("/api/v4.1/event/sync", cancel("ORD-9999"))
    assert missing.status_code == 404 and missing.json() == {"message": "No workflow rule matched this event"}
    emu.configure(sync_no_match="200")
    missing = api.post("/api/v4.1/event/sync", cancel("ORD-9999"))
    assert missing.status_code == 200 and missing.json()["eventStatus"] == "NO_MATCH"


def test_location_upsert_and_generic_status_setter(emu, api):
    upsert = {
        "name": "UPSERT_LOCATION",
        "entityType": "LOCATION",
        "entityRef": "LOC-NEW",
        "retailerId": "1",
        "rootEntityType": "LOCATION",
        "attributes": [{"name": "name", "type": "STRING", "value": "New store"}],
    }
    assert api.post("/api/v4.1/event/sync", upsert).json()["eventStatus"] == "COMPLETE"
    assert emu.state("locations", ref="LOC-NEW")[0]["name"] == "New store"
    status = {
        "name": "SET_STATUS",
        "entityType": "FULFILMENT",
        "entityRef": "ORD-1001-F1",
        "retailerId": "1",
        "rootEntityType": "ORDER",
        "attributes": {"status": "PICKED"},
    }
    assert api.post("/api/v4.1/event/sync", status).json()["eventStatus"] == "COMPLETE"
    assert emu.state("fulfilments", ref="ORD-1001-F1")[0]["status"] == "PICKED"
    no_status = {**status, "attributes": {}}
    assert api.post("/api/v4.1/event/sync", no_status).json()["eventStatus"] == "FAILED"


def test_seeded_rules_replace_the_built_ins(emu):
    emu.load_seed(
        {
            "extends": "default",
            "eventRules": [
                {"name": "ShipIt", "entityType": "ORDER", "handler": "set_status", "status": "SHIPPED"}
            ],
        }
    )
    rules = {r["name"] for r in emu.state("event_rules")}
    assert "ShipIt" in rules and "OrderCancel" in rules


def test_event_delay_keeps_async_events_pending_until_the_clock_moves(emu, api):
    emu.configure(event_delay_seconds=30)
    api.post("/api/v4.1/event/async", cancel("ORD-1003"))
    assert api.get("/api/v4.1/event", name="OrderCancel").json()["results"][0]["eventStatus"] == "PENDING"
    assert emu.state("orders", ref="ORD-1003")[0]["status"] == "BOOKED"
    emu.advance(31)
    assert api.get("/api/v4.1/event", name="OrderCancel").json()["results"][0]["eventStatus"] == "COMPLETE"
    assert emu.state("orders", ref="ORD-1003")[0]["status"] == "CANCELLED"


def test_event_log_filters_order_and_paging(emu, api):
    for ref in ("ORD-1001", "ORD-1002", "ORD-1003", "ORD-1004", "ORD-1005"):
        api.post("/api/v4.1/event/sync", cancel(ref))
        emu.advance(1)
    page = api.get("/api/v4.1/event", name="OrderCancel", count=2, start=0).json()
    assert page["start"] == 0 and page["count"] == 2 and page["hasMore"] is True
    assert [e["context"]["entityRef"] for e in page["results"]] == ["ORD-1005", "ORD-1004"]
    seen, start = [], 0
    while True:
        page = api.get("/api/v4.1/event", name="OrderCancel", count=2, start=start).json()
        seen += [e["context"]["entityRef"] for e in page["results"]]
        start += len(page["results"])
        if not page["hasMore"]:
            break
    assert seen == ["ORD-1005", "ORD-1004", "ORD-1003", "ORD-1002", "ORD-1001"]
    one = api.get(
        "/api/v4.1/event",
        **{
            "context.entityRef": "ORD-1003",
            "eventStatus": "COMPLETE",
            "eventType": "NORMAL",
            "retailerId": "1",
        },
    ).json()
    assert one["count"] == 1
    assert api.get("/api/v4.1/event", name="OrderCancel", eventStatus="FAILED").json()["results"] == []
    event_id = one["results"][0]["id"]
    assert api.get("/api/v4.1/event", eventId=event_id).json()["count"] == 1
    assert api.get(f"/api/v4.1/event/{event_id}").json()["context"]["entityRef"] == "ORD-1003"
    assert api.get("/api/v4.1/event/00000000-dead").status_code == 404


def test_event_log_window_and_limits(emu, api):
    before = emu.now()
    api.post("/api/v4.1/event/sync", cancel("ORD-1001"))
    assert api.get("/api/v4.1/event", name="OrderCancel", to=emu.now()).json()["count"] == 1
    emu.advance(31 * 86400)
    api.token = api.login()
    assert api.get("/api/v4.1/event", name="OrderCancel").json()["count"] == 0
    assert api.get("/api/v4.1/event", name="OrderCancel", **{"from": before}).json()["count"] == 1
    assert api.get("/api/v4.1/event", **{"from": "2020-01-01T00:00:00Z"}).status_code == 400
    assert api.get("/api/v4.1/event", to="2999-01-01T00:00:00Z").status_code == 400
    assert api.get("/api/v4.1/event", count=5001).status_code == 400
    assert api.get("/api/v4.1/event", count="many").status_code == 400
