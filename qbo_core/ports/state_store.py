"""The `StateStore` port: short-lived values that can be taken once."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class StateStore(Protocol):
    """Short-lived, single-use byte strings by key, shared by every process of a host.

    For values that exist before any realm does, such as the OAuth `state` of an
    authorization in progress: put when the authorization URL is made, taken once
    when the user comes back, whichever process serves the callback. A value can
    be taken at most once, so a replayed callback finds nothing. `claim` is the
    other half of single use: the first of any number of callers to claim a key
    wins, so a webhook event delivered twice (or to two workers) is handled once.

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

    async def put(self, key: str, value: bytes, *, ttl: float) -> None:
        """Store `value` under `key` for `ttl` seconds, replacing any value held there.

        The value expires at `clock.now().timestamp() + ttl`: from that instant it
        can no longer be taken. A replaced value is gone, with its expiry. `ttl`
        must be positive and finite; otherwise `ValueError`, and nothing is stored.
        """
        ...

    async def take(self, key: str) -> bytes | None:
        """Remove and return the value under `key`, or `None` if absent, taken or expired.

        Atomic across all callers, in any process: of several concurrent takers of
        one value, exactly one gets it and the others get `None`. Never raises for
        an unknown key.
        """
        ...

    async def claim(self, key: str, *, ttl: float) -> bool:
        """Store a marker under `key` for `ttl` seconds unless a live value is there already.

        Returns `True` when the marker was stored, `False` while a live value (claimed
        or put) is held under `key`; nothing is changed then. Atomic across all
        callers, in any process: of several concurrent claimers of a free key, exactly
        one gets `True`. An expired value does not count: once the marker (or a put
        value) has expired, the key can be claimed again. The marker is the empty byte
        string, so `take` of a claimed key returns `b""` and frees the key early.
        `ttl` must be positive and finite; otherwise `ValueError`, and nothing is
        stored.
        """
        ...
