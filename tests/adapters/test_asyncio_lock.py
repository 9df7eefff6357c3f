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


async def test_timeout_message_names_the_lock_and_the_wait() -> None:
    """A waiter that gives up says which lock was still held and for how long it waited."""
    lock = AsyncioLock(FakeClock())
    await lock.acquire("realm-1", lease=60, wait=0)
    with pytest.raises(LockTimeoutError, match=r"^lock 'realm-1' still held after waiting 2\.5s$"):
        await lock.acquire("realm-1", lease=60, wait=2.5)


async def test_extend_of_a_lost_lease_says_so_and_waited_nothing() -> None:
    """Extending a lost lease raises an error naming the lock, with `waited` of 0."""
    lock = AsyncioLock(FakeClock())
    lease = await lock.acquire("realm-1", lease=10, wait=0)
    await lock.release(lease)
    with pytest.raises(LockTimeoutError) as caught:
        await lock.extend(lease, lease_seconds=10)
    assert str(caught.value) == "lease on lock 'realm-1' was lost before it could be extended"
    assert caught.value.name == "realm-1"
    assert caught.value.waited == 0.0


async def test_invalid_durations_name_the_argument_and_value() -> None:
    """A refused duration names the argument and the value given."""
    lock = AsyncioLock(FakeClock())
    lease = await lock.acquire("realm-1", lease=10, wait=0)
    with pytest.raises(ValueError, match=r"^lease must be a positive number of seconds, got 0$"):
        await lock.acquire("realm-2", lease=0, wait=0)
    with pytest.raises(ValueError, match=r"^wait must be zero or positive, got -1$"):
        await lock.acquire("realm-2", lease=10, wait=-1)
    with pytest.raises(
        ValueError, match=r"^lease_seconds must be a positive number of seconds, got -2$"
    ):
        await lock.extend(lease, lease_seconds=-2)


async def test_lease_tokens_are_128_random_bits() -> None:
    """Each lease's token is 32 hex digits (128 random bits), fresh for every lease."""
    lock = AsyncioLock(FakeClock())
    first = await lock.acquire("realm-1", lease=10, wait=0)
    second = await lock.acquire("realm-2", lease=10, wait=0)
    for lease in (first, second):
        assert len(lease.token) == 32
        int(lease.token, 16)
    assert first.token != second.token


async def test_repr_lists_the_held_names_sorted() -> None:
    """`repr` reads `AsyncioLock(held=[...])` with the held names in sorted order."""
    lock = AsyncioLock(FakeClock())
    await lock.acquire("b", lease=10, wait=0)
    await lock.acquire("a", lease=10, wait=0)
    assert repr(lock) == "AsyncioLock(held=['a', 'b'])"


class _BrokenClock(FakeClock):
    """A clock whose sleep lets the time pass, then fails."""

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        raise RuntimeError("clock broke")


async def test_a_failing_clock_surfaces_from_a_waiting_acquire() -> None:
    """A clock whose sleep fails makes a waiting `acquire` raise that error, not spin."""
    lock = AsyncioLock(_BrokenClock())
    await lock.acquire("realm-1", lease=60, wait=0)
    with pytest.raises(RuntimeError, match="clock broke"):
        await lock.acquire("realm-1", lease=60, wait=5)


async def test_extend_keeps_the_lease_token() -> None:
    """The extended lease has the same token, so the lease held before `extend` still releases."""
    lock = AsyncioLock(FakeClock(auto_advance=False))
    lease = await lock.acquire("realm-1", lease=10, wait=0)
    extended = await lock.extend(lease, lease_seconds=20)
    assert extended.token == lease.token
    assert await lock.release(lease) is True


async def test_a_waiter_that_gives_up_leaves_the_others_wakeable() -> None:
    """When one waiter times out, another still waiting takes the lock at the release instant."""
    clock = FakeClock()
    lock = AsyncioLock(clock)
    held = await lock.acquire("realm-1", lease=60, wait=0)
    loop = asyncio.get_running_loop()
    impatient = loop.create_task(lock.acquire("realm-1", lease=60, wait=2))
    patient = loop.create_task(lock.acquire("realm-1", lease=60, wait=30))
    with pytest.raises(LockTimeoutError):
        await impatient
    await clock.sleep(3)
    await lock.release(held)
    await patient
    assert clock.elapsed == 5


async def test_waiters_that_left_leave_no_bookkeeping() -> None:
    """A lock forgets each waiter once it is served or gives up, so waits never pile up."""
    clock = FakeClock()
    lock = AsyncioLock(clock)
    held = await lock.acquire("realm-1", lease=60, wait=0)
    with pytest.raises(LockTimeoutError):
        await lock.acquire("realm-1", lease=60, wait=2)
    assert lock._waiters == {}
    waiter = asyncio.get_running_loop().create_task(lock.acquire("realm-1", lease=60, wait=30))
    await clock.sleep(1)
    await lock.release(held)
    await waiter
    assert lock._waiters == {}
