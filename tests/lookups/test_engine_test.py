"""``engine test`` with lookups: each case declares the lookups' answers, so a spec tests offline."""

from __future__ import annotations

import json

from engine.spec.compile import compile_file
from engine.testing.spec_tests import run_tests

GRAPHQL = """
version: 1
name: cycle-count
connections:
  fluent: {type: fluent, base_url: "http://127.0.0.1:9", client_id: c, client_secret: "${env:NOPE_SECRET}",
           username: u, password: "${env:NOPE_PASSWORD}", retailer_id: "1"}
source: {type: local, path: inbox, pattern: "*.csv"}
parser: {type: csv}
lookups:
  position:
    type: fluent.graphql
    connection: fluent
    key: {sku: sku, location: location}
    query: |
      query($sku: [String], $location: [String], $after: String) {
        inventoryPositions(productRef: $sku, locationRef: $location, first: 2, after: $after) {
          edges { cursor node { productRef locationRef onHand } }
          pageInfo { hasNextPage }
        }
      }
    records: inventoryPositions.edges[*].node
    match: {sku: productRef, location: locationRef}
mapping:
  fields:
    skuRef:   {source: sku}
    variance: {expr: "subtract(record.counted, lookup.position.onHand)"}
target: {type: stdout}
tests:
%(cases)s
"""


def edge(sku: str, loc: str, on_hand: int, cursor: str) -> dict:
    return {"cursor": cursor, "node": {"productRef": sku, "locationRef": loc, "onHand": on_hand}}


def page(edges: list[dict], more: bool) -> dict:
    return {"data": {"inventoryPositions": {"edges": edges, "pageInfo": {"hasNextPage": more}}}}


def results(write_spec, text: str) -> list:
    return run_tests(compile_file(write_spec(text)))


def cases(*items: dict) -> str:
    return "\n".join("  - " + json.dumps(c) for c in items)


def test_recorded_graphql_responses_answer_the_lookup_through_its_paging_and_matching(write_spec) -> None:
    responses = [
        page([edge("A1", "L1", 10, "c1"), edge("A1", "L9", 99, "c2")], more=True),  # L9: nobody asked
        page([edge("B2", "L1", 3, "c3")], more=False),
    ]
    case = {
        "name": "variance per position",
        "input": [
            {"sku": "A1", "location": "L1", "counted": "7.5"},
            {"sku": "B2", "location": "L1", "counted": "3"},
            {"sku": "C3", "location": "L1", "counted": "1"},
        ],
        "lookups": {"position": {"responses": responses}},
        "expect": [{"skuRef": "A1", "variance": -2.5}, {"skuRef": "B2", "variance": 0}],
        "expect_rejects": [{"row": 3, "message": "lookup position: no answer for sku 'C3', location 'L1'"}],
    }
    [result] = results(write_spec, GRAPHQL % {"cases": cases(case)})
    assert result.ok, result.problems


def test_a_case_that_asks_more_pages_than_were_recorded_fails_saying_so(write_spec) -> None:
    case = {
        "name": "one page short",
        "input": [{"sku": "A1", "location": "L1", "counted": "1"}],
        "lookups": {"position": {"responses": [page([edge("A1", "L1", 1, "c1")], more=True)]}},
        "expect": [{"skuRef": "A1", "variance": 0}],
    }
    [result] = results(write_spec, GRAPHQL % {"cases": cases(case)})
    assert not result.ok
    assert "request 2 has no recorded response (1 given)" in result.problems[0]


def test_answers_per_key_serve_any_lookup_and_a_wrong_expectation_fails(write_spec) -> None:
    answers = [{"key": {"sku": "A1", "location": "L1"}, "answer": {"onHand": 5}}]
    good = {
        "name": "answers",
        "input": [{"sku": "A1", "location": "L1", "counted": "7"}],
        "lookups": {"position": {"answers": answers}},
        "expect": [{"skuRef": "A1", "variance": 2}],
    }
    bad = {**good, "name": "wrong", "expect": [{"skuRef": "A1", "variance": 3}]}
    first, second = results(write_spec, GRAPHQL % {"cases": cases(good, bad)})
    assert first.ok, first.problems
    assert not second.ok and '"variance": 2' in second.problems[0]


def test_a_case_without_answers_for_a_lookup_fails_naming_it(write_spec) -> None:
    case = {"name": "forgot", "input": [{"sku": "A1", "location": "L1", "counted": "7"}], "expect": []}
    [result] = results(write_spec, GRAPHQL % {"cases": cases(case)})
    assert not result.ok and "lookups.position: this case gives the lookup no answers" in result.problems[0]
    typo = {**case, "lookups": {"positon": {"answers": []}, "position": {"answers": []}}}
    [result] = results(write_spec, GRAPHQL % {"cases": cases(typo)})
    assert not result.ok and "lookups.positon: the spec has no lookup of that name" in result.problems[0]


FILE = """
version: 1
name: prices
source: {type: local, path: inbox, pattern: "*.csv"}
parser: {type: csv}
lookups:
  price:
    type: file
    path: prices.csv
    parser: {type: csv}
    key: sku
    match: SKU
    on_missing: skip
  last:
    type: state
    key: sku
    on_missing: "null"
mapping:
  fields:
    ref:      {source: sku}
    price:    {source: $lookup.price.PRICE, resolver: decimal}
    previous: {source: $lookup.last.qty}
target: {type: stdout}
tests:
%(cases)s
"""


def test_file_rows_and_state_answers_need_no_file_and_no_store(write_spec, cli) -> None:
    case = {
        "name": "table and state",
        "input": [{"sku": "A1"}, {"sku": "Z9"}, {"sku": "B2"}],
        "lookups": {
            "price": {"rows": [{"SKU": "A1", "PRICE": "10.50"}, {"SKU": "B2", "PRICE": "3"}]},
            "last": {"answers": [{"key": "A1", "answer": {"qty": 4}}]},
        },
        "expect": [{"ref": "A1", "price": "10.50", "previous": 4}, {"ref": "B2", "price": "3"}],
    }
    path = write_spec(FILE % {"cases": cases(case)})
    result = cli("test", str(path))
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output


def test_a_duplicate_row_in_a_case_fails_like_a_duplicate_in_the_file(write_spec) -> None:
    case = {
        "name": "duplicate",
        "input": [{"sku": "A1"}],
        "lookups": {
            "price": {"rows": [{"SKU": "A1", "PRICE": "1"}, {"SKU": "A1", "PRICE": "2"}]},
            "last": {"answers": []},
        },
        "expect": [],
    }
    [result] = results(write_spec, FILE % {"cases": cases(case)})
    assert not result.ok and "is in rows[0] and again in rows[1]" in result.problems[0]


def test_state_rows_hold_the_key_parts_and_the_stored_values(write_spec) -> None:
    case = {
        "name": "state rows",
        "input": [{"sku": "A1"}, {"sku": "B2"}],
        "lookups": {
            "price": {"rows": [{"SKU": "A1", "PRICE": "1"}, {"SKU": "B2", "PRICE": "2"}]},
            "last": {"rows": [{"key": "B2", "qty": 9}]},
        },
        "expect": [{"ref": "A1", "price": "1"}, {"ref": "B2", "price": "2", "previous": 9}],
    }
    [result] = results(write_spec, FILE % {"cases": cases(case)})
    assert result.ok, result.problems
