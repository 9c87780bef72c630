"""GraphQL for the entities inbound, return, payment and control flows touch, over real HTTP."""

from __future__ import annotations

from typing import Any

from tests.emulator.test_graphql import error

CATALOGUE = {"ref": "DEFAULT:1"}


def data(result: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in result, result
    return result["data"]


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


# --- controls ----------------------------------------------------------------------------

CREATE_CONTROL = """
mutation ($input: CreateControlInput) { createControl(input: $input) { ref type executionOrder
  values { name type value } controlGroup { ref } } }"""

GROUP_CONTROLS = """
query ($ref: String!, $first: Int, $after: String) {
  controlGroup(ref: $ref) { ref controls(first: $first, after: $after) {
    edges { node { ref type status executionOrder } cursor } pageInfo { hasNextPage } } } }"""


def test_the_control_upsert_template_flow_reads_a_group_s_controls_page_by_page(api):
    for n in range(1, 4):
        control = {
            "ref": f"CG-DEMO:QUANTITY_BUFFER:SKU-000{n}",
            "type": "QUANTITY_BUFFER",
            "name": f"Buffer {n}",
            "values": [{"name": "CONTROL_VALUE", "type": "INTEGER", "value": n}],
            "controlGroup": {"ref": "CG-DEMO"},
            "executionOrder": n,
        }
        created = data(api.gql(CREATE_CONTROL, {"input": control}))["createControl"]
        assert created["controlGroup"] == {"ref": "CG-DEMO"} and created["values"][0]["value"] == n
    seen, after = [], None
    while True:
        page = data(api.gql(GROUP_CONTROLS, {"ref": "CG-DEMO", "first": 2, "after": after}))
        controls = page["controlGroup"]["controls"]
        seen += [node["ref"] for node in nodes(controls)]
        if not controls["pageInfo"]["hasNextPage"]:
            break
        after = controls["edges"][-1]["cursor"]
    assert seen == ["CTRL-SAFETY-STOCK"] + [f"CG-DEMO:QUANTITY_BUFFER:SKU-000{n}" for n in range(1, 4)]
    update = "mutation ($i: UpdateControlInput) { updateControl(input: $i) { ref status executionOrder } }"
    changed = data(
        api.gql(update, {"i": {"ref": "CTRL-SAFETY-STOCK", "status": "INACTIVE", "executionOrder": 9}})
    )
    assert changed["updateControl"] == {"ref": "CTRL-SAFETY-STOCK", "status": "INACTIVE", "executionOrder": 9}
    buffers = data(
        api.gql('{ controls(type: ["QUANTITY_BUFFER"], executionOrder: [2, 3]) { edges { node { ref } } } }')
    )
    assert [n["ref"] for n in nodes(buffers["controls"])] == [
        "CG-DEMO:QUANTITY_BUFFER:SKU-0002",
        "CG-DEMO:QUANTITY_BUFFER:SKU-0003",
    ]


def test_control_groups_are_created_updated_and_listed_per_retailer(api):
    create = "mutation ($i: CreateControlGroupInput) { createControlGroup(input: $i) { ref type name retailerRefs } }"
    made = data(api.gql(create, {"i": {"ref": "CG-NEW", "type": "SOURCING", "name": "New rules"}}))
    assert made["createControlGroup"] == {
        "ref": "CG-NEW",
        "type": "SOURCING",
        "name": "New rules",
        "retailerRefs": ["demo-retailer"],
    }
    assert (
        error(api.gql(create, {"i": {"ref": "CG-NEW", "type": "X", "name": "again"}}))["extensions"]["code"]
        == "C0123E"
    )
    other = {"ref": "CG-OTHER", "type": "X", "name": "n", "retailerRefs": ["other-retailer"]}
    assert error(api.gql(create, {"i": other}))["extensions"]["code"] == "C0020E"
    update = "mutation ($i: UpdateControlGroupInput) { updateControlGroup(input: $i) { ref status attributes { name value } } }"
    changed = data(
        api.gql(
            update,
            {
                "i": {
                    "ref": "CG-NEW",
                    "status": "INACTIVE",
                    "attributes": [{"name": "owner", "type": "STRING", "value": "ops"}],
                }
            },
        )
    )
    assert changed["updateControlGroup"] == {
        "ref": "CG-NEW",
        "status": "INACTIVE",
        "attributes": [{"name": "owner", "value": "ops"}],
    }
    assert error(api.gql(update, {"i": {"ref": "CG-NOPE"}}))["extensions"]["code"] == "C0120E"
    groups = data(api.gql('{ controlGroups(status: ["INACTIVE"]) { edges { node { ref } } } }'))
    assert [n["ref"] for n in nodes(groups["controlGroups"])] == ["CG-NEW"]


# --- inventory quantities: expected receipts and reservations -------------------------------

CREATE_QUANTITY = """
mutation ($input: CreateInventoryQuantityInput) {
  createInventoryQuantity(input: $input) { ref type status quantity expectedOn position { ref } } }"""


def quantity_input(ref: str, position: str = "SKU-0005:LOC-003", **fields: Any) -> dict[str, Any]:
    return {
        "ref": ref,
        "catalogue": CATALOGUE,
        "position": {"ref": position, "catalogue": CATALOGUE},
        "type": "EXPECTED",
        "quantity": 10,
        **fields,
    }


def test_a_position_holds_many_quantities_of_one_type_named_by_ref(api):
    first = quantity_input("ASN-7-1", expectedOn="2030-02-01T00:00:00Z")
    second = quantity_input("ASN-8-1", quantity=4, expectedOn="2030-03-01T00:00:00Z")
    made = data(api.gql(CREATE_QUANTITY, {"input": first}))["createInventoryQuantity"]
    assert made == {
        "ref": "ASN-7-1",
        "type": "EXPECTED",
        "status": "CREATED",
        "quantity": 10,
        "expectedOn": "2030-02-01T00:00:00.000Z",
        "position": {"ref": "SKU-0005:LOC-003"},
    }
    data(api.gql(CREATE_QUANTITY, {"input": second}))
    assert error(api.gql(CREATE_QUANTITY, {"input": first}))["extensions"]["code"] == "C0123E"
    unknown = quantity_input("ASN-9-1", position="SKU-0005:LOC-010")
    assert error(api.gql(CREATE_QUANTITY, {"input": unknown}))["extensions"]["code"] == "C0120E"
    position = data(
        api.gql(
            '{ inventoryPosition(ref: "SKU-0005:LOC-003", catalogue: {ref: "DEFAULT:1"}) '
            "{ quantities { edges { node { ref type quantity } } } } }"
        )
    )["inventoryPosition"]
    assert [(n["ref"], n["type"]) for n in nodes(position["quantities"])] == [
        ("SKU-0005:LOC-003:LAST_ON_HAND", "LAST_ON_HAND"),
        ("ASN-7-1", "EXPECTED"),
        ("ASN-8-1", "EXPECTED"),
    ]
    one = '{ inventoryQuantity(ref: "ASN-8-1", catalogue: {ref: "DEFAULT:1"}) { ref quantity catalogue { ref } } }'
    assert data(api.gql(one))["inventoryQuantity"] == {
        "ref": "ASN-8-1",
        "quantity": 4,
        "catalogue": CATALOGUE,
    }
    window = (
        '{ inventoryQuantities(type: ["EXPECTED"], expectedOn: {from: "2030-02-15T00:00:00Z"}) '
        "{ edges { node { ref } } } }"
    )
    assert [n["ref"] for n in nodes(data(api.gql(window))["inventoryQuantities"])] == ["ASN-8-1"]


def test_update_inventory_quantity_changes_status_type_and_amount(api):
    update = """mutation ($i: UpdateInventoryQuantityInput) {
      updateInventoryQuantity(input: $i) { ref type status quantity attributes { name value } } }"""
    changes = {
        "ref": "RES-1001",
        "catalogue": CATALOGUE,
        "status": "EXPIRED",
        "quantity": 3,
        "attributes": [{"name": "reason", "type": "STRING", "value": "timeout"}],
    }
    assert data(api.gql(update, {"i": changes}))["updateInventoryQuantity"] == {
        "ref": "RES-1001",
        "type": "RESERVED",
        "status": "EXPIRED",
        "quantity": 3,
        "attributes": [{"name": "orderRef", "value": "ORD-1001"}, {"name": "reason", "value": "timeout"}],
    }
    expired = '{ inventoryQuantities(status: ["EXPIRED"], quantity: [3]) { edges { node { ref } } } }'
    assert [n["ref"] for n in nodes(data(api.gql(expired))["inventoryQuantities"])] == ["RES-1001"]
    retyped = data(
        api.gql(
            update,
            {"i": {"ref": "SKU-0001:LOC-001:LAST_ON_HAND", "catalogue": CATALOGUE, "type": "ADJUSTMENT"}},
        )
    )
    assert retyped["updateInventoryQuantity"]["type"] == "ADJUSTMENT"
    missing = {"ref": "NOPE", "catalogue": CATALOGUE, "status": "X"}
    assert error(api.gql(update, {"i": missing}))["extensions"]["code"] == "C0120E"


# --- return orders ---------------------------------------------------------------------------

RETURN_FIELDS = """ref type status retailer { id } customer { ref } order { ref retailer { id } }
  destinationLocation { ref } currency { alphabeticCode } totalAmount { amount } workflowRef
  attributes { name value }
  returnOrderItems { edges { node { ref status product { ref catalogue { ref } }
    orderItem { ref order { ref } } unitQuantity { quantity unit } returnReason { value label }
    itemAmount { amount } returnOrder { ref } } } }"""

CREATE_RETURN = (
    f"mutation ($input: CreateReturnOrderInput) {{ createReturnOrder(input: $input) {{ {RETURN_FIELDS} }} }}"
)
UPDATE_RETURN = (
    f"mutation ($input: UpdateReturnOrderInput) {{ updateReturnOrder(input: $input) {{ {RETURN_FIELDS} }} }}"
)


def return_input(ref: str = "RET-2001", **fields: Any) -> dict[str, Any]:
    order = {"ref": "ORD-1003", "retailer": {"id": "1"}}
    money = {"amount": 60.0}
    item = {
        "ref": f"{ref}-1",
        "type": "DEFAULT",
        "product": {"ref": "SKU-0020", "catalogue": {"ref": "PC:MASTER:1"}},
        "orderItem": {"ref": "ORD-1003-1", "order": order},
        "returnReason": {"value": "DAMAGED", "label": "Damaged in transit"},
        "unitQuantity": {"quantity": 1, "unit": "EACH"},
        "unitAmount": money,
        "itemTaxAmount": {"amount": 5.45},
        "itemAmount": money,
    }
    return {
        "ref": ref,
        "retailer": {"id": "1"},
        "type": "CUSTOMER_RETURN",
        "customer": {"ref": "CUST-3"},
        "order": order,
        "destinationLocation": {"ref": "LOC-009"},
        "returnOrderItems": [item],
        "currency": {"alphabeticCode": "AUD"},
        "defaultTaxType": {"country": "AU", "group": "GST", "tariff": "GST10"},
        "subTotalAmount": {"amount": 54.55},
        "totalTax": {"amount": 5.45},
        "totalAmount": money,
        **fields,
    }


def test_create_return_order_with_fluent_s_input_and_read_it_back(api):
    created = data(api.gql(CREATE_RETURN, {"input": return_input()}))["createReturnOrder"]
    assert created["status"] == "CREATED" and created["workflowRef"] == "RETURN_ORDER::CUSTOMER_RETURN"
    assert created["retailer"] == {"id": "1"} and created["customer"] == {"ref": "CUST-3"}
    assert created["order"] == {"ref": "ORD-1003", "retailer": {"id": "1"}}
    assert created["totalAmount"] == {"amount": 60.0} and created["currency"] == {"alphabeticCode": "AUD"}
    [item] = nodes(created["returnOrderItems"])
    assert item == {
        "ref": "RET-2001-1",
        "status": "CREATED",
        "product": {"ref": "SKU-0020", "catalogue": {"ref": "PC:MASTER:1"}},
        "orderItem": {"ref": "ORD-1003-1", "order": {"ref": "ORD-1003"}},
        "unitQuantity": {"quantity": 1, "unit": "EACH"},
        "returnReason": {"value": "DAMAGED", "label": "Damaged in transit"},
        "itemAmount": {"amount": 60.0},
        "returnOrder": {"ref": "RET-2001"},
    }
    read = api.gql(f'{{ returnOrder(ref: "RET-2001", retailer: {{id: "1"}}) {{ {RETURN_FIELDS} }} }}')
    assert data(read)["returnOrder"] == created
    assert (
        data(api.gql('{ returnOrder(ref: "RET-2001", retailer: {id: "2"}) { ref } }'))["returnOrder"] is None
    )


def test_create_return_order_errors_are_fluent_coded(api):
    data(api.gql(CREATE_RETURN, {"input": return_input()}))
    cases = {
        "C0123E": return_input(),
        "C0120E": return_input("RET-2", customer={"ref": "CUST-404"}),
    }
    for code, payload in cases.items():
        assert error(api.gql(CREATE_RETURN, {"input": payload}))["extensions"]["code"] == code
    bad_item = return_input("RET-3")
    bad_item["returnOrderItems"][0]["orderItem"]["ref"] = "ORD-1003-9"
    found = error(api.gql(CREATE_RETURN, {"input": bad_item}))
    assert found["extensions"]["code"] == "C0120E" and "ORD-1003-9" in found["message"]
    other = return_input("RET-4", retailer={"id": "2"})
    assert error(api.gql(CREATE_RETURN, {"input": other}))["extensions"]["code"] == "C0020E"
    negative = return_input("RET-5")
    negative["returnOrderItems"][0]["unitQuantity"]["quantity"] = -1
    assert error(api.gql(CREATE_RETURN, {"input": negative}))["extensions"]["code"] == "C0122E"
    incomplete = return_input("RET-6")
    del incomplete["totalAmount"]
    invalid = api.gql(CREATE_RETURN, {"input": incomplete})
    assert "data" not in invalid and "totalAmount" in invalid["errors"][0]["message"]


def test_update_return_order_sets_status_merges_attributes_and_updates_items_by_ref(api):
    data(api.gql(CREATE_RETURN, {"input": return_input()}))
    changes = {
        "ref": "RET-2001",
        "retailer": {"id": "1"},
        "status": "INSPECTED",
        "attributes": [{"name": "returnTrackingNumber", "type": "STRING", "value": "TRK-1"}],
        "returnOrderItems": [
            {"ref": "RET-2001-1", "status": "APPROVED", "returnCondition": {"value": "GOOD"}}
        ],
    }
    updated = data(api.gql(UPDATE_RETURN, {"input": changes}))["updateReturnOrder"]
    assert updated["status"] == "INSPECTED"
    assert updated["attributes"] == [{"name": "returnTrackingNumber", "value": "TRK-1"}]
    assert nodes(updated["returnOrderItems"])[0]["status"] == "APPROVED"
    assert updated["totalAmount"] == {"amount": 60.0}
    unknown_item = {**changes, "returnOrderItems": [{"ref": "RET-2001-9", "status": "X"}]}
    assert error(api.gql(UPDATE_RETURN, {"input": unknown_item}))["extensions"]["code"] == "C0120E"
    moved = {"ref": "RET-2001", "retailer": {"id": "1"}, "destinationLocation": {"ref": "LOC-404"}}
    assert error(api.gql(UPDATE_RETURN, {"input": moved}))["extensions"]["code"] == "C0120E"
    missing = {"ref": "RET-404", "retailer": {"id": "1"}, "status": "X"}
    assert error(api.gql(UPDATE_RETURN, {"input": missing}))["extensions"]["code"] == "C0120E"


def test_return_orders_filter_by_fields_and_links(api):
    data(api.gql(CREATE_RETURN, {"input": return_input()}))
    data(api.gql(CREATE_RETURN, {"input": return_input("RET-2002", destinationLocation={"ref": "LOC-010"})}))

    def refs(arguments: str) -> list[str]:
        call = f"returnOrders({arguments})" if arguments else "returnOrders"
        found = data(api.gql(f"{{ {call} {{ edges {{ node {{ ref }} }} }} }}"))
        return [n["ref"] for n in nodes(found["returnOrders"])]

    assert refs("") == ["RET-1001", "RET-2001", "RET-2002"]
    assert refs('destinationLocation: {ref: "LOC-010"}') == ["RET-2002"]
    assert refs('order: {ref: "ORD-1003", retailer: {id: "1"}}, first: 1') == ["RET-2001"]
    assert refs('customer: {ref: "CUST-1"}') == ["RET-1001"]
    assert refs('type: ["CUSTOMER_RETURN"], status: ["CREATED"]') == ["RET-2001", "RET-2002"]
    assert refs('retailer: {id: "2"}') == []


# --- financial transactions ----------------------------------------------------------------

PAYMENTS = """{ order(ref: "ORD-1001") { financialTransactions { edges { node {
  ref type status total currency paymentMethod cardType paymentProviderName externalTransactionId
  workflowRef order { ref } } } } } }"""


def test_an_order_s_payments_are_financial_transactions(api):
    [payment] = nodes(data(api.gql(PAYMENTS))["order"]["financialTransactions"])
    assert payment == {
        "ref": "ORD-1001-P1",
        "type": "PAYMENT",
        "status": "AUTHORIZED",
        "total": 89.9,
        "currency": "AUD",
        "paymentMethod": "CREDITCARD",
        "cardType": "VISA",
        "paymentProviderName": "ADYEN",
        "externalTransactionId": "PSP-1001",
        "workflowRef": "FINANCIAL_TRANSACTION::PAYMENT",
        "order": {"ref": "ORD-1001"},
    }
    create = "mutation ($i: CreateFinancialTransactionInput) { createFinancialTransaction(input: $i) { ref total order { ref } } }"
    refund = {
        "ref": "ORD-1001-R1",
        "type": "REFUND",
        "amount": 29.95,
        "currency": "AUD",
        "paymentMethod": "CREDITCARD",
        "order": {"id": "1"},
    }
    assert data(api.gql(create, {"i": refund}))["createFinancialTransaction"] == {
        "ref": "ORD-1001-R1",
        "total": 29.95,
        "order": {"ref": "ORD-1001"},
    }
    assert error(api.gql(create, {"i": refund}))["extensions"]["code"] == "C0123E"
    no_method = {k: v for k, v in refund.items() if k != "paymentMethod"} | {"ref": "R2"}
    found = error(api.gql(create, {"i": no_method}))
    assert found["extensions"]["code"] == "C0140E" and "paymentMethod" in found["message"]
    assert (
        error(api.gql(create, {"i": {**refund, "ref": "R3", "order": {"id": "999"}}}))["extensions"]["code"]
        == "C0120E"
    )
    refunds = data(api.gql('{ financialTransactions(type: ["REFUND"]) { edges { node { ref } } } }'))
    assert [n["ref"] for n in nodes(refunds["financialTransactions"])] == ["ORD-1001-R1"]


def test_create_order_payments_become_transactions_and_need_an_amount(api):
    create = "mutation ($i: CreateOrderInput!) { createOrder(input: $i) { ref financialTransactions { edges { node { ref total currency status } } } } }"
    order = {
        "ref": "ORD-P",
        "type": "HD",
        "currency": "NZD",
        "items": [{"ref": "I1", "productRef": "SKU-0001", "quantity": 1}],
        "financialTransactions": [{"ref": "PAY-1", "amount": 10.5}],
    }
    made = data(api.gql(create, {"i": order}))["createOrder"]
    assert nodes(made["financialTransactions"]) == [
        {"ref": "PAY-1", "total": 10.5, "currency": "NZD", "status": "CREATED"}
    ]
    unpriced = {**order, "ref": "ORD-Q", "financialTransactions": [{"ref": "PAY-2"}]}
    found = error(api.gql(create, {"i": unpriced}))
    assert found["extensions"]["code"] == "C0140E" and "amount" in found["message"]
