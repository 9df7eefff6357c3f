"""Adapters for the core's ports: in-memory ones here; the emulator in `qbo_adapters.emulator`.

Every adapter translates its library's exceptions into `qbo_core.errors` at the edge and
borrows long-lived resources (sessions, clients, engines) that the container owns.
"""

from qbo_adapters.asyncio_lock import AsyncioLock
from qbo_adapters.clock import FakeClock, SystemClock
from qbo_adapters.event_sinks import FanOutEventSink, LoggingEventSink, RecordingEventSink
from qbo_adapters.fake_transport import FakeTransport
from qbo_adapters.memory_cache import MemoryCache
from qbo_adapters.memory_quota_store import MemoryQuotaStore
from qbo_adapters.memory_token_store import MemoryTokenStore

__all__ = [
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
]
