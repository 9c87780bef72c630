"""Job/Batch API: jobs, batches, deterministic batch progression and per-entity application.

A batch moves PENDING -> RUNNING -> COMPLETE one step per ``batch_polls_per_step`` status polls,
per ``batch_seconds_per_step`` emulator seconds, or all at once on a tick. Entities are checked
and applied only when the batch completes, as the real platform does asynchronously. The apply
loop is the emulator's hot path (benchmarks push 100k+ entities a second through it), so it works
on plain dicts with no per-entity objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.emulator import entities, eventlog, inventory
from engine.emulator.responses import ApiError
from engine.emulator.store import Row

if TYPE_CHECKING:
    from engine.emulator.core import Core

STAGES = ("PENDING", "RUNNING", "COMPLETE")
SDK_STATUS = {"PENDING": "PENDING", "RUNNING": "PROCESSING", "COMPLETE": "COMPLETED"}


def create_job(core: Core, principal: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """``POST /api/v4.1/job``: an open job for one retailer, expiring after ``job_ttl_seconds``.

    Raises ApiError(400) listing every problem with ``name`` and ``retailerId``,
    and ApiError(403) when the caller may not use the retailer. A ``metadata``
    key is read as ``meta``, with a warning on the job.
    """
    problems = []
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append("name: required, a non-empty string")
    rid = body.get("retailerId")
    if rid is None or isinstance(rid, bool) or not isinstance(rid, str | int) or str(rid) == "":
        problems.append("retailerId: required, the id of a retailer")
    elif core.store.retailers.get(str(rid)) is None:
        problems.append(f"retailerId: retailer {rid} does not exist")
    if problems:
        raise ApiError(400, *problems)
    rid = str(rid)
    core.require_retailer(principal, rid)
    warnings = []
    meta = body.get("meta")
    if meta is None and "metadata" in body:
        meta = body["metadata"]
        warnings.append("'metadata' was read as 'meta'")
    now = core.clock.now_iso()
    job = {
        "name": name,
        "retailerId": rid,
        "meta": meta if isinstance(meta, dict) else {},
        "status": "OPEN",
        "createdOn": now,
        "expiresAt": core.clock.iso_in(core.settings.job_ttl_seconds),
        "_expires_ts": core.clock.timestamp() + core.settings.job_ttl_seconds,
        "_expired": False,
        "_batches": [],
        "warnings": warnings,
    }
    core.store.jobs.insert(job)
    return job


def job_status_word(core: Core, job: Row) -> str:
    """``EXPIRED`` once the job's time is up on the emulator clock (or a fault expired it), else ``OPEN``."""
    if job["_expired"] or core.clock.timestamp() >= job["_expires_ts"]:
        return "EXPIRED"
    return "OPEN"


def get_job(core: Core, principal: dict[str, Any], job_id: str) -> Row:
    """The job with this id, or ApiError 404 (unknown) or 403 (another retailer's)."""
    job = core.store.jobs.get(job_id)
    if job is None:
        raise ApiError(404, f"Job {job_id} not found")
    core.require_retailer(principal, job["retailerId"])
    return job


def send_batch(
    core: Core, principal: dict[str, Any], job_id: str, body: dict[str, Any], fault: dict[str, Any]
) -> Row:
    """``POST /api/v4.1/job/{id}/batch``: accept an inventory batch as PENDING; entities are checked later.

    Only the envelope is checked now (ApiError 400 listing every problem;
    ``job_expired_status`` for an expired job). The request's ``batch_stuck``
    and ``batch_fail_records`` faults stay with the batch. With
    ``batch_complete_on_receipt`` the batch is applied before this returns.
    """
    settings = core.settings
    job = get_job(core, principal, job_id)
    if job_status_word(core, job) != "OPEN":
        raise ApiError(settings.job_expired_status, f"Job {job_id} has expired")
    problems = []
    if body.get("action") != "UPSERT":
        problems.append(f"action: expected UPSERT, got {body.get('action')!r}")
    if body.get("entityType") != "INVENTORY":
        problems.append(f"entityType: expected INVENTORY, got {body.get('entityType')!r}")
    items: Any = body.get("entities")
    if not isinstance(items, list) or not items:
        problems.append("entities: required, a non-empty array")
    elif len(items) > settings.max_batch_records:
        problems.append(f"entities: {len(items)} entities, at most {settings.max_batch_records} per batch")
    if settings.strict_batch:
        problems.extend(f"{key}: required" for key in ("source", "event") if not body.get(key))
    if problems:
        raise ApiError(400, *problems)
    now = core.clock.now_iso()
    catalogue = body.get("catalogueRef") or settings.default_inventory_catalogue.format(
        retailerId=job["retailerId"]
    )
    batch = {
        "jobId": job["id"],
        "status": "PENDING",
        "entityType": "INVENTORY",
        "action": "UPSERT",
        "source": body.get("source"),
        "event": body.get("event"),
        "catalogueRef": catalogue,
        "count": len(items),
        "createdOn": now,
        "lastModifiedOn": now,
        "results": [],
        "summary": None,
        "_entities": items,
        "_created_ts": core.clock.timestamp(),
        "_polls": 0,
        "_forced": 0,
        "_stuck": fault.get("batch_stuck"),
        "_fail": fault.get("batch_fail_records"),
    }
    core.store.batches.insert(batch)
    job["_batches"].append(batch["id"])
    if settings.batch_complete_on_receipt and not batch["_stuck"]:
        complete(core, batch)
    return batch


def get_batch(core: Core, principal: dict[str, Any], job_id: str, batch_id: str) -> Row:
    """A batch of a job the caller may see; ApiError(404) when the batch is not in that job."""
    job = get_job(core, principal, job_id)
    batch = core.store.batches.get(batch_id)
    if batch is None or batch["jobId"] != job["id"]:
        raise ApiError(404, f"Batch {batch_id} not found in job {job_id}")
    return batch


def progress(core: Core, batch: Row, polled: bool = False) -> None:
    """Move a batch as far as polls, elapsed emulator time and ticks allow."""
    if batch["status"] == "COMPLETE":
        return
    settings = core.settings
    if polled:
        batch["_polls"] += 1
    steps = batch["_forced"]
    if settings.batch_polls_per_step > 0:
        steps = max(steps, batch["_polls"] // settings.batch_polls_per_step)
    if settings.batch_seconds_per_step > 0:
        elapsed = core.clock.timestamp() - batch["_created_ts"]
        steps = max(steps, int(elapsed // settings.batch_seconds_per_step))
    stuck = batch["_stuck"]
    if stuck:
        if stuck not in STAGES[:2]:
            batch["status"] = stuck
            return
        steps = min(steps, STAGES.index(stuck))
    if steps >= 2:
        complete(core, batch)
    elif steps == 1 and batch["status"] == "PENDING":
        batch["status"] = "RUNNING"
        batch["lastModifiedOn"] = core.clock.now_iso()


def complete(core: Core, batch: Row) -> None:
    """Apply the batch's entities and mark it COMPLETE."""
    job = core.store.jobs.row(batch["jobId"])
    apply_entities(core, job, batch)
    batch["status"] = "COMPLETE"
    batch["lastModifiedOn"] = core.clock.now_iso()


def _injected_failures(spec: Any, total: int) -> set[int]:
    """Indices chosen by a ``batch_fail_records`` fault: a list, or a ratio spread evenly."""
    if spec is None or spec is False:
        return set()
    if isinstance(spec, dict):
        spec = spec.get("indices", spec.get("ratio"))
    if isinstance(spec, list):
        return {int(i) for i in spec}
    ratio = float(spec)
    return {i for i in range(total) if int((i + 1) * ratio) > int(i * ratio)}


def apply_entities(core: Core, job: Row, batch: Row) -> None:
    """Check every entity of a completing batch and apply the valid ones to inventory.

    Each entity is checked in turn (its fields, then whether it belongs to
    the job's retailer and names a known location, product and inventory
    catalogue, then any ``batch_fail_records`` fault); a failure becomes a
    400 result and the batch goes on. A valid entity creates or updates its
    position's on-hand (DELTA adds under ``delta_mode: add``); with batch
    pre-processing an unchanged position is skipped. Fills the batch's
    ``results`` and ``summary``, drops its entities, and writes the audit
    entries to the event log.
    """
    store, settings = core.store, core.settings
    rid = job["retailerId"]
    now = core.clock.now_iso()
    items = batch.pop("_entities", None) or []
    locations = store.location_refs.get(rid, set())
    products = store.product_refs.setdefault(rid, set())
    positions = store.inventory_positions.keys
    require_rid = settings.require_entity_retailer_id
    auto_create = settings.auto_create_missing_products
    bpp = settings.batch_preprocessing and (job["meta"] or {}).get("preprocessing") != "skip"
    delta_adds = settings.delta_mode == "add"
    base = settings.entity_index_base
    injected = _injected_failures(batch["_fail"], len(items))
    catalogues: dict[Any, bool] = {}
    results: list[dict[str, Any]] = []
    applied = skipped = 0
    for index, entity in enumerate(items):
        if type(entity) is not dict:
            results.append(
                {
                    "entityIndex": index + base,
                    "ref": None,
                    "responseCode": "400",
                    "message": "Entity must be a JSON object",
                }
            )
            continue
        loc: Any = entity.get("locationRef")
        sku: Any = entity.get("skuRef")
        qty: Any = entity.get("qty")
        kind = entity.get("type") or "LAST_ON_HAND"
        error = _field_error(entity, loc, sku, qty, kind)
        if error is None:
            error = _retailer_error(entity.get("retailerId"), rid, require_rid)
        if error is None:
            error = _reference_error(loc, sku, locations, products, auto_create)
        catalogue: Any = entity.get("catalogueRef") or batch["catalogueRef"] if error is None else None
        if error is None:
            if not _inventory_catalogue_known(store, catalogues, catalogue, rid):
                error = f"Unknown inventory catalogue {catalogue}"
            elif index in injected:
                error = "Injected failure (batch_fail_records fault)"
        if error is not None:
            ref = f"{sku}:{loc}" if type(sku) is str and type(loc) is str else None
            results.append({"entityIndex": index + base, "ref": ref, "responseCode": "400", "message": error})
            continue
        if sku not in products:
            _create_product(core, rid, sku, now)
        position: Any = positions.get((catalogue, sku, loc))
        if kind == "DELTA" and delta_adds:
            target = (position["onHand"] if position is not None else 0) + qty
        else:
            target = qty
        if position is None:
            position = entities.new_position(store, catalogue, rid, sku, loc, target, now)
        elif bpp and position["onHand"] == target:
            skipped += 1
            continue
        else:
            inventory.set_on_hand(store, position, target, now)
        status = entity.get("status")
        if status:
            position["status"] = status
        applied += 1
    batch["results"] = results
    batch["summary"] = {
        "received": len(items),
        "applied": applied,
        "skipped": skipped,
        "failed": len(results),
    }
    eventlog.batch_audit(core, job, batch)


def _field_error(entity: Row, loc: Any, sku: Any, qty: Any, kind: Any) -> str | None:
    """Why an entity's own fields are invalid (the first problem found), or None."""
    if type(loc) is not str or not loc:
        return "locationRef is required (a non-empty string)"
    if type(sku) is not str or not sku:
        return "skuRef is required (a non-empty string)"
    if type(qty) is not int:
        return f"qty must be an integer, got {qty!r}"
    if qty < 0 and kind != "DELTA":
        return f"qty must not be negative, got {qty}"
    corrected = entity.get("correctedQty")
    if corrected is not None and type(corrected) is not int:
        return f"correctedQty must be an integer, got {corrected!r}"
    if kind != "LAST_ON_HAND" and kind != "DELTA":
        return f"type must be LAST_ON_HAND or DELTA, got {kind!r}"
    return None


def _retailer_error(entity_rid: Any, job_rid: str, required: bool) -> str | None:
    """Why an entity's ``retailerId`` does not fit the job (missing when ``required``, or another one)."""
    if entity_rid is None:
        return "retailerId is required on every entity" if required else None
    if str(entity_rid) != job_rid:
        return f"retailerId {entity_rid} does not match the job's retailer {job_rid}"
    return None


def _reference_error(
    loc: str, sku: str, locations: set[str], products: set[str], auto_create: bool
) -> str | None:
    """Why an entity names a location or product its retailer lacks, or None.

    Unknown products pass when ``auto_create`` (they are created as the entity is applied).
    """
    if loc not in locations:
        return f"Unknown location {loc}"
    if sku not in products and not auto_create:
        return f"Unknown product {sku}"
    return None


def _inventory_catalogue_known(store: Any, known: dict[Any, bool], ref: Any, rid: str) -> bool:
    """Whether ``ref`` is an inventory catalogue of retailer ``rid``; answers are cached in ``known``."""
    answer = known.get(ref)
    if answer is None:
        row = store.catalogue(ref, "INVENTORY")
        answer = known[ref] = row is not None and row["retailerId"] == rid
    return answer


def _create_product(core: Core, rid: str, sku: str, now: str) -> None:
    catalogue = next(
        (c for c in core.store.catalogues if c["type"] == "PRODUCT" and c["retailerId"] == rid), None
    )
    if catalogue is None:
        raise ApiError(500, f"retailer {rid} has no product catalogue to create {sku} in")
    entities.new_product(core.store, {"ref": sku, "name": sku}, catalogue, now)


# --- response shapes -----------------------------------------------------------------


def job_body(core: Core, job: Row) -> dict[str, Any]:
    """The job status answer, in the ``job_shape`` setting's shape.

    Counts as a poll of each of the job's batches, so it may move them on.
    """
    batches = [core.store.batches.row(b) for b in job["_batches"]]
    for batch in batches:
        progress(core, batch, polled=True)
    status = job_status_word(core, job)
    if core.settings.job_shape == "sdk_types":
        done = len([b for b in batches if b["status"] == "COMPLETE"])
        return {
            "id": job["id"],
            "name": job["name"],
            "status": status,
            "retailerId": job["retailerId"],
            "progress": {"totalBatches": len(batches), "completedBatches": done},
            "errors": [],
            "batches": [{"id": b["id"], "status": SDK_STATUS.get(b["status"], b["status"])} for b in batches],
        }
    return {
        "jobId": job["id"],
        "status": status,
        "name": job["name"],
        "retailerId": job["retailerId"],
        "meta": job["meta"],
        "createdOn": job["createdOn"],
        "expiresAt": job["expiresAt"],
        "batch": [{"batchId": b["id"], "status": b["status"], "createdOn": b["createdOn"]} for b in batches],
    }


def batch_body(core: Core, batch: Row) -> dict[str, Any]:
    """The batch status answer, in the ``job_shape`` setting's shape (results once complete)."""
    summary = batch["summary"] or {"received": batch["count"], "applied": 0, "skipped": 0, "failed": 0}
    if core.settings.job_shape == "sdk_types":
        return {
            "id": batch["id"],
            "jobId": batch["jobId"],
            "status": SDK_STATUS.get(batch["status"], batch["status"]),
            "processedEntities": summary["applied"] + summary["skipped"] + summary["failed"]
            if batch["status"] == "COMPLETE"
            else 0,
            "totalEntities": batch["count"],
            "errors": [
                {"code": r["responseCode"], "message": r["message"], "entityIndex": r["entityIndex"]}
                for r in batch["results"]
            ],
        }
    return {
        "batchId": batch["id"],
        "entityType": batch["entityType"],
        "status": batch["status"],
        "start": 1,
        "count": batch["count"],
        "total": batch["count"],
        "createdOn": batch["createdOn"],
        "lastModifiedOn": batch["lastModifiedOn"],
        "results": batch["results"],
        "summary": summary,
    }


def results_body(core: Core, job: Row) -> dict[str, Any]:
    """``GET /api/v4.1/job/{id}/results`` (SDK-only route): every batch, and how many completed cleanly."""
    batches = [core.store.batches.row(b) for b in job["_batches"]]
    complete_ = [b for b in batches if b["status"] == "COMPLETE"]
    return {
        "jobId": job["id"],
        "totalBatches": len(batches),
        "successfulBatches": len([b for b in complete_ if not b["results"]]),
        "failedBatches": len([b for b in complete_ if b["results"]]),
        "results": [batch_body(core, b) for b in batches],
    }
