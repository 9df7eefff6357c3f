"""`RedisCache`: the `Cache` port in Redis, invalidated per realm by a generation counter."""

from __future__ import annotations

import math

import redis.asyncio

from qbo_adapters.redis._common import (
    DEFAULT_GC_GRACE,
    DEFAULT_PREFIX,
    check_client,
    encode,
    gc_milliseconds,
    redis_errors,
    wall,
)
from qbo_core.ports.clock import Clock

__all__ = ["RedisCache"]

# Every script: KEYS[1] the realm's generation counter; ARGV[1] the realm's key base
# (`{prefix}cache:{realm}:`), ARGV[2] the encoded key. The entry lives at
# `{base}{generation}:{key}`, so bumping the counter orphans the whole realm at once.
_ENTRY = "local entry = ARGV[1] .. (redis.call('GET', KEYS[1]) or '0') .. ':' .. ARGV[2]\n"

# ARGV[3] now. The value if live; an expired entry is removed.
_GET = (
    _ENTRY
    + """
local held = redis.call('HMGET', entry, 'value', 'expires_at')
if not held[1] then
  return false
end
if tonumber(held[2]) <= tonumber(ARGV[3]) then
  redis.call('DEL', entry)
  return false
end
return held[1]
"""
)

# ARGV[3] value, ARGV[4] expires_at, ARGV[5] gc ms.
_SET = (
    _ENTRY
    + """
redis.call('HSET', entry, 'value', ARGV[3], 'expires_at', ARGV[4])
redis.call('PEXPIRE', entry, ARGV[5])
return 1
"""
)

# ARGV[3] now. 1 when a live entry was removed.
_DELETE = (
    _ENTRY
    + """
local expires_at = redis.call('HGET', entry, 'expires_at')
if not expires_at then
  return 0
end
redis.call('DEL', entry)
if tonumber(expires_at) > tonumber(ARGV[3]) then
  return 1
end
return 0
"""
)


class RedisCache:
    """Bytes by (realm, key) in Redis hashes (`value`, `expires_at`), shared by processes.

    Expiry is decided inside each script against the caller's wall time
    (`clock.now().timestamp()`, by the ports' time rule); Redis's `PEXPIRE` only
    collects entries, `gc_grace` seconds after they expired. `invalidate_realm` is one
    `INCR` of the realm's generation counter: entries of earlier generations are never
    read again and are collected by their native TTL. Counters themselves (one small
    key per realm ever invalidated or cached) are kept.

    A `ttl` must be positive and finite. The client is borrowed and must return
    bytes. Keys start `{prefix}cache:{realm}:`, realm and key percent-encoded.
    Redis errors become `StoreUnavailableError`.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        clock: Clock,
        *,
        prefix: str = DEFAULT_PREFIX,
        gc_grace: float = DEFAULT_GC_GRACE,
    ) -> None:
        check_client(client)
        self._client = client
        self._clock = clock
        self._prefix = prefix
        self._gc_grace = gc_grace
        self._get = client.register_script(_GET)
        self._set = client.register_script(_SET)
        self._delete = client.register_script(_DELETE)

    async def ping(self) -> None:
        with redis_errors("cache ping"):
            await self._client.ping()

    async def get(self, realm_id: str, key: str) -> bytes | None:
        now = self._clock.now().timestamp()
        with redis_errors("cache get"):
            value = await self._get(
                keys=self._keys(realm_id), args=[*self._args(realm_id, key), wall(now)]
            )
        return None if value is None else bytes(value)

    async def set(self, realm_id: str, key: str, value: bytes, *, ttl: float) -> None:
        if not (ttl > 0 and math.isfinite(ttl)):
            raise ValueError(f"ttl must be positive, finite seconds, got {ttl!r}")
        expires_at = self._clock.now().timestamp() + ttl
        with redis_errors("cache set"):
            await self._set(
                keys=self._keys(realm_id),
                args=[
                    *self._args(realm_id, key),
                    bytes(value),
                    wall(expires_at),
                    gc_milliseconds(ttl, self._gc_grace),
                ],
            )

    async def delete(self, realm_id: str, key: str) -> bool:
        now = self._clock.now().timestamp()
        with redis_errors("cache delete"):
            removed = await self._delete(
                keys=self._keys(realm_id), args=[*self._args(realm_id, key), wall(now)]
            )
        return bool(removed)

    async def invalidate_realm(self, realm_id: str) -> None:
        with redis_errors("cache invalidate_realm"):
            await self._client.incr(self._keys(realm_id)[0])

    def __repr__(self) -> str:
        return f"RedisCache(prefix={self._prefix!r})"

    def _base(self, realm_id: str) -> str:
        return f"{self._prefix}cache:{encode(realm_id)}:"

    def _keys(self, realm_id: str) -> list[str]:
        return [self._base(realm_id) + "generation"]

    def _args(self, realm_id: str, key: str) -> list[str]:
        return [self._base(realm_id), encode(key)]
