"""Job/Batch API: validation, deterministic progression, per-entity results, expiry (§6, §11.2)."""

from __future__ import annotations

from typing import Any

POSITIONS = """
query Positions($first: Int, $after: String, $from: DateTime) {
  inventoryPositions(first: $first, after: $after, updatedOn: {from: $from}, catalogues: [{ref: "DEFAULT:1"}]) {
    edges { node { id ref productRef locationRef onHand updatedOn } cursor }
    pageInfo { hasNextPage }
  }
}"""


def entity(sku: str = "SKU-0001", loc: str = "LOC-001", qty: int = 5, **extra: Any) -> dict[str, Any]:
    return {"locationRef": loc, "skuRef": sku, "qty": qty, "retailerId": 1, **extra}


def position(emu, sku: str, loc: str) -> dict[str, Any]:
    return emu.store.inventory_positions.find(("DEFAULT:1", sku, loc))


def crawl(api, variables: dict[str, Any]) -> list[dict[str, Any]]:
    nodes, after = [], None
    while True:
        page = api.gql(POSITIONS, {**variables, "after": after})["data"]["inventoryPositions"]
        nodes.extend(edge["node"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["edges"][-1]["cursor"]


def test_create_job_and_read_its_status(api):
    job_id = api.job(meta={"preprocessing": "skip"})
    status = api.get(f"/api/v4.1/job/{job_id}").json()
    assert status["jobId"] == job_id and status["status"] == "OPEN" and status["retailerId"] == "1"
    assert status["meta"] == {"preprocessing": "skip"} and status["batch"] == []


def test_create_job_validation_lists_every_problem(api):
    response = api.post("/api/v4.1/job", {"retailerId": "99"})
    assert response.status_code == 400
    messages = [e["message"] for e in response.json()["errors"]]
    assert any(m.startswith("name:") for m in messages) and any("retailer 99" in m for m in messages)
    assert api.http.post("/api/v4.1/job", content=b"{nope", headers=api.headers).json() == {
        "errors": [{"code": "400", "message": "Malformed JSON"}]
    }


def test_metadata_is_read_as_meta_with_a_warning(emu, api):
    job_id = api.job(metadata={"preprocessing": "skip"})
    job = emu.store.jobs.get(job_id)
    assert job["meta"] == {"preprocessing": "skip"} and job["warnings"]


def test_batch_progresses_one_step_per_poll_and_applies_on_completion(emu, api):
    job_id = api.job()
    batch_id = api.batch(job_id, [entity(qty=777)]).json()["id"]
    assert position(emu, "SKU-0001", "LOC-001")["onHand"] != 777
    assert api.batch_status(job_id, batch_id)["status"] == "RUNNING"
    assert position(emu, "SKU-0001", "LOC-001")["onHand"] != 777
    done = api.batch_status(job_id, batch_id)
    assert done["status"] == "COMPLETE" and done["results"] == []
    assert done["summary"] == {"received": 1, "applied": 1, "skipped": 0, "failed": 0}
    assert position(emu, "SKU-0001", "LOC-001")["onHand"] == 777
    job = api.get(f"/api/v4.1/job/{job_id}").json()
    assert job["batch"] == [{"batchId": batch_id, "status": "COMPLETE", "createdOn": done["createdOn"]}]


def test_batch_completes_after_emulator_seconds_or_a_tick(emu, api):
    job_id = api.job()
    timed = api.batch(job_id, [entity(qty=11)]).json()["id"]
    emu.advance(10)
    assert emu.state("batches", id=timed)[0]["status"] == "COMPLETE"
    emu.configure(batch_seconds_per_step=0, batch_polls_per_step=0)
    ticked = api.batch(job_id, [entity(qty=12)]).json()["id"]
    emu.advance(3600)
    assert api.batch_status(job_id, ticked)["status"] == "PENDING"
    assert api.control("POST", "tick")["batches_completed"] == 1
    assert api.batch_status(job_id, ticked)["status"] == "COMPLETE"
    assert position(emu, "SKU-0001", "LOC-001")["onHand"] == 12


def test_batch_can_complete_on_receipt(emu, api):
    emu.configure(batch_complete_on_receipt=True)
    job_id = api.job()
    batch_id = api.batch(job_id, [entity(qty=3)]).json()["id"]
    assert emu.state("batches", id=batch_id)[0]["status"] == "COMPLETE"


def test_batch_request_validation(emu, api):
    job_id = api.job()
    response = api.post(
        f"/api/v4.1/job/{job_id}/batch", {"action": "CREATE", "entityType": "ORDER", "entities": []}
    )
    assert response.status_code == 400
    assert len(response.json()["errors"]) == 3
    emu.configure(max_batch_records=2)
    too_many = api.batch(job_id, [entity(), entity(), entity()])
    assert too_many.status_code == 400 and "at most 2" in too_many.text
    emu.configure(strict_batch=True)
    strict = api.batch(job_id, [entity()])
    assert strict.status_code == 400 and "source: required" in strict.text
    assert api.batch(job_id, [entity()], source="S3", event="InventoryChanged").status_code == 200
    assert api.batch("999", [entity()]).status_code == 404


def test_oversized_body_is_413(emu, api):
    emu.configure(max_body_bytes=1000)
    response = api.batch(api.job(), [entity(sku=f"SKU-{n:04d}") for n in range(1, 100)])
    assert response.status_code == 413


def test_thousand_entities_with_three_invalid(emu, api):
    """§11.6 item 3: 997 applied, 3 failures with index and reason, one FAILED audit each, and a
    paginated extraction returns every updated quantity exactly once."""
    job_id = api.job(meta={"preprocessing": "skip"})
    emu.advance(1)
    since = emu.now()
    entities = [
        entity(sku=f"SKU-{n // 5 + 1:04d}", loc=f"LOC-{n % 5 + 1:03d}", qty=1000 + n) for n in range(1000)
    ]
    entities[7]["locationRef"] = "LOC-999"
    entities[500]["qty"] = "ten"
    entities[998]["skuRef"] = "NOPE"
    batch_id = api.batch(job_id, entities).json()["id"]
    status = api.poll_until_complete(job_id, batch_id)
    assert status["summary"] == {"received": 1000, "applied": 997, "skipped": 0, "failed": 3}
    assert status["results"] == [
        {
            "entityIndex": 7,
            "ref": "SKU-0002:LOC-999",
            "responseCode": "400",
            "message": "Unknown location LOC-999",
        },
        {
            "entityIndex": 500,
            "ref": "SKU-0101:LOC-001",
            "responseCode": "400",
            "message": "qty must be an integer, got 'ten'",
        },
        {"entityIndex": 998, "ref": "NOPE:LOC-004", "responseCode": "400", "message": "Unknown product NOPE"},
    ]
    failed = api.get("/api/v4.1/event", **{"context.rootEntityId": job_id, "eventStatus": "FAILED"}).json()
    assert failed["count"] == 3
    nodes = crawl(api, {"first": 150, "from": since})
    assert len(nodes) == 997 and len({n["id"] for n in nodes}) == 997
    expected = {
        (e["skuRef"], e["locationRef"]): e["qty"] for i, e in enumerate(entities) if i not in (7, 500, 998)
    }
    assert {(n["productRef"], n["locationRef"]): n["onHand"] for n in nodes} == expected


def test_per_record_checks(emu, api):
    job_id = api.job()
    bad = [
        {"skuRef": "SKU-0001", "qty": 1, "retailerId": 1},
        entity(qty=-1),
        entity(qty=1.5),
        entity(correctedQty="x"),
        {"locationRef": "LOC-001", "skuRef": "SKU-0001", "qty": 1},
        entity(retailerId=2),
        entity(catalogueRef="DEFAULT:2"),
        "not an object",
    ]
    status = api.poll_until_complete(job_id, api.batch(job_id, bad).json()["id"])
    messages = [r["message"] for r in status["results"]]
    assert [r["entityIndex"] for r in status["results"]] == list(range(8))
    assert messages[0].startswith("locationRef is required") and "negative" in messages[1]
    assert (
        "integer" in messages[2] and "correctedQty" in messages[3] and "retailerId is required" in messages[4]
    )
    assert (
        "does not match" in messages[5] and "catalogue DEFAULT:2" in messages[6] and "object" in messages[7]
    )


def test_retailer_id_and_product_switches(emu, api):
    emu.configure(require_entity_retailer_id=False, auto_create_missing_products=True)
    job_id = api.job()
    items = [{"locationRef": "LOC-001", "skuRef": "NEW-SKU", "qty": 4}]
    status = api.poll_until_complete(job_id, api.batch(job_id, items).json()["id"])
    assert status["summary"]["applied"] == 1
    assert emu.state("products", ref="NEW-SKU")


def test_last_on_hand_sets_and_delta_adds(emu, api):
    job_id = api.job(meta={"preprocessing": "skip"})
    before = position(emu, "SKU-0002", "LOC-002")["onHand"]
    items = [
        entity(sku="SKU-0001", qty=40, type="LAST_ON_HAND"),
        entity(sku="SKU-0002", loc="LOC-002", qty=5, type="DELTA"),
    ]
    api.poll_until_complete(job_id, api.batch(job_id, items).json()["id"])
    assert position(emu, "SKU-0001", "LOC-001")["onHand"] == 40
    assert position(emu, "SKU-0002", "LOC-002")["onHand"] == before + 5
    quantity = emu.store.inventory_quantities.find(
        (position(emu, "SKU-0001", "LOC-001")["id"], "LAST_ON_HAND")
    )
    assert quantity["qty"] == 40


def test_unchanged_entities_are_skipped_unless_preprocessing_is_skipped(emu, api):
    current = position(emu, "SKU-0001", "LOC-001")["onHand"]
    with_bpp = api.job()
    status = api.poll_until_complete(with_bpp, api.batch(with_bpp, [entity(qty=current)]).json()["id"])
    assert status["summary"]["skipped"] == 1 and status["summary"]["applied"] == 0
    without = api.job(meta={"preprocessing": "skip"})
    status = api.poll_until_complete(without, api.batch(without, [entity(qty=current)]).json()["id"])
    assert status["summary"]["skipped"] == 0 and status["summary"]["applied"] == 1


def test_job_expires_after_its_ttl(emu, api):
    job_id = api.job()
    emu.advance(86400 + 1)
    api.token = api.login()  # the token (12 h) expired too
    assert api.get(f"/api/v4.1/job/{job_id}").json()["status"] == "EXPIRED"
    response = api.batch(job_id, [entity()])
    assert response.status_code == 400 and f"Job {job_id} has expired" in response.text
    emu.configure(job_expired_status=410)
    assert api.batch(job_id, [entity()]).status_code == 410


def test_sdk_types_shape(emu, api):
    emu.configure(job_shape="sdk_types")
    job_id = api.job()
    batch_id = api.batch(job_id, [entity(), entity(loc="LOC-404")]).json()["id"]
    assert api.batch_status(job_id, batch_id)["status"] == "PROCESSING"
    done = api.batch_status(job_id, batch_id)
    assert done["status"] == "COMPLETED" and done["id"] == batch_id and done["totalEntities"] == 2
    assert done["errors"] == [{"code": "400", "message": "Unknown location LOC-404", "entityIndex": 1}]
    job = api.get(f"/api/v4.1/job/{job_id}").json()
    assert job["id"] == job_id and job["batches"] == [{"id": batch_id, "status": "COMPLETED"}]


def test_results_endpoint_is_off_by_default(emu, api):
    job_id = api.job()
    assert api.get(f"/api/v4.1/job/{job_id}/results").status_code == 404
    emu.configure(job_results_endpoint=True)
    api.poll_until_complete(job_id, api.batch(job_id, [entity(loc="LOC-404")]).json()["id"])
    body = api.get(f"/api/v4.1/job/{job_id}/results").json()
    assert body["totalBatches"] == 1 and body["failedBatches"] == 1


def test_entity_index_base_switch(emu, api):
    emu.configure(entity_index_base=1)
    job_id = api.job()
    status = api.poll_until_complete(job_id, api.batch(job_id, [entity(loc="LOC-404")]).json()["id"])
    assert status["results"][0]["entityIndex"] == 1


def test_batch_complete_audit_event(api):
    job_id = api.job()
    batch_id = api.batch(job_id, [entity()]).json()["id"]
    api.poll_until_complete(job_id, batch_id)
    log = api.get(
        "/api/v4.1/event",
        **{
            "context.rootEntityType": "JOB",
            "context.rootEntityId": job_id,
            "eventType": "ORCHESTRATION_AUDIT",
            "count": 100,
            "start": 0,
        },
    ).json()
    assert [e["name"] for e in log["results"]] == ["BATCH_COMPLETE"]
    entry = log["results"][0]
    assert entry["context"]["entityType"] == "BATCH" and entry["context"]["entityId"] == batch_id
    assert entry["category"] == "BATCH" and entry["eventStatus"] == "COMPLETE" and entry["retailerId"] == "1"
