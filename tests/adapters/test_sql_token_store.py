"""`SqlTokenStore`: the TokenStore contract on SQLite and PostgreSQL, plus what SQL adds."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import traceback
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import attrs
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.sql import token_store as token_store_module
from qbo_adapters.sql.token_store import SqlTokenStore
from qbo_adapters.testing.token_store import TokenStoreContract
from qbo_core.dtos import TokenSet, VersionedTokenSet
from qbo_core.errors import ConfigurationError, ConflictError, StoreUnavailableError
from qbo_core.ports.token_store import TokenStore
from tests.adapters.sql_databases import (
    disposing,
    postgres_engine,
    postgres_schema,
    sqlite_engine,
    sqlite_file,
)


class TestSqliteTokenStore(TokenStoreContract):
    """The contract against a fresh SQLite file."""

    # Real round trips: the state machine runs fewer examples, each with the profile's steps.
    state_machine_examples = 50

    @contextlib.asynccontextmanager
    async def make_token_store(self, clock: FakeClock) -> AsyncIterator[TokenStore]:
        async with sqlite_file() as path:
            engine = sqlite_engine(path)
            async with disposing(engine):
                yield SqlTokenStore(engine)


@pytest.mark.postgres
class TestPostgresTokenStore(TokenStoreContract):
    """The contract against a fresh schema of the real PostgreSQL."""

    # Real round trips: the state machine runs fewer examples, each with the profile's steps.
    state_machine_examples = 50

    @contextlib.asynccontextmanager
    async def make_token_store(self, clock: FakeClock) -> AsyncIterator[TokenStore]:
        async with postgres_schema() as schema:
            engine = postgres_engine(schema)
            async with disposing(engine):
                yield SqlTokenStore(engine)


def _tokens(label: str) -> TokenSet:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return TokenSet(
        access_token=f"access-secret-{label}",
        refresh_token=f"refresh-secret-{label}",
        access_token_expires_at=start + timedelta(hours=1),
        refresh_token_expires_at=start + timedelta(days=100),
    )


_SCHEMA_VERSIONS_TABLE = (
    "CREATE TABLE qbo_schema_versions (component VARCHAR(64) PRIMARY KEY, version INTEGER NOT NULL)"
)
#: `qbo_tokens` as version 1 of the schema made it.
_TOKENS_TABLE_V1 = (
    "CREATE TABLE qbo_tokens (realm_id TEXT PRIMARY KEY, version INTEGER NOT NULL,"
    " access_token TEXT NOT NULL, refresh_token TEXT NOT NULL,"
    " access_token_expires_at VARCHAR(40) NOT NULL, refresh_token_expires_at VARCHAR(40)"
    " NOT NULL, refresh_token_hard_expires_at VARCHAR(40), token_type TEXT NOT NULL,"
    " scope TEXT, token_realm_id TEXT)"
)


# -- one database, two engines: what two processes would see ------------------------------

EngineFactory = Callable[[], AsyncEngine]


@contextlib.asynccontextmanager
async def _sqlite_engines() -> AsyncIterator[EngineFactory]:
    async with sqlite_file() as path:
        yield lambda: sqlite_engine(path)


@contextlib.asynccontextmanager
async def _postgres_engines() -> AsyncIterator[EngineFactory]:
    async with postgres_schema() as schema:
        yield lambda: postgres_engine(schema)


DATABASES = [
    pytest.param(_sqlite_engines, id="sqlite"),
    pytest.param(_postgres_engines, id="postgres", marks=pytest.mark.postgres),
]


@pytest.mark.parametrize("databases", DATABASES)
async def test_two_engines_racing_compare_and_set_see_one_winner(
    databases: Callable[[], contextlib.AbstractAsyncContextManager[EngineFactory]],
) -> None:
    """Saves from two engines (separate connection pools, as two processes have) naming
    one version, first use and schema creation included: exactly one wins each round."""
    async with databases() as make_engine:
        first, second = make_engine(), make_engine()
        async with disposing(first, second):
            stores = [SqlTokenStore(first), SqlTokenStore(second)]
            expected: int | None = None
            for round_number in range(3):
                candidates = [_tokens(f"{round_number}-{index}") for index in range(8)]
                outcomes = await asyncio.gather(
                    *(
                        stores[index % 2].save("r1", tokens, expected_version=expected)
                        for index, tokens in enumerate(candidates)
                    ),
                    return_exceptions=True,
                )
                winners = [item for item in outcomes if isinstance(item, VersionedTokenSet)]
                losers = [item for item in outcomes if isinstance(item, ConflictError)]
                assert len(winners) == 1, outcomes
                assert len(losers) == len(candidates) - 1, [
                    repr(o.__cause__)
                    for o in outcomes
                    if not isinstance(o, VersionedTokenSet | ConflictError)
                ]
                assert await stores[0].load("r1") == winners[0]
                assert await stores[1].load("r1") == winners[0]
                expected = winners[0].version
            assert expected == 3


@pytest.mark.parametrize("databases", DATABASES)
async def test_concurrent_first_use_creates_the_schema_once(
    databases: Callable[[], contextlib.AbstractAsyncContextManager[EngineFactory]],
) -> None:
    """Five stores on five engines used for the first time together all work, and the
    schema is recorded at the latest version exactly once."""
    async with databases() as make_engine:
        engines = [make_engine() for _ in range(5)]
        async with disposing(*engines):
            stores = [SqlTokenStore(engine) for engine in engines]
            loaded = await asyncio.gather(*(store.load("r1") for store in stores))
            assert loaded == [None] * 5
            async with engines[0].connect() as connection:
                rows = (
                    await connection.execute(
                        sa.text("SELECT component, version FROM qbo_schema_versions")
                    )
                ).all()
            assert [tuple(row) for row in rows] == [("token_store", 2)]


async def test_an_old_schema_is_upgraded_in_place(tmp_path: Path) -> None:
    """A database recorded at schema version 0 (before the tokens table) is upgraded on
    first use, and what was in it stays."""
    engine = sqlite_engine(tmp_path / "old.sqlite3")
    async with disposing(engine):
        async with engine.begin() as connection:
            await connection.execute(sa.text(_SCHEMA_VERSIONS_TABLE))
            await connection.execute(
                sa.text("INSERT INTO qbo_schema_versions VALUES ('token_store', 0)")
            )
            await connection.execute(sa.text("CREATE TABLE unrelated (x INTEGER)"))
        store = SqlTokenStore(engine)
        saved = await store.save("r1", _tokens("a"), expected_version=None)
        assert await store.load("r1") == saved
        async with engine.connect() as connection:
            version = (
                await connection.execute(sa.text("SELECT version FROM qbo_schema_versions"))
            ).scalar_one()
            tables = (
                (await connection.execute(sa.text("SELECT name FROM sqlite_master")))
                .scalars()
                .all()
            )
        assert version == 2
        assert "unrelated" in tables


async def test_a_version_1_schema_gains_the_connection_marks_and_keeps_its_tokens(
    tmp_path: Path,
) -> None:
    """A database at schema version 1 (tokens without the reauthorization and revoked
    marks) is upgraded to version 2 on first use: its tokens load unchanged, unmarked, and
    a mark can then be saved and read back."""
    engine = sqlite_engine(tmp_path / "v1.sqlite3")
    async with disposing(engine):
        async with engine.begin() as connection:
            await connection.execute(sa.text(_SCHEMA_VERSIONS_TABLE))
            await connection.execute(
                sa.text("INSERT INTO qbo_schema_versions VALUES ('token_store', 1)")
            )
            await connection.execute(sa.text(_TOKENS_TABLE_V1))
            await connection.execute(
                sa.text(
                    "INSERT INTO qbo_tokens VALUES ('r1', 3, 'acc', 'ref',"
                    " '2026-01-01T00:00:00.000000+00:00', '2026-04-01T00:00:00.000000+00:00',"
                    " NULL, 'bearer', NULL, 'r1')"
                )
            )
        store = SqlTokenStore(engine)
        loaded = await store.load("r1")
        assert loaded is not None
        assert loaded.version == 3
        assert loaded.tokens.refresh_token == "ref"
        assert loaded.tokens.reauthorization_required_at is None
        assert loaded.tokens.revoked_at is None
        marked = attrs.evolve(loaded.tokens, revoked_at=datetime(2026, 2, 1, tzinfo=UTC))
        saved = await store.save("r1", marked, expected_version=3)
        assert await store.load("r1") == saved
        async with engine.connect() as connection:
            version = (
                await connection.execute(sa.text("SELECT version FROM qbo_schema_versions"))
            ).scalar_one()
        assert version == 2


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    """A database whose schema a newer qbo-infra wrote is refused with ConfigurationError,
    and nothing is written to it."""
    engine = sqlite_engine(tmp_path / "newer.sqlite3")
    async with disposing(engine):
        async with engine.begin() as connection:
            await connection.execute(sa.text(_SCHEMA_VERSIONS_TABLE))
            await connection.execute(
                sa.text("INSERT INTO qbo_schema_versions VALUES ('token_store', 99)")
            )
        with pytest.raises(ConfigurationError, match="upgrade qbo-infra"):
            await SqlTokenStore(engine).load("r1")
        async with engine.connect() as connection:
            tables = (
                (await connection.execute(sa.text("SELECT name FROM sqlite_master")))
                .scalars()
                .all()
            )
        assert "qbo_tokens" not in tables


async def test_instants_are_stored_as_utc_text(tmp_path: Path) -> None:
    """Expiry instants are kept as ISO 8601 UTC text with microseconds, readable in SQL."""
    engine = sqlite_engine(tmp_path / "tokens.sqlite3")
    async with disposing(engine):
        tokens = _tokens("a")
        await SqlTokenStore(engine).save("r1", tokens, expected_version=None)
        async with engine.connect() as connection:
            stored = (
                await connection.execute(sa.text("SELECT access_token_expires_at FROM qbo_tokens"))
            ).scalar_one()
        assert stored == "2026-01-01T01:00:00.000000+00:00"


async def test_an_unopenable_sqlite_file_is_store_unavailable(tmp_path: Path) -> None:
    """A SQLite path in a directory that does not exist gives StoreUnavailableError."""
    engine = sqlite_engine(tmp_path / "missing" / "tokens.sqlite3")
    async with disposing(engine):
        with pytest.raises(StoreUnavailableError) as caught:
            await SqlTokenStore(engine).load("r1")
    # aiosqlite's worker thread stops after a failed connect by calling back into this
    # loop; wait for it, or it finds the loop closed (and warns) in a later test.
    for thread in threading.enumerate():
        if thread.name.endswith("(_connection_worker_thread)"):
            await asyncio.to_thread(thread.join, 5)
    assert caught.value.backend == "sqlite"
    assert caught.value.retryable is True
    assert caught.value.__cause__ is not None


async def test_an_unreachable_postgres_is_store_unavailable() -> None:
    """A PostgreSQL server nobody listens for gives StoreUnavailableError, quickly."""
    pytest.importorskip("asyncpg", reason="the postgres extra (asyncpg) is not installed")
    engine = create_async_engine(
        "postgresql+asyncpg://postgres@127.0.0.1:1/test", connect_args={"timeout": 5}
    )
    async with disposing(engine):
        with pytest.raises(StoreUnavailableError) as caught:
            await SqlTokenStore(engine).save("r1", _tokens("a"), expected_version=None)
    assert caught.value.backend == "postgresql"


async def test_a_failed_save_shows_no_token_anywhere_in_its_chain(tmp_path: Path) -> None:
    """When the database refuses a save, the error and every chained exception, printed
    in full as a log would, name no token (the SQL parameters are hidden)."""
    engine = sqlite_engine(tmp_path / "tokens.sqlite3")
    async with disposing(engine):
        store = SqlTokenStore(engine)
        await store.load("r1")  # the schema exists now
        async with engine.begin() as connection:
            await connection.execute(sa.text("DROP TABLE qbo_tokens"))
        with pytest.raises(StoreUnavailableError) as caught:
            await store.save("r1", _tokens("leak"), expected_version=None)
    printed = "".join(traceback.format_exception(caught.value))
    assert "OperationalError" in printed
    assert "secret" not in printed


async def test_an_unsupported_dialect_is_a_configuration_error() -> None:
    """An engine on a database other than SQLite or PostgreSQL is refused at construction."""
    engine = SimpleNamespace(dialect=SimpleNamespace(name="mysql"))
    with pytest.raises(ConfigurationError, match="sqlite and postgresql"):
        SqlTokenStore(cast(AsyncEngine, engine))


async def test_repr_names_the_dialect_and_no_token(tmp_path: Path) -> None:
    """The store's repr says which database it uses and nothing else."""
    engine = sqlite_engine(tmp_path / "tokens.sqlite3")
    async with disposing(engine):
        store = SqlTokenStore(engine)
        await store.save("r1", _tokens("a"), expected_version=None)
        assert repr(store) == "SqlTokenStore(dialect='sqlite')"


async def test_conflicts_say_which_operation_and_versions(tmp_path: Path) -> None:
    """A refused save or guarded delete raises `ConflictError` whose message names the
    operation, the version expected and the one held, with the realm and both versions."""
    engine = sqlite_engine(tmp_path / "tokens.sqlite3")
    async with disposing(engine):
        store = SqlTokenStore(engine)
        await store.save("r1", _tokens("a"), expected_version=None)
        with pytest.raises(ConflictError) as caught:
            await store.save("r1", _tokens("b"), expected_version=None)
        assert caught.value.message == "token save expected version None, but the store holds 1"
        assert caught.value.realm_id == "r1"
        with pytest.raises(ConflictError) as caught:
            await store.save("r1", _tokens("b"), expected_version=4)
        assert caught.value.message == "token save expected version 4, but the store holds 1"
        with pytest.raises(ConflictError) as caught:
            await store.delete("r1", expected_version=7)
        assert caught.value.message == "token delete expected version 7, but the store holds 1"
        assert caught.value.realm_id == "r1"
        assert (caught.value.expected, caught.value.actual) == (7, 1)


async def test_a_database_failure_names_the_database_and_the_store(tmp_path: Path) -> None:
    """A statement the database refuses is `StoreUnavailableError` saying which database,
    which store, and the kind of failure (no SQL, no parameters)."""
    engine = sqlite_engine(tmp_path / "tokens.sqlite3")
    async with disposing(engine):
        store = SqlTokenStore(engine)
        await store.load("r1")
        async with engine.begin() as connection:
            await connection.execute(sa.text("DROP TABLE qbo_tokens"))
        with pytest.raises(StoreUnavailableError) as caught:
            await store.load("r1")
    assert caught.value.message == (
        "the sqlite token store failed or is unreachable: OperationalError"
    )
    assert caught.value.backend == "sqlite"


async def test_refusals_of_the_engine_say_why(tmp_path: Path) -> None:
    """An unsupported dialect and a schema newer than this code are `ConfigurationError`s
    on `engine`, whose messages name the store, the dialect or both versions."""
    mysql = SimpleNamespace(dialect=SimpleNamespace(name="mysql"))
    with pytest.raises(ConfigurationError) as caught:
        SqlTokenStore(cast(AsyncEngine, mysql))
    assert caught.value.message == "SqlTokenStore supports sqlite and postgresql, not 'mysql'"
    assert caught.value.field == "engine"
    engine = sqlite_engine(tmp_path / "newer.sqlite3")
    async with disposing(engine):
        async with engine.begin() as connection:
            await connection.execute(sa.text(_SCHEMA_VERSIONS_TABLE))
            await connection.execute(
                sa.text("INSERT INTO qbo_schema_versions VALUES ('token_store', 3)")
            )
        with pytest.raises(ConfigurationError) as caught:
            await SqlTokenStore(engine).load("r1")
    assert caught.value.message == (
        "the token store's schema is at version 3, newer than this qbo-infra knows (2): "
        "upgrade qbo-infra"
    )
    assert caught.value.field == "engine"


@pytest.mark.parametrize(("operation", "expected"), [("save", None), ("save", 4), ("delete", 4)])
async def test_a_store_losing_every_race_gives_up_after_five_tries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, operation: str, expected: int | None
) -> None:
    """A write that misses its row yet re-reads the version it expected has lost a race
    and is tried again, five times in all; then it raises `ConflictError` (nothing held)."""
    engine = sqlite_engine(tmp_path / "tokens.sqlite3")
    async with disposing(engine):
        store = SqlTokenStore(engine)
        reads: list[str] = []

        async def racing_version(_connection: object, realm_id: str) -> int | None:
            reads.append(realm_id)
            return expected  # as if another writer changed the row back in between

        if expected is None:  # an insert misses only when the row exists
            await store.save("r1", _tokens("a"), expected_version=None)
        monkeypatch.setattr(token_store_module, "_version", racing_version)
        write = (
            store.save("r1", _tokens("b"), expected_version=expected)
            if operation == "save"
            else store.delete("r1", expected_version=expected)
        )
        with pytest.raises(ConflictError) as caught:
            await write
    assert reads == ["r1"] * 5
    assert caught.value.message == (
        f"token {operation} expected version {expected}, but the store holds None"
    )
    assert caught.value.realm_id == "r1"
    assert (caught.value.expected, caught.value.actual) == (expected, None)


async def test_the_tokens_table_has_the_released_columns(tmp_path: Path) -> None:
    """`qbo_tokens` is written with exactly the columns of schema version 2, by name, type,
    nullability and key: the format other releases and hosts read."""
    engine = sqlite_engine(tmp_path / "tokens.sqlite3")
    async with disposing(engine):
        await SqlTokenStore(engine).load("r1")
        async with engine.connect() as connection:
            columns = (await connection.execute(sa.text("PRAGMA table_info(qbo_tokens)"))).all()
            names = (
                await connection.execute(
                    sa.text("SELECT name FROM sqlite_master WHERE type='table'")
                )
            ).scalars()
            assert sorted(names) == ["qbo_schema_versions", "qbo_tokens"]
    assert [(name, kind, notnull, key) for _, name, kind, notnull, _, key in columns] == [
        ("realm_id", "TEXT", 1, 1),
        ("version", "INTEGER", 1, 0),
        ("access_token", "TEXT", 1, 0),
        ("refresh_token", "TEXT", 1, 0),
        ("access_token_expires_at", "VARCHAR(40)", 1, 0),
        ("refresh_token_expires_at", "VARCHAR(40)", 1, 0),
        ("refresh_token_hard_expires_at", "VARCHAR(40)", 0, 0),
        ("token_type", "TEXT", 1, 0),
        ("scope", "TEXT", 0, 0),
        ("token_realm_id", "TEXT", 0, 0),
        ("reauthorization_required_at", "VARCHAR(40)", 0, 0),
        ("revoked_at", "VARCHAR(40)", 0, 0),
    ]


async def test_instants_are_stored_in_utc_whatever_the_local_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a host whose local zone is not UTC, instants are still stored as UTC text."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        engine = sqlite_engine(tmp_path / "tokens.sqlite3")
        async with disposing(engine):
            await SqlTokenStore(engine).save("r1", _tokens("a"), expected_version=None)
            async with engine.connect() as connection:
                stored = (
                    await connection.execute(
                        sa.text("SELECT refresh_token_expires_at FROM qbo_tokens")
                    )
                ).scalar_one()
    finally:
        monkeypatch.undo()
        time.tzset()
    assert stored == "2026-04-11T00:00:00.000000+00:00"


async def test_a_tokens_table_without_a_version_record_is_adopted(tmp_path: Path) -> None:
    """A database holding `qbo_tokens` at version 1 but no schema-version record (written
    before versions were recorded) is taken over on first use: its tokens stay, the marks
    are added, and the table keeps its name."""
    engine = sqlite_engine(tmp_path / "unversioned.sqlite3")
    async with disposing(engine):
        async with engine.begin() as connection:
            await connection.execute(sa.text(_TOKENS_TABLE_V1))
            await connection.execute(
                sa.text(
                    "INSERT INTO qbo_tokens VALUES ('r1', 2, 'acc', 'ref',"
                    " '2026-01-01T00:00:00.000000+00:00', '2026-04-01T00:00:00.000000+00:00',"
                    " NULL, 'bearer', NULL, 'r1')"
                )
            )
        loaded = await SqlTokenStore(engine).load("r1")
        async with engine.connect() as connection:
            tables = (
                (await connection.execute(sa.text("SELECT name FROM sqlite_master")))
                .scalars()
                .all()
            )
    assert loaded is not None
    assert (loaded.version, loaded.tokens.access_token) == (2, "acc")
    assert loaded.tokens.revoked_at is None
    assert "qbo_tokens" in tables
