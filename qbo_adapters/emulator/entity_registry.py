"""The entity registry: what the emulator knows about each QBO entity type.

`REGISTRY` maps each canonical name (`"Customer"`) to an `EntitySpec`: its URL name
(`/customer`), its kind, how it is voided, the top-level properties QBO accepts (any other
is fault 2010), what a create must carry, which fields a full update keeps and its
normalizer (`entity_name_lists`, `entity_transactions`). `OTHER_QBO_ENTITIES` are the QBO
entities the emulator holds none of; `ATTACHABLE_FIELDS` the properties of an Attachable.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from qbo_adapters.emulator.entity_more_transactions import MORE_TRANSACTION_NORMALIZERS
from qbo_adapters.emulator.entity_name_lists import NAME_LIST_NORMALIZERS
from qbo_adapters.emulator.entity_spec import (
    NAME_LIST,
    READ_ONLY,
    TRANSACTION,
    EntityKind,
    EntitySpec,
    names_in,
)
from qbo_adapters.emulator.entity_tax_and_payment_lists import TAX_AND_PAYMENT_NORMALIZERS
from qbo_adapters.emulator.entity_transactions import TRANSACTION_NORMALIZERS

__all__ = [
    "ATTACHABLE_FIELDS",
    "OTHER_QBO_ENTITIES",
    "REGISTRY",
    "other_entity",
    "spec_for_name",
    "spec_for_url",
]

_NORMALIZERS: Final = {
    **NAME_LIST_NORMALIZERS,
    **TAX_AND_PAYMENT_NORMALIZERS,
    **TRANSACTION_NORMALIZERS,
    **MORE_TRANSACTION_NORMALIZERS,
}

_ENVELOPE = {"Id", "SyncToken", "MetaData", "domain", "sparse", "status"}

_PERSON = names_in(
    """
    Title GivenName MiddleName FamilyName Suffix DisplayName PrintOnCheckName CompanyName
    Active PrimaryPhone AlternatePhone Mobile Fax PrimaryEmailAddr WebAddr OtherContactInfo
    Organization Source V4IDPseudonym CurrencyRef Balance OpenBalanceDate Notes
    BusinessNumber GSTIN GSTRegistrationType CustomField
    """
)

_CUSTOMER = _PERSON | names_in(
    """
    Taxable BillAddr ShipAddr OtherAddr Job BillWithParent ParentRef Level SalesTermRef
    PaymentMethodRef BalanceWithJobs PreferredDeliveryMethod ResaleNum FullyQualifiedName
    DefaultTaxCodeRef TaxExemptionReasonId ARAccountRef PrimaryTaxIdentifier
    SecondaryTaxIdentifier IsProject ClientEntityId CustomerTypeRef TaxRegimeRef JobInfo
    IsCISContractor CISRate CISVerificationNumber CISVerificationDate ExternalId
    """
)

_VENDOR = _PERSON | names_in(
    """
    BillAddr ShipAddr OtherAddr TaxIdentifier TermRef AcctNum Vendor1099 APAccountRef
    BillRate CostRate TaxReportingBasis T4AEligible T5018Eligible HasTPAR
    VendorPaymentBankDetail IsSubContractor ContactName AltContactName PurchaseTaxCodeRef
    VendorEx ExternalId
    """
)

_EMPLOYEE = _PERSON | names_in(
    """
    PrimaryAddr EmployeeNumber SSN BillableTime BillRate CostRate BirthDate Gender HiredDate
    ReleasedDate EmployeeType
    """
)

_ACCOUNT = names_in(
    """
    Name SubAccount ParentRef Description FullyQualifiedName Active Classification
    AccountType AccountSubType AcctNum AcctNumExtn CurrentBalance
    CurrentBalanceWithSubAccounts CurrencyRef TaxCodeRef AccountAlias TxnLocationType
    OpeningBalance OpeningBalanceDate BankNum OnlineBankingEnabled FIName JournalCodeRef
    AccountEx TaxAccount
    """
)

_ITEM = names_in(
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
_TERM = names_in(
    """
    Name Active Type DiscountPercent DiscountDays DueDays DayOfMonthDue DueNextMonthDays
    DiscountDayOfMonth
    """
)
_TAX_CODE = names_in(
    """
    Name Description Active Hidden Taxable TaxGroup SalesTaxRateList PurchaseTaxRateList
    AdjustmentTaxRateList TaxCodeConfigType
    """
)

_TXN = names_in(
    """
    DocNumber TxnDate DepartmentRef CurrencyRef ExchangeRate PrivateNote TxnStatus LinkedTxn
    Line TxnTaxDetail TxnSource TransactionLocationType CustomField Tag RecurDataRef
    ProjectRef TaxExemptionRef HomeTotalAmt TotalAmt GlobalTaxCalculation TxnApprovalInfo
    AttachableRef
    """
)

_SALES = _TXN | names_in(
    """
    CustomerRef CustomerMemo BillAddr ShipAddr ShipFromAddr FreeFormAddress ClassRef
    SalesTermRef DueDate ShipMethodRef ShipDate TrackingNum ApplyTaxAfterDiscount
    PrintStatus EmailStatus BillEmail BillEmailCc BillEmailBcc DeliveryInfo Balance
    HomeBalance DepositToAccountRef PaymentMethodRef PaymentRefNum SalesRepRef TemplateRef
    ARAccountRef DiscountRate DiscountAmt TaxFormNum TaxFormType FOB PONumber AutoDocNumber
    RecurringInfo LessCIS RemitToRef callToAction
    """
)

_INVOICE = _SALES | names_in(
    """
    Deposit AllowIPNPayment AllowOnlinePayment AllowOnlineCreditCardPayment
    AllowOnlineACHPayment InvoiceLink EInvoiceStatus ECloudStatusTimeStamp InvoiceEx
    invoiceStatusLog ConvenienceFeeDetail PaymentDetailsMessage ScheduledPaymentDetail
    """
)
_SALES_RECEIPT = _SALES | {"CreditCardPayment", "PaymentType", "CheckPayment"}
_ESTIMATE = _SALES | {"ExpirationDate", "AcceptedBy", "AcceptedDate", "EstimateEx"}
_CREDIT_MEMO = _SALES | {"RemainingCredit", "InvoiceRef", "CreditMemoEx"}

_BILL = _TXN | names_in(
    """
    VendorRef APAccountRef SalesTermRef DueDate Balance HomeBalance VendorAddr RemitToAddr
    ShipAddr IncludeInAnnualTPAR BillEx
    """
)
_PAYMENT = _TXN | names_in(
    """
    CustomerRef DepositToAccountRef PaymentMethodRef PaymentRefNum CreditCardPayment
    ARAccountRef UnappliedAmt ProcessPayment PaymentEx
    """
)
_BILL_PAYMENT = _TXN | names_in(
    """
    VendorRef PayType CheckPayment CreditCardPayment APAccountRef ProcessBillPayment Balance
    """
)
_PURCHASE = _TXN | names_in(
    """
    AccountRef PaymentType EntityRef Credit RemitToAddr PaymentMethodRef PaymentRefNum
    PrintStatus PurchaseEx IncludeInAnnualTPAR
    """
)
_DEPOSIT = _TXN | {"DepositToAccountRef", "CashBack"}
_JOURNAL_ENTRY = _TXN | {"Adjustment", "JournalEntryEx", "TaxRateRef"}

_PAYMENT_METHOD = {"Name", "Active", "Type"}
_TAX_AGENCY = names_in(
    """
    DisplayName TaxTrackedOnSales TaxTrackedOnPurchases TaxRegistrationNumber
    ReportingPeriod LastFileDate TaxAgencyConfig
    """
)
_TAX_RATE = names_in(
    """
    Name Description Active RateValue AgencyRef TaxReturnLineRef EffectiveTaxRate
    SpecialTaxType DisplayType OriginalTaxRate
    """
)

_PURCHASE_ORDER = _TXN | names_in(
    """
    VendorRef APAccountRef ClassRef SalesTermRef DueDate ExpectedDate VendorAddr ShipAddr
    ShipTo ShipMethodRef POStatus POEmail EmailStatus Memo ManuallyClosed
    """
)
_VENDOR_CREDIT = _TXN | {"VendorRef", "APAccountRef", "Balance", "IncludeInAnnualTPAR"}
_REFUND_RECEIPT = _SALES | {"CheckPayment", "CreditCardPayment", "PaymentType"}
_TRANSFER = names_in(
    """
    TxnDate FromAccountRef ToAccountRef Amount PrivateNote CurrencyRef ExchangeRate
    TransactionLocationType RecurDataRef TxnSource
    """
)
_CREDIT_CARD_PAYMENT = names_in(
    """
    TxnDate CreditCardAccountRef BankAccountRef Amount VendorRef Memo PrivateNote
    PrintStatus CheckNum CurrencyRef TxnSource
    """
)
_TIME_ACTIVITY = names_in(
    """
    TxnDate NameOf EmployeeRef VendorRef OtherNameRef CustomerRef ItemRef ClassRef
    DepartmentRef PayrollItemRef BillableStatus Taxable HourlyRate CostRate Hours Minutes
    Seconds BreakHours BreakMinutes BreakSeconds StartTime EndTime Description TimeZone
    TransactionLocationType ProjectRef
    """
)

_COMPANY_INFO = names_in(
    """
    CompanyName LegalName CompanyAddr CustomerCommunicationAddr LegalAddr
    CustomerCommunicationEmailAddr PrimaryPhone CompanyStartDate FiscalYearStartMonth
    Country Email WebAddr SupportedLanguages NameValue DefaultTimeZone
    """
)
_PREFERENCES = names_in(
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
    updatable: bool = True,
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
        updatable=updatable,
        normalizer=_NORMALIZERS.get(name),
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
        _spec(
            "PaymentMethod", NAME_LIST, _PAYMENT_METHOD, required=(("Name",),), name_field="Name"
        ),
        _spec("TaxCode", READ_ONLY, _TAX_CODE, cdc=False),
        _spec("TaxRate", READ_ONLY, _TAX_RATE, cdc=False),
        _spec(
            "TaxAgency",
            NAME_LIST,
            _TAX_AGENCY,
            required=(("DisplayName",),),
            cdc=False,
            updatable=False,
        ),
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
        _spec(
            "PurchaseOrder",
            TRANSACTION,
            _PURCHASE_ORDER,
            required=(("VendorRef",), ("Line",)),
            keep=_TXN_KEEP,
        ),
        _spec(
            "VendorCredit",
            TRANSACTION,
            _VENDOR_CREDIT,
            required=(("VendorRef",), ("Line",)),
            keep=_TXN_KEEP,
        ),
        _spec(
            "RefundReceipt",
            TRANSACTION,
            _REFUND_RECEIPT,
            required=(("Line",), ("DepositToAccountRef",)),
            keep=_SALES_KEEP,
        ),
        _spec(
            "Transfer",
            TRANSACTION,
            _TRANSFER,
            required=(("FromAccountRef",), ("ToAccountRef",), ("Amount",)),
            keep=_TXN_KEEP,
        ),
        _spec(
            "CreditCardPayment",
            TRANSACTION,
            _CREDIT_CARD_PAYMENT,
            required=(("CreditCardAccountRef",), ("BankAccountRef",), ("Amount",)),
            keep=_TXN_KEEP,
        ),
        _spec(
            "TimeActivity",
            TRANSACTION,
            _TIME_ACTIVITY,
            required=(("NameOf",),),
            keep=frozenset({"TxnDate"}),
            cdc=False,
        ),
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
        "CustomerType",
        "ExchangeRate",
        "JournalCode",
        "RecurringTransaction",
        "ReimburseCharge",
        "SalesTaxPayment",
        "TaxClassification",
    }
)
_OTHER_BY_LOWER: Final = {name.lower(): name for name in OTHER_QBO_ENTITIES}

#: The properties of an Attachable (`attachments.py` holds them in the store once one is
#: uploaded or created; a query may name any of them).
ATTACHABLE_FIELDS: Final = frozenset(
    _ENVELOPE
    | names_in(
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
