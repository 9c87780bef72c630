"""The events inbound, reservation, transfer, return and payment flows send, and their effects.

Each test runs a template's flow the way a connector would, over HTTP: GraphQL to look up and
create entities, the Event API to tell Fluent what happened, GraphQL again to see the result.
"""

from __future__ import annotations

from typing import Any

from tests.emulator.test_flows_graphql import CATALOGUE, CREATE_QUANTITY, data, nodes, quantity_input

POSITION = """query ($ref: String!) { inventoryPosition(ref: $ref, catalogue: {ref: "DEFAULT:1"}) {
  onHand quantities { edges { node { ref type status quantity attributes { name value } } } } } }"""


def event(name: str, entity_type: str, entity_ref: str, **attributes: Any) -> dict[str, Any]:
    return {
        "name": name,
        "entityType": entity_type,
        "entityRef": entity_ref,
        "rootEntityType": "INVENTORY_CATALOGUE",
        "rootEntityRef": "DEFAULT:1",
        "retailerId": "1",
        "attributes": attributes,
    }


def sync(api, payload: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/api/v4.1/event/sync", payload)
    assert response.status_code == 200, response.text
    return response.json()


def position(api, ref: str) -> dict[str, Any]:
    found = data(api.gql(POSITION, {"ref": ref}))["inventoryPosition"]
    assert found is not None, f"no position {ref}"
    return {"onHand": found["onHand"], "quantities": nodes(found["quantities"])}


def quantity(api, position_ref: str, ref: str) -> dict[str, Any]:
    found = [q for q in position(api, position_ref)["quantities"] if q["ref"] == ref]
    assert found, f"{position_ref} has no quantity {ref}"
    attributes = {a["name"]: a["value"] for a in found[0]["attributes"] or []}
    return {**found[0], "attributes": attributes}


# --- inbound: ASN -> expected receipt -> cross-dock flag -> receipt -------------------------


def test_the_asn_flow_expects_flags_and_receives_stock(api):
    dedupe = '{ inventoryQuantities(ref: ["ASN-77-1"], first: 1) { edges { node { id } } } }'
    assert nodes(data(api.gql(dedupe))["inventoryQuantities"]) == []
    expected = quantity_input("ASN-77-1", position="SKU-0007:LOC-004", quantity=24)
    data(api.gql(CREATE_QUANTITY, {"input": expected}))
    assert len(nodes(data(api.gql(dedupe))["inventoryQuantities"])) == 1
    before = position(api, "SKU-0007:LOC-004")["onHand"]

    crossdock = event("InventoryReceiptCrossDock", "INVENTORY", "ASN-77-1", destinationOrderRef="ORD-1004")
    assert api.post("/api/v4.1/event/async", crossdock).status_code == 200
    flagged = quantity(api, "SKU-0007:LOC-004", "ASN-77-1")
    assert flagged["attributes"] == {"crossDock": True, "destinationOrderRef": "ORD-1004"}
    assert position(api, "SKU-0007:LOC-004")["onHand"] == before

    receipt = sync(api, event("InventoryReceived", "INVENTORY_QUANTITY", "ASN-77-1", quantity=22))
    assert receipt["eventStatus"] == "COMPLETE"
    assert position(api, "SKU-0007:LOC-004")["onHand"] == before + 22
    received = quantity(api, "SKU-0007:LOC-004", "ASN-77-1")
    assert received["status"] == "RECEIVED"
    assert received["attributes"]["receivedQuantity"] == 22 and received["attributes"]["variance"] == -2
    assert quantity(api, "SKU-0007:LOC-004", "SKU-0007:LOC-004:LAST_ON_HAND")["quantity"] == before + 22

    again = sync(api, event("InventoryReceived", "INVENTORY_QUANTITY", "ASN-77-1"))
    assert again["eventStatus"] == "FAILED" and "already been received" in again["message"]
    assert position(api, "SKU-0007:LOC-004")["onHand"] == before + 22


def test_a_receipt_without_a_quantity_books_what_was_expected(api):
    before = position(api, "SKU-0001:LOC-002")["onHand"]
    assert (
        sync(api, event("InventoryReceived", "INVENTORY_QUANTITY", "ASN-1001-1"))["eventStatus"] == "COMPLETE"
    )
    assert position(api, "SKU-0001:LOC-002")["onHand"] == before + 24


def test_receipt_events_that_cannot_apply(emu, api):
    unknown = api.post("/api/v4.1/event/sync", event("InventoryReceived", "INVENTORY_QUANTITY", "ASN-404"))
    assert unknown.status_code == 404
    not_expected = sync(api, event("InventoryReceived", "INVENTORY_QUANTITY", "RES-1001"))
    assert not_expected["eventStatus"] == "FAILED" and "not EXPECTED" in not_expected["message"]
    negative = sync(api, event("InventoryReceived", "INVENTORY_QUANTITY", "ASN-1001-1", quantity=-3))
    assert negative["eventStatus"] == "FAILED" and "attributes.quantity" in negative["message"]
    wrong_catalogue = {
        **event("InventoryReceived", "INVENTORY_QUANTITY", "ASN-1001-1"),
        "rootEntityRef": "DEFAULT:2",
    }
    assert api.post("/api/v4.1/event/sync", wrong_catalogue).status_code == 404
    assert quantity(api, "SKU-0001:LOC-002", "ASN-1001-1")["status"] == "EXPECTED"
    logged = api.get("/api/v4.1/event", name="InventoryReceived").json()["results"]
    assert sorted(e["eventStatus"] for e in logged) == ["FAILED", "FAILED", "NO_MATCH", "NO_MATCH"]


# --- reservations ----------------------------------------------------------------------------


def test_a_reservation_holds_stock_until_released(api):
    on_hand = position(api, "SKU-0001:LOC-001")["onHand"]
    held = 2  # the seeded RES-1001
    too_many = sync(
        api, event("InventoryReserved", "INVENTORY_POSITION", "SKU-0001:LOC-001", quantity=on_hand)
    )
    assert too_many["eventStatus"] == "FAILED"
    assert f"Only {on_hand - held} of SKU-0001 available" in too_many["message"]

    made = sync(
        api,
        event(
            "InventoryReserved",
            "INVENTORY_POSITION",
            "SKU-0001:LOC-001",
            ref="FLASH-1",
            quantity=on_hand - held,
            expectedOn="2030-01-01T10:00:00+10:00",
            promotion_id="SALE-1",
        ),
    )
    assert made["eventStatus"] == "COMPLETE"
    reservation = quantity(api, "SKU-0001:LOC-001", "FLASH-1")
    assert reservation["type"] == "RESERVED" and reservation["status"] == "RESERVED"
    assert reservation["quantity"] == on_hand - held and reservation["attributes"] == {
        "promotion_id": "SALE-1"
    }
    assert position(api, "SKU-0001:LOC-001")["onHand"] == on_hand
    more = sync(api, event("InventoryReserved", "INVENTORY_POSITION", "SKU-0001:LOC-001", quantity=1))
    assert more["eventStatus"] == "FAILED" and "Only 0 of SKU-0001" in more["message"]

    by_promotion = '{ inventoryQuantities(type: ["RESERVED"], expectedOn: {from: "2030-01-01T00:00:00Z"}) { edges { node { ref } } } }'
    assert [n["ref"] for n in nodes(data(api.gql(by_promotion))["inventoryQuantities"])] == ["FLASH-1"]

    release = event("InventoryReservationReleased", "INVENTORY_QUANTITY", "RES-1001", status="EXPIRED")
    assert sync(api, release)["eventStatus"] == "COMPLETE"
    assert quantity(api, "SKU-0001:LOC-001", "RES-1001")["status"] == "EXPIRED"
    assert (
        sync(api, event("InventoryReserved", "INVENTORY_POSITION", "SKU-0001:LOC-001", quantity=2))[
            "eventStatus"
        ]
        == "COMPLETE"
    )
    twice = sync(api, release)
    assert twice["eventStatus"] == "FAILED" and "already EXPIRED" in twice["message"]


def test_reservations_created_by_mutation_hold_stock_too(api):
    on_hand = position(api, "SKU-0009:LOC-005")["onHand"]
    held = quantity_input("PRE-1", position="SKU-0009:LOC-005", type="RESERVED", quantity=on_hand)
    data(api.gql(CREATE_QUANTITY, {"input": held}))
    refused = sync(api, event("InventoryReserved", "INVENTORY_POSITION", "SKU-0009:LOC-005", quantity=1))
    assert refused["eventStatus"] == "FAILED"
    update = "mutation ($i: UpdateInventoryQuantityInput) { updateInventoryQuantity(input: $i) { status } }"
    data(api.gql(update, {"i": {"ref": "PRE-1", "catalogue": CATALOGUE, "status": "CANCELLED"}}))
    granted = sync(api, event("InventoryReserved", "INVENTORY_POSITION", "SKU-0009:LOC-005", quantity=1))
    assert granted["eventStatus"] == "COMPLETE"


# --- transfers -------------------------------------------------------------------------------


def test_a_transfer_leaves_the_source_and_is_received_at_the_destination(api):
    source = position(api, "SKU-0003:LOC-001")["onHand"]
    assert (
        data(api.gql('{ inventoryPosition(ref: "SKU-0003:LOC-009", catalogue: {ref: "DEFAULT:1"}) { id } }'))[
            "inventoryPosition"
        ]
        is None
    )
    dispatch = event(
        "InventoryTransferDispatched",
        "INVENTORY_POSITION",
        "SKU-0003:LOC-001",
        ref="TRF-1",
        toLocationRef="LOC-009",
        quantity=3,
        reason="REBALANCE",
    )
    assert sync(api, dispatch)["eventStatus"] == "COMPLETE"
    assert position(api, "SKU-0003:LOC-001")["onHand"] == source - 3
    destination = position(api, "SKU-0003:LOC-009")
    assert destination["onHand"] == 0
    in_transit = quantity(api, "SKU-0003:LOC-009", "TRF-1")
    assert (in_transit["type"], in_transit["status"], in_transit["quantity"]) == ("EXPECTED", "IN_TRANSIT", 3)
    assert in_transit["attributes"] == {"fromLocationRef": "LOC-001", "reason": "REBALANCE"}
    replay = sync(api, dispatch)
    assert replay["eventStatus"] == "FAILED" and "TRF-1 already exists" in replay["message"]
    assert position(api, "SKU-0003:LOC-001")["onHand"] == source - 3

    assert (
        sync(api, event("InventoryReceived", "INVENTORY_QUANTITY", "TRF-1", quantity=2))["eventStatus"]
        == "COMPLETE"
    )
    assert position(api, "SKU-0003:LOC-009")["onHand"] == 2
    assert quantity(api, "SKU-0003:LOC-009", "TRF-1")["attributes"]["variance"] == -1


def test_a_transfer_cannot_move_more_than_is_available_or_go_nowhere(api):
    source = position(api, "SKU-0004:LOC-002")["onHand"]
    cases = {
        "Only": {"toLocationRef": "LOC-009", "quantity": source + 1},
        "not a location": {"toLocationRef": "LOC-404", "quantity": 1},
        "already is": {"toLocationRef": "LOC-002", "quantity": 1},
        "attributes.quantity is required": {"toLocationRef": "LOC-009"},
    }
    for message, attributes in cases.items():
        answer = sync(
            api, event("InventoryTransferDispatched", "INVENTORY_POSITION", "SKU-0004:LOC-002", **attributes)
        )
        assert answer["eventStatus"] == "FAILED" and message in answer["message"], answer
    assert position(api, "SKU-0004:LOC-002")["onHand"] == source


# --- returns -----------------------------------------------------------------------------------


def test_a_received_return_goes_back_into_stock(api):
    before = position(api, "SKU-0001:LOC-001")["onHand"]
    received = {
        "name": "ReturnOrderReceived",
        "entityType": "RETURN_ORDER",
        "entityRef": "RET-1001",
        "retailerId": "1",
    }
    assert sync(api, received)["eventStatus"] == "COMPLETE"
    assert position(api, "SKU-0001:LOC-001")["onHand"] == before + 1
    found = data(
        api.gql(
            '{ returnOrder(ref: "RET-1001", retailer: {id: "1"}) '
            "{ status returnOrderItems { edges { node { status } } } } }"
        )
    )["returnOrder"]
    assert found["status"] == "RECEIVED" and nodes(found["returnOrderItems"]) == [{"status": "RECEIVED"}]
    again = sync(api, received)
    assert again["eventStatus"] == "FAILED" and "already RECEIVED" in again["message"]
    assert position(api, "SKU-0001:LOC-001")["onHand"] == before + 1


def test_a_return_restocks_only_the_items_listed_at_the_location_given(api):
    received = {
        "name": "ReturnOrderReceived",
        "entityType": "RETURN_ORDER",
        "entityRef": "RET-1001",
        "retailerId": "1",
        "attributes": {"locationRef": "LOC-010", "items": [{"ref": "RET-1001-1", "quantity": 0}]},
    }
    assert sync(api, received)["eventStatus"] == "COMPLETE"
    assert position(api, "SKU-0001:LOC-010")["onHand"] == 0
    unknown = {**received, "entityRef": "RET-1001", "attributes": {"items": [{"ref": "RET-1001-7"}]}}
    assert (
        sync(api, {**unknown, "name": "SET_STATUS", "attributes": {"status": "CREATED"}})["eventStatus"]
        == "COMPLETE"
    )
    failed = sync(api, unknown)
    assert failed["eventStatus"] == "FAILED" and "RET-1001-7" in failed["message"]


# --- payments ----------------------------------------------------------------------------------

PAYMENTS = '{ order(ref: "ORD-1001") { financialTransactions { edges { node { ref type status total currency externalTransactionId } } } } }'


def payment(name: str, **attributes: Any) -> dict[str, Any]:
    return {
        "name": name,
        "entityType": "ORDER",
        "entityRef": "ORD-1001",
        "retailerId": "1",
        "attributes": attributes,
    }


def test_payment_gateway_events_record_transactions_on_the_order(api):
    captured = payment(
        "PaymentCaptured",
        paymentReference="PSP-CAP-1",
        originalPaymentReference="ORD-1001-P1",
        amount=89.9,
        currency="AUD",
    )
    assert sync(api, captured)["eventStatus"] == "COMPLETE"
    refunded = payment(
        "PaymentRefunded", refundReference="PSP-REF-1", originalPaymentReference="PSP-CAP-1", amount=29.95
    )
    assert sync(api, refunded)["eventStatus"] == "COMPLETE"
    cancelled = payment(
        "PaymentAuthorizationCancelled",
        cancellationReference="PSP-CAN-1",
        originalPaymentReference="ORD-1001-P1",
    )
    assert sync(api, cancelled)["eventStatus"] == "COMPLETE"
    found = nodes(data(api.gql(PAYMENTS))["order"]["financialTransactions"])
    assert [(t["ref"], t["type"], t["status"], t["total"], t["currency"]) for t in found] == [
        ("ORD-1001-P1", "PAYMENT", "AUTHORIZED", 89.9, "AUD"),
        ("PSP-CAP-1", "PAYMENT", "CAPTURED", 89.9, "AUD"),
        ("PSP-REF-1", "REFUND", "REFUNDED", 29.95, "AUD"),
        ("PSP-CAN-1", "PAYMENT", "AUTHORIZATION_CANCELLED", 89.9, "AUD"),
    ]
    assert found[2]["externalTransactionId"] == "PSP-CAP-1"

    replay = sync(api, captured)
    assert replay["eventStatus"] == "FAILED" and "already has transaction PSP-CAP-1" in replay["message"]
    assert len(nodes(data(api.gql(PAYMENTS))["order"]["financialTransactions"])) == 4


def test_payment_events_that_cannot_be_recorded(api):
    no_amount = sync(api, payment("PaymentReauthorized", reauthReference="PSP-RE-1"))
    assert no_amount["eventStatus"] == "FAILED" and "attributes.amount is required" in no_amount["message"]
    bad_amount = sync(api, payment("PaymentCaptured", amount="lots"))
    assert bad_amount["eventStatus"] == "FAILED" and "must be a number" in bad_amount["message"]
    # The payment template puts the gateway's details in "data", which the Event API does not read.
    template_shaped = {**payment("PaymentCaptured"), "data": {"amount": 10, "currency": "AUD"}}
    assert sync(api, template_shaped)["eventStatus"] == "FAILED"
    unknown_order = api.post(
        "/api/v4.1/event/sync", {**payment("PaymentCaptured", amount=1), "entityRef": "ORD-404"}
    )
    assert unknown_order.status_code == 404
    assert len(nodes(data(api.gql(PAYMENTS))["order"]["financialTransactions"])) == 1


def test_generic_status_events_reach_the_new_entities(api):
    set_status = {"name": "SET_STATUS", "retailerId": "1", "attributes": {"status": "AWAITING_INSPECTION"}}
    assert (
        sync(api, {**set_status, "entityType": "RETURN_ORDER", "entityRef": "RET-1001"})["eventStatus"]
        == "COMPLETE"
    )
    assert (
        sync(api, {**set_status, "entityType": "INVENTORY_QUANTITY", "entityRef": "ASN-1001-1"})[
            "eventStatus"
        ]
        == "COMPLETE"
    )
    status = '{ returnOrder(ref: "RET-1001", retailer: {id: "1"}) { status } }'
    assert data(api.gql(status))["returnOrder"]["status"] == "AWAITING_INSPECTION"
    assert quantity(api, "SKU-0001:LOC-002", "ASN-1001-1")["status"] == "AWAITING_INSPECTION"
