"""The `Cache` contract suite, for every cache adapter (yours included).

Subclass `CacheContract` in a test module as `Test<YourCache>(CacheContract)`,
implement `make_cache`, and pytest runs every contract test against your adapter::

    class TestMemoryCache(CacheContract):
        @contextlib.asynccontextmanager
        async def make_cache(self, clock: FakeClock) -> AsyncIterator[Cache]:
            yield MemoryCache(clock)

The cache must measure time on the given `FakeClock`, by the ports' time rule
(wall-clock epoch seconds from `now()`, never `monotonic()`), so the suite can
move time without waiting; `test_expiry_follows_the_wall_clock` checks it as
every shared-state suite does. All durations used are
multiples of a quarter second, exact in binary floating point and in whole
microseconds. The fixed tests never hold more than four entries at once; set
`cache_capacity` when your adapter may evict below what the state machine stores.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import ClassVar

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.testing._machine import ContractSuite
from qbo_adapters.testing._time_rule import TimedMachine, check_time_rule
from qbo_core.ports.cache import Cache

__all__ = ["CacheContract"]

# Realms and keys chosen so that naive "realm:key" joining or glob patterns collide.
_REALMS = ("r1", "r2", "a", "a:b", "a*")
_KEYS = ("k", "b:c", "c", "*", "ü x", "")


class CacheContract(ContractSuite):
    """Contract tests for the `Cache` port; subclass and implement `make_cache`."""

    #: The most entries the adapter is sure to keep. `None`: it never evicts within
    #: a test (a few dozen entries). With a number, the state machine requires exact
    #: answers only while no more distinct keys than that were stored.
    cache_capacity: int | None = None

    def make_cache(self, clock: FakeClock) -> contextlib.AbstractAsyncContextManager[Cache]:
        """An async context manager yielding a fresh, empty cache that measures time on `clock`."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement make_cache(clock) to run the Cache contract: "
            "return an async context manager (e.g. via contextlib.asynccontextmanager) that "
            "yields a new, empty cache using `clock` as its Clock"
        )

    async def test_ping_answers_and_changes_nothing(self) -> None:
        """`ping` returns on a working cache, fresh or holding entries, and stores nothing."""
        async with self.make_cache(FakeClock()) as cache:
            await cache.ping()
            assert await cache.get("r1", "k") is None
            await cache.set("r1", "k", b"kept", ttl=60)
            await cache.ping()
            assert await cache.get("r1", "k") == b"kept"

    async def test_get_of_absent_key_returns_none(self) -> None:
        """Reading a key that was never set returns None."""
        async with self.make_cache(FakeClock()) as cache:
            assert await cache.get("r1", "missing") is None

    async def test_set_then_get_returns_the_value(self) -> None:
        """A value set under a key is returned by the next get of that key."""
        async with self.make_cache(FakeClock()) as cache:
            await cache.set("r1", "customer:1", b'{"Id": "1"}', ttl=60)
            assert await cache.get("r1", "customer:1") == b'{"Id": "1"}'

    async def test_set_replaces_the_previous_value(self) -> None:
        """Setting a key again replaces its value."""
        async with self.make_cache(FakeClock()) as cache:
            await cache.set("r1", "k", b"first", ttl=60)
            await cache.set("r1", "k", b"second", ttl=60)
            assert await cache.get("r1", "k") == b"second"

    async def test_entry_lives_until_its_ttl_and_not_a_moment_longer(self) -> None:
        """An entry is returned just before its TTL ends and never at or after that instant."""
        clock = FakeClock(auto_advance=False)
        async with self.make_cache(clock) as cache:
            await cache.set("r1", "k", b"v", ttl=10)
            clock.advance(9.75)
            assert await cache.get("r1", "k") == b"v"
            clock.advance(0.25)
            assert await cache.get("r1", "k") is None
            clock.advance(100)
            assert await cache.get("r1", "k") is None

    async def test_expiry_follows_the_wall_clock(self) -> None:
        """Entries expire on the wall clock (epoch seconds), never on monotonic time alone."""

        async def start(cache: Cache, key: str, ttl: float) -> None:
            await cache.set("r1", key, b"v", ttl=ttl)

        async def live(cache: Cache, key: str) -> bool:
            return await cache.get("r1", key) is not None

        await check_time_rule(self.make_cache, start, live)

    async def test_setting_again_restarts_the_ttl(self) -> None:
        """Replacing an entry gives it the new TTL, counted from the new set."""
        clock = FakeClock(auto_advance=False)
        async with self.make_cache(clock) as cache:
            await cache.set("r1", "k", b"old", ttl=10)
            clock.advance(8)
            await cache.set("r1", "k", b"new", ttl=10)
            clock.advance(8)
            assert await cache.get("r1", "k") == b"new"
            clock.advance(2)
            assert await cache.get("r1", "k") is None

    async def test_short_ttl_does_not_outlive_a_shorter_replacement(self) -> None:
        """A replacement with a shorter TTL expires on its own TTL, not the first one's."""
        clock = FakeClock(auto_advance=False)
        async with self.make_cache(clock) as cache:
            await cache.set("r1", "k", b"long", ttl=3600)
            await cache.set("r1", "k", b"short", ttl=1)
            clock.advance(1)
            assert await cache.get("r1", "k") is None

    async def test_delete_reports_whether_a_live_entry_was_removed(self) -> None:
        """Delete returns True for a live entry (which is then gone) and False otherwise."""
        clock = FakeClock(auto_advance=False)
        async with self.make_cache(clock) as cache:
            await cache.set("r1", "k", b"v", ttl=60)
            assert await cache.delete("r1", "k") is True
            assert await cache.get("r1", "k") is None
            assert await cache.delete("r1", "k") is False
            assert await cache.delete("r1", "never-set") is False

    async def test_delete_of_an_expired_entry_returns_false(self) -> None:
        """Deleting an entry whose TTL has passed reports that nothing live was removed."""
        clock = FakeClock(auto_advance=False)
        async with self.make_cache(clock) as cache:
            await cache.set("r1", "k", b"v", ttl=5)
            clock.advance(5)
            assert await cache.delete("r1", "k") is False

    async def test_delete_touches_only_its_key(self) -> None:
        """Deleting one key leaves other keys of the realm, and the same key elsewhere, alone."""
        async with self.make_cache(FakeClock()) as cache:
            await cache.set("r1", "k", b"1", ttl=60)
            await cache.set("r1", "other", b"2", ttl=60)
            await cache.set("r2", "k", b"3", ttl=60)
            await cache.delete("r1", "k")
            assert await cache.get("r1", "other") == b"2"
            assert await cache.get("r2", "k") == b"3"

    async def test_invalidate_realm_drops_that_realm_only(self) -> None:
        """Invalidating a realm makes all its keys absent and leaves other realms intact."""
        async with self.make_cache(FakeClock()) as cache:
            await cache.set("r1", "a", b"1", ttl=60)
            await cache.set("r1", "b", b"2", ttl=60)
            await cache.set("r2", "a", b"3", ttl=60)
            await cache.invalidate_realm("r1")
            assert await cache.get("r1", "a") is None
            assert await cache.get("r1", "b") is None
            assert await cache.get("r2", "a") == b"3"

    async def test_sets_after_invalidation_are_kept(self) -> None:
        """A value set in a realm after its invalidation is stored and returned as usual."""
        async with self.make_cache(FakeClock()) as cache:
            await cache.set("r1", "a", b"before", ttl=60)
            await cache.invalidate_realm("r1")
            await cache.set("r1", "a", b"after", ttl=60)
            await cache.set("r1", "b", b"new key", ttl=60)
            assert await cache.get("r1", "a") == b"after"
            assert await cache.get("r1", "b") == b"new key"
            await cache.invalidate_realm("r1")
            assert await cache.get("r1", "a") is None

    async def test_invalidating_an_unknown_realm_is_harmless(self) -> None:
        """Invalidating a realm with no entries succeeds and changes nothing elsewhere."""
        async with self.make_cache(FakeClock()) as cache:
            await cache.set("r1", "k", b"v", ttl=60)
            await cache.invalidate_realm("never-used")
            assert await cache.get("r1", "k") == b"v"

    async def test_non_positive_ttl_is_rejected_and_stores_nothing(self) -> None:
        """A TTL of zero or less raises ValueError and leaves the existing entry unchanged."""
        async with self.make_cache(FakeClock()) as cache:
            await cache.set("r1", "k", b"kept", ttl=60)
            for ttl in (0, 0.0, -1, -0.25):
                with pytest.raises(ValueError, match="ttl"):
                    await cache.set("r1", "k", b"replaced", ttl=ttl)
                with pytest.raises(ValueError, match="ttl"):
                    await cache.set("r1", "fresh", b"new", ttl=ttl)
            assert await cache.get("r1", "k") == b"kept"
            assert await cache.get("r1", "fresh") is None

    async def test_fractional_ttl_is_honoured(self) -> None:
        """A TTL below one second is measured in fractions, not rounded up to whole seconds."""
        clock = FakeClock(auto_advance=False)
        async with self.make_cache(clock) as cache:
            await cache.set("r1", "k", b"v", ttl=0.5)
            clock.advance(0.25)
            assert await cache.get("r1", "k") == b"v"
            clock.advance(0.25)
            assert await cache.get("r1", "k") is None

    async def test_values_round_trip_byte_for_byte(self) -> None:
        """Empty, binary, NUL-laden and large values come back exactly, as bytes."""
        values = [b"", bytes(range(256)), b"\x00" * 17, "£ café ✓".encode(), bytes(256 * 1024)]
        async with self.make_cache(FakeClock()) as cache:
            for index, value in enumerate(values):
                await cache.set("r1", f"v{index}", value, ttl=60)
                got = await cache.get("r1", f"v{index}")
                assert type(got) is bytes
                assert got == value
                await cache.delete("r1", f"v{index}")

    async def test_odd_characters_never_make_entries_collide(self) -> None:
        """Separators, glob characters, spaces and unicode in realms and keys keep entries apart."""
        groups = [
            [("a:b", "c"), ("a", "b:c"), ("a", "b"), ("a:b:c", "")],
            [("a*", "k"), ("ab", "k"), ("a", "*"), ("a", "x")],
            [("r 1", "k k"), ("r", "1 k k"), ("r1", "k?"), ("r1", "k[1]")],
            [("réalm", "clé"), ("realm", "cle"), ("r\\1", "k"), ("r", "\\1:k")],
        ]
        async with self.make_cache(FakeClock()) as cache:
            for group in groups:
                for index, (realm_id, key) in enumerate(group):
                    await cache.set(realm_id, key, str(index).encode(), ttl=60)
                for index, (realm_id, key) in enumerate(group):
                    assert await cache.get(realm_id, key) == str(index).encode()
                first_realm = group[0][0]
                await cache.invalidate_realm(first_realm)
                for index, (realm_id, key) in enumerate(group):
                    expected = None if realm_id == first_realm else str(index).encode()
                    assert await cache.get(realm_id, key) == expected
                for realm_id, _ in group:
                    await cache.invalidate_realm(realm_id)

    async def test_glob_realm_invalidation_does_not_reach_matching_realms(self) -> None:
        """Invalidating realm "a*" or "a?" drops only that exact realm, not realms they match."""
        async with self.make_cache(FakeClock()) as cache:
            for pattern in ("a*", "a?", "a[b]"):
                await cache.set("ab", "k", b"ab", ttl=60)
                await cache.set(pattern, "k", b"p", ttl=60)
                await cache.invalidate_realm(pattern)
                assert await cache.get(pattern, "k") is None
                assert await cache.get("ab", "k") == b"ab"

    async def test_concurrent_operations_do_not_interfere(self) -> None:
        """Concurrent tasks setting and reading their own keys each see their own values."""
        async with self.make_cache(FakeClock()) as cache:

            async def worker(task: int) -> list[bytes | None]:
                seen: list[bytes | None] = []
                for step in range(10):
                    await cache.set(f"r{task % 2}", f"k{task}", f"{task}/{step}".encode(), ttl=60)
                    seen.append(await cache.get(f"r{task % 2}", f"k{task}"))
                return seen

            results = await asyncio.gather(*(worker(task) for task in range(4)))
            assert results == [
                [f"{task}/{step}".encode() for step in range(10)] for task in range(4)
            ]

    def test_behaves_like_a_dictionary_with_expiry(self) -> None:
        """Under random operations and clock moves, the cache agrees with a plain model."""

        class Machine(_CacheMachine):
            contract = self

        self.run_machine(Machine)


class _CacheMachine(TimedMachine[Cache]):
    """Random cache operations checked against a dict of (value, expiry) by realm and key."""

    contract: ClassVar[CacheContract]

    def __init__(self) -> None:
        self.factory = lambda: self.contract.make_cache(self.clock)
        super().__init__()
        self.model: dict[tuple[str, str], tuple[bytes, float]] = {}
        self.ever_stored: set[tuple[str, str]] = set()

    def live(self, realm_id: str, key: str) -> bytes | None:
        entry = self.model.get((realm_id, key))
        if entry is None or entry[1] <= self.clock.now().timestamp():
            return None
        return entry[0]

    @property
    def exact(self) -> bool:
        capacity = self.contract.cache_capacity
        return capacity is None or len(self.ever_stored) <= capacity

    @rule(
        realm_id=st.sampled_from(_REALMS),
        key=st.sampled_from(_KEYS),
        value=st.binary(max_size=64),
        quarters=st.integers(min_value=1, max_value=400),
    )
    def set_value(self, realm_id: str, key: str, value: bytes, quarters: int) -> None:
        ttl = quarters / 4
        self.run(self.adapter.set(realm_id, key, value, ttl=ttl))
        self.model[(realm_id, key)] = (value, self.clock.now().timestamp() + ttl)
        self.ever_stored.add((realm_id, key))

    @rule(realm_id=st.sampled_from(_REALMS), key=st.sampled_from(_KEYS))
    def get_value(self, realm_id: str, key: str) -> None:
        got = self.run(self.adapter.get(realm_id, key))
        expected = self.live(realm_id, key)
        if self.exact:
            assert got == expected, (realm_id, key)
        else:
            assert got is None or got == expected, (realm_id, key)

    @rule(realm_id=st.sampled_from(_REALMS), key=st.sampled_from(_KEYS))
    def delete_value(self, realm_id: str, key: str) -> None:
        removed = self.run(self.adapter.delete(realm_id, key))
        was_live = self.live(realm_id, key) is not None
        self.model.pop((realm_id, key), None)
        if self.exact:
            assert removed == was_live, (realm_id, key)
        else:
            assert not removed or was_live, (realm_id, key)

    @rule(realm_id=st.sampled_from(_REALMS))
    def invalidate(self, realm_id: str) -> None:
        self.run(self.adapter.invalidate_realm(realm_id))
        for slot in [slot for slot in self.model if slot[0] == realm_id]:
            del self.model[slot]
