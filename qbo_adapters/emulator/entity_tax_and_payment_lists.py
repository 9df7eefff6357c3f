"""What the server stores for a PaymentMethod or TaxAgency write.

- **PaymentMethod** is a name list like Term: a unique `Name` (6240), `Type`
  "CREDIT_CARD" or "NON_CREDIT_CARD" (the default), `Active`; deactivating adds
  " (deleted)" to the name, as for the other name lists.
- **TaxAgency** is created and read, never updated or deleted: a unique `DisplayName`,
  `TaxTrackedOnSales` true and `TaxTrackedOnPurchases` false unless sent.

TaxRate and TaxCode are read-only: QBO creates them through its TaxService.
"""

from __future__ import annotations

from typing import Final

from qbo_adapters.emulator.entity_coercion import text_of
from qbo_adapters.emulator.entity_faults import business, duplicate_name, invalid_enum
from qbo_adapters.emulator.entity_name_lists import _named
from qbo_adapters.emulator.entity_spec import Lookup, Normalizer, Obj
from qbo_adapters.emulator.faults import required_param

__all__ = ["TAX_AND_PAYMENT_NORMALIZERS"]

_METHOD_TYPES: Final = ("CREDIT_CARD", "NON_CREDIT_CARD")


def _payment_method(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    name, _, _, active = _named("PaymentMethod", fields, previous, obj_id, lookup)
    kind = text_of(fields, "Type") or "NON_CREDIT_CARD"
    if kind not in _METHOD_TYPES:
        raise invalid_enum("Type", kind)
    return {**fields, "Name": name, "Active": active, "Type": kind}


def _tax_agency(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    name = text_of(fields, "DisplayName")
    if name is None:
        raise required_param("DisplayName")
    if len(name) > 100:
        raise business("DisplayName is longer than 100 characters", element="DisplayName")
    owner = lookup.name_owner("TaxAgency", name)
    if owner is not None and owner != ("TaxAgency", obj_id):
        raise duplicate_name()
    return {
        **fields,
        "DisplayName": name,
        "TaxTrackedOnSales": fields.get("TaxTrackedOnSales") is not False,
        "TaxTrackedOnPurchases": fields.get("TaxTrackedOnPurchases") is True,
    }


TAX_AND_PAYMENT_NORMALIZERS: Final[dict[str, Normalizer]] = {
    "PaymentMethod": _payment_method,
    "TaxAgency": _tax_agency,
}
