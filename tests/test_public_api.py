"""The public surface: each package's curated, sorted `__all__`, held name by name."""

from __future__ import annotations

import importlib

import pytest

EXPECTED = {
    "qbo_core": [
        "Headers",
        "HttpRequest",
        "HttpResponse",
        "IntegrationStatus",
        "QBOConfig",
        "QBOError",
        "QBOEvent",
        "QBOIntegrationDTO",
        "RateLimit",
        "TokenSet",
        "VersionedTokenSet",
    ],
    "qbo_core.entities": [
        "ENTITY_CLASSES",
        "Account",
        "AccountBasedExpenseLine",
        "AccountBasedExpenseLineDetail",
        "Bill",
        "BillPayment",
        "BillPaymentCheck",
        "BillPaymentCreditCard",
        "CompanyInfo",
        "CustomField",
        "Customer",
        "DepositLine",
        "DepositLineDetail",
        "DescriptionLineDetail",
        "DescriptionOnlyLine",
        "DiscountLine",
        "DiscountLineDetail",
        "EmailAddress",
        "Employee",
        "EntityBase",
        "EntityPart",
        "GroupLine",
        "GroupLineDetail",
        "Invoice",
        "Item",
        "ItemBasedExpenseLine",
        "ItemBasedExpenseLineDetail",
        "JournalEntry",
        "JournalEntryEntity",
        "JournalEntryLine",
        "JournalEntryLineDetail",
        "Line",
        "LineBase",
        "LinkedTxn",
        "LinkedTxnLine",
        "MetaData",
        "NameValue",
        "Payment",
        "PhysicalAddress",
        "QBOEntity",
        "RawEntity",
        "RawLine",
        "Ref",
        "SalesItemLine",
        "SalesItemLineDetail",
        "SalesReceipt",
        "SubTotalLine",
        "SubTotalLineDetail",
        "TaxLine",
        "TaxLineDetail",
        "TelephoneNumber",
        "TransactionBase",
        "TxnTaxDetail",
        "TypedEntity",
        "Vendor",
        "WebSiteAddress",
        "decode_entity",
        "encode_entity",
        "entity_type_of",
    ],
    "qbo_core.events": [
        "ALERT_CLEARED",
        "ALERT_RAISED",
        "ALL_KINDS",
        "CACHE_HIT",
        "CACHE_MISS",
        "HTTP_REQUEST",
        "HTTP_RETRY",
        "RATE_THROTTLED",
        "TOKEN_REFRESHED",
        "TOKEN_REFRESH_FAILED",
    ],
    "qbo_core.query": [
        "MAX_MAX_RESULTS",
        "Condition",
        "Field",
        "Operator",
        "OrderKey",
        "Query",
        "QueryValue",
    ],
    "qbo_core.services": ["QBORawClient"],
    "qbo_core.ports": [
        "Cache",
        "Clock",
        "EventSink",
        "HttpTransport",
        "Lease",
        "Lock",
        "QuotaStore",
        "TokenStore",
    ],
    "qbo_adapters": [],
    "qbo_adapters.aiohttp": ["AiohttpTransport"],
    "qbo_adapters.memory": [
        "AsyncioLock",
        "FakeClock",
        "FakeTransport",
        "FanOutEventSink",
        "LoggingEventSink",
        "MemoryCache",
        "MemoryQuotaStore",
        "MemoryTokenStore",
        "RecordingEventSink",
        "SystemClock",
    ],
    "qbo_adapters.testing": [
        "CacheContract",
        "ClockContract",
        "EventSinkContract",
        "HttpTransportContract",
        "LockContract",
        "QuotaStoreContract",
        "SyncHandler",
        "TokenStoreContract",
        "token_sets",
    ],
    "qbo_container": [
        "QBO",
        "QBOContainer",
        "build_container",
        "load_settings",
        "shutdown",
    ],
}


def _isort_key(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


@pytest.mark.parametrize("package", sorted(EXPECTED))
def test_exported_names_are_exactly_the_curated_list(package: str) -> None:
    """A package exports exactly the names we promise, in ruff's order, and each one exists."""
    module = importlib.import_module(package)
    exported = list(module.__all__)
    assert exported == EXPECTED[package]
    assert exported == sorted(exported, key=_isort_key)
    for name in exported:
        assert hasattr(module, name), f"{package}.{name} is in __all__ but missing"
