"""Contract suites, one per port, for our adapters and for a host application's own.

Subclass a suite in a test module (`class TestMyCache(CacheContract)`) and implement its
factory method; the suite's examples and its hypothesis state machine then hold the
adapter to the port's contract. Needs pytest, pytest-asyncio and hypothesis.
"""

from qbo_adapters.testing.cache import CacheContract
from qbo_adapters.testing.clock import ClockContract
from qbo_adapters.testing.event_sink import EventSinkContract
from qbo_adapters.testing.http_transport import HttpTransportContract, SyncHandler
from qbo_adapters.testing.lock import LockContract
from qbo_adapters.testing.mirror import MirrorContract
from qbo_adapters.testing.quota_store import QuotaStoreContract
from qbo_adapters.testing.state_store import StateStoreContract
from qbo_adapters.testing.token_store import TokenStoreContract, token_sets

__all__ = [
    "CacheContract",
    "ClockContract",
    "EventSinkContract",
    "HttpTransportContract",
    "LockContract",
    "MirrorContract",
    "QuotaStoreContract",
    "StateStoreContract",
    "SyncHandler",
    "TokenStoreContract",
    "token_sets",
]
