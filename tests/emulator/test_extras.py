"""Fields QBO answers that carry no bookkeeping (`entity_extras`), in writes and in generated
data, and the two fields QBO never sends (a purchase line's LineNum, a bill payment's
APAccountRef)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.emulator.harness import DataClient

PSEUDONYM = re.compile(r"^0020[0-9a-f]{34}$")
USER_ID = re.compile(r"^\d{16}$")
TRANSACTIONS = ("Invoice", "Bill", "Payment", "Purchase", "Deposit", "JournalEntry")


@pytest.fixture
def client() -> DataClient:
    return DataClient()


def _first(client: DataClient, entity: str, **match: Any) -> dict[str, Any]:
    return next(
        obj
        for obj in client.company.all(entity)
        if obj.get("Active", True) and all(obj.get(k) == v for k, v in match.items())
    )


def _account(client: DataClient, account_type: str) -> dict[str, str]:
    return {"value": _first(client, "Account", AccountType=account_type)["Id"]}


def _sale_line(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "Amount": 10,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "TaxCodeRef": {"value": "NON"}},
    }


def _check_meta(obj: dict[str, Any]) -> None:
    assert list(obj["MetaData"]) == ["CreateTime", "LastModifiedByRef", "LastUpdatedTime"]
    assert USER_ID.match(obj["MetaData"]["LastModifiedByRef"]["value"])


async def test_people_carry_a_pseudonym_kept_across_updates(client: DataClient) -> None:
    """A new customer has V4IDPseudonym, IsProject false and ClientEntityId "0"; a vendor a
    V4IDPseudonym; a sent pseudonym is overwritten (read-only) and updates keep it."""
    customer = await client.create(
        "Customer", {"DisplayName": "Jane Doe", "V4IDPseudonym": "forged"}
    )
    assert PSEUDONYM.match(customer["V4IDPseudonym"])
    assert (customer["IsProject"], customer["ClientEntityId"]) == (False, "0")
    vendor = await client.create("Vendor", {"DisplayName": "Hicks Hardware"})
    assert PSEUDONYM.match(vendor["V4IDPseudonym"])
    body = {k: v for k, v in customer.items() if k != "V4IDPseudonym"}
    updated = (await client.post("/customer", {**body, "Notes": "VIP"})).json()["Customer"]
    assert updated["V4IDPseudonym"] == customer["V4IDPseudonym"]


async def test_sales_forms_carry_addresses_and_decorated_lines(client: DataClient) -> None:
    """Invoice, Estimate and CreditMemo answer FreeFormAddress, item lines with
    CustomExtensions [] and the item's income account as ItemAccountRef; Estimate and
    CreditMemo a ShipFromAddr of the company's address; MetaData names who changed it."""
    item = _first(client, "Item", Type="Service")
    customer = _first(client, "Customer")
    street = client.company.company_info["CompanyAddr"]["Line1"]
    for entity in ("Invoice", "Estimate", "CreditMemo"):
        created = await client.create(
            entity, {"CustomerRef": {"value": customer["Id"]}, "Line": [_sale_line(item)]}
        )
        assert isinstance(created["FreeFormAddress"], bool)
        line = created["Line"][0]
        assert line["CustomExtensions"] == []
        account = line["SalesItemLineDetail"]["ItemAccountRef"]
        assert account["value"] == item["IncomeAccountRef"]["value"]
        assert list(line["SalesItemLineDetail"]).index("ItemAccountRef") < list(
            line["SalesItemLineDetail"]
        ).index("TaxCodeRef")
        assert "CustomExtensions" not in created["Line"][-1]  # the sub-total line
        if entity == "Invoice":
            assert "ShipFromAddr" not in created
        else:
            assert created["ShipFromAddr"]["Line1"] == street
        _check_meta(created)


async def test_bill_names_the_vendor_address(client: DataClient) -> None:
    """A bill answers VendorAddr: the vendor's BillAddr."""
    vendor = next(v for v in client.company.all("Vendor") if v["Active"] and "BillAddr" in v)
    bill = await client.create(
        "Bill",
        {
            "VendorRef": {"value": vendor["Id"]},
            "Line": [
                {
                    "Amount": 25,
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "AccountBasedExpenseLineDetail": {"AccountRef": _account(client, "Expense")},
                }
            ],
        },
    )
    assert bill["VendorAddr"] == vendor["BillAddr"]
    _check_meta(bill)


async def test_purchase_has_purchase_ex_and_unnumbered_lines(client: DataClient) -> None:
    """A purchase answers PurchaseEx (TxnType 3 for a check) and lines without LineNum."""
    purchase = await client.create(
        "Purchase",
        {
            "AccountRef": _account(client, "Bank"),
            "PaymentType": "Check",
            "Line": [
                {
                    "Amount": 19.99,
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "AccountBasedExpenseLineDetail": {"AccountRef": _account(client, "Expense")},
                }
            ],
        },
    )
    (name_value,) = purchase["PurchaseEx"]["any"]
    assert name_value["value"] == {"Name": "TxnType", "Value": "3"}
    assert name_value["declaredType"] == "com.intuit.schema.finance.v3.NameValue"
    assert all("LineNum" not in line for line in purchase["Line"])
    assert purchase["Line"][0]["Id"] == "1"


async def test_journal_entry_and_deposit_answer_an_empty_tax_detail(client: DataClient) -> None:
    """JournalEntry and Deposit answer `TxnTaxDetail: {}`; a deposit of its own
    DepositLineDetail lines is written like any other."""
    bank, income = _account(client, "Bank"), _account(client, "Other Income")
    entry = await client.create(
        "JournalEntry",
        {
            "Line": [
                {
                    "Amount": 5,
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": {"PostingType": posting, "AccountRef": account},
                }
                for posting, account in (("Debit", bank), ("Credit", income))
            ]
        },
    )
    deposit = await client.create(
        "Deposit",
        {
            "DepositToAccountRef": bank,
            "Line": [
                {
                    "Amount": 12,
                    "DetailType": "DepositLineDetail",
                    "DepositLineDetail": {"AccountRef": income},
                }
            ],
        },
    )
    assert entry["TxnTaxDetail"] == {} == deposit["TxnTaxDetail"]
    _check_meta(entry)
    _check_meta(deposit)


async def test_bill_payment_has_no_ap_account(client: DataClient) -> None:
    """A bill payment answers no APAccountRef (QBO's BillPayment answers carry none)."""
    bill = next(b for b in client.company.all("Bill") if b["Balance"] > 0)
    payment = await client.create(
        "BillPayment",
        {
            "VendorRef": bill["VendorRef"],
            "PayType": "Check",
            "CheckPayment": {"BankAccountRef": _account(client, "Bank")},
            "TotalAmt": bill["Balance"],
            "Line": [
                {
                    "Amount": bill["Balance"],
                    "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}],
                }
            ],
        },
    )
    assert "APAccountRef" not in payment
    _check_meta(payment)


def test_generated_data_carries_the_same_fields(client: DataClient) -> None:
    """Generated companies answer the same fields: pseudonyms, decorated sales forms,
    VendorAddr, PurchaseEx, empty tax details, LastModifiedByRef on every transaction, no
    purchase LineNum or bill-payment APAccountRef, and deposits of their own lines."""
    company = client.company
    for customer in company.all("Customer"):
        assert PSEUDONYM.match(customer["V4IDPseudonym"])
        assert (customer["IsProject"], customer["ClientEntityId"]) == (False, "0")
    assert all(PSEUDONYM.match(v["V4IDPseudonym"]) for v in company.all("Vendor"))
    for entity in ("Invoice", "Estimate", "CreditMemo"):
        for obj in company.all(entity):
            assert isinstance(obj["FreeFormAddress"], bool)
            assert ("ShipFromAddr" in obj) == (entity != "Invoice")
            for line in obj["Line"]:
                if line["DetailType"] == "SalesItemLineDetail":
                    assert line["CustomExtensions"] == []
                    assert "ItemAccountRef" in line["SalesItemLineDetail"]
    for entity in TRANSACTIONS:
        for obj in company.all(entity):
            _check_meta(obj)
    for purchase in company.all("Purchase"):
        assert "PurchaseEx" in purchase
        assert all("LineNum" not in line for line in purchase["Line"])
    assert all("APAccountRef" not in p for p in company.all("BillPayment"))
    for bill in company.all("Bill"):
        vendor = company.get("Vendor", bill["VendorRef"]["value"])
        assert vendor is not None
        assert bill.get("VendorAddr") == vendor.get("BillAddr")
    assert all(obj["TxnTaxDetail"] == {} for obj in company.all("JournalEntry"))
    assert all(obj["TxnTaxDetail"] == {} for obj in company.all("Deposit"))
    own = [
        d
        for d in company.all("Deposit")
        if all(line.get("DetailType") == "DepositLineDetail" for line in d["Line"])
    ]
    assert len(own) >= 12
