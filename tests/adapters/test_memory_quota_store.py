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
