"""`Clock` adapters: the real one and a virtual-time fake for tests."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import UTC, datetime, timedelta

__all__ = ["FakeClock", "SystemClock"]

DEFAULT_FAKE_START = datetime(2026, 1, 1, tzinfo=UTC)


class SystemClock:
    """The machine's clock: `datetime.now(UTC)`, `time.monotonic()`, `asyncio.sleep`."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))

    def __repr__(self) -> str:
        return "SystemClock()"


class FakeClock:
    """Virtual time. Sleeping never waits: the clock jumps to the sleeper's wake-up time.

    With `auto_advance=True` (the default), whenever every task on the event loop is
    blocked, the clock moves to the earliest pending wake-up time and wakes that
    sleeper; sleepers therefore wake one at a time, in order of their wake-up times
    (ties in the order they went to sleep), each seeing `now()` equal to the time it
    asked for. A test of a 60-second back-off finishes in microseconds.

    With `auto_advance=False`, time moves only when the test calls `advance`.

    Wall time (`now()`) and monotonic time move together, except through
    `advance_wall` and `advance_monotonic`, which move one without the other: a test
    can then tell an adapter that measures on the wall clock (as the shared-state
    ports require) from one that measures on the monotonic clock. Sleepers are on
    the monotonic timeline, as `asyncio.sleep` is.

    Only what goes through this clock is virtual: real I/O (a socket read, a Redis
    call) still takes real time, and virtual time may move on while it is pending.
    """

    def __init__(
        self,
        start: datetime = DEFAULT_FAKE_START,
        *,
        auto_advance: bool = True,
        monotonic_start: float = 1_000.0,
    ) -> None:
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("FakeClock start must be timezone-aware")
        self._start = start.astimezone(UTC)
        self._monotonic_start = monotonic_start
        self._elapsed = 0.0  # monotonic seconds since the clock was made
        self._wall_offset = 0.0  # how far the wall clock is ahead of `_elapsed`
        self._auto_advance = auto_advance
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._advancer: asyncio.Task[None] | None = None

    # -- Clock --------------------------------------------------------------

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed + self._wall_offset)

    def monotonic(self) -> float:
        return self._monotonic_start + self._elapsed

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        wake: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._sleepers, (self._elapsed + seconds, next(self._order), wake))
        if self._auto_advance:
            self._ensure_advancer(loop)
        # A cancelled sleeper's future is cancelled too; `_pop_due` skips it.
        await wake

    # -- test controls ----------------------------------------------------------

    @property
    def elapsed(self) -> float:
        """Virtual monotonic seconds since the clock was made (sleeps and advances)."""
        return self._elapsed

    @property
    def pending_sleepers(self) -> int:
        """How many sleepers are waiting to be woken."""
        return sum(1 for _, _, wake in self._sleepers if not wake.done())

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`, waking (in order) every sleeper now due."""
        _check_forward(seconds)
        target = self._elapsed + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            self._wake_next()
        self._elapsed = target

    def advance_wall(self, seconds: float) -> None:
        """Move the wall clock alone forward by `seconds`; `monotonic()` and sleepers stay.

        As if the system clock were stepped forward: what is timed on `now()` moves on,
        what is timed on `monotonic()` (and every sleeper) does not.
        """
        _check_forward(seconds)
        self._wall_offset += seconds

    def advance_monotonic(self, seconds: float) -> None:
        """Move monotonic time forward by `seconds`, waking due sleepers; `now()` stands still.

        As if the system clock were stepped back by as much as time passed: what is
        timed on `monotonic()` moves on, what is timed on `now()` does not.
        """
        _check_forward(seconds)
        self.advance(seconds)
        self._wall_offset -= seconds

    def set_now(self, when: datetime) -> None:
        """Jump forward to the wall time `when` (never backwards), waking due sleepers."""
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("set_now needs a timezone-aware datetime")
        delta = (when - self.now()).total_seconds()  # aware datetimes subtract as instants
        self.advance(max(delta, 0.0))

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now().isoformat()}, sleepers={self.pending_sleepers})"

    # -- internals -----------------------------------------------------------------

    def _wake_next(self) -> bool:
        """Wake the earliest live sleeper, moving time to its deadline. False if none."""
        while self._sleepers:
            deadline, _, wake = heapq.heappop(self._sleepers)
            if wake.done():  # cancelled while asleep
                continue
            self._elapsed = max(self._elapsed, deadline)
            wake.set_result(None)
            return True
        return False

    def _ensure_advancer(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._advancer is None or self._advancer.done():
            self._advancer = loop.create_task(self._advance_when_idle(loop))

    async def _advance_when_idle(self, loop: asyncio.AbstractEventLoop) -> None:
        while self._sleepers:
            await _until_loop_idle(loop)
            if not self._wake_next():
                return


def _check_forward(seconds: float) -> None:
    if not seconds >= 0:  # also refuses NaN
        raise ValueError(f"time cannot go backwards (or by NaN), got {seconds!r}")


async def _until_loop_idle(loop: asyncio.AbstractEventLoop, max_yields: int = 1_000) -> None:
    """Yield until no other callback is ready to run (or `max_yields` passes).

    CPython's event loops keep runnable callbacks in `_ready`; where that is not
    available we fall back to a fixed number of yields, which lets ordinary chains
    of awaits settle.
    """
    ready = getattr(loop, "_ready", None)
    for _ in range(max_yields if ready is not None else 20):
        await asyncio.sleep(0)
        if ready is not None and not ready:
            return
