"""`MemoryCache`: the `Cache` port in one process's memory, bounded and expiring."""

from __future__ import annotations

from collections import OrderedDict

import attrs

from qbo_core.ports.clock import Clock

__all__ = ["MemoryCache"]


@attrs.frozen
class _Entry:
    value: bytes
    expires_at: float  # wall-clock epoch seconds, `clock.now().timestamp()`


class MemoryCache:
    """A bounded LRU cache of byte strings with a TTL per entry, partitioned by realm.

    Expiry follows the ports' time rule, on `clock.now().timestamp()`: an entry set
    at wall time `t` with `ttl` is returned while the clock reads less than `t + ttl`,
    and never from then on.

    Eviction policy: the cache holds at most `max_entries` entries. Reading an
    entry (`get`) or writing it (`set`) makes it the most recently used; when a
    `set` adds an entry beyond the bound, the least recently used entries are
    dropped until the bound holds again. Expired entries are not swept in the
    background: one is dropped when it is next read, deleted or invalidated, when
    it reaches the least-recently-used end, or by `purge_expired`.

    `invalidate_realm` costs time in proportion to that realm's entries only (a
    per-realm index of keys), and frees their memory at once.

    Values are copied into immutable `bytes` on the way in, so a caller mutating
    the buffer it passed never changes what is cached. Not thread-safe; safe for
    any number of tasks on one event loop (no method awaits anything).
    """

    def __init__(self, clock: Clock, *, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries!r}")
        self._clock = clock
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._realm_keys: dict[str, set[str]] = {}

    @property
    def max_entries(self) -> int:
        """The most entries the cache holds at once."""
        return self._max_entries

    def __len__(self) -> int:
        """How many entries are held, counting expired ones not yet dropped."""
        return len(self._entries)

    # -- Cache -----------------------------------------------------------------

    async def ping(self) -> None:
        return None  # the entries live in this process: nothing to reach

    async def get(self, realm_id: str, key: str) -> bytes | None:
        slot = (realm_id, key)
        entry = self._entries.get(slot)
        if entry is None:
            return None
        if entry.expires_at <= self._now():
            self._remove(slot)
            return None
        self._entries.move_to_end(slot)
        return entry.value

    async def set(self, realm_id: str, key: str, value: bytes, *, ttl: float) -> None:
        if not ttl > 0:
            raise ValueError(f"ttl must be positive seconds, got {ttl!r}")
        slot = (realm_id, key)
        self._entries[slot] = _Entry(bytes(value), self._now() + ttl)
        self._entries.move_to_end(slot)
        self._realm_keys.setdefault(realm_id, set()).add(key)
        while len(self._entries) > self._max_entries:
            oldest = next(iter(self._entries))
            self._remove(oldest)

    async def delete(self, realm_id: str, key: str) -> bool:
        slot = (realm_id, key)
        entry = self._entries.get(slot)
        if entry is None:
            return False
        self._remove(slot)
        return entry.expires_at > self._now()

    async def invalidate_realm(self, realm_id: str) -> None:
        for key in self._realm_keys.pop(realm_id, set()):
            del self._entries[(realm_id, key)]

    # -- maintenance -------------------------------------------------------------

    def purge_expired(self) -> int:
        """Drop every expired entry now; return how many were dropped. O(entries)."""
        now = self._now()
        expired = [slot for slot, entry in self._entries.items() if entry.expires_at <= now]
        for slot in expired:
            self._remove(slot)
        return len(expired)

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _remove(self, slot: tuple[str, str]) -> None:
        realm_id, key = slot
        del self._entries[slot]
        keys = self._realm_keys[realm_id]
        keys.discard(key)
        if not keys:
            del self._realm_keys[realm_id]

    def __repr__(self) -> str:
        return f"MemoryCache(entries={len(self._entries)}, max_entries={self._max_entries})"
