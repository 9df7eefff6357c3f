"""`RedisLock` against the `Lock` contract on the real Redis, plus what is particular to it."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.redis.lock import RedisLock
from qbo_adapters.testing.lock import LockContract
from qbo_core.errors import ConfigurationError, LockTimeoutError, StoreUnavailableError
from qbo_core.ports.lock import Lease, Lock
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


async def _until_asleep(clock: FakeClock, task: asyncio.Task[Lease]) -> None:
    """Let `task` run (its Redis round trips included) until it sleeps on `clock`."""
    while clock.pending_sleepers == 0:
        assert not task.done()
        await asyncio.sleep(0)


async def test_a_waiter_polls_every_poll_interval() -> None:
    """While the holder's lease runs on, a waiter sleeps `poll_interval` seconds (0.05 by
    default) between tries: it takes a released lock at its next poll."""
    clock = FakeClock(auto_advance=False)
    async with redis_client() as (client, prefix):
        lock = RedisLock(client, clock, prefix=prefix)
        held = await lock.acquire("realm-1", lease=60, wait=0)
        waiter = asyncio.get_running_loop().create_task(lock.acquire("realm-1", lease=60, wait=30))
        try:
            await _until_asleep(clock, waiter)
            assert await lock.release(held) is True
            clock.advance(0.05)
            assert clock.pending_sleepers == 0
            lease = await waiter
            assert lease.expires_at == pytest.approx(clock.now().timestamp() + 60)
        finally:
            waiter.cancel()


async def test_a_waiter_wakes_when_the_holders_lease_ends() -> None:
    """A holder whose lease ends before the next poll is replaced at that end: the waiter
    sleeps until then, not a whole poll interval."""
    clock = FakeClock(auto_advance=False)
    async with redis_client() as (client, prefix):
        lock = RedisLock(client, clock, prefix=prefix, poll_interval=5)
        await lock.acquire("realm-1", lease=1, wait=0)
        waiter = asyncio.get_running_loop().create_task(lock.acquire("realm-1", lease=10, wait=30))
        try:
            await _until_asleep(clock, waiter)
            clock.advance(1)
            assert clock.pending_sleepers == 0
            lease = await waiter
            assert lease.expires_at == pytest.approx(clock.now().timestamp() + 10)
        finally:
            waiter.cancel()


async def test_a_waiter_gives_up_at_its_wait_not_at_the_next_poll() -> None:
    """A wait shorter than the poll interval ends after exactly that wait, and the
    `LockTimeoutError` says how long it waited."""
    clock = FakeClock(auto_advance=False)
    async with redis_client() as (client, prefix):
        lock = RedisLock(client, clock, prefix=prefix, poll_interval=5)
        await lock.acquire("realm-1", lease=60, wait=0)
        waiter = asyncio.get_running_loop().create_task(lock.acquire("realm-1", lease=10, wait=0.5))
        try:
            await _until_asleep(clock, waiter)
            clock.advance(0.5)
            assert clock.pending_sleepers == 0
            with pytest.raises(LockTimeoutError) as caught:
                await waiter
        finally:
            waiter.cancel()
        assert caught.value.waited == 0.5
        assert caught.value.message == "lock 'realm-1' still held after waiting 0.5s"


@pytest.mark.parametrize("poll_interval", [0.0, -1.0, float("inf"), float("nan")])
async def test_a_poll_interval_must_be_positive_and_finite(poll_interval: float) -> None:
    """`poll_interval` of zero, below zero, infinite or NaN is a `ValueError` saying so."""
    said = f"poll_interval must be positive seconds, got {poll_interval!r}"
    async with redis_client() as (client, _):
        with pytest.raises(ValueError, match=f"^{re.escape(said)}$"):
            RedisLock(client, FakeClock(), poll_interval=poll_interval)


async def test_refused_durations_name_the_argument() -> None:
    """The `ValueError` for a bad lease, wait or extension names the argument and the value."""
    async with redis_client() as (client, prefix):
        lock = RedisLock(client, FakeClock(auto_advance=False), prefix=prefix)
        with pytest.raises(
            ValueError, match=r"^lease must be a positive number of seconds, got 0$"
        ):
            await lock.acquire("n", lease=0, wait=0)
        with pytest.raises(ValueError, match=r"^wait must be zero or positive, got -1$"):
            await lock.acquire("n", lease=10, wait=-1)
        lease = await lock.acquire("n", lease=10, wait=0)
        with pytest.raises(
            ValueError, match=r"^lease_seconds must be a positive number of seconds, got inf$"
        ):
            await lock.extend(lease, lease_seconds=float("inf"))


async def test_a_lost_lease_cannot_be_extended_and_waited_nothing() -> None:
    """Extending a released lease raises `LockTimeoutError` naming the lock, with `waited`
    0.0 (extend never waits)."""
    async with redis_client() as (client, prefix):
        lock = RedisLock(client, FakeClock(auto_advance=False), prefix=prefix)
        lease = await lock.acquire("realm-1", lease=10, wait=0)
        assert await lock.release(lease) is True
        with pytest.raises(LockTimeoutError) as caught:
            await lock.extend(lease, lease_seconds=10)
        assert caught.value.waited == 0.0
        assert caught.value.message == (
            "lease on lock 'realm-1' was lost before it could be extended"
        )


async def test_lease_tokens_are_128_random_bits_in_hex() -> None:
    """A lease token is 32 lowercase hex digits (`secrets.token_hex(16)`), new per lease."""
    async with redis_client() as (client, prefix):
        lock = RedisLock(client, FakeClock(auto_advance=False), prefix=prefix)
        first = await lock.acquire("realm-1", lease=10, wait=0)
        second = await lock.acquire("realm-2", lease=10, wait=0)
        for lease in (first, second):
            assert re.fullmatch(r"[0-9a-f]{32}", lease.token)
        assert first.token != second.token


async def test_a_cancelled_acquire_whose_call_fails_still_raises_cancelled() -> None:
    """An acquire cancelled while its script call is in flight, the call then failing
    (Redis unreachable), ends in `CancelledError`: the failure is swallowed, not raised."""
    client = unreachable_client()
    try:
        lock = RedisLock(client, FakeClock())
        task = asyncio.get_running_loop().create_task(lock.acquire("n", lease=60, wait=0))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await client.aclose()
