"""The `Lock` port: named mutual exclusion with a lease."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import attrs


@attrs.frozen(kw_only=True)
class Lease:
    """Proof of holding the lock `name` until `expires_at`.

    `expires_at` is wall-clock epoch seconds on the adapter's `Clock`
    (`clock.now().timestamp()`), so that holders in several processes agree on it.

    `token` identifies this holder, so a holder whose lease ran out can never
    release or extend the lease of the next one.
    """

    name: str
    token: str = attrs.field(repr=False)
    expires_at: float


@runtime_checkable
class Lock(Protocol):
    """Mutual exclusion by name, across tasks (and, for shared adapters, processes).

    A holder keeps the lock for at most its lease; after that another caller may
    take it, so a crashed holder cannot block everyone. Used to make sure only one
    worker refreshes a realm's tokens at a time.

    Time rule (the same for `Cache`, `Lock`, `QuotaStore` and `StateStore`): every
    expiry, lease and window is wall-clock epoch seconds from the adapter's `Clock`
    (`clock.now().timestamp()`), never `monotonic()`, so that processes sharing a
    backend agree and a fake clock drives every contract test. A shared backend may
    add its native TTL only as garbage collection, never as what decides expiry.

    A lease is over at its `expires_at`. Only `wait`, a caller's own patience and
    no shared state, may be measured on `monotonic()`.
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

    async def acquire(self, name: str, *, lease: float, wait: float) -> Lease:
        """Take the lock `name` for `lease` seconds, waiting at most `wait` seconds.

        `wait=0` tries once. Raises `LockTimeoutError` when the lock is still held
        by someone else after `wait`. `lease` must be positive (`ValueError`).
        """
        ...

    async def release(self, lease: Lease) -> bool:
        """Give the lock back; return `False` if the lease had already run out or moved on.

        Releasing twice is harmless (the second call returns `False`).
        """
        ...

    async def extend(self, lease: Lease, *, lease_seconds: float) -> Lease:
        """Push the lease's end to `lease_seconds` from now and return the new lease.

        Raises `LockTimeoutError` if the lease was lost (expired and taken, or released).
        """
        ...
