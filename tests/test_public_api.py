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
    "qbo_adapters": [
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
    "qbo_container": ["QBOContainer", "build_container", "load_settings"],
}


@pytest.mark.parametrize("package", sorted(EXPECTED))
def test_exported_names_are_exactly_the_curated_list(package: str) -> None:
    """A package exports exactly the names we promise, sorted, and each one exists."""
    module = importlib.import_module(package)
    exported = list(module.__all__)
    assert exported == EXPECTED[package]
    assert exported == sorted(exported)
    for name in exported:
        assert hasattr(module, name), f"{package}.{name} is in __all__ but missing"
