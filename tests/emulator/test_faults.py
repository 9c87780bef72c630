"""Fault injection: every action of §11.5 and the match/when rules that select requests."""

from __future__ import annotations

import json
import threading
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from engine.emulator import Emulator

EVENTS = {"method": "GET", "path_regex": "^/api/v4.1/event$"}
BATCH_POST = {"method": "POST", "path_regex": "^/api/v4.1/job/[^/]+/batch$"}
PAGE = (
    "query Page($first: Int, $after: String) { inventoryPositions(first: $first, after: $after) "
    "{ edges { node { id onHand } cursor } pageInfo { hasNextPage } } }"
)


def entity(sku: str = "SKU-0001", loc: str = "LOC-001", qty: int = 5) -> dict[str, Any]:
    return {"locationRef": loc, "skuRef": sku, "qty": qty, "retailerId": 1}


def fault(emu, match: dict[str, Any], action: dict[str, Any], **when: Any) -> dict[str, Any]:
    return emu.add_fault({"match": match, "when": when, "action": action})


def test_status_401_for_the_next_k_calls(emu, api):
    fault(emu, EVENTS, {"status": 401}, times=2)
    codes = [api.get("/api/v4.1/event").status_code for _ in range(3)]
    assert codes == [401, 401, 200]
    assert api.get("/api/v4.1/event").status_code == 200


def test_revoke_tokens_forces_a_new_login(emu, api):
    fault(emu, EVENTS, {"revoke_tokens": True}, nth=1)
    response = api.get("/api/v4.1/event")
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"
    api.token = api.login()
    assert api.get("/api/v4.1/event").status_code == 200


def test_expire_token_after_on_the_token_request(emu, api):
    fault(emu, {"path_regex": "^/oauth/token$"}, {"expire_token_after": 5})
    response = api.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "DEMO", "client_secret": "demo-secret"},
    )
    assert response.json()["expires_in"] == 43199  # the lie a client must survive
    api.token = response.json()["access_token"]
    assert api.get("/api/v4.1/event").status_code == 200
    emu.advance(6)
    assert api.get("/api/v4.1/event").status_code == 401


def test_expire_token_after_on_an_api_request_expires_current_tokens(emu, api):
    fault(emu, EVENTS, {"expire_token_after": 10}, nth=1)
    assert api.get("/api/v4.1/event").status_code == 200
    emu.advance(11)
    assert api.get("/api/v4.1/event").status_code == 401


def test_refresh_grant_fails_but_password_grant_works(emu, api):
    first = api.http.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": "DEMO",
            "client_secret": "demo-secret",
            "username": "demo",
            "password": "demo-password",
        },
    ).json()
    fault(emu, {}, {"refresh_grant_fails": True})
    refresh = api.http.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "DEMO",
            "client_secret": "demo-secret",
            "refresh_token": first["refresh_token"],
        },
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
    assert api.login()


@pytest.mark.parametrize("retry_after", ["2", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_429_with_retry_after(emu, api, retry_after):
    fault(emu, EVENTS, {"status": 429, "headers": {"Retry-After": retry_after}}, nth=1)
    response = api.get("/api/v4.1/event")
    assert response.status_code == 429 and response.headers["retry-after"] == retry_after
    if not retry_after.isdigit():
        assert parsedate_to_datetime(response.headers["retry-after"]).year == 2015
    assert api.get("/api/v4.1/event").status_code == 200


def test_graphql_throttling_code(emu, api):
    fault(emu, {"graphql_root_field": "inventoryPositions"}, {"graphql_error": {"code": "C0011E"}}, times=1)
    result = api.gql(PAGE, {"first": 1})
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == "C0011E"
    assert result["errors"][0]["message"].startswith("C0011E: ")
    assert "errors" not in api.gql(PAGE, {"first": 1})
    assert "errors" not in api.gql("{ me { ref } }")


def test_5xx_with_an_html_gateway_page(emu, api):
    fault(emu, EVENTS, {"status": 502, "html": True}, nth=1)
    response = api.get("/api/v4.1/event")
    assert response.status_code == 502 and response.headers["content-type"] == "text/html"
    assert response.text.startswith("<html>") and "502 Bad Gateway" in response.text


def test_after_commit_503_on_send_batch_duplicates_a_retried_batch(emu, api):
    """§11.6 item 5: the write commits, the client sees 503 and resends: two batches exist."""
    job_id = api.job()
    fault(emu, BATCH_POST, {"status": 503, "after_commit": True}, nth=1)
    first = api.batch(job_id, [entity(qty=9)])
    assert first.status_code == 503
    retry = api.batch(job_id, [entity(qty=9)])
    assert retry.status_code == 200
    batches = api.get(f"/api/v4.1/job/{job_id}").json()["batch"]
    assert len(batches) == 2


def test_delay_ms(emu, api):
    fault(emu, EVENTS, {"delay_ms": 300}, nth=1)
    started = time.perf_counter()
    assert api.get("/api/v4.1/event").status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_hang_blocks_only_its_request_and_not_stop():
    with Emulator() as emu:
        emu.add_fault({"match": EVENTS, "action": {"hang": True}})
        token = httpx.post(
            f"{emu.url}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "DEMO", "client_secret": "demo-secret"},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        outcome: dict[str, Any] = {}

        def hung_call() -> None:
            try:
                httpx.get(f"{emu.url}/api/v4.1/event", headers=headers, timeout=30)
            except httpx.HTTPError as exc:
                outcome["error"] = exc

        caller = threading.Thread(target=hung_call)
        caller.start()
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{emu.url}/api/v4.1/event", headers=headers, timeout=0.3)
        assert (
            httpx.post(f"{emu.url}/graphql", json={"query": "{ me { ref } }"}, headers=headers).status_code
            == 200
        )
        started = time.perf_counter()
    assert time.perf_counter() - started < 4  # stop() woke the hung request instead of waiting on it
    caller.join(timeout=5)
    assert not caller.is_alive() and isinstance(outcome.get("error"), httpx.HTTPError)


def test_drop_connection(emu, api):
    fault(emu, EVENTS, {"drop_connection": True}, nth=1)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.get(f"{emu.url}/api/v4.1/event", headers=api.headers)
    assert api.get("/api/v4.1/event").status_code == 200
    assert emu.requests(path="/api/v4.1/event")[0]["status"] == "dropped"


def test_graphql_partial(emu, api):
    fault(
        emu,
        {"graphql_root_field": "inventoryPositions"},
        {"graphql_partial": {"paths": ["inventoryPositions.edges.1.node.onHand"], "code": "S0002E"}},
        nth=1,
    )
    result = api.gql(PAGE, {"first": 3})
    edges = result["data"]["inventoryPositions"]["edges"]
    assert edges[1]["node"]["onHand"] is None and edges[0]["node"]["onHand"] is not None
    assert result["errors"] == [
        {
            "message": "S0002E: Injected partial failure",
            "path": ["inventoryPositions", "edges", 1, "node", "onHand"],
            "extensions": {"code": "S0002E", "classification": "DataFetchingException"},
        }
    ]


@pytest.mark.parametrize(
    "anomaly", ["repeat_cursor", "missing_cursor", "empty_page_with_has_next", "duplicate_node_ids"]
)
def test_pagination_anomalies(emu, api, anomaly):
    fault(emu, {"graphql_root_field": "inventoryPositions"}, {"pagination_anomaly": anomaly}, nth=2)
    first = api.gql(PAGE, {"first": 3})["data"]["inventoryPositions"]
    sent = first["edges"][-1]["cursor"]
    second = api.gql(PAGE, {"first": 3, "after": sent})["data"]["inventoryPositions"]
    edges = second["edges"]
    if anomaly == "repeat_cursor":
        assert edges[-1]["cursor"] == sent
    elif anomaly == "missing_cursor":
        assert all(e["cursor"] is None for e in edges)
    elif anomaly == "empty_page_with_has_next":
        assert edges == [] and second["pageInfo"]["hasNextPage"] is True
    else:
        assert len(edges) == 4 and edges[0]["node"]["id"] == edges[1]["node"]["id"]


def test_expire_job_by_id_and_next(emu, api):
    job_id = api.job()
    fault(emu, {"path_regex": "^/api/v4.1/event$"}, {"expire_job": job_id}, nth=1)
    api.get("/api/v4.1/event")
    assert api.get(f"/api/v4.1/job/{job_id}").json()["status"] == "EXPIRED"
    other = api.job()
    fault(emu, BATCH_POST, {"expire_job": "next"}, nth=1)
    response = api.batch(other, [entity()])
    assert response.status_code == 400 and "has expired" in response.text
    fault(emu, {"method": "POST", "path_regex": "^/api/v4.1/job$"}, {"expire_job": "next"}, nth=1)
    created = api.job()
    assert api.get(f"/api/v4.1/job/{created}").json()["status"] == "EXPIRED"


def test_batch_stuck(emu, api):
    job_id = api.job()
    fault(emu, BATCH_POST, {"batch_stuck": "RUNNING"}, nth=1)
    batch_id = api.batch(job_id, [entity()]).json()["id"]
    statuses = {api.batch_status(job_id, batch_id)["status"] for _ in range(5)}
    emu.advance(3600)
    emu.tick()
    assert statuses == {"RUNNING"} and api.batch_status(job_id, batch_id)["status"] == "RUNNING"


def test_batch_stuck_on_a_status_poll(emu, api):
    job_id = api.job()
    batch_id = api.batch(job_id, [entity()]).json()["id"]
    fault(emu, {"method": "GET", "path_regex": "/batch/"}, {"batch_stuck": "PENDING"}, nth=1)
    assert [api.batch_status(job_id, batch_id)["status"] for _ in range(3)] == ["PENDING"] * 3


@pytest.mark.parametrize("spec, failed", [([0, 2], [0, 2]), (0.5, [1, 3])])
def test_batch_fail_records(emu, api, spec, failed):
    job_id = api.job(meta={"preprocessing": "skip"})
    fault(emu, BATCH_POST, {"batch_fail_records": spec}, nth=1)
    batch_id = api.batch(job_id, [entity(qty=n) for n in range(4)]).json()["id"]
    status = api.poll_until_complete(job_id, batch_id)
    assert [r["entityIndex"] for r in status["results"]] == failed
    assert status["summary"]["applied"] == 4 - len(failed)


def test_event_no_match_and_event_status(emu, api):
    cancel = {
        "name": "OrderCancel",
        "entityType": "ORDER",
        "entityRef": "ORD-1001",
        "retailerId": "1",
        "rootEntityType": "ORDER",
    }
    fault(emu, {"path_regex": "/event/sync$"}, {"event_no_match": True}, nth=1)
    assert api.post("/api/v4.1/event/sync", cancel).status_code == 404
    fault(emu, {"path_regex": "/event/sync$"}, {"event_status": "FAILED"}, nth=1)
    failed = api.post("/api/v4.1/event/sync", cancel).json()
    assert failed["eventStatus"] == "FAILED" and emu.state("orders", ref="ORD-1001")[0]["status"] == "BOOKED"
    fault(emu, {"path_regex": "/event/async$"}, {"event_status": "FAILED"}, nth=1)
    assert api.post("/api/v4.1/event/async", cancel).status_code == 200
    assert api.get("/api/v4.1/event", name="OrderCancel").json()["results"][0]["eventStatus"] == "FAILED"


def test_malformed_responses(emu, api):
    fault(emu, {"path_regex": "^/graphql$"}, {"empty_body": True}, nth=1)
    fault(emu, {"path_regex": "^/graphql$"}, {"truncated_json": True}, nth=2)
    fault(emu, {"path_regex": "^/graphql$"}, {"wrong_content_type": True}, nth=3)
    empty = api.post("/graphql", {"query": "{ me { ref } }"})
    assert empty.status_code == 200 and empty.content == b""
    truncated = api.post("/graphql", {"query": "{ me { ref } }"})
    with pytest.raises(json.JSONDecodeError):
        json.loads(truncated.content)
    wrong = api.post("/graphql", {"query": "{ me { ref } }"})
    assert wrong.headers["content-type"] == "text/html" and wrong.json()["data"]["me"]["ref"] == "demo"


def test_custom_status_body(emu, api):
    fault(emu, EVENTS, {"status": 500, "body": {"oops": True}}, nth=1)
    fault(emu, EVENTS, {"status": 500, "body": "plain failure"}, nth=2)
    assert api.get("/api/v4.1/event").json() == {"oops": True}
    assert api.get("/api/v4.1/event").text == "plain failure"


def test_when_every_probability_and_after_seconds(emu, api):
    fault(emu, EVENTS, {"status": 500}, every=3)
    assert [api.get("/api/v4.1/event").status_code for _ in range(6)] == [200, 200, 500, 200, 200, 500]
    emu.clear_faults()
    fault(emu, EVENTS, {"status": 500}, probability=0.0)
    assert api.get("/api/v4.1/event").status_code == 200
    emu.clear_faults()
    fault(emu, EVENTS, {"status": 500}, after_seconds=60)
    assert api.get("/api/v4.1/event").status_code == 200
    emu.advance(61)
    assert api.get("/api/v4.1/event").status_code == 500


def test_match_by_operation_and_grant_type(emu, api):
    fault(emu, {"graphql_operation": "Page"}, {"status": 503})
    fault(emu, {"grant_type": "client_credentials"}, {"status": 500})
    assert api.post("/graphql", {"query": PAGE, "variables": {"first": 1}}).status_code == 503
    assert api.post("/graphql", {"query": "query Other { me { ref } }"}).status_code == 200
    assert (
        api.http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "DEMO", "client_secret": "demo-secret"},
        ).status_code
        == 500
    )
    assert api.login()
    fired = [r["faults"] for r in emu.requests(path="/graphql")]
    assert fired[0] == ["1"] and fired[1] == []


def test_rule_management_over_http(emu, api):
    bad = api.http.post("/_emulator/faults", json={"match": {"path": "/x"}, "action": {"status": 500}})
    assert bad.status_code == 400 and "did you mean 'path_regex'" in bad.text
    assert api.http.post("/_emulator/faults", json={"action": {"stauts": 500}}).status_code == 400
    added = api.control(
        "POST",
        "faults",
        {
            "rules": [
                {"match": EVENTS, "action": {"status": 500}},
                {"match": EVENTS, "action": {"status": 418}},
            ]
        },
    )
    assert [r["id"] for r in added] == ["1", "2"]
    assert api.get("/api/v4.1/event").status_code == 500
    api.control("DELETE", "faults/1")
    assert api.get("/api/v4.1/event").status_code == 418
    api.control("DELETE", "faults")
    assert api.control("GET", "faults") == [] and api.get("/api/v4.1/event").status_code == 200
