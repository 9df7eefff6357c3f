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

Memory is bounded: a log holds only grants younger than its period (so at most
`limit` of them), and a periodic sweep forgets keys whose grants have all left
their windows.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

from qbo_core.dtos import RateLimit
from qbo_core.ports.clock import Clock

__all__ = ["MemoryQuotaStore"]

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

    Windows are timed on `clock.now().timestamp()` (the ports' time rule).

    Shared by the tasks of one process only; processes sharing a realm's quota need a
    shared adapter.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._keys: dict[str, dict[float, _WindowLog]] = {}
        self._latest = float("-inf")
        self._calls_to_sweep = _SWEEP_EVERY

    async def try_acquire(self, key: str, limits: Sequence[RateLimit], *, cost: int = 1) -> float:
        _check_cost(cost, limits)
        now = self._clock.now().timestamp()
        self._calls_to_sweep -= 1
        if self._calls_to_sweep <= 0:
            self._sweep()
            self._calls_to_sweep = max(_SWEEP_EVERY, len(self._keys))
        at = self._latest = max(self._latest, now)
        if not limits:
            return 0.0
        logs_by_period = self._keys.setdefault(key, {})
        logs = [_log(logs_by_period, limit.period) for limit in limits]
        for log in logs:
            log.prune(at)
        fits_at = max(
            log.fits_after(limit.limit, cost, at) for log, limit in zip(logs, limits, strict=True)
        )
        if fits_at > at:
            return fits_at - now
        for log in _distinct(logs):
            log.entries.append((at, cost))
            log.total += cost
        return 0.0

    async def usage(self, key: str, limit: RateLimit) -> int:
        log = self._keys.get(key, {}).get(limit.period)
        if log is None:
            return 0
        now = self._clock.now().timestamp()
        return log.spent_between(now - limit.period, now)

    async def reset(self, key: str) -> None:
        self._keys.pop(key, None)

    @property
    def entry_count(self) -> int:
        """How many grants are held in memory, over every key and window."""
        return sum(len(log.entries) for logs in self._keys.values() for log in logs.values())

    def __repr__(self) -> str:
        return f"MemoryQuotaStore(keys={len(self._keys)}, entries={self.entry_count})"

    def _sweep(self) -> None:
        """Forget the windows, and keys, whose grants have all left (as of the latest `now`)."""
        for key in list(self._keys):
            logs = self._keys[key]
            for period in list(logs):
                logs[period].prune(self._latest)
                if not logs[period].entries:
                    del logs[period]
            if not logs:
                del self._keys[key]


def _log(logs: dict[float, _WindowLog], period: float) -> _WindowLog:
    log = logs.get(period)
    if log is None:
        log = logs[period] = _WindowLog(period)
    return log


def _distinct(logs: Iterable[_WindowLog]) -> list[_WindowLog]:
    """`logs` without repeats (two limits with one period share a log)."""
    seen: dict[int, _WindowLog] = {}
    for log in logs:
        seen.setdefault(id(log), log)
    return list(seen.values())


def _check_cost(cost: int, limits: Sequence[RateLimit]) -> None:
    if cost < 1:
        raise ValueError(f"cost must be at least 1, got {cost!r}")
    for limit in limits:
        if cost > limit.limit:
            raise ValueError(f"cost {cost} can never fit in {limit!r}")
