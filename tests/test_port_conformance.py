"""Every adapter and fake satisfies its port, for mypy (statically) and at run time."""

from __future__ import annotations

from qbo_adapters.memory.cache import MemoryCache
from qbo_adapters.memory.clock import FakeClock, SystemClock
from qbo_adapters.memory.event_sinks import LoggingEventSink, RecordingEventSink
from qbo_adapters.memory.fake_transport import FakeTransport
from qbo_adapters.memory.lock import AsyncioLock
from qbo_adapters.memory.quota_store import MemoryQuotaStore
from qbo_adapters.memory.token_store import MemoryTokenStore
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.ports import (
    Cache,
    Clock,
    EventSink,
    HttpTransport,
    Lock,
    QuotaStore,
    TokenStore,
)


def _ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=200)


def test_adapters_satisfy_their_ports() -> None:
    """Each assignment is checked by mypy --strict; each isinstance by the runtime protocol."""
    clock: Clock = SystemClock()
    fake_clock: Clock = FakeClock()
    cache: Cache = MemoryCache(fake_clock)
    token_store: TokenStore = MemoryTokenStore()
    lock: Lock = AsyncioLock(fake_clock)
    quota_store: QuotaStore = MemoryQuotaStore()
    logging_sink: EventSink = LoggingEventSink()
    recording_sink: EventSink = RecordingEventSink()
    transport: HttpTransport = FakeTransport(_ok)
    pairs = [
        (clock, Clock),
        (fake_clock, Clock),
        (cache, Cache),
        (token_store, TokenStore),
        (lock, Lock),
        (quota_store, QuotaStore),
        (logging_sink, EventSink),
        (recording_sink, EventSink),
        (transport, HttpTransport),
    ]
    for adapter, port in pairs:
        assert isinstance(adapter, port), f"{type(adapter).__name__} is not a {port.__name__}"
