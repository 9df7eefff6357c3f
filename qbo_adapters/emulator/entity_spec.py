"""What an entity spec is: `EntitySpec`, the kinds, and the `Lookup` a normalizer reads.

Kinds, as QBO treats them:

- **name lists** (Account, Customer, Vendor, Employee, Item, Class, Department, Term,
  PaymentMethod) are deactivated (sparse `Active:false`), never deleted; TaxAgency is
  one that is only created and read (`updatable` False);
- **transactions** (Invoice, Bill, Payment, BillPayment, SalesReceipt, Estimate,
  CreditMemo, JournalEntry, Purchase, Deposit, PurchaseOrder, VendorCredit,
  RefundReceipt, Transfer, CreditCardPayment, TimeActivity) are deleted with
  `?operation=delete`;
- **read-only** entities (TaxCode, TaxRate, CompanyInfo, Preferences) are only read and
  queried here (Preferences has its own update route; QBO creates tax codes and rates
  through its TaxService).

Void styles: Invoice documents `?operation=void`; Payment, SalesReceipt and BillPayment
document `?operation=update&include=void` with a sparse body. The emulator accepts either
URL form for all four (the .NET SDK voids every entity with `operation=void`).

A spec's `normalizer` fills the server's defaults and computed fields on a write, reading
the rest of the company through `Lookup` (`store.Company` implements it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal, Protocol

import attrs

__all__ = [
    "NAME_LIST",
    "READ_ONLY",
    "TRANSACTION",
    "EntityKind",
    "EntitySpec",
    "Lookup",
    "Normalizer",
    "Obj",
    "names_in",
]

Obj = dict[str, Any]

EntityKind = Literal["name_list", "transaction", "read_only"]
NAME_LIST: Final = "name_list"
TRANSACTION: Final = "transaction"
READ_ONLY: Final = "read_only"


def names_in(text: str) -> frozenset[str]:
    """The whitespace-separated names in `text`."""
    return frozenset(text.split())


class Lookup(Protocol):
    """What `normalize` reads of the company; `store.Company` implements it."""

    #: The company's CompanyInfo object (its CompanyAddr is a sales form's ShipFromAddr).
    company_info: Obj

    def get(self, entity: str, obj_id: str) -> Obj | None:
        """The stored object, or None."""
        ...

    def today_text(self) -> str:
        """The company's date now, `YYYY-MM-DD`."""
        ...

    def home_currency(self) -> Obj:
        """`{"value": "USD", "name": "United States Dollar"}` for a US company."""
        ...

    def next_doc_number(self, entity: str) -> str:
        """The next automatic DocNumber of a sales form."""
        ...

    def default_account_id(self, role: str) -> str | None:
        """The Id of the company's `"ar"`, `"ap"`, `"uf"` (Undeposited Funds) or
        `"discount"` (discounts given) account, or None."""
        ...

    def default_tax_code_id(self) -> str | None:
        """The TaxCode a new taxable customer gets, or None when the company has none."""
        ...

    def default_term_id(self, kind: str) -> str | None:
        """The default Term of `"sales"` or `"purchases"` forms (Preferences), or None."""
        ...

    def default_item_id(self) -> str | None:
        """The item a sales line without ItemRef gets (Preferences), or None."""
        ...

    def sales_custom_fields(self) -> list[Obj]:
        """The custom field definitions new sales forms carry (from Preferences)."""
        ...

    def name_owner(self, entity: str, name: str) -> tuple[str, str] | None:
        """Who holds `name` in `entity`'s uniqueness scope: (entity, Id), or None."""
        ...


#: What the server stores for a write: `(fields, previous, obj_id, lookup) -> fields`.
#: `fields` is the merged candidate without the envelope (it may be modified),
#: `previous` the stored version (None on create) and `obj_id` its Id.
Normalizer = Callable[[Obj, Obj | None, str | None, Lookup], Obj]


@attrs.frozen(kw_only=True)
class EntitySpec:
    """What the emulator knows about one entity type.

    `required` lists what a create must carry: each entry is a tuple of alternatives, at
    least one of which must be present (`("DisplayName", "GivenName", ...)`).
    `name_field` is the property deactivation suffixes with " (deleted)" (None for
    transactions). `void_styles` holds the URL forms that void it: `"operation"`
    (`?operation=void`) and `"include"` (`?operation=update&include=void`).
    `keep_on_full_update` are writable fields a full update keeps when the body omits
    them (QBO keeps them: `update/sales_receipt.json`). `normalizer` computes what the
    server stores on a write (None: the fields are stored as sent, references checked).
    `updatable` False: created and read, never changed (TaxAgency).
    """

    name: str
    url_name: str
    kind: EntityKind
    known: frozenset[str]
    required: tuple[tuple[str, ...], ...] = ()
    name_field: str | None = None
    void_styles: frozenset[str] = frozenset()
    keep_on_full_update: frozenset[str] = frozenset()
    cdc: bool = True
    updatable: bool = True
    normalizer: Normalizer | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def is_name_list(self) -> bool:
        return self.kind == NAME_LIST

    @property
    def is_transaction(self) -> bool:
        return self.kind == TRANSACTION

    @property
    def voidable(self) -> bool:
        return bool(self.void_styles)
