"""`MemoryStateStore` against the `StateStore` contract, plus its bound and its sweep."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import cast

import pytest

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.state_store import MemoryStateStore
from qbo_adapters.testing.state_store import StateStoreContract
from qbo_core.ports.state_store import StateStore


class TestMemoryStateStore(StateStoreContract):
    """The contract against a fresh in-memory store."""

    @contextlib.asynccontextmanager
    async def make_state_store(self, clock: FakeClock) -> AsyncIterator[StateStore]:
        yield MemoryStateStore(clock)


@pytest.mark.parametrize("bound", [0, -1])
def test_bound_must_be_positive(bound: int) -> None:
    """A max_entries below one is refused."""
    with pytest.raises(ValueError, match="max_entries"):
        MemoryStateStore(FakeClock(), max_entries=bound)


async def test_expired_values_are_swept_by_the_next_put() -> None:
    """Values whose TTL has passed are dropped from memory by the next put, untaken."""
    clock = FakeClock(auto_advance=False)
    store = MemoryStateStore(clock)
    for index in range(100):
        await store.put(f"abandoned-{index}", b"v", ttl=10)
    await store.put("long", b"v", ttl=60)
    assert len(store) == 101
    clock.advance(10)
    await store.put("fresh", b"v", ttl=10)
    assert len(store) == 2
    assert await store.take("long") == b"v"


async def test_memory_stays_bounded_under_a_flood_of_abandoned_values() -> None:
    """A steady stream of values nobody takes holds only those still within their TTL."""
    clock = FakeClock(auto_advance=False)
    store = MemoryStateStore(clock)
    for index in range(5_000):
        await store.put(f"state-{index}", b"v", ttl=10)
        clock.advance(0.25)
    assert len(store) == 40  # the puts of the last 10 seconds


async def test_a_full_store_drops_the_value_nearest_its_expiry() -> None:
    """Beyond max_entries, a put drops the live value that would expire first."""
    clock = FakeClock(auto_advance=False)
    store = MemoryStateStore(clock, max_entries=3)
    await store.put("long", b"l", ttl=600)
    await store.put("soon", b"s", ttl=5)
    await store.put("mid", b"m", ttl=60)
    await store.put("new", b"n", ttl=300)
    assert len(store) == 3
    assert await store.take("soon") is None
    assert [await store.take(key) for key in ("long", "mid", "new")] == [b"l", b"m", b"n"]


async def test_taken_and_replaced_values_leave_no_lasting_trace() -> None:
    """Put-then-take cycles with a long TTL keep the store's bookkeeping small."""
    store = MemoryStateStore(FakeClock())
    for index in range(10_000):
        await store.put("state", str(index).encode(), ttl=3_600)
        await store.put(f"taken-{index}", b"v", ttl=3_600)
        assert await store.take(f"taken-{index}") == b"v"
    assert len(store) == 1
    assert len(store._expiries) <= 2 * len(store) + 64 + 1


async def test_stored_value_is_a_copy_of_the_callers_buffer() -> None:
    """Mutating the buffer given to put leaves the stored value alone."""
    store = MemoryStateStore(FakeClock())
    buffer = bytearray(b"original")
    await store.put("state", cast(bytes, buffer), ttl=60)
    buffer[:] = b"mutated!"
    assert await store.take("state") == b"original"


async def test_repr_counts_entries_and_shows_no_value() -> None:
    """The repr says how many values are held and never shows one."""
    store = MemoryStateStore(FakeClock(), max_entries=10)
    await store.put("state", b"secret-verifier", ttl=60)
    assert repr(store) == "MemoryStateStore(entries=1, max_entries=10)"


def test_the_default_bound_is_100_000_values() -> None:
    """Without max_entries, a store holds at most 100,000 live values."""
    assert repr(MemoryStateStore(FakeClock())) == "MemoryStateStore(entries=0, max_entries=100000)"


async def test_a_bound_of_one_holds_the_latest_value() -> None:
    """max_entries=1 is allowed: each put replaces the one value held."""
    store = MemoryStateStore(FakeClock(), max_entries=1)
    await store.put("a", b"1", ttl=60)
    await store.put("b", b"2", ttl=60)
    assert len(store) == 1
    assert await store.take("a") is None
    assert await store.take("b") == b"2"


async def test_the_heap_is_rebuilt_once_it_outgrows_twice_the_values_plus_64() -> None:
    """Taken values leave heap slots behind: the heap is rebuilt (an O(n) step, so not on
    every put) exactly when it holds more than 2n + 64 slots for n values."""
    store = MemoryStateStore(FakeClock())
    await store.put("kept", b"v", ttl=3_600)
    sizes = []
    for index in range(200):
        await store.put(f"taken-{index}", b"v", ttl=3_600)
        sizes.append(len(store._expiries))  # two values held here
        assert await store.take(f"taken-{index}") == b"v"
    assert max(sizes) == 2 * 2 + 64
    assert min(sizes) == 2  # just rebuilt: one slot per value
