"""`RedisStateStore` against the `StateStore` contract on the real Redis."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.redis.state_store import RedisStateStore
from qbo_adapters.testing.state_store import StateStoreContract
from qbo_core.ports.state_store import StateStore
from tests.adapters.redis_server import redis_client

pytestmark = pytest.mark.redis


class TestRedisStateStore(StateStoreContract):
    # Real round trips: the state machine runs fewer examples, each with the profile's steps.
    state_machine_examples = 50

    @contextlib.asynccontextmanager
    async def make_state_store(self, clock: FakeClock) -> AsyncIterator[StateStore]:
        async with redis_client() as (client, prefix):
            yield RedisStateStore(client, clock, prefix=prefix)


async def test_a_value_put_by_one_worker_is_taken_by_another() -> None:
    """Two adapters on one Redis and prefix: what one puts, the other takes, once."""
    clock = FakeClock()
    async with redis_client() as (client, prefix):
        first = RedisStateStore(client, clock, prefix=prefix)
        second = RedisStateStore(client, clock, prefix=prefix)
        await first.put("state", b"verifier", ttl=600)
        assert await second.take("state") == b"verifier"
        assert await first.take("state") is None


async def test_one_of_several_clients_racing_to_claim_a_key_wins() -> None:
    """Claimers on two connections race for one key: exactly one wins, and the native TTL
    of the marker is collection only (it outlives the claim by the grace)."""
    clock = FakeClock(auto_advance=False)
    async with redis_client() as (first_client, prefix), redis_client() as (second_client, _):
        stores = [
            RedisStateStore(first_client, clock, prefix=prefix, gc_grace=60),
            RedisStateStore(second_client, clock, prefix=prefix, gc_grace=60),
        ]
        outcomes = await asyncio.gather(
            *(stores[index % 2].claim("webhook:event", ttl=10) for index in range(12))
        )
        assert outcomes.count(True) == 1
        assert 60_000 < await first_client.pttl(f"{prefix}state:webhook%3Aevent") <= 70_000


async def test_native_ttl_outlives_the_value_by_the_grace() -> None:
    """Redis's own TTL is collection only: it ends `gc_grace` after the wall-clock expiry."""
    async with redis_client() as (client, prefix):
        store = RedisStateStore(client, FakeClock(), prefix=prefix, gc_grace=60)
        await store.put("state", b"v", ttl=10)
        assert 60_000 < await client.pttl(f"{prefix}state:state") <= 70_000


@pytest.mark.parametrize("ttl", [float("inf"), float("nan")])
async def test_non_finite_ttl_is_refused(ttl: float) -> None:
    """An infinite or NaN ttl raises `ValueError` before anything is sent."""
    async with redis_client() as (client, prefix):
        store = RedisStateStore(client, FakeClock(), prefix=prefix)
        with pytest.raises(ValueError, match="ttl"):
            await store.put("state", b"v", ttl=ttl)


async def test_keys_are_percent_encoded_slashes_and_lone_surrogates_included() -> None:
    """A key becomes one percent-encoded segment: `/`, `:` and `*` escaped, and a lone
    surrogate kept as its UTF-8 bytes (surrogatepass) rather than refused."""
    async with redis_client() as (client, prefix):
        store = RedisStateStore(client, FakeClock(), prefix=prefix)
        await store.put("a/b:*\ud800", b"v", ttl=10)
        assert await client.exists(f"{prefix}state:a%2Fb%3A%2A%ED%A0%80") == 1
        assert await store.take("a/b:*\ud800") == b"v"
