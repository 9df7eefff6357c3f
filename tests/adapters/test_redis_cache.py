"""`RedisCache` against the `Cache` contract on the real Redis."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.redis.cache import RedisCache
from qbo_adapters.testing.cache import CacheContract
from qbo_core.ports.cache import Cache
from tests.adapters.redis_server import redis_client

pytestmark = pytest.mark.redis


class TestRedisCache(CacheContract):
    # Real round trips: the state machine runs fewer examples, each with the profile's steps.
    state_machine_examples = 50

    @contextlib.asynccontextmanager
    async def make_cache(self, clock: FakeClock) -> AsyncIterator[Cache]:
        async with redis_client() as (client, prefix):
            yield RedisCache(client, clock, prefix=prefix)


async def test_invalidation_is_seen_by_every_worker() -> None:
    """A realm invalidated through one adapter is empty through another on the same Redis."""
    clock = FakeClock()
    async with redis_client() as (client, prefix):
        first = RedisCache(client, clock, prefix=prefix)
        second = RedisCache(client, clock, prefix=prefix)
        await first.set("r1", "k", b"v", ttl=60)
        assert await second.get("r1", "k") == b"v"
        await second.invalidate_realm("r1")
        assert await first.get("r1", "k") is None


async def test_invalidation_is_one_counter_not_a_key_scan() -> None:
    """Invalidating a realm touches only its counter; old entries wait for their native TTL."""
    async with redis_client() as (client, prefix):
        cache = RedisCache(client, FakeClock(), prefix=prefix, gc_grace=60)
        for index in range(5):
            await cache.set("r1", f"k{index}", b"v", ttl=10)
        await cache.invalidate_realm("r1")
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        assert len(keys) == 6  # five orphaned entries and the counter
        for key in keys:
            if not key.endswith(b"generation"):
                assert 60_000 < await client.pttl(key) <= 70_000


async def test_non_finite_ttl_is_refused() -> None:
    """An infinite ttl raises `ValueError`: every entry here has an end."""
    async with redis_client() as (client, prefix):
        cache = RedisCache(client, FakeClock(), prefix=prefix)
        with pytest.raises(ValueError, match="ttl"):
            await cache.set("r1", "k", b"v", ttl=float("inf"))
