"""The generator's second round: payment methods, tax rates and agencies, purchase orders,
vendor credits, refund receipts, transfers, credit card payments and time activity.

`add_more_entities(builder)` runs after the first round's documents and before `finish`
numbers them, with its own random stream (drawn from the builder's, then the builder's is
put back), so the first round's documents are what they were; their Ids and DocNumbers
move, as these transactions take their places in the shared sequence by creation time.

What it makes, per size (the first round's counts drive it):

- PaymentMethod: QBO's seven defaults; TaxAgency: the state's (and, for the county code,
  the county's); TaxRate: one per TaxCode, with the Id and name the code names;
- PurchaseOrder: a quarter as many as bills. Most are the orders older bills were made
  from (same vendor and lines, dated days before, `POStatus` "Closed", linked both ways);
  the rest are open orders of the last two months. They post nothing;
- VendorCredit: one per 25 bills (at least one): a vendor's returned goods or a refunded
  charge, crediting expense accounts and lowering A/P and the vendor's balance;
- RefundReceipt: one per 20 sales receipts (at least one): items taken back and the money
  paid out of checking, by cash, check or card;
- Transfer: one per four budgeted journal entries (at least two): checking to savings and
  back; CreditCardPayment: one per 30 purchases (at least one) from checking to a card,
  a share of the month's charges;
- TimeActivity: three per employee: hours on a service item, billable to a customer or not.
"""

from __future__ import annotations

import bisect
import random
from typing import TYPE_CHECKING, Final

from qbo_adapters.emulator.datagen.company import PAYMENT_METHODS, Obj, tax_agency, tax_rate
from qbo_adapters.emulator.entity_numbers import money

if TYPE_CHECKING:
    from qbo_adapters.emulator.datagen.generator import _Builder, _Named, _Txn

__all__ = ["add_more_entities"]

DAY: Final = 86_400
_TAX_RATES: Final = (6.25, 7.25, 4.0, 6.0, 5.0)


def _usd() -> Obj:
    return {"value": "USD", "name": "United States Dollar"}


def add_more_entities(builder: _Builder) -> None:
    """Add the second round's objects to `builder` (before `finish`)."""
    main = builder.rng
    builder.rng = random.Random(main.getrandbits(64))
    try:
        _More(builder).run()
    finally:
        builder.rng = main


class _More:
    def __init__(self, b: _Builder) -> None:
        self.b = b
        self.rng = b.rng
        self.ap = b.roles["ap"][0]

    def run(self) -> None:
        self.lists()
        self.purchase_orders()
        self.vendor_credits()
        self.refund_receipts()
        self.transfers()
        self.card_payments()
        self.time_activity()

    # -- name lists ----------------------------------------------------------

    def named(self, etype: str, rows: list[Obj], ts0: int) -> list[_Named]:
        from qbo_adapters.emulator.datagen.generator import _Named

        b = self.b
        records = []
        for n, obj in enumerate(rows, start=1):
            ts = ts0 + 30 * n
            b.envelope(obj, str(n))
            obj["MetaData"] = b.meta(ts, ts)
            name = str(obj.get("DisplayName", obj.get("Name")))
            records.append(_Named(obj, ts, name))
        b.names[etype] = records
        return records

    def lists(self) -> None:
        b = self.b
        methods = [{"Name": name, "Active": True, "Type": kind} for name, kind in PAYMENT_METHODS]
        self.methods = self.named("PaymentMethod", methods, b.start + 200)
        codes = b.tax_codes
        state = b.city[1]
        agencies = [tax_agency(f"{state} Department of Revenue")]
        if len(codes) > 1:
            agencies.append(tax_agency(f"{b.city[0]} County Tax Collector"))
        self.agencies = self.named("TaxAgency", agencies, b.start + 400)
        rates = []
        for n, code in enumerate(codes):
            agency = self.agencies[min(n, len(self.agencies) - 1)]
            rate = self.rng.choice(_TAX_RATES) if n == 0 else self.rng.choice((0.25, 0.5, 1.0))
            row = tax_rate(code.name, agency.id, rate, b.fmt(b.start + 450))
            row["AgencyRef"] = b.ref(agency)
            rates.append(row)
        # Each TaxCode names the TaxRate with its own Id (`company.tax_code`).
        self.named("TaxRate", rates, b.start + 450)

    # -- purchasing ------------------------------------------------------------

    def po_lines(self, ts: int, vendor: _Named) -> tuple[list[Obj], int]:
        """Lines for an open order: stock for a stocking vendor, else an expense."""
        b = self.b
        lines: list[Obj] = []
        total = 0
        k = bisect.bisect_right(b.buyable_ts, ts)
        for n in range(1, b.choice((1, 1, 2, 3)) + 1):
            line: Obj = {"Id": str(n), "LineNum": n}
            if vendor.stocks and k:
                item = b.buyable[b.below(k)]
                qty = b.randint(5, 40)
                amount = item.cost * qty
                line["Description"] = item.desc
                line["Amount"] = money(amount)
                line["DetailType"] = "ItemBasedExpenseLineDetail"
                line["ItemBasedExpenseLineDetail"] = {
                    "ItemRef": b.ref(item.named),
                    "UnitPrice": money(item.cost),
                    "Qty": qty,
                    "BillableStatus": "NotBillable",
                    "TaxCodeRef": {"value": "NON"},
                }
                item.last_use = max(item.last_use, ts)
            else:
                account = (
                    b.choice(vendor.accounts)
                    if vendor.accounts
                    else b.choice(b.roles[b.choice(b.expense_roles)])
                )
                amount = b.randint(50, 3_000) * 100
                line["Amount"] = money(amount)
                line["DetailType"] = "AccountBasedExpenseLineDetail"
                line["AccountBasedExpenseLineDetail"] = {
                    "AccountRef": b.acct_ref(account),
                    "BillableStatus": "NotBillable",
                    "TaxCodeRef": {"value": "NON"},
                }
            lines.append(line)
            total += amount
        return lines, total

    def copy_lines(self, bill: Obj) -> list[Obj]:
        """An order's copy of a bill's lines, with references of its own."""
        b = self.b
        out = []
        for line in bill["Line"]:
            copy = dict(line)
            for key in ("ItemBasedExpenseLineDetail", "AccountBasedExpenseLineDetail"):
                detail = line.get(key)
                if detail is None:
                    continue
                new = dict(detail)
                if "ItemRef" in detail:
                    new["ItemRef"] = b.ref(b.item_by_id[detail["ItemRef"]["value"]].named)
                if "AccountRef" in detail:
                    new["AccountRef"] = dict(detail["AccountRef"])
                if "ClassRef" in detail:
                    new["ClassRef"] = b.ref(b.class_by_id[detail["ClassRef"]["value"]])
                new["TaxCodeRef"] = dict(detail["TaxCodeRef"])
                copy[key] = new
            out.append(copy)
        return out

    def purchase_order(self, ts: int, vendor: _Named, lines: list[Obj], total: int) -> _Txn:
        b = self.b
        obj: Obj = {"POStatus": "Open", "EmailStatus": "NotSet"}
        b.envelope(obj, "")
        obj["DocNumber"] = ""
        obj["TxnDate"] = b.date(b.day(ts))
        obj["CurrencyRef"] = _usd()
        obj["Line"] = lines
        obj["VendorRef"] = b.ref(vendor)
        obj["APAccountRef"] = b.acct_ref(self.ap)
        obj["TotalAmt"] = money(total)
        if vendor.addr is not None:
            obj["VendorAddr"] = dict(vendor.addr)
        vendor.last_use = max(vendor.last_use, ts)
        return b.add_txn("PurchaseOrder", ts, obj, "po")

    def purchase_orders(self) -> None:
        b = self.b
        count = b.size.bills // 4
        billed = [bill for bill in b.bills if bill.owner is not None and bill.owner.stocks]
        billed += [bill for bill in b.bills if bill.owner is not None and not bill.owner.stocks]
        made = 0
        for bill in billed[: count * 3 // 4]:
            vendor = bill.owner
            assert vendor is not None
            ts = bill.ts - b.randint(2, 20) * DAY
            if ts <= max(vendor.ts, b.start + DAY):
                continue
            order = self.purchase_order(ts, vendor, self.copy_lines(bill.obj), bill.total)
            order.obj["POStatus"] = "Closed"
            order.obj["LinkedTxn"] = [b.link("Bill", bill.obj)]
            bill.obj["LinkedTxn"].append(b.link("PurchaseOrder", order.obj))
            order.touch(bill.ts)
            made += 1
        for _ in range(count - made):
            ts = b.biz_time(max(b.start + DAY, b.now - 60 * DAY), b.now)
            vendor = b.pick(b.vendors, b.vendor_ts, ts, 2.0)
            lines, total = self.po_lines(ts, vendor)
            self.purchase_order(ts, vendor, lines, total)

    def vendor_credits(self) -> None:
        b = self.b
        for _ in range(max(1, b.size.bills // 25)):
            ts = b.txn_time()
            vendor = b.pick(b.vendors, b.vendor_ts, ts, 2.0)
            vendor.last_use = max(vendor.last_use, ts)
            lines = []
            total = 0
            for n in range(1, b.choice((1, 1, 2)) + 1):
                account = (
                    b.choice(vendor.accounts)
                    if vendor.accounts
                    else b.choice(b.roles[b.choice(b.expense_roles)])
                )
                amount = b.randint(20, 800) * 100
                lines.append(
                    {
                        "Id": str(n),
                        "LineNum": n,
                        "Description": b.choice(("Returned goods", "Refund", "Overcharge")),
                        "Amount": money(amount),
                        "DetailType": "AccountBasedExpenseLineDetail",
                        "AccountBasedExpenseLineDetail": {
                            "AccountRef": b.acct_ref(account),
                            "BillableStatus": "NotBillable",
                            "TaxCodeRef": {"value": "NON"},
                        },
                    }
                )
                b.post(account["Id"], -amount)
                total += amount
            b.post(self.ap["Id"], total)
            obj: Obj = {"Balance": money(total)}
            b.envelope(obj, "")
            if self.rng.random() < 0.6:
                obj["DocNumber"] = f"CR-{b.randint(100, 99_999)}"
            obj["TxnDate"] = b.date(b.day(ts))
            obj["CurrencyRef"] = _usd()
            obj["Line"] = lines
            obj["VendorRef"] = b.ref(vendor)
            obj["APAccountRef"] = b.acct_ref(self.ap)
            obj["TotalAmt"] = money(total)
            txn = b.add_txn("VendorCredit", ts, obj)
            txn.total = txn.balance = total
            txn.owner = vendor

    # -- sales -----------------------------------------------------------------

    def refund_receipts(self) -> None:
        b = self.b
        for _ in range(max(1, b.size.sales_receipts // 20)):
            ts = b.txn_time()
            cust = b.pick(b.customers, b.customer_ts, ts, 1.2)
            lines, total = b.sales_lines(ts, b.choice((1, 1, 2)), stock=1, max_qty=2)
            obj = b.sales_form("RefundReceipt", ts, cust, lines, total)
            obj["Balance"] = 0
            method = b.choice(self.methods[:4])
            obj["PaymentMethodRef"] = b.ref(method)
            obj["DepositToAccountRef"] = b.acct_ref(b.checking)
            b.post(b.checking["Id"], -total)
            b.add_txn("RefundReceipt", ts, obj, "sales")

    # -- money between accounts --------------------------------------------------

    def transfers(self) -> None:
        b = self.b
        for _ in range(max(2, b.size.journal_entries // 4)):
            ts = b.txn_time()
            amount = b.randint(5, 60) * 10_000
            back = self.rng.random() < 0.3
            source, target = (b.savings, b.checking) if back else (b.checking, b.savings)
            obj: Obj = {
                "FromAccountRef": b.acct_ref(source),
                "ToAccountRef": b.acct_ref(target),
                "Amount": money(amount),
            }
            b.envelope(obj, "")
            obj["TxnDate"] = b.date(b.day(ts))
            obj["CurrencyRef"] = _usd()
            if self.rng.random() < 0.3:
                obj["PrivateNote"] = "Move to savings" if not back else "Cover payroll"
            b.post(target["Id"], amount)
            b.post(source["Id"], -amount)
            b.add_txn("Transfer", ts, obj)

    def card_payments(self) -> None:
        b = self.b
        cards = b.roles["cc"]
        charges = sorted(b.cc_charges)
        times = [when for when, _, _ in charges]
        for _ in range(max(1, b.size.purchases // 30)):
            ts = b.txn_time()
            card = b.choice(cards)
            lo = bisect.bisect_left(times, ts - 30 * DAY)
            hi = bisect.bisect_right(times, ts)
            month = sum(amount for _, card_id, amount in charges[lo:hi] if card_id == card["Id"])
            amount = max(2_500, round(month * self.rng.uniform(0.05, 0.2) / 100) * 100)
            obj: Obj = {
                "CreditCardAccountRef": b.acct_ref(card),
                "BankAccountRef": b.acct_ref(b.checking),
                "Amount": money(amount),
                "PrintStatus": "NotSet",
            }
            b.envelope(obj, "")
            obj["TxnDate"] = b.date(b.day(ts))
            obj["CurrencyRef"] = _usd()
            obj["Memo"] = f"{card['Name']} payment"
            b.post(card["Id"], amount)
            b.post(b.checking["Id"], -amount)
            b.add_txn("CreditCardPayment", ts, obj)

    # -- time ------------------------------------------------------------------

    def time_activity(self) -> None:
        b = self.b
        services = [item for item in b.items if item.kind == "Service"] or b.items
        for _ in range(3 * len(b.employees)):
            ts = b.txn_time()
            if ts <= b.employee_ts[0]:
                continue
            employee = b.pick(b.employees, b.employee_ts, ts, 1.0)
            employee.last_use = max(employee.last_use, ts)
            item = b.choice(services)
            item.last_use = max(item.last_use, ts)
            obj: Obj = {"NameOf": "Employee"}
            b.envelope(obj, "")
            obj["TxnDate"] = b.date(b.day(ts))
            obj["EmployeeRef"] = b.ref(employee)
            billable = self.rng.random() < 0.6
            if billable:
                cust = b.pick(b.customers, b.customer_ts, ts, 1.5)
                cust.last_use = max(cust.last_use, ts)
                obj["CustomerRef"] = b.ref(cust)
            obj["ItemRef"] = b.ref(item.named)
            obj["BillableStatus"] = "Billable" if billable else "NotBillable"
            obj["Taxable"] = False
            obj["HourlyRate"] = money(item.price) if billable else 0
            obj["Hours"] = b.randint(1, 9)
            obj["Minutes"] = b.choice((0, 0, 15, 30, 45))
            obj["Description"] = item.desc
            b.add_txn("TimeActivity", ts, obj)
