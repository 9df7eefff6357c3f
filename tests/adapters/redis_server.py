"""The test Redis: database 7 of 127.0.0.1:6379 (or `$QBO_TEST_REDIS_DB`), a random key prefix
per adapter, cleaned after."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

#: The database the tests use, away from anything else on the server. A mutation run sets
#: `QBO_TEST_REDIS_DB` to one of its own, so keys its mutants leak stay out of the others' way.
TEST_DB = int(os.environ.get("QBO_TEST_REDIS_DB", "7"))


@contextlib.asynccontextmanager
async def redis_client() -> AsyncIterator[tuple[redis.asyncio.Redis, str]]:
    """A client on the test database and a fresh key prefix; every key under it is deleted after."""
    client = redis.asyncio.Redis(host="127.0.0.1", port=6379, db=TEST_DB)
    prefix = f"qbo-test:{secrets.token_hex(8)}:"
    try:
        yield client, prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def unreachable_client() -> redis.asyncio.Redis:
    """A client for a port nobody listens on, that gives up at the first refusal."""
    return redis.asyncio.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
