"""`MemoryStateStore`: the `StateStore` port in one process's memory, swept as it goes."""

from __future__ import annotations

import heapq
import itertools
import math

import attrs

from qbo_core.ports.clock import Clock

__all__ = ["MemoryStateStore"]


@attrs.frozen
class _Entry:
    value: bytes
    expires_at: float  # wall-clock epoch seconds, `clock.now().timestamp()`
    serial: int  # tells this entry from a later one under the same key


class MemoryStateStore:
    """Single-use values with a TTL, in a dict, timed on `clock.now().timestamp()`.

    A value put at wall time `t` with `ttl` can be taken while the clock reads less
    than `t + ttl` (the ports' time rule). `take` removes and returns without awaiting
    anything, so among the tasks of one event loop exactly one taker gets a value;
    `claim` likewise checks and stores with no suspension point between, so exactly
    one claimer wins.

    Memory is bounded: every `put` first drops the values that have expired (an
    expiry heap makes that O(log n) each), and at most `max_entries` live values
    are held; a `put` (or `claim`) beyond that drops the value nearest to its expiry,
    so a store kept full may forget a claim before its TTL. Values are
    copied into immutable `bytes` on the way in.

    Not shared between processes: a host whose OAuth callback may reach another
    process needs a shared adapter.
    """

    def __init__(self, clock: Clock, *, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries!r}")
        self._clock = clock
        self._max_entries = max_entries
        self._entries: dict[str, _Entry] = {}
        self._expiries: list[tuple[float, int, str]] = []  # (expires_at, serial, key)
        self._serials = itertools.count()

    def __len__(self) -> int:
        """How many values are held, counting expired ones not yet swept."""
        return len(self._entries)

    # -- StateStore -------------------------------------------------------------

    async def ping(self) -> None:
        return None  # the values live in this process: nothing to reach

    async def put(self, key: str, value: bytes, *, ttl: float) -> None:
        if not (ttl > 0 and math.isfinite(ttl)):
            raise ValueError(f"ttl must be a positive, finite number of seconds, got {ttl!r}")
        self._store(key, value, ttl)

    async def claim(self, key: str, *, ttl: float) -> bool:
        if not (ttl > 0 and math.isfinite(ttl)):
            raise ValueError(f"ttl must be a positive, finite number of seconds, got {ttl!r}")
        held = self._entries.get(key)
        if held is not None and held.expires_at > self._clock.now().timestamp():
            return False
        self._store(key, b"", ttl)
        return True

    async def take(self, key: str) -> bytes | None:
        entry = self._entries.pop(key, None)
        if entry is None or entry.expires_at <= self._clock.now().timestamp():
            return None
        return entry.value

    def __repr__(self) -> str:
        return f"MemoryStateStore(entries={len(self._entries)}, max_entries={self._max_entries})"

    # -- internals ----------------------------------------------------------------

    def _store(self, key: str, value: bytes, ttl: float) -> None:
        """Hold `value` under `key` until `now + ttl`, sweeping and bounding first."""
        now = self._clock.now().timestamp()
        self._sweep(now)
        entry = _Entry(bytes(value), now + ttl, next(self._serials))
        self._entries[key] = entry
        heapq.heappush(self._expiries, (entry.expires_at, entry.serial, key))
        while len(self._entries) > self._max_entries:
            # the value nearest its expiry, or a slot left by a taken or replaced one
            # (every live value has a slot, so the heap holds one while this loops)
            _, serial, key = heapq.heappop(self._expiries)
            self._forget(key, serial)
        if len(self._expiries) > 2 * len(self._entries) + 64:
            self._rebuild_heap()

    def _sweep(self, now: float) -> None:
        """Drop every value expired at `now`, and heap slots of values already gone."""
        while self._expiries and self._expiries[0][0] <= now:
            _, serial, key = heapq.heappop(self._expiries)
            self._forget(key, serial)

    def _forget(self, key: str, serial: int) -> None:
        """Remove `key` if it still holds the entry `serial` (not taken or replaced since)."""
        entry = self._entries.get(key)
        if entry is not None and entry.serial == serial:
            del self._entries[key]

    def _rebuild_heap(self) -> None:
        """Keep the heap in proportion to the live entries (taken ones leave slots behind)."""
        self._expiries = [
            (entry.expires_at, entry.serial, key) for key, entry in self._entries.items()
        ]
        heapq.heapify(self._expiries)
