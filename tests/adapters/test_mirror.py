"""The Mirror contract on SqlMirror, on a SQLite file and on PostgreSQL, plus what SQL
adds: a schema of its own, a locked or corrupt SQLite file as typed errors. (MemoryMirror
runs the contract in test_memory_mirror.py.)"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from qbo_adapters.sql.mirror import SqlMirror
from qbo_adapters.testing.mirror import MirrorContract
from qbo_core.dtos import MirrorProgress
from qbo_core.entities import Customer
from qbo_core.errors import ConfigurationError, StoreCorruptError, StoreUnavailableError
from qbo_core.ports.mirror import Mirror
from tests.adapters.sql_databases import (
    POSTGRES_URL,
    disposing,
    postgres_engine,
    postgres_schema,
    sqlite_engine,
    sqlite_file,
)

REALM = "9130350000000001"


class TestSqliteMirror(MirrorContract):
    """The contract against a fresh SQLite file."""

    # Real round trips: the state machine runs fewer examples, each with the profile's steps.
    state_machine_examples = 20

    @contextlib.asynccontextmanager
    async def make_mirror(self) -> AsyncIterator[Mirror]:
        async with sqlite_file() as path:
            engine = sqlite_engine(path)
            async with disposing(engine):
                yield SqlMirror(engine)


@pytest.mark.postgres
class TestPostgresMirror(MirrorContract):
    """The contract against a fresh schema of the real PostgreSQL."""

    # Real round trips: the state machine runs fewer examples, each with the profile's steps.
    state_machine_examples = 20

    @contextlib.asynccontextmanager
    async def make_mirror(self) -> AsyncIterator[Mirror]:
        async with postgres_schema() as schema:
            engine = postgres_engine(schema)
            async with disposing(engine):
                yield SqlMirror(engine)


@pytest.mark.postgres
async def test_a_postgres_schema_of_its_own_is_created_and_used() -> None:
    """`schema=` puts the tables (and their version row) in that schema, created if
    missing; the engine's default schema gets none of them."""
    async with postgres_schema() as home:
        engine = postgres_engine(home)
        async with disposing(engine):
            own = f"{home}_mirror"
            try:
                mirror = SqlMirror(engine, schema=own)
                await mirror.apply(REALM, upserts=[Customer(id="1", display_name="A")])
                assert await mirror.ids(REALM, "Customer") == {"1"}
                async with engine.connect() as connection:
                    tables = await connection.run_sync(
                        lambda sync: set(sa.inspect(sync).get_table_names(schema=own))
                    )
                    at_home = await connection.run_sync(
                        lambda sync: set(sa.inspect(sync).get_table_names(schema=home))
                    )
                assert {"qbo_mirror_entities", "qbo_mirror_progress"} <= tables
                assert at_home == set()
            finally:
                async with engine.begin() as connection:
                    await connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{own}" CASCADE'))


async def test_a_schema_is_refused_on_sqlite_and_must_be_an_identifier() -> None:
    """SQLite has no schemas; a PostgreSQL schema name must be a plain identifier."""
    engine = create_async_engine("sqlite+aiosqlite://")
    async with disposing(engine):
        with pytest.raises(ConfigurationError, match="schema"):
            SqlMirror(engine, schema="mirror")
    engine = create_async_engine(POSTGRES_URL)
    async with disposing(engine):
        with pytest.raises(ConfigurationError, match="identifier"):
            SqlMirror(engine, schema='x"; DROP TABLE y; --')


async def test_a_sqlite_file_locked_by_another_process_is_a_plain_store_error() -> None:
    """While another connection (as another process would) holds the write lock, `apply`
    raises StoreUnavailableError saying the database is locked, never a sqlite3 error;
    once the lock is gone, the same apply succeeds."""
    async with sqlite_file() as path:
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 0.05})
        async with disposing(engine):
            mirror = SqlMirror(engine)
            await mirror.apply(REALM, progress=MirrorProgress())  # tables exist
            other = sqlite3.connect(path, isolation_level=None)
            try:
                other.execute("BEGIN EXCLUSIVE")
                with pytest.raises(StoreUnavailableError, match="is locked") as raised:
                    await mirror.apply(REALM, upserts=[Customer(id="1", display_name="A")])
                assert type(raised.value) is StoreUnavailableError
                assert raised.value.retryable
                other.execute("ROLLBACK")
            finally:
                other.close()
            await mirror.apply(REALM, upserts=[Customer(id="1", display_name="A")])
            assert await mirror.ids(REALM, "Customer") == {"1"}


async def test_a_file_that_is_not_a_database_is_a_corrupt_store() -> None:
    """A file of garbage raises StoreCorruptError (not retryable), with one clear message."""
    async with sqlite_file() as path:
        path.write_bytes(b"this is not a SQLite database, just some bytes" * 100)
        engine = sqlite_engine(path)
        async with disposing(engine):
            mirror = SqlMirror(engine)
            with pytest.raises(StoreCorruptError, match="cannot be read") as raised:
                await mirror.summary(REALM)
            assert not raised.value.retryable
            assert "sqlite3" not in str(raised.value)


async def test_a_row_that_cannot_be_decoded_is_a_corrupt_store() -> None:
    """A body that is not JSON (written by something else) raises StoreCorruptError."""
    async with sqlite_file() as path:
        engine = sqlite_engine(path)
        async with disposing(engine):
            mirror = SqlMirror(engine)
            await mirror.apply(REALM, upserts=[Customer(id="1", display_name="A")])
            async with engine.begin() as connection:
                await connection.execute(sa.text("UPDATE qbo_mirror_entities SET body = '{x'"))
                await connection.execute(
                    sa.text("INSERT INTO qbo_mirror_progress VALUES (:realm, 'nope')"),
                    {"realm": "2"},
                )
            with pytest.raises(StoreCorruptError, match="Customer 1"):
                await mirror.get(REALM, "Customer", "1")
            with pytest.raises(StoreCorruptError, match="progress"):
                await mirror.progress("2")


async def test_an_unreachable_postgres_is_store_unavailable() -> None:
    """A server that refuses connections gives StoreUnavailableError from ping and reads."""
    engine = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:1/test")
    async with disposing(engine):
        mirror = SqlMirror(engine)
        with pytest.raises(StoreUnavailableError):
            await mirror.ping()
        with pytest.raises(StoreUnavailableError):
            await mirror.summary(REALM)


def test_progress_times_must_be_aware() -> None:
    """MirrorProgress refuses naive times, and completed types without full=True."""
    with pytest.raises(ValueError, match="aware"):
        MirrorProgress(full=True, completed={"Customer": datetime(2031, 1, 1)})
    with pytest.raises(ValueError, match="full"):
        MirrorProgress(completed={"Customer": datetime(2031, 1, 1, tzinfo=UTC)})
