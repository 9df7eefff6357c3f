"""The `QuotaStore` port: atomic sliding-window rate accounting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from qbo_core.dtos import RateLimit


@runtime_checkable
class QuotaStore(Protocol):
    """Counts what each key (e.g. a realm) has spent against several sliding windows.

    Shared adapters let many processes draw on one realm's QBO quota without any
    of them overrunning it. "Now" is always the adapter's own `Clock`: callers
    never pass a time.

    Time rule (the same for `Cache`, `Lock`, `QuotaStore` and `StateStore`): every
    expiry, lease and window is wall-clock epoch seconds from the adapter's `Clock`
    (`clock.now().timestamp()`), never `monotonic()`, so that processes sharing a
    backend agree and a fake clock drives every contract test. A shared backend may
    add its native TTL only as garbage collection, never as what decides expiry.
    """

    async def try_acquire(self, key: str, limits: Sequence[RateLimit], *, cost: int = 1) -> float:
        """Spend `cost` against every limit of `key` now, all or nothing.

        Returns `0.0` when the cost fit inside every limit and was recorded. Otherwise
        records nothing and returns the seconds from now until the cost would first
        fit (the longest wait over the limits). Atomic across all callers.
        A `cost` larger than some limit raises `ValueError` (it could never fit).
        """
        ...

    async def usage(self, key: str, limit: RateLimit) -> int:
        """The cost recorded for `key` in the window `(now - limit.period, now]`."""
        ...

    async def reset(self, key: str) -> None:
        """Forget everything recorded for `key`."""
        ...
