"""What a generated company is: `CompanySize` (how many of each object), `GeneratedCompany`
(one realm's data, as QBO's v3 JSON API returns it) and the rows both builders make
(`generator` for the preset sizes, `empty` for size "empty")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

__all__ = [
    "PAYMENT_METHODS",
    "CompanySize",
    "GeneratedCompany",
    "Obj",
    "tax_agency",
    "tax_code",
    "tax_rate",
]

#: The payment methods a new QBO company starts with: (Name, Type).
PAYMENT_METHODS: Final = (
    ("Cash", "NON_CREDIT_CARD"),
    ("Check", "NON_CREDIT_CARD"),
    ("Visa", "CREDIT_CARD"),
    ("MasterCard", "CREDIT_CARD"),
    ("Discover", "CREDIT_CARD"),
    ("American Express", "CREDIT_CARD"),
    ("Diners Club", "CREDIT_CARD"),
)

Obj = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class CompanySize:
    """How many of each object to generate. Payments, bill payments and deposits follow.

    `chart` picks the chart of accounts: 0 base (45 accounts), 1 adds 15, 2 adds 30 more.
    `journal_entries` is a budget for the recurring entries (the opening entry is extra).
    """

    name: str
    customers: int
    vendors: int
    employees: int
    items: int
    classes: int
    departments: int
    chart: int
    invoices: int
    estimates: int
    sales_receipts: int
    credit_memos: int
    bills: int
    purchases: int
    journal_entries: int

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if name != "name" and (not isinstance(value, int) or value < 0):
                raise ValueError(f"CompanySize.{name} must be a non-negative int")
        if self.customers < 1 or self.vendors < 1 or self.items < 1:
            raise ValueError("a company needs at least one customer, vendor and item")
        if self.chart not in (0, 1, 2):
            raise ValueError("CompanySize.chart must be 0, 1 or 2")


@dataclass(frozen=True, kw_only=True)
class GeneratedCompany:
    """One realm's data. `entities` maps each name in `CANONICAL_ENTITY_NAMES` to its objects,
    in Id order. The dicts are fresh and unshared: a store may keep and mutate them.
    `size` is None for the empty company."""

    realm_id: str
    seed: int
    size: CompanySize | None
    now: datetime
    company_info: Obj
    preferences: Obj
    entities: dict[str, list[Obj]]

    def counts(self) -> dict[str, int]:
        """Objects per entity type."""
        return {name: len(objs) for name, objs in self.entities.items()}

    def object_count(self) -> int:
        """All objects in `entities` (CompanyInfo and Preferences not included)."""
        return sum(len(objs) for objs in self.entities.values())

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces): equal inputs give equal bytes."""
        return json.dumps(
            {
                "realm_id": self.realm_id,
                "company_info": self.company_info,
                "preferences": self.preferences,
                "entities": self.entities,
            },
            sort_keys=True,
            separators=(",", ":"),
        )


def tax_code(n: int, name: str) -> Obj:
    """A sales TaxCode's fields (no envelope): one tax rate, Id `n`, named `name`."""
    return {
        "Name": name,
        "Description": name,
        "Active": True,
        "Hidden": False,
        "Taxable": True,
        "TaxGroup": True,
        "SalesTaxRateList": {
            "TaxRateDetail": [
                {
                    "TaxRateRef": {"value": str(n), "name": name},
                    "TaxTypeApplicable": "TaxOnAmount",
                    "TaxOrder": 0,
                }
            ]
        },
        "PurchaseTaxRateList": {"TaxRateDetail": []},
    }


def tax_rate(name: str, agency_id: str, rate: float, since: str) -> Obj:
    """A sales TaxRate's fields (no envelope): `rate` percent collected for the agency
    `agency_id` since the date-time `since`; named like the TaxCode that uses it. A whole
    rate is written as an integer (`4`, not `4.0`), as QBO writes whole numbers."""
    value: int | float = int(rate) if float(rate).is_integer() else rate
    return {
        "Name": name,
        "Description": "Sales Tax",
        "Active": True,
        "RateValue": value,
        "AgencyRef": {"value": agency_id},
        "SpecialTaxType": "NONE",
        "DisplayType": "ReadOnly",
        "EffectiveTaxRate": [{"RateValue": value, "EffectiveDate": since}],
    }


def tax_agency(name: str) -> Obj:
    """A TaxAgency's fields (no envelope): it collects sales tax, not purchase tax."""
    return {"DisplayName": name, "TaxTrackedOnSales": True, "TaxTrackedOnPurchases": False}
