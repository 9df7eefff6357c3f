"""`RedisLock`: the `Lock` port for processes on several hosts sharing one Redis."""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets

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
from qbo_core.errors import LockTimeoutError
from qbo_core.ports.clock import Clock
from qbo_core.ports.lock import Lease

__all__ = ["RedisLock"]

# KEYS[1] the lock; ARGV token, now, expires_at, gc ms. Returns nil when taken,
# else the holder's expires_at.
_ACQUIRE = """
local held = redis.call('HMGET', KEYS[1], 'token', 'expires_at')
if held[1] and tonumber(held[2]) > tonumber(ARGV[2]) then
  return held[2]
end
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'expires_at', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return false
"""

# KEYS[1] the lock; ARGV token, now. 1 when this live lease was released.
_RELEASE = """
local held = redis.call('HMGET', KEYS[1], 'token', 'expires_at')
if held[1] == ARGV[1] and tonumber(held[2]) > tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

# KEYS[1] the lock; ARGV token, now, new expires_at, gc ms. 1 when this live lease moved on.
_EXTEND = """
local held = redis.call('HMGET', KEYS[1], 'token', 'expires_at')
if held[1] == ARGV[1] and tonumber(held[2]) > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'expires_at', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return 1
end
return 0
"""


class RedisLock:
    """Named leases in Redis hashes (`token`, `expires_at`), each change one Lua script.

    Whether a lease is live is decided inside the script by comparing its `expires_at`
    with the caller's wall time (`clock.now().timestamp()`, passed in), by the ports'
    time rule; Redis's own `PEXPIRE` only collects a dead holder's key, `gc_grace`
    seconds after the lease ended. Every lease carries a random token, and release and
    extend act only when the stored token is theirs and still live, so a holder whose
    lease ran out can never touch the next holder's.

    A waiting `acquire` polls every `poll_interval` seconds (on the clock), or at the
    holder's expiry if that comes sooner. A cancelled `acquire` that had already taken
    the lock gives it back before the cancellation goes on.

    The client is borrowed (its owner closes it) and must return bytes. Keys are
    `{prefix}lock:{name}`, the name percent-encoded. Redis errors become
    `StoreUnavailableError`.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        clock: Clock,
        *,
        prefix: str = DEFAULT_PREFIX,
        poll_interval: float = 0.05,
        gc_grace: float = DEFAULT_GC_GRACE,
    ) -> None:
        check_client(client)
        if not (poll_interval > 0 and math.isfinite(poll_interval)):
            raise ValueError(f"poll_interval must be positive seconds, got {poll_interval!r}")
        self._client = client
        self._clock = clock
        self._prefix = prefix
        self._poll_interval = poll_interval
        self._gc_grace = gc_grace
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE)
        self._extend = client.register_script(_EXTEND)

    async def ping(self) -> None:
        with redis_errors("lock ping"):
            await self._client.ping()

    async def acquire(self, name: str, *, lease: float, wait: float) -> Lease:
        _check_lease(lease, "lease")
        if not wait >= 0:  # also refuses NaN
            raise ValueError(f"wait must be zero or positive, got {wait!r}")
        started = self._clock.monotonic()
        deadline = started + wait
        while True:
            now = self._clock.now().timestamp()
            candidate = Lease(name=name, token=secrets.token_hex(16), expires_at=now + lease)
            held_until = await self._try_acquire(candidate, now, lease)
            if held_until is None:
                return candidate
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                waited = self._clock.monotonic() - started
                raise LockTimeoutError(
                    f"lock {name!r} still held after waiting {waited:g}s", name=name, waited=waited
                )
            await self._clock.sleep(min(remaining, held_until - now, self._poll_interval))

    async def release(self, lease: Lease) -> bool:
        now = self._clock.now().timestamp()
        with redis_errors("lock release"):
            released = await self._release(
                keys=[self._key(lease.name)], args=[lease.token, wall(now)]
            )
        return bool(released)

    async def extend(self, lease: Lease, *, lease_seconds: float) -> Lease:
        _check_lease(lease_seconds, "lease_seconds")
        now = self._clock.now().timestamp()
        extended = Lease(name=lease.name, token=lease.token, expires_at=now + lease_seconds)
        with redis_errors("lock extend"):
            moved = await self._extend(
                keys=[self._key(lease.name)],
                args=[
                    lease.token,
                    wall(now),
                    wall(extended.expires_at),
                    gc_milliseconds(lease_seconds, self._gc_grace),
                ],
            )
        if not moved:
            raise LockTimeoutError(
                f"lease on lock {lease.name!r} was lost before it could be extended",
                name=lease.name,
                waited=0.0,
            )
        return extended

    def __repr__(self) -> str:
        return f"RedisLock(prefix={self._prefix!r})"

    # -- internals ----------------------------------------------------------------

    def _key(self, name: str) -> str:
        return f"{self._prefix}lock:{encode(name)}"

    async def _try_acquire(self, candidate: Lease, now: float, lease: float) -> float | None:
        """Run the acquire script; `None` when taken, else the holder's `expires_at`."""
        call = asyncio.ensure_future(
            self._acquire(
                keys=[self._key(candidate.name)],
                args=[
                    candidate.token,
                    wall(now),
                    wall(candidate.expires_at),
                    gc_milliseconds(lease, self._gc_grace),
                ],
            )
        )
        with redis_errors("lock acquire"):
            try:
                held = await asyncio.shield(call)
            except asyncio.CancelledError:
                # The script may have run: give back a lock taken for a caller who left.
                if not call.cancelled():
                    with contextlib.suppress(Exception):  # already leaving
                        if await call is None:
                            await self.release(candidate)
                raise
        return None if held is None else float(held)


def _check_lease(seconds: float, what: str) -> None:
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"{what} must be a positive number of seconds, got {seconds!r}")
