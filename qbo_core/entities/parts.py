"""Small objects that entities share: references, addresses, contact details, links."""

from __future__ import annotations

from typing import ClassVar

import attrs

from qbo_core.entities.base import EntityPart

__all__ = [
    "CustomField",
    "EmailAddress",
    "LinkedTxn",
    "NameValue",
    "PhysicalAddress",
    "Ref",
    "TelephoneNumber",
    "WebSiteAddress",
]


@attrs.frozen(kw_only=True, repr=False)
class Ref(EntityPart):
    """A reference to another object (`CustomerRef`, `ItemRef`, ...): its id and display name.

    `value` is the referenced object's `Id` (or a code, like `"USD"` or `"NON"`); also used
    for memo objects such as `CustomerMemo`, which hold only a `value`.
    """

    value: str
    name: str | None = None
    type: str | None = None


@attrs.frozen(kw_only=True, repr=False)
class PhysicalAddress(EntityPart):
    """A postal address (`BillAddr`, `ShipAddr`, ...). QBO sends `lat`/`long` as text."""

    _REPR_FIELDS: ClassVar[tuple[str, ...]] = ("id", "line1", "city", "postal_code")

    id: str | None = None
    line1: str | None = None
    line2: str | None = None
    line3: str | None = None
    line4: str | None = None
    line5: str | None = None
    city: str | None = None
    country: str | None = None
    country_sub_division_code: str | None = None
    postal_code: str | None = None
    lat: str | None = None
    long: str | None = None


@attrs.frozen(kw_only=True, repr=False)
class EmailAddress(EntityPart):
    """An e-mail address (`PrimaryEmailAddr`, `BillEmail`)."""

    address: str | None = None


@attrs.frozen(kw_only=True, repr=False)
class TelephoneNumber(EntityPart):
    """A telephone number as the user typed it (`PrimaryPhone`, `Mobile`, `Fax`)."""

    free_form_number: str | None = None


@attrs.frozen(kw_only=True, repr=False)
class WebSiteAddress(EntityPart):
    """A web address (`WebAddr`)."""

    uri: str | None = None


@attrs.frozen(kw_only=True, repr=False)
class LinkedTxn(EntityPart):
    """A link to another transaction: the invoice a payment line pays, an estimate's invoice."""

    txn_id: str | None = None
    txn_type: str | None = None
    txn_line_id: str | None = None


@attrs.frozen(kw_only=True, repr=False)
class CustomField(EntityPart):
    """One custom field of a transaction; QBO only has string-typed ones on sales forms."""

    definition_id: str | None = None
    name: str | None = None
    type: str | None = None
    string_value: str | None = None


@attrs.frozen(kw_only=True, repr=False)
class NameValue(EntityPart):
    """One `{"Name", "Value"}` pair (`CompanyInfo.NameValue`)."""

    name: str | None = None
    value: str | None = None
