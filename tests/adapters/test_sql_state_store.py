"""`SqlStateStore`: the StateStore contract on SQLite and PostgreSQL, plus what SQL adds."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.sql.state_store import SWEEP_BATCH, SqlStateStore
from qbo_adapters.sql.token_store import SqlTokenStore
from qbo_adapters.testing.state_store import StateStoreContract
from qbo_core.errors import ConfigurationError, StoreUnavailableError
from qbo_core.ports.state_store import StateStore
from tests.adapters.sql_databases import (
    disposing,
    postgres_engine,
    postgres_schema,
    sqlite_engine,
    sqlite_file,
)


class TestSqliteStateStore(StateStoreContract):
    """The contract against a fresh SQLite file."""

    # Real round trips: the state machine runs fewer examples, each with the profile's steps.
    state_machine_examples = 50

    @contextlib.asynccontextmanager
    async def make_state_store(self, clock: FakeClock) -> AsyncIterator[StateStore]:
        async with sqlite_file() as path:
            engine = sqlite_engine(path)
            async with disposing(engine):
                yield SqlStateStore(engine, clock)


@pytest.mark.postgres
class TestPostgresStateStore(StateStoreContract):
    """The contract against a fresh schema of the real PostgreSQL."""

    # Real round trips: the state machine runs fewer examples, each with the profile's steps.
    state_machine_examples = 50

    @contextlib.asynccontextmanager
    async def make_state_store(self, clock: FakeClock) -> AsyncIterator[StateStore]:
        async with postgres_schema() as schema:
            engine = postgres_engine(schema)
            async with disposing(engine):
                yield SqlStateStore(engine, clock)


EngineFactory = Callable[[], AsyncEngine]

#: A bound on a statement that should not wait, far above its time on a loaded machine.
_GUARD = 30.0


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


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        count: int = (
            await connection.execute(sa.text("SELECT count(*) FROM qbo_states"))
        ).scalar_one()
    return count


@pytest.mark.parametrize("databases", DATABASES)
async def test_a_value_put_by_one_worker_is_taken_once_by_the_racing_others(
    databases: Callable[[], contextlib.AbstractAsyncContextManager[EngineFactory]],
) -> None:
    """What one engine (a worker process) puts, the takers on two other engines race for
    (first use and schema creation included): exactly one gets it, every round."""
    clock = FakeClock()
    async with databases() as make_engine:
        engines = [make_engine() for _ in range(3)]
        async with disposing(*engines):
            issuer, *takers = (SqlStateStore(engine, clock) for engine in engines)
            for round_number in range(5):
                value = f"verifier-{round_number}".encode()
                await issuer.put("state", value, ttl=600)
                outcomes = await asyncio.gather(
                    *(takers[index % 2].take("state") for index in range(10))
                )
                assert sorted(outcomes, key=lambda item: item is None) == [value] + [None] * 9


@pytest.mark.parametrize("databases", DATABASES)
async def test_one_of_many_workers_racing_to_claim_a_key_wins(
    databases: Callable[[], contextlib.AbstractAsyncContextManager[EngineFactory]],
) -> None:
    """Claimers on three engines (worker processes) race for one key (first use and schema
    creation included): exactly one wins each round, and an expired claim is won anew."""
    clock = FakeClock(auto_advance=False)
    async with databases() as make_engine:
        engines = [make_engine() for _ in range(3)]
        async with disposing(*engines):
            stores = [SqlStateStore(engine, clock) for engine in engines]
            for round_number in range(4):
                outcomes = await asyncio.gather(
                    *(stores[index % 3].claim("webhook:event", ttl=60) for index in range(12))
                )
                assert outcomes.count(True) == 1, round_number
                clock.advance(60)


@pytest.mark.parametrize("databases", DATABASES)
async def test_puts_sweep_rows_nobody_took_in_bounded_batches(
    databases: Callable[[], contextlib.AbstractAsyncContextManager[EngineFactory]],
) -> None:
    """Expired rows stay in the table only until later puts sweep them, a batch per put;
    live rows are never swept."""
    clock = FakeClock(auto_advance=False)
    async with databases() as make_engine:
        engine = make_engine()
        async with disposing(engine):
            store = SqlStateStore(engine, clock)
            abandoned = SWEEP_BATCH + 20
            for index in range(abandoned):
                await store.put(f"abandoned-{index}", b"v", ttl=10)
            await store.put("long", b"kept", ttl=3_600)
            assert await _count(engine) == abandoned + 1
            clock.advance(10)
            await store.put("fresh-1", b"v", ttl=60)
            assert await _count(engine) == abandoned + 1 + 1 - SWEEP_BATCH
            await store.put("fresh-2", b"v", ttl=60)
            assert await _count(engine) == 3
            assert await store.take("long") == b"kept"


async def test_the_state_and_token_stores_share_one_database(tmp_path: Path) -> None:
    """Both SQL stores on one engine keep their own tables and schema versions."""
    engine = sqlite_engine(tmp_path / "qbo.sqlite3")
    async with disposing(engine):
        states = SqlStateStore(engine, FakeClock())
        tokens = SqlTokenStore(engine)
        await states.put("state", b"v", ttl=60)
        assert await tokens.load("123") is None
        async with engine.connect() as connection:
            versions: dict[str, int] = dict(
                (
                    await connection.execute(
                        sa.text("SELECT component, version FROM qbo_schema_versions")
                    )
                ).all()
            )
        assert versions == {"state_store": 1, "token_store": 2}
        assert await states.take("state") == b"v"


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    """A database whose state_store schema is ahead of this code is a ConfigurationError."""
    engine = sqlite_engine(tmp_path / "qbo.sqlite3")
    async with disposing(engine):
        await SqlStateStore(engine, FakeClock()).take("warm-up")
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "UPDATE qbo_schema_versions SET version = 9 WHERE component = 'state_store'"
                )
            )
        with pytest.raises(ConfigurationError, match="version 9"):
            await SqlStateStore(engine, FakeClock()).take("state")


async def test_an_unopenable_sqlite_file_is_store_unavailable(tmp_path: Path) -> None:
    """A database that cannot be opened raises StoreUnavailableError, the driver's chained."""
    engine = sqlite_engine(tmp_path / "missing-directory" / "qbo.sqlite3")
    async with disposing(engine):
        store = SqlStateStore(engine, FakeClock())
        with pytest.raises(StoreUnavailableError) as caught:
            await store.put("state", b"secret-verifier", ttl=60)
    # aiosqlite's worker thread stops after a failed connect by calling back into this
    # loop; wait for it, or it finds the loop closed (and warns) in a later test.
    for thread in threading.enumerate():
        if thread.name.endswith("(_connection_worker_thread)"):
            await asyncio.to_thread(thread.join, 5)
    assert caught.value.__cause__ is not None
    assert "secret-verifier" not in repr(caught.value)


async def test_an_unsupported_dialect_is_a_configuration_error() -> None:
    """Only sqlite and postgresql engines are accepted."""
    engine = SimpleNamespace(dialect=SimpleNamespace(name="mysql"))
    with pytest.raises(ConfigurationError, match="SqlStateStore supports sqlite and postgresql"):
        SqlStateStore(cast(AsyncEngine, engine), FakeClock())


@pytest.mark.parametrize("ttl", [0, -1, float("inf"), float("nan")])
async def test_a_ttl_that_is_not_positive_and_finite_is_refused(tmp_path: Path, ttl: float) -> None:
    """A bad ttl raises ValueError before anything is written."""
    engine = sqlite_engine(tmp_path / "qbo.sqlite3")
    async with disposing(engine):
        store = SqlStateStore(engine, FakeClock())
        with pytest.raises(ValueError, match="ttl"):
            await store.put("state", b"v", ttl=ttl)
        assert store._schema.ready is False


async def test_repr_names_the_dialect_and_no_value(tmp_path: Path) -> None:
    """The repr says which database it is on and never shows a value."""
    engine = sqlite_engine(tmp_path / "qbo.sqlite3")
    async with disposing(engine):
        store = SqlStateStore(engine, FakeClock())
        await store.put("state", b"secret-verifier", ttl=60)
        assert repr(store) == "SqlStateStore(dialect='sqlite')"


@pytest.mark.parametrize("ttl", [0, float("nan")])
async def test_a_refused_ttl_says_what_a_ttl_must_be(tmp_path: Path, ttl: float) -> None:
    """`put` and `claim` refuse a bad ttl with a message giving the rule and the value."""
    engine = sqlite_engine(tmp_path / "qbo.sqlite3")
    async with disposing(engine):
        store = SqlStateStore(engine, FakeClock())
        said = f"^ttl must be a positive, finite number of seconds, got {ttl!r}$"
        with pytest.raises(ValueError, match=said):
            await store.put("state", b"v", ttl=ttl)
        with pytest.raises(ValueError, match=said):
            await store.claim("state", ttl=ttl)


async def test_refusals_of_the_engine_say_why(tmp_path: Path) -> None:
    """A schema newer than this code, or a table gone, are errors naming the state store."""
    engine = sqlite_engine(tmp_path / "qbo.sqlite3")
    async with disposing(engine):
        store = SqlStateStore(engine, FakeClock())
        await store.take("warm-up")
        async with engine.begin() as connection:
            await connection.execute(sa.text("DROP TABLE qbo_states"))
        with pytest.raises(StoreUnavailableError) as failed:
            await store.take("state")
        assert failed.value.message == (
            "the sqlite state store failed or is unreachable: OperationalError"
        )
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "UPDATE qbo_schema_versions SET version = 4 WHERE component = 'state_store'"
                )
            )
        with pytest.raises(ConfigurationError) as caught:
            await SqlStateStore(engine, FakeClock()).take("state")
    assert caught.value.message == (
        "the state store's schema is at version 4, newer than this qbo-infra knows (1): "
        "upgrade qbo-infra"
    )
    assert caught.value.field == "engine"


@pytest.mark.postgres
async def test_a_postgres_sweep_passes_over_rows_another_transaction_holds() -> None:
    """On PostgreSQL a put's sweep skips expired rows another transaction has locked (a
    later sweep takes them) instead of waiting for it: puts never queue behind a sweep."""
    clock = FakeClock(auto_advance=False)
    async with postgres_schema() as schema:
        engine = postgres_engine(schema)
        async with disposing(engine):
            store = SqlStateStore(engine, clock)
            await store.put("held", b"v", ttl=10)
            await store.put("loose", b"v", ttl=10)
            clock.advance(10)
            async with engine.begin() as other:
                await other.execute(
                    sa.text("SELECT 1 FROM qbo_states WHERE state_key = 'held' FOR UPDATE")
                )
                # a sweep that waited for `other` would wait for ever: fail instead
                async with asyncio.timeout(_GUARD):
                    await store.put("fresh", b"v", ttl=60)
                keys = (await other.execute(sa.text("SELECT state_key FROM qbo_states"))).scalars()
                assert sorted(keys) == ["fresh", "held"]


async def test_the_states_table_has_the_released_columns(tmp_path: Path) -> None:
    """`qbo_states` is written with exactly the columns of schema version 1, by name, type,
    nullability and key, and its expiry index: the format other releases read."""
    engine = sqlite_engine(tmp_path / "qbo.sqlite3")
    async with disposing(engine):
        await SqlStateStore(engine, FakeClock()).take("warm-up")
        async with engine.connect() as connection:
            columns = (await connection.execute(sa.text("PRAGMA table_info(qbo_states)"))).all()
            indexes = (await connection.execute(sa.text("PRAGMA index_list(qbo_states)"))).all()
    assert [(name, kind, notnull, key) for _, name, kind, notnull, _, key in columns] == [
        ("state_key", "TEXT", 1, 1),
        ("value", "BLOB", 1, 0),
        ("expires_at", "DOUBLE", 1, 0),
    ]
    assert "qbo_states_expires_at" in {index[1] for index in indexes}


async def test_a_states_table_without_a_version_record_is_adopted(tmp_path: Path) -> None:
    """A database holding `qbo_states` and its index but no schema-version record (its
    record deleted, or the table made by hand from the released columns) is taken over on
    first use: its values stay and the record is written."""
    engine = sqlite_engine(tmp_path / "unversioned.sqlite3")
    clock = FakeClock()
    async with disposing(engine):
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "CREATE TABLE qbo_states (state_key TEXT PRIMARY KEY, value BLOB NOT NULL,"
                    " expires_at DOUBLE NOT NULL)"
                )
            )
            await connection.execute(
                sa.text("CREATE INDEX qbo_states_expires_at ON qbo_states (expires_at)")
            )
            await connection.execute(
                sa.text("INSERT INTO qbo_states VALUES ('state', x'7631', :expires_at)"),
                {"expires_at": clock.now().timestamp() + 60},
            )
        assert await SqlStateStore(engine, clock).take("state") == b"v1"
        async with engine.connect() as connection:
            versions = (
                await connection.execute(
                    sa.text("SELECT component, version FROM qbo_schema_versions")
                )
            ).all()
    assert [tuple(row) for row in versions] == [("state_store", 1)]
