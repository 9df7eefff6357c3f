"""The ports: what the core needs from the outside world, one small protocol each."""

from qbo_core.ports.cache import Cache
from qbo_core.ports.clock import Clock
from qbo_core.ports.event_sink import EventSink
from qbo_core.ports.http_transport import HttpTransport
from qbo_core.ports.lock import Lease, Lock
from qbo_core.ports.mirror import Mirror
from qbo_core.ports.quota_store import QuotaStore
from qbo_core.ports.state_store import StateStore
from qbo_core.ports.token_store import TokenStore

__all__ = [
    "Cache",
    "Clock",
    "EventSink",
    "HttpTransport",
    "Lease",
    "Lock",
    "Mirror",
    "QuotaStore",
    "StateStore",
    "TokenStore",
]
