"""The `QuotaStore` port: atomic sliding-window rate accounting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from qbo_core.dtos import RateLimit


@runtime_checkable
class QuotaStore(Protocol):
    """Counts what each key (e.g. a realm) has spent against several sliding windows.

    Shared adapters let many processes draw on one realm's QBO quota without any
    of them overrunning it. Times are wall-clock seconds (`Clock.now().timestamp()`),
    passed in by the caller so that every process measures with the same clock.
    """

    async def try_acquire(
        self, key: str, limits: Sequence[RateLimit], *, now: float, cost: int = 1
    ) -> float:
        """Spend `cost` against every limit of `key` at time `now`, all or nothing.

        Returns `0.0` when the cost fit inside every limit and was recorded. Otherwise
        records nothing and returns the seconds after `now` when the cost would first
        fit (the longest wait over the limits). Atomic across all callers.
        A `cost` larger than some limit raises `ValueError` (it could never fit).
        """
        ...

    async def usage(self, key: str, limit: RateLimit, *, now: float) -> int:
        """The cost recorded for `key` in the window `(now - limit.period, now]`."""
        ...

    async def reset(self, key: str) -> None:
        """Forget everything recorded for `key`."""
        ...
