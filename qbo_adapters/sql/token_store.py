"""`SqlTokenStore`: the `TokenStore` port on SQLAlchemy Core, async (SQLite or PostgreSQL).

The schema is created on first use and upgraded in place. `qbo_schema_versions` holds one
row per component (`token_store` here) with the number of the last migration step applied;
`_MIGRATIONS` lists the steps in order, and a store applies every step past the recorded
number inside one transaction that first takes a database-wide write lock (an advisory
lock on PostgreSQL, the write lock on SQLite), so processes starting together upgrade the
schema exactly once. A later release adds a step at the end of `_MIGRATIONS`, never edits
one. A database whose schema is newer than this code knows is refused with
`ConfigurationError` rather than written to.

Compare-and-set is one conditional statement: `UPDATE ... WHERE version = :expected`, or
`INSERT ... ON CONFLICT DO NOTHING` when nothing is expected; the row count says whether it
won, which is atomic across every connection and process. Instants are stored as ISO 8601
text in UTC with microseconds, so both databases keep them exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from qbo_core.dtos import TokenSet, VersionedTokenSet
from qbo_core.errors import ConfigurationError, ConflictError, StoreUnavailableError

__all__ = ["SqlTokenStore"]

_COMPONENT = "token_store"
_LOCK_KEY = 0x71B0_5C4E  # the advisory lock PostgreSQL migrations run under
_ATTEMPTS = 5  # a conflict whose re-read shows the expected version is a race: try again

_metadata = sa.MetaData()

_schema_versions = sa.Table(
    "qbo_schema_versions",
    _metadata,
    sa.Column("component", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)


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
_MIGRATIONS: tuple[Callable[[AsyncConnection], Awaitable[None]], ...] = (
    _create_tokens_table,
    _add_mark_columns,
)

_DIALECTS = {"sqlite": sqlite, "postgresql": postgresql}


class SqlTokenStore:
    """Versioned tokens per realm in a SQL table, with atomic compare-and-set writes.

    Borrows `engine` (an `AsyncEngine` on `sqlite+aiosqlite` or `postgresql+asyncpg`)
    from its owner, which also disposes of it. Creates or upgrades its tables on first
    use. Every database or driver failure becomes `StoreUnavailableError` (the driver's
    exception chained, its SQL parameters hidden so no token is ever shown).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        dialect = engine.dialect.name
        if dialect not in _DIALECTS:
            raise ConfigurationError(
                f"SqlTokenStore supports sqlite and postgresql, not {dialect!r}",
                field="engine",
            )
        self._engine = engine
        self._dialect = dialect
        self._ready = False
        self._ready_lock = asyncio.Lock()

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
                    insert = _DIALECTS[self._dialect].insert(_tokens)
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
        if self._ready:
            return
        async with self._ready_lock:
            if self._is_ready():  # another task migrated while this one waited
                return
            with self._errors_mapped():
                await self._migrate()
            self._ready = True

    def _is_ready(self) -> bool:
        return self._ready

    async def _migrate(self) -> None:
        async with self._engine.begin() as connection:
            if self._dialect == "postgresql":
                await connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_KEY)))
            await connection.execute(sa.schema.CreateTable(_schema_versions, if_not_exists=True))
            # A write first: on SQLite it opens the transaction holding the write lock.
            register = _DIALECTS[self._dialect].insert(_schema_versions)
            await connection.execute(
                register.values(component=_COMPONENT, version=0).on_conflict_do_nothing(
                    index_elements=[_schema_versions.c.component]
                )
            )
            current = (
                await connection.execute(
                    sa.select(_schema_versions.c.version).where(
                        _schema_versions.c.component == _COMPONENT
                    )
                )
            ).scalar_one()
            if current > len(_MIGRATIONS):
                raise ConfigurationError(
                    f"the token store's schema is at version {current}, newer than this "
                    f"qbo-infra knows ({len(_MIGRATIONS)}): upgrade qbo-infra",
                    field="engine",
                )
            for step in _MIGRATIONS[current:]:
                await step(connection)
            await connection.execute(
                sa.update(_schema_versions)
                .where(_schema_versions.c.component == _COMPONENT)
                .values(version=len(_MIGRATIONS))
            )

    def _errors_mapped(self) -> _ErrorsMapped:
        return _ErrorsMapped(self._dialect)


class _ErrorsMapped:
    """Turns SQLAlchemy, driver and socket errors into `StoreUnavailableError`."""

    def __init__(self, dialect: str) -> None:
        self._dialect = dialect

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _: Any) -> None:
        if not isinstance(exc, sa.exc.SQLAlchemyError | OSError | TimeoutError):
            return
        if isinstance(exc, sa.exc.StatementError):
            exc.hide_parameters = True  # the parameters hold tokens
        raise StoreUnavailableError(
            f"the {self._dialect} token store failed or is unreachable: {type(exc).__name__}",
            backend=self._dialect,
        ) from exc


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
