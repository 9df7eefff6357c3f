"""The faults an entity write raises, worded as QBO words them.

Codes chosen from Intuit's error table where QBO's exact answer is unrecorded: 6070 a line
Amount that is not Qty x UnitPrice, 6080 a person without any name, 2170 a bad enumeration
value, 900 a parent cycle, 6000 other business rules (negative totals, unbalanced journal
entries, over-applied payments, deactivating a name that owes money).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qbo_adapters.emulator.faults import QBOFault

__all__ = [
    "amount_mismatch",
    "bad_value",
    "business",
    "duplicate_name",
    "invalid_enum",
    "invalid_reference",
    "no_name",
    "parent_cycle",
]


def bad_value(prop: str, value: Any, java_type: str) -> QBOFault:
    """A value of the wrong JSON type, reported as QBO's JSON reader does (code 2010)."""
    shown = _describe(value)
    return QBOFault.single(
        "2010",
        "Request has invalid or unsupported property",
        f"Property Name:Can not construct instance of {java_type} from {shown} "
        f"(property {prop}) specified is unsupported or invalid",
    )


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        return "START_OBJECT token"
    if isinstance(value, list):
        return "START_ARRAY token"
    if isinstance(value, bool):
        return f"boolean value {str(value).lower()}"
    if value is None:
        return "null"
    text = str(value)
    return f"value '{text[:40]}{'...' if len(text) > 40 else ''}'"


def invalid_reference(key: str, value: Any) -> QBOFault:
    """A reference to an object that does not exist (QBO's code 2500)."""
    return QBOFault.single(
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {key} {value!s:.60} does not exist",
        element=key,
    )


def business(detail: str, *, element: str = "") -> QBOFault:
    """A 6000 business validation error."""
    return QBOFault.single(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element=element,
    )


def invalid_enum(prop: str, value: Any) -> QBOFault:
    """2170: a value outside the property's enumeration."""
    return QBOFault.single(
        "2170", "Invalid Enumeration", f"Invalid Enumeration : {value!s:.60}", element=prop
    )


def amount_mismatch(amount: Any) -> QBOFault:
    """6070: a line whose Amount is not Qty x UnitPrice (Intuit's error table wording)."""
    return QBOFault.single(
        "6070",
        "Amount calculation incorrect in the request",
        f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount}",
        element="Line.Amount",
    )


def no_name() -> QBOFault:
    """6080: a customer, vendor or employee without any name part."""
    return QBOFault.single(
        "6080",
        "No Name Provided",
        "Title, GivenName, MiddleName, FamilyName, DisplayName, Suffix - one of these must be "
        "non-empty",
    )


def parent_cycle() -> QBOFault:
    """900: an object named as its own parent or ancestor."""
    return QBOFault.single(
        "900",
        "Parent cannot be child",
        "The same object can't be the parent or child of itself",
        element="ParentRef",
    )


def duplicate_name() -> QBOFault:
    """6240, as `error/validation.json` records it (no `element`)."""
    return QBOFault.single(
        "6240", "Duplicate Name Exists Error", "The name supplied already exists. : null"
    )
