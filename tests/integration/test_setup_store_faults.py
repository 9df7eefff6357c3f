"""Connecting and refreshing over real token stores that fail: SQLite that cannot be
opened or refuses writes, Redis nobody listens for. Each failure surfaces as
`StoreUnavailableError` from `complete()` / `access_token()` / `disconnect()`, and what
the store held before is what it holds after."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import sqlalchemy as sa

from qbo_adapters.redis import RedisTokenStore
from qbo_adapters.sql import SqlTokenStore
from qbo_core.dtos import IntegrationStatus, VersionedTokenSet
from qbo_core.errors import StoreUnavailableError
from tests.adapters.redis_server import unreachable_client
from tests.adapters.sql_databases import disposing, sqlite_engine
from tests.core.setup_world import REVOKE_PATH, TOKEN_PATH, SetupWorld

#: Triggers that make every write to the token table fail, as a full disk or a read-only
#: replica would: the database answers, and refuses.
_REFUSE_WRITES = [
    f"CREATE TRIGGER refuse_{op.lower()} BEFORE {op} ON qbo_tokens "
    "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    for op in ("INSERT", "UPDATE", "DELETE")
]


async def _join_aiosqlite_workers() -> None:
    # aiosqlite's worker thread stops after a failed connect by calling back into this
    # loop; wait for it, or it finds the loop closed in a later test.
    for thread in threading.enumerate():
        if thread.name.endswith("(_connection_worker_thread)"):
            await asyncio.to_thread(thread.join, 5)


async def _set_triggers(path: Path, statements: list[str]) -> None:
    engine = sqlite_engine(path)
    async with disposing(engine), engine.begin() as connection:
        for statement in statements:
            await connection.execute(sa.text(statement))


@pytest_asyncio.fixture
async def sqlite_world(tmp_path: Path) -> AsyncIterator[tuple[SetupWorld, Path]]:
    path = tmp_path / "tokens.sqlite3"
    engine = sqlite_engine(path)
    async with disposing(engine):
        yield SetupWorld(token_store=SqlTokenStore(engine)), path


async def test_an_unopenable_sqlite_store_refuses_the_callback_before_spending_it(
    tmp_path: Path,
) -> None:
    """A SQLite file in a missing folder: complete() and access_token() raise
    StoreUnavailableError before any exchange; once the folder exists, the very same
    callback completes (its state and code were not spent)."""
    folder = tmp_path / "not-yet"
    engine = sqlite_engine(folder / "tokens.sqlite3")
    async with disposing(engine):
        world = SetupWorld(token_store=SqlTokenStore(engine))
        setup = world.setup()
        request = await setup.begin("biz-1")
        params = await world.consent(request.authorization_url)
        with pytest.raises(StoreUnavailableError, match="sqlite token store") as caught:
            await setup.complete("biz-1", params)
        assert caught.value.backend == "sqlite"
        with pytest.raises(StoreUnavailableError):
            await world.auth().access_token(world.realm)
        await _join_aiosqlite_workers()
        assert world.calls(TOKEN_PATH) == 0
        folder.mkdir()
        connection = await setup.complete("biz-1", params)
        assert connection.status is IntegrationStatus.CONNECTED
        assert await world.tokens.load(world.realm) is not None


async def test_an_unreachable_redis_store_is_typed_and_nothing_is_exchanged() -> None:
    """Redis on a port nobody listens on: StoreUnavailableError from complete() and
    access_token(), with no code exchanged at Intuit."""
    client = unreachable_client()
    try:
        world = SetupWorld(token_store=RedisTokenStore(client))
        setup = world.setup()
        request = await setup.begin("biz-1")
        params = await world.consent(request.authorization_url)
        with pytest.raises(StoreUnavailableError) as caught:
            await setup.complete("biz-1", params)
        assert caught.value.backend == "redis"
        with pytest.raises(StoreUnavailableError):
            await world.auth().access_token(world.realm)
        assert world.calls(TOKEN_PATH) == 0
    finally:
        await client.aclose()


async def _connect(world: SetupWorld) -> VersionedTokenSet:
    setup = world.setup()
    request = await setup.begin("biz-1")
    await setup.complete("biz-1", await world.consent(request.authorization_url))
    loaded = await world.tokens.load(world.realm)
    assert loaded is not None
    return loaded


async def test_a_store_refusing_writes_keeps_its_tokens_through_a_reconnect(
    sqlite_world: tuple[SetupWorld, Path],
) -> None:
    """Intuit issued new tokens, the store refused them: StoreUnavailableError from
    complete(), and the tokens held before are still there, unchanged."""
    world, path = sqlite_world
    before = await _connect(world)
    setup = world.setup()
    request = await setup.begin("biz-1", realm_id=world.realm)
    params = await world.consent(request.authorization_url)
    await _set_triggers(path, _REFUSE_WRITES)
    with pytest.raises(StoreUnavailableError):
        await setup.complete("biz-1", params)
    assert await world.tokens.load(world.realm) == before


async def test_a_store_refusing_writes_keeps_its_tokens_through_a_refresh(
    sqlite_world: tuple[SetupWorld, Path],
) -> None:
    """A refresh whose save is refused: StoreUnavailableError, the stored tokens unchanged;
    once writes work again, the stored refresh token still refreshes (Intuit's rotation
    window keeps it)."""
    world, path = sqlite_world
    before = await _connect(world)
    world.clock.advance(3600)
    await _set_triggers(path, _REFUSE_WRITES)
    with pytest.raises(StoreUnavailableError):
        await world.auth().access_token(world.realm)
    assert await world.tokens.load(world.realm) == before
    await _set_triggers(path, [f"DROP TRIGGER refuse_{op}" for op in ("insert", "update")])
    assert await world.auth().access_token(world.realm) != before.tokens.access_token


async def test_a_store_refusing_the_delete_keeps_the_tokens_on_disconnect(
    sqlite_world: tuple[SetupWorld, Path],
) -> None:
    """disconnect() whose delete is refused after Intuit revoked: StoreUnavailableError,
    the tokens still stored; a second disconnect finishes the job."""
    world, path = sqlite_world
    before = await _connect(world)
    await _set_triggers(path, _REFUSE_WRITES)
    with pytest.raises(StoreUnavailableError):
        await world.setup().disconnect(world.realm)
    assert await world.tokens.load(world.realm) == before
    assert world.calls(REVOKE_PATH) == 1
    await _set_triggers(path, ["DROP TRIGGER refuse_delete"])
    assert await world.setup().disconnect(world.realm) is True
    assert await world.tokens.load(world.realm) is None
