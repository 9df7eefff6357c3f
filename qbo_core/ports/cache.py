"""The `Cache` port: bytes by key, with a TTL, partitioned by realm."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Cache(Protocol):
    """A best-effort cache of byte strings, partitioned by realm.

    Keys live inside a realm, so one realm's data can be dropped at once (after a
    write, a webhook or a disconnect) without touching the others. A cache may
    forget any entry at any time (eviction); it must never return an entry after
    its TTL has passed, nor one from before the realm's last invalidation.

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

    async def get(self, realm_id: str, key: str) -> bytes | None:
        """The bytes stored under (`realm_id`, `key`), or `None` if absent or expired."""
        ...

    async def set(self, realm_id: str, key: str, value: bytes, *, ttl: float) -> None:
        """Store `value` under (`realm_id`, `key`) for `ttl` seconds, replacing any entry.

        The entry expires at `clock.now().timestamp() + ttl`: it is absent from that
        instant on. `ttl` must be positive; otherwise `ValueError`.
        """
        ...

    async def delete(self, realm_id: str, key: str) -> bool:
        """Remove one entry; return whether a live entry was removed."""
        ...

    async def invalidate_realm(self, realm_id: str) -> None:
        """Make every entry of `realm_id` absent; other realms are untouched.

        Cheap: adapters may implement it with a generation counter rather than
        deleting keys one by one.
        """
        ...
