"""`SqlTokenStore`: the `TokenStore` port on SQLAlchemy Core, async (SQLite or PostgreSQL).

The schema is created on first use and upgraded in place, as component `token_store` of
`qbo_schema_versions` (see `qbo_adapters.sql._schema`): `_MIGRATIONS` lists the steps in
order; a later release adds a step at the end, never edits one. A database whose schema is
newer than this code knows is refused with `ConfigurationError` rather than written to.

Compare-and-set is one conditional statement: `UPDATE ... WHERE version = :expected`, or
`INSERT ... ON CONFLICT DO NOTHING` when nothing is expected; the row count says whether it
won, which is atomic across every connection and process. Instants are stored as ISO 8601
text in UTC with microseconds, so both databases keep them exactly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
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
from qbo_core.dtos import TokenSet, VersionedTokenSet
from qbo_core.errors import ConflictError

__all__ = ["SqlTokenStore"]

_COMPONENT = "token_store"
_WHAT = "token store"
_ATTEMPTS = 5  # a conflict whose re-read shows the expected version is a race: try again

_metadata = sa.MetaData()


def _token_columns() -> list[sa.Column[Any]]:
    """The columns of schema version 1 (a migration step never changes once released)."""
    return [
        sa.Column("realm_id", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("access_token", sa.Text, nullable=False),
        sa.Column("refresh_token", sa.Text, nullable=False),
        sa.Column("access_token_expires_at", sa.String(40), nullable=False),
        sa.Column("refresh_token_expires_at", sa.String(40), nullable=False),
        sa.Column("refresh_token_hard_expires_at", sa.String(40), nullable=True),
        sa.Column("token_type", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=True),
        sa.Column("token_realm_id", sa.Text, nullable=True),
    ]


#: Version 2: when a connection was found dead (`invalid_grant`) or revoked; both kept as
#: marks on the tokens, which are never deleted for it.
_MARK_COLUMNS = ("reauthorization_required_at", "revoked_at")

#: The table as the current schema has it (what queries read and write).
_tokens = sa.Table(
    "qbo_tokens",
    _metadata,
    *_token_columns(),
    *(sa.Column(name, sa.String(40), nullable=True) for name in _MARK_COLUMNS),
)


async def _create_tokens_table(connection: AsyncConnection) -> None:
    version_1 = sa.Table("qbo_tokens", sa.MetaData(), *_token_columns())
    await connection.execute(sa.schema.CreateTable(version_1, if_not_exists=True))


async def _add_mark_columns(connection: AsyncConnection) -> None:
    for name in _MARK_COLUMNS:
        await connection.execute(sa.text(f"ALTER TABLE qbo_tokens ADD COLUMN {name} VARCHAR(40)"))


#: The schema's migration steps, in order: step N upgrades version N-1 to N.
_MIGRATIONS: tuple[Migration, ...] = (
    _create_tokens_table,
    _add_mark_columns,
)


class SqlTokenStore:
    """Versioned tokens per realm in a SQL table, with atomic compare-and-set writes.

    Borrows `engine` (an `AsyncEngine` on `sqlite+aiosqlite` or `postgresql+asyncpg`)
    from its owner, which also disposes of it. Creates or upgrades its tables on first
    use. Every database or driver failure becomes `StoreUnavailableError` (the driver's
    exception chained, its SQL parameters hidden so no token is ever shown).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = checked_dialect(engine, "SqlTokenStore")
        self._schema = SchemaMigrator(
            engine, dialect=self._dialect, component=_COMPONENT, what=_WHAT, steps=_MIGRATIONS
        )

    async def ping(self) -> None:
        await ping_engine(self._engine, self._dialect, _WHAT)

    async def load(self, realm_id: str) -> VersionedTokenSet | None:
        async with self._connection() as connection:
            return await _select(connection, realm_id)

    async def save(
        self, realm_id: str, tokens: TokenSet, *, expected_version: int | None
    ) -> VersionedTokenSet:
        values = _row(tokens)
        for _ in range(_ATTEMPTS):
            async with self._transaction() as connection:
                if expected_version is None:
                    insert = DIALECTS[self._dialect].insert(_tokens)
                    statement: Any = insert.values(
                        realm_id=realm_id, version=1, **values
                    ).on_conflict_do_nothing(index_elements=[_tokens.c.realm_id])
                else:
                    statement = (
                        sa.update(_tokens)
                        .where(_tokens.c.realm_id == realm_id)
                        .where(_tokens.c.version == expected_version)
                        .values(version=expected_version + 1, **values)
                    )
                if (await connection.execute(statement)).rowcount == 1:
                    return VersionedTokenSet(tokens=tokens, version=(expected_version or 0) + 1)
                actual = await _version(connection, realm_id)
            if actual != expected_version:
                raise _conflict("save", realm_id, expected_version, actual)
        raise _conflict("save", realm_id, expected_version, None)  # pragma: no cover

    async def delete(self, realm_id: str, *, expected_version: int | None = None) -> bool:
        for _ in range(_ATTEMPTS):
            async with self._transaction() as connection:
                statement = sa.delete(_tokens).where(_tokens.c.realm_id == realm_id)
                if expected_version is not None:
                    statement = statement.where(_tokens.c.version == expected_version)
                if (await connection.execute(statement)).rowcount == 1:
                    return True
                actual = await _version(connection, realm_id)
            if actual is None:
                return False
            if actual != expected_version:
                raise _conflict("delete", realm_id, expected_version, actual)
        raise _conflict("delete", realm_id, expected_version, None)  # pragma: no cover

    def __repr__(self) -> str:
        return f"SqlTokenStore(dialect={self._dialect!r})"

    # -- plumbing ---------------------------------------------------------------------

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection]:
        await self._ensure_schema()
        with self._errors_mapped():
            async with self._engine.connect() as connection:
                yield connection

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        await self._ensure_schema()
        with self._errors_mapped():
            async with self._engine.begin() as connection:
                yield connection

    async def _ensure_schema(self) -> None:
        await self._schema.ensure()

    def _errors_mapped(self) -> ErrorsMapped:
        return ErrorsMapped(self._dialect, _WHAT)


async def _version(connection: AsyncConnection, realm_id: str) -> int | None:
    query = sa.select(_tokens.c.version).where(_tokens.c.realm_id == realm_id)
    version: int | None = (await connection.execute(query)).scalar_one_or_none()
    return version


async def _select(connection: AsyncConnection, realm_id: str) -> VersionedTokenSet | None:
    query = sa.select(_tokens).where(_tokens.c.realm_id == realm_id)
    row = (await connection.execute(query)).mappings().one_or_none()
    if row is None:
        return None
    tokens = TokenSet(
        access_token=row["access_token"],
        refresh_token=row["refresh_token"],
        access_token_expires_at=_instant(row["access_token_expires_at"]),
        refresh_token_expires_at=_instant(row["refresh_token_expires_at"]),
        refresh_token_hard_expires_at=(
            None
            if row["refresh_token_hard_expires_at"] is None
            else _instant(row["refresh_token_hard_expires_at"])
        ),
        token_type=row["token_type"],
        scope=row["scope"],
        realm_id=row["token_realm_id"],
        reauthorization_required_at=_maybe_instant(row["reauthorization_required_at"]),
        revoked_at=_maybe_instant(row["revoked_at"]),
    )
    return VersionedTokenSet(tokens=tokens, version=row["version"])


def _row(tokens: TokenSet) -> dict[str, str | None]:
    hard = tokens.refresh_token_hard_expires_at
    return {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "access_token_expires_at": _text(tokens.access_token_expires_at),
        "refresh_token_expires_at": _text(tokens.refresh_token_expires_at),
        "refresh_token_hard_expires_at": None if hard is None else _text(hard),
        "token_type": tokens.token_type,
        "scope": tokens.scope,
        "token_realm_id": tokens.realm_id,
        "reauthorization_required_at": _maybe_text(tokens.reauthorization_required_at),
        "revoked_at": _maybe_text(tokens.revoked_at),
    }


def _text(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="microseconds")


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _maybe_text(instant: datetime | None) -> str | None:
    return None if instant is None else _text(instant)


def _maybe_instant(text: str | None) -> datetime | None:
    return None if text is None else _instant(text)


def _conflict(
    operation: str, realm_id: str, expected: int | None, actual: int | None
) -> ConflictError:
    return ConflictError(
        f"token {operation} expected version {expected}, but the store holds {actual}",
        expected=expected,
        actual=actual,
        realm_id=realm_id,
    )
