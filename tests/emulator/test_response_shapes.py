"""QBO's answer shapes: `totalCount` on query pages per entity, whole numbers written as
integers, and `SELECT *, Sku FROM Item`."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbo_adapters.emulator.datagen import generate_company
from qbo_adapters.emulator.entities import money
from qbo_adapters.emulator.query import (
    QueryResult,
    Selection,
    carries_total_count,
    left_out_of_star,
    parse,
    to_response,
)
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_core.http import HttpResponse
from qbo_core.wire.responses import decode_query
from tests.emulator.harness import DataClient, Reply

WITH_TOTAL_COUNT = ["Invoice", "Bill", "BillPayment", "Deposit", "JournalEntry", "PurchaseOrder"]
WITHOUT_TOTAL_COUNT = [
    "Customer",
    "Vendor",
    "Item",
    "Account",
    "Payment",
    "Purchase",
    "Estimate",
    "CreditMemo",
]
# A JSON number written with a fraction of zeros: `275.0`, `-3.00`.
WHOLE_AS_DECIMAL = re.compile(r"[:\[,]-?\d+\.0+(?:[eE][-+]?\d+)?[,}\]]")


@pytest.fixture(scope="module")
def small() -> DataClient:
    return DataClient(EmulatorSettings(throttle=False, size="small"))


@pytest.fixture
def empty() -> DataClient:
    return DataClient(EmulatorSettings(throttle=False, size="empty"))


def as_response(reply: Reply) -> HttpResponse:
    return HttpResponse(status=reply.status, headers=reply.headers, body=reply.body)


# --------------------------------------------------------------------------- totalCount


@pytest.mark.parametrize("entity", WITH_TOTAL_COUNT + WITHOUT_TOTAL_COUNT)
def test_total_count_on_a_page_follows_the_entity(entity: str) -> None:
    """A page of Invoice, Bill, BillPayment, Deposit, JournalEntry or PurchaseOrder rows
    carries totalCount (the rows on the page); the other entities' pages do not."""
    rows = ({"Id": "1"}, {"Id": "2"})
    page = to_response(parse(f"SELECT * FROM {entity}"), QueryResult(total=5, items=rows), entity)
    assert page["maxResults"] == 2
    if entity in WITH_TOTAL_COUNT:
        assert carries_total_count(entity)
        assert page["totalCount"] == 2
    else:
        assert not carries_total_count(entity)
        assert "totalCount" not in page


@pytest.mark.parametrize("entity", WITH_TOTAL_COUNT + WITHOUT_TOTAL_COUNT)
async def test_queries_over_http_carry_total_count_per_entity(
    small: DataClient, entity: str
) -> None:
    """Over the data API, each entity's page has totalCount exactly when QBO sends it; an
    empty page stays `{}` and COUNT(*) answers totalCount alone; the raw client's decoder
    reads the page either way."""
    reply = await small.query(f"SELECT * FROM {entity} MAXRESULTS 3")
    assert reply.status == 200, reply.body
    page = reply.json()["QueryResponse"]
    decoded = decode_query(as_response(reply))
    if entity == "PurchaseOrder" and not page:  # generated companies hold none yet
        assert decoded.items == ()
    else:
        assert page["maxResults"] == 3
        assert page.get("totalCount") == (3 if entity in WITH_TOTAL_COUNT else None)
        assert len(decoded.items) == 3
        assert decoded.total_count == page.get("totalCount")
    past = await small.query(f"SELECT * FROM {entity} STARTPOSITION 1000000")
    assert past.json()["QueryResponse"] == {}
    count = await small.query(f"SELECT COUNT(*) FROM {entity}")
    assert set(count.json()["QueryResponse"]) == {"totalCount"}


# --------------------------------------------------------------------------- numbers


@given(st.integers(-(10**13), 10**13))
def test_money_writes_whole_amounts_as_integers(cents: int) -> None:
    """Whole amounts serialize as integers (`275`), others as the shortest decimal that
    reads back as the same cents (`87.5`, `0.01`)."""
    text = json.dumps(money(cents))
    assert ("." in text) is (cents % 100 != 0), text
    assert round(json.loads(text) * 100) == cents
    assert len(text.partition(".")[2]) <= 2
    assert json.dumps(money(27_500)) == "275"
    assert (json.dumps(money(1_250)), json.dumps(money(1))) == ("12.5", "0.01")


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 99_999), st.integers(1, 50))
async def test_whole_numbers_in_writes_serialize_as_integers(units: int, quantity: int) -> None:
    """Whole amounts, unit prices, quantities and balances sent as `275.0` come back as
    `275` in the create response and in a query, on every line and total."""
    client = DataClient(EmulatorSettings(throttle=False, size="empty"))
    income = next(a for a in client.company.all("Account") if a["AccountType"] == "Income")
    item = await client.create(
        "Item",
        {"Name": "Whole", "UnitPrice": float(units), "IncomeAccountRef": {"value": income["Id"]}},
    )
    customer = await client.create("Customer", {"DisplayName": "Whole buyer"})
    line = {
        "Amount": float(units * quantity),
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {
            "ItemRef": {"value": item["Id"]},
            "Qty": float(quantity),
            "UnitPrice": float(units),
        },
    }
    reply = await client.post(
        "/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [line]}
    )
    assert reply.status == 200, reply.body
    invoice = reply.json()["Invoice"]
    assert invoice["TotalAmt"] == invoice["Balance"] == units * quantity
    assert isinstance(invoice["TotalAmt"], int)
    assert isinstance(invoice["Line"][0]["SalesItemLineDetail"]["Qty"], int)
    replies = [
        reply,
        await client.query("SELECT * FROM Invoice"),
        await client.get(f"/customer/{customer['Id']}"),
        await client.query("SELECT * FROM Account"),
    ]
    for answer in replies:
        assert WHOLE_AS_DECIMAL.search(answer.body.decode()) is None, answer.body


async def test_fractions_are_written_as_decimals(empty: DataClient) -> None:
    """Fractional quantities, prices and amounts stay decimals, as QBO writes them
    (`"Qty":2.5`, `"UnitPrice":12.75` in the recorded `cdc/basic.json`)."""
    income = next(a for a in empty.company.all("Account") if a["AccountType"] == "Income")
    item = await empty.create(
        "Item", {"Name": "Part", "UnitPrice": 12.75, "IncomeAccountRef": {"value": income["Id"]}}
    )
    customer = await empty.create("Customer", {"DisplayName": "Fraction buyer"})
    line = {
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 2.5, "UnitPrice": 0.01},
    }
    reply = await empty.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [line]})
    text = reply.body.decode()
    assert '"Qty":2.5' in text
    assert '"UnitPrice":0.01' in text
    assert '"TotalAmt":0.03' in text  # 2.5 x 0.01 = 0.025, half-up to the cent
    assert item["UnitPrice"] == 12.75


@settings(max_examples=3, deadline=None)
@given(st.integers(0, 2**32))
def test_generated_companies_write_whole_numbers_as_integers(seed: int) -> None:
    """No number in a generated company is written with a fraction of zeros."""
    generated = generate_company(
        seed=seed, size="small", realm_id="1", now=datetime(2026, 3, 1, tzinfo=UTC)
    )
    assert WHOLE_AS_DECIMAL.search(generated.to_json()) is None


# --------------------------------------------------------------------------- SELECT *, Sku


def test_star_may_be_followed_by_more_names() -> None:
    """`SELECT *, Sku FROM Item` parses as everything plus the named properties."""
    query = parse("select *, Sku, Name FROM Item MAXRESULTS 10")
    assert (query.selection, query.fields, query.max_results) == (
        Selection.ALL,
        ("Sku", "Name"),
        10,
    )
    assert left_out_of_star("ITEM") == frozenset({"sku"})
    assert left_out_of_star("Customer") == frozenset()


async def test_select_star_leaves_out_item_sku_unless_named(empty: DataClient) -> None:
    """`SELECT * FROM Item` leaves out Sku; `SELECT *, Sku` (any case) returns the item as
    stored, Sku included; a read by Id keeps it; an unknown name after `*` is 4001."""
    income = next(a for a in empty.company.all("Account") if a["AccountType"] == "Income")
    item = await empty.create(
        "Item", {"Name": "Widget", "Sku": "WID-1", "IncomeAccountRef": {"value": income["Id"]}}
    )
    assert item["Sku"] == "WID-1"

    async def rows(statement: str) -> list[dict[str, Any]]:
        reply = await empty.query(statement)
        assert reply.status == 200, reply.body
        found: list[dict[str, Any]] = reply.json()["QueryResponse"]["Item"]
        return found

    [plain] = await rows("SELECT * FROM Item WHERE Name = 'Widget'")
    assert "Sku" not in plain
    assert plain == {key: value for key, value in item.items() if key != "Sku"}
    assert await rows("SELECT *, Sku FROM Item WHERE Name = 'Widget'") == [item]
    assert await rows("select *, sku from item where Name = 'Widget'") == [item]
    assert (await empty.read("Item", item["Id"]))["Sku"] == "WID-1"
    unknown = await empty.query("SELECT *, Nope FROM Item")
    assert unknown.status == 400
    assert unknown.fault_codes() == ["4001"]
