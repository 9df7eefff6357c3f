"""The body values the emulator still refuses, each with the source saying QBO refuses it
too (the audit table in `entity_coercion`'s docstring), or the reason it is the
emulator's choice."""

from __future__ import annotations

from typing import Any

import pytest

from qbo_adapters.emulator.settings import EmulatorSettings
from tests.emulator.harness import DataClient


@pytest.fixture
def empty() -> DataClient:
    return DataClient(EmulatorSettings(throttle=False, size="empty"))


async def _codes(client: DataClient, path: str, body: Any) -> list[str]:
    reply = await client.post(path, body)
    assert reply.status == 400, reply.body
    return reply.fault_codes()


@pytest.mark.parametrize(
    "body",
    [
        {"DisplayName": "X", "Balance": "abc"},
        {"DisplayName": "X", "Balance": "1,000.00"},
        {"DisplayName": "X", "Balance": True},
        {"DisplayName": "X", "Active": "maybe"},
        {"DisplayName": "X", "Active": 1.5},
        {"DisplayName": "X", "OpenBalanceDate": "yesterday"},
        {"DisplayName": "X", "OpenBalanceDate": "2024-02-30"},
        {"DisplayName": ["X"]},
        {"DisplayName": "X", "ParentRef": "7"},
        {"DisplayName": "X", "BillAddr": [1]},
    ],
)
async def test_values_the_reader_cannot_read_are_2010(empty: DataClient, body: Any) -> None:
    """A value Jackson cannot turn into the property's type is 2010: source
    `error/400_json.json` (QBO's reader's "Can not construct instance of ..." fault)."""
    assert await _codes(empty, "/customer", body) == ["2010"]


async def test_unknown_property_and_non_object_body_are_2010(empty: DataClient) -> None:
    """An unknown property, or a body that is not an object, is 2010: source facts §3
    ("Unknown JSON property") and `error/400_json.json`."""
    assert await _codes(empty, "/customer", {"DisplayName": "X", "Nickname": "Y"}) == ["2010"]
    assert await _codes(empty, "/customer", [1, 2]) == ["2010"]


@pytest.mark.parametrize(
    "body",
    [
        {"DisplayName": "X", "Balance": 1e12},
        {"DisplayName": "X", "OpenBalanceDate": "1899-12-31"},
    ],
)
async def test_range_limits_are_the_emulators_choice(empty: DataClient, body: Any) -> None:
    """Amounts beyond 99,999,999,999.99 and dates before 1900 are 2010: no QBO source; the
    emulator's choice (QBO stores eleven integer digits; its UI takes dates from 1900)."""
    assert await _codes(empty, "/customer", body) == ["2010"]


async def test_deep_nesting_is_2010(empty: DataClient) -> None:
    """Nesting deeper than 32 levels is 2010: no QBO source; the emulator's choice, so one
    request cannot exhaust the stack."""
    nested: Any = 1
    for _ in range(40):
        nested = {"a": nested}
    body = {"DisplayName": "X", "CustomField": [nested]}
    assert await _codes(empty, "/customer", body) == ["2010"]


async def test_required_missing_is_2020(empty: DataClient) -> None:
    """An invoice without CustomerRef (or with "" for it, which is unset) is 2020: source
    facts §4 ("2020 Required param missing")."""
    assert await _codes(empty, "/invoice", {"Line": []}) == ["2020"]


async def test_missing_reference_is_2500(empty: DataClient) -> None:
    """A reference to an object that does not exist is 2500: source facts §4 (2017 Intuit
    blog, "Invalid Reference Id")."""
    body = {"CustomerRef": {"value": "999"}, "Line": [{"Amount": 1}]}
    assert await _codes(empty, "/invoice", body) == ["2500"]


async def test_duplicate_name_is_6240(empty: DataClient) -> None:
    """A second customer of the same DisplayName is 6240: source `error/validation.json`."""
    await empty.create("Customer", {"DisplayName": "Weiskopf Consulting"})
    assert await _codes(empty, "/customer", {"DisplayName": "Weiskopf Consulting"}) == ["6240"]


async def test_stale_sync_token_is_5010_even_as_a_number(empty: DataClient) -> None:
    """An update with an old SyncToken, sent as a number, is 5010: source facts §3
    (`batch/basic.json`'s Stale Object Error)."""
    customer = await empty.create("Customer", {"DisplayName": "Jane"})
    await empty.post("/customer", {**customer, "Notes": "one"})
    body = {"Id": customer["Id"], "SyncToken": 0, "sparse": True, "Notes": "two"}
    assert await _codes(empty, "/customer", body) == ["5010"]


async def test_unbalanced_journal_entry_is_6000(empty: DataClient) -> None:
    """A journal entry whose debits and credits differ is 6000: source facts §4 (6000
    "Business Validation Error", the code QBO gives its business rules)."""
    account = next(a for a in empty.company.all("Account") if a["AccountType"] == "Bank")
    line = {
        "Amount": 5,
        "DetailType": "JournalEntryLineDetail",
        "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": {"value": account["Id"]}},
    }
    assert await _codes(empty, "/journalentry", {"Line": [line]}) == ["6000"]
