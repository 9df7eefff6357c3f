"""Change data capture: `GET /cdc?entities=...&changedSince=...`."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from qbo_adapters.emulator.context import meta_time
from qbo_adapters.emulator.settings import EmulatorSettings
from tests.emulator.harness import DataClient


@pytest.fixture
def client() -> DataClient:
    return DataClient(EmulatorSettings(throttle=False, size="empty"))


def since_text(client: DataClient) -> str:
    return quote(meta_time(client.clock.now(), client.company.zone))


async def cdc(client: DataClient, entities: str, since: str) -> Any:
    return await client.get(f"/cdc?entities={entities}&changedSince={since}")


def groups(reply: Any) -> list[dict[str, Any]]:
    body = reply.json()
    assert set(body) == {"CDCResponse", "time"}
    assert len(body["CDCResponse"]) == 1
    found: list[dict[str, Any]] = body["CDCResponse"][0]["QueryResponse"]
    return found


async def test_groups_follow_the_requested_entities(client: DataClient) -> None:
    """One group per requested entity, in the order asked, each holding only its own
    changes with startPosition 1 and maxResults equal to its count."""
    client.advance(60)
    since = since_text(client)
    vendor = await client.create("Vendor", {"DisplayName": "V"})
    customer = await client.create("Customer", {"DisplayName": "C"})
    found = groups(await cdc(client, "Customer,vendor,Employee", since))
    assert found == [
        {"Customer": [customer], "startPosition": 1, "maxResults": 1},
        {"Vendor": [vendor], "startPosition": 1, "maxResults": 1},
        {},
    ]


async def test_changes_are_oldest_first_and_deletions_come_last(client: DataClient) -> None:
    """Changed objects are ordered by LastUpdatedTime and deleted ones follow as
    {"status":"Deleted","domain":"QBO","Id","MetaData":{"LastUpdatedTime"}}."""
    customer = await client.create("Customer", {"DisplayName": "C"})
    income = next(a for a in client.company.all("Account") if a["AccountType"] == "Income")
    item = await client.create("Item", {"Name": "I", "IncomeAccountRef": {"value": income["Id"]}})
    line = {
        "Amount": 5,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
    }
    client.advance(60)
    since = since_text(client)
    made = []
    for _ in range(3):
        client.advance(10)
        made.append(
            await client.create(
                "Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [line]}
            )
        )
    client.advance(10)
    await client.post(
        "/invoice",
        {"Id": made[0]["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "edited last"},
    )
    client.advance(10)
    await client.post("/invoice?operation=delete", {"Id": made[1]["Id"], "SyncToken": "0"})
    found = groups(await cdc(client, "Invoice", since))[0]
    ids = [obj["Id"] for obj in found["Invoice"]]
    assert ids == [made[2]["Id"], made[0]["Id"], made[1]["Id"]]
    assert found["maxResults"] == 3
    assert found["Invoice"][2] == {
        "status": "Deleted",
        "domain": "QBO",
        "Id": made[1]["Id"],
        "MetaData": {"LastUpdatedTime": meta_time(client.clock.now(), client.company.zone)},
    }


async def test_payment_changes_show_the_customer_too(client: DataClient) -> None:
    """An invoice changes its customer's balance, so the customer appears in CDC."""
    customer = await client.create("Customer", {"DisplayName": "C"})
    income = next(a for a in client.company.all("Account") if a["AccountType"] == "Income")
    item = await client.create("Item", {"Name": "I", "IncomeAccountRef": {"value": income["Id"]}})
    client.advance(60)
    since = since_text(client)
    await client.create(
        "Invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "Line": [
                {
                    "Amount": 5,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
                }
            ],
        },
    )
    found = groups(await cdc(client, "Customer", since))[0]
    assert [obj["Id"] for obj in found["Customer"]] == [customer["Id"]]
    assert found["Customer"][0]["Balance"] == 5


async def test_total_is_capped_across_groups() -> None:
    """All groups together hold at most cdc_max_objects objects."""
    client = DataClient(EmulatorSettings(throttle=False, size="empty", cdc_max_objects=3))
    since = since_text(client)
    for n in range(2):
        await client.create("Customer", {"DisplayName": f"C{n}"})
        await client.create("Vendor", {"DisplayName": f"V{n}"})
    found = groups(await cdc(client, "Customer,Vendor", since))
    assert [len(g.get("Customer", g.get("Vendor", []))) for g in found] == [2, 1]
    assert found[1]["maxResults"] == 1


async def test_date_only_changed_since_starts_at_local_midnight(client: DataClient) -> None:
    """changedSince=YYYY-MM-DD means that day's midnight in the company's time zone."""
    created = await client.create("Customer", {"DisplayName": "Today"})
    today = created["MetaData"]["LastUpdatedTime"][:10]
    found = groups(await cdc(client, "Customer", today))[0]
    assert [obj["Id"] for obj in found["Customer"]] == [created["Id"]]
    tomorrow = (date.fromisoformat(today) + timedelta(days=1)).isoformat()
    assert groups(await cdc(client, "Customer", tomorrow)) == [{}]


async def test_preferences_can_be_tracked(client: DataClient) -> None:
    """Preferences appear in CDC once updated after changedSince."""
    client.advance(60)
    since = since_text(client)
    assert groups(await cdc(client, "Preferences", since)) == [{}]
    prefs = (await client.get("/preferences")).json()["Preferences"]
    await client.post(
        "/preferences",
        {
            "Id": prefs["Id"],
            "SyncToken": prefs["SyncToken"],
            "sparse": True,
            "SalesFormsPrefs": {"AllowShipping": True},
        },
    )
    found = groups(await cdc(client, "Preferences", since))[0]
    assert found["Preferences"][0]["SalesFormsPrefs"]["AllowShipping"] is True


@pytest.mark.parametrize(
    "entity", ["TaxCode", "TimeActivity", "JournalCode", "TaxAgency", "TaxRate", "CompanyInfo"]
)
async def test_unsupported_entities_are_refused(client: DataClient, entity: str) -> None:
    """CDC refuses the entities Intuit excludes with 400 4001."""
    reply = await cdc(client, entity, "2025-12-30")
    assert reply.status == 400
    assert reply.json()["Fault"]["Error"][0] == {
        "Message": "Invalid query",
        "Detail": f"QueryValidationError: Change Data Capture is not supported for {entity}",
        "code": "4001",
    }


async def test_unknown_entity_is_an_invalid_context(client: DataClient) -> None:
    """An entity QBO does not have is 4001 invalid context declaration, as in queries."""
    reply = await cdc(client, "Customer,Widget", "2025-12-30")
    assert reply.json()["Fault"]["Error"][0]["Detail"] == (
        "QueryValidationError: invalid context declaration: Widget"
    )


@pytest.mark.parametrize(
    ("query", "code", "element"),
    [
        ("changedSince=2025-12-30", "2020", "entities"),
        ("entities=Customer", "2020", "changedSince"),
        ("entities=,&changedSince=2025-12-30", "2020", "entities"),
        ("entities=Customer&changedSince=last-week", "2050", "changedSince"),
    ],
)
async def test_missing_or_bad_parameters(
    client: DataClient, query: str, code: str, element: str
) -> None:
    """Missing entities or changedSince is 2020; an unreadable changedSince is 2050."""
    reply = await client.get(f"/cdc?{query}")
    error = reply.json()["Fault"]["Error"][0]
    assert (reply.status, error["code"], error["element"]) == (400, code, element)


async def test_window_is_enforced_and_can_be_turned_off() -> None:
    """changedSince older than cdc_window_days is 4001; None accepts any date."""
    strict = DataClient(EmulatorSettings(throttle=False, size="empty"))
    reply = await cdc(strict, "Customer", "2025-11-15")
    assert reply.status == 400
    assert "more than 30 days ago" in reply.json()["Fault"]["Error"][0]["Detail"]
    assert (await cdc(strict, "Customer", "2025-12-05")).status == 200
    open_ended = DataClient(EmulatorSettings(throttle=False, size="empty", cdc_window_days=None))
    reply = await cdc(open_ended, "Account", quote("2011-10-10T09:00:00-07:00"))
    assert reply.status == 200
    assert len(groups(reply)[0]["Account"]) == len(list(open_ended.company.all("Account")))


async def test_post_is_not_served(client: DataClient) -> None:
    """CDC answers GET only; a POST is 400 code 500."""
    reply = await client.post("/cdc?entities=Customer&changedSince=2025-12-30", {})
    assert reply.json()["Fault"]["Error"][0]["code"] == "500"


async def test_entities_without_objects_get_empty_groups(client: DataClient) -> None:
    """A real QBO entity the emulator holds none of (Budget) gets an empty group."""
    assert groups(await cdc(client, "Budget", "2025-12-30")) == [{}]
