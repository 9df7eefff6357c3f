"""The entity registry: what the emulator knows about each QBO entity type.

`REGISTRY` maps each canonical name (`"Customer"`) to an `EntitySpec`: its URL name
(`/customer`), its kind, how it is voided, the top-level properties QBO accepts (any other
is fault 2010), what a create must carry, and which fields the server owns.

Kinds, as QBO treats them:

- **name lists** (Account, Customer, Vendor, Employee, Item, Class, Department, Term) are
  deactivated (sparse `Active:false`), never deleted;
- **transactions** (Invoice, Bill, Payment, BillPayment, SalesReceipt, Estimate,
  CreditMemo, JournalEntry, Purchase, Deposit) are deleted with `?operation=delete`;
- **read-only** entities (TaxCode, CompanyInfo, Preferences) are only read and queried
  here (Preferences has its own update route).

Void styles: Invoice documents `?operation=void`; Payment, SalesReceipt and BillPayment
document `?operation=update&include=void` with a sparse body. The emulator accepts either
URL form for all four (the .NET SDK voids every entity with `operation=void`).

The module also holds what a write computes, without the store's state:

- `coerce_body` turns hostile JSON into a clean mapping or a 400 fault (2010 as QBO's
  JSON reader words it), `check_required` names what a create lacks (2020);
- `normalize` fills the server's defaults and computed fields for each entity, reading
  the rest of the company through the `Lookup` protocol (`store.Company`): Customer gets
  Taxable, Job, BillWithParent, Balance 0, CurrencyRef, PreferredDeliveryMethod "Print",
  FullyQualifiedName, PrintOnCheckName, Active and DefaultTaxCodeRef (`create/customer.json`);
  transactions get a DocNumber (sales forms), TxnDate (the company's today), CurrencyRef,
  line Ids/LineNums/amounts, the sub-total line, TotalAmt, Balance, DueDate from terms,
  TxnTaxDetail and LinkedTxn (`create/invoice.json`); references are checked (2500 when
  missing, 610 when inactive) and carry their target's current name;
- `voided` is what a void leaves (`void/invoice.json`).

Codes chosen from Intuit's error table where QBO's exact answer is unrecorded: 6070 a line
Amount that is not Qty x UnitPrice, 6080 a person without any name, 6010 an account
without type, 6100 a US line tax code other than TAX/NON, 2170 a bad enumeration value,
900 a parent cycle, 6000 other business rules (negative totals, unbalanced journal
entries, over-applied payments, deactivating a name that owes money).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal, Protocol

import attrs

from qbo_adapters.emulator.faults import QBOFault, invalid_property, not_found, required_param

__all__ = [
    "ATTACHABLE_FIELDS",
    "MAX_AMOUNT_CENTS",
    "NAME_LIST",
    "OTHER_QBO_ENTITIES",
    "READ_ONLY",
    "REGISTRY",
    "TRANSACTION",
    "EntityKind",
    "EntitySpec",
    "bad_value",
    "check_required",
    "coerce_body",
    "money",
    "number_out",
    "other_entity",
    "spec_for_name",
    "spec_for_url",
    "to_cents",
    "to_decimal",
]

EntityKind = Literal["name_list", "transaction", "read_only"]
NAME_LIST: Final = "name_list"
TRANSACTION: Final = "transaction"
READ_ONLY: Final = "read_only"

#: The largest amount QBO stores: 99,999,999,999.99 (eleven digits before the point).
MAX_AMOUNT_CENTS: Final = 9_999_999_999_999
_MAX_QUANTITY: Final = Decimal("1e13")
_MAX_DEPTH: Final = 32
_MAX_TERM_DAYS: Final = 999


@attrs.frozen(kw_only=True)
class EntitySpec:
    """What the emulator knows about one entity type.

    `required` lists what a create must carry: each entry is a tuple of alternatives, at
    least one of which must be present (`("DisplayName", "GivenName", ...)`).
    `name_field` is the property deactivation suffixes with " (deleted)" (None for
    transactions). `void_styles` holds the URL forms that void it: `"operation"`
    (`?operation=void`) and `"include"` (`?operation=update&include=void`).
    `keep_on_full_update` are writable fields a full update keeps when the body omits
    them (QBO keeps them: `update/sales_receipt.json`).
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

    @property
    def is_name_list(self) -> bool:
        return self.kind == NAME_LIST

    @property
    def is_transaction(self) -> bool:
        return self.kind == TRANSACTION

    @property
    def voidable(self) -> bool:
        return bool(self.void_styles)


# --------------------------------------------------------------------------- properties


def _names(text: str) -> frozenset[str]:
    """The whitespace-separated names in `text`."""
    return frozenset(text.split())


_ENVELOPE = {"Id", "SyncToken", "MetaData", "domain", "sparse", "status"}

_PERSON = _names(
    """
    Title GivenName MiddleName FamilyName Suffix DisplayName PrintOnCheckName CompanyName
    Active PrimaryPhone AlternatePhone Mobile Fax PrimaryEmailAddr WebAddr OtherContactInfo
    Organization Source V4IDPseudonym CurrencyRef Balance OpenBalanceDate Notes
    BusinessNumber GSTIN GSTRegistrationType CustomField
    """
)

_CUSTOMER = _PERSON | _names(
    """
    Taxable BillAddr ShipAddr OtherAddr Job BillWithParent ParentRef Level SalesTermRef
    PaymentMethodRef BalanceWithJobs PreferredDeliveryMethod ResaleNum FullyQualifiedName
    DefaultTaxCodeRef TaxExemptionReasonId ARAccountRef PrimaryTaxIdentifier
    SecondaryTaxIdentifier IsProject ClientEntityId CustomerTypeRef TaxRegimeRef JobInfo
    IsCISContractor CISRate CISVerificationNumber CISVerificationDate ExternalId
    """
)

_VENDOR = _PERSON | _names(
    """
    BillAddr ShipAddr OtherAddr TaxIdentifier TermRef AcctNum Vendor1099 APAccountRef
    BillRate CostRate TaxReportingBasis T4AEligible T5018Eligible HasTPAR
    VendorPaymentBankDetail IsSubContractor ContactName AltContactName PurchaseTaxCodeRef
    VendorEx ExternalId
    """
)

_EMPLOYEE = _PERSON | _names(
    """
    PrimaryAddr EmployeeNumber SSN BillableTime BillRate CostRate BirthDate Gender HiredDate
    ReleasedDate EmployeeType
    """
)

_ACCOUNT = _names(
    """
    Name SubAccount ParentRef Description FullyQualifiedName Active Classification
    AccountType AccountSubType AcctNum AcctNumExtn CurrentBalance
    CurrentBalanceWithSubAccounts CurrencyRef TaxCodeRef AccountAlias TxnLocationType
    OpeningBalance OpeningBalanceDate BankNum OnlineBankingEnabled FIName JournalCodeRef
    AccountEx TaxAccount
    """
)

_ITEM = _names(
    """
    Name Sku Description Active SubItem ParentRef Level FullyQualifiedName Taxable
    SalesTaxIncluded PercentBased UnitPrice RatePercent Type PaymentMethodRef UOMSetRef
    IncomeAccountRef PurchaseDesc PurchaseTaxIncluded PurchaseCost ExpenseAccountRef
    AssetAccountRef COGSAccountRef PrefVendorRef TrackQtyOnHand QtyOnHand QtyOnPurchaseOrder
    QtyOnSalesOrder InvStartDate ReorderPoint AbatementRate ReverseChargeRate ServiceType
    ItemCategoryType ItemEx SalesTaxCodeRef PurchaseTaxCodeRef ClassRef Source
    TaxClassificationRef ItemGroupDetail ItemAssemblyDetail SpecialItem SpecialItemType
    ManPartNum DepositToAccountRef
    """
)

_CLASS = {"Name", "SubClass", "ParentRef", "FullyQualifiedName", "Active"}
_DEPARTMENT = {"Name", "SubDepartment", "ParentRef", "FullyQualifiedName", "Active"}
_TERM = _names(
    """
    Name Active Type DiscountPercent DiscountDays DueDays DayOfMonthDue DueNextMonthDays
    DiscountDayOfMonth
    """
)
_TAX_CODE = _names(
    """
    Name Description Active Hidden Taxable TaxGroup SalesTaxRateList PurchaseTaxRateList
    AdjustmentTaxRateList TaxCodeConfigType
    """
)

_TXN = _names(
    """
    DocNumber TxnDate DepartmentRef CurrencyRef ExchangeRate PrivateNote TxnStatus LinkedTxn
    Line TxnTaxDetail TxnSource TransactionLocationType CustomField Tag RecurDataRef
    ProjectRef TaxExemptionRef HomeTotalAmt TotalAmt GlobalTaxCalculation TxnApprovalInfo
    AttachableRef
    """
)

_SALES = _TXN | _names(
    """
    CustomerRef CustomerMemo BillAddr ShipAddr ShipFromAddr FreeFormAddress ClassRef
    SalesTermRef DueDate ShipMethodRef ShipDate TrackingNum ApplyTaxAfterDiscount
    PrintStatus EmailStatus BillEmail BillEmailCc BillEmailBcc DeliveryInfo Balance
    HomeBalance DepositToAccountRef PaymentMethodRef PaymentRefNum SalesRepRef TemplateRef
    ARAccountRef DiscountRate DiscountAmt TaxFormNum TaxFormType FOB PONumber AutoDocNumber
    RecurringInfo LessCIS RemitToRef callToAction
    """
)

_INVOICE = _SALES | _names(
    """
    Deposit AllowIPNPayment AllowOnlinePayment AllowOnlineCreditCardPayment
    AllowOnlineACHPayment InvoiceLink EInvoiceStatus ECloudStatusTimeStamp InvoiceEx
    invoiceStatusLog ConvenienceFeeDetail PaymentDetailsMessage ScheduledPaymentDetail
    """
)
_SALES_RECEIPT = _SALES | {"CreditCardPayment", "PaymentType", "CheckPayment"}
_ESTIMATE = _SALES | {"ExpirationDate", "AcceptedBy", "AcceptedDate", "EstimateEx"}
_CREDIT_MEMO = _SALES | {"RemainingCredit", "InvoiceRef", "CreditMemoEx"}

_BILL = _TXN | _names(
    """
    VendorRef APAccountRef SalesTermRef DueDate Balance HomeBalance VendorAddr RemitToAddr
    ShipAddr IncludeInAnnualTPAR BillEx
    """
)
_PAYMENT = _TXN | _names(
    """
    CustomerRef DepositToAccountRef PaymentMethodRef PaymentRefNum CreditCardPayment
    ARAccountRef UnappliedAmt ProcessPayment PaymentEx
    """
)
_BILL_PAYMENT = _TXN | _names(
    """
    VendorRef PayType CheckPayment CreditCardPayment APAccountRef ProcessBillPayment Balance
    """
)
_PURCHASE = _TXN | _names(
    """
    AccountRef PaymentType EntityRef Credit RemitToAddr PaymentMethodRef PaymentRefNum
    PrintStatus PurchaseEx IncludeInAnnualTPAR
    """
)
_DEPOSIT = _TXN | {"DepositToAccountRef", "CashBack"}
_JOURNAL_ENTRY = _TXN | {"Adjustment", "JournalEntryEx", "TaxRateRef"}

_COMPANY_INFO = _names(
    """
    CompanyName LegalName CompanyAddr CustomerCommunicationAddr LegalAddr
    CustomerCommunicationEmailAddr PrimaryPhone CompanyStartDate FiscalYearStartMonth
    Country Email WebAddr SupportedLanguages NameValue DefaultTimeZone
    """
)
_PREFERENCES = _names(
    """
    AccountingInfoPrefs ProductAndServicesPrefs SalesFormsPrefs EmailMessagesPrefs
    VendorAndPurchasesPrefs TimeTrackingPrefs TaxPrefs CurrencyPrefs ReportPrefs OtherPrefs
    """
)

_SALES_KEEP = frozenset({"DocNumber", "TxnDate", "CustomField"})
_TXN_KEEP = frozenset({"DocNumber", "TxnDate"})
_VOID_BOTH = frozenset({"operation", "include"})


def _spec(
    name: str,
    kind: EntityKind,
    known: Iterable[str],
    *,
    required: tuple[tuple[str, ...], ...] = (),
    name_field: str | None = None,
    voidable: bool = False,
    keep: frozenset[str] = frozenset(),
    cdc: bool = True,
) -> EntitySpec:
    return EntitySpec(
        name=name,
        url_name=name.lower(),
        kind=kind,
        known=frozenset(_ENVELOPE | set(known)),
        required=required,
        name_field=name_field,
        void_styles=_VOID_BOTH if voidable else frozenset(),
        keep_on_full_update=keep,
        cdc=cdc,
    )


REGISTRY: Final[dict[str, EntitySpec]] = {
    spec.name: spec
    for spec in (
        _spec(
            "Account",
            NAME_LIST,
            _ACCOUNT,
            required=(("Name",),),
            name_field="Name",
        ),
        _spec(
            "Customer",
            NAME_LIST,
            _CUSTOMER,
            name_field="DisplayName",
        ),
        _spec("Vendor", NAME_LIST, _VENDOR, name_field="DisplayName"),
        _spec(
            "Employee",
            NAME_LIST,
            _EMPLOYEE,
            name_field="DisplayName",
        ),
        _spec("Item", NAME_LIST, _ITEM, required=(("Name",),), name_field="Name"),
        _spec("Class", NAME_LIST, _CLASS, required=(("Name",),), name_field="Name"),
        _spec("Department", NAME_LIST, _DEPARTMENT, required=(("Name",),), name_field="Name"),
        _spec("Term", NAME_LIST, _TERM, required=(("Name",),), name_field="Name"),
        _spec("TaxCode", READ_ONLY, _TAX_CODE, cdc=False),
        _spec("CompanyInfo", READ_ONLY, _COMPANY_INFO),
        _spec("Preferences", READ_ONLY, _PREFERENCES),
        _spec(
            "Invoice",
            TRANSACTION,
            _INVOICE,
            required=(("CustomerRef",), ("Line",)),
            voidable=True,
            keep=_SALES_KEEP,
        ),
        _spec(
            "SalesReceipt",
            TRANSACTION,
            _SALES_RECEIPT,
            required=(("Line",),),
            voidable=True,
            keep=_SALES_KEEP,
        ),
        _spec(
            "Estimate",
            TRANSACTION,
            _ESTIMATE,
            required=(("CustomerRef",), ("Line",)),
            keep=_SALES_KEEP,
        ),
        _spec(
            "CreditMemo",
            TRANSACTION,
            _CREDIT_MEMO,
            required=(("CustomerRef",), ("Line",)),
            keep=_SALES_KEEP,
        ),
        _spec("Bill", TRANSACTION, _BILL, required=(("VendorRef",), ("Line",)), keep=_TXN_KEEP),
        _spec(
            "Payment",
            TRANSACTION,
            _PAYMENT,
            required=(("CustomerRef",), ("TotalAmt",)),
            voidable=True,
            keep=_TXN_KEEP,
        ),
        _spec(
            "BillPayment",
            TRANSACTION,
            _BILL_PAYMENT,
            required=(("VendorRef",), ("PayType",), ("TotalAmt",), ("Line",)),
            voidable=True,
            keep=_TXN_KEEP,
        ),
        _spec(
            "Purchase",
            TRANSACTION,
            _PURCHASE,
            required=(("AccountRef",), ("PaymentType",), ("Line",)),
            keep=_TXN_KEEP,
        ),
        _spec(
            "Deposit",
            TRANSACTION,
            _DEPOSIT,
            required=(("DepositToAccountRef",), ("Line",)),
            keep=_TXN_KEEP,
        ),
        _spec("JournalEntry", TRANSACTION, _JOURNAL_ENTRY, required=(("Line",),), keep=_TXN_KEEP),
    )
}

_BY_LOWER: Final = {name.lower(): spec for name, spec in REGISTRY.items()}

#: QBO entities the emulator holds none of: a query over one answers an empty page (and
#: COUNT 0) instead of "invalid context declaration", as QBO would for a company without
#: them; CDC lists none of them. Writes to them are "Unsupported Operation".
OTHER_QBO_ENTITIES: Final = frozenset(
    {
        "Attachable",
        "Budget",
        "CompanyCurrency",
        "CreditCardPayment",
        "CustomerType",
        "ExchangeRate",
        "JournalCode",
        "PaymentMethod",
        "PurchaseOrder",
        "RecurringTransaction",
        "RefundReceipt",
        "ReimburseCharge",
        "SalesTaxPayment",
        "TaxAgency",
        "TaxClassification",
        "TaxRate",
        "TimeActivity",
        "Transfer",
        "VendorCredit",
    }
)
_OTHER_BY_LOWER: Final = {name.lower(): name for name in OTHER_QBO_ENTITIES}

#: The properties of an Attachable (`attachments.py` holds them in the store once one is
#: uploaded or created; a query may name any of them).
ATTACHABLE_FIELDS: Final = frozenset(
    _ENVELOPE
    | _names(
        """
        FileName Note Category ContentType PlaceName AttachableRef Long Lat Tag
        FileAccessUri Size ThumbnailFileAccessUri TempDownloadUri ThumbnailTempDownloadUri
        """
    )
)


def other_entity(name: str) -> str | None:
    """The canonical name of a QBO entity the emulator does not hold, or None."""
    return _OTHER_BY_LOWER.get(name.lower())


def spec_for_url(url_name: str) -> EntitySpec | None:
    """The entity served at `/{url_name}` (QBO's paths are lower-case; any case accepted)."""
    return _BY_LOWER.get(url_name.lower())


def spec_for_name(name: str) -> EntitySpec | None:
    """The entity called `name` in a query, a batch item or a CDC list (any case)."""
    return _BY_LOWER.get(name.lower())


# --------------------------------------------------------------------------- faults


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


# --------------------------------------------------------------------------- coercion

_STRING_PROPS: Final = _names(
    """
    Id SyncToken DisplayName Title GivenName MiddleName FamilyName Suffix CompanyName
    PrintOnCheckName FullyQualifiedName Name Description DocNumber PrivateNote Notes
    AccountType AccountSubType Classification Type PaymentType PayType PrintStatus
    EmailStatus TxnStatus AcctNum TaxIdentifier PaymentRefNum PreferredDeliveryMethod
    ResaleNum Sku PurchaseDesc EmployeeNumber SSN Gender TrackingNum GlobalTaxCalculation
    domain status
    """
)
_BOOL_PROPS: Final = _names(
    """
    Active Taxable Job BillWithParent sparse Vendor1099 BillableTime AllowIPNPayment
    AllowOnlinePayment AllowOnlineCreditCardPayment AllowOnlineACHPayment
    ApplyTaxAfterDiscount Credit Adjustment SubAccount SubItem SubClass SubDepartment
    TrackQtyOnHand ProcessPayment ProcessBillPayment Organization SalesTaxIncluded
    PurchaseTaxIncluded IsProject Hidden TaxGroup
    """
)
_NUMBER_PROPS: Final = _names(
    """
    TotalAmt Balance BalanceWithJobs UnappliedAmt UnitPrice PurchaseCost QtyOnHand DueDays
    DiscountPercent DiscountDays DayOfMonthDue DueNextMonthDays DiscountDayOfMonth
    ExchangeRate Level CurrentBalance CurrentBalanceWithSubAccounts HomeTotalAmt HomeBalance
    Deposit DiscountRate DiscountAmt RemainingCredit CostRate BillRate RatePercent
    ReorderPoint OpeningBalance
    """
)
_DATE_PROPS: Final = _names(
    """
    TxnDate DueDate ShipDate ExpirationDate AcceptedDate BirthDate HiredDate ReleasedDate
    OpenBalanceDate InvStartDate OpeningBalanceDate
    """
)
_LIST_PROPS: Final = frozenset({"Line", "LinkedTxn", "CustomField", "Tag"})
_OBJECT_PROPS: Final = _names(
    """
    MetaData TxnTaxDetail PrimaryPhone AlternatePhone Mobile Fax PrimaryEmailAddr WebAddr
    CheckPayment CreditCardPayment DeliveryInfo CustomerMemo BillEmail BillEmailCc
    BillEmailBcc OtherContactInfo
    """
)
_DATE_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
    if key in _STRING_PROPS:
        return _as_string(key, value)
    if key in _BOOL_PROPS:
        return _as_bool(key, value)
    if key in _NUMBER_PROPS:
        return number_out(to_decimal(value, key))
    if key in _DATE_PROPS:
        text = _as_string(key, value)
        try:
            valid = bool(_DATE_RE.match(text)) and date.fromisoformat(text).year >= 1900
        except ValueError:
            valid = False
        if not valid:
            raise bad_value(key, value, "java.util.Date")
        return text
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
        if item is None:
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
        if item is None:
            continue
        if key in ("Qty", "UnitPrice", "DiscountPercent", "TaxInclusiveAmt"):
            detail[key] = number_out(to_decimal(item, label, limit=_MAX_QUANTITY))
        elif key.endswith("Ref"):
            detail[key] = _as_ref(label, item, depth)
        elif key in ("PostingType", "BillableStatus", "ServiceDate"):
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
    """Free-form JSON: finite numbers in range, at most `_MAX_DEPTH` levels."""
    if depth > _MAX_DEPTH:
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


# --------------------------------------------------------------------------- numbers


def to_decimal(value: Any, prop: str, *, limit: Decimal | None = None) -> Decimal:
    """A JSON number (or numeric string, as QBO accepts) as a finite `Decimal` in range."""
    if isinstance(value, bool) or value is None:
        raise bad_value(prop, value, "java.math.BigDecimal")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | float):
        number = Decimal(str(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation as exc:
            raise bad_value(prop, value, "java.math.BigDecimal") from exc
    else:
        raise bad_value(prop, value, "java.math.BigDecimal")
    bound = limit if limit is not None else Decimal(MAX_AMOUNT_CENTS) / 100
    if not number.is_finite() or abs(number) > bound:
        raise QBOFault.single(
            "2010",
            "Request has invalid or unsupported property",
            f"Property Name:{prop} value {str(value)[:40]} is out of range (at most {bound}) "
            "specified is unsupported or invalid",
        )
    return number


def to_cents(value: Any, prop: str) -> int:
    """A money amount as integer cents (half-up to the cent)."""
    number = to_decimal(value, prop)
    return int((number * 100).quantize(Decimal(1), rounding="ROUND_HALF_UP"))


def money(cents: int) -> int | float:
    """Integer cents as the JSON number QBO sends: a whole amount as an integer (`275`),
    any other as its shortest decimal (`87.5`, `0.01`).

    Facts file section 11 ("Numbers", responses recorded 2024-2026): whole amounts are
    written as integers, fractional ones as decimals. (The 2020 recordings wrote money
    with two decimals, `"TotalAmt":100.00`, `"Amount":337.50` in `create/invoice.json`,
    `all/sales_receipts.json`: the same JSON numbers, written differently.)
    """
    whole, rest = divmod(cents, 100)
    return whole if rest == 0 else cents / 100


def number_out(number: Decimal) -> int | float:
    """A `Decimal` as a JSON-ready number: `int` when whole, else `float` (quantities,
    unit prices and rates, as recorded: `"Qty":4`, `"Qty":2.5`, `"UnitPrice":12.75` in
    `cdc/basic.json`; whole amounts as integers as `money` writes them)."""
    if number == number.to_integral_value():
        return int(number)
    return float(number)


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
# previous version (None on create); it returns the fields to store. It reads the rest of
# the company through `Lookup` and raises `QBOFault`s for what QBO refuses.

Obj = dict[str, Any]

#: The " (deleted)" suffix QBO gives a deactivated name (`deactivate/employee.json`), with
#: a counter when that name is taken already.
DELETED_SUFFIX: Final = " (deleted)"
_DELETED_RE: Final = re.compile(r" \(deleted(?:-\d+)?\)$")

#: Where each `...Ref` key points (`ParentRef` points at the holder's own type and
#: `EntityRef` at its `type`). Refs not listed (CurrencyRef, PaymentMethodRef,
#: TaxRateRef...) are kept as sent.
REF_TARGETS: Final = {
    "CustomerRef": "Customer",
    "VendorRef": "Vendor",
    "EmployeeRef": "Employee",
    "ItemRef": "Item",
    "AccountRef": "Account",
    "DepositToAccountRef": "Account",
    "APAccountRef": "Account",
    "ARAccountRef": "Account",
    "IncomeAccountRef": "Account",
    "ExpenseAccountRef": "Account",
    "AssetAccountRef": "Account",
    "BankAccountRef": "Account",
    "CCAccountRef": "Account",
    "DiscountAccountRef": "Account",
    "ClassRef": "Class",
    "DepartmentRef": "Department",
    "SalesTermRef": "Term",
    "TermRef": "Term",
    "PrefVendorRef": "Vendor",
    "DefaultTaxCodeRef": "TaxCode",
    "TaxCodeRef": "TaxCode",
    "TxnTaxCodeRef": "TaxCode",
}
_TAX_CODE_REFS: Final = frozenset({"DefaultTaxCodeRef", "TaxCodeRef", "TxnTaxCodeRef"})
#: US pseudo tax codes used on lines; they are not TaxCode objects.
PSEUDO_TAX_CODES: Final = frozenset({"TAX", "NON"})

#: `LinkedTxn.TxnType` values and the entity each names.
TXN_TYPES: Final = {
    "Invoice": "Invoice",
    "Payment": "Payment",
    "Estimate": "Estimate",
    "CreditMemo": "CreditMemo",
    "SalesReceipt": "SalesReceipt",
    "Deposit": "Deposit",
    "Bill": "Bill",
    "BillPaymentCheck": "BillPayment",
    "BillPaymentCreditCard": "BillPayment",
    "JournalEntry": "JournalEntry",
    "Purchase": "Purchase",
}

#: Links the server keeps on a document (a client cannot set or remove them).
SERVER_LINKS: Final[dict[str, frozenset[str]]] = {
    "Invoice": frozenset({"Payment"}),
    "Bill": frozenset({"BillPaymentCheck", "BillPaymentCreditCard"}),
    "Estimate": frozenset({"Invoice"}),
    "SalesReceipt": frozenset({"Deposit"}),
}

SALES_FORMS: Final = frozenset({"Invoice", "SalesReceipt", "Estimate", "CreditMemo"})

_CLASSIFICATION: Final = {
    "Bank": "Asset",
    "Accounts Receivable": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Long Term Liability": "Liability",
    "Equity": "Equity",
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Expense": "Expense",
    "Other Expense": "Expense",
    "Cost of Goods Sold": "Expense",
}
_DEFAULT_SUBTYPE: Final = {
    "Bank": "Checking",
    "Accounts Receivable": "AccountsReceivable",
    "Other Current Asset": "OtherCurrentAssets",
    "Fixed Asset": "OtherFixedAssets",
    "Other Asset": "OtherLongTermAssets",
    "Accounts Payable": "AccountsPayable",
    "Credit Card": "CreditCard",
    "Other Current Liability": "OtherCurrentLiabilities",
    "Long Term Liability": "OtherLongTermLiabilities",
    "Equity": "OpeningBalanceEquity",
    "Income": "ServiceFeeIncome",
    "Other Income": "OtherMiscellaneousIncome",
    "Expense": "OtherMiscellaneousServiceCost",
    "Other Expense": "OtherMiscellaneousExpense",
    "Cost of Goods Sold": "SuppliesMaterialsCogs",
}
_TYPE_OF_SUBTYPE: Final = {
    **{sub: atype for atype, sub in _DEFAULT_SUBTYPE.items()},
    "Savings": "Bank",
    "MoneyMarket": "Bank",
    "CashOnHand": "Bank",
    "UndepositedFunds": "Other Current Asset",
    "Inventory": "Other Current Asset",
    "PrepaidExpenses": "Other Current Asset",
    "Vehicles": "Fixed Asset",
    "AccumulatedDepreciation": "Fixed Asset",
    "FurnitureAndFixtures": "Fixed Asset",
    "Machinery": "Fixed Asset",
    "LoanPayable": "Other Current Liability",
    "SalesTaxPayable": "Other Current Liability",
    "PayrollTaxPayable": "Other Current Liability",
    "NotesPayable": "Long Term Liability",
    "OwnersEquity": "Equity",
    "RetainedEarnings": "Equity",
    "PartnerContributions": "Equity",
    "OwnerContributions": "Equity",
    "SalesOfProductIncome": "Income",
    "DiscountsRefundsGiven": "Income",
    "InterestEarned": "Other Income",
    "AdvertisingPromotional": "Expense",
    "OfficeGeneralAdministrativeExpenses": "Expense",
    "Insurance": "Expense",
    "RentOrLeaseOfBuildings": "Expense",
    "Utilities": "Expense",
    "Travel": "Expense",
    "SuppliesMaterials": "Expense",
    "LegalProfessionalFees": "Expense",
    "PayrollExpenses": "Expense",
    "Auto": "Expense",
    "Depreciation": "Other Expense",
    "PenaltiesSettlements": "Other Expense",
    "CostOfLabor": "Cost of Goods Sold",
    "SuppliesMaterialsCogs": "Cost of Goods Sold",
}
_ITEM_TYPES: Final = frozenset({"Service", "NonInventory", "Inventory", "Group", "Category"})


def classification_of(account_type: str) -> str | None:
    """The `Classification` QBO gives an `AccountType`; None for an unknown type."""
    return _CLASSIFICATION.get(account_type)


def ref_display(target: Mapping[str, Any]) -> str | None:
    """The `name` a reference to `target` carries: FullyQualifiedName, DisplayName, Name."""
    for key in ("FullyQualifiedName", "DisplayName", "Name"):
        value = target.get(key)
        if isinstance(value, str):
            return value
    return None


def ref_target(holder: str, key: str, ref: Mapping[str, Any]) -> str | None:
    """The entity a `...Ref` under `key` inside a `holder` object points at (None: unchecked)."""
    if key == "ParentRef":
        return holder if REGISTRY.get(holder, _NO_SPEC).is_name_list else None
    if key == "EntityRef":
        kind = ref.get("type")
        return kind.capitalize() if isinstance(kind, str) and kind else None
    return REF_TARGETS.get(key)


_NO_SPEC: Final = EntitySpec(name="", url_name="", kind=READ_ONLY, known=frozenset())


class Lookup(Protocol):
    """What `normalize` reads of the company; `store.Company` implements it."""

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


# --------------------------------------------------------------------------- faults


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


# --------------------------------------------------------------------------- entry point


def normalize(
    spec: EntitySpec, fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup
) -> Obj:
    """The fields to store for a write: defaults filled, computed fields set, refs checked.

    `fields` is the merged candidate without the envelope (it is modified: pass a copy).
    `previous` is the stored version (None on create) and `obj_id` its Id. Server-owned
    fields (balances, totals, FullyQualifiedName, server links) come from `previous` or are
    computed; whatever the client sent for them is overwritten, as QBO does.
    """
    resolve_refs(spec.name, fields, lookup)
    handler = _NORMALIZERS.get(spec.name)
    if handler is None:
        return fields
    return handler(fields, previous, obj_id, lookup)


def resolve_refs(holder: str, node: Any, lookup: Lookup) -> None:
    """Check every `...Ref` under `node` points at a live object; fill in its `name`.

    A missing target is 2500; an inactive name-list target is 610, QBO's "Something you're
    trying to use has been made inactive".
    """
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("Ref") and isinstance(value, dict):
                _resolve_ref(holder, key, value, lookup)
            elif key != "LinkedTxn" and isinstance(value, dict | list):
                resolve_refs(holder, value, lookup)
    elif isinstance(node, list):
        for value in node:
            resolve_refs(holder, value, lookup)


def _resolve_ref(holder: str, key: str, ref: Obj, lookup: Lookup) -> None:
    target = ref_target(holder, key, ref)
    if target is None:
        return
    value = ref.get("value")
    if not isinstance(value, str) or not value:
        raise invalid_reference(key, value)
    if key in _TAX_CODE_REFS and value in PSEUDO_TAX_CODES:
        return
    obj = lookup.get(target, value)
    if obj is None:
        raise invalid_reference(key, value)
    if obj.get("Active") is False:
        raise not_found()
    if target == "Account":
        _check_account_type(key, obj)
    if key not in _TAX_CODE_REFS and (key != "ParentRef" or "name" in ref):
        name = ref_display(obj)
        if name is not None:
            ref["name"] = name


#: Account references that must name one kind of account.
_ACCOUNT_TYPES_FOR_REF: Final[dict[str, frozenset[str]]] = {
    "APAccountRef": frozenset({"Accounts Payable"}),
    "ARAccountRef": frozenset({"Accounts Receivable"}),
    "BankAccountRef": frozenset({"Bank"}),
    "CCAccountRef": frozenset({"Credit Card"}),
    "DepositToAccountRef": frozenset({"Bank", "Other Current Asset"}),
}

#: The control accounts: their balances are the sums of customers' (A/R) and vendors' (A/P)
#: open documents, which the store keeps in step, so nothing else may post to them.
_CONTROL_ACCOUNTS: Final = {
    "Accounts Receivable": "When you use Accounts Receivable, you must choose a customer "
    "in the Name field.",
    "Accounts Payable": "When you use Accounts Payable, you must choose a vendor in the "
    "Name field.",
}


def _check_account_type(key: str, account: Obj) -> None:
    """Refuse an account of the wrong kind for `key` (QBO's business error 6000).

    Bank, credit-card, A/P, A/R and deposit references take only their kind of account;
    every other account reference (lines, items, a purchase's payment account) may not
    name A/R or A/P. QBO accepts a journal line on A/R or A/P when it names the customer
    or vendor; the emulator does not carry journal entries into those balances, so it
    refuses them too (a documented limitation).
    """
    account_type = str(account.get("AccountType"))
    allowed = _ACCOUNT_TYPES_FOR_REF.get(key)
    if allowed is not None:
        if account_type not in allowed:
            raise business(
                f"Invalid account type: {key} needs {' or '.join(sorted(allowed))}, "
                f"not {account_type}",
                element=key,
            )
        return
    problem = _CONTROL_ACCOUNTS.get(account_type)
    if problem is not None:
        raise business(problem, element=key)


def ref_to(lookup: Lookup, entity: str, obj_id: str) -> Obj:
    """A reference to a stored object, with its name."""
    ref: Obj = {"value": obj_id}
    obj = lookup.get(entity, obj_id)
    name = ref_display(obj) if obj is not None else None
    if name is not None:
        ref["name"] = name
    return ref


def _ref_value(obj: Mapping[str, Any] | None, key: str) -> str | None:
    if not isinstance(obj, Mapping):
        return None
    ref = obj.get(key)
    if isinstance(ref, Mapping) and isinstance(ref.get("value"), str):
        return str(ref["value"])
    return None


# --------------------------------------------------------------------------- name lists


def _text(fields: Mapping[str, Any], key: str) -> str | None:
    value = fields.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _active(fields: Mapping[str, Any]) -> bool:
    return fields.get("Active") is not False


def _person_display(fields: Obj, previous: Obj | None) -> str:
    display = _text(fields, "DisplayName")
    if display is None:
        parts = [
            _text(fields, key)
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
    given = _text(fields, "PrintOnCheckName") or _text(fields, "CompanyName")
    if given is not None:
        return given
    parts = [_text(fields, key) for key in ("GivenName", "MiddleName", "FamilyName")]
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
    value = _ref_value(fields, "ParentRef")
    if value is None:
        fields.pop("ParentRef", None)
        return None
    parent = lookup.get(entity, value)
    seen = 0
    node = parent
    while node is not None and seen < 100:
        if obj_id is not None and node.get("Id") == obj_id:
            raise parent_cycle()
        up = _ref_value(node, "ParentRef")
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
    return out


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
    name = _text(fields, "Name")
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
    account_type = _text(fields, "AccountType")
    sub_type = _text(fields, "AccountSubType")
    if account_type is None:
        account_type = _TYPE_OF_SUBTYPE.get(sub_type or "")
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
        "AccountSubType": sub_type or _DEFAULT_SUBTYPE[account_type],
        "CurrentBalance": balance,
        "CurrentBalanceWithSubAccounts": _previous_number(
            previous, "CurrentBalanceWithSubAccounts"
        ),
        "CurrencyRef": fields.get("CurrencyRef") or lookup.home_currency(),
    }
    return out


def _item(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    name, full, parent, active = _named("Item", fields, previous, obj_id, lookup)
    item_type = _text(fields, "Type") or "Service"
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
    out["Type"] = _text(fields, "Type") or "STANDARD"
    for key in ("DiscountPercent", "DueDays", "DiscountDays"):
        out.setdefault(key, 0)
        value = out[key]
        if not isinstance(value, int | float) or not 0 <= value <= _MAX_TERM_DAYS:
            raise business(f"{key} must be between 0 and {_MAX_TERM_DAYS}", element=key)
    return out


def _level(obj: Mapping[str, Any]) -> int:
    value = obj.get("Level")
    return value if isinstance(value, int) else 0


def _previous_number(previous: Obj | None, key: str) -> int | float:
    if previous is None:
        return 0
    value = previous.get(key)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


# --------------------------------------------------------------------------- lines


class _LineIds:
    """Line Ids: a sent Id is kept when it is a free number; new lines count on."""

    def __init__(self, previous: Iterable[Any], sent: Iterable[Any], start: int) -> None:
        numbers = [
            int(line["Id"])
            for group in (previous, sent)
            for line in group
            if isinstance(line, Mapping)
            and isinstance(line.get("Id"), str)
            and line["Id"].isdigit()
        ]
        self.next = max(numbers, default=start - 1) + 1
        self.used: set[str] = set()

    def take(self, sent: Any) -> str:
        if isinstance(sent, str) and sent.isdigit() and sent not in self.used:
            self.used.add(sent)
            return sent
        while str(self.next) in self.used:
            self.next += 1
        value = str(self.next)
        self.used.add(value)
        self.next += 1
        return value


def _lines(fields: Obj, previous: Obj | None) -> list[Obj]:
    lines = fields.get("Line")
    if lines is None:
        return []
    if not isinstance(lines, list):
        raise bad_value("Line", lines, "java.util.List")
    return lines


def _previous_lines(previous: Obj | None) -> list[Any]:
    if previous is None:
        return []
    lines = previous.get("Line")
    return lines if isinstance(lines, list) else []


def _detail_type(line: Obj, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    detail_type = line.get("DetailType")
    if detail_type is None:
        for candidate in allowed:
            if candidate in line:
                return candidate
        raise required_param("Line.DetailType")
    if detail_type not in allowed:
        raise invalid_enum("Line.DetailType", detail_type)
    return str(detail_type)


def _priced_amount(line: Obj, detail: Obj, label: str) -> int:
    """A line's amount in cents from Amount, Qty and UnitPrice, checked against each other."""
    amount = line.get("Amount")
    qty = detail.get("Qty")
    price = detail.get("UnitPrice")
    if amount is None:
        if qty is None or price is None:
            raise required_param(f"{label}.Amount")
        product = to_decimal(qty, "Qty", limit=_MAX_QUANTITY) * to_decimal(
            price, "UnitPrice", limit=_MAX_QUANTITY
        )
        return to_cents(product.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"), "Amount")
    cents = to_cents(amount, "Amount")
    if qty is not None and price is not None:
        expected = to_decimal(qty, "Qty", limit=_MAX_QUANTITY) * to_decimal(
            price, "UnitPrice", limit=_MAX_QUANTITY
        )
        if abs(expected * 100 - cents) > 1:
            raise amount_mismatch(amount)
    elif qty is not None and price is None:
        quantity = to_decimal(qty, "Qty", limit=_MAX_QUANTITY)
        if quantity != 0:
            unit = (Decimal(cents) / 100 / quantity).quantize(Decimal("0.0000001"))
            detail["UnitPrice"] = number_out(unit.normalize())
    return cents


def _amount(line: Obj, label: str) -> int:
    amount = line.get("Amount")
    if amount is None:
        raise required_param(f"{label}.Amount")
    return to_cents(amount, "Amount")


def _line_out(
    line: Obj, line_id: str | None, line_num: int | None, cents: int, detail_type: str | None
) -> Obj:
    out: Obj = {}
    if line_id is not None:
        out["Id"] = line_id
    if line_num is not None:
        out["LineNum"] = line_num
    if "Description" in line and line["Description"] is not None:
        out["Description"] = line["Description"]
    out["Amount"] = money(cents)
    if detail_type is not None:
        out["DetailType"] = detail_type
    for key, value in line.items():
        if (
            key not in out
            and key not in ("Id", "LineNum", "Amount", "DetailType")
            and value is not None
        ):
            out[key] = value
    return out


def _line_items(lines: list[Any]) -> list[Obj]:
    out = []
    for line in lines:
        if not isinstance(line, dict):
            raise bad_value("Line", line, "com.intuit.schema.finance.v3.Line")
        out.append(line)
    return out


def sales_lines(fields: Obj, previous: Obj | None, lookup: Lookup) -> tuple[list[Obj], int, int]:
    """A sales form's lines with Ids, LineNums, computed amounts and the sub-total line.

    Returns (lines, item total, discount), in cents.
    """
    sent = _line_items(_lines(fields, previous))
    ids = _LineIds(_previous_lines(previous), sent, 1)
    out: list[Obj] = []
    items = discount = 0
    number = 0
    allowed = (
        "SalesItemLineDetail",
        "SubTotalLineDetail",
        "DiscountLineDetail",
        "DescriptionOnly",
    )
    for line in sent:
        detail_type = _detail_type(line, allowed)
        if detail_type == "SubTotalLineDetail":
            continue
        number += 1
        if detail_type == "SalesItemLineDetail":
            detail = dict(line.get(detail_type) or {})
            if "ItemRef" not in detail:
                item_id = lookup.default_item_id()
                if item_id is None:
                    raise required_param("ItemRef")
                detail["ItemRef"] = ref_to(lookup, "Item", item_id)
            detail.setdefault("TaxCodeRef", {"value": "NON"})
            tax_code = _ref_value(detail, "TaxCodeRef")
            if tax_code not in PSEUDO_TAX_CODES:
                raise QBOFault.single(
                    "6100",
                    "Invalid Line TaxCode in the request",
                    "Valid Line TaxCodes for US should be TAX or NON. Supplied value:"
                    f"{tax_code!s:.40}",
                    element="Line.TaxCodeRef",
                )
            cents = _priced_amount(line, detail, "Line")
            items += cents
            out.append(
                _line_out(
                    {**line, detail_type: detail},
                    ids.take(line.get("Id")),
                    number,
                    cents,
                    detail_type,
                )
            )
        elif detail_type == "DiscountLineDetail":
            detail = dict(line.get(detail_type) or {})
            percent = detail.get("DiscountPercent")
            if detail.get("PercentBased") is True:
                if percent is None:
                    raise QBOFault.single(
                        "6090",
                        "Discount Line missing required info.",
                        "Discount amount or percent should be provided.",
                        element="Line.DiscountLineDetail",
                    )
                rate = to_decimal(percent, "DiscountPercent", limit=Decimal(100))
                cents = int(
                    (Decimal(items) * rate / 100).quantize(Decimal(1), rounding="ROUND_HALF_UP")
                )
            else:
                cents = _amount(line, "Line")
            if "DiscountAccountRef" not in detail:
                account = lookup.default_account_id("discount")
                if account is None:
                    raise required_param("DiscountAccountRef")
                detail["DiscountAccountRef"] = ref_to(lookup, "Account", account)
            discount += cents
            out.append(
                _line_out(
                    {**line, detail_type: detail},
                    ids.take(line.get("Id")),
                    number,
                    cents,
                    detail_type,
                )
            )
        else:
            line_out = _line_out(line, ids.take(line.get("Id")), number, 0, detail_type)
            line_out.pop("Amount", None)
            out.append(line_out)
    if not any(line.get("DetailType") == "SalesItemLineDetail" for line in out):
        raise required_param("Line")
    out.append(
        {"Amount": money(items), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
    )
    return out, items, discount


def expense_lines(fields: Obj, previous: Obj | None) -> tuple[list[Obj], int]:
    """A bill's or purchase's lines, with their total in cents."""
    sent = _line_items(_lines(fields, previous))
    if not sent:
        raise required_param("Line")
    ids = _LineIds(_previous_lines(previous), sent, 1)
    out: list[Obj] = []
    total = 0
    allowed = ("AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail")
    for number, line in enumerate(sent, start=1):
        detail_type = _detail_type(line, allowed)
        detail = dict(line.get(detail_type) or {})
        if detail_type == "AccountBasedExpenseLineDetail":
            if "AccountRef" not in detail:
                raise required_param("AccountRef")
            cents = _amount(line, "Line")
        else:
            if "ItemRef" not in detail:
                raise required_param("ItemRef")
            cents = _priced_amount(line, detail, "Line")
        detail.setdefault("BillableStatus", "NotBillable")
        detail.setdefault("TaxCodeRef", {"value": "NON"})
        total += cents
        out.append(
            _line_out(
                {**line, detail_type: detail}, ids.take(line.get("Id")), number, cents, detail_type
            )
        )
    return out, total


def linked_lines(fields: Obj, allowed_types: Iterable[str]) -> tuple[list[Obj], dict[str, int]]:
    """Payment or bill-payment lines: each links one document. Totals per TxnType, in cents."""
    allowed = frozenset(allowed_types)
    out: list[Obj] = []
    totals: dict[str, int] = {}
    for line in _line_items(_lines(fields, None)):
        links = line.get("LinkedTxn")
        if not isinstance(links, list) or not links:
            raise required_param("Line.LinkedTxn")
        txn_type = links[0].get("TxnType")
        if txn_type not in allowed or not links[0].get("TxnId"):
            raise business(
                f"A payment line must link one of {', '.join(sorted(allowed))}",
                element="Line.LinkedTxn",
            )
        cents = _amount(line, "Line")
        if cents < 0:
            raise business("A payment line amount cannot be negative", element="Line.Amount")
        totals[str(txn_type)] = totals.get(str(txn_type), 0) + cents
        out.append(_line_out({**line, "LinkedTxn": [links[0]]}, None, None, cents, None))
    return out, totals


def deposit_lines(fields: Obj, previous: Obj | None) -> tuple[list[Obj], int]:
    """A deposit's lines (linked payments and receipts, or other funds), total in cents."""
    sent = _line_items(_lines(fields, previous))
    if not sent:
        raise required_param("Line")
    ids = _LineIds(_previous_lines(previous), sent, 1)
    out: list[Obj] = []
    total = 0
    for number, line in enumerate(sent, start=1):
        cents = _amount(line, "Line")
        links = line.get("LinkedTxn")
        if isinstance(links, list) and links:
            link = dict(links[0])
            if link.get("TxnType") not in ("Payment", "SalesReceipt") or not link.get("TxnId"):
                raise business(
                    "A deposit line links a Payment or SalesReceipt", element="Line.LinkedTxn"
                )
            link.setdefault("TxnLineId", "0")
            out.append(
                _line_out(
                    {**line, "LinkedTxn": [link]}, ids.take(line.get("Id")), number, cents, None
                )
            )
        else:
            detail = line.get("DepositLineDetail")
            if not isinstance(detail, dict) or "AccountRef" not in detail:
                raise required_param("DepositLineDetail.AccountRef")
            line.pop("LinkedTxn", None)
            out.append(
                _line_out(line, ids.take(line.get("Id")), number, cents, "DepositLineDetail")
            )
        total += cents
    return out, total


def journal_lines(fields: Obj, previous: Obj | None) -> tuple[list[Obj], int]:
    """A journal entry's lines (Ids from 0, as QBO numbers them), total debits in cents."""
    sent = _line_items(_lines(fields, previous))
    if not sent:
        raise required_param("Line")
    ids = _LineIds(_previous_lines(previous), sent, 0)
    out: list[Obj] = []
    debit = credit = 0
    for line in sent:
        detail_type = _detail_type(line, ("JournalEntryLineDetail",))
        detail = line.get(detail_type)
        if not isinstance(detail, dict) or "AccountRef" not in detail:
            raise required_param("JournalEntryLineDetail.AccountRef")
        posting = detail.get("PostingType")
        if posting not in ("Debit", "Credit"):
            raise required_param("JournalEntryLineDetail.PostingType")
        cents = _amount(line, "Line")
        if cents < 0:
            raise business("A journal line amount cannot be negative", element="Line.Amount")
        if posting == "Debit":
            debit += cents
        else:
            credit += cents
        out.append(_line_out(line, ids.take(line.get("Id")), None, cents, detail_type))
    if debit != credit:
        raise business(
            "You must balance debits and credits "
            f"(debits {money(debit):.2f}, credits {money(credit):.2f})",
            element="Line",
        )
    return out, debit


# --------------------------------------------------------------------------- transactions


def _common(entity: str, fields: Obj, lookup: Lookup) -> Obj:
    out = dict(fields)
    out["TxnDate"] = _text(fields, "TxnDate") or lookup.today_text()
    out["CurrencyRef"] = fields.get("CurrencyRef") or lookup.home_currency()
    if entity in SALES_FORMS and _text(fields, "DocNumber") is None:
        out["DocNumber"] = lookup.next_doc_number(entity)
    doc = out.get("DocNumber")
    if isinstance(doc, str) and len(doc) > 21:
        raise business("DocNumber is longer than 21 characters", element="DocNumber")
    return out


def _client_links(entity: str, fields: Obj) -> list[Obj]:
    server = SERVER_LINKS.get(entity, frozenset())
    links = fields.get("LinkedTxn")
    if not isinstance(links, list):
        return []
    kept = []
    for link in links:
        if isinstance(link, dict) and link.get("TxnType") not in server:
            kept.append(link)
    return kept


def server_links(entity: str, obj: Obj | None) -> list[Obj]:
    """The links on `obj` that the server maintains (payments on an invoice...)."""
    server = SERVER_LINKS.get(entity, frozenset())
    if obj is None or not server:
        return []
    links = obj.get("LinkedTxn")
    if not isinstance(links, list):
        return []
    return [link for link in links if isinstance(link, dict) and link.get("TxnType") in server]


def applied_cents(previous: Obj | None) -> int:
    """How much payments have applied to a document: its TotalAmt less its Balance."""
    if previous is None:
        return 0
    return to_cents(previous.get("TotalAmt", 0) or 0, "TotalAmt") - to_cents(
        previous.get("Balance", 0) or 0, "Balance"
    )


def _due_date(fields: Obj, txn_date: str, term_id: str | None, lookup: Lookup) -> str:
    due = _text(fields, "DueDate")
    if due is not None:
        if due < txn_date:
            raise business("The due date cannot be before the transaction date", element="DueDate")
        return due
    term = lookup.get("Term", term_id) if term_id is not None else None
    days = term.get("DueDays") if term is not None else 0
    if not isinstance(days, int) or not 0 <= days <= _MAX_TERM_DAYS:
        days = 0
    start = date.fromisoformat(txn_date)
    try:
        return (start + timedelta(days=days)).isoformat()
    except OverflowError:
        return txn_date


def _custom_fields(fields: Obj, lookup: Lookup) -> list[Obj]:
    definitions = lookup.sales_custom_fields()
    sent = fields.get("CustomField")
    if not isinstance(sent, list):
        return [dict(item) for item in definitions]
    names = {item.get("DefinitionId"): item for item in definitions}
    out = []
    for item in sent:
        if not isinstance(item, dict):
            continue
        known = names.get(item.get("DefinitionId"))
        out.append({**(known or {}), **item})
    return out


def _sales_form(entity: str, fields: Obj, previous: Obj | None, lookup: Lookup) -> Obj:
    out = _common(entity, fields, lookup)
    lines, items, discount = sales_lines(fields, previous, lookup)
    tax_detail = fields.get("TxnTaxDetail")
    tax_detail = dict(tax_detail) if isinstance(tax_detail, dict) else {}
    tax = to_cents(tax_detail.get("TotalTax", 0) or 0, "TotalTax")
    total = items - discount + tax
    if total < 0:
        raise business("The transaction total cannot be negative", element="TotalAmt")
    tax_detail["TotalTax"] = money(tax)
    customer_id = _ref_value(fields, "CustomerRef")
    customer = lookup.get("Customer", customer_id) if customer_id else None
    if customer is not None:
        for key in ("BillAddr", "ShipAddr"):
            if key not in out and isinstance(customer.get(key), dict):
                out[key] = dict(customer[key])
    out["CustomField"] = _custom_fields(fields, lookup)
    out["Line"] = lines
    out["TxnTaxDetail"] = tax_detail
    out["TotalAmt"] = money(total)
    out["ApplyTaxAfterDiscount"] = fields.get("ApplyTaxAfterDiscount") is True
    out["PrintStatus"] = _text(fields, "PrintStatus") or "NeedToPrint"
    out["EmailStatus"] = _text(fields, "EmailStatus") or "NotSet"
    links = _client_links(entity, fields) + server_links(entity, previous)
    if links or entity == "Invoice":
        out["LinkedTxn"] = links
    else:
        out.pop("LinkedTxn", None)
    if entity in ("Invoice", "CreditMemo"):
        balance = total - applied_cents(previous)
        if balance < 0:
            raise business(
                "Payments applied to this transaction exceed its new total", element="TotalAmt"
            )
        out["Balance"] = money(balance)
        if entity == "CreditMemo":
            out["RemainingCredit"] = money(balance)
    return out


def _invoice(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _sales_form("Invoice", fields, previous, lookup)
    for key in (
        "AllowIPNPayment",
        "AllowOnlinePayment",
        "AllowOnlineCreditCardPayment",
        "AllowOnlineACHPayment",
    ):
        out[key] = fields.get(key) is True
    term = _ref_value(fields, "SalesTermRef")
    if term is None:
        customer = lookup.get("Customer", _ref_value(fields, "CustomerRef") or "")
        term = _ref_value(customer, "SalesTermRef") or lookup.default_term_id("sales")
    out["DueDate"] = _due_date(fields, out["TxnDate"], term, lookup)
    return out


def _sales_receipt(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _sales_form("SalesReceipt", fields, previous, lookup)
    out["Balance"] = 0
    if "DepositToAccountRef" not in out:
        account = lookup.default_account_id("uf")
        if account is not None:
            out["DepositToAccountRef"] = ref_to(lookup, "Account", account)
    return out


def _estimate(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _sales_form("Estimate", fields, previous, lookup)
    if server_links("Estimate", previous):
        out["TxnStatus"] = "Closed"
    else:
        status = _text(fields, "TxnStatus") or "Pending"
        out["TxnStatus"] = "Pending" if status == "Closed" else status
    return out


def _credit_memo(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    return _sales_form("CreditMemo", fields, previous, lookup)


def _bill(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _common("Bill", fields, lookup)
    lines, total = expense_lines(fields, previous)
    if "APAccountRef" not in out:
        account = lookup.default_account_id("ap")
        if account is not None:
            out["APAccountRef"] = ref_to(lookup, "Account", account)
    term = _ref_value(fields, "SalesTermRef")
    if term is None:
        vendor = lookup.get("Vendor", _ref_value(fields, "VendorRef") or "")
        term = _ref_value(vendor, "TermRef") or lookup.default_term_id("purchases")
    out["DueDate"] = _due_date(fields, out["TxnDate"], term, lookup)
    out["Line"] = lines
    out["TotalAmt"] = money(total)
    balance = total - applied_cents(previous)
    if balance < 0:
        raise business("Bill payments applied exceed the new total", element="TotalAmt")
    out["Balance"] = money(balance)
    out["LinkedTxn"] = _client_links("Bill", fields) + server_links("Bill", previous)
    return out


def _payment(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _common("Payment", fields, lookup)
    total = to_cents(fields.get("TotalAmt"), "TotalAmt")
    if total < 0:
        raise business("The payment amount cannot be negative", element="TotalAmt")
    lines, totals = linked_lines(fields, ("Invoice", "CreditMemo"))
    unapplied = total - totals.get("Invoice", 0) + totals.get("CreditMemo", 0)
    if unapplied < 0:
        raise business("The amounts applied exceed the payment amount", element="Line.Amount")
    if "DepositToAccountRef" not in out:
        account = lookup.default_account_id("uf")
        if account is not None:
            out["DepositToAccountRef"] = ref_to(lookup, "Account", account)
    out["TotalAmt"] = money(total)
    out["UnappliedAmt"] = money(unapplied)
    out["ProcessPayment"] = fields.get("ProcessPayment") is True
    out["Line"] = lines
    return out


def _bill_payment(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _common("BillPayment", fields, lookup)
    pay_type = fields.get("PayType")
    if pay_type == "Check":
        holder, key = "CheckPayment", "BankAccountRef"
    elif pay_type == "CreditCard":
        holder, key = "CreditCardPayment", "CCAccountRef"
    else:
        raise invalid_enum("PayType", pay_type)
    detail = fields.get(holder)
    if not isinstance(detail, dict) or key not in detail:
        raise required_param(f"{holder}.{key}")
    total = to_cents(fields.get("TotalAmt"), "TotalAmt")
    lines, totals = linked_lines(fields, ("Bill",))
    if not lines:
        raise required_param("Line")
    if totals.get("Bill", 0) != total:
        raise business(
            "The bill payment amount must equal the amounts applied to bills",
            element="TotalAmt",
        )
    if "APAccountRef" not in out:
        account = lookup.default_account_id("ap")
        if account is not None:
            out["APAccountRef"] = ref_to(lookup, "Account", account)
    out.pop("CheckPayment" if pay_type == "CreditCard" else "CreditCardPayment", None)
    out["TotalAmt"] = money(total)
    out["Line"] = lines
    return out


def _purchase(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _common("Purchase", fields, lookup)
    if fields.get("PaymentType") not in ("Cash", "Check", "CreditCard"):
        raise invalid_enum("PaymentType", fields.get("PaymentType"))
    lines, total = expense_lines(fields, previous)
    out["Line"] = lines
    out["TotalAmt"] = money(total)
    return out


def _deposit(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _common("Deposit", fields, lookup)
    target = _ref_value(fields, "DepositToAccountRef")
    if target is not None and target == lookup.default_account_id("uf"):
        raise business("You cannot deposit into Undeposited Funds", element="DepositToAccountRef")
    lines, total = deposit_lines(fields, previous)
    out["Line"] = lines
    out["TotalAmt"] = money(total)
    return out


def _journal_entry(fields: Obj, previous: Obj | None, obj_id: str | None, lookup: Lookup) -> Obj:
    out = _common("JournalEntry", fields, lookup)
    lines, total = journal_lines(fields, previous)
    out["Adjustment"] = fields.get("Adjustment") is True
    out["Line"] = lines
    out["TotalAmt"] = money(total)
    return out


_NORMALIZERS: Final[dict[str, Callable[[Obj, Obj | None, str | None, Lookup], Obj]]] = {
    "Customer": _customer,
    "Vendor": _vendor,
    "Employee": _employee,
    "Account": _account,
    "Item": _item,
    "Class": _class_like("SubClass"),
    "Department": _class_like("SubDepartment"),
    "Term": _term,
    "Invoice": _invoice,
    "SalesReceipt": _sales_receipt,
    "Estimate": _estimate,
    "CreditMemo": _credit_memo,
    "Bill": _bill,
    "Payment": _payment,
    "BillPayment": _bill_payment,
    "Purchase": _purchase,
    "Deposit": _deposit,
    "JournalEntry": _journal_entry,
}


def voided(entity: str, obj: Obj) -> Obj:
    """`obj` voided as QBO voids: amounts zeroed (quantities too, so lines still add up),
    TotalAmt and Balance 0, PrivateNote "Voided" (`void/invoice.json`)."""
    out = copy.deepcopy(obj)
    for line in out.get("Line") or ():
        if not isinstance(line, dict):
            continue
        if "Amount" in line:
            line["Amount"] = 0
        detail = line.get(str(line.get("DetailType")))
        if isinstance(detail, dict) and "Qty" in detail:
            detail["Qty"] = 0
    out["TotalAmt"] = 0
    if "Balance" in out or entity in ("Invoice", "SalesReceipt"):
        out["Balance"] = 0
    tax = out.get("TxnTaxDetail")
    if isinstance(tax, dict):
        tax["TotalTax"] = 0
    if entity == "Payment":
        out["UnappliedAmt"] = 0
    out["PrivateNote"] = "Voided"
    return out
