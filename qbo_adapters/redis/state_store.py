"""`RedisStateStore`: the `StateStore` port in Redis, taken once by a Lua script."""

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

__all__ = ["RedisStateStore"]

# KEYS[1] the value's hash; ARGV value, expires_at, gc ms.
_PUT = """
redis.call('HSET', KEYS[1], 'value', ARGV[1], 'expires_at', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

# KEYS[1] the value's hash; ARGV now. Removes the value; returns it if still live.
_TAKE = """
local held = redis.call('HMGET', KEYS[1], 'value', 'expires_at')
if not held[1] then
  return false
end
redis.call('DEL', KEYS[1])
if tonumber(held[2]) > tonumber(ARGV[1]) then
  return held[1]
end
return false
"""

# KEYS[1] the value's hash; ARGV now, expires_at, gc ms. Stores an empty marker unless a
# live value is held; returns 1 when it stored it, 0 otherwise.
_CLAIM = """
local held = redis.call('HGET', KEYS[1], 'expires_at')
if held and tonumber(held) > tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'value', '', 'expires_at', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""


class RedisStateStore:
    """Single-use values in Redis hashes (`value`, `expires_at`), shared by every process.

    `take` is one Lua script that reads, deletes and checks the expiry against the
    caller's wall time (`clock.now().timestamp()`, by the ports' time rule), so of
    several takers in any processes exactly one gets a value; `claim` is one script too
    (store an empty marker unless the hash holds a live expiry), so exactly one claimer
    wins. Redis's own `PEXPIRE` only collects values nobody took, `gc_grace` seconds
    after they expired.

    The client is borrowed and must return bytes. Keys are `{prefix}state:{key}`, the
    key percent-encoded. Redis errors become `StoreUnavailableError`.
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
        self._put = client.register_script(_PUT)
        self._take = client.register_script(_TAKE)
        self._claim = client.register_script(_CLAIM)

    async def ping(self) -> None:
        with redis_errors("state ping"):
            await self._client.ping()

    async def put(self, key: str, value: bytes, *, ttl: float) -> None:
        if not (ttl > 0 and math.isfinite(ttl)):
            raise ValueError(f"ttl must be a positive, finite number of seconds, got {ttl!r}")
        expires_at = self._clock.now().timestamp() + ttl
        with redis_errors("state put"):
            await self._put(
                keys=[self._key(key)],
                args=[bytes(value), wall(expires_at), gc_milliseconds(ttl, self._gc_grace)],
            )

    async def claim(self, key: str, *, ttl: float) -> bool:
        if not (ttl > 0 and math.isfinite(ttl)):
            raise ValueError(f"ttl must be a positive, finite number of seconds, got {ttl!r}")
        now = self._clock.now().timestamp()
        with redis_errors("state claim"):
            won = await self._claim(
                keys=[self._key(key)],
                args=[wall(now), wall(now + ttl), gc_milliseconds(ttl, self._gc_grace)],
            )
        return bool(won)

    async def take(self, key: str) -> bytes | None:
        now = self._clock.now().timestamp()
        with redis_errors("state take"):
            value = await self._take(keys=[self._key(key)], args=[wall(now)])
        return None if value is None else bytes(value)

    def __repr__(self) -> str:
        return f"RedisStateStore(prefix={self._prefix!r})"

    def _key(self, key: str) -> str:
        return f"{self._prefix}state:{encode(key)}"
