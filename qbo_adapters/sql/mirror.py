"""`SqlMirror`: the `Mirror` port on SQLAlchemy Core, async (a SQLite file or PostgreSQL).

Two tables, created on first use and upgraded in place as component `mirror` of
`qbo_schema_versions` (see `qbo_adapters.sql._schema`; a later release adds a step at the
end of `_MIGRATIONS`, never edits one):

- `qbo_mirror_entities`: one row per entity, primary key (`realm_id`, `entity_type`, `id`),
  with `sync_token`, `last_updated` (ISO 8601 text in UTC, as QBO's `LastUpdatedTime`) and
  `body`, the entity's canonical JSON (`qbo_core.wire.canonical`) as text;
- `qbo_mirror_progress`: one row per realm, the `MirrorProgress` as JSON text (through
  `qbo_core.converter`).

`apply` is one transaction (`INSERT ... ON CONFLICT DO UPDATE` for the upserts, then the
deletions, then the progress), so a reader or an interrupted run sees all of it or none.
`summary` streams the rows and sums their checksums as it reads: memory stays flat.

Errors: every database or driver failure is `StoreUnavailableError` (SQL parameters hidden
from the chained exception), with two cases named plainly for people: a SQLite file
another process holds a write lock on (`... is locked by another process ...`, after the
driver's own busy wait) and a damaged file or a row that cannot be decoded
(`StoreCorruptError`, not retryable). No raw `sqlite3` or driver exception escapes.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
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
from qbo_core.converter import structure, unstructure
from qbo_core.dtos import EntitySummary, MirrorProgress
from qbo_core.entities import QBOEntity, RawEntity, entity_type_of
from qbo_core.errors import (
    ConfigurationError,
    QBOError,
    StoreCorruptError,
    StoreUnavailableError,
)
from qbo_core.wire.canonical import canonical_json, rows_checksum
from qbo_core.wire.entities import decode_entity
from qbo_core.wire.jsonio import loads

__all__ = ["SqlMirror"]

_COMPONENT = "mirror"
_WHAT = "mirror database"
_MODULUS = 1 << 256
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

#: What SQLite says when another connection holds the lock it needs.
_LOCKED = ("database is locked", "database table is locked")
#: What SQLite says when the file is not a database, or a damaged one ("database disk
#: image is malformed", and the other "malformed" messages).
_CORRUPT = ("file is not a database", "malformed")


def _entity_columns() -> list[sa.Column[Any]]:
    """The entity table's columns at schema version 1 (never changed once released)."""
    return [
        sa.Column("realm_id", sa.String(32), primary_key=True),
        sa.Column("entity_type", sa.String(64), primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("sync_token", sa.Text, nullable=True),
        sa.Column("last_updated", sa.String(40), nullable=True),
        sa.Column("body", sa.Text, nullable=False),
    ]


def _progress_columns() -> list[sa.Column[Any]]:
    """The progress table's columns at schema version 1."""
    return [
        sa.Column("realm_id", sa.String(32), primary_key=True),
        sa.Column("progress", sa.Text, nullable=False),
    ]


_metadata = sa.MetaData()
_entities = sa.Table("qbo_mirror_entities", _metadata, *_entity_columns())
_progress = sa.Table("qbo_mirror_progress", _metadata, *_progress_columns())


async def _create_tables(connection: AsyncConnection) -> None:
    version_1 = sa.MetaData()
    for table in (
        sa.Table("qbo_mirror_entities", version_1, *_entity_columns()),
        sa.Table("qbo_mirror_progress", version_1, *_progress_columns()),
    ):
        await connection.execute(sa.schema.CreateTable(table, if_not_exists=True))


#: The schema's migration steps, in order: step N upgrades version N-1 to N.
_MIGRATIONS: tuple[Migration, ...] = (_create_tables,)


class SqlMirror:
    """QBO companies mirrored in two SQL tables (see the module).

    Borrows `engine` (an `AsyncEngine` on `sqlite+aiosqlite` or `postgresql+asyncpg`)
    from its owner, which also disposes of it. `schema` (PostgreSQL only) puts the
    tables, and their schema-version row, in that schema, created if missing; `None`
    uses the connection's `search_path`. Creates or upgrades its tables on first use.
    """

    def __init__(self, engine: AsyncEngine, *, schema: str | None = None) -> None:
        self._dialect = checked_dialect(engine, "SqlMirror")
        if schema is not None:
            if self._dialect != "postgresql":
                raise ConfigurationError(
                    "SqlMirror's schema is a PostgreSQL schema; SQLite has none", field="schema"
                )
            if _SCHEMA_NAME.fullmatch(schema) is None:
                raise ConfigurationError(
                    f"schema must be a plain SQL identifier, got {schema!r}", field="schema"
                )
            engine = engine.execution_options(schema_translate_map={None: schema})
        self._engine = engine
        self._schema_name = schema
        self._schema_created = schema is None
        self._schema = SchemaMigrator(
            engine, dialect=self._dialect, component=_COMPONENT, what=_WHAT, steps=_MIGRATIONS
        )

    def __repr__(self) -> str:
        return f"SqlMirror(dialect={self._dialect!r}, schema={self._schema_name!r})"

    async def ping(self) -> None:
        with self._errors():
            await ping_engine(self._engine, self._dialect, _WHAT)

    async def apply(
        self,
        realm_id: str,
        *,
        upserts: Sequence[QBOEntity] = (),
        deletions: Sequence[tuple[str, str]] = (),
        progress: MirrorProgress | None = None,
    ) -> None:
        rows = [_row(realm_id, entity) for entity in upserts]
        stored = None if progress is None else json.dumps(unstructure(progress))
        async with self._transaction() as connection:
            if rows:
                insert = DIALECTS[self._dialect].insert(_entities)
                await connection.execute(
                    insert.on_conflict_do_update(
                        index_elements=[
                            _entities.c.realm_id,
                            _entities.c.entity_type,
                            _entities.c.id,
                        ],
                        set_={
                            "sync_token": insert.excluded.sync_token,
                            "last_updated": insert.excluded.last_updated,
                            "body": insert.excluded.body,
                        },
                    ),
                    rows,
                )
            if deletions:
                await connection.execute(
                    sa.delete(_entities).where(
                        _entities.c.realm_id == sa.bindparam("b_realm"),
                        _entities.c.entity_type == sa.bindparam("b_type"),
                        _entities.c.id == sa.bindparam("b_id"),
                    ),
                    [
                        {"b_realm": realm_id, "b_type": entity_type, "b_id": entity_id}
                        for entity_type, entity_id in deletions
                    ],
                )
            if stored is not None:
                insert = DIALECTS[self._dialect].insert(_progress)
                await connection.execute(
                    insert.values(realm_id=realm_id, progress=stored).on_conflict_do_update(
                        index_elements=[_progress.c.realm_id],
                        set_={"progress": insert.excluded.progress},
                    )
                )

    async def progress(self, realm_id: str) -> MirrorProgress | None:
        query = sa.select(_progress.c.progress).where(_progress.c.realm_id == realm_id)
        async with self._connection() as connection:
            text = (await connection.execute(query)).scalar_one_or_none()
        if text is None:
            return None
        try:
            return structure(json.loads(text), MirrorProgress)
        except (ValueError, QBOError) as exc:
            raise self._corrupt(f"the progress stored for realm {realm_id}") from exc

    async def summary(self, realm_id: str) -> Mapping[str, EntitySummary]:
        query = (
            sa.select(_entities.c.entity_type, _entities.c.id, _entities.c.body)
            .where(_entities.c.realm_id == realm_id)
            .order_by(_entities.c.entity_type)
        )
        counts: dict[str, int] = {}
        totals: dict[str, int] = {}

        def add(entity_type: str, rows: list[tuple[str, bytes]]) -> None:
            part = int(rows_checksum(rows), 16)
            totals[entity_type] = (totals.get(entity_type, 0) + part) % _MODULUS
            counts[entity_type] = counts.get(entity_type, 0) + len(rows)

        async with self._connection() as connection:
            result = await connection.stream(query)
            current: str | None = None
            rows: list[tuple[str, bytes]] = []
            async for entity_type, entity_id, body in result:
                if current is not None and (entity_type != current or len(rows) >= 1000):
                    add(current, rows)
                    rows = []
                current = entity_type
                rows.append((entity_id, body.encode()))
            if current is not None:
                add(current, rows)
        return {
            entity_type: EntitySummary(count=counts[entity_type], checksum=f"{total:064x}")
            for entity_type, total in sorted(totals.items())
        }

    async def ids(self, realm_id: str, entity_type: str) -> frozenset[str]:
        query = sa.select(_entities.c.id).where(
            _entities.c.realm_id == realm_id, _entities.c.entity_type == entity_type
        )
        async with self._connection() as connection:
            return frozenset((await connection.execute(query)).scalars())

    async def get(self, realm_id: str, entity_type: str, entity_id: str) -> QBOEntity | None:
        query = sa.select(_entities.c.body).where(
            _entities.c.realm_id == realm_id,
            _entities.c.entity_type == entity_type,
            _entities.c.id == entity_id,
        )
        async with self._connection() as connection:
            body = (await connection.execute(query)).scalar_one_or_none()
        if body is None:
            return None
        try:
            return decode_entity(entity_type, loads(body))
        except (ValueError, RecursionError, QBOError) as exc:
            raise self._corrupt(f"the stored {entity_type} {entity_id}") from exc

    async def realms(self) -> tuple[str, ...]:
        query = sa.union(sa.select(_entities.c.realm_id), sa.select(_progress.c.realm_id))
        async with self._connection() as connection:
            return tuple(sorted((await connection.execute(query)).scalars()))

    async def drop_realm(self, realm_id: str) -> None:
        async with self._transaction() as connection:
            await connection.execute(sa.delete(_entities).where(_entities.c.realm_id == realm_id))
            await connection.execute(sa.delete(_progress).where(_progress.c.realm_id == realm_id))

    # -- plumbing ---------------------------------------------------------------------

    async def _ready(self) -> None:
        with self._errors():
            if not self._schema_created:
                async with self._engine.begin() as connection:
                    await connection.execute(
                        sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self._schema_name}"')
                    )
                self._schema_created = True
            await self._schema.ensure()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection]:
        await self._ready()
        with self._errors():
            async with self._engine.connect() as connection:
                yield connection

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        await self._ready()
        with self._errors():
            async with self._engine.begin() as connection:
                yield connection

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """`ErrorsMapped`, then the SQLite cases people should read plainly (see module)."""
        try:
            with ErrorsMapped(self._dialect, _WHAT):
                yield
        except StoreCorruptError:
            raise
        except StoreUnavailableError as exc:
            said = _driver_message(exc.__cause__)
            if self._dialect == "sqlite" and any(text in said for text in _LOCKED):
                raise StoreUnavailableError(
                    "the sqlite mirror database is locked by another process (a write "
                    "is under way elsewhere): try again when it is done",
                    backend=self._dialect,
                ) from exc.__cause__
            if self._dialect == "sqlite" and any(text in said for text in _CORRUPT):
                raise self._corrupt("the sqlite mirror database file") from exc.__cause__
            raise

    def _corrupt(self, what: str) -> StoreCorruptError:
        return StoreCorruptError(
            f"{what} cannot be read (damaged, or not a mirror database): restore it from a "
            "backup, or delete it and run a full sync again",
            backend=self._dialect,
        )


def _driver_message(exc: BaseException | None) -> str:
    """The error's text, lower-cased: for a SQLAlchemy error, the driver's own message, then
    the SQL (its parameters hidden, see `ErrorsMapped`), whose names hold no text searched for."""
    return str(exc).lower()


def _last_updated(entity: QBOEntity) -> str | None:
    when: datetime | None
    if isinstance(entity, RawEntity):
        meta = entity.data.get("MetaData")
        text = meta.get("LastUpdatedTime") if isinstance(meta, Mapping) else None
        try:
            when = datetime.fromisoformat(text) if isinstance(text, str) else None
        except ValueError:
            when = None
    else:
        when = entity.meta.last_updated_time if entity.meta is not None else None
    if when is None or when.utcoffset() is None:
        return None
    return when.astimezone(UTC).isoformat()


def _row(realm_id: str, entity: QBOEntity) -> dict[str, str | None]:
    entity_id = entity.id
    if entity_id is None:
        raise ValueError(f"a {entity_type_of(entity)} without an Id cannot be mirrored")
    return {
        "realm_id": realm_id,
        "entity_type": entity_type_of(entity),
        "id": entity_id,
        "sync_token": entity.sync_token,
        "last_updated": _last_updated(entity),
        "body": canonical_json(entity).decode(),
    }
