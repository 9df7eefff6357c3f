"""`SqlMirror` beyond the Mirror contract (tests/adapters/test_mirror.py): what its tables
hold for other readers, its schema name, its repr, and the messages of its errors."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from qbo_adapters.sql.mirror import SqlMirror
from qbo_core.dtos import EntitySummary, MirrorProgress
from qbo_core.entities import Customer, MetaData, RawEntity
from qbo_core.errors import ConfigurationError, StoreCorruptError, StoreUnavailableError
from qbo_core.wire.canonical import entity_checksum
from tests.adapters.sql_databases import (
    POSTGRES_URL,
    disposing,
    postgres_engine,
    postgres_schema,
    sqlite_engine,
)

REALM = "9130350000000001"
PACIFIC = timezone(timedelta(hours=-7))


def _raw(entity_id: str, meta: Any) -> RawEntity:
    data: dict[str, Any] = {"Id": entity_id, "SyncToken": "3"}
    if meta is not None:
        data["MetaData"] = meta
    return RawEntity(entity_type="Estimate", data=data)


async def _rows(engine: AsyncEngine) -> dict[str, tuple[str | None, str | None]]:
    async with engine.connect() as connection:
        result = await connection.execute(
            sa.text("SELECT id, sync_token, last_updated FROM qbo_mirror_entities")
        )
        return {entity_id: (token, updated) for entity_id, token, updated in result}


async def test_rows_hold_the_sync_token_and_the_last_update_in_utc(tmp_path: Path) -> None:
    """Each row keeps the entity's SyncToken and its LastUpdatedTime as ISO text in UTC, for
    hosts that query the table; a time that is missing, naive or unreadable is stored NULL.
    An upsert of a row already there replaces both."""
    engine = sqlite_engine(tmp_path / "mirror.sqlite3")
    async with disposing(engine):
        mirror = SqlMirror(engine)
        await mirror.apply(
            REALM,
            upserts=[
                Customer(
                    id="1",
                    sync_token="7",
                    meta=MetaData(last_updated_time=datetime(2031, 1, 1, 17, 30, tzinfo=PACIFIC)),
                ),
                Customer(id="3", meta=MetaData()),
                Customer(id="4"),
                _raw("11", {"LastUpdatedTime": "2031-01-01T17:30:00-07:00"}),
                _raw("12", {"LastUpdatedTime": "2031-01-01T17:30:00"}),
                _raw("13", {"LastUpdatedTime": "yesterday"}),
                _raw("14", {"LastUpdatedTime": 1_700_000_000}),
                _raw("15", "2031-01-01T17:30:00-07:00"),
                _raw("16", None),
            ],
        )
        assert await _rows(engine) == {
            "1": ("7", "2031-01-02T00:30:00+00:00"),
            "3": (None, None),
            "4": (None, None),
            "11": ("3", "2031-01-02T00:30:00+00:00"),
            "12": ("3", None),
            "13": ("3", None),
            "14": ("3", None),
            "15": ("3", None),
            "16": ("3", None),
        }
        later = datetime(2031, 1, 2, 9, 0, tzinfo=PACIFIC)
        await mirror.apply(
            REALM,
            upserts=[Customer(id="1", sync_token="8", meta=MetaData(last_updated_time=later))],
        )
        assert (await _rows(engine))["1"] == ("8", "2031-01-02T16:00:00+00:00")


async def test_a_summary_of_many_thousand_rows_is_their_checksum(tmp_path: Path) -> None:
    """`summary` reads the rows in batches and sums the batches' checksums modulo 2**256:
    2,500 rows of a type give the count and the same checksum as all of them at once."""
    engine = sqlite_engine(tmp_path / "mirror.sqlite3")
    async with disposing(engine):
        mirror = SqlMirror(engine)
        customers = [Customer(id=str(index), display_name=f"C{index}") for index in range(2_500)]
        estimates = [_raw("1", None)]
        await mirror.apply(REALM, upserts=[*estimates, *customers])
        assert await mirror.summary(REALM) == {
            "Customer": EntitySummary(count=2_500, checksum=entity_checksum(customers)),
            "Estimate": EntitySummary(count=1, checksum=entity_checksum(estimates)),
        }


async def test_repr_names_the_dialect_and_the_schema() -> None:
    """The repr says which database and which schema the mirror is on."""
    engine = create_async_engine("sqlite+aiosqlite://")
    postgres = create_async_engine(POSTGRES_URL)
    async with disposing(engine, postgres):
        assert repr(SqlMirror(engine)) == "SqlMirror(dialect='sqlite', schema=None)"
        assert (
            repr(SqlMirror(postgres, schema="books"))
            == "SqlMirror(dialect='postgresql', schema='books')"
        )


async def test_a_schema_name_is_a_postgres_identifier_of_at_most_63_characters() -> None:
    """A letter or underscore, then letters, digits or underscores, 63 characters in all
    (PostgreSQL's limit): anything else is refused by name, with the field."""
    engine = create_async_engine(POSTGRES_URL)
    async with disposing(engine):
        for good in ("m", "_", "Mirror_2", "a" * 63):
            SqlMirror(engine, schema=good)
        for bad in ("", "2mirror", "my-mirror", "a" * 64, "mirror\n"):
            with pytest.raises(ConfigurationError) as refused:
                SqlMirror(engine, schema=bad)
            assert refused.value.message == (f"schema must be a plain SQL identifier, got {bad!r}")
            assert refused.value.field == "schema"
    sqlite = create_async_engine("sqlite+aiosqlite://")
    async with disposing(sqlite):
        with pytest.raises(ConfigurationError) as refused:
            SqlMirror(sqlite, schema="mirror")
    assert refused.value.message == "SqlMirror's schema is a PostgreSQL schema; SQLite has none"
    assert refused.value.field == "schema"


async def test_an_unreachable_postgres_says_which_store_failed() -> None:
    """A refused connection is StoreUnavailableError naming the database and the mirror,
    retryable, with the backend."""
    engine = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:1/test")
    async with disposing(engine):
        with pytest.raises(StoreUnavailableError) as failed:
            await SqlMirror(engine).ids(REALM, "Customer")
    assert failed.value.message.startswith(
        "the postgresql mirror database failed or is unreachable: "
    )
    assert failed.value.backend == "postgresql"
    assert failed.value.retryable


def _corrupt(what: str) -> str:
    return (
        f"{what} cannot be read (damaged, or not a mirror database): restore it from a "
        "backup, or delete it and run a full sync again"
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("{x", id="not-json"),
        pytest.param("[]", id="not-an-object"),
        pytest.param('{"Id": 5}', id="wrong-field-type"),
        pytest.param("[" * 100_000 + "]" * 100_000, id="nested-too-deep"),
    ],
)
async def test_a_stored_entity_that_cannot_be_decoded_is_a_corrupt_store(
    tmp_path: Path, body: str
) -> None:
    """A body another writer left unreadable (not JSON, not an entity, nested past the
    parser's depth) raises StoreCorruptError naming the entity and what to do."""
    engine = sqlite_engine(tmp_path / "mirror.sqlite3")
    async with disposing(engine):
        mirror = SqlMirror(engine)
        await mirror.apply(REALM, upserts=[Customer(id="1", display_name="A")])
        async with engine.begin() as connection:
            await connection.execute(
                sa.text("UPDATE qbo_mirror_entities SET body = :body"), {"body": body}
            )
        with pytest.raises(StoreCorruptError) as raised:
            await mirror.get(REALM, "Customer", "1")
    assert raised.value.message == _corrupt("the stored Customer 1")
    assert raised.value.backend == "sqlite"
    assert not raised.value.retryable


@pytest.mark.parametrize("stored", ["nope", "[]", '{"full": "yes"}'])
async def test_stored_progress_that_cannot_be_decoded_is_a_corrupt_store(
    tmp_path: Path, stored: str
) -> None:
    """Progress that is not JSON, or not a MirrorProgress, raises StoreCorruptError naming
    the realm."""
    engine = sqlite_engine(tmp_path / "mirror.sqlite3")
    async with disposing(engine):
        mirror = SqlMirror(engine)
        await mirror.apply(REALM, progress=MirrorProgress())
        async with engine.begin() as connection:
            await connection.execute(
                sa.text("UPDATE qbo_mirror_progress SET progress = :stored"), {"stored": stored}
            )
        with pytest.raises(StoreCorruptError) as raised:
            await mirror.progress(REALM)
    assert raised.value.message == _corrupt(f"the progress stored for realm {REALM}")


async def test_a_file_that_is_not_a_database_says_so_and_what_to_do(tmp_path: Path) -> None:
    """Reading a file of garbage raises StoreCorruptError for the file, the driver's error
    chained."""
    path = tmp_path / "mirror.sqlite3"
    path.write_bytes(b"this is not a SQLite database, just some bytes" * 100)
    engine = sqlite_engine(path)
    async with disposing(engine):
        with pytest.raises(StoreCorruptError) as raised:
            await SqlMirror(engine).realms()
    assert raised.value.message == _corrupt("the sqlite mirror database file")
    assert raised.value.backend == "sqlite"
    assert "file is not a database" in str(raised.value.__cause__)


async def test_a_locked_sqlite_file_says_so_and_when_to_retry(tmp_path: Path) -> None:
    """While another connection holds the write lock, a write raises StoreUnavailableError
    saying the file is locked and to try again later, the driver's error chained."""
    path = tmp_path / "mirror.sqlite3"
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 0.05})
    async with disposing(engine):
        mirror = SqlMirror(engine)
        await mirror.apply(REALM, progress=MirrorProgress())
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN EXCLUSIVE")
            with pytest.raises(StoreUnavailableError) as raised:
                await mirror.drop_realm(REALM)
        finally:
            other.close()
    assert raised.value.message == (
        "the sqlite mirror database is locked by another process (a write is under way "
        "elsewhere): try again when it is done"
    )
    assert raised.value.backend == "sqlite"
    assert "database is locked" in str(raised.value.__cause__)


async def test_an_entity_without_an_id_is_refused_by_type(tmp_path: Path) -> None:
    """`apply` refuses an entity without an Id, naming its type, before writing anything."""
    engine = sqlite_engine(tmp_path / "mirror.sqlite3")
    async with disposing(engine):
        mirror = SqlMirror(engine)
        with pytest.raises(ValueError, match=r"^a Customer without an Id cannot be mirrored$"):
            await mirror.apply(REALM, upserts=[_raw("1", None), Customer(display_name="A")])
        assert await mirror.realms() == ()


async def test_an_unopenable_sqlite_file_is_neither_locked_nor_corrupt(tmp_path: Path) -> None:
    """A file that cannot be opened (its directory is missing) is the plain
    StoreUnavailableError of any failure, not the message of a lock or a damaged file."""
    engine = sqlite_engine(tmp_path / "missing" / "mirror.sqlite3")
    async with disposing(engine):
        with pytest.raises(StoreUnavailableError) as failed:
            await SqlMirror(engine).realms()
    for thread in threading.enumerate():  # aiosqlite's worker: see test_store_ping.py
        if thread.name.endswith("(_connection_worker_thread)"):
            await asyncio.to_thread(thread.join, 5)
    assert type(failed.value) is StoreUnavailableError
    assert failed.value.message == (
        "the sqlite mirror database failed or is unreachable: OperationalError"
    )


@pytest.mark.postgres
async def test_its_own_schema_is_made_on_first_use_only() -> None:
    """With `schema=`, the first call creates the schema and the tables; later calls run just
    their own statement."""
    async with postgres_schema() as home:
        engine = postgres_engine(home)
        statements: list[str] = []

        def record(*args: Any) -> None:
            statements.append(args[2])

        async with disposing(engine):
            own = f"{home}_mirror"
            try:
                sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
                mirror = SqlMirror(engine, schema=own)
                await mirror.realms()
                assert any("CREATE SCHEMA" in statement for statement in statements)
                statements.clear()
                assert await mirror.realms() == ()
                assert await mirror.ids(REALM, "Customer") == frozenset()
                assert len(statements) == 2
            finally:
                async with engine.begin() as connection:
                    await connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{own}" CASCADE'))


async def test_a_damaged_database_file_is_a_corrupt_store(tmp_path: Path) -> None:
    """A mirror file whose pages were overwritten ("database disk image is malformed")
    raises StoreCorruptError for the file."""
    path = tmp_path / "mirror.sqlite3"
    engine = sqlite_engine(path)
    async with disposing(engine):
        upserts = [Customer(id=str(index), display_name="x" * 200) for index in range(200)]
        await SqlMirror(engine).apply(REALM, upserts=upserts)
    damaged = bytearray(path.read_bytes())
    damaged[4096:] = b"\xab" * (len(damaged) - 4096)  # every page past the first
    path.write_bytes(bytes(damaged))
    engine = sqlite_engine(path)
    async with disposing(engine):
        with pytest.raises(StoreCorruptError) as raised:
            await SqlMirror(engine).summary(REALM)
    assert raised.value.message == _corrupt("the sqlite mirror database file")
    assert "malformed" in str(raised.value.__cause__)


async def test_a_table_lock_inside_sqlite_reads_as_locked_too(tmp_path: Path) -> None:
    """SQLite's other lock message, "database table is locked", is the same plain
    StoreUnavailableError as a database lock (here raised by the driver on cue)."""
    engine = sqlite_engine(tmp_path / "mirror.sqlite3")

    def locked(*_: Any) -> None:
        raise sqlite3.OperationalError("database table is locked")

    async with disposing(engine):
        mirror = SqlMirror(engine)
        await mirror.apply(REALM, progress=MirrorProgress())
        sa.event.listen(engine.sync_engine, "before_cursor_execute", locked)
        with pytest.raises(StoreUnavailableError, match="is locked by another process"):
            await mirror.realms()


async def test_the_mirror_tables_have_the_released_columns(tmp_path: Path) -> None:
    """`qbo_mirror_entities` and `qbo_mirror_progress` are written with exactly the columns
    of schema version 1, by name, type, nullability and key: the format hosts query and
    other releases read."""
    engine = sqlite_engine(tmp_path / "mirror.sqlite3")
    async with disposing(engine):
        await SqlMirror(engine).realms()
        async with engine.connect() as connection:
            tables = {
                table: [
                    (name, kind, notnull, key)
                    for _, name, kind, notnull, _, key in (
                        await connection.execute(sa.text(f"PRAGMA table_info({table})"))
                    ).all()
                ]
                for table in ("qbo_mirror_entities", "qbo_mirror_progress")
            }
    assert tables == {
        "qbo_mirror_entities": [
            ("realm_id", "VARCHAR(32)", 1, 1),
            ("entity_type", "VARCHAR(64)", 1, 2),
            ("id", "TEXT", 1, 3),
            ("sync_token", "TEXT", 0, 0),
            ("last_updated", "VARCHAR(40)", 0, 0),
            ("body", "TEXT", 1, 0),
        ],
        "qbo_mirror_progress": [
            ("realm_id", "VARCHAR(32)", 1, 1),
            ("progress", "TEXT", 1, 0),
        ],
    }


async def test_mirror_tables_without_a_version_record_are_adopted(tmp_path: Path) -> None:
    """A database holding the mirror's tables but no schema-version record for them (the
    record deleted, or the tables made by hand from the released columns) is taken over
    on first use: its rows stay and the record is written."""
    engine = sqlite_engine(tmp_path / "mirror.sqlite3")
    async with disposing(engine):
        await SqlMirror(engine).apply(REALM, upserts=[Customer(id="1", display_name="A")])
        async with engine.begin() as connection:
            await connection.execute(sa.text("DELETE FROM qbo_schema_versions"))
        assert await SqlMirror(engine).ids(REALM, "Customer") == {"1"}
        async with engine.connect() as connection:
            versions = (
                await connection.execute(
                    sa.text("SELECT component, version FROM qbo_schema_versions")
                )
            ).all()
    assert [tuple(row) for row in versions] == [("mirror", 1)]


async def test_an_unsupported_dialect_is_refused_by_name() -> None:
    """Only sqlite and postgresql engines are accepted; the error names the adapter and the
    dialect."""
    engine = SimpleNamespace(dialect=SimpleNamespace(name="mysql"))
    with pytest.raises(ConfigurationError) as refused:
        SqlMirror(cast(AsyncEngine, engine))
    assert refused.value.message == "SqlMirror supports sqlite and postgresql, not 'mysql'"
    assert refused.value.field == "engine"


async def test_update_times_are_stored_in_utc_whatever_the_local_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a host whose local zone is not UTC, `last_updated` is still UTC text."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        engine = sqlite_engine(tmp_path / "mirror.sqlite3")
        async with disposing(engine):
            updated = MetaData(last_updated_time=datetime(2031, 1, 1, 17, 30, tzinfo=PACIFIC))
            await SqlMirror(engine).apply(REALM, upserts=[Customer(id="1", meta=updated)])
            rows = await _rows(engine)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert rows == {"1": (None, "2031-01-02T00:30:00+00:00")}


async def test_an_unreachable_postgres_ping_says_which_store_failed() -> None:
    """`ping` of a server nobody listens for is StoreUnavailableError naming the database
    and the mirror, with the backend."""
    engine = create_async_engine(
        "postgresql+asyncpg://postgres@127.0.0.1:1/test", connect_args={"timeout": 5}
    )
    async with disposing(engine):
        with pytest.raises(StoreUnavailableError) as failed:
            await SqlMirror(engine).ping()
    assert failed.value.message.startswith(
        "the postgresql mirror database failed or is unreachable: "
    )
    assert failed.value.backend == "postgresql"
