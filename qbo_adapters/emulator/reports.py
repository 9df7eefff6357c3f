"""Reports: `GET /v3/company/{realm}/reports/{Name}`, computed from the company's own data.

Served: `ProfitAndLoss`, `BalanceSheet`, `GeneralLedger`, `AgedReceivables` and
`AgedPayables` (names matched in any case). The answer is QBO's report object and nothing
else (no top-level `time`): `{"Header": {...}, "Columns": {"Column": [...]}, "Rows": {"Row":
[...]}}`, shaped as recorded (`reports/profit_and_loss.json`, `reports/gl.json`) and, for
the reports not recorded, as Intuit's reference samples show them.

Where the numbers come from: every transaction's ledger postings (`Company.posted`, the
posting rules of `books`: the same postings that move the accounts' `CurrentBalance`),
dated by `TxnDate`. Estimates post nothing. Amounts are shown in each account's natural
sign (assets and expenses debit-positive; liabilities, equity and income credit-positive),
as QBO shows them; accounts are listed in `books.ACCOUNT_TYPES` order.

- **ProfitAndLoss**: income (Income), cost of goods sold, expenses, other income and other
  expenses over the period; Gross Profit, Net Operating Income, Net Other Income and Net
  Income. Sub-accounts nest under their parent. Income and Expenses are always listed,
  the other account sections only when something posted there (`profit_and_loss.json`).
- **BalanceSheet**: balances at `EndPeriod`; Equity adds Retained Earnings (its own
  postings plus the net income of every earlier fiscal year) and a Net Income row (this
  fiscal year to `EndPeriod`), so TOTAL ASSETS = TOTAL LIABILITIES AND EQUITY.
- **GeneralLedger**: per account, a Beginning Balance row (balance-sheet accounts: all
  before the period; income and expense accounts: from the fiscal year's start; Retained
  Earnings also takes earlier years' net income), then one row per transaction with a
  running balance; "Total for ..." carries the period's sum (blank when nothing moved), as
  recorded (`gl.json`).
- **AgedReceivables / AgedPayables**: open amounts at `report_date` per customer (open
  invoice balances less open credit memos and unapplied payments) or vendor (open bills
  less open vendor credits),
  aged by due date (credits by their date) into Current, 1 - 30, 31 - 60, 61 - 90 and 91
  and over (`aging_period`, `num_periods` change them); a customer's own documents, jobs
  listed by their full name. Balances are as of `report_date`: payments dated later do not
  count.

Parameters: `start_date`, `end_date` (YYYY-MM-DD), `date_macro` ("This Fiscal
Year-to-date", "Last Month", "Today", "All", ... in any case), `accounting_method` (Cash
or Accrual), `customer` and `vendor` (comma-separated Ids: only transactions naming one),
`summarize_column_by`, `minorversion` (checked by `data_api`); GeneralLedger also takes
`account` (comma-separated account Ids); the aging reports `report_date`, `aging_period`
and `num_periods`. Explicit dates win over a macro; a missing one is taken from the
report's default macro (ProfitAndLoss and BalanceSheet: "this calendar year-to-date" as
Intuit's sample shows; GeneralLedger: "this month-to-date" as recorded; the aging reports:
"today"). `Header.DateMacro` (lower case) appears only when the period came from a macro.

Choices where QBO's behaviour is UNCONFIRMED:

- the cash basis recognises an invoice, credit memo or bill only through the payments
  applied to it, on the payment's date and in proportion to the amount applied, and a
  vendor credit (never applied here) not at all; sales receipts, refund receipts,
  purchases, deposits, transfers, credit card payments and journal entries post as on the
  accrual basis. The
  balance sheet on the cash basis follows from the same postings;
- `summarize_column_by`: Total everywhere; ProfitAndLoss also Month, Quarter, Year,
  Customers and Vendors (a column per name with activity, "Not Specified" for the rest,
  then "TOTAL", as recorded). Other QBO values are 400 code 2050 naming what is served;
- a bad date, an unknown `date_macro`, `accounting_method` or `summarize_column_by`, a
  non-numeric `aging_period`/`num_periods`, or a start after the end: 400 code 2050
  "Invalid String" with the parameter as `element`;
- an unknown report name, one QBO has that the emulator does not compute, or a method
  other than GET: 400 code 500 "Unsupported Operation".
"""

from __future__ import annotations

import calendar
import gc
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, timedelta
from fractions import Fraction
from typing import Any, Final, NamedTuple

import attrs

from qbo_adapters.emulator.books import (
    ACCOUNT_TYPES,
    BALANCE_SHEET,
    NATURAL_DEBIT,
    POSTING_ENTITIES,
    PROFIT_AND_LOSS,
    ref_value,
    stored_cents,
)
from qbo_adapters.emulator.context import RequestContext
from qbo_adapters.emulator.faults import QBOFault, invalid_value, unsupported_operation
from qbo_adapters.emulator.store import Company

__all__ = [
    "REPORT_NAMES",
    "Entry",
    "Period",
    "format_money",
    "ledger_entries",
    "macro_period",
    "run_report",
]

#: The reports the emulator computes, by lower-case name.
REPORT_NAMES: Final = {
    name.lower(): name
    for name in (
        "ProfitAndLoss",
        "BalanceSheet",
        "GeneralLedger",
        "AgedReceivables",
        "AgedPayables",
    )
}

#: QBO reports the emulator does not compute (a clearer fault than an unknown name).
_NOT_SERVED: Final = frozenset(
    name.lower()
    for name in (
        "AccountList",
        "AgedPayableDetail",
        "AgedReceivableDetail",
        "CashFlow",
        "ClassSales",
        "CustomerBalance",
        "CustomerBalanceDetail",
        "CustomerIncome",
        "DepartmentSales",
        "GeneralLedgerDetail",
        "InventoryValuationDetail",
        "InventoryValuationSummary",
        "ItemSales",
        "JournalReport",
        "ProfitAndLossDetail",
        "SalesByProduct",
        "TaxSummary",
        "TransactionList",
        "TransactionListByCustomer",
        "TransactionListByVendor",
        "TransactionListWithSplits",
        "TrialBalance",
        "VendorBalance",
        "VendorBalanceDetail",
        "VendorExpenses",
    )
)

_DATE_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTHS: Final = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}


_SUMMARIES_SERVED: Final = ("Total", "Month", "Quarter", "Year", "Customers", "Vendors")
_SUMMARIES_QBO: Final = frozenset(
    {"week", "days", "classes", "departments", "employees", "productsandservices"}
)

MAX_COLUMNS: Final = 400


# --------------------------------------------------------------------------- faults


def _bad(param: str, detail: str) -> QBOFault:
    return invalid_value(param, detail)


def not_served(name: str) -> QBOFault:
    """400 code 500 for a report QBO has and the emulator does not compute."""
    served = ", ".join(REPORT_NAMES.values())
    return QBOFault.single(
        "500",
        "Unsupported Operation",
        f"Operation Could not find resource for relative : /reports/{name} is not supported. "
        f"The emulator computes: {served}.",
    )


# --------------------------------------------------------------------------- periods


@attrs.frozen
class Period:
    """A report's period; `macro` is the lower-case `date_macro` it came from, if any."""

    start: date
    end: date
    macro: str | None = None


def _add_months(day: date, months: int) -> date:
    """`day` moved by whole months, clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _period_start(today: date, first_month: int, months: int) -> date:
    """The start of the `months`-long period (quarter, year) holding `today`, periods
    counted from `first_month`."""
    offset = (today.month - first_month) % 12
    start = date(today.year, today.month, 1)
    return _add_months(start, -(offset % months))


def macro_period(
    macro: str, today: date, fiscal_month: int, span: Callable[[], tuple[date, date]]
) -> tuple[date, date] | None:
    """The (start, end) a `date_macro` names on `today`, or None when it is unknown.

    Weeks start on Sunday; "Fiscal" periods count from `fiscal_month`, "Calendar" ones
    from January; `span()` gives the company's first and last transaction dates ("All").
    """
    key = " ".join(macro.lower().split())
    if key in ("all", "all dates"):
        return span()
    simple = {
        "today": (today, today),
        "yesterday": (today - timedelta(days=1), today - timedelta(days=1)),
    }
    if key in simple:
        return simple[key]
    week = today - timedelta(days=(today.weekday() + 1) % 7)
    weeks = {
        "this week": (week, week + timedelta(days=6)),
        "this week-to-date": (week, today),
        "last week": (week - timedelta(days=7), week - timedelta(days=1)),
        "last week-to-date": (week - timedelta(days=7), today - timedelta(days=7)),
        "next week": (week + timedelta(days=7), week + timedelta(days=13)),
        "next 4 weeks": (week + timedelta(days=7), week + timedelta(days=34)),
    }
    if key in weeks:
        return weeks[key]
    for unit, months, first in (
        ("month", 1, 1),
        ("fiscal quarter", 3, fiscal_month),
        ("calendar quarter", 3, 1),
        ("fiscal year", 12, fiscal_month),
        ("calendar year", 12, 1),
        ("quarter", 3, fiscal_month),
        ("year", 12, fiscal_month),
    ):
        start = _period_start(today, first, months)
        end = _add_months(start, months) - timedelta(days=1)
        previous = _add_months(start, -months)
        following = _add_months(start, months)
        ranges = {
            f"this {unit}": (start, end),
            f"this {unit}-to-date": (start, today),
            f"last {unit}": (previous, start - timedelta(days=1)),
            f"last {unit}-to-date": (previous, _add_months(today, -months)),
            f"next {unit}": (following, _add_months(following, months) - timedelta(days=1)),
        }
        if key in ranges:
            return ranges[key]
    return None


def _date_param(ctx: RequestContext, name: str) -> date | None:
    raw = ctx.param(name)
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    if _DATE_RE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise _bad(name, f"{name} must be a date in the format YYYY-MM-DD; supplied value:{text[:40]}")


def _positive_int(ctx: RequestContext, name: str, default: int, limit: int) -> int:
    raw = ctx.param(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not text.isdigit() or not 1 <= int(text) <= limit:
        raise _bad(name, f"{name} must be a whole number from 1 to {limit}; supplied value:{text}")
    return int(text)


# --------------------------------------------------------------------------- ledger


class Txn(NamedTuple):
    """One transaction as a report lists it."""

    entity: str
    id: str
    day: date
    doc_num: str
    label: str
    name_kind: str | None
    name_id: str
    name: str


class Entry(NamedTuple):
    """What one transaction posts to one account: cents, debit positive."""

    txn: Txn
    account: str
    amount: int
    memo: str
    split_name: str
    split_id: str


def _ref(obj: Mapping[str, Any] | None, key: str) -> str:
    return ref_value(obj, key) or ""


def _parse_day(value: Any) -> date | None:
    if type(value) is not str or len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def format_money(cents: int) -> str:
    """Integer cents as QBO writes report amounts: `1234.50`, `-9337.50`."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def _display(obj: Mapping[str, Any] | None, fallback: str = "") -> str:
    if obj is None:
        return fallback
    for key in ("FullyQualifiedName", "DisplayName", "Name"):
        value = obj.get(key)
        if isinstance(value, str):
            return value
    return fallback


_LABELS: Final = {
    "Invoice": "Invoice",
    "SalesReceipt": "Sales Receipt",
    "CreditMemo": "Credit Memo",
    "Payment": "Payment",
    "Bill": "Bill",
    "Deposit": "Deposit",
    "JournalEntry": "Journal Entry",
    "RefundReceipt": "Refund",
    "VendorCredit": "Vendor Credit",
    "Transfer": "Transfer",
    "CreditCardPayment": "Credit Card Payment",
}


def _label(entity: str, obj: Mapping[str, Any]) -> str:
    if entity == "BillPayment":
        card = obj.get("PayType") == "CreditCard"
        return "Bill Payment (Credit Card)" if card else "Bill Payment (Check)"
    if entity == "Purchase":
        if obj.get("PaymentType") == "Check":
            return "Check"
        return "Credit Card Credit" if obj.get("Credit") is True else "Expense"
    return _LABELS.get(entity, entity)


def _txn_name(company: Company, entity: str, obj: Mapping[str, Any]) -> tuple[str | None, str, str]:
    """(kind, Id, display name) of the customer, vendor or employee a transaction names."""
    if entity in ("Invoice", "SalesReceipt", "CreditMemo", "Payment", "RefundReceipt"):
        kind, key = "Customer", "CustomerRef"
    elif entity in ("Bill", "BillPayment", "VendorCredit", "CreditCardPayment"):
        kind, key = "Vendor", "VendorRef"
    elif entity == "Purchase":
        ref = obj.get("EntityRef")
        written = ref.get("type") if isinstance(ref, Mapping) else None
        kind = written.capitalize() if isinstance(written, str) and written else "Vendor"
        key = "EntityRef"
    else:
        return None, "", ""
    ref_id = _ref(obj, key)
    if not ref_id:
        return None, "", ""
    ref = obj.get(key)
    written_name = ref.get("name") if isinstance(ref, Mapping) else None
    fallback = written_name if isinstance(written_name, str) else ""
    return kind, ref_id, _display(company.get(kind, ref_id), fallback)


def _line_accounts(company: Company, entity: str, obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(account Id, description) of each line that posts to an account of its own."""
    out: list[tuple[str, str]] = []
    for line in obj.get("Line") or ():
        if not isinstance(line, Mapping):
            continue
        text = line.get("Description")
        description = text if isinstance(text, str) else ""
        detail_type = line.get("DetailType")
        detail = line.get(detail_type) if isinstance(detail_type, str) else None
        if not isinstance(detail, Mapping):
            continue
        account = ""
        if detail_type == "SalesItemLineDetail":
            account = _ref(company.get("Item", _ref(detail, "ItemRef")), "IncomeAccountRef")
        elif detail_type == "DiscountLineDetail":
            account = _ref(detail, "DiscountAccountRef")
        elif detail_type == "ItemBasedExpenseLineDetail":
            item = company.get("Item", _ref(detail, "ItemRef"))
            inventory = item is not None and item.get("Type") == "Inventory"
            account = _ref(item, "AssetAccountRef" if inventory else "ExpenseAccountRef")
        elif detail_type in (
            "AccountBasedExpenseLineDetail",
            "DepositLineDetail",
            "JournalEntryLineDetail",
        ):
            account = _ref(detail, "AccountRef")
        if account:
            out.append((account, description))
    return out


def _is_type(accounts: Mapping[str, Mapping[str, Any]], account_id: str, wanted: str) -> bool:
    account = accounts.get(account_id)
    return account is not None and account.get("AccountType") == wanted


def _allocate(
    postings: Sequence[tuple[str, int]], applied: int, total: int
) -> list[tuple[str, int]]:
    """`postings` scaled by applied/total, rounded to the cent, the rounding put on the
    largest so the share sums exactly."""
    if total == 0 or applied == 0 or not postings:
        return []
    ratio = Fraction(applied, total)
    scaled = [(account, round(amount * ratio)) for account, amount in postings]
    target = round(sum(amount for _, amount in postings) * ratio)
    missing = target - sum(amount for _, amount in scaled)
    if missing:
        index = max(range(len(scaled)), key=lambda i: abs(scaled[i][1]))
        scaled[index] = (scaled[index][0], scaled[index][1] + missing)
    return scaled


def _cash_postings(
    company: Company,
    entity: str,
    obj: Mapping[str, Any],
    accounts: Mapping[str, Mapping[str, Any]],
) -> list[tuple[str, int]]:
    """What a transaction posts on the cash basis (see the module docstring)."""
    if entity in ("Invoice", "CreditMemo", "Bill", "VendorCredit"):
        return []
    posted = company.posted(entity, obj)
    if entity not in ("Payment", "BillPayment"):
        return posted
    control = "Accounts Receivable" if entity == "Payment" else "Accounts Payable"
    documents = ("Invoice", "CreditMemo") if entity == "Payment" else ("Bill",)
    kept = [(a, c) for a, c in posted if not _is_type(accounts, a, control)]
    control_account = next((a for a, _ in posted if _is_type(accounts, a, control)), "")
    out = list(kept)
    for line in obj.get("Line") or ():
        if not isinstance(line, Mapping):
            continue
        links = line.get("LinkedTxn")
        if not isinstance(links, list) or not links or not isinstance(links[0], Mapping):
            continue
        doc_type = links[0].get("TxnType")
        if doc_type not in documents:
            continue
        doc = company.get(str(doc_type), str(links[0].get("TxnId")))
        if doc is None:
            continue
        share = [
            (a, c)
            for a, c in company.posted(str(doc_type), doc)
            if not _is_type(accounts, a, control)
        ]
        out += _allocate(share, stored_cents(line.get("Amount")), stored_cents(doc.get("TotalAmt")))
    residual = -sum(amount for _, amount in out)
    if residual and control_account:
        out.append((control_account, residual))
    return out


def ledger_entries(company: Company, *, cash: bool = False) -> list[Entry]:
    """Every posting of every transaction, by date then transaction Id; zero amounts and
    unknown accounts left out."""
    collecting = gc.isenabled()
    gc.disable()  # many small, acyclic objects: a large company makes 250,000 entries
    try:
        return _ledger_entries(company, cash=cash)
    finally:
        if collecting:
            gc.enable()


def _ledger_entries(company: Company, *, cash: bool) -> list[Entry]:
    accounts = {str(a["Id"]): a for a in company.all("Account")}
    out: list[tuple[date, int, int, Entry]] = []
    for rank, entity in enumerate(POSTING_ENTITIES):
        for obj in company.all(entity):
            day = _parse_day(obj.get("TxnDate"))
            if day is None:
                continue
            if cash:
                postings = _cash_postings(company, entity, obj, accounts)
            else:
                postings = company.posted(entity, obj)
            totals: dict[str, int] = {}
            for account, amount in postings:
                if account in accounts:
                    totals[account] = totals.get(account, 0) + amount
            totals = {a: c for a, c in totals.items() if c}
            if not totals:
                continue
            kind, name_id, name = _txn_name(company, entity, obj)
            doc = obj.get("DocNumber")
            txn = Txn(
                entity=entity,
                id=str(obj.get("Id")),
                day=day,
                doc_num=doc if isinstance(doc, str) else "",
                label=_label(entity, obj),
                name_kind=kind,
                name_id=name_id,
                name=name,
            )
            described: dict[str, str] = {}
            for account, text in _line_accounts(company, entity, obj):
                if not described.get(account):
                    described[account] = text
            note = obj.get("PrivateNote")
            header_memo = note if isinstance(note, str) else ""
            for account, amount in totals.items():
                others = [a for a in totals if a != account]
                if len(others) == 1:
                    split_name, split_id = _display(accounts[others[0]]), others[0]
                else:
                    split_name, split_id = "-Split-", ""
                memo = described.get(account, header_memo)
                entry = Entry(
                    txn=txn,
                    account=account,
                    amount=amount,
                    memo=memo,
                    split_name=split_name,
                    split_id=split_id,
                )
                txn_id = int(txn.id) if txn.id.isdigit() else 0
                out.append((day, txn_id, rank, entry))
    out.sort(key=lambda item: item[:3])
    return [entry for *_, entry in out]


# --------------------------------------------------------------------------- accounts


class _Chart:
    """The chart of accounts: types, natural signs, the parent tree, QBO's order."""

    def __init__(self, company: Company) -> None:
        self.accounts = {str(a["Id"]): a for a in company.all("Account")}
        self.children: dict[str, list[str]] = defaultdict(list)
        roots: list[str] = []
        for account_id, account in self.accounts.items():
            parent = _ref(account, "ParentRef")
            if parent and parent in self.accounts and parent != account_id:
                self.children[parent].append(account_id)
            else:
                roots.append(account_id)
        for kids in self.children.values():
            kids.sort(key=self._name_key)
        self.roots = sorted(roots, key=self._order_key)

    def _name_key(self, account_id: str) -> tuple[str, str]:
        return (str(self.accounts[account_id].get("Name", "")).casefold(), account_id)

    def _order_key(self, account_id: str) -> tuple[int, str, str]:
        kind = self.type_of(account_id)
        rank = ACCOUNT_TYPES.index(kind) if kind in ACCOUNT_TYPES else len(ACCOUNT_TYPES)
        return (rank, *self._name_key(account_id))

    def type_of(self, account_id: str) -> str:
        return str(self.accounts[account_id].get("AccountType", ""))

    def classification(self, account_id: str) -> str:
        return str(self.accounts[account_id].get("Classification", ""))

    def sign(self, account_id: str) -> int:
        """+1 where a debit shows positive (assets, expenses), -1 elsewhere."""
        return 1 if self.classification(account_id) in NATURAL_DEBIT else -1

    def name(self, account_id: str) -> str:
        return str(self.accounts[account_id].get("Name", ""))

    def subtree(self, account_id: str) -> list[str]:
        found = [account_id]
        index = 0
        while index < len(found) and index < 10_000:
            found.extend(k for k in self.children.get(found[index], ()) if k not in found)
            index += 1
        return found

    def retained_earnings(self) -> str | None:
        for account_id in self.roots:
            if self.accounts[account_id].get("AccountSubType") == "RetainedEarnings":
                return account_id
        return None


# --------------------------------------------------------------------------- requests


@attrs.frozen
class _Request:
    """The parameters every report reads, checked."""

    today: date
    fiscal_month: int
    period: Period
    cash: bool
    customers: frozenset[str] | None
    vendors: frozenset[str] | None
    customer_text: str | None
    vendor_text: str | None

    @property
    def basis(self) -> str:
        return "Cash" if self.cash else "Accrual"


def _id_set(ctx: RequestContext, name: str) -> tuple[frozenset[str] | None, str | None]:
    raw = ctx.param(name)
    if raw is None or raw.strip() == "":
        return None, None
    ids = frozenset(part.strip() for part in raw.split(",") if part.strip())
    return ids, raw.strip()


def _fiscal_month(company: Company) -> int:
    written = company.company_info.get("FiscalYearStartMonth")
    if isinstance(written, str):
        return _MONTHS.get(written.strip().lower(), 1)
    return 1


def _span(company: Company, today: date) -> tuple[date, date]:
    days = [
        day
        for entity in POSTING_ENTITIES
        for obj in company.all(entity)
        if (day := _parse_day(obj.get("TxnDate"))) is not None
    ]
    if not days:
        return today, today
    return min(days), max(max(days), today)


def _request(ctx: RequestContext, company: Company, default_macro: str) -> _Request:
    today = ctx.now.astimezone(ctx.zone).date()
    fiscal = _fiscal_month(company)
    start = _date_param(ctx, "start_date")
    end = _date_param(ctx, "end_date")
    written = ctx.param("date_macro")
    macro = written.strip() if written is not None and written.strip() else None
    if start is not None and end is not None:
        period = Period(start, end)
    else:
        chosen = macro or default_macro
        found = macro_period(chosen, today, fiscal, lambda: _span(company, today))
        if found is None:
            raise _bad("date_macro", f"date_macro {chosen[:60]!r} is not a QBO date macro")
        if start is None and end is None:
            period = Period(found[0], found[1], " ".join(chosen.lower().split()))
        else:
            period = Period(start or found[0], end or found[1])
    if period.start > period.end:
        raise _bad(
            "start_date",
            f"start_date {period.start.isoformat()} is after end_date {period.end.isoformat()}",
        )
    method = (ctx.param("accounting_method") or "Accrual").strip().lower()
    if method not in ("cash", "accrual"):
        raise _bad("accounting_method", f"accounting_method must be Cash or Accrual: {method[:40]}")
    customers, customer_text = _id_set(ctx, "customer")
    vendors, vendor_text = _id_set(ctx, "vendor")
    return _Request(
        today=today,
        fiscal_month=fiscal,
        period=period,
        cash=method == "cash",
        customers=customers,
        vendors=vendors,
        customer_text=customer_text,
        vendor_text=vendor_text,
    )


def _keep(request: _Request, entry: Entry) -> bool:
    txn = entry.txn
    if request.customers is not None and not (
        txn.name_kind == "Customer" and txn.name_id in request.customers
    ):
        return False
    return request.vendors is None or (txn.name_kind == "Vendor" and txn.name_id in request.vendors)


def _fiscal_year_start(day: date, fiscal_month: int) -> date:
    return _period_start(day, fiscal_month, 12)


def _header(
    ctx: RequestContext,
    company: Company,
    name: str,
    request: _Request,
    *,
    basis: bool = True,
    summarize: str | None = "Total",
) -> dict[str, Any]:
    header: dict[str, Any] = {"Time": ctx.meta_text(), "ReportName": name}
    if request.period.macro is not None:
        header["DateMacro"] = request.period.macro
    if basis:
        header["ReportBasis"] = request.basis
    header["StartPeriod"] = request.period.start.isoformat()
    header["EndPeriod"] = request.period.end.isoformat()
    if summarize is not None:
        header["SummarizeColumnsBy"] = summarize
    header["Currency"] = str(company.home_currency().get("value", "USD"))
    if request.customer_text is not None:
        header["Customer"] = request.customer_text
    if request.vendor_text is not None:
        header["Vendor"] = request.vendor_text
    return header


def _blank(count: int) -> list[dict[str, str]]:
    return [{"value": ""} for _ in range(count)]


def _account_cell(chart: _Chart, account_id: str) -> dict[str, str]:
    return {"value": chart.name(account_id), "id": account_id}


# --------------------------------------------------------------------------- P&L


@attrs.frozen
class _Column:
    key: str
    title: str
    meta: tuple[tuple[str, str], ...] = ()


def _pl_columns(
    by: str, request: _Request, company: Company, entries: Sequence[Entry]
) -> tuple[list[_Column], Callable[[Entry], str]]:
    """The money columns (before the total) and the key each entry lands in."""
    if by == "Total":
        return [], lambda entry: "total"
    if by in ("Customers", "Vendors"):
        kind = by[:-1]
        names: dict[str, str] = {}
        unnamed = False
        for entry in entries:
            if entry.txn.name_kind == kind:
                names[entry.txn.name_id] = entry.txn.name
            else:
                unnamed = True
        ordered = sorted(names, key=lambda i: (names[i].casefold(), i))
        columns = [_Column(i, names[i], (("ColKey", i),)) for i in ordered]
        if unnamed:
            columns.append(_Column("", "Not Specified", (("ColKey", "NotSpecified"),)))

        def named(entry: Entry) -> str:
            return entry.txn.name_id if entry.txn.name_kind == kind else ""

        return columns, named
    months = {"Month": 1, "Quarter": 3, "Year": 12}[by]
    first = 1 if months == 1 else request.fiscal_month
    columns = []
    cursor = _period_start(request.period.start, first, months)
    while cursor <= request.period.end:
        following = _add_months(cursor, months)
        start = max(cursor, request.period.start)
        end = min(following - timedelta(days=1), request.period.end)
        if months == 1:
            title = f"{calendar.month_abbr[cursor.month]} {cursor.year}"
        elif months == 12 and first == 1:
            title = str(cursor.year)
        else:
            title = (
                f"{calendar.month_abbr[start.month]} - {calendar.month_abbr[end.month]} {end.year}"
            )
        columns.append(
            _Column(
                cursor.isoformat(),
                title,
                (("StartDate", start.isoformat()), ("EndDate", end.isoformat()), ("ColKey", title)),
            )
        )
        if len(columns) > MAX_COLUMNS:
            raise _bad(
                "summarize_column_by",
                f"the period needs more than {MAX_COLUMNS} columns; choose a shorter one",
            )
        cursor = following
    starts = [date.fromisoformat(c.key) for c in columns]

    def dated(entry: Entry) -> str:
        key = starts[0]
        for start in starts:
            if start <= entry.txn.day:
                key = start
        return key.isoformat()

    return columns, dated


_PL_SECTIONS: Final = (
    ("Income", "Income", ("Income",), True),
    ("COGS", "Cost of Goods Sold", ("Cost of Goods Sold",), False),
    ("Expenses", "Expenses", ("Expense",), True),
    ("OtherIncome", "Other Income", ("Other Income",), False),
    ("OtherExpenses", "Other Expenses", ("Other Expense",), False),
)


class _Grid:
    """Amounts per account and column key, natural sign."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = list(keys)
        self.cells: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, account: str, key: str, amount: int) -> None:
        self.cells[account][key] += amount

    def vector(self, accounts: Iterable[str]) -> list[int]:
        totals = [0] * len(self.keys)
        for account in accounts:
            cells = self.cells.get(account)
            if cells is None:
                continue
            for index, key in enumerate(self.keys):
                totals[index] += cells.get(key, 0)
        return totals


def _money_cells(values: Sequence[int], *, with_total: bool) -> list[dict[str, str]]:
    """Column cells: blanks for zero in per-column cells, then the total if asked."""
    if not with_total:
        return [{"value": format_money(v)} for v in values]
    cells = [{"value": format_money(v) if v else ""} for v in values]
    return [*cells, {"value": format_money(sum(values))}]


def _account_rows(
    chart: _Chart,
    account_id: str,
    grid: _Grid,
    with_total: bool,
    width: int,
    depth: int = 0,
) -> list[dict[str, Any]]:
    """The rows of one account in a summary report: a Data row, or a Section holding its
    own row and its sub-accounts' when it has any with amounts."""
    subtree = chart.subtree(account_id)
    if not any(grid.vector([a]) != [0] * len(grid.keys) for a in subtree):
        return []
    own = grid.vector([account_id])
    own_row = {
        "ColData": [_account_cell(chart, account_id), *_money_cells(own, with_total=with_total)],
        "type": "Data",
    }
    kids: list[dict[str, Any]] = []
    if depth < 20:
        for child in chart.children.get(account_id, ()):
            kids += _account_rows(chart, child, grid, with_total, width, depth + 1)
    if not kids:
        return [own_row]
    rows = ([own_row] if any(own) else []) + kids
    total = grid.vector(subtree)
    return [
        {
            "Header": {"ColData": [_account_cell(chart, account_id), *_blank(width - 1)]},
            "Rows": {"Row": rows},
            "Summary": {
                "ColData": [
                    {"value": f"Total {chart.name(account_id)}"},
                    *_money_cells(total, with_total=with_total),
                ]
            },
            "type": "Section",
        }
    ]


def _profit_and_loss(ctx: RequestContext, company: Company) -> dict[str, Any]:
    request = _request(ctx, company, "This Calendar Year-to-date")
    written = (ctx.param("summarize_column_by") or "Total").strip()
    by = _summary(written, _SUMMARIES_SERVED)
    chart = _Chart(company)
    entries = [
        e
        for e in ledger_entries(company, cash=request.cash)
        if request.period.start <= e.txn.day <= request.period.end
        and chart.classification(e.account) in PROFIT_AND_LOSS
        and _keep(request, e)
    ]
    columns, key_of = _pl_columns(by, request, company, entries)
    with_total = by != "Total"
    keys = [c.key for c in columns] if with_total else ["total"]
    grid = _Grid(keys)
    for entry in entries:
        grid.add(entry.account, key_of(entry), chart.sign(entry.account) * entry.amount)
    width = 1 + len(keys) + (1 if with_total else 0)
    no_data = not entries
    sections: dict[str, list[int]] = {}
    rows: list[dict[str, Any]] = []

    def computed(group: str, title: str, values: list[int]) -> None:
        cells = _blank(width - 1) if no_data else _money_cells(values, with_total=with_total)
        rows.append(
            {"Summary": {"ColData": [{"value": title}, *cells]}, "type": "Section", "group": group}
        )

    def combine(plus: Sequence[str], minus: Sequence[str]) -> list[int]:
        out = [0] * len(keys)
        for group in plus:
            out = [a + b for a, b in zip(out, sections.get(group, [0] * len(keys)), strict=True)]
        for group in minus:
            out = [a - b for a, b in zip(out, sections.get(group, [0] * len(keys)), strict=True)]
        return out

    for group, title, types, always in _PL_SECTIONS:
        members = [a for a in chart.roots if chart.type_of(a) in types]
        section_rows: list[dict[str, Any]] = []
        for account_id in members:
            section_rows += _account_rows(chart, account_id, grid, with_total, width)
        totals = grid.vector(a for root in members for a in chart.subtree(root))
        sections[group] = totals
        if section_rows or always:
            section: dict[str, Any] = {
                "Header": {"ColData": [{"value": title}, *_blank(width - 1)]}
            }
            if section_rows:
                section["Rows"] = {"Row": section_rows}
                cells = _money_cells(totals, with_total=with_total)
            else:
                cells = _blank(width - 1)
            section["Summary"] = {"ColData": [{"value": f"Total {title}"}, *cells]}
            section["type"] = "Section"
            section["group"] = group
            rows.append(section)
        if group == "COGS":
            computed("GrossProfit", "Gross Profit", combine(["Income"], ["COGS"]))
        elif group == "Expenses":
            computed(
                "NetOperatingIncome",
                "Net Operating Income",
                combine(["Income"], ["COGS", "Expenses"]),
            )
    other = [r for r in rows if r.get("group") in ("OtherIncome", "OtherExpenses")]
    if other:
        computed("NetOtherIncome", "Net Other Income", combine(["OtherIncome"], ["OtherExpenses"]))
    computed(
        "NetIncome",
        "Net Income",
        combine(["Income", "OtherIncome"], ["COGS", "Expenses", "OtherExpenses"]),
    )
    total_title = "Total" if by in ("Total", "Month", "Quarter", "Year") else "TOTAL"
    column_json: list[dict[str, Any]] = [
        {"ColTitle": "", "ColType": "Account", "MetaData": [{"Name": "ColKey", "Value": "account"}]}
    ]
    for column in columns if with_total else ():
        column_json.append(
            {
                "ColTitle": column.title,
                "ColType": "Money",
                "MetaData": [{"Name": n, "Value": v} for n, v in column.meta],
            }
        )
    column_json.append(
        {
            "ColTitle": total_title,
            "ColType": "Money",
            "MetaData": [{"Name": "ColKey", "Value": "total"}],
        }
    )
    header = _header(ctx, company, "ProfitAndLoss", request, summarize=by)
    header["Option"] = [
        {"Name": "AccountingStandard", "Value": "GAAP"},
        {"Name": "NoReportData", "Value": "true" if no_data else "false"},
    ]
    return {"Header": header, "Columns": {"Column": column_json}, "Rows": {"Row": rows}}


def _summary(written: str, served: Sequence[str]) -> str:
    for name in served:
        if name.lower() == written.lower():
            return name
    known = (
        " (a QBO value the emulator does not compute)" if written.lower() in _SUMMARIES_QBO else ""
    )
    raise _bad(
        "summarize_column_by",
        f"summarize_column_by {written[:40]!r} is not served{known}; use one of "
        f"{', '.join(served)}",
    )


# --------------------------------------------------------------------------- balance sheet

#: (group, title, account types or child groups) of the balance sheet, nested.
_BS_TREE: Final[tuple[tuple[str, str, tuple[Any, ...]], ...]] = (
    (
        "TotalAssets",
        "ASSETS",
        (
            (
                "CurrentAssets",
                "Current Assets",
                (
                    ("BankAccounts", "Bank Accounts", ("Bank",)),
                    ("AR", "Accounts Receivable", ("Accounts Receivable",)),
                    ("OtherCurrentAssets", "Other Current Assets", ("Other Current Asset",)),
                ),
            ),
            ("FixedAssets", "Fixed Assets", ("Fixed Asset",)),
            ("OtherAssets", "Other Assets", ("Other Asset",)),
        ),
    ),
    (
        "TotalLiabilitiesAndEquity",
        "LIABILITIES AND EQUITY",
        (
            (
                "Liabilities",
                "Liabilities",
                (
                    (
                        "CurrentLiabilities",
                        "Current Liabilities",
                        (
                            ("AP", "Accounts Payable", ("Accounts Payable",)),
                            ("CreditCards", "Credit Cards", ("Credit Card",)),
                            (
                                "OtherCurrentLiabilities",
                                "Other Current Liabilities",
                                ("Other Current Liability",),
                            ),
                        ),
                    ),
                    ("LongTermLiabilities", "Long-Term Liabilities", ("Long Term Liability",)),
                ),
            ),
            ("Equity", "Equity", ("Equity",)),
        ),
    ),
)

_TOP_TITLES: Final = {
    "TotalAssets": "TOTAL ASSETS",
    "TotalLiabilitiesAndEquity": "TOTAL LIABILITIES AND EQUITY",
}


def _balance_sheet(ctx: RequestContext, company: Company) -> dict[str, Any]:
    request = _request(ctx, company, "This Calendar Year-to-date")
    _summary((ctx.param("summarize_column_by") or "Total").strip(), ("Total",))
    chart = _Chart(company)
    end = request.period.end
    year_start = _fiscal_year_start(end, request.fiscal_month)
    grid = _Grid(["total"])
    prior_income = 0
    net_income = 0
    seen = False
    for entry in ledger_entries(company, cash=request.cash):
        if entry.txn.day > end or not _keep(request, entry):
            continue
        seen = True
        classification = chart.classification(entry.account)
        if classification in BALANCE_SHEET:
            grid.add(entry.account, "total", chart.sign(entry.account) * entry.amount)
        elif classification in PROFIT_AND_LOSS:
            if entry.txn.day < year_start:
                prior_income -= entry.amount
            else:
                net_income -= entry.amount
    retained = chart.retained_earnings()
    if retained is not None:
        grid.add(retained, "total", prior_income)

    def section(
        group: str, title: str, content: tuple[Any, ...]
    ) -> tuple[dict[str, Any] | None, int]:
        rows: list[dict[str, Any]] = []
        total = 0
        if content and isinstance(content[0], tuple):
            for child in content:
                part, amount = section(*child)
                if part is not None:
                    rows.append(part)
                total += amount
        else:
            members = [a for a in chart.roots if chart.type_of(a) in content]
            for account_id in members:
                rows += _account_rows(chart, account_id, grid, False, 2)
            total = grid.vector(a for root in members for a in chart.subtree(root))[0]
        if group == "Equity":
            if retained is None and prior_income:
                rows.append(
                    {
                        "ColData": [
                            {"value": "Retained Earnings"},
                            {"value": format_money(prior_income)},
                        ],
                        "type": "Data",
                    }
                )
                total += prior_income
            rows.append(
                {
                    "ColData": [{"value": "Net Income"}, {"value": format_money(net_income)}],
                    "type": "Data",
                    "group": "NetIncome",
                }
            )
            total += net_income
        if not rows and group not in _TOP_TITLES:
            return None, total
        built: dict[str, Any] = {"Header": {"ColData": [{"value": title}, {"value": ""}]}}
        if rows:
            built["Rows"] = {"Row": rows}
        summary_title = _TOP_TITLES.get(group, f"Total {title}")
        built["Summary"] = {"ColData": [{"value": summary_title}, {"value": format_money(total)}]}
        built["type"] = "Section"
        built["group"] = group
        return built, total

    rows = [built for spec in _BS_TREE if (built := section(*spec)[0]) is not None]
    header = _header(ctx, company, "BalanceSheet", request)
    header["Option"] = [
        {"Name": "AccountingStandard", "Value": "GAAP"},
        {"Name": "NoReportData", "Value": "false" if seen else "true"},
    ]
    return {
        "Header": header,
        "Columns": {
            "Column": [
                {
                    "ColTitle": "",
                    "ColType": "Account",
                    "MetaData": [{"Name": "ColKey", "Value": "account"}],
                },
                {
                    "ColTitle": "Total",
                    "ColType": "Money",
                    "MetaData": [{"Name": "ColKey", "Value": "total"}],
                },
            ]
        },
        "Rows": {"Row": rows},
    }


# --------------------------------------------------------------------------- general ledger

_GL_COLUMNS: Final = (
    ("Date", "tx_date"),
    ("Transaction Type", "txn_type"),
    ("Num", "doc_num"),
    ("Name", "name"),
    ("Memo/Description", "memo"),
    ("Split", "split_acc"),
    ("Amount", "subt_nat_amount"),
    ("Balance", "rbal_nat_amount"),
)
_GL_WIDTH: Final = len(_GL_COLUMNS)


def _general_ledger(ctx: RequestContext, company: Company) -> dict[str, Any]:
    request = _request(ctx, company, "This Month-to-date")
    chart = _Chart(company)
    wanted, _ = _id_set(ctx, "account")
    start, end = request.period.start, request.period.end
    year_start = _fiscal_year_start(start, request.fiscal_month)
    retained = chart.retained_earnings()
    opening: dict[str, int] = defaultdict(int)
    moves: dict[str, list[Entry]] = defaultdict(list)
    for entry in ledger_entries(company, cash=request.cash):
        if entry.txn.day > end or not _keep(request, entry):
            continue
        account = entry.account
        natural = chart.sign(account) * entry.amount
        if entry.txn.day >= start:
            moves[account].append(entry)
        elif chart.classification(account) in BALANCE_SHEET or entry.txn.day >= year_start:
            opening[account] += natural  # P&L accounts open with the fiscal year to date
        elif retained is not None:
            opening[retained] -= entry.amount

    def txn_row(entry: Entry, balance: int) -> dict[str, Any]:
        txn = entry.txn
        amount = chart.sign(entry.account) * entry.amount
        return {
            "ColData": [
                {"value": txn.day.isoformat()},
                {"value": txn.label, "id": txn.id},
                {"value": txn.doc_num},
                {"value": txn.name, "id": txn.name_id},
                {"value": entry.memo},
                {"value": entry.split_name, "id": entry.split_id},
                {"value": format_money(amount)},
                {"value": format_money(balance)},
            ],
            "type": "Data",
        }

    def account_section(account_id: str, depth: int) -> tuple[dict[str, Any] | None, bool, int]:
        """(section, whether anything moved in the period, the period's sum)."""
        rows: list[dict[str, Any]] = []
        balance = opening.get(account_id, 0)
        listed = wanted is None or account_id in wanted
        moved = False
        amount_sum = 0
        if listed:
            if balance:
                rows.append(
                    {
                        "ColData": [
                            {"value": "Beginning Balance"},
                            *_blank(_GL_WIDTH - 2),
                            {"value": format_money(balance)},
                        ],
                        "type": "Data",
                    }
                )
            for entry in moves.get(account_id, ()):
                natural = chart.sign(account_id) * entry.amount
                balance += natural
                amount_sum += natural
                moved = True
                rows.append(txn_row(entry, balance))
        if depth < 20:
            for child in chart.children.get(account_id, ()):
                built, child_moved, child_sum = account_section(child, depth + 1)
                if built is not None:
                    rows.append(built)
                    moved = moved or child_moved
                    amount_sum += child_sum
        if not rows:
            return None, False, 0
        name_cell: dict[str, str] = {"value": chart.name(account_id)}
        if depth == 0:
            name_cell["id"] = account_id
        summary = [
            {"value": f"Total for {chart.name(account_id)}"},
            *_blank(_GL_WIDTH - 3),
            {"value": format_money(amount_sum) if moved else ""},
            {"value": ""},
        ]
        return (
            {
                "Header": {"ColData": [name_cell, *_blank(_GL_WIDTH - 1)]},
                "Rows": {"Row": rows},
                "Summary": {"ColData": summary},
                "type": "Section",
            },
            moved,
            amount_sum,
        )

    rows = [built for root in chart.roots if (built := account_section(root, 0)[0]) is not None]
    header = _header(ctx, company, "GeneralLedger", request, summarize=None)
    header["Option"] = [{"Name": "NoReportData", "Value": "false" if rows else "true"}]
    return {
        "Header": header,
        "Columns": {"Column": [{"ColTitle": t, "ColType": k} for t, k in _GL_COLUMNS]},
        "Rows": {"Row": rows},
    }


# --------------------------------------------------------------------------- aging


def _applications(
    company: Company, payer: str, documents: Sequence[str]
) -> dict[tuple[str, str], list[tuple[date, int]]]:
    """(document type, Id) -> (payment date, cents applied) for every application."""
    found: dict[tuple[str, str], list[tuple[date, int]]] = defaultdict(list)
    for payment in company.all(payer):
        day = _parse_day(payment.get("TxnDate"))
        if day is None:
            continue
        for line in payment.get("Line") or ():
            if not isinstance(line, Mapping):
                continue
            links = line.get("LinkedTxn")
            if not isinstance(links, list) or not links or not isinstance(links[0], Mapping):
                continue
            doc_type = links[0].get("TxnType")
            if doc_type in documents:
                key = (str(doc_type), str(links[0].get("TxnId")))
                found[key].append((day, stored_cents(line.get("Amount"))))
    return found


def _aging(ctx: RequestContext, company: Company, receivable: bool) -> dict[str, Any]:
    name = "AgedReceivables" if receivable else "AgedPayables"
    request = _request(ctx, company, "Today")
    report_date = _date_param(ctx, "report_date")
    if report_date is not None:
        request = attrs.evolve(request, period=Period(report_date, report_date))
    as_of = request.period.end
    period = _positive_int(ctx, "aging_period", 30, 3650)
    count = _positive_int(ctx, "num_periods", 4, 50)
    kind = "Customer" if receivable else "Vendor"
    wanted = request.customers if receivable else request.vendors
    owner_key = f"{kind}Ref"
    items: list[tuple[str, date, int]] = []  # (owner Id, aging date, open cents)
    if receivable:
        applied = _applications(company, "Payment", ("Invoice", "CreditMemo"))
        documents: tuple[tuple[str, int], ...] = (("Invoice", 1), ("CreditMemo", -1))
    else:
        applied = _applications(company, "BillPayment", ("Bill",))
        documents = (("Bill", 1), ("VendorCredit", -1))
    for entity, sign in documents:
        for doc in company.all(entity):
            day = _parse_day(doc.get("TxnDate"))
            if day is None or day > as_of:
                continue
            paid = sum(
                c for when, c in applied.get((entity, str(doc.get("Id"))), ()) if when <= as_of
            )
            open_cents = stored_cents(doc.get("TotalAmt")) - paid
            due = _parse_day(doc.get("DueDate")) if sign > 0 else None
            items.append((_ref(doc, owner_key), due or day, sign * open_cents))
    if receivable:
        for payment in company.all("Payment"):
            day = _parse_day(payment.get("TxnDate"))
            if day is not None and day <= as_of:
                items.append(
                    (_ref(payment, "CustomerRef"), day, -stored_cents(payment.get("UnappliedAmt")))
                )
    buckets: dict[str, list[int]] = defaultdict(lambda: [0] * (count + 1))
    for owner, aging_day, amount in items:
        if not amount or not owner or (wanted is not None and owner not in wanted):
            continue
        late = (as_of - aging_day).days
        index = 0 if late <= 0 else min(1 + (late - 1) // period, count)
        buckets[owner][index] += amount
    owners = {
        owner: _display(company.get(kind, owner), owner)
        for owner, cells in buckets.items()
        if any(cells)
    }
    rows: list[dict[str, Any]] = []
    totals = [0] * (count + 1)
    for owner in sorted(owners, key=lambda o: (owners[o].casefold(), o)):
        cells = buckets[owner]
        totals = [a + b for a, b in zip(totals, cells, strict=True)]
        rows.append(
            {
                "ColData": [
                    {"value": owners[owner], "id": owner},
                    *({"value": format_money(c) if c else ""} for c in cells),
                    {"value": format_money(sum(cells))},
                ],
                "type": "Data",
            }
        )
    rows.append(
        {
            "Summary": {
                "ColData": [
                    {"value": "TOTAL"},
                    *({"value": format_money(c)} for c in totals),
                    {"value": format_money(sum(totals))},
                ]
            },
            "type": "Section",
            "group": "GrandTotal",
        }
    )
    titles = ["Current"]
    for index in range(1, count):
        titles.append(f"{(index - 1) * period + 1} - {index * period}")
    titles.append(f"{(count - 1) * period + 1} and over")
    header = _header(ctx, company, name, request, basis=False, summarize=None)
    header["Option"] = [
        {"Name": "report_date", "Value": as_of.isoformat()},
        {"Name": "NoReportData", "Value": "false" if len(rows) > 1 else "true"},
    ]
    columns = [{"ColTitle": "", "ColType": kind}]
    columns += [{"ColTitle": title, "ColType": "Money"} for title in titles]
    columns.append({"ColTitle": "Total", "ColType": "Money"})
    return {"Header": header, "Columns": {"Column": columns}, "Rows": {"Row": rows}}


# --------------------------------------------------------------------------- entry point

_BUILDERS: Final[dict[str, Callable[[RequestContext, Company], dict[str, Any]]]] = {
    "ProfitAndLoss": _profit_and_loss,
    "BalanceSheet": _balance_sheet,
    "GeneralLedger": _general_ledger,
    "AgedReceivables": lambda ctx, company: _aging(ctx, company, True),
    "AgedPayables": lambda ctx, company: _aging(ctx, company, False),
}


def run_report(ctx: RequestContext, company: Company, name: str) -> dict[str, Any]:
    """The report object for `GET /reports/{name}`; `QBOFault` for a bad request."""
    if ctx.method != "GET":
        raise unsupported_operation(ctx.path)
    canonical = REPORT_NAMES.get(name.lower())
    if canonical is None:
        if name.lower() in _NOT_SERVED:
            raise not_served(name)
        raise unsupported_operation(ctx.path)
    return _BUILDERS[canonical](ctx, company)
