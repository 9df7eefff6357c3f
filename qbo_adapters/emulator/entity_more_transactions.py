"""What the server stores for the second round of transactions: PurchaseOrder,
VendorCredit, RefundReceipt, Transfer, CreditCardPayment and TimeActivity.

Each normalizer fills the server's defaults and computed fields, as `entity_transactions`
does for the first ones: TxnDate (the company's today), CurrencyRef, line Ids, LineNums
and amounts (`entity_lines`), TotalAmt.

- **PurchaseOrder**: expense lines like a bill's, `APAccountRef` the company's A/P,
  `POStatus` "Open" (or "Closed" when sent, or when a bill links it: the server keeps that
  link, `books.SERVER_LINKS`), `EmailStatus` "NotSet". It posts nothing.
- **VendorCredit**: expense lines, `APAccountRef`, `Balance` = `TotalAmt` (the emulator
  applies no vendor credit in a bill payment, so all of it stays open).
- **RefundReceipt**: a sales form (DocNumber, lines, sub-total line) paid out of
  `DepositToAccountRef`; `Balance` 0.
- **Transfer**: `Amount` from `FromAccountRef` to `ToAccountRef`; the two differ and the
  amount is positive.
- **CreditCardPayment**: `Amount` from `BankAccountRef` to `CreditCardAccountRef`,
  positive.
- **TimeActivity**: `NameOf` "Employee" (with `EmployeeRef`) or "Vendor" (with
  `VendorRef`), and either `Hours`/`Minutes` or `StartTime` and `EndTime`;
  `BillableStatus` "NotBillable" unless sent ("Billable" needs a `CustomerRef`).

Where QBO's answer to a refused write is unrecorded, the code is 6000 (business rule),
2170 (a bad enumeration) or 2020 (a missing property), as for the first transactions.
"""

from __future__ import annotations

from typing import Final

from qbo_adapters.emulator.books import ref_value
from qbo_adapters.emulator.entity_coercion import text_of
from qbo_adapters.emulator.entity_faults import business, invalid_enum
from qbo_adapters.emulator.entity_lines import expense_lines
from qbo_adapters.emulator.entity_numbers import money, number_out, to_cents, to_decimal
from qbo_adapters.emulator.entity_refs import ref_to
from qbo_adapters.emulator.entity_spec import Lookup, Normalizer, Obj
from qbo_adapters.emulator.entity_transactions import (
    _client_links,
    _common,
    _sales_form,
    server_links,
)
from qbo_adapters.emulator.faults import required_param

__all__ = ["MORE_TRANSACTION_NORMALIZERS"]

_PO_STATUSES: Final = ("Open", "Closed")
_BILLABLE: Final = ("Billable", "NotBillable", "HasBeenBilled")


def _ap_account(out: Obj, lookup: Lookup) -> None:
    if "APAccountRef" not in out:
        account = lookup.default_account_id("ap")
        if account is not None:
            out["APAccountRef"] = ref_to(lookup, "Account", account)


def _purchase_order(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _common("PurchaseOrder", fields, lookup)
    lines, total = expense_lines(fields, previous)
    _ap_account(out, lookup)
    status = text_of(fields, "POStatus") or "Open"
    if status not in _PO_STATUSES:
        raise invalid_enum("POStatus", status)
    billed = server_links("PurchaseOrder", previous)
    out["POStatus"] = "Closed" if billed else status
    out["EmailStatus"] = text_of(fields, "EmailStatus") or "NotSet"
    out["Line"] = lines
    out["TotalAmt"] = money(total)
    links = _client_links("PurchaseOrder", fields) + billed
    if links:
        out["LinkedTxn"] = links
    else:
        out.pop("LinkedTxn", None)
    return out


def _vendor_credit(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _common("VendorCredit", fields, lookup)
    lines, total = expense_lines(fields, previous)
    _ap_account(out, lookup)
    out["Line"] = lines
    out["TotalAmt"] = money(total)
    out["Balance"] = money(total)
    return out


def _refund_receipt(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _sales_form("RefundReceipt", fields, previous, lookup)
    out["Balance"] = 0
    return out


def _positive_amount(fields: Obj) -> int:
    amount = fields.get("Amount")
    if amount is None:
        raise required_param("Amount")
    cents = to_cents(amount, "Amount")
    if cents <= 0:
        raise business("The amount must be greater than zero", element="Amount")
    return cents


def _transfer(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _common("Transfer", fields, lookup)
    if ref_value(fields, "FromAccountRef") == ref_value(fields, "ToAccountRef"):
        raise business(
            "A transfer moves money between two different accounts", element="ToAccountRef"
        )
    out["Amount"] = money(_positive_amount(fields))
    return out


def _credit_card_payment(
    fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup
) -> Obj:
    out = _common("CreditCardPayment", fields, lookup)
    out["Amount"] = money(_positive_amount(fields))
    out["PrintStatus"] = text_of(fields, "PrintStatus") or "NotSet"
    return out


def _whole(fields: Obj, key: str, most: int) -> int | None:
    value = fields.get(key)
    if value is None:
        return None
    number = to_decimal(value, key)
    if number != number.to_integral_value() or not 0 <= number <= most:
        raise business(f"{key} must be a whole number from 0 to {most}", element=key)
    return int(number)


def _time_activity(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = dict(fields)
    out["TxnDate"] = text_of(fields, "TxnDate") or lookup.today_text()
    name_of = fields.get("NameOf")
    if name_of not in ("Employee", "Vendor"):
        raise invalid_enum("NameOf", name_of)
    if f"{name_of}Ref" not in fields:
        raise required_param(f"{name_of}Ref")
    out.pop("VendorRef" if name_of == "Employee" else "EmployeeRef", None)
    hours = _whole(fields, "Hours", 24 * 366)
    minutes = _whole(fields, "Minutes", 59)
    timed = text_of(fields, "StartTime") is not None and text_of(fields, "EndTime") is not None
    if hours is None and minutes is None and not timed:
        raise required_param("Hours")
    if hours is not None or minutes is not None:
        out["Hours"] = hours or 0
        out["Minutes"] = minutes or 0
    status = text_of(fields, "BillableStatus") or "NotBillable"
    if status not in _BILLABLE:
        raise invalid_enum("BillableStatus", status)
    if status == "Billable" and "CustomerRef" not in fields:
        raise required_param("CustomerRef")
    out["BillableStatus"] = status
    out["Taxable"] = fields.get("Taxable") is True
    for key in ("HourlyRate", "CostRate"):
        if fields.get(key) is not None:
            out[key] = number_out(to_decimal(fields[key], key))
    return out


MORE_TRANSACTION_NORMALIZERS: Final[dict[str, Normalizer]] = {
    "PurchaseOrder": _purchase_order,
    "VendorCredit": _vendor_credit,
    "RefundReceipt": _refund_receipt,
    "Transfer": _transfer,
    "CreditCardPayment": _credit_card_payment,
    "TimeActivity": _time_activity,
}
