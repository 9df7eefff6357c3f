"""Batch: `POST /batch` with `BatchItemRequest` items answered in request order."""

from __future__ import annotations

from typing import Any

import pytest

from qbo_adapters.emulator.settings import EmulatorSettings
from tests.emulator.harness import DataClient


@pytest.fixture
def client() -> DataClient:
    return DataClient(EmulatorSettings(throttle=False, size="empty"))


async def batch(client: DataClient, items: list[dict[str, Any]], suffix: str = "") -> Any:
    return await client.post(f"/batch{suffix}", {"BatchItemRequest": items})


def answers(reply: Any) -> list[dict[str, Any]]:
    assert reply.status == 200, reply.body
    body = reply.json()
    assert set(body) == {"BatchItemResponse", "time"}
    found: list[dict[str, Any]] = body["BatchItemResponse"]
    return found


async def an_invoice(client: DataClient) -> dict[str, Any]:
    income = next(a for a in client.company.all("Account") if a["AccountType"] == "Income")
    item = await client.create("Item", {"Name": "I", "IncomeAccountRef": {"value": income["Id"]}})
    customer = await client.create("Customer", {"DisplayName": "Buyer"})
    return await client.create(
        "Invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "Line": [
                {
                    "Amount": 100,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
                }
            ],
        },
    )


async def test_mixed_items_answer_in_request_order(client: DataClient) -> None:
    """Creates, updates, voids, deletes, queries and failures each get their own answer,
    keyed by bId, in request order, with HTTP 200 overall."""
    invoice = await an_invoice(client)
    vendor = await client.create("Vendor", {"DisplayName": "Old Name"})
    found = answers(
        await batch(
            client,
            [
                {
                    "bId": "1",
                    "operation": "create",
                    "Vendor": {"DisplayName": "Boraski Family Store"},
                },
                {
                    "bId": "2",
                    "operation": "update",
                    "Vendor": {
                        "Id": vendor["Id"],
                        "SyncToken": "0",
                        "sparse": True,
                        "DisplayName": "New Name",
                    },
                },
                {
                    "bId": "3",
                    "operation": "update",
                    "optionsData": "void",
                    "Invoice": {"Id": invoice["Id"], "SyncToken": "0"},
                },
                {"bId": "4", "operation": "delete", "Invoice": {"Id": "129", "SyncToken": "0"}},
                {
                    "bId": "5",
                    "operation": "update",
                    "Vendor": {"Id": vendor["Id"], "SyncToken": "0", "sparse": True, "Notes": "x"},
                },
                {"bId": "6", "Query": "select * from Vendor where DisplayName = 'New Name'"},
                {"bId": "7", "Query": "select * from Vendorz"},
            ],
        )
    )
    assert [item["bId"] for item in found] == ["1", "2", "3", "4", "5", "6", "7"]
    assert [next(iter(item)) for item in found] == [
        "Vendor",
        "Vendor",
        "Invoice",
        "Fault",
        "Fault",
        "QueryResponse",
        "Fault",
    ]
    assert found[0]["Vendor"]["DisplayName"] == "Boraski Family Store"
    assert found[1]["Vendor"]["SyncToken"] == "1"
    assert (found[2]["Invoice"]["TotalAmt"], found[2]["Invoice"]["PrivateNote"]) == (0, "Voided")
    assert [found[n]["Fault"]["Error"][0]["code"] for n in (3, 4, 6)] == ["610", "5010", "4001"]
    assert found[3]["Fault"]["type"] == "ValidationFault"
    assert [v["Id"] for v in found[5]["QueryResponse"]["Vendor"]] == [vendor["Id"]]


async def test_delete_item_answers_deleted_status(client: DataClient) -> None:
    """A delete item answers {"<Entity>":{"domain","status":"Deleted","Id"}}."""
    invoice = await an_invoice(client)
    found = answers(
        await batch(
            client,
            [
                {
                    "bId": "d",
                    "operation": "delete",
                    "Invoice": {"Id": invoice["Id"], "SyncToken": "0"},
                },
            ],
        )
    )
    assert found == [
        {"Invoice": {"domain": "QBO", "status": "Deleted", "Id": invoice["Id"]}, "bId": "d"}
    ]


async def test_items_are_independent(client: DataClient) -> None:
    """A failing item does not stop later ones; a create item ignores any Id it carries."""
    found = answers(
        await batch(
            client,
            [
                {"bId": "a", "operation": "create", "Customer": {"DisplayName": "Dup"}},
                {"bId": "b", "operation": "create", "Customer": {"DisplayName": "Dup"}},
                {
                    "bId": "c",
                    "operation": "create",
                    "Customer": {"Id": "1", "DisplayName": "Fresh"},
                },
            ],
        )
    )
    assert found[1]["Fault"]["Error"][0]["code"] == "6240"
    assert found[2]["Customer"]["DisplayName"] == "Fresh"
    assert found[2]["Customer"]["Id"] != found[0]["Customer"]["Id"]


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ({"bId": "x", "operation": "create", "Widget": {"Name": "w"}}, "2010"),
        (
            {
                "bId": "x",
                "operation": "create",
                "Customer": {"DisplayName": "a"},
                "Vendor": {"DisplayName": "b"},
            },
            "400",
        ),
        ({"bId": "x", "Customer": {"DisplayName": "a"}}, "2020"),
        ({"bId": "x", "operation": "merge", "Customer": {"DisplayName": "a"}}, "500"),
        ({"bId": "x", "operation": "update", "Customer": {"DisplayName": "a"}}, "2020"),
        ({"bId": "x", "operation": "delete", "Customer": {"Id": "1", "SyncToken": "0"}}, "500"),
        ({"bId": "x", "operation": "create", "Customer": [1, 2]}, "2010"),
        ({"bId": "x", "Query": 42}, "400"),
        ({"bId": "x", "Query": "select * from"}, "4000"),
    ],
)
async def test_bad_items_get_their_own_fault(
    client: DataClient, item: dict[str, Any], code: str
) -> None:
    """A malformed item is answered with a Fault in its place, not a failed batch."""
    found = answers(await batch(client, [item]))
    assert found[0]["bId"] == "x"
    assert found[0]["Fault"]["Error"][0]["code"] == code


async def test_size_limits(client: DataClient) -> None:
    """30 items are served; 31 are 400 1040; an empty batch is 400 MalformedRequest
    "Batch Request is Empty"."""
    items = [{"bId": str(n), "Query": "select count(*) from Account"} for n in range(31)]
    assert len(answers(await batch(client, items[:30]))) == 30
    too_many = await batch(client, items)
    assert too_many.status == 400
    assert too_many.fault_codes() == ["1040"]
    empty = await batch(client, [])
    assert empty.status == 400
    assert empty.json()["Fault"]["Error"][0] == {
        "Message": "MalformedRequest",
        "Detail": "Batch Request is Empty",
        "code": "400",
    }


@pytest.mark.parametrize(
    "body",
    [
        {
            "BatchItemRequest": [
                {"bId": "a", "Query": "select * from Item"},
                {"bId": "a", "Query": "select * from Item"},
            ]
        },
        {"BatchItemRequest": [{"Query": "select * from Item"}]},
        {"BatchItemRequest": ["not an item"]},
        {"BatchItemRequest": {"bId": "a"}},
        [1, 2],
    ],
)
async def test_malformed_batches_fail_whole(client: DataClient, body: Any) -> None:
    """Duplicate or missing bIds and non-list item collections fail the whole batch
    with 400 MalformedRequest."""
    reply = await client.post("/batch", body)
    assert reply.status == 400
    assert reply.fault_codes() == ["400"]


async def test_unknown_top_level_key_is_2010(client: DataClient) -> None:
    """A batch body with a key other than BatchItemRequest is 2010."""
    reply = await client.post("/batch", {"BatchItemRequest": [], "Extra": 1})
    assert reply.fault_codes() == ["2010"]


async def test_batch_requestid_limit_and_replay(client: DataClient) -> None:
    """On /batch a requestid may be 36 characters, not 37; a repeat replays the answer
    without running the items again."""
    items = [{"bId": "1", "operation": "create", "Vendor": {"DisplayName": "Once"}}]
    too_long = await batch(client, items, f"?requestid={'b' * 37}")
    assert too_long.status == 400
    assert too_long.fault_codes() == ["2050"]
    first = await batch(client, items, f"?requestid={'b' * 36}")
    second = await batch(client, items, f"?requestid={'b' * 36}")
    assert first.body == second.body
    assert len(list(client.company.all("Vendor"))) == 1


async def test_batch_needs_post_and_json(client: DataClient) -> None:
    """GET /batch is 400 code 500; a batch sent as text is 415."""
    assert (await client.get("/batch")).fault_codes() == ["500"]
    reply = await client.request(
        "POST", "/batch", {"BatchItemRequest": []}, content_type="application/text"
    )
    assert reply.status == 415
