"""`AsyncioLock` against the `Lock` contract, plus what is particular to it."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator

import pytest

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.lock import AsyncioLock
from qbo_adapters.testing.lock import LockContract
from qbo_core.errors import LockTimeoutError
from qbo_core.ports.lock import Lock


class TestAsyncioLock(LockContract):
    @contextlib.asynccontextmanager
    async def make_lock(self, clock: FakeClock) -> AsyncIterator[Lock]:
        yield AsyncioLock(clock)


async def test_waiter_wakes_at_the_instant_of_release() -> None:
    """A waiter takes the lock at the very virtual instant it is released, not later."""
    clock = FakeClock()
    lock = AsyncioLock(clock)
    held = await lock.acquire("realm-1", lease=60, wait=0)
    waiter = asyncio.get_running_loop().create_task(lock.acquire("realm-1", lease=60, wait=30))
    await clock.sleep(5)
    await lock.release(held)
    lease = await waiter
    assert clock.elapsed == 5
    assert lease.expires_at == clock.now().timestamp() + 60


async def test_waiter_takes_an_expired_lock_at_its_expiry() -> None:
    """A waiter on a lock nobody releases gets it exactly when the lease ends."""
    clock = FakeClock()
    lock = AsyncioLock(clock)
    held = await lock.acquire("realm-1", lease=12, wait=0)
    await lock.acquire("realm-1", lease=5, wait=60)
    assert clock.now().timestamp() == held.expires_at
    assert clock.elapsed == 12


async def test_waiter_gives_up_at_exactly_its_wait() -> None:
    """A timed-out waiter has waited exactly `wait` virtual seconds, and says so."""
    clock = FakeClock()
    lock = AsyncioLock(clock)
    await lock.acquire("realm-1", lease=60, wait=0)
    with pytest.raises(LockTimeoutError) as caught:
        await lock.acquire("realm-1", lease=60, wait=7)
    assert clock.elapsed == 7
    assert caught.value.waited == 7
    assert caught.value.retryable


async def test_release_wakes_every_waiter_and_one_wins() -> None:
    """On release all waiters wake; one takes the lock and the rest wait on for the next."""
    clock = FakeClock()
    lock = AsyncioLock(clock)
    held = await lock.acquire("realm-1", lease=60, wait=0)
    loop = asyncio.get_running_loop()
    waiters = [loop.create_task(lock.acquire("realm-1", lease=60, wait=100)) for _ in range(3)]
    await clock.sleep(1)
    await lock.release(held)
    done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    assert len(done) == 1
    assert len(pending) == 2
    first = done.pop().result()
    await lock.release(first)
    second = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    assert len(second[0]) == 1
    await lock.release(second[0].pop().result())
    await asyncio.gather(*second[1])
    assert clock.elapsed == 1


async def test_waiting_leaves_no_sleepers_behind() -> None:
    """Once a waiter is served, no stray timer is left sleeping on the clock."""
    clock = FakeClock()
    lock = AsyncioLock(clock)
    held = await lock.acquire("realm-1", lease=60, wait=0)
    waiter = asyncio.get_running_loop().create_task(lock.acquire("realm-1", lease=60, wait=30))
    await clock.sleep(2)
    await lock.release(held)
    await waiter
    await asyncio.sleep(0)
    assert clock.pending_sleepers == 0


@pytest.mark.parametrize("lease", [math.inf, math.nan])
async def test_non_finite_lease_is_refused(lease: float) -> None:
    """A lease of infinity or NaN is refused with `ValueError`."""
    lock = AsyncioLock(FakeClock())
    with pytest.raises(ValueError, match="lease"):
        await lock.acquire("realm-1", lease=lease, wait=0)


async def test_nan_wait_is_refused() -> None:
    """A wait of NaN is refused with `ValueError`."""
    lock = AsyncioLock(FakeClock())
    with pytest.raises(ValueError, match="wait"):
        await lock.acquire("realm-1", lease=1, wait=math.nan)


async def test_repr_names_the_held_locks_but_no_token() -> None:
    """`repr` lists the held names and never a lease token."""
    lock = AsyncioLock(FakeClock())
    lease = await lock.acquire("realm-1", lease=10, wait=0)
    assert "realm-1" in repr(lock)
    assert lease.token not in repr(lock)
    assert lease.token not in repr(lease)
