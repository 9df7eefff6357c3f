"""Adapters on Redis (the `redis` extra), shared by every process and host using one server.

`RedisTokenStore` (compare-and-set by a Lua script), `RedisLock` (leases with a token),
`RedisStateStore` (take once), `RedisCache` (per-realm generation counter) and
`RedisQuotaStore` (sliding windows in sorted sets, leased slots, hold-backs). Each borrows
a `redis.asyncio.Redis` client that returns bytes (the container owns and closes it), takes
a key `prefix` (default `"qbo:"`), decides every expiry on its `Clock`'s wall time inside
the script, and uses Redis's own TTL only to collect dead keys.
"""

from qbo_adapters.redis.cache import RedisCache
from qbo_adapters.redis.lock import RedisLock
from qbo_adapters.redis.quota_store import RedisQuotaStore
from qbo_adapters.redis.state_store import RedisStateStore
from qbo_adapters.redis.token_store import RedisTokenStore

__all__ = ["RedisCache", "RedisLock", "RedisQuotaStore", "RedisStateStore", "RedisTokenStore"]
