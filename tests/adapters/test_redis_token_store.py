"""`RedisTokenStore` against the `TokenStore` contract on the real Redis."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.redis.token_store import RedisTokenStore
from qbo_adapters.testing.token_store import TokenStoreContract
from qbo_core.dtos import TokenSet
from qbo_core.errors import ConflictError, DecodeError, StoreUnavailableError
from qbo_core.ports.token_store import TokenStore
from tests.adapters.redis_server import redis_client, unreachable_client

pytestmark = pytest.mark.redis


class TestRedisTokenStore(TokenStoreContract):
    # Real round trips: the state machine runs fewer examples, each with the profile's steps.
    state_machine_examples = 50

    @contextlib.asynccontextmanager
    async def make_token_store(self, clock: FakeClock) -> AsyncIterator[TokenStore]:
        async with redis_client() as (client, prefix):
            yield RedisTokenStore(client, prefix=prefix)


def _tokens(label: str) -> TokenSet:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return TokenSet(
        access_token=f"access-secret-{label}",
        refresh_token=f"refresh-secret-{label}",
        access_token_expires_at=start + timedelta(hours=1),
        refresh_token_expires_at=start + timedelta(days=100),
    )


async def test_two_stores_on_one_server_share_versions() -> None:
    """Another adapter (another worker) on the same Redis and prefix sees the first's save."""
    async with redis_client() as (client, prefix):
        first = RedisTokenStore(client, prefix=prefix)
        second = RedisTokenStore(client, prefix=prefix)
        saved = await first.save("r1", _tokens("a"), expected_version=None)
        assert await second.load("r1") == saved
        with pytest.raises(ConflictError):
            await second.save("r1", _tokens("b"), expected_version=None)


async def test_prefixes_keep_stores_apart() -> None:
    """Stores with different prefixes on one server never see each other's tokens."""
    async with redis_client() as (client, prefix):
        await RedisTokenStore(client, prefix=prefix + "a:").save(
            "r1", _tokens("a"), expected_version=None
        )
        assert await RedisTokenStore(client, prefix=prefix + "b:").load("r1") is None


async def test_unreachable_redis_is_store_unavailable() -> None:
    """Every operation against an unreachable Redis raises `StoreUnavailableError`."""
    client = unreachable_client()
    try:
        store = RedisTokenStore(client)
        with pytest.raises(StoreUnavailableError):
            await store.load("r1")
        with pytest.raises(StoreUnavailableError):
            await store.save("r1", _tokens("a"), expected_version=None)
        with pytest.raises(StoreUnavailableError):
            await store.delete("r1")
    finally:
        await client.aclose()


async def test_conflict_and_repr_never_show_a_token() -> None:
    """A conflict names the realm but no token; the repr shows neither."""
    async with redis_client() as (client, prefix):
        store = RedisTokenStore(client, prefix=prefix)
        await store.save("9130350000000001", _tokens("kept"), expected_version=None)
        with pytest.raises(ConflictError) as caught:
            await store.save("9130350000000001", _tokens("lost"), expected_version=None)
        assert caught.value.realm_id == "9130350000000001"
        assert "secret" not in str(caught.value) + repr(caught.value) + repr(store)


async def test_unreadable_stored_tokens_are_a_decode_error_and_stay() -> None:
    """Tokens that are not JSON load as `DecodeError`, and the stored hash is left alone."""
    async with redis_client() as (client, prefix):
        store = RedisTokenStore(client, prefix=prefix)
        key = f"{prefix}tokens:r1"
        await client.hset(key, mapping={"version": "3", "tokens": "{not json"})
        with pytest.raises(DecodeError) as caught:
            await store.load("r1")
        assert caught.value.realm_id == "r1"
        assert await client.hget(key, "tokens") == b"{not json"


async def test_the_stored_hash_is_the_version_and_compact_json() -> None:
    """A save writes the hash `version` (decimal text) and `tokens` (the converter's
    JSON, compact): the format every process on the server reads."""
    async with redis_client() as (client, prefix):
        store = RedisTokenStore(client, prefix=prefix)
        await store.save("r1", _tokens("a"), expected_version=None)
        assert await client.hgetall(f"{prefix}tokens:r1") == {
            b"version": b"1",
            b"tokens": (
                b'{"access_token":"access-secret-a","refresh_token":"refresh-secret-a",'
                b'"access_token_expires_at":"2026-01-01T01:00:00+00:00",'
                b'"refresh_token_expires_at":"2026-04-11T00:00:00+00:00",'
                b'"refresh_token_hard_expires_at":null,"token_type":"bearer","scope":null,'
                b'"realm_id":null,"reauthorization_required_at":null,"revoked_at":null}'
            ),
        }


async def test_a_hash_without_its_tokens_loads_as_absent() -> None:
    """A hash holding a version but no `tokens` field (not written by this store) loads
    as `None`, like a realm never saved."""
    async with redis_client() as (client, prefix):
        store = RedisTokenStore(client, prefix=prefix)
        await client.hset(f"{prefix}tokens:r1", mapping={"version": "2"})
        assert await store.load("r1") is None


async def test_conflicts_say_which_operation_and_versions() -> None:
    """A refused save or guarded delete raises `ConflictError` whose message names the
    operation, the version expected and the one held, and whose realm is the realm."""
    async with redis_client() as (client, prefix):
        store = RedisTokenStore(client, prefix=prefix)
        await store.save("r1", _tokens("a"), expected_version=None)
        with pytest.raises(ConflictError) as caught:
            await store.save("r1", _tokens("b"), expected_version=None)
        assert caught.value.message == "token save expected version None, but the store holds 1"
        with pytest.raises(ConflictError) as caught:
            await store.delete("r1", expected_version=7)
        assert caught.value.message == "token delete expected version 7, but the store holds 1"
        assert caught.value.realm_id == "r1"
        assert (caught.value.expected, caught.value.actual) == (7, 1)


async def test_unreadable_tokens_say_so_and_that_nothing_changed() -> None:
    """The `DecodeError` for stored tokens that are not JSON says what is wrong and that
    the store was left as it was."""
    async with redis_client() as (client, prefix):
        store = RedisTokenStore(client, prefix=prefix)
        await client.hset(f"{prefix}tokens:r1", mapping={"version": "1", "tokens": "]"})
        with pytest.raises(DecodeError) as caught:
            await store.load("r1")
        assert caught.value.message == (
            "the tokens stored in Redis are not JSON; nothing was changed"
        )
