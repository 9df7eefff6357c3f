"""`MemoryQuotaStore`: exact sliding-window rate accounting inside one process.

The algorithm
-------------
For each key, and each window length (`period`) a caller has asked about, the
store keeps a log: the `(timestamp, cost)` of every grant still inside that
window, oldest first, and the sum of their costs. `try_acquire(key, limits,
cost=c)` at time `t`:

1. drops from each log the grants at or before `t - period` (they have left the
   window `(t - period, t]`);
2. checks, for every limit, that the log's sum plus `c` is at most `limit`;
3. if every limit agrees, appends `(t, c)` to every log named by `limits` and
   returns `0.0`; otherwise records nothing and returns the wait.

The wait for one limit is found by walking its log from the oldest grant,
subtracting costs until the rest plus `c` fits: if that walk had to drop the
grant at time `s`, the cost fits once `s` has left the window, at `s + period`.
The answer is the largest of those waits, minus `t`.

Why no window is ever over its limit: a grant is recorded only when, in every
window ending at its own timestamp, what was already granted plus its cost fits.
The sum over a window `(u - period, u]` only changes by grants entering at `u`
(checked when they were made) or old ones leaving; so the sum is largest in
windows that end exactly at a grant, and each of those was checked. Steps 1-3
run with no `await` between them, so no other task can slip a grant in between
the check and the record: under asyncio the whole call is atomic.

Time is the store's `Clock`, by the ports' time rule: `t` is
`clock.now().timestamp()`, wall-clock epoch seconds. A call is judged, and its
grant recorded, at the latest `t` the store has seen, so after the wall clock is
stepped back a call is judged at the later time (its wait still counts from its
own `t`); that keeps every log in time order and never lets an earlier `t` see a
window that pruning has already emptied.

`try_acquire_all` runs the same three steps over the logs of several keys at
once, so one grant lands in every key or in none.

Slots and blocks
----------------
A key's slots are a dict from unique token to `expires_at`: leasing at `capacity`
drops the expired ones and refuses if still full; releasing pops the token and reports
whether its lease was still live. A block is one `until` per key, only ever
raised; while `until > now` every acquire naming the key is refused with a wait
of at least `until - now` (the block is one more "limit" in the longest wait).

Memory is bounded: a log holds only grants younger than its period (so at most
`limit` of them), and a periodic sweep forgets keys whose grants have all left
their windows, expired slots and ended blocks.
"""

from __future__ import annotations

import itertools
import math
import secrets
from collections import deque
from collections.abc import Sequence

from qbo_core.dtos import RateLimit, SlotLease
from qbo_core.ports.clock import Clock
from qbo_core.ports.quota_store import Spend

__all__ = ["MemoryQuotaStore", "check_cost", "check_slot_request", "check_until"]

# The fewest `try_acquire` calls between two sweeps of idle keys. A sweep visits every
# key, so the next one also waits for as many calls as there are keys left: O(1)
# amortized, and at most twice as many keys held as are live.
_SWEEP_EVERY = 1024


class _WindowLog:
    """The grants of one key still inside one window length, oldest first."""

    __slots__ = ("entries", "period", "total")

    def __init__(self, period: float) -> None:
        self.period = period
        self.entries: deque[tuple[float, int]] = deque()
        self.total = 0

    def prune(self, now: float) -> None:
        """Drop the grants that are outside the window `(now - period, now]`."""
        start = now - self.period
        entries = self.entries
        while entries and entries[0][0] <= start:
            _, cost = entries.popleft()
            self.total -= cost

    def fits_after(self, limit: int, cost: int, now: float) -> float:
        """When (absolute time) `cost` first fits under `limit`; `now` if it fits already."""
        excess = self.total + cost - limit
        if excess <= 0:
            return now
        for timestamp, spent in self.entries:
            excess -= spent
            if excess <= 0:
                return timestamp + self.period
        raise AssertionError("cost larger than the limit was not refused")  # pragma: no cover

    def spent_between(self, start: float, end: float) -> int:
        """The cost granted in `(start, end]`."""
        return sum(spent for timestamp, spent in self.entries if start < timestamp <= end)


class MemoryQuotaStore:
    """The `QuotaStore` port in memory: exact sliding-window logs, atomic under asyncio.

    Windows, slot leases and blocks are timed on `clock.now().timestamp()` (the ports'
    time rule). Slot tokens are unique for the store's life (a random prefix and a
    counter).

    Shared by the tasks of one process only; processes sharing a realm's quota need a
    shared adapter.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._keys: dict[str, dict[float, _WindowLog]] = {}
        self._slots: dict[str, dict[str, float]] = {}  # key -> token -> expires_at
        self._blocks: dict[str, float] = {}  # key -> blocked until
        self._latest = float("-inf")
        self._calls_to_sweep = _SWEEP_EVERY
        # Slot tokens: a random prefix per store and a counter, unique for the store's
        # life, so a lease that ran out can never match a later one.
        self._token_prefix = secrets.token_hex(8) + "-"
        self._token_numbers = itertools.count(1)

    async def ping(self) -> None:
        return None  # the windows live in this process: nothing to reach

    async def try_acquire(self, key: str, limits: Sequence[RateLimit], *, cost: int = 1) -> float:
        check_cost(cost, limits)
        return self._acquire(((key, limits),), cost)

    async def try_acquire_all(self, spends: Sequence[Spend], *, cost: int = 1) -> float:
        for _, limits in spends:
            check_cost(cost, limits)
        return self._acquire(spends, cost)

    async def usage(self, key: str, limit: RateLimit) -> int:
        log = self._keys.get(key, {}).get(limit.period)
        if log is None:
            return 0
        now = self._clock.now().timestamp()
        return log.spent_between(now - limit.period, now)

    async def lease_slot(self, key: str, *, capacity: int, lease: float) -> SlotLease | None:
        check_slot_request(capacity, lease)
        now = self._clock.now().timestamp()
        held = self._slots.setdefault(key, {})
        if len(held) >= capacity:
            # Expired leases are dropped only when they would be counted against a lease:
            # below capacity, they cannot refuse anyone (the sweep drops them in time).
            for token in [token for token, expires_at in held.items() if expires_at <= now]:
                del held[token]
            if len(held) >= capacity:
                return None
        token = f"{self._token_prefix}{next(self._token_numbers)}"
        held[token] = expires_at = now + lease
        return SlotLease(key=key, token=token, expires_at=expires_at)

    async def release_slot(self, slot: SlotLease) -> bool:
        held = self._slots.get(slot.key)
        if held is None:
            return False
        expires_at = held.pop(slot.token, None)
        if not held:
            del self._slots[slot.key]
        return expires_at is not None and expires_at > self._clock.now().timestamp()

    async def block(self, key: str, until: float) -> None:
        check_until(until)
        self._blocks[key] = max(until, self._blocks.get(key, until))

    async def blocked_until(self, key: str) -> float | None:
        until = self._blocks.get(key)
        if until is None or until <= self._clock.now().timestamp():
            return None
        return until

    async def reset(self, key: str) -> None:
        self._keys.pop(key, None)
        self._slots.pop(key, None)
        self._blocks.pop(key, None)

    @property
    def entry_count(self) -> int:
        """How many grants are held in memory, over every key and window."""
        return sum(len(log.entries) for logs in self._keys.values() for log in logs.values())

    def __repr__(self) -> str:
        return f"MemoryQuotaStore(keys={len(self._keys)}, entries={self.entry_count})"

    def _acquire(self, spends: Sequence[Spend], cost: int) -> float:
        """`try_acquire_all` once the costs are checked: no `await`, so atomic under asyncio."""
        now = self._clock.now().timestamp()
        self._calls_to_sweep -= 1
        if self._calls_to_sweep <= 0:
            self._sweep()
            self._calls_to_sweep = max(_SWEEP_EVERY, len(self._keys))
        at = self._latest = max(self._latest, now)
        refused_until: float | None = None
        logs: list[_WindowLog] = []
        blocks = self._blocks
        for key, limits in spends:
            if blocks:
                until = blocks.get(key)
                if until is not None and until > now:
                    refused_until = until if refused_until is None else max(refused_until, until)
            if not limits:
                continue
            logs_by_period = self._keys.get(key)
            if logs_by_period is None:
                logs_by_period = self._keys[key] = {}
            for limit in limits:
                log = logs_by_period.get(limit.period)
                if log is None:
                    log = logs_by_period[limit.period] = _WindowLog(limit.period)
                log.prune(at)
                if log.total + cost > limit.limit:  # else it fits now: no walk of the log
                    fits_at = log.fits_after(limit.limit, cost, at)
                    if fits_at > at:
                        refused_until = (
                            fits_at if refused_until is None else max(refused_until, fits_at)
                        )
                if log not in logs:  # two limits with one period share a log
                    logs.append(log)
        if refused_until is not None:
            return refused_until - now
        entry = (at, cost)
        for log in logs:
            log.entries.append(entry)
            log.total += cost
        return 0.0

    def _sweep(self) -> None:
        """Forget the windows, slots and blocks that are over (as of the latest `now`)."""
        for key in list(self._keys):
            logs = self._keys[key]
            for period in list(logs):
                logs[period].prune(self._latest)
                if not logs[period].entries:
                    del logs[period]
            if not logs:
                del self._keys[key]
        for key in list(self._slots):
            held = self._slots[key]
            for token in [
                token for token, expires_at in held.items() if expires_at <= self._latest
            ]:
                del held[token]
            if not held:
                del self._slots[key]
        for key in [key for key, until in self._blocks.items() if until <= self._latest]:
            del self._blocks[key]


def check_cost(cost: int, limits: Sequence[RateLimit]) -> None:
    """Refuse a cost below 1 or above a limit (shared by the quota stores)."""
    if cost < 1:
        raise ValueError(f"cost must be at least 1, got {cost!r}")
    for limit in limits:
        if cost > limit.limit:
            raise ValueError(f"cost {cost} can never fit in {limit!r}")


def check_slot_request(capacity: int, lease: float) -> None:
    """Refuse a slot request that could never be right (shared by the quota stores)."""
    if capacity < 1:
        raise ValueError(f"capacity must be at least 1, got {capacity!r}")
    if not (lease > 0 and math.isfinite(lease)):
        raise ValueError(f"lease must be positive, finite seconds, got {lease!r}")


def check_until(until: float) -> None:
    """Refuse a block end that is not a finite time (shared by the quota stores)."""
    if not math.isfinite(until):
        raise ValueError(f"until must be finite epoch seconds, got {until!r}")
