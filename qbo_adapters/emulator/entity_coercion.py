"""Request bodies made clean: hostile JSON in, a checked mapping or QBO's 400 fault out.

`coerce_body` turns a create/update body into a clean mapping or a 400 fault (2010 as
QBO's JSON reader words it); `check_required` names what a create lacks (2020).
`text_of` reads a non-blank string field of a clean mapping.

QBO reads bodies with Jackson (its 2010 Detail is Jackson's "Can not construct instance of
... from ..." wording), so the emulator takes what that reader takes and refuses what it
refuses. The audit of every refusal of a body value and the source saying QBO refuses it
too. Sources: R = `error/400_json.json` (the reader's 2010); F3, F4 = the facts file's
sections 3 and 4; V = `error/validation.json`; P = QuickBooks-V3-PHP-SDK issue #185;
Q = ej2/python-quickbooks `tests/integration/test_invoice.py` (run against the sandbox);
C = none, the emulator's choice (reason given).

| rule                                                       | QBO source    | emulator       |
|------------------------------------------------------------|---------------|----------------|
| body not a JSON object; unknown top-level property         | R, F3         | 2010           |
| `""` or blanks for a number, date or boolean               | R (reads null)| accept: unset  |
| null top-level value                                       | R (not set)   | accept: absent |
| number/boolean for a string (`"SyncToken": 0`)             | R (coerces)   | accept as text |
| numeric string for a number (`"100.00"`)                   | R (parses)    | accept         |
| non-numeric string (`"1,000.00"`) or boolean for a number  | R             | 2010           |
| `"true"`/`"false"`, integer 0/1 for a boolean              | R (coerces)   | accept         |
| other string, float, object for a boolean (`"maybe"`)      | R             | 2010           |
| date with a zone (`2018-11-04Z`) or a time of day          | P             | accept: date   |
| malformed date (`yesterday`, `2024-02-30`, `01/02/2024`)   | R             | 2010           |
| object/list for a string, ref, address, line; non-list Line| R             | 2010           |
| date before 1900                                           | C: UI minimum | 2010           |
| amount > 99,999,999,999.99, Qty/UnitPrice > 1e13, NaN, inf | C: 11 digits  | 2010           |
| nesting deeper than 32 levels                              | C: stack      | 2010           |
| required property missing or unset                         | F4 (2020)     | 2020           |
| reference missing; reference inactive                      | F4, F3        | 2500; 610      |
| duplicate name                                             | V             | 6240           |
| stale SyncToken (string or number)                         | F3            | 5010           |
| Amount not Qty x UnitPrice; US tax code not TAX/NON        | F4 error table| 6070; 6100     |
| Amount with Qty 0 and UnitPrice 0 (python-quickbooks)      | Q             | accept: Amount |
| bad DetailType, PaymentType, PayType, Item Type            | F4 error table| 2170           |
| unbalanced journal, negative total, over-applied payment   | F4 (6000)     | 6000           |
| DocNumber over 21 characters; DueDate before TxnDate       | C: API limits | 6000           |
| a read-only field sent (`V4IDPseudonym`, `Balance`)        | F1 (ignored)  | accept, ignore |

`tests/emulator/test_accept.py` holds each leniency and `tests/emulator/test_refusals.py`
each refusal that remains, naming its source.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Final

from qbo_adapters.emulator.entity_faults import bad_value
from qbo_adapters.emulator.entity_numbers import MAX_QUANTITY, number_out, to_decimal
from qbo_adapters.emulator.entity_spec import EntitySpec, names_in
from qbo_adapters.emulator.faults import invalid_property, required_param

__all__ = ["MAX_DEPTH", "check_required", "coerce_body", "text_of"]

#: How deep a body may nest.
MAX_DEPTH: Final = 32

_STRING_PROPS: Final = names_in(
    """
    Id SyncToken DisplayName Title GivenName MiddleName FamilyName Suffix CompanyName
    PrintOnCheckName FullyQualifiedName Name Description DocNumber PrivateNote Notes
    AccountType AccountSubType Classification Type PaymentType PayType PrintStatus
    EmailStatus TxnStatus AcctNum TaxIdentifier PaymentRefNum PreferredDeliveryMethod
    ResaleNum Sku PurchaseDesc EmployeeNumber SSN Gender TrackingNum GlobalTaxCalculation
    domain status
    """
)
_BOOL_PROPS: Final = names_in(
    """
    Active Taxable Job BillWithParent sparse Vendor1099 BillableTime AllowIPNPayment
    AllowOnlinePayment AllowOnlineCreditCardPayment AllowOnlineACHPayment
    ApplyTaxAfterDiscount Credit Adjustment SubAccount SubItem SubClass SubDepartment
    TrackQtyOnHand ProcessPayment ProcessBillPayment Organization SalesTaxIncluded
    PurchaseTaxIncluded IsProject Hidden TaxGroup
    """
)
_NUMBER_PROPS: Final = names_in(
    """
    TotalAmt Balance BalanceWithJobs UnappliedAmt UnitPrice PurchaseCost QtyOnHand DueDays
    DiscountPercent DiscountDays DayOfMonthDue DueNextMonthDays DiscountDayOfMonth
    ExchangeRate Level CurrentBalance CurrentBalanceWithSubAccounts HomeTotalAmt HomeBalance
    Deposit DiscountRate DiscountAmt RemainingCredit CostRate BillRate RatePercent
    ReorderPoint OpeningBalance
    """
)
_DATE_PROPS: Final = names_in(
    """
    TxnDate DueDate ShipDate ExpirationDate AcceptedDate BirthDate HiredDate ReleasedDate
    OpenBalanceDate InvStartDate OpeningBalanceDate
    """
)
_LIST_PROPS: Final = frozenset({"Line", "LinkedTxn", "CustomField", "Tag"})
_OBJECT_PROPS: Final = names_in(
    """
    MetaData TxnTaxDetail PrimaryPhone AlternatePhone Mobile Fax PrimaryEmailAddr WebAddr
    CheckPayment CreditCardPayment DeliveryInfo CustomerMemo BillEmail BillEmailCc
    BillEmailBcc OtherContactInfo
    """
)
#: A date as QBO's reader takes it: `YYYY-MM-DD`, optionally with a zone (`2018-11-04Z`,
#: `...-07:00`) or a time of day (`2018-11-04T10:00:00-07:00`); only the date is kept.
_DATE_RE: Final = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2}|T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
#: Line-detail properties that hold a number, and those that hold a date.
_DETAIL_NUMBERS: Final = frozenset({"Qty", "UnitPrice", "DiscountPercent", "TaxInclusiveAmt"})
_DETAIL_DATES: Final = frozenset({"ServiceDate"})


def coerce_body(spec: EntitySpec, body: Any) -> dict[str, Any]:
    """A create/update body as a clean mapping, or a 400 fault in QBO's words.

    Unknown top-level properties are fault 2010 (listing the known ones, as QBO does).
    Values are coerced the way QBO's JSON reader coerces them: numbers and booleans to
    strings where a string is expected, numeric strings to numbers; a value of the wrong
    shape (an object for a string, a list for a reference) is a 2010 fault. Numbers must
    be finite and within QBO's range; nesting is limited to 32 levels.
    """
    if not isinstance(body, Mapping):
        raise bad_value(spec.name, body, f"com.intuit.schema.finance.v3.{spec.name}")
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key not in spec.known:
            raise invalid_property(spec.name, key, spec.known)
        out[key] = _coerce_prop(key, value, 1)
    return out


def _coerce_prop(key: str, value: Any, depth: int) -> Any:
    if value is None:
        return None
    if _blank(value) and (key in _NUMBER_PROPS or key in _DATE_PROPS or key in _BOOL_PROPS):
        return None  # QBO's reader takes "" for a number, date or boolean as null: unset
    if key in _STRING_PROPS:
        return _as_string(key, value)
    if key in _BOOL_PROPS:
        return _as_bool(key, value)
    if key in _NUMBER_PROPS:
        return number_out(to_decimal(value, key))
    if key in _DATE_PROPS:
        return _as_date(key, value)
    if key.endswith("Ref"):
        return _as_ref(key, value, depth)
    if key == "Line":
        if not isinstance(value, list):
            raise bad_value(key, value, "java.util.List")
        return [_as_line(item, depth + 1) for item in value]
    if key == "LinkedTxn":
        if not isinstance(value, list):
            raise bad_value(key, value, "java.util.List")
        return [_as_link(item, depth + 1) for item in value]
    if key in _LIST_PROPS:
        if not isinstance(value, list):
            raise bad_value(key, value, "java.util.List")
        return _clean(value, key, depth)
    if key in _OBJECT_PROPS or key.endswith("Addr"):
        if not isinstance(value, Mapping):
            raise bad_value(key, value, f"com.intuit.schema.finance.v3.{key}")
        return _clean(value, key, depth)
    return _clean(value, key, depth)


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def _as_date(key: str, value: Any) -> str:
    """A date property's `YYYY-MM-DD` (a zone or time of day sent with it is dropped)."""
    text = _as_string(key, value).strip()
    match = _DATE_RE.match(text)
    try:
        valid = match is not None and date.fromisoformat(match[1]).year >= 1900
    except ValueError:
        valid = False
    if not valid or match is None:
        raise bad_value(key, value, "java.util.Date")
    return match[1]


def _as_string(key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise bad_value(key, value, "java.lang.String")
        return format(value, "f")
    raise bad_value(key, value, "java.lang.String")


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, int):
        return value != 0  # Jackson's reader takes an integer as a boolean: 0 is false
    raise bad_value(key, value, "java.lang.Boolean")


def _as_ref(key: str, value: Any, depth: int) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise bad_value(key, value, "com.intuit.schema.finance.v3.ReferenceType")
    ref = _clean(value, key, depth)
    if "value" in ref:
        ref["value"] = _as_string(f"{key}.value", ref["value"]) if ref["value"] is not None else ""
    if "name" in ref and ref["name"] is not None:
        ref["name"] = _as_string(f"{key}.name", ref["name"])
    return ref  # type: ignore[no-any-return]


def _as_line(value: Any, depth: int) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise bad_value("Line", value, "com.intuit.schema.finance.v3.Line")
    line: dict[str, Any] = {}
    for key, item in value.items():
        if item is None or (_blank(item) and key in ("Amount", "LineNum")):
            continue
        if key in ("Id", "Description", "DetailType"):
            line[key] = _as_string(f"Line.{key}", item)
        elif key == "Amount":
            line[key] = number_out(to_decimal(item, "Line.Amount"))
        elif key == "LineNum":
            line[key] = int(to_decimal(item, "Line.LineNum"))
        elif key == "LinkedTxn":
            if not isinstance(item, list):
                raise bad_value("Line.LinkedTxn", item, "java.util.List")
            line[key] = [_as_link(link, depth + 1) for link in item]
        elif key.endswith(("Detail", "DetailEx")):
            if not isinstance(item, Mapping):
                raise bad_value(f"Line.{key}", item, f"com.intuit.schema.finance.v3.{key}")
            line[key] = _as_detail(key, item, depth + 1)
        else:
            line[key] = _clean(item, f"Line.{key}", depth + 1)
    return line


def _as_detail(name: str, value: Mapping[str, Any], depth: int) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    for key, item in value.items():
        label = f"{name}.{key}"
        if item is None or (_blank(item) and key in _DETAIL_NUMBERS | _DETAIL_DATES):
            continue
        if key in _DETAIL_NUMBERS:
            detail[key] = number_out(to_decimal(item, label, limit=MAX_QUANTITY))
        elif key in _DETAIL_DATES:
            detail[key] = _as_date(label, item)
        elif key.endswith("Ref"):
            detail[key] = _as_ref(label, item, depth)
        elif key in ("PostingType", "BillableStatus"):
            detail[key] = _as_string(label, item)
        elif key == "PercentBased":
            detail[key] = _as_bool(label, item)
        else:
            detail[key] = _clean(item, label, depth + 1)
    return detail


def _as_link(value: Any, depth: int) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise bad_value("LinkedTxn", value, "com.intuit.schema.finance.v3.LinkedTxn")
    link = _clean(value, "LinkedTxn", depth)
    for key in ("TxnId", "TxnType", "TxnLineId"):
        if key in link and link[key] is not None:
            link[key] = _as_string(f"LinkedTxn.{key}", link[key])
    return link  # type: ignore[no-any-return]


def _clean(value: Any, key: str, depth: int) -> Any:
    """Free-form JSON: finite numbers in range, at most `MAX_DEPTH` levels."""
    if depth > MAX_DEPTH:
        raise bad_value(key, value, "com.intuit.schema.finance.v3.IntuitEntity")
    if isinstance(value, Mapping):
        return {
            str(k): (
                _as_ref(f"{key}.{k}", v, depth + 1)
                if str(k).endswith("Ref") and v is not None
                else _clean(v, f"{key}.{k}", depth + 1)
            )
            for k, v in value.items()
            if v is not None
        }
    if isinstance(value, list):
        return [_clean(v, key, depth + 1) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | Decimal | float):
        return number_out(to_decimal(value, key, limit=Decimal("1e15")))
    raise bad_value(key, value, "java.lang.Object")  # pragma: no cover - JSON has no others


def check_required(spec: EntitySpec, body: Mapping[str, Any]) -> None:
    """Fault 2020 naming the first required property a create lacks."""
    for alternatives in spec.required:
        if not any(_present(body.get(name)) for name in alternatives):
            raise required_param(alternatives[0])


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str | list | Mapping):
        return bool(value.strip() if isinstance(value, str) else value)
    return True


# =========================================================================== defaults
#
# What the server fills in or computes on a write, given the merged candidate object.
# `normalize` receives the entity's writable fields (the envelope stripped) and the


def text_of(fields: Mapping[str, Any], key: str) -> str | None:
    """`fields[key]` when it is a string with more than blanks, else None."""
    value = fields.get(key)
    return value if isinstance(value, str) and value.strip() else None
