"""`MemoryQuotaStore` against the `QuotaStore` contract, plus what is particular to it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.quota_store import MemoryQuotaStore
from qbo_adapters.testing.quota_store import QuotaStoreContract
from qbo_core.dtos import RateLimit
from qbo_core.ports.quota_store import QuotaStore

LIMIT = RateLimit(limit=10, period=60)


class TestMemoryQuotaStore(QuotaStoreContract):
    @contextlib.asynccontextmanager
    async def make_quota_store(self, clock: FakeClock) -> AsyncIterator[QuotaStore]:
        yield MemoryQuotaStore()


@pytest.mark.parametrize("cost", [0, -1])
async def test_cost_below_one_is_refused(cost: int) -> None:
    """A zero or negative cost raises `ValueError` rather than handing quota back."""
    store = MemoryQuotaStore()
    with pytest.raises(ValueError, match="cost"):
        await store.try_acquire("realm", [LIMIT], now=0.0, cost=cost)
    assert store.entry_count == 0


async def test_no_limits_grants_and_records_nothing() -> None:
    """With no limits every cost fits, and nothing is kept."""
    store = MemoryQuotaStore()
    assert await store.try_acquire("realm", [], now=0.0, cost=1_000) == 0.0
    assert store.entry_count == 0


async def test_old_grants_are_pruned() -> None:
    """A window's log keeps only the grants still inside it."""
    store = MemoryQuotaStore()
    for second in range(100):
        assert await store.try_acquire("realm", [LIMIT], now=float(second * 10)) == 0.0
    assert store.entry_count == 6  # the grants in (930, 990]


async def test_idle_keys_are_forgotten() -> None:
    """Keys whose grants have all left their windows are dropped by the periodic sweep."""
    store = MemoryQuotaStore()
    for index in range(3_000):
        await store.try_acquire(f"realm-{index}", [LIMIT], now=float(index))
    assert store.entry_count <= 1_100
    assert await store.usage("realm-2999", LIMIT, now=2_999.0) == 1
    assert await store.usage("realm-10", LIMIT, now=10.0) == 0


async def test_a_lagging_caller_is_judged_at_the_latest_time() -> None:
    """A call with an earlier `now` than one already seen cannot use room pruning freed."""
    store = MemoryQuotaStore()
    limits = [RateLimit(limit=1, period=10)]
    assert await store.try_acquire("realm", limits, now=100.0) == 0.0
    assert await store.try_acquire("realm", limits, now=95.0) == pytest.approx(15)
    assert await store.try_acquire("realm", limits, now=110.0) == 0.0
    assert await store.try_acquire("realm", limits, now=101.0) == pytest.approx(19)


async def test_repr_counts_keys_and_entries() -> None:
    """`repr` reports how many keys and grants the store holds."""
    store = MemoryQuotaStore()
    await store.try_acquire("realm", [LIMIT, RateLimit(limit=5, period=1)], now=0.0, cost=2)
    assert repr(store) == "MemoryQuotaStore(keys=1, entries=2)"
