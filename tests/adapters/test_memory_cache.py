"""`MemoryCache`: the Cache contract, plus its bounded-LRU specifics."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import cast

import pytest

from qbo_adapters.memory.cache import MemoryCache
from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.testing.cache import CacheContract
from qbo_core.ports.cache import Cache


class TestMemoryCache(CacheContract):
    """The contract, with the default bound (never reached by the suite)."""

    @contextlib.asynccontextmanager
    async def make_cache(self, clock: FakeClock) -> AsyncIterator[Cache]:
        yield MemoryCache(clock)


class TestTinyMemoryCache(CacheContract):
    """The contract with room for four entries, so the state machine sees evictions."""

    cache_capacity = 4

    @contextlib.asynccontextmanager
    async def make_cache(self, clock: FakeClock) -> AsyncIterator[Cache]:
        yield MemoryCache(clock, max_entries=4)


@pytest.mark.parametrize("bound", [0, -1])
def test_bound_must_be_positive(bound: int) -> None:
    """A max_entries below one is refused."""
    with pytest.raises(ValueError, match="max_entries"):
        MemoryCache(FakeClock(), max_entries=bound)


async def test_least_recently_set_entry_is_evicted_first() -> None:
    """Storing one entry beyond the bound drops the entry set longest ago."""
    cache = MemoryCache(FakeClock(), max_entries=3)
    for key in ("a", "b", "c", "d"):
        await cache.set("r1", key, key.encode(), ttl=60)
    assert len(cache) == 3
    assert await cache.get("r1", "a") is None
    assert [await cache.get("r1", key) for key in ("b", "c", "d")] == [b"b", b"c", b"d"]


async def test_reading_an_entry_protects_it_from_eviction() -> None:
    """A get makes the entry most recently used, so the next eviction takes another one."""
    cache = MemoryCache(FakeClock(), max_entries=3)
    for key in ("a", "b", "c"):
        await cache.set("r1", key, key.encode(), ttl=60)
    assert await cache.get("r1", "a") == b"a"
    await cache.set("r1", "d", b"d", ttl=60)
    assert await cache.get("r1", "a") == b"a"
    assert await cache.get("r1", "b") is None


async def test_overwriting_an_entry_protects_it_from_eviction() -> None:
    """Setting an existing key again makes it most recently used without growing the cache."""
    cache = MemoryCache(FakeClock(), max_entries=2)
    await cache.set("r1", "a", b"1", ttl=60)
    await cache.set("r1", "b", b"2", ttl=60)
    await cache.set("r1", "a", b"3", ttl=60)
    assert len(cache) == 2
    await cache.set("r1", "c", b"4", ttl=60)
    assert await cache.get("r1", "a") == b"3"
    assert await cache.get("r1", "b") is None


async def test_eviction_ignores_realm_boundaries() -> None:
    """The bound is shared by all realms: a busy realm can evict another realm's old entries."""
    cache = MemoryCache(FakeClock(), max_entries=2)
    await cache.set("quiet", "k", b"q", ttl=60)
    await cache.set("busy", "1", b"1", ttl=60)
    await cache.set("busy", "2", b"2", ttl=60)
    assert await cache.get("quiet", "k") is None
    assert await cache.get("busy", "1") == b"1"


async def test_invalidating_a_realm_frees_its_room() -> None:
    """Invalidation removes the realm's entries at once, so they stop counting against the bound."""
    cache = MemoryCache(FakeClock(), max_entries=3)
    await cache.set("r1", "a", b"a", ttl=60)
    await cache.set("r1", "b", b"b", ttl=60)
    await cache.set("r2", "a", b"kept", ttl=60)
    await cache.invalidate_realm("r1")
    assert len(cache) == 1
    await cache.set("r3", "x", b"x", ttl=60)
    await cache.set("r3", "y", b"y", ttl=60)
    assert await cache.get("r2", "a") == b"kept"


async def test_expired_entry_is_dropped_when_read() -> None:
    """Reading an expired entry removes it from memory, not only from view."""
    clock = FakeClock(auto_advance=False)
    cache = MemoryCache(clock)
    await cache.set("r1", "k", b"v", ttl=1)
    clock.advance(1)
    assert len(cache) == 1
    assert await cache.get("r1", "k") is None
    assert len(cache) == 0


async def test_purge_expired_drops_only_expired_entries() -> None:
    """purge_expired removes every expired entry, reports how many, and keeps live ones."""
    clock = FakeClock(auto_advance=False)
    cache = MemoryCache(clock)
    await cache.set("r1", "short", b"s", ttl=1)
    await cache.set("r2", "short", b"s", ttl=2)
    await cache.set("r1", "long", b"l", ttl=10)
    clock.advance(2)
    assert cache.purge_expired() == 2
    assert len(cache) == 1
    assert await cache.get("r1", "long") == b"l"


async def test_stored_value_is_a_copy_of_the_callers_buffer() -> None:
    """Mutating the buffer given to set leaves the cached value alone, which comes back as bytes."""
    cache = MemoryCache(FakeClock())
    buffer = bytearray(b"original")
    await cache.set("r1", "k", cast(bytes, buffer), ttl=60)
    buffer[:] = b"mutated!"
    got = await cache.get("r1", "k")
    assert got == b"original"
    assert type(got) is bytes


async def test_ttl_is_measured_on_the_given_clock() -> None:
    """Expiry follows the injected clock alone: without it moving, entries never expire."""
    clock = FakeClock(auto_advance=False)
    cache = MemoryCache(clock)
    await cache.set("r1", "k", b"v", ttl=0.25)
    assert await cache.get("r1", "k") == b"v"
    clock.advance(0.25)
    assert await cache.get("r1", "k") is None


def test_default_bound_is_ten_thousand_entries() -> None:
    """Without max_entries the cache holds up to 10,000 entries."""
    assert MemoryCache(FakeClock()).max_entries == 10_000


async def test_a_bound_of_one_keeps_the_latest_entry() -> None:
    """max_entries=1 is allowed: the cache then holds only the entry set last."""
    cache = MemoryCache(FakeClock(), max_entries=1)
    assert cache.max_entries == 1
    await cache.set("r1", "a", b"a", ttl=60)
    await cache.set("r1", "b", b"b", ttl=60)
    assert len(cache) == 1
    assert await cache.get("r1", "a") is None
    assert await cache.get("r1", "b") == b"b"


async def test_invalidation_after_a_delete_drops_the_realms_other_entries() -> None:
    """Deleting one of a realm's keys leaves the realm's index right: invalidation then
    drops the realm's remaining entries and raises nothing."""
    cache = MemoryCache(FakeClock())
    await cache.set("r1", "a", b"a", ttl=60)
    await cache.set("r1", "b", b"b", ttl=60)
    assert await cache.delete("r1", "a") is True
    await cache.invalidate_realm("r1")
    assert len(cache) == 0
    await cache.set("r1", "a", b"again", ttl=60)
    await cache.invalidate_realm("r1")
    assert len(cache) == 0


async def test_invalidation_after_an_expired_read_raises_nothing() -> None:
    """An entry dropped because it expired leaves the realm's index; invalidation still works."""
    clock = FakeClock(auto_advance=False)
    cache = MemoryCache(clock)
    await cache.set("r1", "short", b"s", ttl=1)
    await cache.set("r1", "long", b"l", ttl=10)
    clock.advance(1)
    assert await cache.get("r1", "short") is None
    await cache.invalidate_realm("r1")
    assert len(cache) == 0


async def test_invalidation_after_a_purge_raises_nothing() -> None:
    """purge_expired keeps the realm index in step, so invalidating the realm afterwards works."""
    clock = FakeClock(auto_advance=False)
    cache = MemoryCache(clock)
    await cache.set("r1", "short", b"s", ttl=1)
    await cache.set("r1", "long", b"l", ttl=10)
    clock.advance(1)
    assert cache.purge_expired() == 1
    await cache.invalidate_realm("r1")
    assert len(cache) == 0


async def test_invalidation_after_an_eviction_raises_nothing() -> None:
    """An evicted entry leaves the realm's index, so invalidating its realm later works."""
    cache = MemoryCache(FakeClock(), max_entries=2)
    await cache.set("r1", "a", b"a", ttl=60)
    await cache.set("r1", "b", b"b", ttl=60)
    await cache.set("r2", "c", b"c", ttl=60)  # evicts r1/a
    await cache.invalidate_realm("r1")
    assert len(cache) == 1
    assert await cache.get("r2", "c") == b"c"


async def test_a_realm_emptied_by_deletes_leaves_no_index_behind() -> None:
    """Deleting a realm's last entry forgets the realm, and setting it again starts fresh."""
    cache = MemoryCache(FakeClock())
    await cache.set("r1", "a", b"a", ttl=60)
    await cache.delete("r1", "a")
    await cache.invalidate_realm("r1")
    await cache.set("r1", "b", b"b", ttl=60)
    await cache.invalidate_realm("r1")
    assert await cache.get("r1", "b") is None
    assert len(cache) == 0


def test_repr_shows_the_size_and_the_bound() -> None:
    """repr says how many entries are held and the bound."""
    assert repr(MemoryCache(FakeClock(), max_entries=7)) == "MemoryCache(entries=0, max_entries=7)"
