"""Fields QBO adds to what it answers that carry no bookkeeping, shared by the store's
normalizers and the data generator so both write them alike.

Shapes as QBO answers them today (public QBO responses; the 2020 recordings predate most):

- `V4IDPseudonym` on Customer, Vendor (and Employee): 38 hex digits starting "0020"
  (`"00209847d5d4485cdd4b0cade8f38ad07c308d"`); Customer `IsProject` false and
  `ClientEntityId` "0";
- `MetaData.LastModifiedByRef` on transactions: `{"value": "9341456054796012"}`, the user
  who last changed it (one user per emulated company), between CreateTime and
  LastUpdatedTime;
- `FreeFormAddress` on Invoice, Estimate and CreditMemo: true when the ship-to address is
  free-form lines (no City, region or postal code), false otherwise; `ShipFromAddr` on
  Estimate and CreditMemo: the company's address as two lines; `Line[].CustomExtensions`
  `[]` and `SalesItemLineDetail.ItemAccountRef` (the item's income account) on their item
  lines;
- Purchase `PurchaseEx`: a JAXB `NameValue` "TxnType" (3 a check, 1 a credit-card charge,
  11 a credit-card credit, 54 a cash expense); JournalEntry and Deposit `TxnTaxDetail` `{}`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "SALES_DECORATED",
    "free_form_address",
    "modified_by",
    "pseudonym",
    "purchase_ex",
    "ship_from_address",
    "with_account_ref",
]

#: The sales forms that carry FreeFormAddress and decorated item lines.
SALES_DECORATED: Final = frozenset({"Invoice", "Estimate", "CreditMemo"})
_STRUCTURED: Final = ("City", "CountrySubDivisionCode", "PostalCode")


def pseudonym(*parts: str) -> str:
    """A `V4IDPseudonym` derived from `parts` (the same parts give the same value)."""
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()
    return f"0020{digest[:34]}"


def modified_by(realm_id: str) -> dict[str, str]:
    """The `LastModifiedByRef` of a company's one user: 16 digits, like QBO's user ids."""
    number = int.from_bytes(hashlib.sha256(f"user\x00{realm_id}".encode()).digest()[:8], "big")
    return {"value": f"9341{number % 10**12:012d}"}


def purchase_ex(payment_type: Any, credit: Any) -> dict[str, Any]:
    """A Purchase's `PurchaseEx`: its internal transaction type as QBO wraps it."""
    if payment_type == "Check":
        txn_type = "3"
    elif payment_type == "CreditCard":
        txn_type = "11" if credit is True else "1"
    else:
        txn_type = "54"
    return {
        "any": [
            {
                "name": "{http://schema.intuit.com/finance/v3}NameValue",
                "declaredType": "com.intuit.schema.finance.v3.NameValue",
                "scope": "javax.xml.bind.JAXBElement$GlobalScope",
                "value": {"Name": "TxnType", "Value": txn_type},
                "nil": False,
                "globalScope": True,
                "typeSubstituted": False,
            }
        ]
    }


def free_form_address(ship: Any) -> bool:
    """True when a ship-to address is lines only (no City, region or postal code)."""
    if not isinstance(ship, Mapping):
        return False
    has_lines = any(str(key).startswith("Line") and ship.get(key) for key in ship)
    return has_lines and not any(ship.get(key) for key in _STRUCTURED)


def ship_from_address(company_addr: Any, addr_id: str) -> dict[str, str] | None:
    """The company's address as QBO writes a ShipFromAddr: street, then "City, ST  ZIP"."""
    if not isinstance(company_addr, Mapping) or not company_addr.get("Line1"):
        return None
    city = str(company_addr.get("City") or "")
    region = str(company_addr.get("CountrySubDivisionCode") or "")
    postal = str(company_addr.get("PostalCode") or "")
    second = f"{city}, {region}  {postal}".strip(" ,")
    out = {"Id": addr_id, "Line1": str(company_addr["Line1"])}
    if second:
        out["Line2"] = second
    return out


def with_account_ref(detail: Mapping[str, Any], account_ref: Any) -> dict[str, Any]:
    """A SalesItemLineDetail with `ItemAccountRef` set, placed before `TaxCodeRef` as QBO
    orders it (a detail without TaxCodeRef gets it last)."""
    if not isinstance(account_ref, Mapping) or "value" not in account_ref:
        return dict(detail)
    ref = {"value": account_ref["value"]}
    if account_ref.get("name") is not None:
        ref["name"] = account_ref["name"]
    out: dict[str, Any] = {}
    for key, value in detail.items():
        if key == "ItemAccountRef":
            continue
        if key == "TaxCodeRef":
            out["ItemAccountRef"] = ref
        out[key] = value
    out.setdefault("ItemAccountRef", ref)
    return out
