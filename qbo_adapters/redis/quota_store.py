"""`RedisQuotaStore`: the `QuotaStore` port for workers on many hosts sharing one Redis.

Keys (each under `{prefix}quota:{key}:`, the key percent-encoded):

- `w:{period}`  sorted set, one member per grant still inside that window: score the
  grant's time, member `{time}:{sequence}:{cost}`;
- `t:{period}`  the sum of the costs in `w:{period}` (kept, not recounted, so a grant
  costs O(1) amortized: each member is read once more when it leaves the window);
- `meta`        hash: `latest` (the latest time a grant was judged at, see below) and
  `seq` (makes members unique);
- `periods`     set of the periods in use (for `reset`);
- `slots`       sorted set of live slot leases: member the token, score `expires_at`;
- `block`       the time the hold-back ends.

The algorithm is `MemoryQuotaStore`'s, run inside one Lua script per operation, so it
is atomic against every other worker: prune each window `(at - period, at]`, check
every limit of every key (and every block), then record the grant in every window or
in none. The wait for a full window walks its members oldest first until enough cost
has left, exactly as the memory store does, so both answer the same float.

Time is the caller's `Clock` (`now().timestamp()`, the ports' time rule), passed to
every script; a grant is judged at the latest time any worker was judged at on that
key (`meta.latest`), so a worker whose clock lags never sees a window that a faster
worker's pruning already emptied. Redis's own TTL only collects keys: a window's keys
live `period + gc_grace` after their last grant, a slot set `lease + gc_grace` after
its last lease, a block `gc_grace` after it ends.

Scripts build the names of a key's windows from its base, so this adapter needs one
Redis server (not a cluster). Redis errors become `StoreUnavailableError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Sequence

import redis.asyncio

from qbo_adapters.memory.quota_store import check_cost, check_slot_request, check_until
from qbo_adapters.redis._common import (
    DEFAULT_GC_GRACE,
    DEFAULT_PREFIX,
    check_client,
    encode,
    gc_milliseconds,
    redis_errors,
    wall,
)
from qbo_core.dtos import RateLimit, SlotLease
from qbo_core.ports.clock import Clock
from qbo_core.ports.quota_store import Spend

__all__ = ["RedisQuotaStore"]

# ARGV: now, cost, gc grace ms, key count, then per key: base, limit count, then per
# limit: period (text), limit. Returns "0" when granted, else the wait (as text, every
# digit kept).
_ACQUIRE = """
local now = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local grace = tonumber(ARGV[3])
local count = tonumber(ARGV[4])
local function cost_of(member)
  return tonumber(string.match(member, ':(%d+)$'))
end
local at = now
local spends = {}
local i = 5
for k = 1, count do
  local base = ARGV[i]
  local n = tonumber(ARGV[i + 1])
  i = i + 2
  local limits = {}
  for _ = 1, n do
    local period, limit = ARGV[i], tonumber(ARGV[i + 1])
    i = i + 2
    if limits[period] == nil or limit < limits[period] then
      limits[period] = limit
    end
  end
  spends[k] = {base = base, limits = limits, totals = {}}
  local latest = redis.call('HGET', base .. 'meta', 'latest')
  if latest and tonumber(latest) > at then
    at = tonumber(latest)
  end
end
local refused_until = nil
local function refuse(until_)
  if refused_until == nil or until_ > refused_until then
    refused_until = until_
  end
end
for _, spend in ipairs(spends) do
  local block = redis.call('GET', spend.base .. 'block')
  if block and tonumber(block) > now then
    refuse(tonumber(block))
  end
  for period, limit in pairs(spend.limits) do
    local p = tonumber(period)
    local log = spend.base .. 'w:' .. period
    local total_key = spend.base .. 't:' .. period
    local total = 0
    if redis.call('EXISTS', log) == 1 then
      total = tonumber(redis.call('GET', total_key) or '0')
      local start = at - p
      local gone = redis.call('ZRANGEBYSCORE', log, '-inf', start)
      if #gone > 0 then
        for _, member in ipairs(gone) do
          total = total - cost_of(member)
        end
        redis.call('ZREMRANGEBYSCORE', log, '-inf', start)
        redis.call('SET', total_key, total, 'KEEPTTL')
      end
      local excess = total + cost - limit
      if excess > 0 then
        local entries = redis.call('ZRANGE', log, 0, -1, 'WITHSCORES')
        for e = 1, #entries, 2 do
          excess = excess - cost_of(entries[e])
          if excess <= 0 then
            refuse(tonumber(entries[e + 1]) + p)
            break
          end
        end
      end
    end
    spend.totals[period] = total
  end
end
if refused_until ~= nil then
  return string.format('%.17g', refused_until - now)
end
for _, spend in ipairs(spends) do
  local meta = spend.base .. 'meta'
  local member = string.format('%.17g', at) .. ':' .. redis.call('HINCRBY', meta, 'seq', 1)
    .. ':' .. cost
  local longest = 0
  for period, total in pairs(spend.totals) do
    local ttl = math.ceil(tonumber(period) * 1000) + grace
    local log = spend.base .. 'w:' .. period
    redis.call('ZADD', log, at, member)
    redis.call('PEXPIRE', log, ttl)
    redis.call('SET', spend.base .. 't:' .. period, total + cost, 'PX', ttl)
    redis.call('SADD', spend.base .. 'periods', period)
    if ttl > longest then
      longest = ttl
    end
  end
  redis.call('HSET', meta, 'latest', string.format('%.17g', at))
  if longest == 0 then
    longest = grace
  end
  for _, name in ipairs({meta, spend.base .. 'periods'}) do
    if redis.call('PTTL', name) < longest then
      redis.call('PEXPIRE', name, longest)
    end
  end
end
return '0'
"""

# ARGV: base, period (text), now. The cost granted in (now - period, now].
_USAGE = """
local entries = redis.call('ZRANGEBYSCORE', ARGV[1] .. 'w:' .. ARGV[2],
  string.format('(%.17g', tonumber(ARGV[3]) - tonumber(ARGV[2])), ARGV[3])
local total = 0
for _, member in ipairs(entries) do
  total = total + tonumber(string.match(member, ':(%d+)$'))
end
return total
"""

# KEYS[1] the slots; ARGV token, now, expires_at, capacity, gc ms. 1 when leased.
_LEASE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[5]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
return 1
"""

# KEYS[1] the slots; ARGV token, now. 1 when this live lease was released.
_RELEASE = """
local expires_at = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not expires_at then
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
if tonumber(expires_at) > tonumber(ARGV[2]) then
  return 1
end
return 0
"""

# KEYS[1] the block; ARGV until, gc ms. Only ever extends.
_BLOCK = """
local held = redis.call('GET', KEYS[1])
if held and tonumber(held) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

# ARGV base. Deletes every key of the base.
_RESET = """
local base = ARGV[1]
for _, period in ipairs(redis.call('SMEMBERS', base .. 'periods')) do
  redis.call('DEL', base .. 'w:' .. period, base .. 't:' .. period)
end
redis.call('DEL', base .. 'periods', base .. 'meta', base .. 'slots', base .. 'block')
return 1
"""


class RedisQuotaStore:
    """Sliding windows, leased slots and hold-backs per key in Redis, one Lua script each.

    Exact accounting (every grant is a sorted-set member until it leaves its window),
    decided on the caller's wall time (`clock.now().timestamp()`, the ports' time rule);
    Redis's TTL only collects keys `gc_grace` seconds after they stopped mattering.
    Slot tokens are random (`secrets.token_hex`); a cancelled `lease_slot` whose script
    ran gives the slot back before the cancellation goes on.

    The client is borrowed (its owner closes it) and must return bytes. Keys start
    `{prefix}quota:{key}:`, the key percent-encoded. Redis errors become
    `StoreUnavailableError`.
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
        self._acquire = client.register_script(_ACQUIRE)
        self._usage = client.register_script(_USAGE)
        self._lease = client.register_script(_LEASE)
        self._release = client.register_script(_RELEASE)
        self._block = client.register_script(_BLOCK)
        self._reset = client.register_script(_RESET)

    async def ping(self) -> None:
        with redis_errors("quota ping"):
            await self._client.ping()

    async def try_acquire(self, key: str, limits: Sequence[RateLimit], *, cost: int = 1) -> float:
        return await self.try_acquire_all(((key, limits),), cost=cost)

    async def try_acquire_all(self, spends: Sequence[Spend], *, cost: int = 1) -> float:
        args: list[str | int] = []
        for key, limits in spends:
            check_cost(cost, limits)
            args += [self._base(key), len(limits)]
            for limit in limits:
                args += [wall(limit.period), limit.limit]
        now = self._clock.now().timestamp()
        grace = gc_milliseconds(0, self._gc_grace)
        with redis_errors("quota try_acquire"):
            wait = await self._acquire(args=[wall(now), cost, grace, len(spends), *args])
        return float(wait)

    async def usage(self, key: str, limit: RateLimit) -> int:
        now = self._clock.now().timestamp()
        with redis_errors("quota usage"):
            total = await self._usage(args=[self._base(key), wall(limit.period), wall(now)])
        return int(total)

    async def lease_slot(self, key: str, *, capacity: int, lease: float) -> SlotLease | None:
        check_slot_request(capacity, lease)
        now = self._clock.now().timestamp()
        slot = SlotLease(key=key, token=secrets.token_hex(16), expires_at=now + lease)
        call = asyncio.ensure_future(
            self._lease(
                keys=[self._base(key) + "slots"],
                args=[
                    slot.token,
                    wall(now),
                    wall(slot.expires_at),
                    capacity,
                    gc_milliseconds(lease, self._gc_grace),
                ],
            )
        )
        with redis_errors("quota lease_slot"):
            try:
                leased = await asyncio.shield(call)
            except asyncio.CancelledError:
                # The script may have run: give back a slot taken for a caller who left.
                if not call.cancelled():
                    with contextlib.suppress(Exception):  # already leaving
                        if await call:
                            await self.release_slot(slot)
                raise
        return slot if leased else None

    async def release_slot(self, slot: SlotLease) -> bool:
        now = self._clock.now().timestamp()
        with redis_errors("quota release_slot"):
            released = await self._release(
                keys=[self._base(slot.key) + "slots"], args=[slot.token, wall(now)]
            )
        return bool(released)

    async def block(self, key: str, until: float) -> None:
        check_until(until)
        now = self._clock.now().timestamp()
        with redis_errors("quota block"):
            await self._block(
                keys=[self._base(key) + "block"],
                args=[wall(until), gc_milliseconds(max(until - now, 0.0), self._gc_grace)],
            )

    async def blocked_until(self, key: str) -> float | None:
        now = self._clock.now().timestamp()
        with redis_errors("quota blocked_until"):
            held = await self._client.get(self._base(key) + "block")
        if held is None or float(held) <= now:
            return None
        return float(held)

    async def reset(self, key: str) -> None:
        with redis_errors("quota reset"):
            await self._reset(args=[self._base(key)])

    def __repr__(self) -> str:
        return f"RedisQuotaStore(prefix={self._prefix!r})"

    def _base(self, key: str) -> str:
        return f"{self._prefix}quota:{encode(key)}:"
