"""The system and fake clocks against the `Clock` contract, and the fake clock's controls."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from types import SimpleNamespace
from typing import cast

import pytest

from qbo_adapters.memory.clock import FakeClock, SystemClock, _until_loop_idle
from qbo_adapters.testing.clock import ClockContract
from qbo_core.ports.clock import Clock


class TestSystemClock(ClockContract):
    @contextlib.asynccontextmanager
    async def make_clock(self) -> AsyncIterator[Clock]:
        yield SystemClock()


class TestFakeClock(ClockContract):
    virtual_time = True

    @contextlib.asynccontextmanager
    async def make_clock(self) -> AsyncIterator[Clock]:
        yield FakeClock()


async def _settle() -> None:
    """Let every ready task run until it blocks."""
    for _ in range(20):
        await asyncio.sleep(0)


async def test_advance_wakes_due_sleepers_in_deadline_order() -> None:
    """`advance` wakes exactly the sleepers now due, earliest deadline first."""
    clock = FakeClock(auto_advance=False)
    woke: list[float] = []

    async def sleeper(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(seconds)

    tasks = [asyncio.get_running_loop().create_task(sleeper(s)) for s in (5.0, 1.0, 3.0)]
    await _settle()
    assert clock.pending_sleepers == 3
    clock.advance(4)
    await _settle()
    assert woke == [1.0, 3.0]
    assert clock.pending_sleepers == 1
    assert clock.elapsed == 4
    clock.advance(1)
    await asyncio.gather(*tasks)
    assert woke == [1.0, 3.0, 5.0]


async def test_without_auto_advance_sleepers_wait_for_advance() -> None:
    """With `auto_advance=False` a sleeper stays asleep, and time still, until `advance`."""
    clock = FakeClock(auto_advance=False)
    task = asyncio.get_running_loop().create_task(clock.sleep(10))
    await _settle()
    assert not task.done()
    assert clock.elapsed == 0
    clock.advance(9.5)
    await _settle()
    assert not task.done()
    clock.advance(0.5)
    await task
    assert clock.elapsed == 10


async def test_auto_advance_moves_time_only_when_everyone_is_blocked() -> None:
    """Auto-advance waits while another task can still run, so that task sees no time pass."""
    clock = FakeClock()
    seen: list[float] = []

    async def busy() -> None:
        for _ in range(50):
            seen.append(clock.elapsed)
            await asyncio.sleep(0)

    await asyncio.gather(clock.sleep(30), busy())
    assert seen == [0.0] * 50
    assert clock.elapsed == 30


async def test_set_now_jumps_forward_and_wakes_due_sleepers() -> None:
    """`set_now` moves to a later wall time, waking sleepers due by then."""
    clock = FakeClock(datetime(2026, 3, 1, tzinfo=UTC), auto_advance=False)
    task = asyncio.get_running_loop().create_task(clock.sleep(60))
    await _settle()
    clock.set_now(datetime(2026, 3, 1, 0, 1, 30, tzinfo=UTC))
    await task
    assert clock.now() == datetime(2026, 3, 1, 0, 1, 30, tzinfo=UTC)
    assert clock.elapsed == 90


async def test_set_now_never_goes_backwards() -> None:
    """`set_now` to an earlier time leaves the clock where it was."""
    clock = FakeClock(datetime(2026, 3, 1, tzinfo=UTC), auto_advance=False)
    clock.advance(10)
    clock.set_now(datetime(2026, 2, 1, tzinfo=UTC))
    assert clock.now() == datetime(2026, 3, 1, 0, 0, 10, tzinfo=UTC)
    assert clock.elapsed == 10


def test_set_now_rejects_a_naive_time() -> None:
    """`set_now` refuses a naive datetime instead of guessing its zone."""
    clock = FakeClock()
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set_now(datetime(2026, 3, 1))
    assert clock.elapsed == 0


async def test_cancelled_sleeper_is_skipped() -> None:
    """A cancelled sleeper is never woken, and auto-advance never jumps to its deadline."""
    clock = FakeClock()
    forgotten = asyncio.get_running_loop().create_task(clock.sleep(100))
    await asyncio.sleep(0)
    forgotten.cancel()
    await clock.sleep(10)
    await _settle()
    assert forgotten.cancelled()
    assert clock.pending_sleepers == 0
    assert clock.elapsed == 10


async def test_cancelled_sleeper_is_not_counted_or_woken_by_advance() -> None:
    """`advance` past a cancelled sleeper's deadline wakes only the live ones."""
    clock = FakeClock(auto_advance=False)
    cancelled = asyncio.get_running_loop().create_task(clock.sleep(5))
    live = asyncio.get_running_loop().create_task(clock.sleep(8))
    await _settle()
    cancelled.cancel()
    await _settle()
    assert clock.pending_sleepers == 1
    clock.advance(10)
    await live
    assert cancelled.cancelled()


def test_naive_start_is_rejected() -> None:
    """A `FakeClock` cannot start at a naive datetime."""
    with pytest.raises(ValueError, match="timezone-aware"):
        FakeClock(datetime(2026, 1, 1))


def test_start_in_another_zone_is_reported_in_utc() -> None:
    """A start given in another zone is the same instant, reported in UTC."""
    start = datetime(2026, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    clock = FakeClock(start)
    assert clock.now() == start
    assert clock.now().utcoffset() == timedelta(0)
    assert clock.now().hour == 0


def test_advance_refuses_negative_time() -> None:
    """`advance` with a negative duration raises `ValueError` and leaves time alone."""
    clock = FakeClock()
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    assert clock.elapsed == 0


def test_monotonic_starts_where_asked() -> None:
    """`monotonic()` starts at `monotonic_start` and moves with `advance`."""
    clock = FakeClock(monotonic_start=5.0, auto_advance=False)
    clock.advance(2.5)
    assert clock.monotonic() == 7.5


def test_advance_wall_moves_only_the_wall_clock() -> None:
    """`advance_wall` moves `now()` and leaves `monotonic()` and `elapsed` where they were."""
    clock = FakeClock(datetime(2026, 3, 1, tzinfo=UTC), auto_advance=False, monotonic_start=5.0)
    clock.advance_wall(90)
    assert clock.now() == datetime(2026, 3, 1, 0, 1, 30, tzinfo=UTC)
    assert clock.monotonic() == 5.0
    assert clock.elapsed == 0


def test_advance_monotonic_moves_only_the_monotonic_clock() -> None:
    """`advance_monotonic` moves `monotonic()` and `elapsed` and leaves `now()` where it was."""
    clock = FakeClock(datetime(2026, 3, 1, tzinfo=UTC), auto_advance=False, monotonic_start=5.0)
    clock.advance_monotonic(90)
    assert clock.now() == datetime(2026, 3, 1, tzinfo=UTC)
    assert clock.monotonic() == 95.0
    assert clock.elapsed == 90


def test_advance_moves_both_clocks_after_independent_moves() -> None:
    """After independent moves, `advance` still moves wall and monotonic time by the same amount."""
    clock = FakeClock(datetime(2026, 3, 1, tzinfo=UTC), auto_advance=False, monotonic_start=0.0)
    clock.advance_wall(10)
    clock.advance_monotonic(3)
    clock.advance(2)
    assert clock.now() == datetime(2026, 3, 1, 0, 0, 12, tzinfo=UTC)
    assert clock.monotonic() == 5.0


async def test_sleepers_follow_monotonic_time_not_wall_time() -> None:
    """A wall-clock jump wakes no sleeper; a monotonic move wakes the ones it makes due."""
    clock = FakeClock(auto_advance=False)
    task = asyncio.get_running_loop().create_task(clock.sleep(10))
    await _settle()
    clock.advance_wall(3_600)
    await _settle()
    assert not task.done()
    clock.advance_monotonic(10)
    await task
    assert clock.pending_sleepers == 0


@pytest.mark.parametrize("move", ["advance", "advance_wall", "advance_monotonic"])
@pytest.mark.parametrize("seconds", [-1.0, float("nan")])
def test_moves_refuse_negative_or_nan_time(move: str, seconds: float) -> None:
    """Every way of moving time refuses a negative or NaN duration and leaves time alone."""
    clock = FakeClock(auto_advance=False)
    before = (clock.now(), clock.monotonic())
    with pytest.raises(ValueError, match="backwards"):
        getattr(clock, move)(seconds)
    assert (clock.now(), clock.monotonic()) == before


# ---------------------------------------------------------------- defaults, messages, reprs


class _NoOffset(tzinfo):
    """A zone that cannot say its offset: as unusable as no zone at all."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


def test_fake_clock_defaults() -> None:
    """A default `FakeClock` starts at 2026-01-01T00:00Z, with monotonic time at 1000."""
    clock = FakeClock()
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)
    assert clock.monotonic() == 1_000.0
    assert clock.elapsed == 0


def test_start_errors_say_what_is_wrong() -> None:
    """A naive start, or one whose zone has no offset, is refused with the same message."""
    for start in (datetime(2026, 1, 1), datetime(2026, 1, 1, tzinfo=_NoOffset())):
        with pytest.raises(ValueError, match=r"^FakeClock start must be timezone-aware$"):
            FakeClock(start)


def test_set_now_errors_say_what_is_wrong() -> None:
    """`set_now` refuses a naive time, or one whose zone has no offset, by the same message."""
    clock = FakeClock()
    for when in (datetime(2026, 3, 1), datetime(2026, 3, 1, tzinfo=_NoOffset())):
        with pytest.raises(ValueError, match=r"^set_now needs a timezone-aware datetime$"):
            clock.set_now(when)
    assert clock.elapsed == 0


def test_backwards_move_message_names_the_value() -> None:
    """A refused move names the duration given."""
    with pytest.raises(ValueError, match=r"^time cannot go backwards \(or by NaN\), got -1\.5$"):
        FakeClock().advance(-1.5)


def test_advance_by_zero_is_allowed() -> None:
    """Moving by zero seconds is no move, and no error."""
    clock = FakeClock(auto_advance=False)
    clock.advance(0)
    clock.advance_wall(0)
    clock.advance_monotonic(0)
    assert (clock.now(), clock.elapsed) == (datetime(2026, 1, 1, tzinfo=UTC), 0)


async def test_zero_or_negative_sleep_needs_no_advance() -> None:
    """Without auto-advance, a sleep of zero or less returns at once and leaves no sleeper."""
    clock = FakeClock(auto_advance=False)
    await asyncio.wait_for(clock.sleep(0), timeout=5)
    await asyncio.wait_for(clock.sleep(-3), timeout=5)
    assert clock.pending_sleepers == 0
    assert clock.elapsed == 0


async def test_advance_wakes_a_sleeper_due_exactly_then() -> None:
    """A sleeper whose deadline is exactly the advanced-to time wakes, and time ends there."""
    clock = FakeClock(auto_advance=False)
    task = asyncio.get_running_loop().create_task(clock.sleep(4))
    await _settle()
    clock.advance(4)
    await asyncio.wait_for(task, timeout=5)
    assert clock.elapsed == 4


async def test_fake_clock_repr_shows_now_and_sleepers() -> None:
    """`repr` reads `FakeClock(now=<ISO time>, sleepers=N)`."""
    clock = FakeClock(auto_advance=False)
    clock.advance(10)
    task = asyncio.get_running_loop().create_task(clock.sleep(5))
    await _settle()
    assert repr(clock) == "FakeClock(now=2026-01-01T00:00:10+00:00, sleepers=1)"
    task.cancel()


def test_system_clock_repr() -> None:
    """`repr(SystemClock())` is `SystemClock()`."""
    assert repr(SystemClock()) == "SystemClock()"


async def test_system_clock_sleeps_a_negative_time_as_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`SystemClock.sleep` passes a negative duration to asyncio as 0, and others unchanged."""
    asked: list[float] = []

    async def record(seconds: float) -> None:
        asked.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", record)
    await SystemClock().sleep(-2)
    await SystemClock().sleep(0.5)
    assert asked == [0.0, 0.5]


@pytest.mark.parametrize(
    ("loop", "yields"),
    [
        (SimpleNamespace(_ready=[]), 1),  # nothing else to run: one yield settles it
        (SimpleNamespace(_ready=["busy"]), 1_000),  # always busy: gives up at max_yields
        (SimpleNamespace(), 20),  # a loop without CPython's ready queue: a fixed 20
    ],
)
async def test_waiting_for_an_idle_loop_yields_a_bounded_number_of_times(
    monkeypatch: pytest.MonkeyPatch, loop: object, yields: int
) -> None:
    """Auto-advance waits until no callback is ready, at most 1000 yields (20 if it can't tell)."""
    asked: list[float] = []

    async def record(seconds: float) -> None:
        asked.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", record)
    await _until_loop_idle(cast(asyncio.AbstractEventLoop, loop))
    assert asked == [0] * yields


def test_now_is_in_utc_whatever_the_hosts_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A start in another zone is reported in UTC even on a host whose local zone is not UTC."""
    monkeypatch.setenv("TZ", "JST-9")  # a POSIX zone string: UTC+09:00, no tz database
    time.tzset()
    try:
        start = datetime(2026, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))
        now = FakeClock(start).now()
        assert (now, now.utcoffset(), now.hour) == (start, timedelta(0), 0)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_wall_moves_add_up() -> None:
    """Successive `advance_wall` moves add up."""
    clock = FakeClock(datetime(2026, 3, 1, tzinfo=UTC), auto_advance=False)
    clock.advance_wall(10)
    clock.advance_wall(5)
    assert clock.now() == datetime(2026, 3, 1, 0, 0, 15, tzinfo=UTC)


async def test_auto_advance_passes_over_a_cancelled_earlier_sleeper() -> None:
    """A sleeper cancelled before its deadline does not stop auto-advance waking a later one."""
    clock = FakeClock()
    early = asyncio.get_running_loop().create_task(clock.sleep(5))
    await asyncio.sleep(0)
    early.cancel()
    await asyncio.wait_for(clock.sleep(10), timeout=5)  # the guard fails a hang at once
    assert clock.elapsed == 10
    assert early.cancelled()
