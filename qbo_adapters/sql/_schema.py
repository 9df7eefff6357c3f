"""What the SQL adapters share: the dialect check, versioned schema migrations, the error edge.

`qbo_schema_versions` holds one row per component (`token_store`, `state_store`) with the
number of the last migration step applied. `SchemaMigrator.ensure()` applies every step past
the recorded number inside one transaction that first takes a database-wide write lock (an
advisory lock on PostgreSQL, the write lock on SQLite), so processes starting together
upgrade a component's schema exactly once. A later release adds a step at the end of a
component's list, never edits one. A database whose schema is newer than the code knows is
refused with `ConfigurationError` rather than written to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from qbo_core.errors import ConfigurationError, StoreUnavailableError

__all__ = [
    "DIALECTS",
    "ErrorsMapped",
    "Migration",
    "SchemaMigrator",
    "checked_dialect",
    "ping_engine",
]

#: The advisory lock PostgreSQL migrations run under (one for every component).
_LOCK_KEY = 0x71B0_5C4E

#: The dialects the SQL adapters support, with the module whose `insert` has ON CONFLICT.
DIALECTS: dict[str, ModuleType] = {"sqlite": sqlite, "postgresql": postgresql}

#: One migration step: upgrades a component's schema by one version, inside the transaction.
Migration = Callable[[AsyncConnection], Awaitable[None]]

_metadata = sa.MetaData()

_schema_versions = sa.Table(
    "qbo_schema_versions",
    _metadata,
    sa.Column("component", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)


def checked_dialect(engine: AsyncEngine, adapter: str) -> str:
    """The engine's dialect name; `ConfigurationError` unless it is sqlite or postgresql."""
    dialect = engine.dialect.name
    if dialect not in DIALECTS:
        raise ConfigurationError(
            f"{adapter} supports sqlite and postgresql, not {dialect!r}", field="engine"
        )
    return dialect


class ErrorsMapped:
    """Turns SQLAlchemy, driver and socket errors into `StoreUnavailableError`.

    `what` names the store in the message ("token store"). Statement parameters are
    hidden from the chained exception, since they may hold tokens or state values.
    """

    def __init__(self, dialect: str, what: str) -> None:
        self._dialect = dialect
        self._what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _: Any) -> None:
        if not isinstance(exc, sa.exc.SQLAlchemyError | OSError | TimeoutError):
            return
        if isinstance(exc, sa.exc.StatementError):
            exc.hide_parameters = True
        raise StoreUnavailableError(
            f"the {self._dialect} {self._what} failed or is unreachable: {type(exc).__name__}",
            backend=self._dialect,
        ) from exc


async def ping_engine(engine: AsyncEngine, dialect: str, what: str) -> None:
    """One `SELECT 1` round trip on a pooled connection: no table is read, none created.

    Failures become `StoreUnavailableError`, as with every other statement (`ErrorsMapped`).
    """
    with ErrorsMapped(dialect, what):
        async with engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))


class SchemaMigrator:
    """Brings one component's tables to the current version, once per process, on first use."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        dialect: str,
        component: str,
        what: str,
        steps: Sequence[Migration],
    ) -> None:
        self._engine = engine
        self._dialect = dialect
        self._component = component
        self._what = what
        self._steps = tuple(steps)
        self._ready = False
        self._lock = asyncio.Lock()

    @property
    def ready(self) -> bool:
        """Whether the schema was found or brought up to date by this migrator."""
        return self._ready

    async def ensure(self) -> None:
        """Create or upgrade the component's tables unless done already (concurrent callers
        wait for one run). Database failures raise `StoreUnavailableError`."""
        if self._ready:
            return
        async with self._lock:
            if self._is_ready():  # another task migrated while this one waited
                return
            with ErrorsMapped(self._dialect, self._what):
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
            register = DIALECTS[self._dialect].insert(_schema_versions)
            await connection.execute(
                register.values(component=self._component, version=0).on_conflict_do_nothing(
                    index_elements=[_schema_versions.c.component]
                )
            )
            current = (
                await connection.execute(
                    sa.select(_schema_versions.c.version).where(
                        _schema_versions.c.component == self._component
                    )
                )
            ).scalar_one()
            if current > len(self._steps):
                raise ConfigurationError(
                    f"the {self._what}'s schema is at version {current}, newer than this "
                    f"qbo-infra knows ({len(self._steps)}): upgrade qbo-infra",
                    field="engine",
                )
            for step in self._steps[current:]:
                await step(connection)
            await connection.execute(
                sa.update(_schema_versions)
                .where(_schema_versions.c.component == self._component)
                .values(version=len(self._steps))
            )
