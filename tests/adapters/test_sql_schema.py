"""What the SQL adapters share (`qbo_adapters.sql._schema`) beyond each store's own tests:
the schema is brought up to date once per store, and on PostgreSQL under one lock."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.sql._schema import _LOCK_KEY
from qbo_adapters.sql.state_store import SqlStateStore
from qbo_adapters.sql.token_store import SqlTokenStore
from tests.adapters.sql_databases import (
    disposing,
    postgres_engine,
    postgres_schema,
    sqlite_engine,
)

#: A bound on waiting for a condition another session brings about, far above its time.
_GUARD = 30.0


async def test_the_schema_is_checked_on_first_use_only(tmp_path: Path) -> None:
    """The first call of a store migrates (or checks) its tables; every later call runs just
    its own statements, with no look at `qbo_schema_versions`."""
    engine = sqlite_engine(tmp_path / "qbo.sqlite3")
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    async with disposing(engine):
        sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
        tokens = SqlTokenStore(engine)
        states = SqlStateStore(engine, FakeClock())
        await tokens.load("r1")
        await states.take("state")
        assert any("qbo_schema_versions" in statement for statement in statements)
        statements.clear()
        assert await tokens.load("r1") is None
        assert await states.take("state") is None
    assert len(statements) == 2
    assert not any("qbo_schema_versions" in statement for statement in statements)


@pytest.mark.postgres
async def test_a_postgres_migration_waits_for_the_migration_lock() -> None:
    """On PostgreSQL a first use takes the migrations' advisory lock before it reads or
    writes the schema: while another session (another process migrating) holds it, the
    store waits, and goes on once it is released."""
    async with postgres_schema() as schema:
        holder_engine, store_engine = postgres_engine(schema), postgres_engine(schema)
        async with disposing(holder_engine, store_engine), holder_engine.connect() as holder:
            lock = {"key": _LOCK_KEY}
            await holder.execute(sa.text("SELECT pg_advisory_lock(:key)"), lock)
            first_use = asyncio.ensure_future(SqlTokenStore(store_engine).load("r1"))
            waiting = sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND objid = :key AND database = (SELECT oid FROM pg_database"
                " WHERE datname = current_database())"
            )
            async with asyncio.timeout(_GUARD):
                while not (await holder.execute(waiting, lock)).scalar_one():
                    assert not first_use.done(), "the schema was migrated under a held lock"
            await holder.execute(sa.text("SELECT pg_advisory_unlock(:key)"), lock)
            await holder.commit()
            assert await first_use is None
