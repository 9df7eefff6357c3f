"""The ports' time rule, checked one way by every shared-state contract suite.

The rule (in the docstrings of `Cache`, `Lock`, `QuotaStore` and `StateStore`):
every expiry, lease and window is wall-clock epoch seconds from the adapter's
`Clock`, never `monotonic()`; a backend's native TTL is garbage collection only.

`check_time_rule` holds an adapter to it on a `FakeClock` whose wall and monotonic
times are moved apart: moving monotonic time alone, far past a lifetime, must
expire nothing; moving wall time alone must expire exactly at the end of the
lifetime. An adapter timed on `monotonic()`, or on a backend's own timer, fails.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

from hypothesis import strategies as st
from hypothesis.stateful import rule

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.testing._machine import AsyncAdapterMachine

__all__ = ["LIFETIME", "TimedMachine", "check_time_rule"]

A = TypeVar("A")

#: The lifetime (TTL, lease, window) the check gives each item, in seconds.
LIFETIME = 10.0
_STEP = 0.25  # exact in binary floating point and in whole microseconds


async def check_time_rule(
    make: Callable[[FakeClock], AbstractAsyncContextManager[A]],
    start: Callable[[A, str, float], Awaitable[object]],
    live: Callable[[A, str], Awaitable[bool]],
) -> None:
    """Hold the adapter that `make` yields to the time rule.

    `start(adapter, name, lifetime)` begins something that lasts `lifetime`
    seconds under `name` (a cache entry, a lease, a window's grant, a state);
    `live(adapter, name)` says whether it still holds. Each name is probed once,
    so `live` may consume what it probes (a `take`, an `acquire`).
    """
    clock = FakeClock(auto_advance=False)
    async with make(clock) as adapter:
        for name in ("monotonic-only", "wall-before-end", "wall-at-end"):
            await start(adapter, name, LIFETIME)
        clock.advance_monotonic(100 * LIFETIME)
        assert await live(adapter, "monotonic-only"), (
            "expired when only monotonic time moved: expiry must follow the wall clock"
        )
        clock.advance_wall(LIFETIME - _STEP)
        assert await live(adapter, "wall-before-end"), "expired before its end on the wall clock"
        clock.advance_wall(_STEP)
        assert not await live(adapter, "wall-at-end"), (
            "still held once the wall clock reached its end"
        )


class TimedMachine(AsyncAdapterMachine[A]):
    """A state machine whose adapter runs on `self.clock`, with the three ways time moves.

    Besides both clocks moving together, monotonic time alone moves (nothing may
    expire: the time rule) and wall time alone moves (expiry as usual), so every
    shared-state suite's model is checked against the same clock moves. Subclasses
    build their adapter on `self.clock` (set before `factory` is called).
    """

    def __init__(self) -> None:
        self.clock = FakeClock(auto_advance=False)
        super().__init__()

    @property
    def now(self) -> float:
        """Wall-clock epoch seconds, the time every expiry in the model is kept in."""
        return self.clock.now().timestamp()

    @rule(quarters=st.integers(min_value=1, max_value=200))
    def advance_clock(self, quarters: int) -> None:
        self.clock.advance(quarters / 4)

    @rule(quarters=st.integers(min_value=1, max_value=200))
    def advance_monotonic_only(self, quarters: int) -> None:
        """Monotonic time alone moves on: by the time rule, nothing expires."""
        self.clock.advance_monotonic(quarters / 4)

    @rule(quarters=st.integers(min_value=1, max_value=200))
    def advance_wall_only(self, quarters: int) -> None:
        """Wall time alone moves on: by the time rule, what is held expires as usual."""
        self.clock.advance_wall(quarters / 4)
