"""`AsyncioLock`: the `Lock` port for the tasks of one process, on one event loop."""

from __future__ import annotations

import asyncio
import math
import secrets

from qbo_core.errors import LockTimeoutError
from qbo_core.ports.clock import Clock
from qbo_core.ports.lock import Lease

__all__ = ["AsyncioLock"]


class AsyncioLock:
    """Named leases held in a dictionary, timed on a `Clock`.

    A lease is over once `clock.now().timestamp()` reaches its `expires_at`; from
    that instant another caller may take the name, and the old holder can neither
    release nor extend it. Each lease carries a fresh random token, so a holder
    whose lease ran out can never touch the next holder's.

    A waiting `acquire` sleeps on the clock until the earliest of: its own
    deadline, the holder's lease running out, or a `release` of that name (which
    wakes every waiter for it; whichever runs first takes the lock, the others
    wait again). Waits are therefore exact in virtual time: on a `FakeClock` a
    waiter takes an expired lock at its expiry instant, or gives up at exactly
    `wait` seconds.

    Only tasks on one event loop share it; across processes use a shared adapter.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._held: dict[str, Lease] = {}
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}

    async def ping(self) -> None:
        return None  # the leases live in this process: nothing to reach

    async def acquire(self, name: str, *, lease: float, wait: float) -> Lease:
        _check_lease(lease, "lease")
        if not wait >= 0:  # also refuses NaN
            raise ValueError(f"wait must be zero or positive, got {wait!r}")
        started = self._clock.monotonic()
        deadline = started + wait
        while True:
            now = self._clock.now().timestamp()
            holder = self._current(name, now)
            if holder is None:
                taken = Lease(name=name, token=secrets.token_hex(16), expires_at=now + lease)
                self._held[name] = taken
                return taken
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                waited = self._clock.monotonic() - started
                raise LockTimeoutError(
                    f"lock {name!r} still held after waiting {waited:g}s", name=name, waited=waited
                )
            await self._wait_for_change(name, min(remaining, holder.expires_at - now))

    async def release(self, lease: Lease) -> bool:
        holder = self._current(lease.name, self._clock.now().timestamp())
        if holder is None or holder.token != lease.token:
            return False
        del self._held[lease.name]
        self._wake(lease.name)
        return True

    async def extend(self, lease: Lease, *, lease_seconds: float) -> Lease:
        _check_lease(lease_seconds, "lease_seconds")
        now = self._clock.now().timestamp()
        holder = self._current(lease.name, now)
        if holder is None or holder.token != lease.token:
            raise LockTimeoutError(
                f"lease on lock {lease.name!r} was lost before it could be extended",
                name=lease.name,
                waited=0.0,
            )
        extended = Lease(name=lease.name, token=lease.token, expires_at=now + lease_seconds)
        self._held[lease.name] = extended
        return extended

    def __repr__(self) -> str:
        return f"AsyncioLock(held={sorted(self._held)!r})"

    # -- internals ----------------------------------------------------------------

    def _current(self, name: str, now: float) -> Lease | None:
        """The live lease on `name` at `now`, forgetting one that has run out."""
        holder = self._held.get(name)
        if holder is not None and holder.expires_at <= now:
            del self._held[name]
            holder = None
        return holder

    async def _wait_for_change(self, name: str, seconds: float) -> None:
        """Sleep on the clock for `seconds`, or less if `name` is released meanwhile."""
        released: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._waiters.setdefault(name, set())
        waiters.add(released)
        timer = asyncio.ensure_future(self._clock.sleep(seconds))
        try:
            await asyncio.wait((released, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            waiters.discard(released)
            if not waiters:
                del self._waiters[name]  # only the last waiter to leave empties the set
        if timer.done() and not timer.cancelled():
            timer.result()  # surface a failing clock rather than spin

    def _wake(self, name: str) -> None:
        for released in self._waiters.get(name, ()):
            if not released.done():
                released.set_result(None)


def _check_lease(seconds: float, what: str) -> None:
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"{what} must be a positive number of seconds, got {seconds!r}")
