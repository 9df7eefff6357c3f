"""Reports (`reports.py`): the recorded reports replayed, and the numbers against the data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.books import classification_of, transaction_postings
from qbo_adapters.emulator.reports import format_money, macro_period
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.store import Company
from qbo_adapters.memory.clock import FakeClock
from tests.emulator.harness import DataClient, Reply, header, relative, shape_problems
from tests.shared_fixtures import RECORDED


@pytest.fixture
def recorded() -> Path:
    if not RECORDED.is_dir():
        pytest.skip(f"recorded QBO traffic not found at {RECORDED} (../shared is absent)")
    return RECORDED


class ClockedClient(DataClient):
    """A `DataClient` whose emulator's clock starts at `start`."""

    def __init__(self, start: datetime, **overrides: Any) -> None:
        self.settings = EmulatorSettings(throttle=False, **overrides)
        self.clock = FakeClock(start)
        self.emulator = QBOEmulator(self.settings, clock=self.clock)
        self.realm = self.emulator.realm_ids[0]
        self.token = str(self.emulator.oauth.mint_tokens(self.realm)["access_token"])


def only(recorded: Path, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The single (request, response) of a recorded file."""
    interaction = json.loads((recorded / name).read_text())["interactions"][0]
    return interaction["request"], interaction["response"]


async def report(client: DataClient, name: str, **params: str) -> dict[str, Any]:
    """A report's JSON; fails the test unless the answer is 200."""
    query = "&".join(f"{k}={quote(v)}" for k, v in params.items())
    reply = await client.get(f"/reports/{name}" + (f"?{query}" if query else ""))
    assert reply.status == 200, reply.body
    body: dict[str, Any] = reply.json()
    return body


def rows(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every row of a report, depth first."""
    for row in node.get("Rows", {}).get("Row", []):
        yield row
        yield from rows(row)


def group(body: dict[str, Any], name: str) -> dict[str, Any]:
    return next(row for row in rows(body) if row.get("group") == name)


def cents(text: str) -> int:
    return round(float(text) * 100) if text else 0


def summary_total(body: dict[str, Any], name: str) -> int:
    return cents(group(body, name)["Summary"]["ColData"][-1]["value"])


# --------------------------------------------------------------------------- recorded


@pytest.mark.fixtures
async def test_recorded_profit_and_loss_is_answered_as_qbo_did(recorded: Path) -> None:
    """The recorded P&L request (customer 1, 2015, by Customers) gets QBO's exact body back
    from a company with no 2015 activity: same status, type, keys, values and empty rows."""
    request, response = only(recorded, "reports/profit_and_loss.json")
    client = ClockedClient(datetime(2020, 9, 29, 15, 13, 54, tzinfo=UTC), size="small")
    reply = await client.get(relative(request["uri"]))
    expected = json.loads(response["body"])
    assert reply.status == response["status"]
    assert (reply.headers.get("Content-Type") or "").lower() == header(
        response["headers"], "Content-Type"
    ).lower()
    assert shape_problems(expected, reply.json()) == []
    assert reply.json() == expected


def recorded_gl_company(client: DataClient, gl: dict[str, Any]) -> None:
    """Give `client` the company the recorded General Ledger implies: its accounts, one
    journal entry before the period making each Beginning Balance, and the period's two
    invoices and sales receipt."""
    types = {
        "Checking": ("Bank", "Checking"),
        "Savings": ("Bank", "Savings"),
        "Accounts Receivable (A/R)": ("Accounts Receivable", "AccountsReceivable"),
        "Inventory Asset": ("Other Current Asset", "Inventory"),
        "Undeposited Funds": ("Other Current Asset", "UndepositedFunds"),
        "Truck": ("Fixed Asset", "Vehicles"),
        "Original Cost": ("Fixed Asset", "Vehicles"),
        "Accounts Payable (A/P)": ("Accounts Payable", "AccountsPayable"),
        "Mastercard": ("Credit Card", "CreditCard"),
        "Board of Equalization Payable": ("Other Current Liability", "SalesTaxPayable"),
        "Loan Payable": ("Other Current Liability", "OtherCurrentLiabilities"),
        "Notes Payable": ("Long Term Liability", "NotesPayable"),
        "Opening Balance Equity": ("Equity", "OpeningBalanceEquity"),
        "Retained Earnings": ("Equity", "RetainedEarnings"),
        "Design income": ("Income", "ServiceFeeIncome"),
        "Services": ("Income", "ServiceFeeIncome"),
        "Rent or Lease": ("Expense", "RentOrLeaseOfBuildings"),
        "Utilities": ("Expense", "Utilities"),
        "Telephone": ("Expense", "Utilities"),
    }
    meta = {
        "CreateTime": "2020-01-01T00:00:00-07:00",
        "LastUpdatedTime": "2020-01-01T00:00:00-07:00",
    }
    envelope = {"domain": "QBO", "sparse": False, "SyncToken": "0", "MetaData": meta}
    accounts: list[dict[str, Any]] = []
    opening: list[tuple[str, int]] = []  # (account Id, debit-positive cents)

    def walk(section: dict[str, Any], parent: str | None) -> None:
        cell = section["Header"]["ColData"][0]
        account_id = cell.get("id") or str(900 + len(accounts))
        account_type, sub_type = types[cell["value"]]
        classification = classification_of(account_type)
        account = {
            "Name": cell["value"],
            "FullyQualifiedName": cell["value"],
            "SubAccount": parent is not None,
            "Active": True,
            "Classification": classification,
            "AccountType": account_type,
            "AccountSubType": sub_type,
            "CurrentBalance": 0,
            "CurrentBalanceWithSubAccounts": 0,
            **envelope,
            "Id": account_id,
        }
        if parent is not None:
            account["ParentRef"] = {"value": parent}
        accounts.append(account)
        sign = 1 if classification in ("Asset", "Expense") else -1
        for row in section["Rows"]["Row"]:
            if row["type"] == "Section":
                walk(row, account_id)
            elif row["ColData"][0]["value"] == "Beginning Balance":
                opening.append((account_id, sign * cents(row["ColData"][-1]["value"])))

    for section in gl["Rows"]["Row"]:
        walk(section, None)
    assert sum(amount for _, amount in opening) == 0
    journal = {
        **envelope,
        "Id": "800",
        "TxnDate": "2020-08-15",
        "TotalAmt": sum(a for _, a in opening if a > 0) / 100,
        "Line": [
            {
                "Id": str(n),
                "Amount": abs(amount) / 100,
                "DetailType": "JournalEntryLineDetail",
                "JournalEntryLineDetail": {
                    "PostingType": "Debit" if amount > 0 else "Credit",
                    "AccountRef": {"value": account_id},
                },
            }
            for n, (account_id, amount) in enumerate(opening)
        ],
    }
    items = [
        {
            **envelope,
            "Id": "1",
            "Name": "Services",
            "Type": "Service",
            "IncomeAccountRef": {"value": "1"},
        },
        {
            **envelope,
            "Id": "2",
            "Name": "Design",
            "Type": "Service",
            "IncomeAccountRef": {"value": "82"},
        },
    ]

    def sale(entity: str, obj_id: str, number: str, item: str, amount: float) -> dict[str, Any]:
        line: dict[str, Any] = {
            "Id": "1",
            "Amount": amount,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": item}},
        }
        obj = {**envelope, "Id": obj_id, "DocNumber": number, "TxnDate": "2020-09-29"}
        if entity == "Invoice":
            obj["CustomerRef"] = {"value": "1", "name": "Amy's Bird Sanctuary"}
        else:
            line["Description"] = "Custom Design"
        return {**obj, "Line": [line], "TotalAmt": amount, "Balance": 0}

    base = client.company
    client.emulator.companies[client.realm] = Company(
        realm_id=client.realm,
        zone=base.zone,
        settings=base.settings,
        company_info=base.company_info,
        preferences=base.preferences,
        entities={
            "Account": accounts,
            "Customer": [{**envelope, "Id": "1", "DisplayName": "Amy's Bird Sanctuary"}],
            "Item": items,
            "JournalEntry": [journal],
            "Invoice": [
                sale("Invoice", "264", "1041", "1", 100),
                sale("Invoice", "265", "1042", "1", 100),
            ],
            "SalesReceipt": [sale("SalesReceipt", "17", "1008", "2", 337.5)],
        },
        now=client.clock.now(),
    )


@pytest.mark.fixtures
async def test_recorded_general_ledger_is_reproduced_from_the_same_books(recorded: Path) -> None:
    """Replayed against the books it implies (same accounts, opening balances and period
    transactions), the recorded GeneralLedger request gets QBO's exact answer: sections,
    sub-account nesting, Beginning Balance rows, running balances, splits and memos."""
    request, response = only(recorded, "reports/gl.json")
    expected = json.loads(response["body"])
    client = ClockedClient(datetime(2020, 9, 29, 15, 14, 2, tzinfo=UTC), size="empty")
    recorded_gl_company(client, expected)
    reply = await client.get(relative(request["uri"]))
    assert reply.status == response["status"]
    assert (reply.headers.get("Content-Type") or "").lower() == header(
        response["headers"], "Content-Type"
    ).lower()
    assert shape_problems(expected, reply.json()) == []
    assert reply.json() == expected


# --------------------------------------------------------------------------- numbers


@pytest.fixture
def small() -> DataClient:
    return DataClient()


def independent_net_income(company: Company, start: str, end: str) -> tuple[int, int, int]:
    """(income, expenses, net income) in cents from every transaction dated in the
    period, posting by posting, without the report code."""
    index = {name: {o["Id"]: o for o in company.all(name)} for name in company.entity_names()}
    defaults = {
        "ar": next(
            a["Id"] for a in company.all("Account") if a["AccountType"] == "Accounts Receivable"
        ),
        "ap": next(
            a["Id"] for a in company.all("Account") if a["AccountType"] == "Accounts Payable"
        ),
        "uf": next(
            a["Id"] for a in company.all("Account") if a["AccountSubType"] == "UndepositedFunds"
        ),
    }
    accounts = index["Account"]
    income = expenses = 0
    for entity in (
        "Invoice",
        "SalesReceipt",
        "CreditMemo",
        "Payment",
        "Bill",
        "BillPayment",
        "Purchase",
        "Deposit",
        "JournalEntry",
        "RefundReceipt",
        "VendorCredit",
        "Transfer",
        "CreditCardPayment",
    ):
        for obj in company.all(entity):
            if not start <= obj["TxnDate"] <= end:
                continue
            for account_id, amount in transaction_postings(entity, obj, index, defaults):
                kind = accounts[account_id]["Classification"] if account_id in accounts else ""
                if kind == "Revenue":
                    income -= amount
                elif kind == "Expense":
                    expenses += amount
    return income, expenses, income - expenses


@pytest.mark.parametrize(
    ("start", "end"),
    [("2025-01-01", "2025-12-31"), ("2024-01-01", "2024-12-31"), ("2025-03-01", "2025-05-31")],
)
async def test_profit_and_loss_net_income_is_income_less_expenses(
    small: DataClient, start: str, end: str
) -> None:
    """On generated books, Net Income is income less expenses (COGS, expenses, other
    expenses) of the transactions dated in the period, computed here posting by posting."""
    body = await report(small, "ProfitAndLoss", start_date=start, end_date=end)
    income, expenses, net = independent_net_income(small.company, start, end)
    assert income
    assert expenses
    assert summary_total(body, "NetIncome") == net

    def total(*names: str) -> int:
        present = {r.get("group") for r in rows(body)}
        return sum(summary_total(body, name) for name in names if name in present)

    assert total("Income", "OtherIncome") == income
    assert total("COGS", "Expenses", "OtherExpenses") == expenses


async def test_profit_and_loss_section_totals_add_up(small: DataClient) -> None:
    """Each section's total is the sum of its account rows, and Gross Profit and Net
    Operating Income follow from the section totals."""
    body = await report(small, "ProfitAndLoss", date_macro="Last Fiscal Year")
    for name in ("Income", "COGS", "Expenses"):
        section = group(body, name)
        data = [r for r in rows(section) if r.get("type") == "Data"]
        nested = [r for r in rows(section) if r.get("type") == "Section"]
        own = sum(cents(r["ColData"][1]["value"]) for r in data)
        assert own == cents(section["Summary"]["ColData"][1]["value"]), name
        for sub in nested:
            inner = sum(
                cents(r["ColData"][1]["value"]) for r in rows(sub) if r.get("type") == "Data"
            )
            assert inner == cents(sub["Summary"]["ColData"][1]["value"])
    gross = summary_total(body, "Income") - summary_total(body, "COGS")
    assert summary_total(body, "GrossProfit") == gross
    assert summary_total(body, "NetOperatingIncome") == gross - summary_total(body, "Expenses")


async def scenario(client: DataClient) -> dict[str, str]:
    """An empty company with one customer, one service item and their accounts' Ids."""
    company = client.company
    income = next(a["Id"] for a in company.all("Account") if a["AccountType"] == "Income")
    expense = next(a["Id"] for a in company.all("Account") if a["AccountType"] == "Expense")
    bank = next(a["Id"] for a in company.all("Account") if a["AccountType"] == "Bank")
    customer = await client.create("Customer", {"DisplayName": "Ada Lovelace"})
    other = await client.create("Customer", {"DisplayName": "Charles Babbage"})
    item = await client.create(
        "Item", {"Name": "Analysis", "Type": "Service", "IncomeAccountRef": {"value": income}}
    )
    return {
        "income": income,
        "expense": expense,
        "bank": bank,
        "customer": customer["Id"],
        "other": other["Id"],
        "item": item["Id"],
    }


async def invoice(
    client: DataClient, ids: dict[str, str], day: str, amount: float, **extra: Any
) -> dict[str, Any]:
    return await client.create(
        "Invoice",
        {
            "CustomerRef": {"value": extra.pop("customer", ids["customer"])},
            "TxnDate": day,
            "Line": [
                {
                    "Amount": amount,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": ids["item"]}},
                }
            ],
            **extra,
        },
    )


async def expense(client: DataClient, ids: dict[str, str], day: str, amount: float) -> None:
    await client.create(
        "Purchase",
        {
            "AccountRef": {"value": ids["bank"]},
            "PaymentType": "Cash",
            "TxnDate": day,
            "Line": [
                {
                    "Amount": amount,
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": ids["expense"]}},
                }
            ],
        },
    )


async def pay(
    client: DataClient, ids: dict[str, str], invoice_id: str, day: str, amount: float
) -> None:
    await client.create(
        "Payment",
        {
            "CustomerRef": {"value": ids["customer"]},
            "TxnDate": day,
            "TotalAmt": amount,
            "Line": [
                {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
            ],
        },
    )


@pytest.fixture
def empty() -> DataClient:
    return DataClient(EmulatorSettings(throttle=False, size="empty"))


async def test_profit_and_loss_counts_only_the_period(empty: DataClient) -> None:
    """An invoice of 100 and an expense of 30 in March make March's net income 70; an
    invoice in April is left out, and a customer filter keeps only that customer's sales."""
    ids = await scenario(empty)
    await invoice(empty, ids, "2025-03-05", 100)
    await invoice(empty, ids, "2025-03-09", 40, customer=ids["other"])
    await invoice(empty, ids, "2025-04-02", 500)
    await expense(empty, ids, "2025-03-20", 30)
    body = await report(empty, "ProfitAndLoss", start_date="2025-03-01", end_date="2025-03-31")
    assert summary_total(body, "Income") == 14000
    assert summary_total(body, "Expenses") == 3000
    assert summary_total(body, "NetIncome") == 11000
    assert "DateMacro" not in body["Header"]
    assert "time" not in body
    assert body["Header"]["Option"][1] == {"Name": "NoReportData", "Value": "false"}
    filtered = await report(
        empty,
        "ProfitAndLoss",
        start_date="2025-03-01",
        end_date="2025-03-31",
        customer=ids["other"],
    )
    assert summary_total(filtered, "NetIncome") == 4000
    assert filtered["Header"]["Customer"] == ids["other"]


async def test_cash_basis_recognises_an_invoice_when_it_is_paid(empty: DataClient) -> None:
    """On the cash basis a March invoice earns nothing in March and the paid part (60 of
    100) in May, the payment's month; on the accrual basis it all counts in March."""
    ids = await scenario(empty)
    created = await invoice(empty, ids, "2025-03-05", 100)
    await pay(empty, ids, created["Id"], "2025-05-10", 60)
    march = {"start_date": "2025-03-01", "end_date": "2025-03-31"}
    may = {"start_date": "2025-05-01", "end_date": "2025-05-31"}
    assert summary_total(await report(empty, "ProfitAndLoss", **march), "Income") == 10000
    cash_march = await report(empty, "ProfitAndLoss", accounting_method="Cash", **march)
    assert cash_march["Header"]["ReportBasis"] == "Cash"
    assert group(cash_march, "Income")["Summary"]["ColData"][1]["value"] == ""
    cash_may = await report(empty, "ProfitAndLoss", accounting_method="Cash", **may)
    assert summary_total(cash_may, "Income") == 6000
    assert summary_total(await report(empty, "ProfitAndLoss", **may), "Income") == 0


async def test_profit_and_loss_by_month_and_by_customer(empty: DataClient) -> None:
    """Summarised by Month, each month's column holds that month's amount and the Total
    column their sum; by Customers, one column per customer then TOTAL."""
    ids = await scenario(empty)
    await invoice(empty, ids, "2025-01-15", 100)
    await invoice(empty, ids, "2025-03-15", 50, customer=ids["other"])
    body = await report(
        empty,
        "ProfitAndLoss",
        start_date="2025-01-01",
        end_date="2025-03-31",
        summarize_column_by="Month",
    )
    titles = [c["ColTitle"] for c in body["Columns"]["Column"]]
    assert titles == ["", "Jan 2025", "Feb 2025", "Mar 2025", "Total"]
    net = [c["value"] for c in group(body, "NetIncome")["Summary"]["ColData"][1:]]
    assert net == ["100.00", "", "50.00", "150.00"]
    by_customer = await report(
        empty,
        "ProfitAndLoss",
        start_date="2025-01-01",
        end_date="2025-03-31",
        summarize_column_by="Customers",
    )
    titles = [c["ColTitle"] for c in by_customer["Columns"]["Column"]]
    assert titles == ["", "Ada Lovelace", "Charles Babbage", "TOTAL"]
    net = [c["value"] for c in group(by_customer, "NetIncome")["Summary"]["ColData"][1:]]
    assert net == ["100.00", "50.00", "150.00"]


async def test_balance_sheet_balances_and_matches_the_accounts(small: DataClient) -> None:
    """Today's balance sheet shows each account's CurrentBalance, TOTAL ASSETS equals
    TOTAL LIABILITIES AND EQUITY, and its Net Income is this fiscal year's P&L net income."""
    body = await report(small, "BalanceSheet")
    assets = summary_total(body, "TotalAssets")
    assert assets > 0
    assert assets == summary_total(body, "TotalLiabilitiesAndEquity")
    shown = {
        r["ColData"][0]["id"]: cents(r["ColData"][1]["value"])
        for r in rows(body)
        if r.get("type") == "Data" and "id" in r["ColData"][0]
    }
    accounts = {a["Id"]: a for a in small.company.all("Account")}
    retained = next(a for a in accounts if accounts[a]["AccountSubType"] == "RetainedEarnings")
    for account_id, amount in shown.items():
        if account_id != retained:
            assert amount == round(accounts[account_id]["CurrentBalance"] * 100), account_id
    for account_id, account in accounts.items():
        if account["Classification"] in ("Asset", "Liability", "Equity") and account_id != retained:
            assert account_id in shown or account["CurrentBalance"] == 0
    pl = await report(
        small,
        "ProfitAndLoss",
        start_date=body["Header"]["StartPeriod"],
        end_date=body["Header"]["EndPeriod"],
    )
    net_row = next(r for r in rows(body) if r.get("group") == "NetIncome")
    assert cents(net_row["ColData"][1]["value"]) == summary_total(pl, "NetIncome")


async def test_balance_sheet_on_an_earlier_date_leaves_later_transactions_out(
    empty: DataClient,
) -> None:
    """An invoice of 100 on March 5 is in A/R on March 31 but not on March 1."""
    ids = await scenario(empty)
    await invoice(empty, ids, "2025-03-05", 100)
    later = await report(empty, "BalanceSheet", start_date="2025-01-01", end_date="2025-03-31")
    assert summary_total(later, "AR") == 10000
    assert summary_total(later, "TotalAssets") == summary_total(later, "TotalLiabilitiesAndEquity")
    earlier = await report(empty, "BalanceSheet", start_date="2025-01-01", end_date="2025-03-01")
    assert not any(r.get("group") == "AR" for r in rows(earlier))
    assert earlier["Header"]["Option"][1]["Value"] == "true"


async def test_general_ledger_ends_each_account_at_its_balance(small: DataClient) -> None:
    """Over all dates, each balance-sheet account's last running balance in the General
    Ledger is its CurrentBalance, and each row's balance is the previous plus its amount."""
    body = await report(small, "GeneralLedger", date_macro="All")
    assert body["Header"]["DateMacro"] == "all"
    accounts = {a["Id"]: a for a in small.company.all("Account")}
    checked = 0
    for section in body["Rows"]["Row"]:
        account_id = section["Header"]["ColData"][0]["id"]
        data = [r for r in section["Rows"]["Row"] if r.get("type") == "Data"]
        if accounts[account_id]["Classification"] not in ("Asset", "Liability", "Equity"):
            continue
        if any(r.get("type") == "Section" for r in section["Rows"]["Row"]) or not data:
            continue
        balance = 0
        for row in data:
            cells = row["ColData"]
            balance += cents(cells[6]["value"])
            assert cents(cells[7]["value"]) == balance
        assert balance == round(accounts[account_id]["CurrentBalance"] * 100), account_id
        checked += 1
    assert checked >= 5


async def test_aged_receivables_total_is_the_open_balance(small: DataClient) -> None:
    """The A/R aging TOTAL is open invoice balances less open credit memos and unapplied
    payments, and each customer's row total is that customer's Balance."""
    body = await report(small, "AgedReceivables")
    company = small.company
    expected = (
        sum(round(i["Balance"] * 100) for i in company.all("Invoice"))
        - sum(round(c["Balance"] * 100) for c in company.all("CreditMemo"))
        - sum(round(p.get("UnappliedAmt", 0) * 100) for p in company.all("Payment"))
    )
    assert expected > 0
    assert summary_total(body, "GrandTotal") == expected
    customers = {c["Id"]: c for c in company.all("Customer")}
    data = [r for r in body["Rows"]["Row"] if r.get("type") == "Data"]
    assert data
    for row in data:
        customer = customers[row["ColData"][0]["id"]]
        assert cents(row["ColData"][-1]["value"]) == round(customer["Balance"] * 100)
    titles = [c["ColTitle"] for c in body["Columns"]["Column"]]
    assert titles == ["", "Current", "1 - 30", "31 - 60", "61 - 90", "91 and over", "Total"]


async def test_aged_payables_total_is_what_the_vendors_are_owed(small: DataClient) -> None:
    """The A/P aging TOTAL is the sum of open bill balances less open vendor credits, which
    is the vendors' Balance."""
    body = await report(small, "AgedPayables")
    company = small.company
    expected = sum(round(b["Balance"] * 100) for b in company.all("Bill")) - sum(
        round(c["Balance"] * 100) for c in company.all("VendorCredit")
    )
    assert expected == sum(round(v["Balance"] * 100) for v in company.all("Vendor"))
    assert summary_total(body, "GrandTotal") == expected
    assert body["Columns"]["Column"][0]["ColType"] == "Vendor"


async def test_aging_buckets_follow_the_due_date_and_the_report_date(empty: DataClient) -> None:
    """As of June 30, an invoice due June 30 is Current, one due May 20 (41 days late) is
    31 - 60, one due January 1 is 91 and over; a payment dated after the report date does
    not reduce what was open then; `aging_period` and `num_periods` reshape the buckets."""
    ids = await scenario(empty)
    await invoice(empty, ids, "2025-06-01", 10, DueDate="2025-06-30")
    await invoice(empty, ids, "2025-05-01", 20, DueDate="2025-05-20")
    late = await invoice(empty, ids, "2024-12-01", 40, DueDate="2025-01-01")
    await pay(empty, ids, late["Id"], "2025-07-15", 40)
    body = await report(empty, "AgedReceivables", report_date="2025-06-30")
    cells = [c["value"] for c in body["Rows"]["Row"][0]["ColData"]]
    assert cells == ["Ada Lovelace", "10.00", "", "20.00", "", "40.00", "70.00"]
    assert body["Header"]["Option"][0] == {"Name": "report_date", "Value": "2025-06-30"}
    after = await report(empty, "AgedReceivables", report_date="2025-07-31")
    assert summary_total(after, "GrandTotal") == 3000
    wider = await report(
        empty, "AgedReceivables", report_date="2025-06-30", aging_period="60", num_periods="2"
    )
    titles = [c["ColTitle"] for c in wider["Columns"]["Column"]]
    assert titles == ["", "Current", "1 - 60", "61 and over", "Total"]
    assert [c["value"] for c in wider["Rows"]["Row"][0]["ColData"][1:]] == [
        "10.00",
        "20.00",
        "40.00",
        "70.00",
    ]


# --------------------------------------------------------------------------- periods and faults


def test_date_macros_name_qbo_periods() -> None:
    """Date macros resolve like QBO's, weeks from Sunday and fiscal periods from the
    company's first fiscal month."""
    today = date(2025, 8, 14)  # a Thursday

    def span() -> tuple[date, date]:
        return date(2020, 1, 1), today

    cases = {
        "Today": (today, today),
        "This Week-to-date": (date(2025, 8, 10), today),
        "Last Month": (date(2025, 7, 1), date(2025, 7, 31)),
        "this month-to-date": (date(2025, 8, 1), today),
        "This Fiscal Year-to-date": (date(2025, 7, 1), today),
        "Last Fiscal Year": (date(2024, 7, 1), date(2025, 6, 30)),
        "This Fiscal Quarter": (date(2025, 7, 1), date(2025, 9, 30)),
        "Last Fiscal Quarter": (date(2025, 4, 1), date(2025, 6, 30)),
        "This Calendar Year": (date(2025, 1, 1), date(2025, 12, 31)),
        "All": (date(2020, 1, 1), today),
    }
    for macro, expected in cases.items():
        assert macro_period(macro, today, 7, span) == expected, macro
    assert macro_period("Someday", today, 7, span) is None


def test_money_is_written_as_qbo_writes_it() -> None:
    """Cents become two-decimal strings with a leading minus and no grouping."""
    assert [format_money(c) for c in (0, 5, -933750, 123456789)] == [
        "0.00",
        "0.05",
        "-9337.50",
        "1234567.89",
    ]


def fault_of(reply: Reply) -> dict[str, Any]:
    error: dict[str, Any] = reply.json()["Fault"]["Error"][0]
    return error


@pytest.mark.parametrize(
    ("path", "code", "element"),
    [
        ("/reports/NoSuchReport", "500", None),
        ("/reports/TrialBalance", "500", None),
        ("/reports/ProfitAndLoss?start_date=2025-02-30&end_date=2025-03-01", "2050", "start_date"),
        ("/reports/ProfitAndLoss?end_date=03/01/2025", "2050", "end_date"),
        ("/reports/ProfitAndLoss?start_date=2025-03-02&end_date=2025-03-01", "2050", "start_date"),
        ("/reports/BalanceSheet?date_macro=Next%20Century", "2050", "date_macro"),
        ("/reports/GeneralLedger?accounting_method=Modified", "2050", "accounting_method"),
        ("/reports/ProfitAndLoss?summarize_column_by=Classes", "2050", "summarize_column_by"),
        ("/reports/BalanceSheet?summarize_column_by=Month", "2050", "summarize_column_by"),
        ("/reports/AgedReceivables?aging_period=0", "2050", "aging_period"),
        ("/reports/AgedPayables?report_date=tomorrow", "2050", "report_date"),
    ],
)
async def test_bad_report_requests_are_qbo_faults(
    empty: DataClient, path: str, code: str, element: str | None
) -> None:
    """An unknown report is 400 code 500; a bad parameter is 400 code 2050 naming it."""
    reply = await empty.get(path)
    assert reply.status == 400
    assert reply.headers.get("Content-Type") == "application/json"
    error = fault_of(reply)
    assert error["code"] == code
    assert error.get("element") == element


async def test_reports_only_answer_get(empty: DataClient) -> None:
    """A POST to a report is 400 Unsupported Operation."""
    reply = await empty.post("/reports/ProfitAndLoss", {})
    assert reply.status == 400
    assert fault_of(reply)["code"] == "500"


async def test_report_names_are_matched_in_any_case(empty: DataClient) -> None:
    """`/reports/profitandloss` serves the ProfitAndLoss report under its QBO name."""
    body = await report(empty, "profitandloss")
    assert body["Header"]["ReportName"] == "ProfitAndLoss"
    assert body["Header"]["DateMacro"] == "this calendar year-to-date"
