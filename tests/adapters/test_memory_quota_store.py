"""`MemoryQuotaStore` against the `QuotaStore` contract, plus what is particular to it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.quota_store import MemoryQuotaStore
from qbo_adapters.testing.quota_store import QuotaStoreContract
from qbo_core.dtos import RateLimit
from qbo_core.ports.quota_store import QuotaStore

LIMIT = RateLimit(limit=10, period=60)


class SteppedClock:
    """A `Clock` whose wall time the test sets at will, backwards included (an NTP step)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.seconds, UTC)

    def monotonic(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        raise AssertionError("the quota store never sleeps")


class TestMemoryQuotaStore(QuotaStoreContract):
    @contextlib.asynccontextmanager
    async def make_quota_store(self, clock: FakeClock) -> AsyncIterator[QuotaStore]:
        yield MemoryQuotaStore(clock)


@pytest.mark.parametrize("cost", [0, -1])
async def test_cost_below_one_is_refused(cost: int) -> None:
    """A zero or negative cost raises `ValueError` rather than handing quota back."""
    store = MemoryQuotaStore(SteppedClock())
    with pytest.raises(ValueError, match="cost"):
        await store.try_acquire("realm", [LIMIT], cost=cost)
    assert store.entry_count == 0


async def test_no_limits_grants_and_records_nothing() -> None:
    """With no limits every cost fits, and nothing is kept."""
    store = MemoryQuotaStore(SteppedClock())
    assert await store.try_acquire("realm", [], cost=1_000) == 0.0
    assert store.entry_count == 0


async def test_old_grants_are_pruned() -> None:
    """A window's log keeps only the grants still inside it."""
    clock = SteppedClock()
    store = MemoryQuotaStore(clock)
    for second in range(100):
        clock.seconds = float(second * 10)
        assert await store.try_acquire("realm", [LIMIT]) == 0.0
    assert store.entry_count == 6  # the grants in (930, 990]


async def test_idle_keys_are_forgotten() -> None:
    """Keys whose grants have all left their windows are dropped by the periodic sweep."""
    clock = SteppedClock()
    store = MemoryQuotaStore(clock)
    for index in range(3_000):
        clock.seconds = float(index)
        await store.try_acquire(f"realm-{index}", [LIMIT])
    assert store.entry_count <= 1_100
    assert await store.usage("realm-2999", LIMIT) == 1
    assert await store.usage("realm-10", LIMIT) == 0


async def test_a_clock_stepped_back_is_judged_at_the_latest_time() -> None:
    """After the wall clock steps back, a call cannot use room that pruning already freed."""
    clock = SteppedClock()
    store = MemoryQuotaStore(clock)
    limits = [RateLimit(limit=1, period=10)]
    for seconds, expected in ((100.0, 0.0), (95.0, 15.0), (110.0, 0.0), (101.0, 19.0)):
        clock.seconds = seconds
        assert await store.try_acquire("realm", limits) == pytest.approx(expected), seconds


async def test_repr_counts_keys_and_entries() -> None:
    """`repr` reports how many keys and grants the store holds."""
    store = MemoryQuotaStore(SteppedClock())
    await store.try_acquire("realm", [LIMIT, RateLimit(limit=5, period=1)], cost=2)
    assert repr(store) == "MemoryQuotaStore(keys=1, entries=2)"


async def test_the_sweep_keeps_windows_that_still_hold_live_grants() -> None:
    """Past 1,024 calls the periodic sweep runs; a key whose window is full stays full, and
    its grants are still counted, however many calls pass while they are live."""
    clock = SteppedClock()
    store = MemoryQuotaStore(clock)
    hour = RateLimit(limit=5, period=3600)
    for _ in range(5):
        assert await store.try_acquire("realm", [hour]) == 0.0
    for call in range(1, 2_500):
        clock.seconds = call / 10
        assert await store.try_acquire("realm", [hour]) == pytest.approx(3600 - call / 10)
    assert await store.usage("realm", hour) == 5
    assert store.entry_count == 5


async def test_the_sweep_keeps_live_grants_of_idle_keys() -> None:
    """Keys not called since their grants were made keep them through sweeps while they are
    inside their windows, and lose them once they have left."""
    clock = SteppedClock()
    store = MemoryQuotaStore(clock)
    hour = RateLimit(limit=1, period=3600)
    assert await store.try_acquire("idle", [hour]) == 0.0
    for call in range(1, 2_500):
        clock.seconds = float(call)
        await store.try_acquire(f"busy-{call % 3}", [RateLimit(limit=1, period=1)])
    assert await store.usage("idle", hour) == 1
    assert await store.try_acquire("idle", [hour]) == pytest.approx(3600 - 2_499)


async def test_the_sweep_keeps_live_slots_and_blocks() -> None:
    """A slot lease and a block still running survive the periodic sweep."""
    clock = SteppedClock()
    store = MemoryQuotaStore(clock)
    assert await store.lease_slot("realm", capacity=1, lease=3600) is not None
    await store.block("realm", 3600)
    for call in range(1, 2_500):
        clock.seconds = call / 10
        await store.try_acquire(f"other-{call}", [LIMIT])
    assert await store.lease_slot("realm", capacity=1, lease=3600) is None
    assert await store.blocked_until("realm") == 3600


async def test_the_sweep_forgets_expired_slots_and_ended_blocks() -> None:
    """Slots whose leases ran out and blocks that ended (at the sweep's time exactly, too)
    are dropped by the sweep, so keys that went quiet hold no memory."""
    clock = SteppedClock()
    store = MemoryQuotaStore(clock)
    for index in range(100):
        await store.lease_slot(f"slot-{index}", capacity=2, lease=1)
        await store.block(f"block-{index}", 1)
    clock.seconds = 1.0
    for _ in range(1_100):
        await store.try_acquire("realm", [])
    assert (store._slots, store._blocks) == ({}, {})


async def test_idle_keys_are_swept_every_1024th_call() -> None:
    """The sweep runs on the 1,024th call, not before: until then expired grants are kept."""
    clock = SteppedClock()
    store = MemoryQuotaStore(clock)
    second = RateLimit(limit=1, period=1)
    for call in range(1, 1_024):
        clock.seconds = float(call)
        await store.try_acquire(f"realm-{call}", [second])
    assert store.entry_count == 1_023
    clock.seconds = 1_024.0
    await store.try_acquire("realm-1024", [second])
    # The sweep runs at the latest time seen before this call (1,023 s): it keeps that
    # call's grant only; then this call's own grant is added.
    assert store.entry_count == 2


async def test_a_block_is_over_at_its_end() -> None:
    """At the block's `until` the key is no longer blocked: the call is granted and counted."""
    clock = SteppedClock()
    store = MemoryQuotaStore(clock)
    await store.block("realm", 100.0)
    clock.seconds = 100.0
    assert await store.try_acquire("realm", [LIMIT]) == 0.0
    assert await store.usage("realm", LIMIT) == 1


@pytest.mark.parametrize("order", [("a", "b"), ("b", "a")])
async def test_the_longest_block_over_several_keys_sets_the_wait(order: tuple[str, str]) -> None:
    """Spending on several blocked keys waits for the block that ends last, whatever the order."""
    clock = SteppedClock()
    store = MemoryQuotaStore(clock)
    await store.block("a", 80.0)
    await store.block("b", 50.0)
    clock.seconds = 10.0
    assert await store.try_acquire_all([(key, [LIMIT]) for key in order]) == 70.0
    assert await store.usage("a", LIMIT) == 0


async def test_a_key_without_limits_does_not_hide_the_keys_after_it() -> None:
    """In a spend on several keys, one key with no limits leaves the next keys' limits checked."""
    store = MemoryQuotaStore(SteppedClock())
    one = RateLimit(limit=1, period=60)
    spends = [("free", []), ("realm", [one])]
    assert await store.try_acquire_all(spends) == 0.0
    assert await store.try_acquire_all(spends) == 60.0
    assert await store.usage("realm", one) == 1


async def test_the_wait_ends_when_just_enough_grants_have_left() -> None:
    """When the oldest grant's leaving makes exactly enough room, the wait ends then,
    not when a later grant leaves."""
    clock = SteppedClock()
    store = MemoryQuotaStore(clock)
    limits = [RateLimit(limit=2, period=60)]
    for seconds in (0.0, 10.0):
        clock.seconds = seconds
        assert await store.try_acquire("realm", limits) == 0.0
    clock.seconds = 20.0
    assert await store.try_acquire("realm", limits) == 40.0


async def test_two_stores_hand_out_different_slot_tokens() -> None:
    """Slot tokens start with a random prefix per store, so two stores never share one."""
    first = await MemoryQuotaStore(SteppedClock()).lease_slot("realm", capacity=1, lease=60)
    second = await MemoryQuotaStore(SteppedClock()).lease_slot("realm", capacity=1, lease=60)
    assert first is not None
    assert second is not None
    assert first.token != second.token


async def test_a_grant_whose_window_end_rounds_to_now_is_granted_and_counted() -> None:
    """A 0.0 answer is always a grant that counts. Where float rounding puts the end of
    the oldest grant's window exactly at now (0.262674 + 0.691264 == 0.953938, though
    0.262674 > 0.953938 - 0.691264), the new grant fits and is recorded: the next call a
    microsecond later, with the old grant gone from the window, still finds it full."""
    clock = SteppedClock()
    store = MemoryQuotaStore(clock)
    limits = [RateLimit(limit=1, period=0.691264)]
    clock.seconds = 0.262674
    assert await store.try_acquire("realm", limits) == 0.0
    clock.seconds = 0.953938
    assert await store.try_acquire("realm", limits) == 0.0
    clock.seconds = 0.953939
    assert await store.try_acquire("realm", limits) == pytest.approx(0.691263)
