"""The public Fluent SDK's own services, run unmodified under node against the emulator over HTTP.

``make test-sdk-setup`` installs the SDK from ``tests/emulator/sdk/package-lock.json``;
``tests/emulator/sdk/drive.mjs`` runs one service and prints its result as JSON.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.emulator import Emulator
from tests.emulator.sdk_corpus import PACKAGE

SDK = Path(__file__).resolve().parent / "sdk"
NODE = shutil.which("node")


def drive(emu_url: str, credentials: dict[str, str], scenario: str, argument: Any = None) -> Any:
    assert NODE, "node is not installed (the SDK tests need node 20 or later)"
    assert PACKAGE.is_dir(), "the Fluent SDK is not installed: run `make test-sdk-setup`"
    env = {
        **os.environ,
        "FLUENT_CLIENT_ID": credentials["client_id"],
        "FLUENT_CLIENT_SECRET": credentials["client_secret"],
        "FLUENT_USERNAME": credentials["username"],
        "FLUENT_PASSWORD": credentials["password"],
        "FLUENT_RETAILER_ID": credentials["retailer_id"],
    }
    args = [NODE, "drive.mjs", scenario, emu_url] + ([json.dumps(argument)] if argument is not None else [])
    done = subprocess.run(args, cwd=SDK, env=env, capture_output=True, text=True, timeout=120)
    lines = done.stdout.strip().splitlines()
    assert lines, f"no output from the SDK (exit {done.returncode}): {done.stderr[-2000:]}"
    result = json.loads(lines[-1])
    assert "thrown" not in result, result["thrown"]
    return result


@pytest.fixture(scope="module")
def cli_emulator() -> Iterator[str]:
    """A real ``engine emulator`` process with the default seed, on a free port."""
    engine = Path(sys.executable).with_name("engine")
    process = subprocess.Popen(
        [str(engine), "emulator", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert found, f"engine emulator did not start: {first}"
        yield found.group(0)
    finally:
        process.terminate()
        process.wait(timeout=10)


DEMO = {
    "client_id": "DEMO",
    "client_secret": "demo-secret",
    "username": "demo",
    "password": "demo-password",
    "retailer_id": "1",
}


def test_the_sdk_connection_check_passes_against_engine_emulator(cli_emulator):
    result = drive(cli_emulator, DEMO, "connection")
    assert result["success"] is True
    assert result["details"] == {
        "userId": "1",
        "username": "demo",
        "userType": "ADMIN",
        "userStatus": "ACTIVE",
        "retailerId": "1",
        "retailerRef": "demo-retailer",
        "retailerName": "Demo Retailer",
        "locationId": "1",
        "locationRef": "LOC-001",
        "locationName": "Sydney CBD",
    }


@pytest.fixture(scope="module")
def server() -> Iterator[Emulator]:
    with Emulator(settings={"job_shape": "sdk_types"}) as emu:
        yield emu


@pytest.fixture
def emu(server: Emulator) -> Emulator:
    server.reset()
    return server


POSITIONS = """
query Positions($first: Int, $after: String) {
  inventoryPositions(first: $first, after: $after, locationRef: ["LOC-002"]) {
    edges { node { id ref productRef locationRef onHand } cursor }
    pageInfo { hasNextPage }
  }
}
"""


def test_the_extraction_orchestrator_pages_every_position_exactly_once(emu):
    result = drive(
        emu.url,
        emu.credentials,
        "extraction",
        {"query": POSITIONS, "resultPath": "inventoryPositions.edges.node", "pageSize": 7},
    )
    refs = [record["ref"] for record in result["records"]]
    expected = [row["ref"] for row in emu.state("inventory_positions", locationRef="LOC-002")]
    assert len(expected) == 50
    assert refs == expected
    graphql = emu.requests(path="/graphql")
    assert len(graphql) == 8  # 50 positions, 7 a page
    assert [r["json"]["variables"].get("after") is None for r in graphql].count(True) == 1


def test_the_introspection_service_reads_mutations_and_input_types(emu):
    result = drive(
        emu.url,
        emu.credentials,
        "introspection",
        {"mutation": "createLocation", "inputType": "CreateLocationInput"},
    )
    assert {"createLocation", "createOrder", "updateInventoryQuantity", "createCustomer"} <= set(
        result["mutations"]
    )
    assert result["mutation"]["name"] == "createLocation"
    assert result["refRequired"] is True
    assert result["statusRequired"] is False
    fields = {field["name"]: field for field in result["input"]["fields"]}
    assert fields["primaryAddress"]["type"] == "AddressInput"
    assert fields["ref"]["required"] is True


LOCATION_MAPPING = {
    "version": "1.0",
    "mutation": "createLocation",
    "sourceFormat": "json",
    "arguments": {
        "input": {
            "_type": "CreateLocationInput!",
            "ref": {"source": "code"},
            "name": {"source": "label"},
            "type": {"value": "STORE"},
            "retailer": {"id": {"value": "1"}},
            "supportPhoneNumber": {"source": "phone"},
        }
    },
    "returnFields": ["id", "ref", "name", "supportPhoneNumber"],
    "aliasBatching": {"enabled": True, "mutationsPerBatch": 5},
}


def test_aliased_mutations_built_by_the_mapper_succeed_or_fail_per_alias(emu):
    items = [
        {"code": "NEW-1", "label": "New one", "phone": "+61 1"},
        {"code": "LOC-003", "label": "Duplicate of a seeded location", "phone": "+61 2"},
        {"code": "NEW-3", "label": "New three", "phone": "+61 3"},
    ]
    result = drive(
        emu.url, emu.credentials, "aliasedMutations", {"mapping": LOCATION_MAPPING, "items": items}
    )
    assert "createLocation1: createLocation(input: $input1)" in result["query"]
    parsed = result["parsed"]
    assert (parsed["executed"], parsed["failed"]) == (2, 1)
    assert [r["success"] for r in parsed["results"]] == [True, False, True]
    assert result["data"]["createLocation2"] is None
    assert result["errors"][0]["path"] == ["createLocation2"]
    assert result["errors"][0]["extensions"]["code"] == "C0123E"
    assert result["data"]["createLocation3"]["supportPhoneNumber"] == "+61 3"
    assert [r["ref"] for r in emu.state("locations", ref="NEW-3")] == ["NEW-3"]


def test_batch_status_polling_with_sdk_typed_shapes(emu):
    batch = {
        "action": "UPSERT",
        "entityType": "INVENTORY",
        "entities": [
            {"locationRef": "LOC-001", "skuRef": "SKU-0001", "qty": 41, "retailerId": 1},
            {"locationRef": "NOWHERE", "skuRef": "SKU-0002", "qty": 5, "retailerId": 1},
        ],
    }
    result = drive(emu.url, emu.credentials, "batch", {"batch": batch})
    assert result["seen"][-1] == "COMPLETED"
    assert "PROCESSING" in result["seen"]
    final = result["final"]
    assert final["id"] == result["batchId"]
    assert final["errors"] == [{"code": "400", "message": "Unknown location NOWHERE", "entityIndex": 1}]
    assert result["job"]["id"] == result["jobId"]
    position = emu.state("inventory_positions", productRef="SKU-0001", locationRef="LOC-001")[0]
    assert position["onHand"] == 41


def test_the_webhook_validation_service_accepts_emulator_signatures_and_rejects_tampering(emu):
    received: list[dict[str, Any]] = []
    with _Receiver(received) as url:
        event = {"name": "ORDER_UPDATED", "entityType": "ORDER", "entityRef": "ORD-1001", "retailerId": "1"}
        emu.send_webhook(event, url=url)
        emu.send_webhook(event, url=url, fault="tampered_body")
    deliveries = [
        {"body": r["body"], "headers": {k.lower(): v for k, v in r["headers"].items()}} for r in received
    ]
    key = emu.public_key()["base64"]
    results = drive(emu.url, emu.credentials, "webhook", {"deliveries": deliveries, "publicKey": key})
    assert [r["isValid"] for r in results] == [True, False]
    assert results[0]["algorithm"] == "SHA512withRSA"


class _Receiver:
    """A loopback HTTP server recording webhook deliveries (raw body and headers)."""

    def __init__(self, received: list[dict[str, Any]]) -> None:
        self.received = received

    def __enter__(self) -> str:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append({"body": body.decode("utf-8"), "headers": dict(self.headers.items())})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __exit__(self, *_: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def test_the_connection_check_reports_bad_credentials(emu):
    result = drive(emu.url, {**emu.credentials, "password": "not-the-password"}, "connection")
    assert result["success"] is False
    assert "OAuth2 authentication failed" in result["error"]
    assert [r["status"] for r in emu.requests(path="/oauth/token")] == [400]


# The ASN template's duplicate check, as it is written (a String! variable where Fluent's filter
# takes a list, which GraphQL rejects) and as it has to be written.
CHECK_EXISTING_RECEIPT = """
      query CheckExistingReceipt($ref: String!) {
        inventoryQuantities(ref: $ref, first: 1) {
          edges { node { id ref status } }
        }
      }"""
CHECK_RECEIPT = CHECK_EXISTING_RECEIPT.replace("$ref: String!", "$ref: [String!]")

EXPECT = """mutation ($input: CreateInventoryQuantityInput!) {
  createInventoryQuantity(input: $input) { id ref status } }"""


def test_the_sdk_client_runs_the_asn_and_payment_template_steps(emu):
    catalogue = {"ref": "DEFAULT:1"}
    expected = {
        "ref": "ASN-SDK-1",
        "catalogue": catalogue,
        "position": {"ref": "SKU-0011:LOC-001", "catalogue": catalogue},
        "type": "EXPECTED",
        "quantity": 6,
        "expectedOn": "2030-05-01T00:00:00Z",
    }
    steps = [
        {"graphql": {"query": CHECK_EXISTING_RECEIPT, "variables": {"ref": "ASN-SDK-1"}}},
        {"graphql": {"query": CHECK_RECEIPT, "variables": {"ref": "ASN-SDK-1"}}},
        {"graphql": {"query": EXPECT, "variables": {"input": expected}}},
        {"graphql": {"query": CHECK_RECEIPT, "variables": {"ref": "ASN-SDK-1"}}},
        # the templates' events, with their details under the Event API's "attributes"
        {
            "event": {
                "name": "InventoryReceiptCrossDock",
                "entityType": "INVENTORY",
                "entityRef": "ASN-SDK-1",
                "attributes": {"destinationOrderRef": "ORD-1004", "priority": "HIGH"},
            }
        },
        {
            "event": {
                "name": "PaymentCaptured",
                "entityType": "ORDER",
                "entityRef": "ORD-1002",
                "attributes": {"paymentReference": "PSP-9", "amount": 45.0, "currency": "AUD"},
            },
            "mode": "sync",
        },
        {
            "event": {
                "name": "InventoryReceived",
                "entityType": "INVENTORY_QUANTITY",
                "entityRef": "ASN-SDK-1",
            },
            "mode": "sync",
        },
    ]
    before = emu.state("inventory_positions", ref="SKU-0011:LOC-001")[0]["onHand"]
    answers = drive(emu.url, emu.credentials, "steps", {"steps": steps})
    assert "expecting type '[String]'" in answers[0]["errors"][0]["message"]
    assert answers[1]["data"]["inventoryQuantities"]["edges"] == []
    assert answers[2]["data"]["createInventoryQuantity"]["status"] == "CREATED"
    assert answers[3]["data"]["inventoryQuantities"]["edges"][0]["node"]["ref"] == "ASN-SDK-1"
    assert answers[4]["success"] is True
    assert answers[5]["eventStatus"] == "COMPLETE" and answers[6]["eventStatus"] == "COMPLETE"
    [receipt] = emu.state("inventory_quantities", ref="ASN-SDK-1")
    assert receipt["status"] == "RECEIVED"
    assert {"name": "crossDock", "type": "BOOLEAN", "value": True} in receipt["attributes"]
    assert emu.state("inventory_positions", ref="SKU-0011:LOC-001")[0]["onHand"] == before + 6
    [captured] = emu.state("financial_transactions", ref="PSP-9")
    assert (captured["status"], captured["total"]) == ("CAPTURED", 45.0)
