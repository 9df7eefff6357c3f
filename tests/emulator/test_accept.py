"""What the emulator accepts that QBO accepts: empty strings as null for dates, numbers and
booleans, numbers where strings are expected (a numeric `SyncToken`), numeric strings,
dates with a zone; in create, full update, sparse update and batch."""

from __future__ import annotations

from typing import Any

import pytest

from qbo_adapters.emulator.settings import EmulatorSettings
from tests.emulator.harness import DataClient


@pytest.fixture
def empty() -> DataClient:
    return DataClient(EmulatorSettings(throttle=False, size="empty"))


async def _setup(client: DataClient) -> tuple[str, str]:
    """A customer and a service item; returns their Ids."""
    income = next(a for a in client.company.all("Account") if a["AccountType"] == "Income")
    item = await client.create(
        "Item", {"Name": "Consulting", "UnitPrice": 80, "IncomeAccountRef": {"value": income["Id"]}}
    )
    customer = await client.create("Customer", {"DisplayName": "Amy's Bird Sanctuary"})
    return customer["Id"], item["Id"]


def _invoice_body(customer: str, item: str, **extra: Any) -> dict[str, Any]:
    """An invoice body as a client that sends "" for every unset field writes it."""
    return {
        "CustomerRef": {"value": customer},
        "TxnDate": "",
        "DueDate": "",
        "TotalAmt": "",
        "Line": [
            {
                "Amount": 160,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": item},
                    "Qty": 2,
                    "UnitPrice": 80,
                    "ServiceDate": "",
                },
            }
        ],
        **extra,
    }


async def test_create_takes_empty_dates_and_amounts_as_unset(empty: DataClient) -> None:
    """An invoice created with "" TxnDate, DueDate, TotalAmt and line ServiceDate gets the
    defaults it would get without them: today, the due date from terms, the computed total."""
    customer, item = await _setup(empty)
    created = await empty.create("Invoice", _invoice_body(customer, item))
    assert created["TxnDate"] == empty.company.today_text()
    assert created["DueDate"] >= created["TxnDate"]
    assert created["TotalAmt"] == 160
    assert "ServiceDate" not in created["Line"][0]["SalesItemLineDetail"]


async def test_create_customer_with_empty_open_balance_date_and_flags(empty: DataClient) -> None:
    """A customer sent with "" OpenBalanceDate, Balance and Taxable is created with them unset."""
    created = await empty.create(
        "Customer",
        {"DisplayName": "Doe5, Jane", "OpenBalanceDate": "", "Balance": "", "Taxable": ""},
    )
    assert "OpenBalanceDate" not in created
    assert created["Balance"] == 0


async def test_numeric_sync_token_and_string_amounts_are_accepted(empty: DataClient) -> None:
    """`"SyncToken": 0` as a number updates like "0"; `"100.00"` is an amount (QBO's reader
    turns numbers into strings and numeric strings into numbers)."""
    customer, item = await _setup(empty)
    created = await empty.create("Invoice", _invoice_body(customer, item))
    body = {**created, "SyncToken": 0, "Line": [{**created["Line"][0], "Amount": "160.00"}]}
    reply = await empty.post("/invoice", body)
    assert reply.status == 200, reply.body
    assert reply.json()["Invoice"]["TotalAmt"] == 160


async def test_full_update_with_empty_dates_treats_them_as_absent(empty: DataClient) -> None:
    """A full update sending "" TxnDate keeps the stored date (as an absent TxnDate does) and
    "" DueDate recomputes it from the terms."""
    customer, item = await _setup(empty)
    created = await empty.create(
        "Invoice",
        _invoice_body(customer, item, TxnDate="2024-03-01", DueDate="2024-05-01"),
    )
    body = {**created, "TxnDate": "", "DueDate": "", "TotalAmt": ""}
    reply = await empty.post("/invoice", body)
    assert reply.status == 200, reply.body
    updated = reply.json()["Invoice"]
    assert updated["TxnDate"] == "2024-03-01"
    assert updated["DueDate"] == "2024-03-01"  # no terms: due on the transaction date
    assert updated["TotalAmt"] == 160


async def test_sparse_update_with_empty_values_changes_nothing(empty: DataClient) -> None:
    """A sparse update sending "" dates and amounts leaves those fields as they were: null in
    a sparse body is "not sent"; the SyncToken may be a number."""
    customer, item = await _setup(empty)
    created = await empty.create(
        "Invoice", _invoice_body(customer, item, TxnDate="2024-03-01", DueDate="2024-05-01")
    )
    reply = await empty.post(
        "/invoice",
        {
            "Id": created["Id"],
            "SyncToken": 0,
            "sparse": True,
            "DueDate": "",
            "TotalAmt": "",
            "PrivateNote": "Called",
        },
    )
    assert reply.status == 200, reply.body
    updated = reply.json()["Invoice"]
    assert (updated["TxnDate"], updated["DueDate"]) == ("2024-03-01", "2024-05-01")
    assert updated["PrivateNote"] == "Called"
    assert updated["SyncToken"] == "1"


async def test_batch_takes_the_same_leniencies(empty: DataClient) -> None:
    """Batch create and update items with "" dates and amounts and a numeric SyncToken
    succeed as the single-entity calls do."""
    customer, item = await _setup(empty)
    vendor = await empty.create("Vendor", {"DisplayName": "Hicks Hardware"})
    reply = await empty.post(
        "/batch",
        {
            "BatchItemRequest": [
                {"bId": "1", "operation": "create", "Invoice": _invoice_body(customer, item)},
                {
                    "bId": "2",
                    "operation": "create",
                    "Customer": {"DisplayName": "Cool Cars", "OpenBalanceDate": ""},
                },
                {
                    "bId": "3",
                    "operation": "update",
                    "Vendor": {
                        "Id": vendor["Id"],
                        "SyncToken": 0,
                        "sparse": True,
                        "OpenBalanceDate": "",
                        "AcctNum": 1345,
                    },
                },
            ]
        },
    )
    assert reply.status == 200, reply.body
    found = {item["bId"]: item for item in reply.json()["BatchItemResponse"]}
    assert all("Fault" not in answer for answer in found.values()), found
    assert found["1"]["Invoice"]["TxnDate"] == empty.company.today_text()
    assert "OpenBalanceDate" not in found["2"]["Customer"]
    assert found["3"]["Vendor"]["AcctNum"] == "1345"


async def test_dates_with_a_zone_or_time_keep_the_date(empty: DataClient) -> None:
    """`2018-11-04Z` (what the PHP SDK's users send: QuickBooks-V3-PHP-SDK issue #185) and
    an ISO date-time are read as their date."""
    customer, item = await _setup(empty)
    first = await empty.create("Invoice", _invoice_body(customer, item, TxnDate="2018-11-04Z"))
    second = await empty.create(
        "Invoice", _invoice_body(customer, item, TxnDate="2018-11-05T10:30:00-08:00")
    )
    assert (first["TxnDate"], second["TxnDate"]) == ("2018-11-04", "2018-11-05")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("TxnDate", "yesterday"),
        ("TxnDate", "2024-02-30"),
        ("DueDate", "01/02/2024"),
        ("TotalAmt", "abc"),
        ("TotalAmt", "1,000.00"),
    ],
)
async def test_non_empty_malformed_values_are_still_2010(
    empty: DataClient, field: str, value: str
) -> None:
    """Only an empty string means null: a malformed date or number is QBO's 2010
    (`error/400_json.json` records the reader's 2010 for a property it cannot read)."""
    customer, item = await _setup(empty)
    reply = await empty.post("/invoice", _invoice_body(customer, item, **{field: value}))
    assert reply.status == 400
    assert reply.fault_codes() == ["2010"]


async def test_malformed_service_date_in_a_line_is_2010(empty: DataClient) -> None:
    """A line's ServiceDate is a date like TxnDate: "" is unset, "soon" is 2010."""
    customer, item = await _setup(empty)
    body = _invoice_body(customer, item)
    body["Line"][0]["SalesItemLineDetail"]["ServiceDate"] = "soon"
    reply = await empty.post("/invoice", body)
    assert reply.status == 400
    assert reply.fault_codes() == ["2010"]


@pytest.mark.parametrize(("qty", "price"), [(0, 0), (0.0, "0.00")])
async def test_a_line_with_zero_qty_and_unit_price_is_unpriced(
    empty: DataClient, qty: Any, price: Any
) -> None:
    """python-quickbooks sends `"Qty": 0, "UnitPrice": 0` on a line the caller did not
    price; QBO keeps its Amount (ej2/python-quickbooks `tests/integration/test_invoice.py`,
    run against the sandbox, creates such an invoice and reads Amount 100 back). A line
    priced otherwise is still checked: Qty 0 with a UnitPrice is 6070."""
    customer, item = await _setup(empty)
    body = _invoice_body(customer, item)
    body["Line"][0]["Amount"] = 100
    body["Line"][0]["SalesItemLineDetail"].update({"Qty": qty, "UnitPrice": price})
    created = await empty.create("Invoice", body)
    assert created["Line"][0]["Amount"] == 100
    assert created["TotalAmt"] == 100
    body["Line"][0]["SalesItemLineDetail"].update({"Qty": 0, "UnitPrice": 80})
    reply = await empty.post("/invoice", body)
    assert reply.fault_codes() == ["6070"]
