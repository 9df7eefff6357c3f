"""`RedisQuotaStore` against the `QuotaStore` contract on the real Redis, plus its own."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.redis.quota_store import RedisQuotaStore
from qbo_adapters.testing.quota_store import QuotaStoreContract
from qbo_core.dtos import RateLimit
from qbo_core.ports.quota_store import QuotaStore
from tests.adapters.redis_server import redis_client

pytestmark = pytest.mark.redis

LIMIT = RateLimit(limit=10, period=60)


class TestRedisQuotaStore(QuotaStoreContract):
    # Real round trips: the state machine runs fewer examples, each with the profile's steps.
    state_machine_examples = 50

    @contextlib.asynccontextmanager
    async def make_quota_store(self, clock: FakeClock) -> AsyncIterator[QuotaStore]:
        async with redis_client() as (client, prefix):
            yield RedisQuotaStore(client, clock, prefix=prefix)
