"""The second round of entities: PurchaseOrder, VendorCredit, RefundReceipt, Transfer,
CreditCardPayment, TimeActivity, PaymentMethod, TaxRate and TaxAgency, and `books`
agreeing with the registry."""

from __future__ import annotations

from typing import Any

import pytest

from qbo_adapters.emulator import books
from qbo_adapters.emulator.entities import OTHER_QBO_ENTITIES, REGISTRY
from qbo_adapters.emulator.settings import EmulatorSettings
from tests.emulator.harness import DataClient
from tests.emulator.test_store import Books, code_of, problems

# --------------------------------------------------------------------------- books vs registry


def test_books_tables_agree_with_the_registry() -> None:
    """Every transaction in the registry has a posting rule or is listed as non-posting
    (never both); every name list and tax list is one `books` knows; every LinkedTxn type
    and server link names a registered transaction; nothing is both held and "other"."""
    transactions = {name for name, spec in REGISTRY.items() if spec.is_transaction}
    assert transactions == set(books.TRANSACTIONS)
    assert set(books.POSTING_RULES) | books.NON_POSTING == transactions
    assert not set(books.POSTING_RULES) & books.NON_POSTING
    name_lists = {name for name, spec in REGISTRY.items() if spec.is_name_list}
    assert name_lists <= set(books.NAME_LISTS) | set(books.TAX_CODES)
    assert set(books.NAME_LISTS) <= name_lists
    assert set(books.CANONICAL_ENTITY_NAMES) <= set(REGISTRY)
    assert set(books.TXN_TYPES.values()) <= transactions
    assert set(books.SERVER_LINKS) <= transactions
    assert set(books.NAME_BALANCE_RULES) <= transactions
    assert set(books.SALES_FORMS) <= transactions
    assert set(books.REF_TARGETS.values()) <= set(REGISTRY)
    assert not OTHER_QBO_ENTITIES & set(REGISTRY)


# --------------------------------------------------------------------------- helpers


class MoreBooks(Books):
    """`Books` with writers for the second round's transactions."""

    def __init__(self) -> None:
        super().__init__()
        self.savings = self.save(
            "Account", {"Name": "Savings", "AccountType": "Bank", "AccountSubType": "Savings"}
        )["Id"]
        self.employee = self.save("Employee", {"GivenName": "Pat", "FamilyName": "Lee"})["Id"]

    def vendor_credit(self, amount: float) -> dict[str, Any]:
        return self.save(
            "VendorCredit",
            {
                "VendorRef": {"value": self.vendor},
                "Line": [
                    {
                        "Amount": amount,
                        "DetailType": "AccountBasedExpenseLineDetail",
                        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": self.expense}},
                    }
                ],
            },
        )

    def refund(self, amount: float) -> dict[str, Any]:
        return self.save(
            "RefundReceipt",
            {
                "CustomerRef": {"value": self.customer},
                "DepositToAccountRef": {"value": self.bank},
                "Line": [
                    {
                        "Amount": amount,
                        "DetailType": "SalesItemLineDetail",
                        "SalesItemLineDetail": {"ItemRef": {"value": self.item}},
                    }
                ],
            },
        )

    def transfer(self, amount: float) -> dict[str, Any]:
        return self.save(
            "Transfer",
            {
                "FromAccountRef": {"value": self.bank},
                "ToAccountRef": {"value": self.savings},
                "Amount": amount,
            },
        )

    def card_payment(self, amount: float) -> dict[str, Any]:
        return self.save(
            "CreditCardPayment",
            {
                "CreditCardAccountRef": {"value": self.card},
                "BankAccountRef": {"value": self.bank},
                "Amount": amount,
            },
        )

    def purchase_order(self, amount: float) -> dict[str, Any]:
        return self.save(
            "PurchaseOrder",
            {
                "VendorRef": {"value": self.vendor},
                "Line": [
                    {
                        "Amount": amount,
                        "DetailType": "AccountBasedExpenseLineDetail",
                        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": self.expense}},
                    }
                ],
            },
        )

    def time(self, hours: int) -> dict[str, Any]:
        return self.save(
            "TimeActivity",
            {
                "NameOf": "Employee",
                "EmployeeRef": {"value": self.employee},
                "Hours": hours,
                "Minutes": 30,
            },
        )

    def balances(self) -> dict[str, float]:
        return {
            acct["Id"]: acct["CurrentBalance"]
            for acct in self.store.all("Account")
            if acct["Classification"] in ("Asset", "Liability", "Equity")
        }


def moved(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {
        key: round(after[key] - before.get(key, 0), 2)
        for key in after
        if round(after[key] - before.get(key, 0), 2)
    }


# --------------------------------------------------------------------------- postings


def test_vendor_credit_lowers_what_is_owed() -> None:
    """A vendor credit lowers A/P and the vendor's balance by its total; deleting it puts
    both back."""
    books_ = MoreBooks()
    books_.bill(100)
    ap = books_.first("Account", "AccountType", "Accounts Payable")
    before = books_.balances()
    credit = books_.vendor_credit(30)
    assert credit["Balance"] == credit["TotalAmt"] == 30
    assert moved(before, books_.balances()) == {ap: -30}
    assert books_.balance("Vendor", books_.vendor) == 70
    assert problems(books_.store) == []
    books_.delete("VendorCredit", credit)
    assert books_.balance("Vendor", books_.vendor) == 100
    assert moved(before, books_.balances()) == {}


def test_refund_receipt_pays_money_out_of_its_account() -> None:
    """A refund receipt credits its DepositToAccountRef and debits the item's income."""
    books_ = MoreBooks()
    before = books_.balances()
    refund = books_.refund(25)
    assert refund["Balance"] == 0
    assert refund["DocNumber"]
    assert refund["Line"][-1]["DetailType"] == "SubTotalLineDetail"
    assert moved(before, books_.balances()) == {books_.bank: -25}
    postings = books_.store.posted("RefundReceipt", refund)
    assert sum(amount for _, amount in postings) == 0
    assert (books_.bank, -2500) in postings
    assert problems(books_.store) == []


def test_transfer_moves_money_between_two_accounts() -> None:
    """A transfer takes its Amount from one account and puts it in the other; the two must
    differ and the amount be positive."""
    books_ = MoreBooks()
    before = books_.balances()
    made = books_.transfer(40)
    assert moved(before, books_.balances()) == {books_.bank: -40, books_.savings: 40}
    books_.save("Transfer", {**made, "Amount": 15})
    assert moved(before, books_.balances()) == {books_.bank: -15, books_.savings: 15}
    same = {"FromAccountRef": {"value": books_.bank}, "ToAccountRef": {"value": books_.bank}}
    assert code_of(lambda: books_.save("Transfer", {**same, "Amount": 5})) == "6000"
    assert code_of(lambda: books_.transfer(0)) == "6000"
    assert problems(books_.store) == []


def test_credit_card_payment_moves_money_from_bank_to_card() -> None:
    """A credit card payment lowers the card's balance owed and the bank's balance; the
    card reference must name a credit card account."""
    books_ = MoreBooks()
    before = books_.balances()
    books_.card_payment(60)
    assert moved(before, books_.balances()) == {books_.bank: -60, books_.card: -60}
    wrong = {
        "CreditCardAccountRef": {"value": books_.bank},
        "BankAccountRef": {"value": books_.bank},
        "Amount": 1,
    }
    assert code_of(lambda: books_.save("CreditCardPayment", wrong)) == "6000"
    assert problems(books_.store) == []


def test_purchase_order_posts_nothing_until_billed() -> None:
    """A purchase order moves no balance; a bill that links it closes it and lists itself
    on it; the order cannot be deleted then; deleting the bill reopens it."""
    books_ = MoreBooks()
    before = books_.balances()
    order = books_.purchase_order(80)
    assert order["POStatus"] == "Open"
    assert moved(before, books_.balances()) == {}
    assert books_.balance("Vendor", books_.vendor) == 0
    bill = books_.save(
        "Bill",
        {
            "VendorRef": {"value": books_.vendor},
            "LinkedTxn": [{"TxnId": order["Id"], "TxnType": "PurchaseOrder"}],
            "Line": order["Line"],
        },
    )
    closed = books_.get("PurchaseOrder", order["Id"])
    assert closed["POStatus"] == "Closed"
    assert closed["LinkedTxn"] == [{"TxnId": bill["Id"], "TxnType": "Bill"}]
    assert code_of(lambda: books_.delete("PurchaseOrder", order)) == "800"
    assert problems(books_.store) == []
    books_.delete("Bill", bill)
    reopened = books_.get("PurchaseOrder", order["Id"])
    assert reopened["POStatus"] == "Open"
    assert "LinkedTxn" not in reopened
    books_.delete("PurchaseOrder", order)


def test_time_activity_posts_nothing_and_needs_a_worker_and_time() -> None:
    """Time activity moves no balance; it names an employee (or vendor) and hours or
    start and end times; billable time needs a customer."""
    books_ = MoreBooks()
    before = books_.balances()
    made = books_.time(3)
    assert (made["Hours"], made["Minutes"], made["BillableStatus"]) == (3, 30, "NotBillable")
    assert moved(before, books_.balances()) == {}
    employee = {"NameOf": "Employee", "EmployeeRef": {"value": books_.employee}}
    assert code_of(lambda: books_.save("TimeActivity", employee)) == "2020"
    assert code_of(lambda: books_.save("TimeActivity", {"NameOf": "Employee", "Hours": 1})) == (
        "2020"
    )
    billable = {**employee, "Hours": 1, "BillableStatus": "Billable"}
    assert code_of(lambda: books_.save("TimeActivity", billable)) == "2020"
    books_.delete("TimeActivity", made)


def test_payment_method_is_a_name_list() -> None:
    """A payment method has a unique name and a type; it is deactivated, not deleted."""
    books_ = MoreBooks()
    made = books_.save("PaymentMethod", {"Name": "Zelle"})
    assert made["Type"] == "NON_CREDIT_CARD"
    assert code_of(lambda: books_.save("PaymentMethod", {"Name": "zelle"})) == "6240"
    assert code_of(lambda: books_.delete("PaymentMethod", made)) == "500"
    gone = books_.save(
        "PaymentMethod", {"Id": made["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    assert gone["Active"] is False
    assert gone["Name"] == "Zelle (deleted)"


def test_tax_agency_is_created_and_read_only() -> None:
    """A tax agency is created (unique DisplayName) and read; updates and deletes are
    unsupported. Tax rates are read-only, each named by its tax code."""
    books_ = MoreBooks()
    made = books_.save("TaxAgency", {"DisplayName": "City Tax Office"})
    assert made["TaxTrackedOnSales"] is True
    assert code_of(lambda: books_.save("TaxAgency", {"DisplayName": "City Tax Office"})) == "6240"
    update = {"Id": made["Id"], "SyncToken": "0", "DisplayName": "Other"}
    assert code_of(lambda: books_.save("TaxAgency", update)) == "500"
    assert code_of(lambda: books_.delete("TaxAgency", made)) == "500"
    rate = next(iter(books_.store.all("TaxRate")))
    assert code_of(lambda: books_.save("TaxRate", {"Name": "New", "RateValue": 1})) == "500"
    code = next(iter(books_.store.all("TaxCode")))
    detail = code["SalesTaxRateList"]["TaxRateDetail"][0]
    assert detail["TaxRateRef"]["value"] == rate["Id"]


# --------------------------------------------------------------------------- generated data


@pytest.mark.parametrize("size", ["small", "medium"])
def test_every_size_holds_the_new_entities(size: str) -> None:
    """Each preset size generates every new entity, in proportion to the first round."""
    from tests.emulator.test_store import company

    counts = company(size).counts()
    for name in (
        "PurchaseOrder",
        "VendorCredit",
        "RefundReceipt",
        "Transfer",
        "CreditCardPayment",
        "TimeActivity",
        "PaymentMethod",
        "TaxRate",
        "TaxAgency",
    ):
        assert counts[name] > 0, name
    assert counts["PurchaseOrder"] < counts["Bill"]
    assert counts["RefundReceipt"] < counts["SalesReceipt"]


# --------------------------------------------------------------------------- HTTP, CDC, batch


@pytest.fixture
def client() -> DataClient:
    return DataClient(EmulatorSettings(throttle=False, size="small"))


@pytest.mark.parametrize(
    "entity",
    [
        "PurchaseOrder",
        "VendorCredit",
        "RefundReceipt",
        "Transfer",
        "CreditCardPayment",
        "TimeActivity",
        "PaymentMethod",
        "TaxRate",
        "TaxAgency",
    ],
)
async def test_each_entity_is_queried_and_read(client: DataClient, entity: str) -> None:
    """A query answers the generated objects and a read by Id answers the same object."""
    page = (await client.query(f"select * from {entity} maxresults 5")).json()["QueryResponse"]
    assert page[entity]
    first = page[entity][0]
    assert await client.read(entity, first["Id"]) == first


async def test_cdc_lists_the_new_transactions_and_refuses_the_undocumented() -> None:
    """CDC carries a created vendor credit and a deleted transfer; TimeActivity, TaxAgency
    and TaxRate are refused, as QBO documents."""
    client = DataClient(EmulatorSettings(throttle=False, size="empty"))
    from tests.emulator.test_cdc import cdc, groups, since_text

    since = since_text(client)
    client.advance(1)
    accounts = {a["AccountSubType"]: a["Id"] for a in client.company.all("Account")}
    vendor = await client.create("Vendor", {"DisplayName": "Mill"})
    await client.create(
        "VendorCredit",
        {
            "VendorRef": {"value": vendor["Id"]},
            "Line": [
                {
                    "Amount": 5,
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "AccountBasedExpenseLineDetail": {
                        "AccountRef": {"value": accounts["SuppliesMaterials"]}
                    },
                }
            ],
        },
    )
    savings = await client.create("Account", {"Name": "Savings", "AccountSubType": "Savings"})
    transfer = await client.create(
        "Transfer",
        {
            "FromAccountRef": {"value": accounts["Checking"]},
            "ToAccountRef": {"value": savings["Id"]},
            "Amount": 10,
        },
    )
    reply = await client.post(
        "/transfer?operation=delete", {"Id": transfer["Id"], "SyncToken": "0"}
    )
    assert reply.status == 200
    found = groups(await cdc(client, "VendorCredit,Transfer", since))
    assert len(found[0]["VendorCredit"]) == 1
    assert found[1]["Transfer"][0]["status"] == "Deleted"
    for refused in ("TimeActivity", "TaxAgency", "TaxRate"):
        assert (await cdc(client, refused, since)).status == 400


async def test_batch_creates_and_deletes_the_new_entities() -> None:
    """Batch items create a payment method and a transfer, and delete the transfer."""
    client = DataClient(EmulatorSettings(throttle=False, size="empty"))
    from tests.emulator.test_batch import answers, batch

    accounts = {a["AccountSubType"]: a["Id"] for a in client.company.all("Account")}
    savings = await client.create("Account", {"Name": "Savings", "AccountSubType": "Savings"})
    transfer = {
        "FromAccountRef": {"value": accounts["Checking"]},
        "ToAccountRef": {"value": savings["Id"]},
        "Amount": 10,
    }
    made = answers(
        await batch(
            client,
            [
                {"bId": "1", "operation": "create", "PaymentMethod": {"Name": "Zelle"}},
                {"bId": "2", "operation": "create", "Transfer": transfer},
            ],
        )
    )
    assert made[0]["PaymentMethod"]["Name"] == "Zelle"
    transfer_id = made[1]["Transfer"]["Id"]
    gone = answers(
        await batch(
            client,
            [
                {
                    "bId": "3",
                    "operation": "delete",
                    "Transfer": {"Id": transfer_id, "SyncToken": "0"},
                }
            ],
        )
    )
    assert gone[0]["Transfer"]["status"] == "Deleted"
