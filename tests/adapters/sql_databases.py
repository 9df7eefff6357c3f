"""Throwaway databases for the SQL adapters' tests: a SQLite file, or a PostgreSQL schema.

PostgreSQL is the server on 127.0.0.1:5432 (trust auth, user `postgres`, database `test`).
Each `postgres_schema()` creates a schema `qbo_test_<random>`, yields its name, and drops
it (with everything in it) on the way out; engines point at it through `search_path`.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def sqlite_engine(path: Path) -> AsyncEngine:
    """An engine on the SQLite file at `path` (created on first connection)."""
    return create_async_engine(f"sqlite+aiosqlite:///{path}")


def postgres_engine(schema: str) -> AsyncEngine:
    """An engine on the test database whose connections work inside `schema`."""
    return create_async_engine(
        POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}}
    )


@contextlib.asynccontextmanager
async def postgres_schema() -> AsyncIterator[str]:
    """A fresh, empty schema in the test database, dropped afterwards."""
    name = f"qbo_test_{secrets.token_hex(6)}"
    admin = create_async_engine(POSTGRES_URL)
    try:
        async with admin.begin() as connection:
            await connection.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        yield name
    finally:
        async with admin.begin() as connection:
            await connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        await admin.dispose()


@contextlib.asynccontextmanager
async def sqlite_file() -> AsyncIterator[Path]:
    """The path of a SQLite file in a fresh temporary directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="qbo-sql-") as directory:
        yield Path(directory) / "tokens.sqlite3"


@contextlib.asynccontextmanager
async def disposing(*engines: AsyncEngine) -> AsyncIterator[None]:
    """Dispose of `engines` on the way out (their owner's job; here the test's)."""
    try:
        yield
    finally:
        for engine in engines:
            await engine.dispose()
