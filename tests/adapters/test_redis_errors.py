"""Every operation of every Redis adapter meets an unreachable server with a
`StoreUnavailableError` whose message names the operation that failed, and every adapter
refuses a client that decodes replies to text.

(The message is what an operator reads in a log: which call could not reach Redis.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
import redis.asyncio
import redis.exceptions

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.redis.cache import RedisCache
from qbo_adapters.redis.lock import RedisLock
from qbo_adapters.redis.quota_store import RedisQuotaStore
from qbo_adapters.redis.state_store import RedisStateStore
from qbo_adapters.redis.token_store import RedisTokenStore
from qbo_core.dtos import RateLimit, SlotLease, TokenSet
from qbo_core.errors import ConfigurationError, StoreUnavailableError
from qbo_core.ports.lock import Lease
from tests.adapters.redis_server import unreachable_client

LIMIT = RateLimit(limit=5, period=10)
LEASE = Lease(name="realm-1", token="0" * 32, expires_at=1e9)
SLOT = SlotLease(key="realm-1", token="0" * 32, expires_at=1e9)
TOKENS = TokenSet(
    access_token="access",
    refresh_token="refresh",
    access_token_expires_at=datetime(2026, 1, 1, tzinfo=UTC),
    refresh_token_expires_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=100),
)

Call = Callable[[redis.asyncio.Redis], Awaitable[object]]


def _token_store(client: redis.asyncio.Redis) -> RedisTokenStore:
    return RedisTokenStore(client)


def _lock(client: redis.asyncio.Redis) -> RedisLock:
    return RedisLock(client, FakeClock())


def _quota(client: redis.asyncio.Redis) -> RedisQuotaStore:
    return RedisQuotaStore(client, FakeClock())


def _cache(client: redis.asyncio.Redis) -> RedisCache:
    return RedisCache(client, FakeClock())


def _state(client: redis.asyncio.Redis) -> RedisStateStore:
    return RedisStateStore(client, FakeClock())


#: (the operation named in the message, a call of it on an adapter built on the client)
OPERATIONS: dict[str, tuple[str, Call]] = {
    "token_store.ping": ("token store ping", lambda c: _token_store(c).ping()),
    "token_store.load": ("token load", lambda c: _token_store(c).load("r1")),
    "token_store.save": (
        "token save",
        lambda c: _token_store(c).save("r1", TOKENS, expected_version=None),
    ),
    "token_store.delete": ("token delete", lambda c: _token_store(c).delete("r1")),
    "lock.ping": ("lock ping", lambda c: _lock(c).ping()),
    "lock.acquire": ("lock acquire", lambda c: _lock(c).acquire("n", lease=10, wait=0)),
    "lock.release": ("lock release", lambda c: _lock(c).release(LEASE)),
    "lock.extend": ("lock extend", lambda c: _lock(c).extend(LEASE, lease_seconds=10)),
    "quota_store.ping": ("quota ping", lambda c: _quota(c).ping()),
    "quota_store.try_acquire": ("quota try_acquire", lambda c: _quota(c).try_acquire("k", [LIMIT])),
    "quota_store.try_acquire_all": (
        "quota try_acquire",
        lambda c: _quota(c).try_acquire_all([("k", [LIMIT]), ("j", [LIMIT])]),
    ),
    "quota_store.usage": ("quota usage", lambda c: _quota(c).usage("k", LIMIT)),
    "quota_store.lease_slot": (
        "quota lease_slot",
        lambda c: _quota(c).lease_slot("k", capacity=1, lease=10),
    ),
    "quota_store.release_slot": ("quota release_slot", lambda c: _quota(c).release_slot(SLOT)),
    "quota_store.block": ("quota block", lambda c: _quota(c).block("k", 2e9)),
    "quota_store.blocked_until": ("quota blocked_until", lambda c: _quota(c).blocked_until("k")),
    "quota_store.reset": ("quota reset", lambda c: _quota(c).reset("k")),
    "cache.ping": ("cache ping", lambda c: _cache(c).ping()),
    "cache.get": ("cache get", lambda c: _cache(c).get("r1", "k")),
    "cache.set": ("cache set", lambda c: _cache(c).set("r1", "k", b"v", ttl=10)),
    "cache.delete": ("cache delete", lambda c: _cache(c).delete("r1", "k")),
    "cache.invalidate_realm": (
        "cache invalidate_realm",
        lambda c: _cache(c).invalidate_realm("r1"),
    ),
    "state_store.ping": ("state ping", lambda c: _state(c).ping()),
    "state_store.put": ("state put", lambda c: _state(c).put("s", b"v", ttl=10)),
    "state_store.claim": ("state claim", lambda c: _state(c).claim("s", ttl=10)),
    "state_store.take": ("state take", lambda c: _state(c).take("s")),
}


@pytest.mark.parametrize(("operation", "call"), OPERATIONS.values(), ids=OPERATIONS.keys())
async def test_an_unreachable_server_is_store_unavailable_naming_the_operation(
    operation: str, call: Call
) -> None:
    """Each operation against a Redis nobody listens on raises `StoreUnavailableError`
    (backend `redis`, retryable, redis-py's error chained) saying which operation failed."""
    client = unreachable_client()
    try:
        with pytest.raises(StoreUnavailableError) as caught:
            await call(client)
    finally:
        await client.aclose()
    assert caught.value.message == f"could not reach Redis ({operation})"
    assert caught.value.backend == "redis"
    assert caught.value.detail == "ConnectionError"
    assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)


ADAPTERS: dict[str, Callable[[redis.asyncio.Redis], object]] = {
    "token_store": _token_store,
    "lock": _lock,
    "quota_store": _quota,
    "cache": _cache,
    "state_store": _state,
}


@pytest.mark.parametrize("make", ADAPTERS.values(), ids=ADAPTERS.keys())
async def test_a_client_decoding_to_text_is_refused(
    make: Callable[[redis.asyncio.Redis], object],
) -> None:
    """Every Redis adapter refuses a client built with decode_responses=True (its values
    are bytes): a `ConfigurationError` naming the setting."""
    client = redis.asyncio.Redis(decode_responses=True)
    try:
        with pytest.raises(ConfigurationError) as caught:
            make(client)
        assert caught.value.field == "decode_responses"
    finally:
        await client.aclose()


async def test_the_text_client_refusal_says_how_to_build_the_client() -> None:
    """The refusal of a text-decoding client tells the caller what to build instead."""
    client = redis.asyncio.Redis(decode_responses=True)
    try:
        with pytest.raises(ConfigurationError) as caught:
            RedisTokenStore(client)
        assert caught.value.message == (
            "the Redis client must return bytes: build it with decode_responses=False"
        )
    finally:
        await client.aclose()


class _ScriptRecorder:
    """A client double with no connection pool: records each script call's keys and args."""

    def __init__(self) -> None:
        self.calls: list[tuple[Sequence[str], Sequence[object]]] = []

    def register_script(self, _script: str) -> Callable[..., Awaitable[int]]:
        async def run(*, keys: Sequence[str] = (), args: Sequence[object]) -> int:
            self.calls.append((keys, args))
            return 1

        return run


class _PoolWithoutKwargs:
    """A client double whose connection pool has no `connection_kwargs`."""

    connection_pool = object()

    def register_script(self, _script: str) -> object:
        return None


def test_clients_without_a_pool_or_its_settings_are_accepted() -> None:
    """Only a client known to decode replies is refused: one without a connection pool
    (a wrapper, a cluster client), or whose pool shows no settings, is taken as is."""
    RedisTokenStore(cast(redis.asyncio.Redis, _ScriptRecorder()))
    RedisTokenStore(cast(redis.asyncio.Redis, _PoolWithoutKwargs()))


async def test_a_key_with_no_time_left_and_no_grace_lives_one_millisecond() -> None:
    """The native TTL is never below 1 ms (Redis refuses 0): a block already over, with
    `gc_grace=0`, is written with 1 ms to live."""
    client = _ScriptRecorder()
    clock = FakeClock(auto_advance=False)
    store = RedisQuotaStore(cast(redis.asyncio.Redis, client), clock, gc_grace=0)
    await store.block("realm", clock.now().timestamp() - 10)
    [(_, args)] = client.calls
    assert args[1] == 1
