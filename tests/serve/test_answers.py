"""Webhook answers built from the run's results, and GET /runs/{id}, over real HTTP.

The XML acknowledgement case runs against the Fluent emulator: the ids in
the answer are the ones the emulator created, read back from its state.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from xml.etree import ElementTree

import pytest

from engine.emulator import Emulator
from engine.errors import SpecError
from engine.spec.compile import compile_file
from tests.http.server import ApiServer
from tests.serve.conftest import wait_for

KEY = "k" * 24


def fluent_connection(emu: Emulator) -> str:
    c = emu.credentials
    block = {
        "type": "fluent",
        "base_url": emu.url,
        "client_id": c["client_id"],
        "client_secret": c["client_secret"],
        "username": c["username"],
        "password": c["password"],
        "retailer_id": str(c["retailer_id"]),
    }
    return "connections:\n  fluent: " + json.dumps(block) + "\n"


ASN_SPEC = """
version: 1
name: asn
{connection}
source: {{type: payload}}
parser: {{type: xml, records: asn/line}}
mapping:
  fields:
    ref: {{source: "@ref", required: true}}
    name: {{source: name, required: true}}
    type: {{value: STORE}}
    primaryAddress.city: {{source: city}}
    retailer.id: {{source: $context.retailer_id}}
target: {{type: fluent.graphql, connection: fluent, mutation: createLocation, returning: "id ref"}}
on_error: {{max_reject_ratio: 1}}
trigger:
  webhook:
    path: /asn
    format: xml
    auth: {{type: api_key, api_key: "${{env:ASN_KEY}}"}}
    answer:
      mode: sync
      timeout: 20s
      status: 201
      content_type: application/xml
      body: '<ack run="{{{{ run.run_id }}}}" status="{{{{ run.status }}}}" written="{{{{ run.records.written }}}}">{{{{ each }}}}</ack>'
      each: '<line row="{{{{ row }}}}" ref="{{{{ input."@ref" }}}}" status="{{{{ status }}}}" id="{{{{ answer.id }}}}" reason="{{{{ reason }}}}"/>'
      separator: ""
"""

ASN = b"""<?xml version="1.0"?>
<asn>
  <line ref="ANS-1"><name>North &amp; "East"</name><city>Perth</city></line>
  <line ref="ANS-2"><city>Perth</city></line>
  <line ref="ANS-3"><name>South</name><city>Perth</city></line>
</asn>"""


def test_a_sync_answer_is_an_xml_acknowledgement_with_the_created_ids(
    emu, serve, client, write_spec, monkeypatch
):
    monkeypatch.setenv("ASN_KEY", KEY)
    server = serve(write_spec(ASN_SPEC.format(connection=fluent_connection(emu))))
    answer = client.post(server.url + "/asn", content=ASN, headers={"x-api-key": KEY})
    assert answer.status_code == 201, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    ack = ElementTree.fromstring(answer.text)
    assert ack.get("status") == "ok" and ack.get("written") == "2"
    lines = {line.get("ref"): line.attrib for line in ack}
    created = {loc["ref"]: str(loc["id"]) for loc in emu.state("locations") if loc["ref"].startswith("ANS-")}
    assert sorted(created) == ["ANS-1", "ANS-3"]
    assert lines["ANS-1"]["status"] == "delivered" and lines["ANS-1"]["id"] == created["ANS-1"]
    assert lines["ANS-3"]["id"] == created["ANS-3"]
    assert lines["ANS-2"]["status"] == "rejected" and lines["ANS-2"]["id"] == ""
    assert lines["ANS-2"]["reason"] == "name: required value is missing (source name)"
    assert [line.get("row") for line in ack] == ["1", "2", "3"]
    # the run id of the answer is the one GET /runs/{id} knows
    status = client.get(f"{server.url}/runs/{ack.get('run')}", headers={"x-api-key": KEY}).json()
    assert status["status"] == "succeeded" and status["records"]["written"] == 2


CSV_SPEC = """
version: 1
name: csv-answer
source: {{type: payload}}
parser: {{type: json}}
mapping:
  fields:
    ref: {{source: ref, required: true}}
    note: {{source: note}}
target: {{type: file, destination: {{type: local, path: out}}, name: "{{run_id}}.jsonl"}}
on_error: {{max_reject_ratio: 1}}
trigger:
  webhook:
    path: /orders
    auth: {{type: api_key, api_key: "${{env:ASN_KEY}}"}}
    answer:
      mode: sync
      content_type: {content_type}
      body: {body}
      each: {each}
      separator: "{separator}"
"""


@pytest.mark.parametrize(
    ("content_type", "body", "each", "separator", "expected"),
    [
        (
            "text/csv",
            '"row,status,note\\n{{ each }}\\n"',
            "'{{ row }},{{ status }},{{ input.note }}'",
            "\\n",
            'row,status,note\n1,delivered,"a, ""quoted"" note"\n2,rejected,=1+1\n',
        ),
        (
            "application/json",
            '\'{"run": {{ run.status }}, "lines": [{{ each }}]}\'',
            '\'{"row": {{ row }}, "note": {{ input.note }}, "out": {{ output }}}\'',
            ",",
            {
                "run": "ok",
                "lines": [
                    {"row": 1, "note": 'a, "quoted" note', "out": {"ref": "R1", "note": 'a, "quoted" note'}},
                    {"row": 2, "note": "=1+1", "out": None},
                ],
            },
        ),
    ],
    ids=["csv", "json"],
)
def test_answers_escape_values_for_their_content_type(
    serve, client, write_spec, monkeypatch, content_type, body, each, separator, expected
):
    monkeypatch.setenv("ASN_KEY", KEY)
    spec = CSV_SPEC.format(content_type=content_type, body=body, each=each, separator=separator)
    server = serve(write_spec(spec))
    records = [{"ref": "R1", "note": 'a, "quoted" note'}, {"note": "=1+1"}]
    answer = client.post(server.url + "/orders", json=records, headers={"x-api-key": KEY})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(content_type)
    assert (answer.json() if isinstance(expected, dict) else answer.text) == expected


def test_secrets_never_appear_in_an_answer(serve, client, write_spec, monkeypatch):
    monkeypatch.setenv("ASN_KEY", KEY)
    spec = CSV_SPEC.format(
        content_type="text/plain", body="'{{ each }}'", each="'{{ input.note }}'", separator="\\n"
    )
    server = serve(write_spec(spec))
    answer = client.post(
        server.url + "/orders", json=[{"ref": "R1", "note": f"key={KEY}"}], headers={"x-api-key": KEY}
    )
    assert answer.status_code == 200
    assert KEY not in answer.text and "key=" in answer.text


SLOW_SPEC = """
version: 1
name: slow
connections:
  api: {type: http, base_url: "${env:API_URL}"}
source: {type: payload}
parser: {type: json}
mapping:
  fields:
    sku: {source: sku, required: true}
target: {type: http, connection: api, path: /items}
trigger:
  webhook:
    path: /slow
    auth: {type: api_key, api_key: "${env:ASN_KEY}"}
    answer: {mode: sync, timeout: 300ms, body: '{"ids": [{{ each }}]}', each: '{{ answer.id }}', separator: ","}
"""


@pytest.fixture
def api() -> Iterator[ApiServer]:
    server = ApiServer().start()
    yield server
    server.stop()


def test_a_sync_answer_holds_what_an_http_target_answered(serve, client, write_spec, monkeypatch, api):
    monkeypatch.setenv("ASN_KEY", KEY)
    monkeypatch.setenv("API_URL", api.url)
    server = serve(write_spec(SLOW_SPEC.replace("300ms", "20s")))
    answer = client.post(server.url + "/slow", json=[{"sku": "A"}, {"sku": "B"}], headers={"x-api-key": KEY})
    assert answer.status_code == 200, answer.text
    stored = {item["sku"]: int(item_id) for item_id, item in api.items.items()}
    assert answer.json() == {"ids": [stored["A"], stored["B"]]}


def test_a_sync_run_past_its_timeout_is_answered_202_and_can_be_polled(
    serve, client, write_spec, monkeypatch, api
):
    monkeypatch.setenv("ASN_KEY", KEY)
    monkeypatch.setenv("API_URL", api.url)
    api.fail("/items", status=201, delay=3.0, body={"id": "late"})
    server = serve(write_spec(SLOW_SPEC))
    answer = client.post(server.url + "/slow", json={"sku": "A"}, headers={"x-api-key": KEY})
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["run_id"]
    assert answer.headers["location"] == f"/runs/{run_id}"
    url = f"{server.url}/runs/{run_id}"
    assert client.get(url, headers={"x-api-key": KEY}).json()["status"] == "running"
    assert wait_for(lambda: client.get(url, headers={"x-api-key": KEY}).json()["status"] == "succeeded")
    status = client.get(url, headers={"x-api-key": KEY}).json()
    assert status["records"]["written"] == 1 and status["connector"] == "slow" and status["attempts"] == 1


ASYNC_SPEC = """
version: 1
name: async-orders
source: {type: payload}
parser: {type: json}
target: {type: file, destination: {type: local, path: out}, name: "{run_id}.jsonl"}
trigger:
  webhook:
    path: /orders
    auth: {type: api_key, api_key: "${env:ASN_KEY}"}
    answer: {mode: async}
"""


def test_run_status_is_authenticated_like_its_webhook_and_unknown_ids_are_404(
    serve, client, write_spec, monkeypatch
):
    monkeypatch.setenv("ASN_KEY", KEY)
    server = serve(write_spec(ASYNC_SPEC))
    answer = client.post(server.url + "/orders", json=[{"ref": "R1"}], headers={"x-api-key": KEY})
    assert answer.status_code == 202
    url = f"{server.url}/runs/{answer.json()['run_id']}"
    assert wait_for(lambda: client.get(url, headers={"x-api-key": KEY}).json()["status"] == "succeeded")
    refused = client.get(url, headers={"x-api-key": "wrong" * 5})
    assert refused.status_code == 401 and "status" not in refused.json()
    assert client.get(url).status_code == 401
    unknown = client.get(server.url + "/runs/20260101T000000Z-abcdef", headers={"x-api-key": KEY})
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            "{mode: sync, body: '{{ runs.status }}'}",
            "unknown name 'runs' in {{ runs.status }} (did you mean 'run'?)",
        ),
        (
            "{mode: sync, body: 'x', each: '{{ answer.[ }}'}",
            "trigger.webhook.answer.each: invalid placeholder",
        ),
        ("{mode: sync, body: 'x', each: '{{ length(inputs) }}'}", "unknown name 'inputs'"),
        ("{mode: sync, body: '{{ each }}'}", "{{ each }} needs an each: text"),
        ("{mode: async, body: 'x'}", "trigger.webhook.answer.body: only a sync answer has a body"),
        ("{mode: sync, timeout: soon}", "trigger.webhook.answer.timeout"),
    ],
)
def test_answer_templates_are_checked_when_the_spec_compiles(write_spec, answer, expected):
    path = write_spec(
        f"""
        version: 1
        name: checked
        source: {{type: payload}}
        parser: {{type: json}}
        target: {{type: stdout}}
        trigger:
          webhook:
            path: /x
            auth: {{type: none}}
            answer: {answer}
        """
    )
    with pytest.raises(SpecError) as caught:
        compile_file(str(path))
    rendered = [d.render() for d in caught.value.diagnostics if d.severity == "error"]
    assert len(rendered) == 1 and expected in rendered[0], rendered
    assert "spec.yaml:10:" in rendered[0]  # the answer's own line


RETRIED_SPEC = """
version: 1
name: retried
connections:
  api: {type: http, base_url: "${env:API_URL}", retry: {max_attempts: 1}}
source: {type: payload}
parser: {type: json}
mapping:
  fields:
    sku: {source: sku, required: true}
target: {type: http, connection: api, path: /items, idempotent: true}
trigger:
  webhook:
    path: /retried
    auth: {type: api_key, api_key: "${env:ASN_KEY}"}
"""


def test_run_status_follows_an_async_run_through_its_retry(serve, client, write_spec, monkeypatch, api):
    monkeypatch.setenv("ASN_KEY", KEY)
    monkeypatch.setenv("API_URL", api.url)
    api.fail("/items", status=503)  # once: the first run fails, the worker tries again (after 5 s)
    server = serve(write_spec(RETRIED_SPEC))
    answer = client.post(server.url + "/retried", json={"sku": "A"}, headers={"x-api-key": KEY})
    assert answer.status_code == 202
    url = f"{server.url}/runs/{answer.json()['run_id']}"

    def status() -> dict:
        return client.get(url, headers={"x-api-key": KEY}).json()

    retrying = wait_for(lambda: status()["status"] == "retrying")
    assert retrying, status()
    first = status()
    assert first["attempts"] == 1 and first["retry_in"] >= 5 and "503" in first["error"]
    assert wait_for(lambda: status()["status"] == "succeeded", timeout=30), status()
    done = status()
    assert done["attempts"] == 2 and done["last_attempt"] == f"{done['run_id']}-2"
    assert done["records"]["written"] == 1 and done["error"] is None
    assert [item["sku"] for item in api.items.values()] == ["A"]


def test_a_graceful_stop_waits_for_a_sync_run_answered_202(serve, client, write_spec, monkeypatch, api):
    monkeypatch.setenv("ASN_KEY", KEY)
    monkeypatch.setenv("API_URL", api.url)
    api.fail("/items", status=201, delay=2.0, body={"id": "late"})
    server = serve(write_spec(SLOW_SPEC))
    answer = client.post(server.url + "/slow", json={"sku": "A"}, headers={"x-api-key": KEY})
    assert answer.status_code == 202
    assert server.stop(timeout=20) is True  # returns once the run that outlived its request ended
    run = server.specs[0].runs.get(answer.json()["run_id"])
    assert run is not None and run["status"] == "succeeded" and run["records"]["written"] == 1
