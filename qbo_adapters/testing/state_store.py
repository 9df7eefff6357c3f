"""The `StateStore` contract suite, for every state store adapter (yours included).

Subclass `StateStoreContract` in a test module as `Test<YourStore>(StateStoreContract)`
and implement `make_state_store`::

    class TestMemoryStateStore(StateStoreContract):
        @contextlib.asynccontextmanager
        async def make_state_store(self, clock: FakeClock) -> AsyncIterator[StateStore]:
            yield MemoryStateStore(clock)

The store must measure time on the given `FakeClock`, by the ports' time rule
(wall-clock epoch seconds from `now()`, never `monotonic()`);
`test_expiry_follows_the_wall_clock` checks it as every shared-state suite does.
All durations are multiples of a quarter second, exact in binary floating point and
in whole microseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import math

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.testing._machine import ContractSuite
from qbo_adapters.testing._time_rule import TimedMachine, check_time_rule
from qbo_core.ports.state_store import StateStore

__all__ = ["StateStoreContract"]

# Keys chosen so that naive prefixing, separators or glob patterns would collide.
_KEYS = ("state-1", "state-2", "a:b", "a", "*", "ü x", "")


class StateStoreContract(ContractSuite):
    """What every `StateStore` promises. Subclass and implement `make_state_store`."""

    def make_state_store(
        self, clock: FakeClock
    ) -> contextlib.AbstractAsyncContextManager[StateStore]:
        """An async context manager yielding a fresh, empty store timed on `clock`."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement make_state_store(clock) to run the "
            "StateStore contract: return an async context manager (e.g. via "
            "contextlib.asynccontextmanager) that yields a new, empty store using `clock`"
        )

    async def test_ping_answers_and_changes_nothing(self) -> None:
        """`ping` returns on a working store, fresh or holding values, and takes nothing."""
        async with self.make_state_store(FakeClock()) as store:
            await store.ping()
            await store.put("state-1", b"verifier", ttl=600)
            await store.ping()
            assert await store.take("state-1") == b"verifier"

    async def test_take_of_an_absent_key_returns_none(self) -> None:
        """Taking a key that was never put returns None."""
        async with self.make_state_store(FakeClock()) as store:
            assert await store.take("never-put") is None

    async def test_put_value_is_taken_once_and_never_again(self) -> None:
        """A value put is returned by the first take, and every later take returns None."""
        async with self.make_state_store(FakeClock()) as store:
            await store.put("state-1", b"verifier", ttl=600)
            assert await store.take("state-1") == b"verifier"
            assert await store.take("state-1") is None
            assert await store.take("state-1") is None

    async def test_put_replaces_the_value_held(self) -> None:
        """A put on a key that holds a value replaces it; only the new value is taken, once."""
        async with self.make_state_store(FakeClock()) as store:
            await store.put("state-1", b"first", ttl=600)
            await store.put("state-1", b"second", ttl=600)
            assert await store.take("state-1") == b"second"
            assert await store.take("state-1") is None

    async def test_a_key_can_be_put_again_after_its_take(self) -> None:
        """After a value is taken, a new put under the same key is stored and taken as usual."""
        async with self.make_state_store(FakeClock()) as store:
            await store.put("state-1", b"first", ttl=600)
            assert await store.take("state-1") == b"first"
            await store.put("state-1", b"again", ttl=600)
            assert await store.take("state-1") == b"again"

    async def test_value_lives_until_its_ttl_and_not_a_moment_longer(self) -> None:
        """A value can be taken just before its TTL ends, and never at or after that instant."""
        clock = FakeClock(auto_advance=False)
        async with self.make_state_store(clock) as store:
            await store.put("before", b"v", ttl=10)
            await store.put("at", b"v", ttl=10)
            clock.advance(9.75)
            assert await store.take("before") == b"v"
            clock.advance(0.25)
            assert await store.take("at") is None

    async def test_expiry_follows_the_wall_clock(self) -> None:
        """Values expire on the wall clock (epoch seconds), never on monotonic time alone."""

        async def start(store: StateStore, key: str, ttl: float) -> None:
            await store.put(key, b"v", ttl=ttl)

        async def live(store: StateStore, key: str) -> bool:
            return await store.take(key) is not None

        await check_time_rule(self.make_state_store, start, live)

    async def test_replacing_gives_the_new_ttl(self) -> None:
        """A replacement lives for its own TTL, counted from its put, longer or shorter."""
        clock = FakeClock(auto_advance=False)
        async with self.make_state_store(clock) as store:
            await store.put("longer", b"old", ttl=10)
            await store.put("shorter", b"old", ttl=3_600)
            clock.advance(8)
            await store.put("longer", b"new", ttl=10)
            await store.put("shorter", b"new", ttl=1)
            clock.advance(2)  # past the first "longer" put's end, and the "shorter" one's
            assert await store.take("longer") == b"new"
            assert await store.take("shorter") is None

    async def test_an_expired_value_stays_gone(self) -> None:
        """Once expired, a value is never returned, and a new put under its key works as usual."""
        clock = FakeClock(auto_advance=False)
        async with self.make_state_store(clock) as store:
            await store.put("state-1", b"old", ttl=5)
            clock.advance(5)
            assert await store.take("state-1") is None
            assert await store.take("state-1") is None
            await store.put("state-1", b"new", ttl=5)
            clock.advance(4.75)
            assert await store.take("state-1") == b"new"

    async def test_invalid_ttl_is_rejected_and_stores_nothing(self) -> None:
        """A TTL that is zero, negative, NaN or infinite raises ValueError and changes nothing."""
        async with self.make_state_store(FakeClock()) as store:
            await store.put("kept", b"kept", ttl=60)
            for ttl in (0, 0.0, -1, -0.25, math.nan, math.inf):
                with pytest.raises(ValueError, match="ttl"):
                    await store.put("kept", b"replaced", ttl=ttl)
                with pytest.raises(ValueError, match="ttl"):
                    await store.put("fresh", b"new", ttl=ttl)
            assert await store.take("kept") == b"kept"
            assert await store.take("fresh") is None

    async def test_keys_are_independent(self) -> None:
        """Taking one key leaves the others, however their names look alike, in place."""
        async with self.make_state_store(FakeClock()) as store:
            for index, key in enumerate(_KEYS):
                await store.put(key, str(index).encode(), ttl=60)
            for index, key in enumerate(_KEYS):
                assert await store.take(key) == str(index).encode(), key
            for key in _KEYS:
                assert await store.take(key) is None, key

    async def test_values_round_trip_byte_for_byte(self) -> None:
        """Empty, binary, NUL-laden and large values come back exactly, as bytes."""
        values = [b"", bytes(range(256)), b"\x00" * 17, "£ café ✓".encode(), bytes(64 * 1024)]
        async with self.make_state_store(FakeClock()) as store:
            for index, value in enumerate(values):
                await store.put(f"v{index}", value, ttl=60)
            for index, value in enumerate(values):
                got = await store.take(f"v{index}")
                assert type(got) is bytes
                assert got == value

    async def test_concurrent_takers_of_one_value_exactly_one_wins(self) -> None:
        """Of many tasks taking one key at once, exactly one gets the value; the rest get None."""
        async with self.make_state_store(FakeClock()) as store:
            for round_ in range(5):
                value = f"state-{round_}".encode()
                await store.put("contested", value, ttl=60)
                taken = await asyncio.gather(*(store.take("contested") for _ in range(20)))
                assert taken.count(value) == 1
                assert taken.count(None) == 19

    async def test_concurrent_puts_and_takes_on_many_keys_hand_out_each_value_once(self) -> None:
        """Values put and taken concurrently across keys are each handed out exactly once."""
        async with self.make_state_store(FakeClock()) as store:
            keys = [f"state-{index}" for index in range(10)]

            async def put(key: str) -> None:
                await store.put(key, key.encode(), ttl=60)

            await asyncio.gather(*(put(key) for key in keys))
            taken = await asyncio.gather(*(store.take(key) for key in keys * 3))
            assert sorted(value for value in taken if value is not None) == sorted(
                key.encode() for key in keys
            )

    # -- claim ---------------------------------------------------------------------

    async def test_a_free_key_is_claimed_once_and_then_refused(self) -> None:
        """The first claim of a key returns True; every later claim, while it lives, False."""
        async with self.make_state_store(FakeClock()) as store:
            assert await store.claim("event-1", ttl=600) is True
            assert await store.claim("event-1", ttl=600) is False
            assert await store.claim("event-1", ttl=600) is False

    async def test_a_claim_holds_an_empty_marker_that_take_frees(self) -> None:
        """`take` of a claimed key returns b"" once; the key can then be claimed again."""
        async with self.make_state_store(FakeClock()) as store:
            assert await store.claim("event-1", ttl=600) is True
            assert await store.take("event-1") == b""
            assert await store.take("event-1") is None
            assert await store.claim("event-1", ttl=600) is True

    async def test_a_claim_never_replaces_a_live_put_value(self) -> None:
        """A key holding a value put is refused to a claimer, and its value stays as it was."""
        async with self.make_state_store(FakeClock()) as store:
            await store.put("state-1", b"verifier", ttl=600)
            assert await store.claim("state-1", ttl=600) is False
            assert await store.take("state-1") == b"verifier"

    async def test_a_put_replaces_a_claim(self) -> None:
        """A put on a claimed key replaces the marker, as it replaces any value."""
        async with self.make_state_store(FakeClock()) as store:
            assert await store.claim("state-1", ttl=600) is True
            await store.put("state-1", b"value", ttl=600)
            assert await store.claim("state-1", ttl=600) is False
            assert await store.take("state-1") == b"value"

    async def test_a_claim_lives_until_its_ttl_and_can_then_be_claimed_again(self) -> None:
        """A claim is refused until the instant its TTL ends, and granted from then on."""
        clock = FakeClock(auto_advance=False)
        async with self.make_state_store(clock) as store:
            assert await store.claim("event-1", ttl=10) is True
            clock.advance(9.75)
            assert await store.claim("event-1", ttl=10) is False
            clock.advance(0.25)
            assert await store.claim("event-1", ttl=10) is True
            clock.advance(9.75)  # the new claim counts its TTL from its own claim
            assert await store.claim("event-1", ttl=10) is False

    async def test_an_expired_put_value_can_be_claimed(self) -> None:
        """Once a put value has expired, its key is free for a claim (the row is replaced)."""
        clock = FakeClock(auto_advance=False)
        async with self.make_state_store(clock) as store:
            await store.put("state-1", b"old", ttl=5)
            clock.advance(5)
            assert await store.claim("state-1", ttl=5) is True
            assert await store.take("state-1") == b""

    async def test_claim_expiry_follows_the_wall_clock(self) -> None:
        """Claims expire on the wall clock (epoch seconds), never on monotonic time alone."""

        async def start(store: StateStore, key: str, ttl: float) -> None:
            assert await store.claim(key, ttl=ttl) is True

        async def live(store: StateStore, key: str) -> bool:
            return not await store.claim(key, ttl=60)

        await check_time_rule(self.make_state_store, start, live)

    async def test_claim_with_an_invalid_ttl_is_rejected_and_stores_nothing(self) -> None:
        """A claim TTL that is zero, negative, NaN or infinite raises ValueError, claims nothing."""
        async with self.make_state_store(FakeClock()) as store:
            for ttl in (0, 0.0, -1, -0.25, math.nan, math.inf):
                with pytest.raises(ValueError, match="ttl"):
                    await store.claim("fresh", ttl=ttl)
            assert await store.take("fresh") is None
            assert await store.claim("fresh", ttl=60) is True

    async def test_claims_of_lookalike_keys_are_independent(self) -> None:
        """Claiming one key claims no other, however their names look alike."""
        async with self.make_state_store(FakeClock()) as store:
            for key in _KEYS:
                assert await store.claim(key, ttl=60) is True, key
            for key in _KEYS:
                assert await store.claim(key, ttl=60) is False, key

    async def test_concurrent_claimers_of_one_key_exactly_one_wins(self) -> None:
        """Of many tasks claiming one free key at once, exactly one gets True, every round."""
        clock = FakeClock(auto_advance=False)
        async with self.make_state_store(clock) as store:
            for round_ in range(5):
                claims = await asyncio.gather(
                    *(store.claim("contested", ttl=10) for _ in range(20))
                )
                assert claims.count(True) == 1, round_
                assert claims.count(False) == 19, round_
                clock.advance(10)  # the claim expires: the next round races for it anew

    def test_behaves_like_a_dictionary_of_single_use_values(self) -> None:
        """Under random puts, takes and clock moves, the store agrees with a plain model."""
        contract = self

        class Machine(StateStoreMachine):
            def factory(self) -> contextlib.AbstractAsyncContextManager[StateStore]:
                return contract.make_state_store(self.clock)

        self.run_machine(Machine)


class StateStoreMachine(TimedMachine[StateStore]):
    """The store against a model: a dict of key -> (value, wall-clock expiry).

    A claim is a put of `b""` made only when the key holds nothing live.
    """

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, tuple[bytes, float]] = {}

    @rule(
        key=st.sampled_from(_KEYS),
        value=st.binary(max_size=64),
        quarters=st.integers(min_value=1, max_value=400),
    )
    def put(self, key: str, value: bytes, quarters: int) -> None:
        ttl = quarters / 4
        self.run(self.adapter.put(key, value, ttl=ttl))
        self.model[key] = (value, self.now + ttl)

    @rule(key=st.sampled_from(_KEYS))
    def take(self, key: str) -> None:
        held = self.model.pop(key, None)
        expected = held[0] if held is not None and held[1] > self.now else None
        assert self.run(self.adapter.take(key)) == expected, key

    @rule(key=st.sampled_from(_KEYS), takers=st.integers(min_value=2, max_value=5))
    def take_concurrently(self, key: str, takers: int) -> None:
        held = self.model.pop(key, None)
        expected = held[0] if held is not None and held[1] > self.now else None

        async def together() -> list[bytes | None]:
            return list(await asyncio.gather(*(self.adapter.take(key) for _ in range(takers))))

        taken = self.run(together())
        winners = [value for value in taken if value is not None]
        assert winners == ([] if expected is None else [expected]), key

    @rule(
        key=st.sampled_from(_KEYS),
        quarters=st.integers(min_value=1, max_value=400),
        claimers=st.integers(min_value=1, max_value=4),
    )
    def claim(self, key: str, quarters: int, claimers: int) -> None:
        ttl = quarters / 4
        held = self.model.get(key)
        free = held is None or held[1] <= self.now

        async def together() -> list[bool]:
            return list(
                await asyncio.gather(*(self.adapter.claim(key, ttl=ttl) for _ in range(claimers)))
            )

        claims = self.run(together())
        assert claims.count(True) == (1 if free else 0), key
        if free:
            self.model[key] = (b"", self.now + ttl)
