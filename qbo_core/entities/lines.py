"""Transaction lines, one class per `DetailType`, and their detail objects.

A line's class says its `DetailType`; its `detail` holds the object QBO keys by the detail
type (`SalesItemLineDetail`, ...; a `DescriptionOnly` line's is `DescriptionLineDetail`).
Payment, bill-payment and linked deposit lines carry no `DetailType`: they are
`LinkedTxnLine`s. A line whose `DetailType` this package does not know is a `RawLine`,
kept as its JSON object.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, TypeAlias

import attrs

from qbo_core.entities.base import EntityPart, freeze_json
from qbo_core.entities.parts import LinkedTxn, Ref

__all__ = [
    "AccountBasedExpenseLine",
    "AccountBasedExpenseLineDetail",
    "DepositLine",
    "DepositLineDetail",
    "DescriptionLineDetail",
    "DescriptionOnlyLine",
    "DiscountLine",
    "DiscountLineDetail",
    "GroupLine",
    "GroupLineDetail",
    "ItemBasedExpenseLine",
    "ItemBasedExpenseLineDetail",
    "JournalEntryEntity",
    "JournalEntryLine",
    "JournalEntryLineDetail",
    "Line",
    "LineBase",
    "LinkedTxnLine",
    "RawLine",
    "SalesItemLine",
    "SalesItemLineDetail",
    "SubTotalLine",
    "SubTotalLineDetail",
    "TaxLine",
    "TaxLineDetail",
    "TxnTaxDetail",
]


# --------------------------------------------------------------------- details


@attrs.frozen(kw_only=True, repr=False)
class SalesItemLineDetail(EntityPart):
    """What was sold on a sales line: the item, its price, quantity and tax code."""

    item_ref: Ref | None = None
    class_ref: Ref | None = None
    unit_price: Decimal | None = None
    qty: Decimal | None = None
    item_account_ref: Ref | None = None
    tax_code_ref: Ref | None = None
    service_date: date | None = None
    discount_rate: Decimal | None = None
    discount_amt: Decimal | None = None
    tax_inclusive_amt: Decimal | None = None


@attrs.frozen(kw_only=True, repr=False)
class SubTotalLineDetail(EntityPart):
    """A subtotal line's detail; QBO usually sends it empty."""

    item_ref: Ref | None = None


@attrs.frozen(kw_only=True, repr=False)
class DiscountLineDetail(EntityPart):
    """A discount: a percentage (`percent_based`) or a fixed amount, and where it posts."""

    percent_based: bool | None = None
    discount_percent: Decimal | None = None
    discount_account_ref: Ref | None = None
    class_ref: Ref | None = None
    tax_code_ref: Ref | None = None


@attrs.frozen(kw_only=True, repr=False)
class DescriptionLineDetail(EntityPart):
    """A text-only line's detail."""

    service_date: date | None = None
    tax_code_ref: Ref | None = None


@attrs.frozen(kw_only=True, repr=False)
class AccountBasedExpenseLineDetail(EntityPart):
    """An expense posted straight to an account, optionally billable to a customer."""

    account_ref: Ref | None = None
    class_ref: Ref | None = None
    customer_ref: Ref | None = None
    billable_status: str | None = None
    tax_code_ref: Ref | None = None
    tax_amount: Decimal | None = None


@attrs.frozen(kw_only=True, repr=False)
class ItemBasedExpenseLineDetail(EntityPart):
    """An expense for an item bought: price, quantity, optionally billable to a customer."""

    item_ref: Ref | None = None
    class_ref: Ref | None = None
    customer_ref: Ref | None = None
    unit_price: Decimal | None = None
    qty: Decimal | None = None
    billable_status: str | None = None
    tax_code_ref: Ref | None = None


@attrs.frozen(kw_only=True, repr=False)
class JournalEntryEntity(EntityPart):
    """The customer, vendor or employee a journal-entry line is about."""

    type: str | None = None
    entity_ref: Ref | None = None


@attrs.frozen(kw_only=True, repr=False)
class JournalEntryLineDetail(EntityPart):
    """One side of a journal entry: `posting_type` is `"Debit"` or `"Credit"`."""

    posting_type: str | None = None
    account_ref: Ref | None = None
    entity: JournalEntryEntity | None = None
    class_ref: Ref | None = None
    department_ref: Ref | None = None
    tax_code_ref: Ref | None = None
    tax_applicable_on: str | None = None
    tax_amount: Decimal | None = None
    billable_status: str | None = None


@attrs.frozen(kw_only=True, repr=False)
class DepositLineDetail(EntityPart):
    """Money deposited that was not a linked payment: from whom, into which account."""

    entity: Ref | None = None
    class_ref: Ref | None = None
    account_ref: Ref | None = None
    payment_method_ref: Ref | None = None
    check_num: str | None = None
    txn_type: str | None = None


@attrs.frozen(kw_only=True, repr=False)
class TaxLineDetail(EntityPart):
    """One tax rate's share of a transaction's tax (`TxnTaxDetail.TaxLine`)."""

    tax_rate_ref: Ref | None = None
    percent_based: bool | None = None
    tax_percent: Decimal | None = None
    net_amount_taxable: Decimal | None = None
    tax_inclusive_amount: Decimal | None = None
    override_delta_amount: Decimal | None = None


# --------------------------------------------------------------------- lines


@attrs.frozen(kw_only=True, repr=False)
class LineBase(EntityPart):
    """The fields every typed line has."""

    #: The line's `DetailType` (`None` for `LinkedTxnLine`, which has none).
    DETAIL_TYPE: ClassVar[str | None] = None
    _REPR_FIELDS: ClassVar[tuple[str, ...]] = ("id", "amount", "description", "detail")

    id: str | None = None
    line_num: int | None = None
    description: str | None = None
    amount: Decimal | None = None
    linked_txn: tuple[LinkedTxn, ...] | None = None


@attrs.frozen(kw_only=True, repr=False)
class SalesItemLine(LineBase):
    """A line selling an item (`DetailType: SalesItemLineDetail`)."""

    DETAIL_TYPE: ClassVar[str | None] = "SalesItemLineDetail"

    detail: SalesItemLineDetail | None = None


@attrs.frozen(kw_only=True, repr=False)
class SubTotalLine(LineBase):
    """The subtotal QBO adds to sales forms (`DetailType: SubTotalLineDetail`)."""

    DETAIL_TYPE: ClassVar[str | None] = "SubTotalLineDetail"

    detail: SubTotalLineDetail | None = None


@attrs.frozen(kw_only=True, repr=False)
class DiscountLine(LineBase):
    """A discount on a sales form (`DetailType: DiscountLineDetail`)."""

    DETAIL_TYPE: ClassVar[str | None] = "DiscountLineDetail"

    detail: DiscountLineDetail | None = None


@attrs.frozen(kw_only=True, repr=False)
class DescriptionOnlyLine(LineBase):
    """A line of text (`DetailType: DescriptionOnly`, detail key `DescriptionLineDetail`)."""

    DETAIL_TYPE: ClassVar[str | None] = "DescriptionOnly"

    detail: DescriptionLineDetail | None = None


@attrs.frozen(kw_only=True, repr=False)
class AccountBasedExpenseLine(LineBase):
    """An expense line of a bill or purchase (`DetailType: AccountBasedExpenseLineDetail`)."""

    DETAIL_TYPE: ClassVar[str | None] = "AccountBasedExpenseLineDetail"

    detail: AccountBasedExpenseLineDetail | None = None


@attrs.frozen(kw_only=True, repr=False)
class ItemBasedExpenseLine(LineBase):
    """An item line of a bill or purchase (`DetailType: ItemBasedExpenseLineDetail`)."""

    DETAIL_TYPE: ClassVar[str | None] = "ItemBasedExpenseLineDetail"

    detail: ItemBasedExpenseLineDetail | None = None


@attrs.frozen(kw_only=True, repr=False)
class JournalEntryLine(LineBase):
    """One debit or credit of a journal entry (`DetailType: JournalEntryLineDetail`)."""

    DETAIL_TYPE: ClassVar[str | None] = "JournalEntryLineDetail"

    detail: JournalEntryLineDetail | None = None


@attrs.frozen(kw_only=True, repr=False)
class DepositLine(LineBase):
    """A deposit line that is not a linked payment (`DetailType: DepositLineDetail`)."""

    DETAIL_TYPE: ClassVar[str | None] = "DepositLineDetail"

    detail: DepositLineDetail | None = None


@attrs.frozen(kw_only=True, repr=False)
class TaxLine(LineBase):
    """One tax rate's line in `TxnTaxDetail.TaxLine` (`DetailType: TaxLineDetail`)."""

    DETAIL_TYPE: ClassVar[str | None] = "TaxLineDetail"

    detail: TaxLineDetail | None = None


@attrs.frozen(kw_only=True, repr=False)
class LinkedTxnLine(LineBase):
    """A line without `DetailType`: the part of a payment, bill payment or deposit that
    settles the transactions in `linked_txn`."""

    _REPR_FIELDS: ClassVar[tuple[str, ...]] = ("id", "amount", "linked_txn")


@attrs.frozen(kw_only=True, repr=False)
class RawLine:
    """A line whose `DetailType` this package does not model, kept as its JSON object.

    `data` should hold a `DetailType` key: a line without one reads back as a
    `LinkedTxnLine`.
    """

    data: Mapping[str, Any] = attrs.field(converter=freeze_json, hash=False)

    @property
    def detail_type(self) -> object:
        """The line's `DetailType` as it arrived (`None` when it was `null`)."""
        return self.data.get("DetailType")

    def __repr__(self) -> str:
        return f"RawLine(detail_type={self.detail_type!r})"


@attrs.frozen(kw_only=True, repr=False)
class GroupLineDetail(EntityPart):
    """A bundle (group item) and the lines it expands to."""

    group_item_ref: Ref | None = None
    quantity: Decimal | None = None
    line: tuple[Line, ...] | None = None


@attrs.frozen(kw_only=True, repr=False)
class GroupLine(LineBase):
    """A bundle on a sales form (`DetailType: GroupLineDetail`)."""

    DETAIL_TYPE: ClassVar[str | None] = "GroupLineDetail"

    detail: GroupLineDetail | None = None


#: Any transaction line. Match on the class to reach its typed `detail`.
Line: TypeAlias = (
    SalesItemLine
    | SubTotalLine
    | DiscountLine
    | DescriptionOnlyLine
    | GroupLine
    | AccountBasedExpenseLine
    | ItemBasedExpenseLine
    | JournalEntryLine
    | DepositLine
    | TaxLine
    | LinkedTxnLine
    | RawLine
)


@attrs.frozen(kw_only=True, repr=False)
class TxnTaxDetail(EntityPart):
    """A transaction's tax: the tax code applied, the total and its split by rate."""

    txn_tax_code_ref: Ref | None = None
    total_tax: Decimal | None = None
    tax_line: tuple[Line, ...] | None = None
