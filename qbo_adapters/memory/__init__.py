"""In-process adapters and fakes: standard library only, no extra needed.

One process's worth of shared state (`MemoryCache`, `MemoryMirror`, `MemoryTokenStore`,
`MemoryQuotaStore`, `MemoryStateStore`, `AsyncioLock`), the clocks (`SystemClock`, and
`FakeClock` whose sleeps advance virtual time), the event sinks (logging, recording,
fan-out) and `FakeTransport`, the scripted `HttpTransport` for tests.
"""

from qbo_adapters.memory.cache import MemoryCache
from qbo_adapters.memory.clock import FakeClock, SystemClock
from qbo_adapters.memory.event_sinks import FanOutEventSink, LoggingEventSink, RecordingEventSink
from qbo_adapters.memory.fake_transport import FakeTransport
from qbo_adapters.memory.lock import AsyncioLock
from qbo_adapters.memory.mirror import MemoryMirror
from qbo_adapters.memory.quota_store import MemoryQuotaStore
from qbo_adapters.memory.state_store import MemoryStateStore
from qbo_adapters.memory.token_store import MemoryTokenStore

__all__ = [
    "AsyncioLock",
    "FakeClock",
    "FakeTransport",
    "FanOutEventSink",
    "LoggingEventSink",
    "MemoryCache",
    "MemoryMirror",
    "MemoryQuotaStore",
    "MemoryStateStore",
    "MemoryTokenStore",
    "RecordingEventSink",
    "SystemClock",
]
