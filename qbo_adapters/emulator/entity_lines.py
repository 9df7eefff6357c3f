"""Transaction lines as the server stores them: Ids, LineNums, amounts and details.

`sales_lines` (sales forms: item, discount and description lines plus the computed
sub-total line), `expense_lines` (bills, purchases), `linked_lines` (payments, bill
payments), `deposit_lines` and `journal_lines` each check what QBO checks (6070 a line
Amount that is not Qty x UnitPrice, 6100 a US line tax code other than TAX/NON, unbalanced
journal entries; a line with an Amount and a 0 Qty and UnitPrice is unpriced, not a
6070) and return the lines with their totals in cents. A sent line Id is kept
when it is a free number; new lines count on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from qbo_adapters.emulator.books import PSEUDO_TAX_CODES, ref_value
from qbo_adapters.emulator.entity_faults import amount_mismatch, bad_value, business, invalid_enum
from qbo_adapters.emulator.entity_numbers import (
    MAX_QUANTITY,
    money,
    number_out,
    to_cents,
    to_decimal,
)
from qbo_adapters.emulator.entity_refs import ref_to
from qbo_adapters.emulator.entity_spec import Lookup, Obj
from qbo_adapters.emulator.faults import QBOFault, required_param

__all__ = ["deposit_lines", "expense_lines", "journal_lines", "linked_lines", "sales_lines"]


class _LineIds:
    """Line Ids: a sent Id is kept when it is a free number; new lines count on."""

    def __init__(self, previous: Iterable[Any], sent: Iterable[Any], start: int) -> None:
        numbers = [
            int(line["Id"])
            for group in (previous, sent)
            for line in group
            if isinstance(line, Mapping)
            and isinstance(line.get("Id"), str)
            and line["Id"].isdigit()
        ]
        self.next = max(numbers, default=start - 1) + 1
        self.used: set[str] = set()

    def take(self, sent: Any) -> str:
        if isinstance(sent, str) and sent.isdigit() and sent not in self.used:
            self.used.add(sent)
            return sent
        while str(self.next) in self.used:
            self.next += 1
        value = str(self.next)
        self.used.add(value)
        self.next += 1
        return value


def _lines(fields: Obj, previous: Obj | None) -> list[Obj]:
    lines = fields.get("Line")
    if lines is None:
        return []
    if not isinstance(lines, list):
        raise bad_value("Line", lines, "java.util.List")
    return lines


def _previous_lines(previous: Obj | None) -> list[Any]:
    if previous is None:
        return []
    lines = previous.get("Line")
    return lines if isinstance(lines, list) else []


def _detail_type(line: Obj, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    detail_type = line.get("DetailType")
    if detail_type is None:
        for candidate in allowed:
            if candidate in line:
                return candidate
        raise required_param("Line.DetailType")
    if detail_type not in allowed:
        raise invalid_enum("Line.DetailType", detail_type)
    return str(detail_type)


def _priced_amount(line: Obj, detail: Obj, label: str) -> int:
    """A line's amount in cents from Amount, Qty and UnitPrice, checked against each other.

    A line with an Amount whose Qty and UnitPrice are both 0 is unpriced: its Amount
    stands (no 6070). python-quickbooks sends `"Qty": 0, "UnitPrice": 0` for every line
    the caller did not price, and its integration suite, run against the QBO sandbox,
    creates an invoice that way and reads the line's Amount (100) back
    (ej2/python-quickbooks `tests/integration/test_invoice.py`). Any other mismatch is
    still 6070.
    """
    amount = line.get("Amount")
    qty = detail.get("Qty")
    price = detail.get("UnitPrice")
    if amount is not None and _is_zero(qty) and _is_zero(price):
        return to_cents(amount, "Amount")
    if amount is None:
        if qty is None or price is None:
            raise required_param(f"{label}.Amount")
        product = to_decimal(qty, "Qty", limit=MAX_QUANTITY) * to_decimal(
            price, "UnitPrice", limit=MAX_QUANTITY
        )
        return to_cents(product.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"), "Amount")
    cents = to_cents(amount, "Amount")
    if qty is not None and price is not None:
        expected = to_decimal(qty, "Qty", limit=MAX_QUANTITY) * to_decimal(
            price, "UnitPrice", limit=MAX_QUANTITY
        )
        if abs(expected * 100 - cents) > 1:
            raise amount_mismatch(amount)
    elif qty is not None and price is None:
        quantity = to_decimal(qty, "Qty", limit=MAX_QUANTITY)
        if quantity != 0:
            unit = (Decimal(cents) / 100 / quantity).quantize(Decimal("0.0000001"))
            detail["UnitPrice"] = number_out(unit.normalize())
    return cents


def _is_zero(value: Any) -> bool:
    """Whether a Qty or UnitPrice is a number equal to 0 (`0`, `0.0`, `"0.00"`)."""
    if value is None or isinstance(value, bool):
        return False
    try:
        return Decimal(str(value)) == 0
    except ArithmeticError:
        return False


def _amount(line: Obj, label: str) -> int:
    amount = line.get("Amount")
    if amount is None:
        raise required_param(f"{label}.Amount")
    return to_cents(amount, "Amount")


def _line_out(
    line: Obj, line_id: str | None, line_num: int | None, cents: int, detail_type: str | None
) -> Obj:
    out: Obj = {}
    if line_id is not None:
        out["Id"] = line_id
    if line_num is not None:
        out["LineNum"] = line_num
    if "Description" in line and line["Description"] is not None:
        out["Description"] = line["Description"]
    out["Amount"] = money(cents)
    if detail_type is not None:
        out["DetailType"] = detail_type
    for key, value in line.items():
        if (
            key not in out
            and key not in ("Id", "LineNum", "Amount", "DetailType")
            and value is not None
        ):
            out[key] = value
    return out


def _line_items(lines: list[Any]) -> list[Obj]:
    out = []
    for line in lines:
        if not isinstance(line, dict):
            raise bad_value("Line", line, "com.intuit.schema.finance.v3.Line")
        out.append(line)
    return out


def sales_lines(fields: Obj, previous: Obj | None, lookup: Lookup) -> tuple[list[Obj], int, int]:
    """A sales form's lines with Ids, LineNums, computed amounts and the sub-total line.

    Returns (lines, item total, discount), in cents.
    """
    sent = _line_items(_lines(fields, previous))
    ids = _LineIds(_previous_lines(previous), sent, 1)
    out: list[Obj] = []
    items = discount = 0
    number = 0
    allowed = (
        "SalesItemLineDetail",
        "SubTotalLineDetail",
        "DiscountLineDetail",
        "DescriptionOnly",
    )
    for line in sent:
        detail_type = _detail_type(line, allowed)
        if detail_type == "SubTotalLineDetail":
            continue
        number += 1
        if detail_type == "SalesItemLineDetail":
            detail = dict(line.get(detail_type) or {})
            if "ItemRef" not in detail:
                item_id = lookup.default_item_id()
                if item_id is None:
                    raise required_param("ItemRef")
                detail["ItemRef"] = ref_to(lookup, "Item", item_id)
            detail.setdefault("TaxCodeRef", {"value": "NON"})
            tax_code = ref_value(detail, "TaxCodeRef")
            if tax_code not in PSEUDO_TAX_CODES:
                raise QBOFault.single(
                    "6100",
                    "Invalid Line TaxCode in the request",
                    "Valid Line TaxCodes for US should be TAX or NON. Supplied value:"
                    f"{tax_code!s:.40}",
                    element="Line.TaxCodeRef",
                )
            cents = _priced_amount(line, detail, "Line")
            items += cents
            out.append(
                _line_out(
                    {**line, detail_type: detail},
                    ids.take(line.get("Id")),
                    number,
                    cents,
                    detail_type,
                )
            )
        elif detail_type == "DiscountLineDetail":
            detail = dict(line.get(detail_type) or {})
            percent = detail.get("DiscountPercent")
            if detail.get("PercentBased") is True:
                if percent is None:
                    raise QBOFault.single(
                        "6090",
                        "Discount Line missing required info.",
                        "Discount amount or percent should be provided.",
                        element="Line.DiscountLineDetail",
                    )
                rate = to_decimal(percent, "DiscountPercent", limit=Decimal(100))
                cents = int(
                    (Decimal(items) * rate / 100).quantize(Decimal(1), rounding="ROUND_HALF_UP")
                )
            else:
                cents = _amount(line, "Line")
            if "DiscountAccountRef" not in detail:
                account = lookup.default_account_id("discount")
                if account is None:
                    raise required_param("DiscountAccountRef")
                detail["DiscountAccountRef"] = ref_to(lookup, "Account", account)
            discount += cents
            out.append(
                _line_out(
                    {**line, detail_type: detail},
                    ids.take(line.get("Id")),
                    number,
                    cents,
                    detail_type,
                )
            )
        else:
            line_out = _line_out(line, ids.take(line.get("Id")), number, 0, detail_type)
            line_out.pop("Amount", None)
            out.append(line_out)
    if not any(line.get("DetailType") == "SalesItemLineDetail" for line in out):
        raise required_param("Line")
    out.append(
        {"Amount": money(items), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
    )
    return out, items, discount


def expense_lines(fields: Obj, previous: Obj | None) -> tuple[list[Obj], int]:
    """A bill's or purchase's lines, with their total in cents."""
    sent = _line_items(_lines(fields, previous))
    if not sent:
        raise required_param("Line")
    ids = _LineIds(_previous_lines(previous), sent, 1)
    out: list[Obj] = []
    total = 0
    allowed = ("AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail")
    for number, line in enumerate(sent, start=1):
        detail_type = _detail_type(line, allowed)
        detail = dict(line.get(detail_type) or {})
        if detail_type == "AccountBasedExpenseLineDetail":
            if "AccountRef" not in detail:
                raise required_param("AccountRef")
            cents = _amount(line, "Line")
        else:
            if "ItemRef" not in detail:
                raise required_param("ItemRef")
            cents = _priced_amount(line, detail, "Line")
        detail.setdefault("BillableStatus", "NotBillable")
        detail.setdefault("TaxCodeRef", {"value": "NON"})
        total += cents
        out.append(
            _line_out(
                {**line, detail_type: detail}, ids.take(line.get("Id")), number, cents, detail_type
            )
        )
    return out, total


def linked_lines(fields: Obj, allowed_types: Iterable[str]) -> tuple[list[Obj], dict[str, int]]:
    """Payment or bill-payment lines: each links one document. Totals per TxnType, in cents."""
    allowed = frozenset(allowed_types)
    out: list[Obj] = []
    totals: dict[str, int] = {}
    for line in _line_items(_lines(fields, None)):
        links = line.get("LinkedTxn")
        if not isinstance(links, list) or not links:
            raise required_param("Line.LinkedTxn")
        txn_type = links[0].get("TxnType")
        if txn_type not in allowed or not links[0].get("TxnId"):
            raise business(
                f"A payment line must link one of {', '.join(sorted(allowed))}",
                element="Line.LinkedTxn",
            )
        cents = _amount(line, "Line")
        if cents < 0:
            raise business("A payment line amount cannot be negative", element="Line.Amount")
        totals[str(txn_type)] = totals.get(str(txn_type), 0) + cents
        out.append(_line_out({**line, "LinkedTxn": [links[0]]}, None, None, cents, None))
    return out, totals


def deposit_lines(fields: Obj, previous: Obj | None) -> tuple[list[Obj], int]:
    """A deposit's lines (linked payments and receipts, or other funds), total in cents."""
    sent = _line_items(_lines(fields, previous))
    if not sent:
        raise required_param("Line")
    ids = _LineIds(_previous_lines(previous), sent, 1)
    out: list[Obj] = []
    total = 0
    for number, line in enumerate(sent, start=1):
        cents = _amount(line, "Line")
        links = line.get("LinkedTxn")
        if isinstance(links, list) and links:
            link = dict(links[0])
            if link.get("TxnType") not in ("Payment", "SalesReceipt") or not link.get("TxnId"):
                raise business(
                    "A deposit line links a Payment or SalesReceipt", element="Line.LinkedTxn"
                )
            link.setdefault("TxnLineId", "0")
            out.append(
                _line_out(
                    {**line, "LinkedTxn": [link]}, ids.take(line.get("Id")), number, cents, None
                )
            )
        else:
            detail = line.get("DepositLineDetail")
            if not isinstance(detail, dict) or "AccountRef" not in detail:
                raise required_param("DepositLineDetail.AccountRef")
            line.pop("LinkedTxn", None)
            out.append(
                _line_out(line, ids.take(line.get("Id")), number, cents, "DepositLineDetail")
            )
        total += cents
    return out, total


def journal_lines(fields: Obj, previous: Obj | None) -> tuple[list[Obj], int]:
    """A journal entry's lines (Ids from 0, as QBO numbers them), total debits in cents."""
    sent = _line_items(_lines(fields, previous))
    if not sent:
        raise required_param("Line")
    ids = _LineIds(_previous_lines(previous), sent, 0)
    out: list[Obj] = []
    debit = credit = 0
    for line in sent:
        detail_type = _detail_type(line, ("JournalEntryLineDetail",))
        detail = line.get(detail_type)
        if not isinstance(detail, dict) or "AccountRef" not in detail:
            raise required_param("JournalEntryLineDetail.AccountRef")
        posting = detail.get("PostingType")
        if posting not in ("Debit", "Credit"):
            raise required_param("JournalEntryLineDetail.PostingType")
        cents = _amount(line, "Line")
        if cents < 0:
            raise business("A journal line amount cannot be negative", element="Line.Amount")
        if posting == "Debit":
            debit += cents
        else:
            credit += cents
        out.append(_line_out(line, ids.take(line.get("Id")), None, cents, detail_type))
    if debit != credit:
        raise business(
            "You must balance debits and credits "
            f"(debits {money(debit):.2f}, credits {money(credit):.2f})",
            element="Line",
        )
    return out, debit
