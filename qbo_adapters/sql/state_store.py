"""`SqlStateStore`: the `StateStore` port on SQLAlchemy Core, async (SQLite or PostgreSQL).

For hosts whose web workers share a SQLite file or a PostgreSQL database but no Redis:
the worker that made an authorization URL and the one that receives its callback see the
same `state`. The table `qbo_states` is created on first use, as component `state_store`
of `qbo_schema_versions` (see `qbo_adapters.sql._schema`).

`take` is one `DELETE ... RETURNING` statement, so of several takers in any processes
exactly one receives the row; the expiry it returns is then compared with the caller's
wall time. `claim` is one `INSERT ... ON CONFLICT DO UPDATE ... WHERE expires_at <= now
RETURNING` statement: it inserts, or replaces an expired row, and returns a row only
then, so of several claimers exactly one sees a row (PostgreSQL makes a concurrent
inserter wait for the first one's commit and re-check the condition on its row; SQLite
has one writer at a time). Expiry is `expires_at` in epoch seconds (a double, exact for the clock's
values) from the store's `Clock`, by the ports' time rule. Rows nobody takes are swept
by later puts, a bounded batch each time (on PostgreSQL skipping rows another
transaction holds, so sweeps never wait on one another).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from qbo_adapters.sql._schema import (
    DIALECTS,
    ErrorsMapped,
    Migration,
    SchemaMigrator,
    checked_dialect,
    ping_engine,
)
from qbo_core.ports.clock import Clock

__all__ = ["SqlStateStore"]

_COMPONENT = "state_store"
_WHAT = "state store"

#: How many expired rows one put removes at most (puts outnumber expiries, so this keeps up).
SWEEP_BATCH = 500


def _state_columns() -> list[sa.Column[Any]]:
    """The columns of schema version 1 (a migration step never changes once released)."""
    return [
        sa.Column("state_key", sa.Text, primary_key=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
    ]


_metadata = sa.MetaData()

_states = sa.Table(
    "qbo_states",
    _metadata,
    *_state_columns(),
    sa.Index("qbo_states_expires_at", "expires_at"),
)


async def _create_states_table(connection: AsyncConnection) -> None:
    version_1 = sa.Table(
        "qbo_states",
        sa.MetaData(),
        *_state_columns(),
        sa.Index("qbo_states_expires_at", "expires_at"),
    )
    await connection.execute(sa.schema.CreateTable(version_1, if_not_exists=True))
    for index in version_1.indexes:
        await connection.execute(sa.schema.CreateIndex(index, if_not_exists=True))


#: The schema's migration steps, in order: step N upgrades version N-1 to N.
_MIGRATIONS: tuple[Migration, ...] = (_create_states_table,)


class SqlStateStore:
    """Single-use values with a TTL in a SQL table, shared by every process using the database.

    Borrows `engine` (an `AsyncEngine` on `sqlite+aiosqlite` or `postgresql+asyncpg`) from
    its owner, which also disposes of it; times every value on `clock.now().timestamp()`.
    Creates its table on first use. Every database or driver failure becomes
    `StoreUnavailableError` (its SQL parameters hidden, so no value is ever shown).
    """

    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._dialect = checked_dialect(engine, "SqlStateStore")
        self._schema = SchemaMigrator(
            engine, dialect=self._dialect, component=_COMPONENT, what=_WHAT, steps=_MIGRATIONS
        )

    async def ping(self) -> None:
        await ping_engine(self._engine, self._dialect, _WHAT)

    async def put(self, key: str, value: bytes, *, ttl: float) -> None:
        if not (ttl > 0 and math.isfinite(ttl)):
            raise ValueError(f"ttl must be a positive, finite number of seconds, got {ttl!r}")
        now = self._clock.now().timestamp()
        insert = DIALECTS[self._dialect].insert(_states)
        upsert = insert.values(state_key=key, value=bytes(value), expires_at=now + ttl)
        upsert = upsert.on_conflict_do_update(
            index_elements=[_states.c.state_key],
            set_={"value": upsert.excluded.value, "expires_at": upsert.excluded.expires_at},
        )
        async with self._transaction() as connection:
            await connection.execute(upsert)
            await connection.execute(self._sweep(now))

    async def claim(self, key: str, *, ttl: float) -> bool:
        if not (ttl > 0 and math.isfinite(ttl)):
            raise ValueError(f"ttl must be a positive, finite number of seconds, got {ttl!r}")
        now = self._clock.now().timestamp()
        insert = DIALECTS[self._dialect].insert(_states)
        claim = insert.values(state_key=key, value=b"", expires_at=now + ttl)
        # An expired row is replaced; a live one makes the WHERE false: no row returned.
        claim = claim.on_conflict_do_update(
            index_elements=[_states.c.state_key],
            set_={"value": claim.excluded.value, "expires_at": claim.excluded.expires_at},
            where=_states.c.expires_at <= now,
        ).returning(_states.c.state_key)
        async with self._transaction() as connection:
            won = (await connection.execute(claim)).one_or_none() is not None
            await connection.execute(self._sweep(now))
        return won

    async def take(self, key: str) -> bytes | None:
        now = self._clock.now().timestamp()
        statement = (
            sa.delete(_states)
            .where(_states.c.state_key == key)
            .returning(_states.c.value, _states.c.expires_at)
        )
        async with self._transaction() as connection:
            row = (await connection.execute(statement)).one_or_none()
        if row is None or row.expires_at <= now:
            return None
        return bytes(row.value)

    def __repr__(self) -> str:
        return f"SqlStateStore(dialect={self._dialect!r})"

    # -- plumbing ---------------------------------------------------------------------

    def _sweep(self, now: float) -> sa.Delete:
        """Delete up to `SWEEP_BATCH` expired rows (on PostgreSQL, none another holds)."""
        expired = (
            sa.select(_states.c.state_key).where(_states.c.expires_at <= now).limit(SWEEP_BATCH)
        )
        if self._dialect == "postgresql":
            expired = expired.with_for_update(skip_locked=True)
        return sa.delete(_states).where(_states.c.state_key.in_(expired))

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        await self._schema.ensure()
        with ErrorsMapped(self._dialect, _WHAT):
            async with self._engine.begin() as connection:
                yield connection
