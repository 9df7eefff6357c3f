"""`RedisQuotaStore` against the `QuotaStore` contract on the real Redis, plus its own."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

import pytest

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.redis.quota_store import RedisQuotaStore
from qbo_adapters.testing.quota_store import QuotaStoreContract
from qbo_core.dtos import RateLimit
from qbo_core.ports.quota_store import QuotaStore
from tests.adapters.redis_server import redis_client, unreachable_client

pytestmark = pytest.mark.redis

LIMIT = RateLimit(limit=10, period=60)


class TestRedisQuotaStore(QuotaStoreContract):
    # Real round trips: the state machine runs fewer examples, each with the profile's steps.
    state_machine_examples = 50

    @contextlib.asynccontextmanager
    async def make_quota_store(self, clock: FakeClock) -> AsyncIterator[QuotaStore]:
        async with redis_client() as (client, prefix):
            yield RedisQuotaStore(client, clock, prefix=prefix)


def _now(clock: FakeClock) -> float:
    return clock.now().timestamp()


async def test_window_keys_live_their_period_plus_the_grace() -> None:
    """Redis's TTL on a key's windows, totals and bookkeeping is the longest period plus
    `gc_grace`: collection only, never before a grant has left its window."""
    clock = FakeClock(auto_advance=False)
    async with redis_client() as (client, prefix):
        store = RedisQuotaStore(client, clock, prefix=prefix, gc_grace=60)
        limits = [RateLimit(limit=5, period=10), RateLimit(limit=9, period=2.5)]
        assert await store.try_acquire("realm", limits) == 0.0
        base = f"{prefix}quota:realm:"
        expected = {
            "w:10.0": 70_000,
            "t:10.0": 70_000,
            "w:2.5": 62_500,
            "t:2.5": 62_500,
            "meta": 70_000,
            "periods": 70_000,
        }
        for name, ttl in expected.items():
            assert ttl - 1_000 < await client.pttl(base + name) <= ttl, name


async def test_a_block_key_lives_until_its_end_plus_the_grace() -> None:
    """The block's native TTL is the time left until its end plus `gc_grace`, and just
    the grace for a block that has already ended."""
    clock = FakeClock(auto_advance=False)
    async with redis_client() as (client, prefix):
        store = RedisQuotaStore(client, clock, prefix=prefix, gc_grace=60)
        await store.block("soon", _now(clock) + 0.25)
        assert 59_250 < await client.pttl(f"{prefix}quota:soon:block") <= 60_250
        await store.block("past", _now(clock) - 10)
        assert 59_000 < await client.pttl(f"{prefix}quota:past:block") <= 60_000


async def test_slot_tokens_are_128_random_bits_in_hex() -> None:
    """A slot token is 32 lowercase hex digits (`secrets.token_hex(16)`)."""
    async with redis_client() as (client, prefix):
        store = RedisQuotaStore(client, FakeClock(auto_advance=False), prefix=prefix)
        slot = await store.lease_slot("realm", capacity=2, lease=10)
        assert slot is not None
        assert re.fullmatch(r"[0-9a-f]{32}", slot.token)


async def test_a_cancelled_lease_slot_leaves_no_slot_behind() -> None:
    """A `lease_slot` cancelled while its script runs gives the slot back: the one slot
    of the key is free again for the next caller, every time."""
    clock = FakeClock(auto_advance=False)
    async with redis_client() as (client, prefix):
        store = RedisQuotaStore(client, clock, prefix=prefix)
        for _ in range(10):
            task = asyncio.get_running_loop().create_task(
                store.lease_slot("realm", capacity=1, lease=60)
            )
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            slot = await store.lease_slot("realm", capacity=1, lease=60)
            assert slot is not None
            assert await store.release_slot(slot) is True


async def test_a_cancelled_lease_slot_whose_call_fails_still_raises_cancelled() -> None:
    """A `lease_slot` cancelled while its script call is in flight, the call then failing
    (Redis unreachable), ends in `CancelledError`: the failure is swallowed, not raised."""
    client = unreachable_client()
    try:
        store = RedisQuotaStore(client, FakeClock())
        task = asyncio.get_running_loop().create_task(
            store.lease_slot("realm", capacity=1, lease=60)
        )
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await client.aclose()
