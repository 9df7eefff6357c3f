"""`ping` on the shared stores: a backend that cannot be reached is `StoreUnavailableError`,
one that answers is pinged without a key, a table or a file being made.

(That `ping` answers on a working adapter is in every port's contract suite.)
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import pytest
import redis.asyncio
import redis.exceptions
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from qbo_adapters.crypto.token_store import EncryptedTokenStore
from qbo_adapters.file.lock import FileLock
from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.redis.cache import RedisCache
from qbo_adapters.redis.lock import RedisLock
from qbo_adapters.redis.quota_store import RedisQuotaStore
from qbo_adapters.redis.state_store import RedisStateStore
from qbo_adapters.redis.token_store import RedisTokenStore
from qbo_adapters.sql.state_store import SqlStateStore
from qbo_adapters.sql.token_store import SqlTokenStore
from qbo_core.errors import StoreUnavailableError
from tests.adapters.redis_server import redis_client, unreachable_client
from tests.adapters.sql_databases import disposing, postgres_engine, postgres_schema, sqlite_engine

#: A bound on an unreachable backend's ping, far above its client's connect timeout (1 s
#: for Redis, 5 s for PostgreSQL): a ping that hung instead of failing fails the test.
GUARD = 60.0


class _Pingable(Protocol):
    async def ping(self) -> None: ...


RedisAdapter = Callable[[redis.asyncio.Redis, str], _Pingable]
SqlAdapter = Callable[[AsyncEngine], _Pingable]

REDIS_ADAPTERS: dict[str, RedisAdapter] = {
    "token_store": lambda client, prefix: RedisTokenStore(client, prefix=prefix),
    "cache": lambda client, prefix: RedisCache(client, FakeClock(), prefix=prefix),
    "lock": lambda client, prefix: RedisLock(client, FakeClock(), prefix=prefix),
    "quota_store": lambda client, prefix: RedisQuotaStore(client, FakeClock(), prefix=prefix),
    "state_store": lambda client, prefix: RedisStateStore(client, FakeClock(), prefix=prefix),
}

SQL_ADAPTERS: dict[str, SqlAdapter] = {
    "token_store": SqlTokenStore,
    "state_store": lambda engine: SqlStateStore(engine, FakeClock()),
    "encrypted_token_store": lambda engine: EncryptedTokenStore(
        SqlTokenStore(engine), keys=[EncryptedTokenStore.generate_key()]
    ),
}


# -- Redis ----------------------------------------------------------------------------------


@pytest.mark.parametrize("make", REDIS_ADAPTERS.values(), ids=REDIS_ADAPTERS.keys())
async def test_redis_ping_of_an_unreachable_server_is_store_unavailable(
    make: RedisAdapter,
) -> None:
    """Redis on a port nobody listens on (1 s connect timeout, no retry): every Redis
    adapter's ping raises StoreUnavailableError, chained to redis-py's error."""
    client = unreachable_client()
    try:
        with pytest.raises(StoreUnavailableError) as caught:
            async with asyncio.timeout(GUARD):
                await make(client, "qbo-test:").ping()
    finally:
        await client.aclose()
    assert caught.value.backend == "redis"
    assert caught.value.retryable is True
    assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)


@pytest.mark.redis
@pytest.mark.parametrize("make", REDIS_ADAPTERS.values(), ids=REDIS_ADAPTERS.keys())
async def test_redis_ping_writes_no_key(make: RedisAdapter) -> None:
    """A ping on the real Redis answers and leaves no key under the adapter's prefix."""
    async with redis_client() as (client, prefix):
        await make(client, prefix).ping()
        assert [key async for key in client.scan_iter(match=f"{prefix}*")] == []


# -- SQL ------------------------------------------------------------------------------------


async def _tables(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())


@pytest.mark.parametrize("make", SQL_ADAPTERS.values(), ids=SQL_ADAPTERS.keys())
async def test_sql_ping_creates_no_table(make: SqlAdapter, tmp_path: Path) -> None:
    """A ping on a fresh SQLite database answers without creating the adapter's tables
    (those are made on first real use)."""
    engine = sqlite_engine(tmp_path / "qbo.sqlite3")
    async with disposing(engine):
        await make(engine).ping()
        assert await _tables(engine) == []


@pytest.mark.postgres
@pytest.mark.parametrize("make", SQL_ADAPTERS.values(), ids=SQL_ADAPTERS.keys())
async def test_postgres_ping_creates_no_table(make: SqlAdapter) -> None:
    """A ping on a fresh PostgreSQL schema answers without creating a table in it."""
    async with postgres_schema() as schema:
        engine = postgres_engine(schema)
        async with disposing(engine):
            await make(engine).ping()
            assert await _tables(engine) == []


@pytest.mark.parametrize("make", SQL_ADAPTERS.values(), ids=SQL_ADAPTERS.keys())
async def test_sql_ping_of_an_unreachable_postgres_is_store_unavailable(make: SqlAdapter) -> None:
    """PostgreSQL at a port nobody listens on (5 s connect timeout): ping raises
    StoreUnavailableError naming the backend, the driver's error chained."""
    pytest.importorskip("asyncpg", reason="the postgres extra (asyncpg) is not installed")
    engine = create_async_engine(
        "postgresql+asyncpg://postgres@127.0.0.1:1/test", connect_args={"timeout": 5}
    )
    async with disposing(engine):
        with pytest.raises(StoreUnavailableError) as caught:
            async with asyncio.timeout(GUARD):
                await make(engine).ping()
    assert caught.value.backend == "postgresql"
    assert caught.value.__cause__ is not None


async def test_sql_ping_of_an_unopenable_sqlite_file_is_store_unavailable(tmp_path: Path) -> None:
    """A SQLite file in a directory that does not exist: ping raises StoreUnavailableError."""
    engine = sqlite_engine(tmp_path / "missing" / "qbo.sqlite3")
    async with disposing(engine):
        with pytest.raises(StoreUnavailableError) as caught:
            await SqlTokenStore(engine).ping()
    # aiosqlite's worker thread stops after a failed connect by calling back into this
    # loop; wait for it, or it finds the loop closed (and warns) in a later test.
    for thread in threading.enumerate():
        if thread.name.endswith("(_connection_worker_thread)"):
            await asyncio.to_thread(thread.join, 5)
    assert caught.value.backend == "sqlite"
    assert not (tmp_path / "missing").exists()


# -- file lock -------------------------------------------------------------------------------


async def test_file_lock_ping_creates_nothing(tmp_path: Path) -> None:
    """A ping on an existing, writable directory answers and leaves it empty."""
    await FileLock(tmp_path, FakeClock()).ping()
    assert os.listdir(tmp_path) == []


async def test_file_lock_ping_of_a_missing_directory_is_store_unavailable(tmp_path: Path) -> None:
    """A lock directory that does not exist fails the ping (and is not created by it)."""
    with pytest.raises(StoreUnavailableError) as caught:
        await FileLock(tmp_path / "locks", FakeClock()).ping()
    assert caught.value.backend == "file"
    assert not (tmp_path / "locks").exists()


async def test_file_lock_ping_of_a_file_is_store_unavailable(tmp_path: Path) -> None:
    """A path that is a file, not a directory, fails the ping."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(StoreUnavailableError):
        await FileLock(blocker, FakeClock()).ping()


SQL_STORE_NAMES: dict[str, tuple[SqlAdapter, str]] = {
    "token_store": (SqlTokenStore, "token store"),
    "state_store": (lambda engine: SqlStateStore(engine, FakeClock()), "state store"),
}


@pytest.mark.parametrize(("make", "what"), SQL_STORE_NAMES.values(), ids=SQL_STORE_NAMES.keys())
async def test_a_failed_sql_ping_names_the_database_and_the_store(
    make: SqlAdapter, what: str, tmp_path: Path
) -> None:
    """The ping's `StoreUnavailableError` says which database and which store failed."""
    engine = sqlite_engine(tmp_path / "missing" / "qbo.sqlite3")
    async with disposing(engine):
        with pytest.raises(StoreUnavailableError) as caught:
            await make(engine).ping()
    for thread in threading.enumerate():  # aiosqlite's worker: see the test above
        if thread.name.endswith("(_connection_worker_thread)"):
            await asyncio.to_thread(thread.join, 5)
    assert caught.value.message == f"the sqlite {what} failed or is unreachable: OperationalError"
