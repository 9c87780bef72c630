"""The enrichment connectors (lookups, update only, changed only) run end to end: against a Fluent
emulator over HTTP, the test REST server and a real sshd, with the effects checked where they land."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from engine.emulator import Emulator
from tests.http.server import TOKEN, ApiServer

CONNECTORS = Path(__file__).resolve().parents[2] / "connectors"


def copy(name: str, tmp_path: Path) -> Path:
    shutil.copytree(CONNECTORS / name, tmp_path / name)
    return tmp_path / name / f"{name}.yaml"


@pytest.fixture(scope="module")
def _emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(_emulator: Emulator) -> Emulator:
    _emulator.reset()
    return _emulator


@pytest.fixture
def api() -> Iterator[ApiServer]:
    server = ApiServer().start()
    yield server
    server.stop()


def fluent(emu: Emulator) -> list[str]:
    c = emu.credentials
    return [
        f"connections.fluent.base_url={emu.url}",
        f"connections.fluent.client_id={c['client_id']}",
        f"connections.fluent.client_secret={c['client_secret']}",
        f"connections.fluent.username={c['username']}",
        f"connections.fluent.password={c['password']}",
    ]


def on_hand(emu: Emulator) -> dict[tuple[str, str], int]:
    return {(p["productRef"], p["locationRef"]): p["onHand"] for p in emu.state("inventory_positions")}


def rejects(report) -> list[dict]:
    if not report.rejects_path:
        return []
    return [json.loads(x) for x in Path(report.rejects_path).read_text().splitlines() if x.strip()]


def test_cycle_count_adjusts_variances_within_tolerance_and_sends_the_rest_to_review(
    emu, tmp_path, run_spec
) -> None:
    before = on_hand(emu)
    emu.clear_requests()
    spec = copy("cycle-count-reconciliation", tmp_path)
    report = run_spec(spec, overrides=fluent(emu))
    assert report.status == "ok", report.error
    assert report.counts["written"] == 5
    lookups = [r for r in emu.requests(path_regex="^/graphql$") if "inventoryPositions" in str(r.get("json"))]
    assert len(lookups) == 1 == report.lookups["position"]["requests"]  # one request for the chunk's keys
    emu.tick()
    after = on_hand(emu)
    counted = {("SKU-0001", "LOC-001"): 5, ("SKU-0001", "LOC-002"): 79, ("SKU-0002", "LOC-001"): 80}
    counted |= {("SKU-0003", "LOC-001"): 40, ("SKU-0003", "LOC-002"): 0}
    assert {k: after[k] for k in counted} == counted  # each DELTA was counted - onHand, exactly
    assert after[("SKU-0002", "LOC-002")] == before[("SKU-0002", "LOC-002")]  # variance 30: review
    review = list(csv.DictReader(Path(report.rejects_path).read_text().splitlines()))
    assert Path(report.rejects_path).parent == spec.parent / "review"
    assert sorted(int(r["_row"]) for r in review) == [4, 7, 8]
    by_row = {int(r["_row"]): r["_reason"] for r in review}
    assert "qty: 30 is above the maximum 10" in by_row[4]
    assert "no answer for sku 'SKU-9999'" in by_row[7] and "'lots' is not a number" in by_row[8]


def test_price_update_touches_only_existing_products_and_keeps_their_attributes(
    emu, tmp_path, run_spec
) -> None:
    before = {p["ref"]: p for p in emu.state("products") if p["ref"] in ("SKU-0001", "SKU-0002")}
    report = run_spec(copy("price-update", tmp_path), overrides=fluent(emu))
    assert report.status == "ok", report.error
    assert report.counts["written"] == 2 and report.target["not_found"] == 1
    products = {p["ref"]: p for p in emu.state("products")}
    assert "NEW-7777" not in products
    assert products["SKU-0001"]["prices"] == [{"type": "DEFAULT", "currency": "AUD", "value": 29.95}]
    assert Decimal(str(products["SKU-0002"]["prices"][0]["value"])) == Decimal("19.50")
    for ref in ("SKU-0001", "SKU-0002"):
        kept = {a["name"]: a["value"] for a in before[ref]["attributes"]}
        assert {a["name"]: a["value"] for a in products[ref]["attributes"]} == {**kept, "priceSource": "erp"}
    by_row = {r["lineage"]["row"]: r["reasons"][0] for r in rejects(report)}
    assert sorted(by_row) == [3, 4]
    assert by_row[3] == "not found: no product with ref 'NEW-7777'; update_only never creates one"
    assert "'ten'" in by_row[4]


def test_a_fulfilment_webhook_fetches_the_fulfilment_and_writes_it_as_xml_on_sftp(
    emu, cli, tmp_path, sftp_server, monkeypatch
) -> None:
    from tests.servers.sshd import PASSWORD

    monkeypatch.setenv("WMS_SFTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("FLUENT_WEBHOOK_PUBLIC_KEY", emu.public_key()["base64"])
    sftp_server.write("inbound/fulfilments/.keep", "")
    spec = copy("webhook-fulfilment-sftp-xml", tmp_path)
    overrides = [
        *fluent(emu),
        f"connections.wms.host={sftp_server.host}",
        f"connections.wms.port={sftp_server.port}",
        f"connections.wms.username={sftp_server.user}",
        f"connections.wms.host_key={sftp_server.host_fingerprint}",
    ]
    args = [a for o in overrides for a in ("--set", o)]
    payload = spec.parent / "data" / "fulfilment-created.json"
    ran = cli("run", str(spec), "--payload", str(payload), "--format", "json", *args)
    assert ran.exit_code == 0, ran.output
    (name,) = [f for f in sftp_server.files() if f.endswith(".xml")]
    assert name.startswith("inbound/fulfilments/fulfilment-")
    root = etree.fromstring((sftp_server.home / name).read_bytes())
    [element] = root.findall("Fulfilment")
    assert (root.tag, element.get("ref"), element.findtext("OrderRef")) == (
        "Fulfilments",
        "ORD-1001-F1",
        "ORD-1001",
    )
    assert element.find("ShipTo").findtext("City") == "Sydney"
    items = element.find("Items").findall("Item")
    assert [(i.findtext("Sku"), i.findtext("Quantity")) for i in items] == [
        ("SKU-0001", "1"),
        ("SKU-0002", "2"),
    ]
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({**json.loads(payload.read_text()), "entityRef": "NOPE-F9"}))
    refused = cli("run", str(spec), "--payload", str(unknown), "--format", "json", *args)
    assert refused.exit_code == 3  # a webhook caller gets the refusal (422 when served)
    report = json.loads(refused.output[refused.output.index("\n{") + 1 :])
    assert report["records"]["rejected"]["lookup"] == 1 and report["records"]["written"] == 0
    assert len([f for f in sftp_server.files() if f.endswith(".xml")]) == 1


def test_channel_sync_sends_every_position_then_none_then_only_the_changed(
    emu, api, tmp_path, run_spec, monkeypatch
) -> None:
    api.auth = "bearer"
    monkeypatch.setenv("CHANNEL_API_URL", api.url)
    monkeypatch.setenv("CHANNEL_TOKEN", TOKEN)
    spec = copy("channel-stock-sync", tmp_path)

    def sent() -> list[dict]:
        items = [i for r in api.requests("/items/batch") for i in r["body"]["items"]]
        api.log.clear()
        return items

    first = run_spec(spec, overrides=fluent(emu))
    assert first.status == "ok", first.error
    assert len(sent()) == first.counts["written"] == len(on_hand(emu)) == 250
    second = run_spec(spec, overrides=fluent(emu))
    assert second.status == "ok" and second.counts["unchanged"] == 250 and sent() == []
    changed = sorted(on_hand(emu))[10:13]
    for position in emu.store.inventory_positions:
        if (position["productRef"], position["locationRef"]) in changed:
            position["onHand"] += 7
    third = run_spec(spec, overrides=fluent(emu))
    assert third.status == "ok" and third.counts["written"] == 3 and third.counts["unchanged"] == 247
    now = on_hand(emu)
    assert sorted((i["sku"], i["location"], i["qty"]) for i in sent()) == [
        (s, loc, now[(s, loc)]) for s, loc in changed
    ]


def test_multi_channel_sync_sends_each_channel_its_own_quantities_then_only_the_changed(
    emu, api, tmp_path, run_spec, monkeypatch
) -> None:
    webshop = ApiServer().start()
    try:
        api.auth = webshop.auth = "bearer"
        monkeypatch.setenv("MARKETPLACE_API_URL", api.url)
        monkeypatch.setenv("WEBSHOP_API_URL", webshop.url)
        monkeypatch.setenv("MARKETPLACE_TOKEN", TOKEN)
        monkeypatch.setenv("WEBSHOP_TOKEN", TOKEN)
        spec = copy("multi-channel-stock-sync", tmp_path)

        def sent(server: ApiServer) -> dict[tuple[str, str], int]:
            batches = [r["body"] for r in server.requests("/items/batch")]
            items = [i for b in batches for i in (b["items"] if isinstance(b, dict) else b)]
            server.log.clear()
            return {(i["sku"], i["location"]): i["qty"] for i in items}

        first = run_spec(spec, overrides=fluent(emu))
        assert first.status == "ok", first.error
        stock = on_hand(emu)
        assert sent(api) == {key: max(qty - 2, 0) for key, qty in stock.items()}, "on-hand less the buffer"
        assert sent(webshop) == {key: min(qty, 50) for key, qty in stock.items()}, "on-hand capped at 50"
        assert first.routes["marketplace"]["written"] == first.routes["webshop"]["written"] == 250
        second = run_spec(spec, overrides=fluent(emu))
        assert second.status == "ok" and second.counts["written"] == 0
        assert sent(api) == {} and sent(webshop) == {}, "nothing changed, nothing sent"
        changed = sorted(stock)[10:13]
        for position in emu.store.inventory_positions:
            if (position["productRef"], position["locationRef"]) in changed:
                position["onHand"] += 70
                position["updatedOn"] = emu.core.clock.now_iso()
        webshop.fail("/items/batch", status=401)  # the web shop turns the token down once
        failed = run_spec(spec, overrides=fluent(emu))
        assert failed.status == "failed" and failed.routes["webshop"]["written"] == 0
        sent(api), sent(webshop)  # the requests of the failed run
        third = run_spec(spec, overrides=fluent(emu))
        assert third.status == "ok", third.error
        now = on_hand(emu)
        assert sent(api) == {key: now[key] - 2 for key in changed}
        assert sent(webshop) == dict.fromkeys(changed, 50), "what a failed run did not deliver is sent again"
    finally:
        webshop.stop()
