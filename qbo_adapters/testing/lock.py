"""The `Lock` contract suite, for the asyncio lock and for shared (file, Redis) locks."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    multiple,
    rule,
)

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.testing._machine import AsyncAdapterMachine, ContractSuite
from qbo_adapters.testing._time_rule import check_time_rule
from qbo_core.errors import LockTimeoutError
from qbo_core.ports.lock import Lease, Lock

__all__ = ["LockContract"]

# How far an adapter's `expires_at` may stray from `now + lease` (float arithmetic).
_TOLERANCE = 1e-6


def _now(clock: FakeClock) -> float:
    return clock.now().timestamp()


class LockContract(ContractSuite):
    """What every `Lock` promises. Subclass as `Test<Adapter>(LockContract)`.

    Implement `make_lock`: an async context manager yielding a fresh lock, holding
    no name, that measures leases and waits on `clock` (a `FakeClock`, so every
    wait here is virtual). Adapters that cannot be woken by a release (a lock shared
    between processes, which polls) pass too: the suite bounds waits from both sides
    but never asks a waiter to notice a release at an exact instant.

    The lease follows the ports' time rule (wall-clock epoch seconds from `now()`);
    `test_lease_follows_the_wall_clock` checks it as every shared-state suite does.
    """

    def make_lock(self, clock: FakeClock) -> contextlib.AbstractAsyncContextManager[Lock]:
        """Return an async context manager yielding a fresh, empty lock timed on `clock`."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement make_lock(clock) to run the Lock contract"
        )

    async def test_ping_answers_and_changes_nothing(self) -> None:
        """`ping` returns on a working lock, free or held, and neither takes nor frees it."""
        async with self.make_lock(FakeClock()) as lock:
            await lock.ping()
            lease = await lock.acquire("realm-1", lease=30, wait=0)
            await lock.ping()
            with pytest.raises(LockTimeoutError):
                await lock.acquire("realm-1", lease=30, wait=0)
            assert await lock.release(lease) is True

    async def test_acquire_returns_a_lease_on_the_name(self) -> None:
        """A free lock is taken at once, with a lease on that name ending `lease` seconds on."""
        clock = FakeClock()
        async with self.make_lock(clock) as lock:
            before = clock.monotonic()
            lease = await lock.acquire("realm-1", lease=30, wait=0)
            assert lease.name == "realm-1"
            assert lease.expires_at == pytest.approx(_now(clock) + 30, abs=_TOLERANCE)
            assert clock.monotonic() == before

    async def test_held_lock_with_no_wait_fails_at_once(self) -> None:
        """`wait=0` on a held name raises `LockTimeoutError` naming it, without waiting."""
        clock = FakeClock()
        async with self.make_lock(clock) as lock:
            await lock.acquire("realm-1", lease=30, wait=0)
            before = clock.monotonic()
            with pytest.raises(LockTimeoutError) as caught:
                await lock.acquire("realm-1", lease=30, wait=0)
            assert caught.value.name == "realm-1"
            assert caught.value.waited == 0
            assert clock.monotonic() == before

    async def test_names_are_independent(self) -> None:
        """Holding one name does not block another, nor does releasing it free the other."""
        clock = FakeClock()
        async with self.make_lock(clock) as lock:
            first = await lock.acquire("realm-1", lease=30, wait=0)
            second = await lock.acquire("realm-2", lease=30, wait=0)
            assert await lock.release(first) is True
            with pytest.raises(LockTimeoutError):
                await lock.acquire("realm-2", lease=30, wait=0)
            assert await lock.release(second) is True

    async def test_release_frees_the_lock_once(self) -> None:
        """Releasing returns `True` and frees the name; releasing again returns `False`."""
        clock = FakeClock()
        async with self.make_lock(clock) as lock:
            lease = await lock.acquire("realm-1", lease=30, wait=0)
            assert await lock.release(lease) is True
            assert await lock.release(lease) is False
            again = await lock.acquire("realm-1", lease=30, wait=0)
            assert again.token != lease.token

    async def test_waiter_takes_the_lock_after_release(self) -> None:
        """A waiting `acquire` gets the lock once the holder releases it, within its wait."""
        clock = FakeClock()
        async with self.make_lock(clock) as lock:
            start = clock.monotonic()
            held = await lock.acquire("realm-1", lease=60, wait=0)
            waiter = asyncio.get_running_loop().create_task(
                lock.acquire("realm-1", lease=60, wait=30)
            )
            await clock.sleep(5)
            released_at = _now(clock)
            assert await lock.release(held) is True
            lease = await waiter
            assert lease.token != held.token
            assert lease.expires_at >= released_at + 60 - _TOLERANCE
            assert 5 <= clock.monotonic() - start < 30

    async def test_waiter_gives_up_after_its_wait(self) -> None:
        """A waiter raises `LockTimeoutError` once `wait` seconds pass with the lock held."""
        clock = FakeClock()
        async with self.make_lock(clock) as lock:
            await lock.acquire("realm-1", lease=100, wait=0)
            start = clock.monotonic()
            with pytest.raises(LockTimeoutError) as caught:
                await lock.acquire("realm-1", lease=30, wait=5)
            waited = clock.monotonic() - start
            assert caught.value.name == "realm-1"
            assert caught.value.waited == pytest.approx(waited, abs=_TOLERANCE)
            assert 5 - _TOLERANCE <= waited < 100

    async def test_waiter_takes_the_lock_when_the_lease_runs_out(self) -> None:
        """A holder that never releases loses the lock to a waiter when its lease ends."""
        clock = FakeClock()
        async with self.make_lock(clock) as lock:
            held = await lock.acquire("realm-1", lease=10, wait=0)
            lease = await lock.acquire("realm-1", lease=30, wait=60)
            assert _now(clock) >= held.expires_at
            assert lease.expires_at == pytest.approx(_now(clock) + 30, abs=_TOLERANCE)
            assert clock.elapsed < 60

    async def test_lease_is_over_at_its_expiry(self) -> None:
        """The lock is held until just before `expires_at` and free from that instant."""
        clock = FakeClock(auto_advance=False)
        async with self.make_lock(clock) as lock:
            await lock.acquire("realm-1", lease=10, wait=0)
            clock.advance(9.5)
            with pytest.raises(LockTimeoutError):
                await lock.acquire("realm-1", lease=10, wait=0)
            clock.advance(0.5)
            await lock.acquire("realm-1", lease=10, wait=0)

    async def test_lease_follows_the_wall_clock(self) -> None:
        """Leases end on the wall clock (epoch seconds), never on monotonic time alone."""

        async def start(lock: Lock, name: str, lease: float) -> None:
            await lock.acquire(name, lease=lease, wait=0)

        async def live(lock: Lock, name: str) -> bool:
            try:
                await lock.acquire(name, lease=1, wait=0)
            except LockTimeoutError:
                return True
            return False

        await check_time_rule(self.make_lock, start, live)

    async def test_release_after_expiry_returns_false(self) -> None:
        """Releasing a lease that ran out returns `False`, even if nobody took the lock."""
        clock = FakeClock(auto_advance=False)
        async with self.make_lock(clock) as lock:
            lease = await lock.acquire("realm-1", lease=10, wait=0)
            clock.advance(11)
            assert await lock.release(lease) is False

    async def test_stale_release_does_not_free_the_next_holder(self) -> None:
        """An expired holder's release returns `False` and leaves the new holder's lock held."""
        clock = FakeClock(auto_advance=False)
        async with self.make_lock(clock) as lock:
            stale = await lock.acquire("realm-1", lease=10, wait=0)
            clock.advance(11)
            current = await lock.acquire("realm-1", lease=10, wait=0)
            assert await lock.release(stale) is False
            with pytest.raises(LockTimeoutError):
                await lock.acquire("realm-1", lease=10, wait=0)
            assert await lock.release(current) is True

    async def test_extend_pushes_the_expiry(self) -> None:
        """`extend` makes the lease end `lease_seconds` from now, keeping others out until then."""
        clock = FakeClock(auto_advance=False)
        async with self.make_lock(clock) as lock:
            lease = await lock.acquire("realm-1", lease=10, wait=0)
            clock.advance(8)
            extended = await lock.extend(lease, lease_seconds=10)
            assert extended.name == "realm-1"
            assert extended.expires_at == pytest.approx(_now(clock) + 10, abs=_TOLERANCE)
            clock.advance(8)  # past the first lease's end, before the extended one's
            with pytest.raises(LockTimeoutError):
                await lock.acquire("realm-1", lease=10, wait=0)
            clock.advance(2.5)
            await lock.acquire("realm-1", lease=10, wait=0)

    async def test_extended_lease_can_be_released(self) -> None:
        """The lease `extend` returns releases the lock."""
        clock = FakeClock(auto_advance=False)
        async with self.make_lock(clock) as lock:
            lease = await lock.acquire("realm-1", lease=10, wait=0)
            extended = await lock.extend(lease, lease_seconds=20)
            clock.advance(15)
            assert await lock.release(extended) is True
            await lock.acquire("realm-1", lease=10, wait=0)

    async def test_extend_of_a_lost_lease_raises(self) -> None:
        """`extend` raises `LockTimeoutError` for a released, expired, or taken-over lease."""
        clock = FakeClock(auto_advance=False)
        async with self.make_lock(clock) as lock:
            released = await lock.acquire("released", lease=10, wait=0)
            await lock.release(released)
            expired = await lock.acquire("expired", lease=10, wait=0)
            taken = await lock.acquire("taken", lease=10, wait=0)
            clock.advance(10)
            newer = await lock.acquire("taken", lease=10, wait=0)
            for lost in (released, expired, taken):
                with pytest.raises(LockTimeoutError) as caught:
                    await lock.extend(lost, lease_seconds=10)
                assert caught.value.name == lost.name
            assert await lock.release(newer) is True

    async def test_invalid_durations_raise_value_error(self) -> None:
        """A lease that is not positive, or a negative wait, is refused with `ValueError`."""
        clock = FakeClock(auto_advance=False)
        async with self.make_lock(clock) as lock:
            for lease_seconds in (0, -1):
                with pytest.raises(ValueError, match="lease"):
                    await lock.acquire("realm-1", lease=lease_seconds, wait=0)
            with pytest.raises(ValueError, match="wait"):
                await lock.acquire("realm-1", lease=10, wait=-1)
            lease = await lock.acquire("realm-1", lease=10, wait=0)
            with pytest.raises(ValueError, match="lease"):
                await lock.extend(lease, lease_seconds=0)
            assert await lock.release(lease) is True

    async def test_many_tasks_hold_the_lock_one_at_a_time(self) -> None:
        """Among many concurrent tasks, every one gets the lock and never two at once."""
        clock = FakeClock()
        async with self.make_lock(clock) as lock:
            holders = 0
            most = 0
            served: list[int] = []

            async def worker(index: int) -> None:
                nonlocal holders, most
                lease = await lock.acquire("realm-1", lease=60, wait=10_000)
                holders += 1
                most = max(most, holders)
                await clock.sleep(1)
                holders -= 1
                served.append(index)
                assert await lock.release(lease) is True

            await asyncio.gather(*(worker(i) for i in range(20)))
            assert most == 1
            assert sorted(served) == list(range(20))

    async def test_cancelled_waiter_leaves_the_lock_usable(self) -> None:
        """Cancelling a waiting `acquire` raises `CancelledError` and leaves no trace."""
        clock = FakeClock()
        async with self.make_lock(clock) as lock:
            held = await lock.acquire("realm-1", lease=60, wait=0)
            waiter = asyncio.get_running_loop().create_task(
                lock.acquire("realm-1", lease=60, wait=30)
            )
            await clock.sleep(1)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            assert await lock.release(held) is True
            lease = await lock.acquire("realm-1", lease=60, wait=0)
            assert await lock.release(lease) is True

    def test_behaves_like_a_model(self) -> None:
        """Under any sequence of acquires, releases, extends and waits it agrees with a model."""
        contract = self

        class Machine(LockMachine):
            def factory(self) -> contextlib.AbstractAsyncContextManager[Lock]:
                return contract.make_lock(self.clock)

        self.run_machine(Machine)


class LockMachine(AsyncAdapterMachine[Lock]):
    """The lock against a model `{name: (token, expires_at)}`, on a virtual clock.

    Times stay at whole seconds from the start and every lease is a whole number of
    seconds plus one half, so the model never has to guess about an acquire landing
    exactly on an expiry (except after a waiter takes an expired lock, where the suite
    then holds adapters to "over at `expires_at`", as `test_lease_is_over_at_its_expiry`).
    """

    leases = Bundle("leases")

    def __init__(self) -> None:
        self.clock = FakeClock()
        super().__init__()
        self.now = _now(self.clock)
        self.held: dict[str, tuple[str, float]] = {}
        self.tokens: set[str] = set()

    # -- the model ------------------------------------------------------------------

    def holder(self, name: str) -> tuple[str, float] | None:
        """The model's live holder of `name` at the model's time."""
        held = self.held.get(name)
        if held is not None and held[1] <= self.now:
            return None
        return held

    def took(self, lease: Lease, name: str, seconds: float) -> Lease:
        assert lease.name == name
        assert lease.token not in self.tokens, "a new holder must get a fresh token"
        assert lease.expires_at == pytest.approx(self.now + seconds, abs=_TOLERANCE)
        self.tokens.add(lease.token)
        self.held[name] = (lease.token, lease.expires_at)
        return lease

    def time_stood_still(self) -> None:
        assert _now(self.clock) == pytest.approx(self.now, abs=_TOLERANCE)

    # -- rules ----------------------------------------------------------------------

    names = st.sampled_from(["a", "b", "c"])
    lease_lengths = st.sampled_from([0.5, 1.5, 2.5, 4.5])

    @rule(target=leases, name=names, seconds=lease_lengths)
    def acquire_at_once(self, name: str, seconds: float) -> MultipleResults[Lease] | Lease:
        if self.holder(name) is not None:
            with pytest.raises(LockTimeoutError) as caught:
                self.run(self.adapter.acquire(name, lease=seconds, wait=0))
            assert caught.value.name == name
            self.time_stood_still()
            return multiple()
        lease = self.run(self.adapter.acquire(name, lease=seconds, wait=0))
        self.time_stood_still()
        return self.took(lease, name, seconds)

    @rule(target=leases, name=names, seconds=lease_lengths, wait=st.sampled_from([1, 2, 3, 6]))
    def acquire_waiting(
        self, name: str, seconds: float, wait: int
    ) -> MultipleResults[Lease] | Lease:
        held = self.holder(name)
        start = self.now
        if held is None:  # free: taken at once
            lease = self.run(self.adapter.acquire(name, lease=seconds, wait=wait))
            self.time_stood_still()
            return self.took(lease, name, seconds)
        expiry = held[1]
        if expiry - start > wait:  # held past the wait: gives up at the deadline
            with pytest.raises(LockTimeoutError) as caught:
                self.run(self.adapter.acquire(name, lease=seconds, wait=wait))
            assert caught.value.name == name
            self.now = _now(self.clock)
            assert start + wait - _TOLERANCE <= self.now < expiry
            return multiple()
        if expiry - start == wait:
            return multiple()  # expiry exactly at the deadline: either outcome is fair
        # the lease runs out within the wait: taken at (or just after) its expiry
        lease = self.run(self.adapter.acquire(name, lease=seconds, wait=wait))
        self.now = _now(self.clock)
        assert expiry - _TOLERANCE <= self.now <= start + wait + _TOLERANCE
        return self.took(lease, name, seconds)

    def live(self, lease: Lease) -> bool:
        """Whether the model says `lease` still holds its name."""
        held = self.holder(lease.name)
        return held is not None and held[0] == lease.token

    @rule(lease=leases)
    def release(self, lease: Lease) -> None:
        expected = self.live(lease)
        assert self.run(self.adapter.release(lease)) is expected
        if expected:
            del self.held[lease.name]
        self.time_stood_still()

    @rule(target=leases, lease=leases, seconds=lease_lengths)
    def extend(self, lease: Lease, seconds: float) -> MultipleResults[Lease] | Lease:
        if not self.live(lease):
            with pytest.raises(LockTimeoutError) as caught:
                self.run(self.adapter.extend(lease, lease_seconds=seconds))
            assert caught.value.name == lease.name
            self.time_stood_still()
            return multiple()
        extended = self.run(self.adapter.extend(lease, lease_seconds=seconds))
        assert extended.name == lease.name
        assert extended.expires_at == pytest.approx(self.now + seconds, abs=_TOLERANCE)
        self.held[lease.name] = (extended.token, extended.expires_at)
        self.time_stood_still()
        return extended

    @rule(seconds=st.sampled_from([1, 2, 3]))
    def let_time_pass(self, seconds: int) -> None:
        self.run(self.clock.sleep(seconds))
        self.now += seconds
        self.time_stood_still()

    @rule(seconds=st.sampled_from([1, 5, 60]))
    def let_monotonic_time_pass(self, seconds: int) -> None:
        """Monotonic time alone moves on: by the time rule, no lease ends."""
        self.clock.advance_monotonic(seconds)
        self.time_stood_still()
