"""Which entities have a typed class, and the QBO name of each entity or entity class."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TypeAlias

from qbo_core.entities.base import EntityBase, RawEntity
from qbo_core.entities.names import Account, CompanyInfo, Customer, Employee, Item, Vendor
from qbo_core.entities.transactions import (
    Bill,
    BillPayment,
    Invoice,
    JournalEntry,
    Payment,
    SalesReceipt,
)

__all__ = [
    "ENTITY_CLASSES",
    "QBOEntity",
    "TypedEntity",
    "entity_name",
    "entity_type_of",
]

#: The entities with a typed class.
TypedEntity: TypeAlias = (
    Account
    | Bill
    | BillPayment
    | CompanyInfo
    | Customer
    | Employee
    | Invoice
    | Item
    | JournalEntry
    | Payment
    | SalesReceipt
    | Vendor
)

#: Any QBO entity: a typed class where this package has one, else a `RawEntity`.
QBOEntity: TypeAlias = TypedEntity | RawEntity

#: The typed class of each QBO entity name that has one.
ENTITY_CLASSES: Mapping[str, type[TypedEntity]] = MappingProxyType(
    {
        cls.ENTITY_TYPE: cls
        for cls in (
            Account,
            Bill,
            BillPayment,
            CompanyInfo,
            Customer,
            Employee,
            Invoice,
            Item,
            JournalEntry,
            Payment,
            SalesReceipt,
            Vendor,
        )
    }
)


def entity_type_of(entity: QBOEntity) -> str:
    """The QBO entity name of `entity` (`"Invoice"`, or a `RawEntity`'s `entity_type`)."""
    if isinstance(entity, RawEntity):
        return entity.entity_type
    return entity.ENTITY_TYPE


def entity_name(kind: str | type[EntityBase]) -> str:
    """The QBO entity name a call names: the string itself, or a typed class's name.

    A class must be one of `ENTITY_CLASSES` exactly (not a subclass), since answers are
    decoded into those classes; anything else raises `TypeError`.
    """
    if isinstance(kind, str):
        return kind
    name = getattr(kind, "ENTITY_TYPE", None)
    if not isinstance(name, str) or ENTITY_CLASSES.get(name) is not kind:
        shown = kind.__name__ if isinstance(kind, type) else type(kind).__name__
        raise TypeError(
            f"{shown} is not a typed QBO entity class; name the entity as a string "
            f"or pass one of {', '.join(sorted(ENTITY_CLASSES))}"
        )
    return name
