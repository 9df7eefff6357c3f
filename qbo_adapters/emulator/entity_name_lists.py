"""What the server stores for a name-list write: Customer, Vendor, Employee, Account, Item,
Class, Department and Term.

Each normalizer fills the server's defaults and computed fields: Customer gets Taxable,
Job, BillWithParent, Balance 0, CurrencyRef, PreferredDeliveryMethod "Print",
FullyQualifiedName, PrintOnCheckName, Active and DefaultTaxCodeRef (`create/customer.json`);
names are unique in their scope (6240), a person needs some name (6080), a parent may not
be its own ancestor (900); deactivating adds " (deleted)" to the name (a counter when that
name is taken: `deactivate/employee.json`) and is refused while a customer or vendor owes
(6000); an account's Classification and default sub-type come from `books`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from qbo_adapters.emulator.books import (
    classification_of,
    default_sub_type,
    ref_value,
    type_of_sub_type,
)
from qbo_adapters.emulator.entity_coercion import text_of
from qbo_adapters.emulator.entity_extras import pseudonym
from qbo_adapters.emulator.entity_faults import (
    business,
    duplicate_name,
    invalid_enum,
    no_name,
    parent_cycle,
)
from qbo_adapters.emulator.entity_spec import Lookup, Normalizer, Obj
from qbo_adapters.emulator.faults import QBOFault, required_param

__all__ = [
    "DELETED_SUFFIX",
    "MAX_TERM_DAYS",
    "NAME_LIST_NORMALIZERS",
]

#: The " (deleted)" suffix QBO gives a deactivated name (`deactivate/employee.json`), with
#: a counter when that name is taken already.
DELETED_SUFFIX: Final = " (deleted)"
_DELETED_RE: Final = re.compile(r" \(deleted(?:-\d+)?\)$")
#: The most days a term counts (its DueDays, DiscountDays).
MAX_TERM_DAYS: Final = 999
_ITEM_TYPES: Final = frozenset({"Service", "NonInventory", "Inventory", "Group", "Category"})


def _active(fields: Mapping[str, Any]) -> bool:
    return fields.get("Active") is not False


def _person_display(fields: Obj, previous: Obj | None) -> str:
    display = text_of(fields, "DisplayName")
    if display is None:
        parts = [
            text_of(fields, key)
            for key in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
        ]
        display = " ".join(part.strip() for part in parts if part) or None
    if display is None:
        if previous is not None and isinstance(previous.get("DisplayName"), str):
            return str(previous["DisplayName"])
        raise no_name()
    if len(display) > 500:
        raise business("DisplayName is longer than 500 characters", element="DisplayName")
    return display


def _print_name(fields: Obj, display: str) -> str:
    given = text_of(fields, "PrintOnCheckName") or text_of(fields, "CompanyName")
    if given is not None:
        return given
    parts = [text_of(fields, key) for key in ("GivenName", "MiddleName", "FamilyName")]
    joined = " ".join(part.strip() for part in parts if part)
    return (joined or _DELETED_RE.sub("", display))[:110]


def _lifecycle(
    entity: str,
    name: str,
    active: bool,
    previous: Obj | None,
    obj_id: str | None,
    lookup: Lookup,
    full_name: Callable[[str], str],
) -> str:
    """The name after (de)activation: " (deleted)" added going inactive, removed coming back."""
    was_active = previous is None or previous.get("Active") is not False
    if active:
        return _DELETED_RE.sub("", name) if not was_active else name
    if _DELETED_RE.search(name):
        return name
    candidate = f"{name}{DELETED_SUFFIX}"
    counter = 0
    while _taken(entity, full_name(candidate), obj_id, lookup):
        counter += 1
        candidate = f"{name} (deleted-{counter})"
    return candidate


def _taken(entity: str, name: str, obj_id: str | None, lookup: Lookup) -> bool:
    owner = lookup.name_owner(entity, name)
    return owner is not None and owner != (entity, obj_id)


def _check_unique(entity: str, name: str, obj_id: str | None, lookup: Lookup) -> None:
    if _taken(entity, name, obj_id, lookup):
        raise duplicate_name()


def _parent(entity: str, fields: Obj, obj_id: str | None, lookup: Lookup) -> Obj | None:
    """The parent a `ParentRef` names (already resolved), refusing a cycle."""
    value = ref_value(fields, "ParentRef")
    if value is None:
        fields.pop("ParentRef", None)
        return None
    parent = lookup.get(entity, value)
    seen = 0
    node = parent
    while node is not None and seen < 100:
        if obj_id is not None and node.get("Id") == obj_id:
            raise parent_cycle()
        up = ref_value(node, "ParentRef")
        node = lookup.get(entity, up) if up is not None else None
        seen += 1
    return parent


def _refuse_open_balance(entity: str, previous: Obj | None, active: bool) -> None:
    if previous is None or active or previous.get("Active") is False:
        return
    for key in ("Balance", "BalanceWithJobs"):
        value = previous.get(key)
        if isinstance(value, int | float) and round(value * 100) != 0:
            raise business(
                f"This {entity.lower()} has an open balance; settle it before making it inactive",
                element="Active",
            )


def _customer(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    active = _active(fields)
    _refuse_open_balance("Customer", previous, active)
    parent = _parent("Customer", fields, obj_id, lookup)
    prefix = f"{parent.get('FullyQualifiedName')}:" if parent is not None else ""
    display = _lifecycle(
        "Customer",
        _person_display(fields, previous),
        active,
        previous,
        obj_id,
        lookup,
        lambda name: name,
    )
    _check_unique("Customer", display, obj_id, lookup)
    tax_code = lookup.default_tax_code_id()
    taxable = fields.get("Taxable")
    if not isinstance(taxable, bool):
        taxable = tax_code is not None
    out: Obj = {
        "Taxable": taxable,
        **fields,
        "Job": parent is not None,
        "BillWithParent": fields.get("BillWithParent") is True and parent is not None,
        "Balance": _previous_number(previous, "Balance"),
        "BalanceWithJobs": _previous_number(previous, "BalanceWithJobs"),
        "CurrencyRef": fields.get("CurrencyRef") or lookup.home_currency(),
        "PreferredDeliveryMethod": fields.get("PreferredDeliveryMethod") or "Print",
        "FullyQualifiedName": f"{prefix}{display}",
        "DisplayName": display,
        "PrintOnCheckName": _print_name(fields, display),
        "Active": active,
    }
    if parent is not None:
        out["Level"] = _level(parent) + 1
    else:
        out.pop("Level", None)
    if taxable and tax_code is not None and "DefaultTaxCodeRef" not in out:
        out["DefaultTaxCodeRef"] = {"value": tax_code}
    out["IsProject"] = previous is not None and previous.get("IsProject") is True
    out["ClientEntityId"] = str((previous or {}).get("ClientEntityId", "0"))
    out["V4IDPseudonym"] = _pseudonym("Customer", display, previous, lookup)
    return out


def _pseudonym(entity: str, display: str, previous: Obj | None, lookup: Lookup) -> str:
    """A person's `V4IDPseudonym`: kept once given (it is read-only), else a new one."""
    kept = (previous or {}).get("V4IDPseudonym")
    if isinstance(kept, str) and kept:
        return kept
    company = str(lookup.company_info.get("CompanyName", ""))
    return pseudonym(company, entity, display, lookup.today_text())


def _vendor(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    active = _active(fields)
    _refuse_open_balance("Vendor", previous, active)
    display = _lifecycle(
        "Vendor",
        _person_display(fields, previous),
        active,
        previous,
        obj_id,
        lookup,
        lambda name: name,
    )
    _check_unique("Vendor", display, obj_id, lookup)
    return {
        **fields,
        "Balance": _previous_number(previous, "Balance"),
        "Vendor1099": fields.get("Vendor1099") is True,
        "CurrencyRef": fields.get("CurrencyRef") or lookup.home_currency(),
        "DisplayName": display,
        "PrintOnCheckName": _print_name(fields, display),
        "Active": active,
        "V4IDPseudonym": _pseudonym("Vendor", display, previous, lookup),
    }


def _employee(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    active = _active(fields)
    display = _lifecycle(
        "Employee",
        _person_display(fields, previous),
        active,
        previous,
        obj_id,
        lookup,
        lambda name: name,
    )
    _check_unique("Employee", display, obj_id, lookup)
    return {
        "BillableTime": fields.get("BillableTime") is True,
        **fields,
        "DisplayName": display,
        "PrintOnCheckName": _print_name(fields, display),
        "Active": active,
    }


def _named(
    entity: str, fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup
) -> tuple[str, str, Obj | None, bool]:
    """Name, FullyQualifiedName, parent and Active of an Account/Item/Class/Department/Term."""
    name = text_of(fields, "Name")
    if name is None:
        raise required_param("Name")
    if len(name) > 100:
        raise business("Name is longer than 100 characters", element="Name")
    active = _active(fields)
    parent = _parent(entity, fields, obj_id, lookup) if entity != "Term" else None
    prefix = f"{parent.get('FullyQualifiedName')}:" if parent is not None else ""
    name = _lifecycle(
        entity, name, active, previous, obj_id, lookup, lambda candidate: f"{prefix}{candidate}"
    )
    full = f"{prefix}{name}"
    _check_unique(entity, full, obj_id, lookup)
    return name, full, parent, active


def _account(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    name, full, parent, active = _named("Account", fields, previous, obj_id, lookup)
    account_type = text_of(fields, "AccountType")
    sub_type = text_of(fields, "AccountSubType")
    if account_type is None:
        account_type = type_of_sub_type(sub_type or "")
        if account_type is None:
            raise QBOFault.single(
                "6010",
                "Invalid Account.AccountType && Account.SubType",
                "Either an Account.AccountType or an Account.AccountSubType must be specified",
                element="AccountType",
            )
    classification = classification_of(account_type)
    if classification is None:
        raise invalid_enum("AccountType", account_type)
    if parent is not None and parent.get("Classification") != classification:
        raise business("A sub-account must have its parent's account type", element="ParentRef")
    balance = _previous_number(previous, "CurrentBalance")
    if previous is not None and previous.get("Classification") != classification and balance:
        raise business("The account type of an account with a balance cannot change")
    out: Obj = {
        **fields,
        "Name": name,
        "SubAccount": parent is not None,
        "FullyQualifiedName": full,
        "Active": active,
        "Classification": classification,
        "AccountType": account_type,
        "AccountSubType": sub_type or default_sub_type(account_type),
        "CurrentBalance": balance,
        "CurrentBalanceWithSubAccounts": _previous_number(
            previous, "CurrentBalanceWithSubAccounts"
        ),
        "CurrencyRef": fields.get("CurrencyRef") or lookup.home_currency(),
    }
    return out


def _item(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    name, full, parent, active = _named("Item", fields, previous, obj_id, lookup)
    item_type = text_of(fields, "Type") or "Service"
    if item_type not in _ITEM_TYPES:
        raise invalid_enum("Type", item_type)
    if item_type in ("Service", "NonInventory", "Inventory") and "IncomeAccountRef" not in fields:
        raise required_param("IncomeAccountRef")
    if item_type == "Inventory":
        for key in ("ExpenseAccountRef", "AssetAccountRef", "QtyOnHand", "InvStartDate"):
            if fields.get(key) is None:
                raise required_param(key)
    out: Obj = {**fields, "Name": name, "Active": active, "FullyQualifiedName": full}
    if parent is not None:
        out["SubItem"] = True
        out["Level"] = _level(parent) + 1
    else:
        out.pop("Level", None)
        if out.get("SubItem") is True:
            out["SubItem"] = False
    out["Type"] = item_type
    if item_type != "Category":
        out.setdefault("Taxable", False)
        out.setdefault("UnitPrice", 0)
        out["TrackQtyOnHand"] = item_type == "Inventory"
    return out


def _class_like(sub_key: str) -> Callable[[Obj, Obj | None, str | None, Lookup], Obj]:
    entity = "Class" if sub_key == "SubClass" else "Department"

    def handler(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
        name, full, parent, active = _named(entity, fields, previous, obj_id, lookup)
        return {
            **fields,
            "Name": name,
            sub_key: parent is not None,
            "FullyQualifiedName": full,
            "Active": active,
        }

    return handler


def _term(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    name, _, _, active = _named("Term", fields, previous, obj_id, lookup)
    out: Obj = {**fields, "Name": name, "Active": active}
    out["Type"] = text_of(fields, "Type") or "STANDARD"
    for key in ("DiscountPercent", "DueDays", "DiscountDays"):
        out.setdefault(key, 0)
        value = out[key]
        if not isinstance(value, int | float) or not 0 <= value <= MAX_TERM_DAYS:
            raise business(f"{key} must be between 0 and {MAX_TERM_DAYS}", element=key)
    return out


def _level(obj: Mapping[str, Any]) -> int:
    value = obj.get("Level")
    return value if isinstance(value, int) else 0


def _previous_number(previous: Obj | None, key: str) -> int | float:
    if previous is None:
        return 0
    value = previous.get(key)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


NAME_LIST_NORMALIZERS: Final[dict[str, Normalizer]] = {
    "Customer": _customer,
    "Vendor": _vendor,
    "Employee": _employee,
    "Account": _account,
    "Item": _item,
    "Class": _class_like("SubClass"),
    "Department": _class_like("SubDepartment"),
    "Term": _term,
}
