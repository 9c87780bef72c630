"""GraphQL: schema subset, cursor pagination, Fluent-coded errors, aliased mutations (§4, §11.3)."""

from __future__ import annotations

from typing import Any

from engine.emulator import Emulator
from tests.emulator.conftest import Api

PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String) {
  inventoryPositions(first: $first, after: $after, last: $last, before: $before) {
    edges { node { id ref onHand } cursor }
    pageInfo { hasNextPage hasPreviousPage }
  }
}"""

LOCATION = {"name": "Pop-up", "type": "STORE", "primaryAddress": {"city": "Sydney", "country": "AU"}}


def page(api, **variables: Any) -> dict[str, Any]:
    result = api.gql(PAGE, variables)
    assert "errors" not in result, result
    return result["data"]["inventoryPositions"]


def error(result: dict[str, Any]) -> dict[str, Any]:
    assert result.get("errors"), result
    return result["errors"][0]


def test_me_connection_check_and_full_profile(api):
    assert api.gql("query { me { ref } }") == {"data": {"me": {"ref": "demo"}}}
    me = api.gql(
        "{ me { id ref username primaryEmail primaryRetailer { id ref tradingName } "
        "primaryLocation { id ref name } } }"
    )["data"]["me"]
    assert me["username"] == "demo" and me["primaryRetailer"] == {
        "id": "1",
        "ref": "demo-retailer",
        "tradingName": "Demo Retailer",
    }
    assert me["primaryLocation"]["ref"] == "LOC-001"


def test_forward_pagination_over_three_pages_is_exactly_once(api):
    seen, after, pages = [], None, 0
    while True:
        current = page(api, first=100, after=after)
        pages += 1
        seen += [e["node"]["id"] for e in current["edges"]]
        assert current["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not current["pageInfo"]["hasNextPage"]:
            break
        after = current["edges"][-1]["cursor"]
    assert pages == 3 and len(seen) == 250 and len(set(seen)) == 250
    assert seen == sorted(seen, key=int)


def test_cursors_are_stable_and_inserts_do_not_shift_pages(emu, api):
    first = page(api, first=10)
    assert page(api, first=10) == first
    api.gql('mutation { createLocation(input: {ref: "LOC-NEW", name: "n", type: "STORE"}) { id } }')
    job_id = api.job()
    batch = api.batch(job_id, [{"locationRef": "LOC-NEW", "skuRef": "SKU-0001", "qty": 1, "retailerId": 1}])
    api.poll_until_complete(job_id, batch.json()["id"])
    second = page(api, first=10, after=first["edges"][-1]["cursor"])
    assert second["edges"][0]["node"]["id"] == "11"


def test_backward_pagination(api):
    last = page(api, last=5)
    assert [e["node"]["id"] for e in last["edges"]] == ["246", "247", "248", "249", "250"]
    assert last["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}
    before = page(api, last=5, before=last["edges"][0]["cursor"])
    assert [e["node"]["id"] for e in before["edges"]] == ["241", "242", "243", "244", "245"]
    assert before["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": True}
    start = page(api, last=5, before=page(api, first=3)["edges"][-1]["cursor"])
    assert [e["node"]["id"] for e in start["edges"]] == ["1", "2"]
    assert start["pageInfo"]["hasPreviousPage"] is False


def test_page_size_limits_and_argument_errors(emu, api):
    assert len(page(api)["edges"]) == 100
    too_big = error(api.gql(PAGE, {"first": 5001}))
    assert too_big["message"].startswith("C0001E:") and too_big["extensions"]["code"] == "C0001E"
    assert too_big["path"] == ["inventoryPositions"]
    both = error(api.gql(PAGE, {"first": 1, "last": 1}))
    assert both["extensions"]["code"] == "C0142E"
    bad_cursor = error(api.gql(PAGE, {"first": 1, "after": "not-a-cursor"}))
    assert "Invalid cursor" in bad_cursor["message"]
    emu.configure(page_size_overflow="clamp", max_page_size=50)
    assert len(page(api, first=5001)["edges"]) == 50


def test_updated_on_desc_ordering_switch(emu, api):
    emu.configure(pagination_order="updatedOn_desc")
    job_id = api.job()
    emu.advance(1)
    batch = api.batch(
        job_id, [{"locationRef": "LOC-003", "skuRef": "SKU-0007", "qty": 9999, "retailerId": 1}]
    )
    api.poll_until_complete(job_id, batch.json()["id"])
    first = page(api, first=3)
    assert first["edges"][0]["node"]["ref"] == "SKU-0007:LOC-003"
    ids = [e["node"]["id"] for e in first["edges"]]
    rest = page(api, first=300, after=first["edges"][-1]["cursor"])
    assert len(rest["edges"]) == 247 and not set(ids) & {e["node"]["id"] for e in rest["edges"]}


def test_validation_errors_have_no_data(api):
    result = api.gql("{ inventoryPositions(first: 1) { edges { node { qty } } } }")
    assert "data" not in result
    assert result["errors"][0]["extensions"] == {"classification": "ValidationError"}
    assert "qty" in result["errors"][0]["message"] and result["errors"][0]["locations"]
    unknown_arg = api.gql("{ inventoryPositions(filter: {}) { edges { cursor } } }")
    assert "data" not in unknown_arg
    typo = api.gql("{ fulfillments { edges { cursor } } }")
    assert "fulfilments" in typo["errors"][0]["message"]


def test_missing_required_variable_is_c0140e(api):
    result = api.gql("mutation M($input: CreateLocationInput!) { createLocation(input: $input) { id } }", {})
    assert "data" not in result
    assert result["errors"][0]["extensions"]["code"] == "C0140E"
    assert result["errors"][0]["message"].startswith("C0140E: ")


def test_aliased_create_location_with_one_duplicate(emu, api):
    """§11.6 item 4: four created, createLocation3 null with a C0123E error on its path."""
    inputs = {f"input{i}": {**LOCATION, "ref": f"POP-{i}"} for i in range(1, 6)}
    inputs["input3"]["ref"] = "LOC-001"
    declared = ", ".join(f"$input{i}: CreateLocationInput!" for i in range(1, 6))
    fields = " ".join(
        f"createLocation{i}: createLocation(input: $input{i}) {{ id ref name type }}" for i in range(1, 6)
    )
    result = api.gql(f"mutation BatchCreateLocations({declared}) {{ {fields} }}", inputs)
    assert result["data"]["createLocation3"] is None
    assert [result["data"][f"createLocation{i}"]["ref"] for i in (1, 2, 4, 5)] == [
        "POP-1",
        "POP-2",
        "POP-4",
        "POP-5",
    ]
    assert len(result["errors"]) == 1
    failure = result["errors"][0]
    assert failure["path"] == ["createLocation3"] and failure["extensions"]["code"] == "C0123E"
    assert failure["extensions"]["classification"] == "DataFetchingException"
    assert failure["message"] == "C0123E: Location with ref 'LOC-001' already exists"
    assert len(emu.state("locations", retailerId="1")) == 14


def test_create_order_validation_codes(api):
    mutation = "mutation C($input: CreateOrderInput!) { createOrder(input: $input) { id ref status } }"
    base = {
        "ref": "WEB-1",
        "type": "HD",
        "retailer": {"id": "1"},
        "items": [{"ref": "L1", "productRef": "SKU-0001", "quantity": 2, "price": 10.0}],
    }
    created = api.gql(mutation, {"input": base})["data"]["createOrder"]
    assert created["ref"] == "WEB-1" and created["status"] == "CREATED"
    cases = [
        ({**base}, "C0121E"),
        ({**base, "ref": "WEB-2", "items": [{"ref": "L1", "productRef": "NOPE", "quantity": 1}]}, "C0120E"),
        (
            {**base, "ref": "WEB-3", "items": [{"ref": "L1", "productRef": "SKU-0001", "quantity": -1}]},
            "C0122E",
        ),
        ({**base, "ref": "W" * 300}, "C0141E"),
        ({**base, "ref": "WEB-4", "retailer": {"id": "77"}}, "C0120E"),
        ({**base, "ref": "WEB-5", "retailer": {"id": "2"}}, "C0020E"),
        ({**base, "ref": "WEB-6", "fulfilmentChoice": {"pickupLocationRef": "LOC-404"}}, "C0120E"),
    ]
    for payload, code in cases:
        result = api.gql(mutation, {"input": payload})
        assert result["data"] == {"createOrder": None}, payload
        assert error(result)["extensions"]["code"] == code, (payload, result)


def test_update_order_upserts_attributes_by_name(emu, api):
    order = api.gql('{ order(ref: "ORD-1001") { id status } }')["data"]["order"]
    mutation = (
        "mutation U($input: UpdateOrderInput!) { updateOrder(input: $input) "
        "{ id status attributes { name type value } } }"
    )
    api.gql(
        mutation,
        {"input": {"id": order["id"], "attributes": [{"name": "a", "type": "STRING", "value": "1"}]}},
    )
    result = api.gql(
        mutation,
        {
            "input": {
                "id": order["id"],
                "status": "SHIPPED",
                "attributes": [
                    {"name": "a", "type": "STRING", "value": "2"},
                    {"name": "b", "type": "JSON", "value": {"x": 1}},
                ],
            }
        },
    )
    updated = result["data"]["updateOrder"]
    assert updated["status"] == "SHIPPED"
    assert updated["attributes"] == [
        {"name": "a", "type": "STRING", "value": "2"},
        {"name": "b", "type": "JSON", "value": {"x": 1}},
    ]
    unknown = api.gql(mutation, {"input": {"id": "999"}})
    assert error(unknown)["extensions"]["code"] == "C0120E"


def test_products_interface_and_product_mutations(emu, api):
    created = api.gql(
        'mutation { p: createStandardProduct(input: {ref: "STD-1", name: "Std", '
        'catalogue: {ref: "PC:MASTER:1"}}) { ref } v: createVariantProduct(input: {ref: "VAR-1", '
        'name: "Var", gtin: "01234567890128", catalogue: {ref: "PC:MASTER:1"}, product: {ref: "STD-1"}}) '
        "{ ref product { ref } } }"
    )
    assert created["data"] == {"p": {"ref": "STD-1"}, "v": {"ref": "VAR-1", "product": {"ref": "STD-1"}}}
    kinds = api.gql(
        '{ products(ref: ["STD-1", "VAR-1", "SKU-0001"]) { edges { node { __typename ref '
        "catalogue { ref } ... on VariantProduct { gtin } } } } }"
    )["data"]["products"]["edges"]
    assert [e["node"]["__typename"] for e in kinds] == ["VariantProduct", "StandardProduct", "VariantProduct"]
    assert kinds[0]["node"]["gtin"] == "04000000000013"
    duplicate = api.gql(
        'mutation { createVariantProduct(input: {ref: "VAR-1", name: "x", '
        'catalogue: {ref: "PC:MASTER:1"}}) { ref } }'
    )
    assert error(duplicate)["extensions"]["code"] == "C0123E"
    updated = api.gql(
        'mutation { updateProduct(input: {ref: "VAR-1", catalogue: {ref: "PC:MASTER:1"}, '
        'status: "INACTIVE"}) { status } }'
    )
    assert updated["data"]["updateProduct"]["status"] == "INACTIVE"
    assert "createProduct" in error(api.gql("mutation { createProduct(input: {}) { ref } }"))["message"]
    emu.configure(create_product_alias=True)
    alias = api.gql(
        'mutation { createProduct(input: {ref: "GEN-1", name: "g", type: "STANDARD", '
        'catalogue: {ref: "PC:MASTER:1"}}) { __typename ref } }'
    )
    assert alias["data"]["createProduct"] == {"__typename": "StandardProduct", "ref": "GEN-1"}


def test_filters_and_date_ranges(emu, api):
    result = api.gql(
        '{ inventoryPositions(productRef: ["SKU-0002"], locationRef: ["LOC-003", "LOC-004"], '
        'catalogues: [{ref: "DEFAULT:1"}]) { edges { node { ref } } } }'
    )
    assert [e["node"]["ref"] for e in result["data"]["inventoryPositions"]["edges"]] == [
        "SKU-0002:LOC-003",
        "SKU-0002:LOC-004",
    ]
    warehouses = api.gql('{ locations(type: ["WAREHOUSE"]) { edges { node { ref } } } }')
    assert [e["node"]["ref"] for e in warehouses["data"]["locations"]["edges"]] == ["LOC-009", "LOC-010"]
    future = api.gql('{ orders(updatedOn: {from: "2999-01-01T00:00:00Z"}) { edges { node { ref } } } }')
    assert future["data"]["orders"]["edges"] == []
    assert "data" not in api.gql('{ orders(updatedOn: {after: "2020-01-01"}) { edges { cursor } } }')
    emu.configure(daterange_after_alias=True)
    past = api.gql('{ orders(updatedOn: {after: "2020-01-01"}) { edges { node { ref } } } }')
    assert len(past["data"]["orders"]["edges"]) == 5
    other = api.gql('{ locations(ref: ["LOC-201"]) { edges { node { ref } } } }')
    assert other["data"]["locations"]["edges"] == []  # retailer 2 is not visible to the demo user


def test_nested_connections_and_singular_lookups(api):
    order = api.gql(
        '{ order(ref: "ORD-1003") { ref customer { firstName } retailer { ref } '
        "items(first: 2) { edges { node { ref productRef quantity product { name } } cursor } "
        "pageInfo { hasNextPage } } fulfilmentChoice { deliveryType } } }"
    )["data"]["order"]
    assert [e["node"]["productRef"] for e in order["items"]["edges"]] == ["SKU-0020", "SKU-0021"]
    assert order["items"]["pageInfo"]["hasNextPage"] is True and order["retailer"]["ref"] == "demo-retailer"
    fulfilments = api.gql("{ fulfilments(first: 5) { edges { node { id ref } } } }")["data"]["fulfilments"][
        "edges"
    ]
    fulfilment_id = fulfilments[0]["node"]["id"]
    detail = api.gql(
        f'{{ fulfilment(id: "{fulfilment_id}") {{ ref status order {{ ref }} fromLocation {{ ref }} '
        "toAddress { city } items(first: 10) { edges { node { requestedQuantity orderItem { ref } } } } } }"
    )
    fulfilment = detail["data"]["fulfilment"]
    assert fulfilment["order"]["ref"] == "ORD-1001" and fulfilment["fromLocation"]["ref"] == "LOC-001"
    assert [e["node"]["requestedQuantity"] for e in fulfilment["items"]["edges"]] == [1, 2]
    position = api.gql(
        "{ inventoryPositions(first: 1) { edges { node { quantities { edges { node { qty type } } } "
        "product { ref } location { ref } } } } }"
    )["data"]["inventoryPositions"]["edges"][0]["node"]
    assert position["quantities"]["edges"][0]["node"]["type"] == "LAST_ON_HAND"
    assert api.gql('{ location(ref: "LOC-009") { type } }')["data"]["location"] == {"type": "WAREHOUSE"}
    assert api.gql('{ product(ref: "SKU-0200") { ref } }')["data"]["product"] == {"ref": "SKU-0200"}
    virtual = api.gql("{ virtualPositions { edges { node { productRef quantity groupRef } } } }")
    assert len(virtual["data"]["virtualPositions"]["edges"]) == 3


def test_page_info_cursor_switch(emu, api):
    assert "endCursor" in error(api.gql("{ locations { pageInfo { endCursor } } }"))["message"]
    emu.configure(pageinfo_end_cursor=True)
    info = api.gql("{ locations(first: 2) { edges { cursor } pageInfo { startCursor endCursor } } }")["data"]
    assert info["locations"]["pageInfo"]["endCursor"] == info["locations"]["edges"][-1]["cursor"]


def test_classification_switch_and_bad_requests(emu, api):
    emu.configure(graphql_error_classification=False)
    result = api.gql("{ nope }")
    assert "classification" not in result["errors"][0].get("extensions", {})
    assert api.post("/graphql", {"variables": {}}).status_code == 400
    assert api.http.post("/graphql", content=b"not json", headers=api.headers).status_code == 400


def test_date_range_variables_are_compared_as_instants_whatever_their_offset():
    with Emulator(seed={"extends": "default", "time": "2026-01-01T00:00:00Z"}) as other:
        client = Api(other)
        try:
            query = "query ($from: DateTime) { locations(updatedOn: {from: $from}, first: 1) { edges { node { ref } } } }"
            same_instant = client.gql(query, {"from": "2026-01-01T09:00:00+09:00"})
            assert [e["node"]["ref"] for e in same_instant["data"]["locations"]["edges"]] == ["LOC-001"]
            later = client.gql(query, {"from": "2026-01-01T10:00:00+09:00"})
            assert later["data"]["locations"]["edges"] == []
        finally:
            client.close()
