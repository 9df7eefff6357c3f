"""Entities in and out of QBO's JSON: `decode_entity`, `encode_entity` and the type names."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeAlias

from qbo_core import converter as _shared
from qbo_core.entities.base import RawEntity, thaw_json
from qbo_core.entities.names import Account, CompanyInfo, Customer, Employee, Item, Vendor
from qbo_core.entities.transactions import (
    Bill,
    BillPayment,
    Invoice,
    JournalEntry,
    Payment,
    SalesReceipt,
)
from qbo_core.errors import DecodeError

__all__ = [
    "ENTITY_CLASSES",
    "QBOEntity",
    "TypedEntity",
    "decode_entity",
    "encode_entity",
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


def decode_entity(entity_type: str, data: Mapping[str, Any]) -> QBOEntity:
    """The entity named `entity_type` (QBO's spelling: `"Invoice"`) from its JSON object.

    Returns an instance of `ENTITY_CLASSES[entity_type]`, or a `RawEntity` for any other
    name. `data` is as `qbo_core.wire` parses it (fractional numbers as `Decimal`); it is
    copied, never kept. Raises `DecodeError` naming the path of each value of the wrong
    type (`... @ $.Line[0].Amount`); see `qbo_core.entities.hooks` for what is accepted.
    """
    cls = ENTITY_CLASSES.get(entity_type)
    if cls is not None:
        return _shared.structure(data, cls)
    value: object = data  # callers without a type checker pass anything
    if not isinstance(value, Mapping):
        kind = "null" if value is None else type(value).__name__
        raise DecodeError(f"cannot read {entity_type}: expected an object, got {kind} @ $")
    return RawEntity(entity_type=entity_type, data=value)


def encode_entity(entity: QBOEntity) -> dict[str, Any]:
    """`entity` as the JSON object QBO expects: a fresh dict, numbers as `Decimal`s.

    What was decoded is written back unchanged: unknown keys, `null`s and absent keys
    included. Raises `ValueError` for values JSON cannot hold (a naive datetime, a NaN)
    and `TypeError` for an attribute holding the wrong type.
    """
    if isinstance(entity, RawEntity):
        data: dict[str, Any] = thaw_json(entity.data)
        return data
    if type(entity) not in ENTITY_CLASSES.values():
        raise TypeError(f"not a QBO entity: {type(entity).__name__}")
    encoded: dict[str, Any] = _shared.converter.unstructure(entity)
    return encoded


def entity_type_of(entity: QBOEntity) -> str:
    """The QBO entity name of `entity` (`"Invoice"`, or a `RawEntity`'s `entity_type`)."""
    if isinstance(entity, RawEntity):
        return entity.entity_type
    return entity.ENTITY_TYPE
