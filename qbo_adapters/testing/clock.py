"""The `Clock` contract suite, for the system clock, the fake one and a host's own."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule, run_state_machine_as_test

from qbo_adapters.testing._machine import AsyncAdapterMachine
from qbo_core.ports.clock import Clock

__all__ = ["ClockContract"]

# A real clock may wake a sleeper this much early (the event loop's own resolution).
_REAL_SLACK = 1e-6
# The longest sleep a contract test takes on a real clock.
_REAL_SLEEP = 0.01


class ClockContract:
    """What every `Clock` promises. Subclass as `Test<Adapter>(ClockContract)`.

    Implement `make_clock`. Set `virtual_time = True` for clocks whose `sleep` jumps
    virtual time (like `FakeClock`): the suite then also holds them to exact
    arithmetic (a sleep moves `now()` and `monotonic()` by exactly its length) and
    to waking concurrent sleepers one by one in deadline order. Real clocks are only
    asked to sleep for a few milliseconds.
    """

    #: Whether `sleep` moves virtual time instead of waiting.
    virtual_time: bool = False

    def make_clock(self) -> contextlib.AbstractAsyncContextManager[Clock]:
        """Return an async context manager yielding a fresh clock (virtual ones at rest)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement make_clock() to run the Clock contract"
        )

    def _short(self, seconds: float) -> float:
        """`seconds` for a virtual clock; a few milliseconds at most for a real one."""
        return seconds if self.virtual_time else min(seconds, _REAL_SLEEP)

    async def test_now_is_aware_utc(self) -> None:
        """`now()` is timezone-aware with a zero UTC offset."""
        async with self.make_clock() as clock:
            now = clock.now()
            assert now.tzinfo is not None
            assert now.utcoffset() == timedelta(0)

    async def test_now_and_monotonic_never_go_backwards(self) -> None:
        """Successive readings of `now()` and `monotonic()` never decrease, sleeps included."""
        async with self.make_clock() as clock:
            walls = [clock.now()]
            ticks = [clock.monotonic()]
            for seconds in (0.0, self._short(0.002), 0.0, self._short(0.001)):
                await clock.sleep(seconds)
                walls.append(clock.now())
                ticks.append(clock.monotonic())
            assert walls == sorted(walls)
            assert ticks == sorted(ticks)

    async def test_zero_or_negative_sleep_returns(self) -> None:
        """`sleep(0)` and `sleep(-1)` return promptly (a virtual clock does not move)."""
        async with self.make_clock() as clock:
            before = clock.monotonic()
            await clock.sleep(0)
            await clock.sleep(-1)
            after = clock.monotonic()
            if self.virtual_time:
                assert after == before
            else:
                assert 0 <= after - before < 1.0

    async def test_zero_sleep_yields_to_other_tasks(self) -> None:
        """`sleep(0)` lets another ready task run before the sleeper continues."""
        async with self.make_clock() as clock:
            ran: list[str] = []

            async def other() -> None:
                ran.append("other")

            task = asyncio.get_running_loop().create_task(other())
            await clock.sleep(0)
            ran.append("sleeper")
            await task
            assert ran == ["other", "sleeper"]

    async def test_sleep_advances_monotonic_by_at_least_its_length(self) -> None:
        """After `sleep(d)`, `monotonic()` has moved by at least `d` (exactly `d` if virtual)."""
        async with self.make_clock() as clock:
            seconds = self._short(42.5)
            before = clock.monotonic()
            await clock.sleep(seconds)
            moved = clock.monotonic() - before
            if self.virtual_time:
                assert moved == seconds
            else:
                assert moved >= seconds - _REAL_SLACK

    async def test_sleep_is_cancellable(self) -> None:
        """Cancelling a sleeping task raises `CancelledError` in it, well before its deadline."""
        async with self.make_clock() as clock:
            before = clock.monotonic()
            sleeper = asyncio.get_running_loop().create_task(clock.sleep(3_600))
            await asyncio.sleep(0)  # let the sleeper start sleeping
            sleeper.cancel()
            with pytest.raises(asyncio.CancelledError):
                await sleeper
            assert sleeper.cancelled()
            assert clock.monotonic() - before < 3_600

    async def test_concurrent_sleepers_wake_in_deadline_order_at_their_deadlines(self) -> None:
        """Concurrent sleepers wake in deadline order, each seeing its own wake-up time."""
        async with self.make_clock() as clock:
            seconds = [self._short(s) for s in (3.0, 1.0, 2.0, 0.5, 2.0)]
            start_wall, start_tick = clock.now(), clock.monotonic()
            woke: list[tuple[int, timedelta, float]] = []

            async def sleeper(index: int) -> None:
                await clock.sleep(seconds[index])
                woke.append((index, clock.now() - start_wall, clock.monotonic() - start_tick))

            await asyncio.gather(*(sleeper(i) for i in range(len(seconds))))
            assert len(woke) == len(seconds)
            for index, _, tick in woke:
                assert tick >= seconds[index] - _REAL_SLACK
            if self.virtual_time:
                # Deadline order; equal deadlines in the order they went to sleep.
                assert [index for index, _, _ in woke] == [3, 1, 2, 4, 0]
                for index, wall, tick in woke:
                    assert tick == seconds[index]
                    assert wall == timedelta(seconds=seconds[index])

    def test_behaves_like_a_model(self) -> None:
        """Under any sequence of reads and sleeps the clock agrees with a model of elapsed time."""
        contract = self

        class Machine(ClockMachine):
            virtual_time = contract.virtual_time

            def factory(self) -> contextlib.AbstractAsyncContextManager[Clock]:
                return contract.make_clock()

        if self.virtual_time:
            run_state_machine_as_test(Machine)
        else:  # real sleeps: fewer runs, each still a few milliseconds at most
            loaded = settings()  # the profile in force
            examples = min(loaded.max_examples, 10)
            steps = min(loaded.stateful_step_count, 10)
            run_state_machine_as_test(
                Machine, settings=settings(max_examples=examples, stateful_step_count=steps)
            )


class ClockMachine(AsyncAdapterMachine[Clock]):
    """Reads and sleeps against a model: the least time that must have passed."""

    virtual_time: bool = False

    def __init__(self) -> None:
        super().__init__()
        self.start_wall = self.adapter.now()
        self.start_tick = self.adapter.monotonic()
        self.last_wall = self.start_wall
        self.last_tick = self.start_tick
        # The model: seconds slept so far (exact for a virtual clock, a floor otherwise).
        self.slept = 0.0

    @rule(seconds=st.sampled_from([-1.0, 0.0, 0.25, 1.0, 7.5, 60.0]))
    def sleep(self, seconds: float) -> None:
        if not self.virtual_time:
            seconds = min(seconds, 0.001)
        self.run(self.adapter.sleep(seconds))
        self.slept += max(seconds, 0.0)

    @rule(seconds=st.lists(st.sampled_from([0.25, 1.0, 2.0, 5.0]), min_size=2, max_size=4))
    def sleep_concurrently(self, seconds: list[float]) -> None:
        if not self.virtual_time:
            seconds = [s / 1_000 for s in seconds]

        async def together() -> list[int]:
            woke: list[int] = []

            async def sleeper(index: int) -> None:
                await self.adapter.sleep(seconds[index])
                woke.append(index)

            await asyncio.gather(*(sleeper(i) for i in range(len(seconds))))
            return woke

        woke = self.run(together())
        if self.virtual_time:
            assert woke == sorted(range(len(seconds)), key=lambda i: seconds[i])
        self.slept += max(seconds)

    @invariant()
    def time_matches_the_model(self) -> None:
        wall, tick = self.adapter.now(), self.adapter.monotonic()
        assert wall.utcoffset() == timedelta(0)
        assert wall >= self.last_wall
        assert tick >= self.last_tick
        self.last_wall, self.last_tick = wall, tick
        if self.virtual_time:
            assert tick - self.start_tick == self.slept
            assert wall - self.start_wall == timedelta(seconds=self.slept)
        else:
            assert tick - self.start_tick >= self.slept - _REAL_SLACK
