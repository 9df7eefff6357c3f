"""The `QuotaStore` contract suite, for the memory store and for shared (Redis) stores."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.testing._machine import AsyncAdapterMachine, ContractSuite
from qbo_adapters.testing._time_rule import LIFETIME, check_time_rule
from qbo_core.dtos import RateLimit, SlotLease
from qbo_core.ports.quota_store import QuotaStore

__all__ = ["QuotaStoreContract"]

# How far an adapter's wait may stray from the exact one (float arithmetic).
_TOLERANCE = 1e-6

Grant = tuple[float, int]  # (time, cost)


def _now(clock: FakeClock) -> float:
    return clock.now().timestamp()


# -- the model: a plain list of grants, searched by brute force ---------------------------


def spent(grants: Sequence[Grant], period: float, now: float) -> int:
    """The cost granted in the window `(now - period, now]`."""
    return sum(cost for at, cost in grants if now - period < at <= now)


def wait_for(grants: Sequence[Grant], limits: Sequence[RateLimit], now: float, cost: int) -> float:
    """Seconds after `now` until `cost` fits in every limit (0.0: it fits now).

    Checked by brute force: the window only loses grants, one timestamp at a time,
    so the answer is `t + period - now` for the oldest grant time `t` whose leaving
    makes room.
    """
    longest = 0.0
    for limit in limits:
        window = [(at, c) for at, c in grants if now - limit.period < at <= now]
        if sum(c for _, c in window) + cost <= limit.limit:
            continue
        for at in sorted({at for at, _ in window}):
            if sum(c for later, c in window if later > at) + cost <= limit.limit:
                longest = max(longest, at + limit.period - now)
                break
    return longest


def _over_limit(grants: Sequence[Grant], limits: Sequence[RateLimit]) -> list[str]:
    """Every window ending at a grant whose total exceeds a limit (the fullest windows)."""
    return [
        f"{spent(grants, limit.period, at)} > {limit!r} in the window ending at {at}"
        for limit in limits
        for at, _ in grants
        if spent(grants, limit.period, at) > limit.limit
    ]


rate_limits = st.builds(
    RateLimit, limit=st.integers(1, 6), period=st.sampled_from([1.0, 2.0, 5.0, 10.0])
)


class QuotaStoreContract(ContractSuite):
    """What every `QuotaStore` promises. Subclass as `Test<Adapter>(QuotaStoreContract)`.

    Implement `make_quota_store`: an async context manager yielding a fresh store
    that has recorded nothing and reads the time from `clock`, by the ports' time
    rule (wall-clock epoch seconds from `now()`, never `monotonic()`);
    `test_windows_follow_the_wall_clock` checks it as every shared-state suite does.
    """

    def make_quota_store(
        self, clock: FakeClock
    ) -> contextlib.AbstractAsyncContextManager[QuotaStore]:
        """Return an async context manager yielding a fresh, empty quota store timed on `clock`."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement make_quota_store(clock) "
            "to run the QuotaStore contract"
        )

    async def test_ping_answers_and_changes_nothing(self) -> None:
        """`ping` returns on a working store, fresh or in use, and spends nothing."""
        limits = [RateLimit(limit=2, period=10)]
        async with self.make_quota_store(FakeClock(auto_advance=False)) as store:
            await store.ping()
            assert await store.usage("realm", limits[0]) == 0
            assert await store.try_acquire("realm", limits) == 0.0
            await store.ping()
            assert await store.usage("realm", limits[0]) == 1
            assert await store.blocked_until("realm") is None

    async def test_grants_up_to_the_limit_then_refuses_with_the_wait(self) -> None:
        """Costs fit until the limit is reached; the next is refused until the oldest leaves."""
        clock = FakeClock(auto_advance=False)
        limits = [RateLimit(limit=3, period=10)]
        async with self.make_quota_store(clock) as store:
            for _ in range(3):
                assert await store.try_acquire("realm", limits) == 0.0
            assert await store.try_acquire("realm", limits) == pytest.approx(10)
            clock.advance(4)
            assert await store.try_acquire("realm", limits) == pytest.approx(6)

    async def test_windows_follow_the_wall_clock(self) -> None:
        """Grants leave their window on the wall clock (epoch seconds), never on monotonic time."""

        async def start(store: QuotaStore, key: str, period: float) -> None:
            assert await store.try_acquire(key, [RateLimit(limit=1, period=period)]) == 0.0

        async def live(store: QuotaStore, key: str) -> bool:
            return await store.try_acquire(key, [RateLimit(limit=1, period=LIFETIME)]) > 0

        await check_time_rule(self.make_quota_store, start, live)

    async def test_refusal_records_nothing(self) -> None:
        """A refused `try_acquire` leaves the usage as it was."""
        clock = FakeClock(auto_advance=False)
        limit = RateLimit(limit=3, period=10)
        async with self.make_quota_store(clock) as store:
            assert await store.try_acquire("realm", [limit], cost=2) == 0.0
            assert await store.try_acquire("realm", [limit], cost=2) > 0
            assert await store.usage("realm", limit) == 2
            assert await store.try_acquire("realm", [limit], cost=1) == 0.0
            assert await store.usage("realm", limit) == 3

    async def test_cost_fits_after_exactly_the_wait(self) -> None:
        """Coming back after exactly the returned wait, the same cost is granted."""
        clock = FakeClock(auto_advance=False)
        limits = [RateLimit(limit=2, period=4)]
        async with self.make_quota_store(clock) as store:
            await store.try_acquire("realm", limits)
            clock.advance(1.5)
            await store.try_acquire("realm", limits)
            clock.advance(1)
            wait = await store.try_acquire("realm", limits)
            assert wait == pytest.approx(1.5)
            clock.advance(wait)
            assert await store.try_acquire("realm", limits) == 0.0

    async def test_window_slides(self) -> None:
        """Grants leave the window one by one, `period` seconds after each was made."""
        clock = FakeClock(auto_advance=False)
        limits = [RateLimit(limit=3, period=10)]
        async with self.make_quota_store(clock) as store:
            for _ in range(3):
                assert await store.try_acquire("realm", limits) == 0.0
                clock.advance(1)
            clock.advance(2)  # 5 s after the first grant
            assert await store.try_acquire("realm", limits) == pytest.approx(5)
            clock.advance(5)  # 10 s after the first grant, which has now left
            assert await store.try_acquire("realm", limits) == 0.0
            clock.advance(0.5)
            assert await store.try_acquire("realm", limits) == pytest.approx(0.5)
            clock.advance(0.5)
            assert await store.try_acquire("realm", limits) == 0.0

    async def test_large_cost_waits_for_enough_grants_to_leave(self) -> None:
        """A cost that needs several old grants gone waits until the last of them leaves."""
        clock = FakeClock(auto_advance=False)
        limits = [RateLimit(limit=5, period=10)]
        async with self.make_quota_store(clock) as store:
            for cost in (2, 2, 1):
                assert await store.try_acquire("realm", limits, cost=cost) == 0
                clock.advance(1)
            # Now 3 s after the first grant: the 3 needs the grants of 0 s and 1 s gone.
            assert await store.try_acquire("realm", limits, cost=3) == pytest.approx(8)

    async def test_all_or_nothing_across_limits(self) -> None:
        """A cost refused by one limit is recorded against none of them."""
        clock = FakeClock(auto_advance=False)
        roomy, tight = RateLimit(limit=5, period=10), RateLimit(limit=2, period=1)
        async with self.make_quota_store(clock) as store:
            assert await store.try_acquire("realm", [roomy, tight], cost=2) == 0.0
            assert await store.try_acquire("realm", [roomy, tight]) == pytest.approx(1)
            assert await store.usage("realm", roomy) == 2
            assert await store.usage("realm", tight) == 2

    async def test_wait_is_the_longest_over_the_limits(self) -> None:
        """When several limits are full, the wait is until the last of them has room."""
        clock = FakeClock(auto_advance=False)
        limits = [RateLimit(limit=2, period=1), RateLimit(limit=2, period=10)]
        async with self.make_quota_store(clock) as store:
            assert await store.try_acquire("realm", limits, cost=2) == 0.0
            clock.advance(0.5)
            assert await store.try_acquire("realm", limits) == pytest.approx(9.5)

    async def test_limits_sharing_a_period_count_each_grant_once(self) -> None:
        """Two limits over one window length see the same grants, each counted once."""
        clock = FakeClock(auto_advance=False)
        loose, strict = RateLimit(limit=5, period=10), RateLimit(limit=3, period=10)
        async with self.make_quota_store(clock) as store:
            for _ in range(3):
                assert await store.try_acquire("realm", [loose, strict]) == 0.0
            assert await store.try_acquire("realm", [loose, strict]) > 0
            assert await store.usage("realm", loose) == 3

    async def test_cost_above_a_limit_raises(self) -> None:
        """A cost larger than any one of the limits raises `ValueError` and records nothing."""
        clock = FakeClock(auto_advance=False)
        roomy, tight = RateLimit(limit=10, period=60), RateLimit(limit=3, period=1)
        async with self.make_quota_store(clock) as store:
            with pytest.raises(ValueError, match="cost"):
                await store.try_acquire("realm", [roomy, tight], cost=4)
            assert await store.usage("realm", roomy) == 0

    async def test_usage_counts_the_half_open_window(self) -> None:
        """`usage` sums the grants in `(now - period, now]`: the oldest edge is out."""
        clock = FakeClock(auto_advance=False)
        limit = RateLimit(limit=10, period=5)
        async with self.make_quota_store(clock) as store:
            assert await store.usage("realm", limit) == 0
            await store.try_acquire("realm", [limit], cost=1)
            clock.advance(1)
            await store.try_acquire("realm", [limit], cost=2)
            assert await store.usage("realm", limit) == 3
            clock.advance(3.5)  # 4.5 s after the first grant
            assert await store.usage("realm", limit) == 3
            clock.advance(0.5)  # 5 s: the first grant is on the open edge
            assert await store.usage("realm", limit) == 2
            clock.advance(1)
            assert await store.usage("realm", limit) == 0

    async def test_reset_forgets_one_key(self) -> None:
        """`reset` empties one key's windows and leaves the other keys as they were."""
        clock = FakeClock(auto_advance=False)
        limit = RateLimit(limit=2, period=60)
        async with self.make_quota_store(clock) as store:
            for key in ("realm-1", "realm-2"):
                assert await store.try_acquire(key, [limit], cost=2) == 0.0
            await store.reset("realm-1")
            await store.reset("never-used")
            assert await store.usage("realm-1", limit) == 0
            assert await store.usage("realm-2", limit) == 2
            assert await store.try_acquire("realm-1", [limit], cost=2) == 0.0
            assert await store.try_acquire("realm-2", [limit]) > 0

    async def test_keys_are_independent(self) -> None:
        """Spending on one key leaves another key's quota untouched."""
        clock = FakeClock(auto_advance=False)
        limits = [RateLimit(limit=1, period=60)]
        async with self.make_quota_store(clock) as store:
            assert await store.try_acquire("realm-1", limits) == 0.0
            assert await store.try_acquire("realm-2", limits) == 0.0
            assert await store.try_acquire("realm-1", limits) > 0

    async def test_concurrent_callers_never_over_grant(self) -> None:
        """Many concurrent `try_acquire` calls are granted exactly up to the limit."""
        clock = FakeClock(auto_advance=False)
        limits = [RateLimit(limit=10, period=60)]
        async with self.make_quota_store(clock) as store:
            waits = await asyncio.gather(*(store.try_acquire("realm", limits) for _ in range(50)))
            assert waits.count(0.0) == 10
            assert all(wait == pytest.approx(60) for wait in waits if wait != 0.0)
            assert await store.usage("realm", limits[0]) == 10

    def test_no_window_ever_holds_more_than_its_limit(self) -> None:
        """For any times and costs, what is granted never exceeds a limit in any window."""

        # Given inside the test: hypothesis refuses one @given method run by several classes.
        @given(
            limits=st.lists(rate_limits, min_size=1, max_size=3),
            steps=st.lists(
                st.tuples(st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0, 3.0]), st.integers(1, 3)),
                min_size=1,
                max_size=50,
            ),
        )
        def check(limits: list[RateLimit], steps: list[tuple[float, int]]) -> None:
            cheapest = min(limit.limit for limit in limits)
            costs = [min(cost, cheapest) for _, cost in steps]

            async def scenario() -> list[Grant]:
                clock = FakeClock(auto_advance=False)
                grants: list[Grant] = []
                async with self.make_quota_store(clock) as store:
                    for (advance, _), cost in zip(steps, costs, strict=True):
                        clock.advance(advance)
                        wait = await store.try_acquire("realm", limits, cost=cost)
                        assert wait >= 0
                        if wait == 0:
                            grants.append((_now(clock), cost))
                return grants

            grants = asyncio.run(scenario())
            assert _over_limit(grants, limits) == []

        check()

    # -- several keys at once ---------------------------------------------------------------

    async def test_acquire_all_is_all_or_nothing_across_keys(self) -> None:
        """`try_acquire_all` records on every key or none; the wait is the longest of them."""
        clock = FakeClock(auto_advance=False)
        roomy, tight = RateLimit(limit=5, period=10), RateLimit(limit=1, period=60)
        async with self.make_quota_store(clock) as store:
            assert await store.try_acquire("batch", [tight]) == 0.0
            clock.advance(1)
            wait = await store.try_acquire_all([("realm", [roomy]), ("batch", [tight])])
            assert wait == pytest.approx(59)
            assert await store.usage("realm", roomy) == 0
            clock.advance(59)
            assert await store.try_acquire_all([("realm", [roomy]), ("batch", [tight])]) == 0.0
            assert await store.usage("realm", roomy) == 1
            assert await store.usage("batch", tight) == 1

    async def test_acquire_all_checks_every_cost(self) -> None:
        """A cost above a limit of any key raises `ValueError` and records nothing."""
        clock = FakeClock(auto_advance=False)
        roomy, tight = RateLimit(limit=5, period=10), RateLimit(limit=1, period=60)
        async with self.make_quota_store(clock) as store:
            with pytest.raises(ValueError, match="cost"):
                await store.try_acquire_all([("realm", [roomy]), ("batch", [tight])], cost=2)
            assert await store.usage("realm", roomy) == 0

    # -- concurrency slots ------------------------------------------------------------------

    async def test_slots_are_leased_up_to_capacity(self) -> None:
        """`capacity` leases are granted; the next gets `None` until one is released."""
        clock = FakeClock(auto_advance=False)
        async with self.make_quota_store(clock) as store:
            slots = [await store.lease_slot("realm", capacity=3, lease=30) for _ in range(3)]
            assert all(slot is not None for slot in slots)
            assert await store.lease_slot("realm", capacity=3, lease=30) is None
            assert await store.lease_slot("other", capacity=3, lease=30) is not None
            first = slots[0]
            assert first is not None
            assert first.key == "realm"
            assert first.expires_at == pytest.approx(_now(clock) + 30)
            assert await store.release_slot(first) is True
            assert await store.lease_slot("realm", capacity=3, lease=30) is not None

    async def test_concurrent_leasing_never_exceeds_capacity(self) -> None:
        """Many concurrent `lease_slot` calls are granted exactly `capacity` slots."""
        clock = FakeClock(auto_advance=False)
        async with self.make_quota_store(clock) as store:
            slots = await asyncio.gather(
                *(store.lease_slot("realm", capacity=5, lease=30) for _ in range(40))
            )
            assert sum(slot is not None for slot in slots) == 5

    async def test_an_expired_lease_frees_its_slot(self) -> None:
        """A lease nobody released ends at its `expires_at`: its slot is free again."""
        clock = FakeClock(auto_advance=False)
        async with self.make_quota_store(clock) as store:
            assert await store.lease_slot("realm", capacity=1, lease=10) is not None
            clock.advance(9.75)
            assert await store.lease_slot("realm", capacity=1, lease=10) is None
            clock.advance(0.25)
            assert await store.lease_slot("realm", capacity=1, lease=10) is not None

    async def test_slot_leases_follow_the_wall_clock(self) -> None:
        """Slot leases end on the wall clock (epoch seconds), never on monotonic time."""

        async def start(store: QuotaStore, key: str, lifetime: float) -> None:
            assert await store.lease_slot(key, capacity=1, lease=lifetime) is not None

        async def live(store: QuotaStore, key: str) -> bool:
            return await store.lease_slot(key, capacity=1, lease=LIFETIME) is None

        await check_time_rule(self.make_quota_store, start, live)

    async def test_release_is_true_once_for_a_live_lease(self) -> None:
        """Releasing a live lease returns `True`; releasing it again returns `False`."""
        clock = FakeClock(auto_advance=False)
        async with self.make_quota_store(clock) as store:
            slot = await store.lease_slot("realm", capacity=1, lease=10)
            assert slot is not None
            assert await store.release_slot(slot) is True
            assert await store.release_slot(slot) is False

    async def test_a_wrong_token_releases_nothing(self) -> None:
        """A lease with a token the store never gave cannot release the holder's slot."""
        clock = FakeClock(auto_advance=False)
        async with self.make_quota_store(clock) as store:
            slot = await store.lease_slot("realm", capacity=1, lease=10)
            assert slot is not None
            forged = SlotLease(key="realm", token="not-" + slot.token, expires_at=slot.expires_at)
            assert await store.release_slot(forged) is False
            assert await store.lease_slot("realm", capacity=1, lease=10) is None
            assert await store.release_slot(slot) is True

    async def test_a_late_holder_cannot_release_the_next_holders_slot(self) -> None:
        """Once a lease expired and the slot went to another, releasing the old one is `False`
        and the new holder keeps the slot."""
        clock = FakeClock(auto_advance=False)
        async with self.make_quota_store(clock) as store:
            late = await store.lease_slot("realm", capacity=1, lease=5)
            assert late is not None
            clock.advance(6)
            current = await store.lease_slot("realm", capacity=1, lease=5)
            assert current is not None
            assert await store.release_slot(late) is False
            assert await store.lease_slot("realm", capacity=1, lease=5) is None
            assert await store.release_slot(current) is True

    async def test_releasing_an_expired_lease_is_false(self) -> None:
        """A lease released after its end reports `False` (its slot had freed itself)."""
        clock = FakeClock(auto_advance=False)
        async with self.make_quota_store(clock) as store:
            slot = await store.lease_slot("realm", capacity=1, lease=5)
            assert slot is not None
            clock.advance(5)
            assert await store.release_slot(slot) is False

    async def test_slot_tokens_are_unique(self) -> None:
        """Every lease carries its own token, over keys and over time."""
        clock = FakeClock(auto_advance=False)
        tokens: set[str] = set()
        async with self.make_quota_store(clock) as store:
            for key in ("realm-1", "realm-2"):
                for _ in range(20):
                    slot = await store.lease_slot(key, capacity=20, lease=1)
                    assert slot is not None
                    tokens.add(slot.token)
                clock.advance(1)
            for _ in range(10):
                slot = await store.lease_slot("realm-1", capacity=20, lease=1)
                assert slot is not None
                tokens.add(slot.token)
        assert len(tokens) == 50

    @pytest.mark.parametrize(
        ("capacity", "lease"), [(0, 10.0), (1, 0.0), (1, -1.0), (1, float("inf"))]
    )
    async def test_impossible_slot_requests_raise(self, capacity: int, lease: float) -> None:
        """A capacity below 1, or a lease that is not positive and finite, is a `ValueError`."""
        async with self.make_quota_store(FakeClock(auto_advance=False)) as store:
            with pytest.raises(ValueError, match=r"capacity|lease"):
                await store.lease_slot("realm", capacity=capacity, lease=lease)

    # -- hold-back --------------------------------------------------------------------------

    async def test_a_blocked_key_waits_until_the_block_ends(self) -> None:
        """While blocked, `try_acquire` records nothing and returns the wait until the end."""
        clock = FakeClock(auto_advance=False)
        limits = [RateLimit(limit=5, period=10)]
        async with self.make_quota_store(clock) as store:
            now = _now(clock)
            assert await store.blocked_until("realm") is None
            await store.block("realm", now + 60)
            assert await store.blocked_until("realm") == pytest.approx(now + 60)
            assert await store.try_acquire("realm", limits) == pytest.approx(60)
            assert await store.try_acquire("other", limits) == 0.0
            clock.advance(59.5)
            assert await store.try_acquire("realm", limits) == pytest.approx(0.5)
            assert await store.usage("realm", limits[0]) == 0
            clock.advance(0.5)
            assert await store.blocked_until("realm") is None
            assert await store.try_acquire("realm", limits) == 0.0

    async def test_a_block_only_extends(self) -> None:
        """A block ending sooner than the one in force changes nothing; a later one extends."""
        clock = FakeClock(auto_advance=False)
        async with self.make_quota_store(clock) as store:
            now = _now(clock)
            await store.block("realm", now + 60)
            await store.block("realm", now + 5)
            assert await store.blocked_until("realm") == pytest.approx(now + 60)
            await store.block("realm", now + 90)
            assert await store.blocked_until("realm") == pytest.approx(now + 90)
            await store.block("realm", now - 10)
            assert await store.blocked_until("realm") == pytest.approx(now + 90)

    async def test_the_wait_is_the_later_of_block_and_window(self) -> None:
        """A blocked key whose window stays full longer than the block waits for the window."""
        clock = FakeClock(auto_advance=False)
        limits = [RateLimit(limit=1, period=60)]
        async with self.make_quota_store(clock) as store:
            assert await store.try_acquire("realm", limits) == 0.0
            await store.block("realm", _now(clock) + 10)
            assert await store.try_acquire("realm", limits) == pytest.approx(60)
            await store.block("realm", _now(clock) + 100)
            assert await store.try_acquire("realm", limits) == pytest.approx(100)

    async def test_a_block_on_one_key_refuses_a_spend_on_several(self) -> None:
        """`try_acquire_all` naming a blocked key records nothing on any key."""
        clock = FakeClock(auto_advance=False)
        limit = RateLimit(limit=5, period=10)
        async with self.make_quota_store(clock) as store:
            await store.block("realm", _now(clock) + 30)
            wait = await store.try_acquire_all([("batch", [limit]), ("realm", [limit])])
            assert wait == pytest.approx(30)
            assert await store.usage("batch", limit) == 0

    async def test_blocks_follow_the_wall_clock(self) -> None:
        """A block ends on the wall clock (epoch seconds), never on monotonic time."""
        clock_of: dict[int, FakeClock] = {}

        def make(clock: FakeClock) -> contextlib.AbstractAsyncContextManager[QuotaStore]:
            clock_of[0] = clock
            return self.make_quota_store(clock)

        async def start(store: QuotaStore, key: str, lifetime: float) -> None:
            await store.block(key, _now(clock_of[0]) + lifetime)

        async def live(store: QuotaStore, key: str) -> bool:
            return await store.blocked_until(key) is not None

        await check_time_rule(make, start, live)

    async def test_a_non_finite_block_is_refused(self) -> None:
        """`block` until NaN or infinity raises `ValueError`: every block has an end."""
        async with self.make_quota_store(FakeClock(auto_advance=False)) as store:
            for until in (float("nan"), float("inf")):
                with pytest.raises(ValueError, match="until"):
                    await store.block("realm", until)

    async def test_reset_forgets_slots_and_block(self) -> None:
        """`reset` frees a key's slots and lifts its block, and no other key's."""
        clock = FakeClock(auto_advance=False)
        async with self.make_quota_store(clock) as store:
            for key in ("realm-1", "realm-2"):
                assert await store.lease_slot(key, capacity=1, lease=60) is not None
                await store.block(key, _now(clock) + 60)
            await store.reset("realm-1")
            assert await store.blocked_until("realm-1") is None
            assert await store.lease_slot("realm-1", capacity=1, lease=60) is not None
            assert await store.blocked_until("realm-2") is not None
            assert await store.lease_slot("realm-2", capacity=1, lease=60) is None

    def test_behaves_like_a_model(self) -> None:
        """Under any sequence of acquires, usage reads, resets and time it agrees with a model."""
        contract = self

        class Machine(QuotaStoreMachine):
            def factory(self) -> contextlib.AbstractAsyncContextManager[QuotaStore]:
                return contract.make_quota_store(self.clock)

        self.run_machine(Machine)


class QuotaStoreMachine(AsyncAdapterMachine[QuotaStore]):
    """The store against a model: per key, the grants it made, its live leases, its block.

    Time moves in quarter seconds and periods are whole seconds, so every time and
    wait is exact and the model can demand the boundary behaviour of the windows,
    leases and blocks.
    """

    def __init__(self) -> None:
        self.clock = FakeClock(auto_advance=False)
        super().__init__()
        self.limits: list[RateLimit] = []
        self.capacity = 1
        self.grants: dict[str, list[Grant]] = {}
        self.leases: dict[str, dict[str, float]] = {}  # key -> token -> expires_at
        self.issued: list[SlotLease] = []  # every lease handed out, live or not
        self.blocks: dict[str, float] = {}

    @property
    def now(self) -> float:
        return _now(self.clock)

    @initialize(limits=st.lists(rate_limits, min_size=1, max_size=3), capacity=st.integers(1, 3))
    def choose_limits(self, limits: list[RateLimit], capacity: int) -> None:
        self.limits = limits
        self.capacity = capacity

    def expected_wait(self, key: str, cost: int) -> float:
        wait = wait_for(self.grants.get(key, []), self.limits, self.now, cost)
        until = self.blocks.get(key)
        if until is not None and until > self.now:
            wait = max(wait, until - self.now)
        return wait

    keys = st.sampled_from(["a", "b"])

    @rule(key=keys, cost=st.integers(1, 3))
    def try_acquire(self, key: str, cost: int) -> None:
        if cost > min(limit.limit for limit in self.limits):
            with pytest.raises(ValueError, match="cost"):
                self.run(self.adapter.try_acquire(key, self.limits, cost=cost))
            return
        expected = self.expected_wait(key, cost)
        wait = self.run(self.adapter.try_acquire(key, self.limits, cost=cost))
        assert wait == pytest.approx(expected, abs=_TOLERANCE)
        if expected == 0.0:
            self.grants.setdefault(key, []).append((self.now, cost))

    @rule(key=keys, cost=st.integers(1, 3))
    def acquire_after_waiting(self, key: str, cost: int) -> None:
        cost = min(cost, *(limit.limit for limit in self.limits))
        wait = self.run(self.adapter.try_acquire(key, self.limits, cost=cost))
        assert wait == pytest.approx(self.expected_wait(key, cost), abs=_TOLERANCE)
        if wait > 0:
            self.clock.advance(self.expected_wait(key, cost))
            wait = self.run(self.adapter.try_acquire(key, self.limits, cost=cost))
            assert wait == 0.0
        self.grants.setdefault(key, []).append((self.now, cost))

    @rule(cost=st.integers(1, 2))
    def try_acquire_on_both_keys(self, cost: int) -> None:
        """One spend on both keys: granted on both or neither, the wait the longer one."""
        cost = min(cost, *(limit.limit for limit in self.limits))
        expected = max(self.expected_wait(key, cost) for key in ("a", "b"))
        spends = [("a", self.limits), ("b", self.limits)]
        wait = self.run(self.adapter.try_acquire_all(spends, cost=cost))
        assert wait == pytest.approx(expected, abs=_TOLERANCE)
        if expected == 0.0:
            for key in ("a", "b"):
                self.grants.setdefault(key, []).append((self.now, cost))

    @rule(key=keys, data=st.data())
    def usage(self, key: str, data: st.DataObject) -> None:
        limit = data.draw(st.sampled_from(self.limits))
        expected = spent(self.grants.get(key, []), limit.period, self.now)
        assert self.run(self.adapter.usage(key, limit)) == expected

    @rule(key=keys, lease=st.sampled_from([1.0, 2.5, 7.0]))
    def lease_slot(self, key: str, lease: float) -> None:
        held = self.leases.setdefault(key, {})
        for token in [token for token, end in held.items() if end <= self.now]:
            del held[token]
        slot = self.run(self.adapter.lease_slot(key, capacity=self.capacity, lease=lease))
        if len(held) >= self.capacity:
            assert slot is None
            return
        assert slot is not None
        assert slot.key == key
        assert slot.expires_at == pytest.approx(self.now + lease, abs=_TOLERANCE)
        assert all(slot.token != other.token for other in self.issued)
        held[slot.token] = slot.expires_at
        self.issued.append(slot)

    @rule(data=st.data())
    def release_slot(self, data: st.DataObject) -> None:
        """Release any lease ever handed out: live, expired, or released already."""
        if not self.issued:
            return
        slot = data.draw(st.sampled_from(self.issued))
        end = self.leases.get(slot.key, {}).pop(slot.token, None)
        expected = end is not None and end > self.now
        assert self.run(self.adapter.release_slot(slot)) is expected

    @rule(key=keys, seconds=st.sampled_from([-1.0, 0.5, 2.0, 9.0]))
    def block(self, key: str, seconds: float) -> None:
        until = self.now + seconds
        self.run(self.adapter.block(key, until))
        self.blocks[key] = max(until, self.blocks.get(key, until))

    @rule(key=keys)
    def blocked_until(self, key: str) -> None:
        until = self.blocks.get(key)
        expected = until if until is not None and until > self.now else None
        got = self.run(self.adapter.blocked_until(key))
        if expected is None:
            assert got is None
        else:
            assert got == pytest.approx(expected, abs=_TOLERANCE)

    @rule(key=keys)
    def reset(self, key: str) -> None:
        self.run(self.adapter.reset(key))
        self.grants.pop(key, None)
        self.leases.pop(key, None)
        self.blocks.pop(key, None)

    @rule(seconds=st.sampled_from([0.25, 0.5, 1.0, 2.5, 7.0]))
    def let_time_pass(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule(seconds=st.sampled_from([1.0, 7.0, 60.0]))
    def let_monotonic_time_pass(self, seconds: float) -> None:
        """Monotonic time alone moves on: by the time rule, nothing leaves or expires."""
        self.clock.advance_monotonic(seconds)

    def teardown(self) -> None:
        try:
            for key, grants in self.grants.items():
                assert _over_limit(grants, self.limits) == [], key
        finally:
            super().teardown()
