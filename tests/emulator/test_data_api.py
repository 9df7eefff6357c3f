"""The emulator's data API over HTTP-shaped requests: CRUD, faults, query, requestid."""

from __future__ import annotations

from typing import Any

import pytest

from qbo_adapters.emulator.settings import EmulatorSettings
from tests.emulator.harness import DataClient


@pytest.fixture
def client() -> DataClient:
    return DataClient()


@pytest.fixture
def empty() -> DataClient:
    return DataClient(EmulatorSettings(throttle=False, size="empty"))


def fault(reply: Any) -> dict[str, Any]:
    """The first Error of a fault answer."""
    error: dict[str, Any] = reply.json()["Fault"]["Error"][0]
    return error


async def an_item(client: DataClient) -> dict[str, Any]:
    income = next(a for a in client.company.all("Account") if a["AccountType"] == "Income")
    return await client.create(
        "Item",
        {
            "Name": "Consulting",
            "Type": "Service",
            "UnitPrice": 80,
            "IncomeAccountRef": {"value": income["Id"]},
        },
    )


def sale_line(item_id: str, qty: float, price: float, amount: float | None = None) -> Any:
    line: dict[str, Any] = {
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item_id}, "Qty": qty, "UnitPrice": price},
    }
    if amount is not None:
        line["Amount"] = amount
    return line


# --------------------------------------------------------------------------- name lists


async def test_customer_create_fills_server_defaults(empty: DataClient) -> None:
    """A customer created from a DisplayName gets QBO's defaults and reads back the same."""
    created = await empty.create("Customer", {"DisplayName": "Doe5, Jane"})
    assert created["SyncToken"] == "0"
    assert created["Id"].isdigit()
    assert created["domain"] == "QBO"
    assert created["sparse"] is False
    expected = {
        "Taxable": True,
        "Job": False,
        "BillWithParent": False,
        "Balance": 0,
        "BalanceWithJobs": 0,
        "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
        "PreferredDeliveryMethod": "Print",
        "FullyQualifiedName": "Doe5, Jane",
        "PrintOnCheckName": "Doe5, Jane",
        "Active": True,
        "DefaultTaxCodeRef": {"value": "1"},
    }
    assert {key: created[key] for key in expected} == expected
    assert created["MetaData"]["CreateTime"] == created["MetaData"]["LastUpdatedTime"]
    assert await empty.read("Customer", created["Id"]) == created


async def test_person_name_parts_make_the_display_name(empty: DataClient) -> None:
    """Without DisplayName QBO joins Title, GivenName, MiddleName, FamilyName and Suffix."""
    vendor = await empty.create(
        "Vendor", {"Title": "Dr.", "GivenName": "Ada", "FamilyName": "Byron", "Suffix": "Jr."}
    )
    employee = await empty.create("Employee", {"GivenName": "Emily", "FamilyName": "Platt"})
    assert vendor["DisplayName"] == "Dr. Ada Byron Jr."
    assert vendor["PrintOnCheckName"] == "Ada Byron"
    assert (vendor["Vendor1099"], vendor["Balance"], vendor["Active"]) == (False, 0, True)
    assert (employee["DisplayName"], employee["BillableTime"]) == ("Emily Platt", False)


async def test_person_without_any_name_is_6080(empty: DataClient) -> None:
    """A customer with no name part at all is refused with 6080 No Name Provided."""
    reply = await empty.post("/customer", {"CompanyName": "Nameless"})
    assert reply.status == 400
    assert fault(reply)["code"] == "6080"


async def test_full_update_drops_omitted_fields_and_keeps_server_fields(
    empty: DataClient,
) -> None:
    """A full update removes writable fields it omits, keeps Id/CreateTime/Balance and
    bumps SyncToken and LastUpdatedTime."""
    created = await empty.create(
        "Customer", {"DisplayName": "Doe2, Jane", "Notes": "old", "CompanyName": "Doe Co"}
    )
    empty.advance(60)
    reply = await empty.post(
        "/customer", {"Id": created["Id"], "SyncToken": "0", "DisplayName": "Jack Moe"}
    )
    updated = reply.json()["Customer"]
    assert "Notes" not in updated
    assert "CompanyName" not in updated
    assert (updated["SyncToken"], updated["PrintOnCheckName"]) == ("1", "Jack Moe")
    assert updated["MetaData"]["CreateTime"] == created["MetaData"]["CreateTime"]
    assert updated["MetaData"]["LastUpdatedTime"] > created["MetaData"]["LastUpdatedTime"]
    assert updated["Balance"] == 0
    assert updated["FullyQualifiedName"] == "Jack Moe"


async def test_sparse_update_changes_only_what_is_sent(empty: DataClient) -> None:
    """A sparse update keeps every field it does not name."""
    created = await empty.create("Vendor", {"DisplayName": "Acme", "AcctNum": "77"})
    reply = await empty.post(
        "/vendor", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Notes": "hi"}
    )
    updated = reply.json()["Vendor"]
    assert (updated["AcctNum"], updated["Notes"], updated["SyncToken"]) == ("77", "hi", "1")


async def test_no_op_update_keeps_sync_token_and_time(empty: DataClient) -> None:
    """An update that changes nothing keeps SyncToken and LastUpdatedTime, as QBO does."""
    created = await empty.create("Employee", {"DisplayName": "Sam Lee"})
    empty.advance(60)
    reply = await empty.post(
        "/employee", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Active": True}
    )
    assert reply.json()["Employee"] == created


async def test_stale_sync_token_is_5010(empty: DataClient) -> None:
    """An update with an old SyncToken is 400 ValidationFault 5010 Stale Object Error."""
    created = await empty.create("Customer", {"DisplayName": "Stale"})
    await empty.post(
        "/customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Notes": "first"}
    )
    reply = await empty.post(
        "/customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Notes": "second"}
    )
    assert reply.status == 400
    body = reply.json()
    assert body["Fault"]["type"] == "ValidationFault"
    assert fault(reply)["code"] == "5010"
    assert fault(reply)["Message"] == "Stale Object Error"
    assert fault(reply)["element"] == ""
    assert "time" in body


async def test_update_without_sync_token_is_2020(empty: DataClient) -> None:
    """An update naming an Id but no SyncToken is 2020 Required param missing."""
    created = await empty.create("Customer", {"DisplayName": "Tokenless"})
    reply = await empty.post("/customer", {"Id": created["Id"], "DisplayName": "X"})
    assert (reply.status, fault(reply)["code"], fault(reply)["element"]) == (
        400,
        "2020",
        "SyncToken",
    )


async def test_deactivation_suffixes_the_name_and_frees_it(empty: DataClient) -> None:
    """Active:false appends " (deleted)", frees the name for reuse, and reactivating
    strips the suffix again (6240 if someone took the name meanwhile)."""
    created = await empty.create("Customer", {"DisplayName": "Emily Platt"})
    reply = await empty.post(
        "/customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    gone = reply.json()["Customer"]
    assert (gone["DisplayName"], gone["Active"], gone["SyncToken"]) == (
        "Emily Platt (deleted)",
        False,
        "1",
    )
    assert gone["PrintOnCheckName"] == "Emily Platt"
    other = await empty.create("Vendor", {"DisplayName": "Emily Platt"})
    back = await empty.post(
        "/customer", {"Id": created["Id"], "SyncToken": "1", "sparse": True, "Active": True}
    )
    assert fault(back)["code"] == "6240"
    await empty.post(
        "/vendor", {"Id": other["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    back = await empty.post(
        "/customer", {"Id": created["Id"], "SyncToken": "1", "sparse": True, "Active": True}
    )
    assert back.json()["Customer"]["DisplayName"] == "Emily Platt"


async def test_second_deactivation_of_same_name_gets_a_counter(empty: DataClient) -> None:
    """Two deactivated customers once named alike get "(deleted)" and "(deleted-1)"."""
    names = []
    for _ in range(2):
        created = await empty.create("Customer", {"DisplayName": "Twin"})
        reply = await empty.post(
            "/customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Active": False}
        )
        names.append(reply.json()["Customer"]["DisplayName"])
    assert names == ["Twin (deleted)", "Twin (deleted-1)"]


async def test_account_deactivation_suffixes_name_and_full_name(empty: DataClient) -> None:
    """An account made inactive is renamed "<Name> (deleted)" in Name and
    FullyQualifiedName, as deactivate/account.json shows."""
    account = await empty.create("Account", {"Name": "Fees Billed", "AccountType": "Income"})
    reply = await empty.post(
        "/account", {"Id": account["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    gone = reply.json()["Account"]
    assert (gone["Name"], gone["FullyQualifiedName"]) == (
        "Fees Billed (deleted)",
        "Fees Billed (deleted)",
    )


async def test_duplicate_display_name_across_people_is_6240(empty: DataClient) -> None:
    """A DisplayName used by a customer cannot be taken by a vendor or employee, whatever
    its case: 400 6240 with no element, as error/validation.json records."""
    await empty.create("Customer", {"DisplayName": "Weiskopf Consulting"})
    for entity in ("customer", "vendor", "employee"):
        reply = await empty.post(f"/{entity}", {"DisplayName": "weiskopf CONSULTING"})
        assert reply.status == 400
        assert reply.json()["Fault"]["Error"] == [
            {
                "Message": "Duplicate Name Exists Error",
                "Detail": "The name supplied already exists. : null",
                "code": "6240",
            }
        ]


async def test_delete_of_a_name_list_entity_is_unsupported(empty: DataClient) -> None:
    """Name lists are deactivated, never deleted: delete is 400 code 500."""
    created = await empty.create("Customer", {"DisplayName": "Keep Me"})
    reply = await empty.post("/customer?operation=delete", {"Id": created["Id"], "SyncToken": "0"})
    assert (reply.status, fault(reply)["code"], fault(reply)["Detail"]) == (
        400,
        "500",
        "Operation Delete is not supported.",
    )
    assert (await empty.read("Customer", created["Id"]))["Active"] is True


async def test_account_type_follows_sub_type_and_classification(empty: DataClient) -> None:
    """An account sent with only AccountSubType gets its AccountType and Classification;
    one with neither is 6010."""
    account = await empty.create("Account", {"Name": "Petty Cash", "AccountSubType": "CashOnHand"})
    assert (account["AccountType"], account["Classification"]) == ("Bank", "Asset")
    assert account["CurrentBalance"] == 0
    assert account["SubAccount"] is False
    reply = await empty.post("/account", {"Name": "Mystery"})
    assert fault(reply)["code"] == "6010"


async def test_service_item_needs_an_income_account(empty: DataClient) -> None:
    """A Service item without IncomeAccountRef is 2020; a bad Type is 2170."""
    reply = await empty.post("/item", {"Name": "Labor", "Type": "Service"})
    assert (fault(reply)["code"], fault(reply)["element"]) == ("2020", "IncomeAccountRef")
    reply = await empty.post("/item", {"Name": "Labor", "Type": "Gadget"})
    assert fault(reply)["code"] == "2170"


async def test_sub_customer_and_rename_reach_children_and_references(
    empty: DataClient,
) -> None:
    """A job gets Job, Level and Parent:Child; renaming the parent renames the job's
    FullyQualifiedName and the name every invoice's CustomerRef carries."""
    item = await an_item(empty)
    parent = await empty.create("Customer", {"DisplayName": "Freeman Sporting Goods"})
    job = await empty.create(
        "Customer", {"DisplayName": "55 Twin Lane", "ParentRef": {"value": parent["Id"]}}
    )
    assert (job["Job"], job["Level"], job["FullyQualifiedName"]) == (
        True,
        1,
        "Freeman Sporting Goods:55 Twin Lane",
    )
    invoice = await empty.create(
        "Invoice", {"CustomerRef": {"value": job["Id"]}, "Line": [sale_line(item["Id"], 1, 10)]}
    )
    assert invoice["CustomerRef"]["name"] == "Freeman Sporting Goods:55 Twin Lane"
    await empty.post(
        "/customer",
        {"Id": parent["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "Freeman Sports"},
    )
    assert (await empty.read("Customer", job["Id"]))["FullyQualifiedName"] == (
        "Freeman Sports:55 Twin Lane"
    )
    again = await empty.read("Invoice", invoice["Id"])
    assert again["CustomerRef"]["name"] == "Freeman Sports:55 Twin Lane"
    assert again["SyncToken"] == invoice["SyncToken"]


async def test_parent_cycle_is_900(empty: DataClient) -> None:
    """A customer cannot become its own job's job: 900 Parent cannot be child."""
    parent = await empty.create("Customer", {"DisplayName": "Top"})
    job = await empty.create(
        "Customer", {"DisplayName": "Below", "ParentRef": {"value": parent["Id"]}}
    )
    reply = await empty.post(
        "/customer",
        {"Id": parent["Id"], "SyncToken": "0", "sparse": True, "ParentRef": {"value": job["Id"]}},
    )
    assert fault(reply)["code"] == "900"


# --------------------------------------------------------------------------- transactions


async def test_invoice_create_computes_lines_totals_and_numbers(empty: DataClient) -> None:
    """An invoice gets line Ids and LineNums, Qty x UnitPrice amounts, a sub-total line,
    TotalAmt and Balance, the next DocNumber, today's TxnDate and DueDate from its terms."""
    item = await an_item(empty)
    customer = await empty.create("Customer", {"DisplayName": "Buyer"})
    term = await empty.create("Term", {"Name": "Net 15", "DueDays": 15})
    body = {
        "CustomerRef": {"value": customer["Id"]},
        "SalesTermRef": {"value": term["Id"]},
        "Line": [sale_line(item["Id"], 4.5, 75), sale_line(item["Id"], 2, 10.25, 20.5)],
    }
    first = await empty.create("Invoice", body)
    second = await empty.create("Invoice", body)
    assert [line.get("Id") for line in first["Line"]] == ["1", "2", None]
    assert [line.get("LineNum") for line in first["Line"]] == [1, 2, None]
    assert [line["Amount"] for line in first["Line"]] == [337.5, 20.5, 358.0]
    assert first["Line"][2]["DetailType"] == "SubTotalLineDetail"
    assert (first["TotalAmt"], first["Balance"]) == (358.0, 358.0)
    assert int(second["DocNumber"]) == int(first["DocNumber"]) + 1
    assert first["TxnDate"] == "2025-12-31"  # 2026-01-01T00:00Z is 16:00 on the 31st, -08:00
    assert first["DueDate"] == "2026-01-15"
    assert first["CustomerRef"] == {"value": customer["Id"], "name": "Buyer"}
    assert first["LinkedTxn"] == []
    assert first["TxnTaxDetail"] == {"TotalTax": 0}


async def test_line_amount_must_equal_qty_times_price(empty: DataClient) -> None:
    """A line whose Amount is not Qty x UnitPrice is 6070."""
    item = await an_item(empty)
    customer = await empty.create("Customer", {"DisplayName": "Buyer"})
    reply = await empty.post(
        "/invoice",
        {"CustomerRef": {"value": customer["Id"]}, "Line": [sale_line(item["Id"], 2, 10, 25)]},
    )
    assert fault(reply)["code"] == "6070"


async def test_invoice_references_must_exist_and_be_active(empty: DataClient) -> None:
    """A CustomerRef to no customer is 2500; to an inactive one 610; a missing CustomerRef
    or Line is 2020."""
    item = await an_item(empty)
    line = [sale_line(item["Id"], 1, 5)]
    reply = await empty.post("/invoice", {"CustomerRef": {"value": "999"}, "Line": line})
    assert (fault(reply)["code"], fault(reply)["element"]) == ("2500", "CustomerRef")
    customer = await empty.create("Customer", {"DisplayName": "Gone"})
    await empty.post(
        "/customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    reply = await empty.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": line})
    assert fault(reply)["code"] == "610"
    reply = await empty.post("/invoice", {"Line": line})
    assert (fault(reply)["code"], fault(reply)["element"]) == ("2020", "CustomerRef")


async def test_delete_answers_deleted_status_and_read_then_is_610(empty: DataClient) -> None:
    """Deleting a transaction answers {"domain","status":"Deleted","Id"}; reading or
    deleting it again is 610."""
    item = await an_item(empty)
    customer = await empty.create("Customer", {"DisplayName": "Buyer"})
    invoice = await empty.create(
        "Invoice",
        {"CustomerRef": {"value": customer["Id"]}, "Line": [sale_line(item["Id"], 1, 100)]},
    )
    reply = await empty.post("/invoice?operation=delete", {"Id": invoice["Id"], "SyncToken": "0"})
    body = reply.json()
    assert set(body) == {"Invoice", "time"}
    assert body["Invoice"] == {"domain": "QBO", "status": "Deleted", "Id": invoice["Id"]}
    assert fault(await empty.get(f"/invoice/{invoice['Id']}"))["code"] == "610"
    again = await empty.post("/invoice?operation=delete", {"Id": invoice["Id"], "SyncToken": "0"})
    assert fault(again)["code"] == "610"


async def test_both_void_styles_and_unsupported_voids(empty: DataClient) -> None:
    """Invoices void with ?operation=void, payments with operation=update&include=void;
    a bill cannot be voided (500 Operation Void is not supported.)."""
    item = await an_item(empty)
    customer = await empty.create("Customer", {"DisplayName": "Buyer"})
    invoice = await empty.create(
        "Invoice",
        {"CustomerRef": {"value": customer["Id"]}, "Line": [sale_line(item["Id"], 1, 100)]},
    )
    payment = await empty.create(
        "Payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 40}
    )
    voided = (
        await empty.post("/invoice?operation=void", {"Id": invoice["Id"], "SyncToken": "0"})
    ).json()["Invoice"]
    assert (voided["TotalAmt"], voided["Balance"], voided["PrivateNote"]) == (0, 0, "Voided")
    reply = await empty.post(
        "/payment?operation=update&include=void",
        {"Id": payment["Id"], "SyncToken": "0", "sparse": True},
    )
    assert reply.json()["Payment"]["TotalAmt"] == 0
    assert reply.json()["Payment"]["SyncToken"] == "1"
    vendor = await empty.create("Vendor", {"DisplayName": "Supplier"})
    expense = next(a for a in empty.company.all("Account") if a["AccountType"] == "Expense")
    bill = await empty.create(
        "Bill",
        {
            "VendorRef": {"value": vendor["Id"]},
            "Line": [
                {
                    "Amount": 10,
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": expense["Id"]}},
                }
            ],
        },
    )
    reply = await empty.post("/bill?operation=void", {"Id": bill["Id"], "SyncToken": "0"})
    assert fault(reply)["Detail"] == "Operation Void is not supported."


async def test_payment_moves_invoice_and_customer_balances(empty: DataClient) -> None:
    """A payment lowers the invoice's and the customer's balance; deleting it restores
    both."""
    item = await an_item(empty)
    customer = await empty.create("Customer", {"DisplayName": "Buyer"})
    invoice = await empty.create(
        "Invoice",
        {"CustomerRef": {"value": customer["Id"]}, "Line": [sale_line(item["Id"], 1, 100)]},
    )
    payment = await empty.create(
        "Payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": 60,
            "Line": [{"Amount": 60, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )
    assert (await empty.read("Invoice", invoice["Id"]))["Balance"] == 40
    assert (await empty.read("Customer", customer["Id"]))["Balance"] == 40
    await empty.post("/payment?operation=delete", {"Id": payment["Id"], "SyncToken": "0"})
    assert (await empty.read("Invoice", invoice["Id"]))["Balance"] == 100
    assert (await empty.read("Customer", customer["Id"]))["Balance"] == 100


async def test_journal_entry_must_balance(empty: DataClient) -> None:
    """Journal entry debits must equal credits (6000); a balanced one gets Ids from 0."""
    accounts = list(empty.company.all("Account"))

    def line(kind: str, amount: float, account: dict[str, Any]) -> dict[str, Any]:
        return {
            "Amount": amount,
            "DetailType": "JournalEntryLineDetail",
            "JournalEntryLineDetail": {"PostingType": kind, "AccountRef": {"value": account["Id"]}},
        }

    reply = await empty.post(
        "/journalentry", {"Line": [line("Debit", 10, accounts[0]), line("Credit", 9, accounts[6])]}
    )
    assert fault(reply)["code"] == "6000"
    entry = await empty.create(
        "JournalEntry", {"Line": [line("Debit", 10, accounts[0]), line("Credit", 10, accounts[6])]}
    )
    assert [x["Id"] for x in entry["Line"]] == ["0", "1"]
    assert entry["TotalAmt"] == 10


# --------------------------------------------------------------------------- faults


async def test_unknown_property_is_2010_listing_known_ones(client: DataClient) -> None:
    """An unknown top-level property is 400 code 2010 naming it and the known ones."""
    reply = await client.post("/invoice", {"BadJson": True})
    error = fault(reply)
    assert (reply.status, error["code"]) == (400, "2010")
    assert error["Message"] == "Request has invalid or unsupported property"
    assert 'Unrecognized field "BadJson"' in error["Detail"]
    assert "class com.intuit.schema.finance.v3.Invoice" in error["Detail"]
    assert '"CustomerRef"' in error["Detail"]


@pytest.mark.parametrize(
    "path",
    ["/customer/1/5", "/widget", "/widget/1", "/customer", "/companyinfo", "/query/x", "/"],
)
async def test_unknown_paths_are_unsupported_operation(client: DataClient, path: str) -> None:
    """Paths QBO does not serve answer 400 code 500 naming the relative path."""
    reply = await client.get(path)
    assert (reply.status, fault(reply)["code"]) == (400, "500")
    assert fault(reply)["Detail"] == (
        f"Operation Could not find resource for relative : /v3/company/{client.realm}"
        f"{path if path != '/' else '/'} is not supported."
    )


async def test_other_methods_and_operations_are_unsupported(client: DataClient) -> None:
    """DELETE on an entity and an unknown ?operation are refused with code 500."""
    reply = await client.request("DELETE", "/customer/1")
    assert fault(reply)["code"] == "500"
    reply = await client.post("/customer?operation=merge", {"DisplayName": "X"})
    assert (fault(reply)["code"], fault(reply)["Detail"]) == (
        "500",
        "Operation merge is not supported.",
    )


async def test_non_numeric_id_is_2030_without_time(client: DataClient) -> None:
    """Reading Id "1.5" is 2030 Invalid ID, element Id, and (as recorded) no time."""
    reply = await client.get("/customer/1.5")
    assert reply.json() == {
        "Fault": {
            "Error": [
                {
                    "Message": "Invalid ID",
                    "Detail": "Id should be a valid number. Supplied value:1.5",
                    "code": "2030",
                    "element": "Id",
                }
            ],
            "type": "ValidationFault",
        }
    }


async def test_unknown_id_is_610(client: DataClient) -> None:
    """Reading an Id that does not exist is 400 610 Object Not Found."""
    reply = await client.get("/customer/99999")
    assert (reply.status, fault(reply)["code"]) == (400, "610")


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"\xff\xfe\x00",
        b"[1, 2, 3]",
        b'"just a string"',
        b'{"DisplayName": {"nested": [1, 2]}}',
        b'{"DisplayName": ["a"]}',
        b'{"DisplayName": "ok", "Active": "maybe"}',
        b'{"DisplayName": "ok", "ParentRef": "7"}',
        b'{"DisplayName": "ok", "Balance": "abc"}',
        b'{"DisplayName": "ok", "Balance": 1e400}',
        b'{"DisplayName": "ok", "Balance": NaN}',
        b'{"DisplayName": "ok", "OpenBalanceDate": "yesterday"}',
        b'{"DisplayName": "ok", "BillAddr": [1]}',
        b'{"DisplayName": "ok", "Notes": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"DisplayName": "ok", "CustomField": [' + b'{"a":' * 60 + b"1" + b"}" * 60 + b"]}",
        b'{"DisplayName": "ok", "Balance": ' + b"9" * 5000 + b"}",
        b'{"DisplayName": "' + b"x" * 600 + b'"}',
    ],
)
async def test_hostile_json_is_a_400_fault(client: DataClient, body: bytes) -> None:
    """Broken or wrongly-typed JSON gets a 400 fault, never an emulator error."""
    reply = await client.post("/customer", body)
    assert reply.status == 400
    assert fault(reply)["code"] in {"2010", "6000"}


@pytest.mark.parametrize(
    "line",
    [
        "not a line",
        {"Amount": "abc", "DetailType": "SalesItemLineDetail"},
        {"Amount": 1, "DetailType": "Nope"},
        {"Amount": 1, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": [1]},
        {
            "Amount": 1,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"Qty": "lots", "UnitPrice": 1},
        },
        {"Amount": 1, "LinkedTxn": "x"},
        {"Amount": 1e13, "DetailType": "SalesItemLineDetail"},
    ],
)
async def test_hostile_lines_are_400_faults(client: DataClient, line: Any) -> None:
    """Malformed invoice lines get a 400 fault."""
    reply = await client.post("/invoice", {"CustomerRef": {"value": "1"}, "Line": [line]})
    assert reply.status == 400
    assert fault(reply)["code"] in {"2010", "2170", "2020"}


async def test_entity_write_needs_a_json_content_type(client: DataClient) -> None:
    """An entity POST sent as text/plain, or with no Content-Type, is 415."""
    for content_type in ("text/plain", None):
        reply = await client.request(
            "POST", "/customer", {"DisplayName": "X"}, content_type=content_type
        )
        assert reply.status == 415
    reply = await client.request(
        "POST",
        "/customer",
        {"DisplayName": "Charset Ok"},
        content_type="application/json;charset=UTF-8",
    )
    assert reply.status == 200


async def test_fault_rendered_as_xml_when_xml_is_asked(client: DataClient) -> None:
    """With Accept: application/xml a fault comes back as an IntuitResponse document."""
    reply = await client.request("GET", "/customer/99999", accept="application/xml")
    assert reply.status == 400
    assert b'<Error code="610">' in reply.body


# --------------------------------------------------------------------------- query


async def test_query_by_get_and_by_post_text(client: DataClient) -> None:
    """GET ?query= and POST with an application/text body give the same page."""
    by_get = await client.query("SELECT * FROM Customer MAXRESULTS 3")
    by_post = await client.request(
        "POST", "/query", "SELECT * FROM Customer MAXRESULTS 3", content_type="application/text"
    )
    assert by_get.status == by_post.status == 200
    assert by_get.json()["QueryResponse"] == by_post.json()["QueryResponse"]
    page = by_get.json()["QueryResponse"]
    assert (page["startPosition"], page["maxResults"], len(page["Customer"])) == (1, 3, 3)


async def test_query_post_as_json_is_415(client: DataClient) -> None:
    """A query body sent as application/json is refused with 415."""
    reply = await client.request("POST", "/query", "SELECT * FROM Customer")
    assert reply.status == 415


async def test_query_faults(client: DataClient) -> None:
    """Unknown entity 4001 (QBO's exact text), parse error 4000, MAXRESULTS 1001 4001."""
    reply = await client.query("SELECT * FROM Custmoer")
    assert reply.json()["Fault"] == {
        "Error": [
            {
                "Message": "Invalid query",
                "Detail": "QueryValidationError: invalid context declaration: Custmoer",
                "code": "4001",
            }
        ],
        "type": "ValidationFault",
    }
    assert (await client.query("SELECT * FROM")).fault_codes() == ["4000"]
    assert (await client.query("SELECT * FROM Customer MAXRESULTS 1001")).fault_codes() == ["4001"]


async def test_query_count_and_empty_page(client: DataClient) -> None:
    """COUNT answers totalCount; a page past the end is an empty QueryResponse."""
    count = (await client.query("select count(*) from Customer")).json()["QueryResponse"]
    active = [c for c in client.company.all("Customer") if c["Active"]]
    assert count == {"totalCount": len(active)}
    empty = await client.query("SELECT * FROM Customer STARTPOSITION 100000")
    assert empty.json()["QueryResponse"] == {}


async def test_query_sees_writes_and_hides_inactive_names(empty: DataClient) -> None:
    """A created vendor is found by name; once inactive it is hidden unless Active is
    named in the WHERE clause."""
    vendor = await empty.create("Vendor", {"DisplayName": "Robertson & Associates"})
    found = await empty.query("SELECT * FROM Vendor WHERE DisplayName = 'Robertson & Associates'")
    assert [v["Id"] for v in found.json()["QueryResponse"]["Vendor"]] == [vendor["Id"]]
    await empty.post(
        "/vendor", {"Id": vendor["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    assert (await empty.query("SELECT COUNT(*) FROM Vendor")).json()["QueryResponse"] == {
        "totalCount": 0
    }
    both = await empty.query("SELECT COUNT(*) FROM Vendor WHERE Active IN (true, false)")
    assert both.json()["QueryResponse"] == {"totalCount": 1}


async def test_companyinfo_and_preferences(client: DataClient) -> None:
    """CompanyInfo answers at /companyinfo/{realm} and to a query; another Id is 610;
    Preferences reads, and a POST merges a section and bumps its SyncToken."""
    info = await client.get(f"/companyinfo/{client.realm}")
    assert info.json()["CompanyInfo"]["CompanyName"]
    queried = await client.query("select * from CompanyInfo")
    assert queried.json()["QueryResponse"]["CompanyInfo"] == [info.json()["CompanyInfo"]]
    assert fault(await client.get("/companyinfo/42"))["code"] == "610"
    prefs = (await client.get("/preferences")).json()["Preferences"]
    reply = await client.post(
        "/preferences",
        {
            "Id": prefs["Id"],
            "SyncToken": prefs["SyncToken"],
            "sparse": True,
            "SalesFormsPrefs": {"AllowShipping": True},
        },
    )
    updated = reply.json()["Preferences"]
    assert updated["SalesFormsPrefs"]["AllowShipping"] is True
    assert updated["SalesFormsPrefs"]["DefaultTerms"] == prefs["SalesFormsPrefs"]["DefaultTerms"]
    assert int(updated["SyncToken"]) == int(prefs["SyncToken"]) + 1
    stale = await client.post("/preferences", {"Id": prefs["Id"], "SyncToken": prefs["SyncToken"]})
    assert fault(stale)["code"] == "5010"


async def test_read_only_entities_read_but_refuse_writes(client: DataClient) -> None:
    """TaxCode can be read and queried but not created (code 500)."""
    assert (await client.read("TaxCode", "1"))["Name"]
    reply = await client.post("/taxcode", {"Name": "New"})
    assert (fault(reply)["code"], fault(reply)["Detail"]) == (
        "500",
        "Operation Create is not supported.",
    )


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("value", ["", "8", "65", "75", "76"])
async def test_minorversion_values_are_served(client: DataClient, value: str) -> None:
    """Any numeric minorversion (or none) is served, as 75."""
    assert (await client.get(f"/customer/1?minorversion={value}")).status == 200


async def test_non_numeric_minorversion_is_2050(client: DataClient) -> None:
    """minorversion=abc is 400 2050 naming minorversion."""
    reply = await client.get("/customer/1?minorversion=abc")
    assert (reply.status, fault(reply)["code"], fault(reply)["element"]) == (
        400,
        "2050",
        "minorversion",
    )


async def test_repeated_requestid_replays_the_first_answer(client: DataClient) -> None:
    """The same requestid returns the first answer byte for byte and creates once; another
    requestid creates again."""
    before = len(list(client.company.all("Customer")))
    first = await client.post("/customer?requestid=req-1", {"DisplayName": "Once"})
    client.advance(5)
    second = await client.post("/customer?requestid=req-1", {"DisplayName": "Once"})
    assert first.status == second.status == 200
    assert first.body == second.body
    assert len(list(client.company.all("Customer"))) == before + 1
    third = await client.post("/customer?requestid=req-2", {"DisplayName": "Twice"})
    assert third.json()["Customer"]["Id"] != first.json()["Customer"]["Id"]


async def test_replay_covers_faults_and_ignores_the_new_body(client: DataClient) -> None:
    """A requestid that first got a fault keeps getting that fault, even for a request
    that would now succeed."""
    await client.create("Customer", {"DisplayName": "Taken"})
    first = await client.post("/customer?requestid=dup", {"DisplayName": "Taken"})
    second = await client.post("/customer?requestid=dup", {"DisplayName": "Free name"})
    assert first.status == second.status == 400
    assert first.body == second.body
    assert client.company.name_owner("Customer", "Free name") is None


async def test_ignore_mode_runs_a_repeated_requestid_again(client: DataClient) -> None:
    """With requestid_mode="ignore" the same requestid creates two payments."""
    ignoring = DataClient(EmulatorSettings(throttle=False, requestid_mode="ignore"))
    customer = next(iter(ignoring.company.all("Customer")))
    body = {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 5}
    first = await ignoring.post("/payment?requestid=same", body)
    second = await ignoring.post("/payment?requestid=same", body)
    assert first.json()["Payment"]["Id"] != second.json()["Payment"]["Id"]


async def test_requestid_longer_than_50_is_refused_and_not_run(client: DataClient) -> None:
    """A 51-character requestid is 400 2050 and nothing is created; 50 is accepted."""
    before = len(list(client.company.all("Vendor")))
    reply = await client.post(f"/vendor?requestid={'r' * 51}", {"DisplayName": "Too Long"})
    assert (reply.status, fault(reply)["code"], fault(reply)["element"]) == (
        400,
        "2050",
        "requestid",
    )
    assert len(list(client.company.all("Vendor"))) == before
    reply = await client.post(f"/vendor?requestid={'r' * 50}", {"DisplayName": "Just Fits"})
    assert reply.status == 200


async def test_replayed_answer_carries_the_new_transaction_id(client: DataClient) -> None:
    """A replay repeats the body but answers with the new request's intuit_tid."""
    first = await client.get("/customer/1?requestid=read-1")
    second = await client.get("/customer/1?requestid=read-1")
    assert first.body == second.body
    assert first.headers.get("intuit_tid") != second.headers.get("intuit_tid")


async def test_entities_the_emulator_does_not_hold_query_empty(client: DataClient) -> None:
    """A query over a real QBO entity the emulator has none of (CustomerType) answers an
    empty page and a zero count, not an invalid context."""
    page = await client.query("select * from CustomerType where Active = true")
    assert page.json()["QueryResponse"] == {}
    count = await client.query("select count(*) from customertype")
    assert count.json()["QueryResponse"] == {"totalCount": 0}
    reply = await client.post("/customertype", {"Name": "Retail"})
    assert fault(reply)["code"] == "500"


async def test_linked_transaction_must_exist(empty: DataClient) -> None:
    """An invoice linking a transaction that does not exist is 610."""
    item = await an_item(empty)
    customer = await empty.create("Customer", {"DisplayName": "Buyer"})
    reply = await empty.post(
        "/invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "LinkedTxn": [{"TxnId": "999", "TxnType": "Estimate"}],
            "Line": [sale_line(item["Id"], 1, 5)],
        },
    )
    assert fault(reply)["code"] == "610"
