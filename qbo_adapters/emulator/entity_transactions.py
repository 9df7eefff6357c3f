"""What the server stores for a transaction write, and what a void leaves.

Each normalizer fills the server's defaults and computed fields: a DocNumber (sales
forms), TxnDate (the company's today), CurrencyRef, line Ids/LineNums/amounts and the
sub-total line (`entity_lines`), TotalAmt, Balance (less what payments applied), DueDate
from terms, TxnTaxDetail and LinkedTxn (`create/invoice.json`), and the fields QBO adds
that carry no bookkeeping (`entity_extras`: FreeFormAddress, ShipFromAddr, ItemAccountRef,
VendorAddr, PurchaseEx; a bill payment gets no APAccountRef); links the server keeps
(`books.SERVER_LINKS`: payments on an invoice...) survive whatever the client sends.
`voided` is what a void leaves (`void/invoice.json`).
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Final

from qbo_adapters.emulator.books import SALES_FORMS, SERVER_LINKS, ref_value
from qbo_adapters.emulator.entity_coercion import text_of
from qbo_adapters.emulator.entity_extras import (
    SALES_DECORATED,
    free_form_address,
    purchase_ex,
    ship_from_address,
    with_account_ref,
)
from qbo_adapters.emulator.entity_faults import business, invalid_enum
from qbo_adapters.emulator.entity_lines import (
    deposit_lines,
    expense_lines,
    journal_lines,
    linked_lines,
    sales_lines,
)
from qbo_adapters.emulator.entity_name_lists import MAX_TERM_DAYS
from qbo_adapters.emulator.entity_numbers import money, to_cents
from qbo_adapters.emulator.entity_refs import ref_to
from qbo_adapters.emulator.entity_spec import Lookup, Normalizer, Obj
from qbo_adapters.emulator.faults import required_param

__all__ = ["TRANSACTION_NORMALIZERS", "applied_cents", "server_links", "voided"]


def _common(entity: str, fields: Obj, lookup: Lookup) -> Obj:
    out = dict(fields)
    out["TxnDate"] = text_of(fields, "TxnDate") or lookup.today_text()
    out["CurrencyRef"] = fields.get("CurrencyRef") or lookup.home_currency()
    if entity in SALES_FORMS and text_of(fields, "DocNumber") is None:
        out["DocNumber"] = lookup.next_doc_number(entity)
    doc = out.get("DocNumber")
    if isinstance(doc, str) and len(doc) > 21:
        raise business("DocNumber is longer than 21 characters", element="DocNumber")
    return out


def _client_links(entity: str, fields: Obj) -> list[Obj]:
    server = SERVER_LINKS.get(entity, frozenset())
    links = fields.get("LinkedTxn")
    if not isinstance(links, list):
        return []
    kept = []
    for link in links:
        if isinstance(link, dict) and link.get("TxnType") not in server:
            kept.append(link)
    return kept


def server_links(entity: str, obj: Obj | None) -> list[Obj]:
    """The links on `obj` that the server maintains (payments on an invoice...)."""
    server = SERVER_LINKS.get(entity, frozenset())
    if obj is None or not server:
        return []
    links = obj.get("LinkedTxn")
    if not isinstance(links, list):
        return []
    return [link for link in links if isinstance(link, dict) and link.get("TxnType") in server]


def applied_cents(previous: Obj | None) -> int:
    """How much payments have applied to a document: its TotalAmt less its Balance."""
    if previous is None:
        return 0
    return to_cents(previous.get("TotalAmt", 0) or 0, "TotalAmt") - to_cents(
        previous.get("Balance", 0) or 0, "Balance"
    )


def _due_date(fields: Obj, txn_date: str, term_id: str | None, lookup: Lookup) -> str:
    due = text_of(fields, "DueDate")
    if due is not None:
        if due < txn_date:
            raise business("The due date cannot be before the transaction date", element="DueDate")
        return due
    term = lookup.get("Term", term_id) if term_id is not None else None
    days = term.get("DueDays") if term is not None else 0
    if not isinstance(days, int) or not 0 <= days <= MAX_TERM_DAYS:
        days = 0
    start = date.fromisoformat(txn_date)
    try:
        return (start + timedelta(days=days)).isoformat()
    except OverflowError:
        return txn_date


def _custom_fields(fields: Obj, lookup: Lookup) -> list[Obj]:
    definitions = lookup.sales_custom_fields()
    sent = fields.get("CustomField")
    if not isinstance(sent, list):
        return [dict(item) for item in definitions]
    names = {item.get("DefinitionId"): item for item in definitions}
    out = []
    for item in sent:
        if not isinstance(item, dict):
            continue
        known = names.get(item.get("DefinitionId"))
        out.append({**(known or {}), **item})
    return out


def _sales_form(entity: str, fields: Obj, previous: Obj | None, lookup: Lookup) -> Obj:
    out = _common(entity, fields, lookup)
    lines, items, discount = sales_lines(fields, previous, lookup)
    tax_detail = fields.get("TxnTaxDetail")
    tax_detail = dict(tax_detail) if isinstance(tax_detail, dict) else {}
    tax = to_cents(tax_detail.get("TotalTax", 0) or 0, "TotalTax")
    total = items - discount + tax
    if total < 0:
        raise business("The transaction total cannot be negative", element="TotalAmt")
    tax_detail["TotalTax"] = money(tax)
    customer_id = ref_value(fields, "CustomerRef")
    customer = lookup.get("Customer", customer_id) if customer_id else None
    if customer is not None:
        for key in ("BillAddr", "ShipAddr"):
            if key not in out and isinstance(customer.get(key), dict):
                out[key] = dict(customer[key])
    out["CustomField"] = _custom_fields(fields, lookup)
    if entity in SALES_DECORATED:
        lines = _decorated_lines(lines, lookup)
        sent = fields.get("FreeFormAddress")
        out["FreeFormAddress"] = (
            sent if isinstance(sent, bool) else free_form_address(out.get("ShipAddr"))
        )
        if entity != "Invoice" and "ShipFromAddr" not in out:
            ship_from = _ship_from(previous, lookup)
            if ship_from is not None:
                out["ShipFromAddr"] = ship_from
    out["Line"] = lines
    out["TxnTaxDetail"] = tax_detail
    out["TotalAmt"] = money(total)
    out["ApplyTaxAfterDiscount"] = fields.get("ApplyTaxAfterDiscount") is True
    out["PrintStatus"] = text_of(fields, "PrintStatus") or "NeedToPrint"
    out["EmailStatus"] = text_of(fields, "EmailStatus") or "NotSet"
    links = _client_links(entity, fields) + server_links(entity, previous)
    if links or entity == "Invoice":
        out["LinkedTxn"] = links
    else:
        out.pop("LinkedTxn", None)
    if entity in ("Invoice", "CreditMemo"):
        balance = total - applied_cents(previous)
        if balance < 0:
            raise business(
                "Payments applied to this transaction exceed its new total", element="TotalAmt"
            )
        out["Balance"] = money(balance)
        if entity == "CreditMemo":
            out["RemainingCredit"] = money(balance)
    return out


def _decorated_lines(lines: list[Obj], lookup: Lookup) -> list[Obj]:
    """Item lines with `ItemAccountRef` (the item's income account) and `CustomExtensions`."""
    out = []
    for line in lines:
        detail = line.get("SalesItemLineDetail")
        if line.get("DetailType") != "SalesItemLineDetail" or not isinstance(detail, dict):
            out.append(line)
            continue
        item = lookup.get("Item", ref_value(detail, "ItemRef") or "")
        account = item.get("IncomeAccountRef") if item is not None else None
        extensions = line.get("CustomExtensions")
        out.append(
            {
                **line,
                "SalesItemLineDetail": with_account_ref(detail, account),
                "CustomExtensions": extensions if isinstance(extensions, list) else [],
            }
        )
    return out


def _ship_from(previous: Obj | None, lookup: Lookup) -> Obj | None:
    """The ShipFromAddr a new estimate or credit memo gets: the company's address."""
    kept = (previous or {}).get("ShipFromAddr")
    if isinstance(kept, dict):
        return dict(kept)
    company = lookup.company_info
    addr = company.get("CompanyAddr")
    addr_id = str(addr.get("Id", "1")) if isinstance(addr, dict) else "1"
    return ship_from_address(addr, addr_id)


def _invoice(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _sales_form("Invoice", fields, previous, lookup)
    for key in (
        "AllowIPNPayment",
        "AllowOnlinePayment",
        "AllowOnlineCreditCardPayment",
        "AllowOnlineACHPayment",
    ):
        out[key] = fields.get(key) is True
    term = ref_value(fields, "SalesTermRef")
    if term is None:
        customer = lookup.get("Customer", ref_value(fields, "CustomerRef") or "")
        term = ref_value(customer, "SalesTermRef") or lookup.default_term_id("sales")
    out["DueDate"] = _due_date(fields, out["TxnDate"], term, lookup)
    return out


def _sales_receipt(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _sales_form("SalesReceipt", fields, previous, lookup)
    out["Balance"] = 0
    if "DepositToAccountRef" not in out:
        account = lookup.default_account_id("uf")
        if account is not None:
            out["DepositToAccountRef"] = ref_to(lookup, "Account", account)
    return out


def _estimate(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _sales_form("Estimate", fields, previous, lookup)
    if server_links("Estimate", previous):
        out["TxnStatus"] = "Closed"
    else:
        status = text_of(fields, "TxnStatus") or "Pending"
        out["TxnStatus"] = "Pending" if status == "Closed" else status
    return out


def _credit_memo(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    return _sales_form("CreditMemo", fields, previous, lookup)


def _bill(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _common("Bill", fields, lookup)
    lines, total = expense_lines(fields, previous)
    if "APAccountRef" not in out:
        account = lookup.default_account_id("ap")
        if account is not None:
            out["APAccountRef"] = ref_to(lookup, "Account", account)
    term = ref_value(fields, "SalesTermRef")
    if term is None:
        vendor = lookup.get("Vendor", ref_value(fields, "VendorRef") or "")
        term = ref_value(vendor, "TermRef") or lookup.default_term_id("purchases")
    out["DueDate"] = _due_date(fields, out["TxnDate"], term, lookup)
    if "VendorAddr" not in out:
        vendor = lookup.get("Vendor", ref_value(fields, "VendorRef") or "")
        if vendor is not None and isinstance(vendor.get("BillAddr"), dict):
            out["VendorAddr"] = dict(vendor["BillAddr"])
    out["Line"] = lines
    out["TotalAmt"] = money(total)
    balance = total - applied_cents(previous)
    if balance < 0:
        raise business("Bill payments applied exceed the new total", element="TotalAmt")
    out["Balance"] = money(balance)
    out["LinkedTxn"] = _client_links("Bill", fields) + server_links("Bill", previous)
    return out


def _payment(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _common("Payment", fields, lookup)
    total = to_cents(fields.get("TotalAmt"), "TotalAmt")
    if total < 0:
        raise business("The payment amount cannot be negative", element="TotalAmt")
    lines, totals = linked_lines(fields, ("Invoice", "CreditMemo"))
    unapplied = total - totals.get("Invoice", 0) + totals.get("CreditMemo", 0)
    if unapplied < 0:
        raise business("The amounts applied exceed the payment amount", element="Line.Amount")
    if "DepositToAccountRef" not in out:
        account = lookup.default_account_id("uf")
        if account is not None:
            out["DepositToAccountRef"] = ref_to(lookup, "Account", account)
    out["TotalAmt"] = money(total)
    out["UnappliedAmt"] = money(unapplied)
    out["ProcessPayment"] = fields.get("ProcessPayment") is True
    out["Line"] = lines
    return out


def _bill_payment(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _common("BillPayment", fields, lookup)
    pay_type = fields.get("PayType")
    if pay_type == "Check":
        holder, key = "CheckPayment", "BankAccountRef"
    elif pay_type == "CreditCard":
        holder, key = "CreditCardPayment", "CCAccountRef"
    else:
        raise invalid_enum("PayType", pay_type)
    detail = fields.get(holder)
    if not isinstance(detail, dict) or key not in detail:
        raise required_param(f"{holder}.{key}")
    total = to_cents(fields.get("TotalAmt"), "TotalAmt")
    lines, totals = linked_lines(fields, ("Bill",))
    if not lines:
        raise required_param("Line")
    if totals.get("Bill", 0) != total:
        raise business(
            "The bill payment amount must equal the amounts applied to bills",
            element="TotalAmt",
        )
    out.pop("CheckPayment" if pay_type == "CreditCard" else "CreditCardPayment", None)
    out["TotalAmt"] = money(total)
    out["Line"] = lines
    return out


def _purchase(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _common("Purchase", fields, lookup)
    if fields.get("PaymentType") not in ("Cash", "Check", "CreditCard"):
        raise invalid_enum("PaymentType", fields.get("PaymentType"))
    lines, total = expense_lines(fields, previous)
    for line in lines:
        line.pop("LineNum", None)  # QBO numbers a purchase's lines by Id only
    out["Line"] = lines
    out["TotalAmt"] = money(total)
    out["PurchaseEx"] = purchase_ex(fields.get("PaymentType"), fields.get("Credit"))
    return out


def _deposit(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _common("Deposit", fields, lookup)
    target = ref_value(fields, "DepositToAccountRef")
    if target is not None and target == lookup.default_account_id("uf"):
        raise business("You cannot deposit into Undeposited Funds", element="DepositToAccountRef")
    lines, total = deposit_lines(fields, previous)
    out["Line"] = lines
    out["TotalAmt"] = money(total)
    out["TxnTaxDetail"] = _tax_detail(fields)
    return out


def _tax_detail(fields: Obj) -> Obj:
    """A journal entry's or deposit's TxnTaxDetail: what was sent, else `{}` as QBO answers."""
    sent = fields.get("TxnTaxDetail")
    return dict(sent) if isinstance(sent, dict) else {}


def _journal_entry(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _common("JournalEntry", fields, lookup)
    lines, total = journal_lines(fields, previous)
    out["Adjustment"] = fields.get("Adjustment") is True
    out["Line"] = lines
    out["TotalAmt"] = money(total)
    out["TxnTaxDetail"] = _tax_detail(fields)
    return out


TRANSACTION_NORMALIZERS: Final[dict[str, Normalizer]] = {
    "Invoice": _invoice,
    "SalesReceipt": _sales_receipt,
    "Estimate": _estimate,
    "CreditMemo": _credit_memo,
    "Bill": _bill,
    "Payment": _payment,
    "BillPayment": _bill_payment,
    "Purchase": _purchase,
    "Deposit": _deposit,
    "JournalEntry": _journal_entry,
}


def voided(entity: str, obj: Obj) -> Obj:
    """`obj` voided as QBO voids: amounts zeroed (quantities too, so lines still add up),
    TotalAmt and Balance 0, PrivateNote "Voided" (`void/invoice.json`)."""
    out = copy.deepcopy(obj)
    for line in out.get("Line") or ():
        if not isinstance(line, dict):
            continue
        if "Amount" in line:
            line["Amount"] = 0
        detail = line.get(str(line.get("DetailType")))
        if isinstance(detail, dict) and "Qty" in detail:
            detail["Qty"] = 0
    out["TotalAmt"] = 0
    if "Balance" in out or entity in ("Invoice", "SalesReceipt"):
        out["Balance"] = 0
    tax = out.get("TxnTaxDetail")
    if isinstance(tax, dict):
        tax["TotalTax"] = 0
    if entity == "Payment":
        out["UnappliedAmt"] = 0
    out["PrivateNote"] = "Voided"
    return out
