"""The `QuotaStore` port: atomic sliding-window rate accounting, leased slots, hold-backs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from qbo_core.dtos import RateLimit, SlotLease

#: One key's share of an all-or-nothing spend: the key and the limits it is held to.
Spend = tuple[str, Sequence[RateLimit]]


@runtime_checkable
class QuotaStore(Protocol):
    """Counts what each key (e.g. a realm) has spent, leases its concurrency slots, holds it back.

    Shared adapters let many processes draw on one realm's QBO quota without any
    of them overrunning it. "Now" is always the adapter's own `Clock`: callers
    never pass a time.

    Three kinds of state per key, each independent of the others' keys:

    - sliding windows (`try_acquire`, `try_acquire_all`, `usage`): what was spent in
      the last `period` seconds, for every period a caller names;
    - concurrency slots (`lease_slot`, `release_slot`): at most `capacity` live
      leases, each ending by itself at its `expires_at`, so a crashed holder frees
      its slot;
    - a hold-back (`block`, `blocked_until`): until a given time, nothing is granted
      on the key (after QBO answered 429, every process waits).

    Time rule (the same for `Cache`, `Lock`, `QuotaStore` and `StateStore`): every
    expiry, lease and window is wall-clock epoch seconds from the adapter's `Clock`
    (`clock.now().timestamp()`), never `monotonic()`, so that processes sharing a
    backend agree and a fake clock drives every contract test. A shared backend may
    add its native TTL only as garbage collection, never as what decides expiry.
    """

    async def ping(self) -> None:
        """Return once the backend has answered one round trip; otherwise raise.

        Raises `StoreUnavailableError` when the backend cannot be reached or fails to
        answer (the same translation as every other method). Cheap and free of side
        effects: nothing is read or written beyond what the round trip needs, so a
        readiness probe may call it as often as it likes. An in-process adapter,
        having no backend to reach, returns at once.
        """
        ...

    async def try_acquire(self, key: str, limits: Sequence[RateLimit], *, cost: int = 1) -> float:
        """Spend `cost` against every limit of `key` now, all or nothing.

        Returns `0.0` when the cost fit inside every limit and was recorded. Otherwise
        records nothing and returns the seconds from now until the cost would first
        fit (the longest wait over the limits). While `key` is blocked (`block`),
        nothing is recorded and the wait is at least until the block ends.
        Atomic across all callers.
        A `cost` larger than some limit raises `ValueError` (it could never fit).
        """
        ...

    async def try_acquire_all(self, spends: Sequence[Spend], *, cost: int = 1) -> float:
        """`try_acquire` over several keys at once: `cost` on every key's limits, or nowhere.

        Returns `0.0` when the cost fit in every limit of every key and was recorded
        on each; otherwise records nothing and returns the longest wait over every
        limit and every block of the keys named. Atomic across all callers. Used
        where one request counts against several budgets (a batch request spends
        on the realm's request windows and on its batch windows together).
        A `cost` larger than some limit raises `ValueError`.
        """
        ...

    async def usage(self, key: str, limit: RateLimit) -> int:
        """The cost recorded for `key` in the window `(now - limit.period, now]`."""
        ...

    async def lease_slot(self, key: str, *, capacity: int, lease: float) -> SlotLease | None:
        """Take one of `key`'s `capacity` concurrency slots for `lease` seconds.

        Returns the lease (a fresh random token, `expires_at = now + lease`), or
        `None`, taking nothing, when `capacity` live leases are held already. A lease
        is live while `now < expires_at`; after that its slot is free again, whether
        or not it was released. Atomic across all callers. `capacity` below 1 or a
        `lease` that is not positive and finite raises `ValueError`.
        """
        ...

    async def release_slot(self, slot: SlotLease) -> bool:
        """Give a slot back. `True` when this live lease was released.

        `False` when it had expired or is not held (released already, or forgotten
        by `reset`): a late holder can never release a slot that went to someone
        else, since the token must match. Idempotent.
        """
        ...

    async def block(self, key: str, until: float) -> None:
        """Hold `key` back until `until` (epoch seconds on the store's clock).

        Only ever extends: a `block` ending earlier than the one in force changes
        nothing. While blocked, `try_acquire` and `try_acquire_all` naming `key`
        record nothing and return at least `until - now`.
        """
        ...

    async def blocked_until(self, key: str) -> float | None:
        """When the block on `key` ends (epoch seconds), or `None` when it is not blocked now."""
        ...

    async def reset(self, key: str) -> None:
        """Forget everything recorded for `key`: its windows, its slots and its block."""
        ...
