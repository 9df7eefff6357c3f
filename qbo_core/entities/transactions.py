"""Transaction entities: Invoice, SalesReceipt, Payment, Bill, BillPayment, JournalEntry."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar, final

import attrs

from qbo_core.entities.base import EntityBase, EntityPart
from qbo_core.entities.lines import Line, TxnTaxDetail
from qbo_core.entities.parts import CustomField, EmailAddress, LinkedTxn, PhysicalAddress, Ref

__all__ = [
    "Bill",
    "BillPayment",
    "BillPaymentCheck",
    "BillPaymentCreditCard",
    "Invoice",
    "JournalEntry",
    "Payment",
    "SalesReceipt",
    "TransactionBase",
]


@attrs.frozen(kw_only=True, repr=False)
class TransactionBase(EntityBase):
    """The fields transactions share. `total_amt` is in the transaction's currency."""

    _REPR_FIELDS: ClassVar[tuple[str, ...]] = ("id", "doc_number", "txn_date", "total_amt")

    doc_number: str | None = None
    txn_date: date | None = None
    currency_ref: Ref | None = None
    exchange_rate: Decimal | None = None
    department_ref: Ref | None = None
    private_note: str | None = None
    linked_txn: tuple[LinkedTxn, ...] | None = None
    line: tuple[Line, ...] | None = None
    total_amt: Decimal | None = None


@attrs.frozen(kw_only=True, repr=False)
class _SalesForm(TransactionBase):
    customer_ref: Ref | None = None
    customer_memo: Ref | None = None
    custom_field: tuple[CustomField, ...] | None = None
    class_ref: Ref | None = None
    bill_addr: PhysicalAddress | None = None
    ship_addr: PhysicalAddress | None = None
    ship_from_addr: PhysicalAddress | None = None
    bill_email: EmailAddress | None = None
    bill_email_cc: EmailAddress | None = None
    bill_email_bcc: EmailAddress | None = None
    sales_term_ref: Ref | None = None
    ship_method_ref: Ref | None = None
    ship_date: date | None = None
    tracking_num: str | None = None
    txn_tax_detail: TxnTaxDetail | None = None
    apply_tax_after_discount: bool | None = None
    global_tax_calculation: str | None = None
    print_status: str | None = None
    email_status: str | None = None
    balance: Decimal | None = None
    home_total_amt: Decimal | None = None
    deposit_to_account_ref: Ref | None = None


@final
@attrs.frozen(kw_only=True, repr=False)
class Invoice(_SalesForm):
    """A bill to a customer, paid later by `Payment`s (see `balance`, `due_date`)."""

    ENTITY_TYPE: ClassVar[str] = "Invoice"

    due_date: date | None = None
    deposit: Decimal | None = None
    home_balance: Decimal | None = None


@final
@attrs.frozen(kw_only=True, repr=False)
class SalesReceipt(_SalesForm):
    """A sale paid on the spot."""

    ENTITY_TYPE: ClassVar[str] = "SalesReceipt"

    payment_method_ref: Ref | None = None
    payment_ref_num: str | None = None


@final
@attrs.frozen(kw_only=True, repr=False)
class Payment(TransactionBase):
    """Money received from a customer; its `LinkedTxnLine`s say which invoices it pays."""

    ENTITY_TYPE: ClassVar[str] = "Payment"
    _REPR_FIELDS: ClassVar[tuple[str, ...]] = ("id", "txn_date", "total_amt")

    customer_ref: Ref | None = None
    deposit_to_account_ref: Ref | None = None
    ar_account_ref: Ref | None = None
    payment_method_ref: Ref | None = None
    payment_ref_num: str | None = None
    unapplied_amt: Decimal | None = None
    process_payment: bool | None = None


@final
@attrs.frozen(kw_only=True, repr=False)
class Bill(TransactionBase):
    """A vendor's bill, paid later by `BillPayment`s (see `balance`, `due_date`)."""

    ENTITY_TYPE: ClassVar[str] = "Bill"

    vendor_ref: Ref | None = None
    ap_account_ref: Ref | None = None
    sales_term_ref: Ref | None = None
    due_date: date | None = None
    balance: Decimal | None = None
    vendor_addr: PhysicalAddress | None = None
    txn_tax_detail: TxnTaxDetail | None = None


@attrs.frozen(kw_only=True, repr=False)
class BillPaymentCheck(EntityPart):
    """How a bill payment by check was made."""

    bank_account_ref: Ref | None = None
    print_status: str | None = None
    payee_addr: PhysicalAddress | None = None


@attrs.frozen(kw_only=True, repr=False)
class BillPaymentCreditCard(EntityPart):
    """How a bill payment by credit card was made."""

    cc_account_ref: Ref | None = None


@final
@attrs.frozen(kw_only=True, repr=False)
class BillPayment(TransactionBase):
    """Money paid to a vendor (`pay_type` "Check" or "CreditCard") against bills."""

    ENTITY_TYPE: ClassVar[str] = "BillPayment"

    vendor_ref: Ref | None = None
    ap_account_ref: Ref | None = None
    pay_type: str | None = None
    check_payment: BillPaymentCheck | None = None
    credit_card_payment: BillPaymentCreditCard | None = None


@final
@attrs.frozen(kw_only=True, repr=False)
class JournalEntry(TransactionBase):
    """Debits and credits posted directly to accounts; the lines balance."""

    ENTITY_TYPE: ClassVar[str] = "JournalEntry"
    _REPR_FIELDS: ClassVar[tuple[str, ...]] = ("id", "doc_number", "txn_date")

    adjustment: bool | None = None
    txn_tax_detail: TxnTaxDetail | None = None
