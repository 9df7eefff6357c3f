"""`RedisLock` against the `Lock` contract on the real Redis, plus what is particular to it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.redis.lock import RedisLock
from qbo_adapters.testing.lock import LockContract
from qbo_core.errors import ConfigurationError, LockTimeoutError, StoreUnavailableError
from qbo_core.ports.lock import Lock
from tests.adapters.redis_server import redis_client, unreachable_client

pytestmark = pytest.mark.redis


class TestRedisLock(LockContract):
    # Real round trips: the state machine runs fewer examples, each with the profile's steps.
    state_machine_examples = 50

    @contextlib.asynccontextmanager
    async def make_lock(self, clock: FakeClock) -> AsyncIterator[Lock]:
        async with redis_client() as (client, prefix):
            yield RedisLock(client, clock, prefix=prefix)


async def test_two_locks_on_one_server_exclude_each_other() -> None:
    """Two adapters (two workers) sharing a Redis and a prefix see each other's leases."""
    clock = FakeClock(auto_advance=False)
    async with redis_client() as (client, prefix):
        first, second = (
            RedisLock(client, clock, prefix=prefix),
            RedisLock(client, clock, prefix=prefix),
        )
        lease = await first.acquire("realm-1", lease=10, wait=0)
        with pytest.raises(LockTimeoutError):
            await second.acquire("realm-1", lease=10, wait=0)
        assert await second.release(lease) is True


async def test_redis_ttl_is_only_garbage_collection() -> None:
    """The key's native TTL outlives the lease by the grace: Redis never ends a lease first."""
    clock = FakeClock(auto_advance=False)
    async with redis_client() as (client, prefix):
        lock = RedisLock(client, clock, prefix=prefix, gc_grace=300)
        await lock.acquire("realm-1", lease=10, wait=0)
        ttl = await client.pttl(f"{prefix}lock:realm-1")
        assert 300_000 < ttl <= 310_000


async def test_a_cancelled_acquire_leaves_no_lease_behind() -> None:
    """Cancelling acquires mid-flight never leaves the lock held by nobody."""
    clock = FakeClock()
    async with redis_client() as (client, prefix):
        lock = RedisLock(client, clock, prefix=prefix)
        for _ in range(20):
            task = asyncio.get_running_loop().create_task(lock.acquire("n", lease=60, wait=0))
            await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                lease = await task
                assert await lock.release(lease) is True
            lease = await lock.acquire("n", lease=60, wait=0)
            assert await lock.release(lease) is True


async def test_unreachable_redis_is_store_unavailable() -> None:
    """A Redis that cannot be reached raises `StoreUnavailableError`, chained to redis-py's."""
    client = unreachable_client()
    try:
        lock = RedisLock(client, FakeClock())
        with pytest.raises(StoreUnavailableError) as caught:
            await lock.acquire("n", lease=10, wait=0)
        assert caught.value.backend == "redis"
        assert caught.value.retryable
        assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)
    finally:
        await client.aclose()


async def test_a_client_decoding_to_text_is_refused() -> None:
    """A client built with decode_responses=True is a configuration error, named as such."""
    client = redis.asyncio.Redis(decode_responses=True)
    try:
        with pytest.raises(ConfigurationError) as caught:
            RedisLock(client, FakeClock())
        assert caught.value.field == "decode_responses"
    finally:
        await client.aclose()


async def test_repr_shows_no_token() -> None:
    """`repr` names the prefix and never a lease token."""
    async with redis_client() as (client, prefix):
        lock = RedisLock(client, FakeClock(), prefix=prefix)
        lease = await lock.acquire("realm-1", lease=10, wait=0)
        assert lease.token not in repr(lock)
        assert prefix in repr(lock)
