"""Typed QBO entities: frozen attrs classes that keep every byte QBO sent.

The entities hosts use most have a class (`Customer`, `Vendor`, `Employee`, `Account`,
`Item`, `Invoice`, `Bill`, `Payment`, `BillPayment`, `SalesReceipt`, `JournalEntry`,
`CompanyInfo`); every other one (Estimate, CreditMemo, Purchase, Deposit, Attachable,
TaxCode, Preferences, ...) is a `RawEntity` holding its JSON object. The classes hold
data only: `qbo_core.wire.entities` (`decode_entity`, `encode_entity`) converts between
them and QBO's JSON.

- Attributes are snake_case (`display_name`, `sync_token`, `total_amt`, `meta`); the
  wire maps them to QBO's keys (`DisplayName`, `SyncToken`, `TotalAmt`, `MetaData`, `domain`).
- Money, quantities and rates are `Decimal`; dates are `datetime.date`; `MetaData` times
  are aware datetimes in the offset QBO sent.
- `None` means *absent*: encoding leaves the key out.
- Unknown keys, at every level (entity, line, detail, address, reference), are kept in the
  object's `extra` mapping and written back unchanged; so is a key that arrived as `null`
  (as `extra[key] = None`), so a newer API never loses data and `null` round-trips.
- Lines are polymorphic by `DetailType` (`SalesItemLine`, `JournalEntryLine`, ...);
  payment-style lines without one are `LinkedTxnLine`s and an unknown `DetailType` gives a
  `RawLine`, written back as it came.

`qbo_core.wire.entity_hooks` documents the exact key mapping and what decoding accepts.
"""

from qbo_core.entities.base import EntityBase, EntityPart, MetaData, RawEntity
from qbo_core.entities.kinds import (
    ENTITY_CLASSES,
    QBOEntity,
    TypedEntity,
    entity_name,
    entity_type_of,
)
from qbo_core.entities.lines import (
    AccountBasedExpenseLine,
    AccountBasedExpenseLineDetail,
    DepositLine,
    DepositLineDetail,
    DescriptionLineDetail,
    DescriptionOnlyLine,
    DiscountLine,
    DiscountLineDetail,
    GroupLine,
    GroupLineDetail,
    ItemBasedExpenseLine,
    ItemBasedExpenseLineDetail,
    JournalEntryEntity,
    JournalEntryLine,
    JournalEntryLineDetail,
    Line,
    LineBase,
    LinkedTxnLine,
    RawLine,
    SalesItemLine,
    SalesItemLineDetail,
    SubTotalLine,
    SubTotalLineDetail,
    TaxLine,
    TaxLineDetail,
    TxnTaxDetail,
)
from qbo_core.entities.names import Account, CompanyInfo, Customer, Employee, Item, Vendor
from qbo_core.entities.parts import (
    CustomField,
    EmailAddress,
    LinkedTxn,
    NameValue,
    PhysicalAddress,
    Ref,
    TelephoneNumber,
    WebSiteAddress,
)
from qbo_core.entities.transactions import (
    Bill,
    BillPayment,
    BillPaymentCheck,
    BillPaymentCreditCard,
    Invoice,
    JournalEntry,
    Payment,
    SalesReceipt,
    TransactionBase,
)

__all__ = [
    "ENTITY_CLASSES",
    "Account",
    "AccountBasedExpenseLine",
    "AccountBasedExpenseLineDetail",
    "Bill",
    "BillPayment",
    "BillPaymentCheck",
    "BillPaymentCreditCard",
    "CompanyInfo",
    "CustomField",
    "Customer",
    "DepositLine",
    "DepositLineDetail",
    "DescriptionLineDetail",
    "DescriptionOnlyLine",
    "DiscountLine",
    "DiscountLineDetail",
    "EmailAddress",
    "Employee",
    "EntityBase",
    "EntityPart",
    "GroupLine",
    "GroupLineDetail",
    "Invoice",
    "Item",
    "ItemBasedExpenseLine",
    "ItemBasedExpenseLineDetail",
    "JournalEntry",
    "JournalEntryEntity",
    "JournalEntryLine",
    "JournalEntryLineDetail",
    "Line",
    "LineBase",
    "LinkedTxn",
    "LinkedTxnLine",
    "MetaData",
    "NameValue",
    "Payment",
    "PhysicalAddress",
    "QBOEntity",
    "RawEntity",
    "RawLine",
    "Ref",
    "SalesItemLine",
    "SalesItemLineDetail",
    "SalesReceipt",
    "SubTotalLine",
    "SubTotalLineDetail",
    "TaxLine",
    "TaxLineDetail",
    "TelephoneNumber",
    "TransactionBase",
    "TxnTaxDetail",
    "TypedEntity",
    "Vendor",
    "WebSiteAddress",
    "entity_name",
    "entity_type_of",
]
