"""Backends chosen by settings: each builds its adapter and works end to end on real servers
and files; encryption, resources, extras and secrets; `qbo.auth` on top of them all."""

from __future__ import annotations

import contextlib
import inspect
import sqlite3
import stat
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis.asyncio

from qbo_adapters.crypto.token_store import EncryptedTokenStore
from qbo_adapters.file.lock import FileLock
from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.lock import AsyncioLock
from qbo_adapters.memory.quota_store import MemoryQuotaStore
from qbo_adapters.memory.state_store import MemoryStateStore
from qbo_adapters.memory.token_store import MemoryTokenStore
from qbo_adapters.redis.cache import RedisCache
from qbo_adapters.redis.lock import RedisLock
from qbo_adapters.redis.quota_store import RedisQuotaStore
from qbo_adapters.redis.state_store import RedisStateStore
from qbo_adapters.redis.token_store import RedisTokenStore
from qbo_adapters.sql.state_store import SqlStateStore
from qbo_adapters.sql.token_store import SqlTokenStore
from qbo_container import QBO, load_settings
from qbo_container.settings import effective_settings, redacted_settings
from qbo_core.dtos import ConnectionState, IntegrationStatus, RateLimit, RealmAuth, TokenSet
from qbo_core.errors import AuthorizationCallbackError, ConfigurationError
from qbo_core.http import HttpRequest
from tests.adapters.redis_server import TEST_DB, redis_client
from tests.adapters.sql_databases import POSTGRES_URL, postgres_schema

REALM = "9130350000000001"
REDIS_URL = f"redis://127.0.0.1:6379/{TEST_DB}"


async def _resource(value: object) -> Any:
    """A resource provider's value: awaitable once asked for (the container's async graph)."""
    assert inspect.isawaitable(value)
    return await value


def _tokens(label: str) -> TokenSet:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return TokenSet(
        access_token=f"access-secret-{label}",
        refresh_token=f"refresh-secret-{label}",
        access_token_expires_at=start + timedelta(hours=1),
        refresh_token_expires_at=start + timedelta(days=100),
    )


async def _exercise(qbo: QBO) -> None:
    """A token saved and loaded, a lock held and released, a state put and taken once."""
    saved = await qbo.token_store.save(REALM, _tokens("a"), expected_version=None)
    assert await qbo.token_store.load(REALM) == saved
    lease = await qbo.lock.acquire("qbo-auth-refresh:" + REALM, lease=30, wait=0)
    assert await qbo.lock.release(lease)
    await qbo.state_store.put("state-1", b"business-7", ttl=60)
    assert await qbo.state_store.take("state-1") == b"business-7"
    assert await qbo.state_store.take("state-1") is None


# -- nothing configured ------------------------------------------------------------------


async def test_with_nothing_configured_tokens_live_in_a_private_sqlite_file(
    user_data_home: Path,
) -> None:
    """No settings: tokens and states in `tokens.sqlite3` of the user's data directory (made
    0700, the file 0600), the file lock in `locks/` beside it, all working."""
    async with QBO.open(environ={}) as qbo:
        assert isinstance(qbo.token_store, SqlTokenStore)
        assert isinstance(qbo.state_store, SqlStateStore)
        assert isinstance(qbo.lock, FileLock)
        await _exercise(qbo)
        await qbo.token_store.save(REALM, _tokens("b"), expected_version=1)
    data = user_data_home / "qbo-infra"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "tokens.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "locks").stat().st_mode) == 0o700
    assert any((data / "locks").iterdir())
    with contextlib.closing(sqlite3.connect(data / "tokens.sqlite3")) as database:
        rows = database.execute("SELECT realm_id, access_token FROM qbo_tokens").fetchall()
    assert rows == [(REALM, "access-secret-b")]


async def test_tokens_outlive_the_container_in_the_default_file() -> None:
    """A second `QBO.open()` (a restart, or another worker) reads what the first saved."""
    async with QBO.open(environ={}) as first:
        await first.token_store.save(REALM, _tokens("kept"), expected_version=None)
    async with QBO.open(environ={}) as second:
        loaded = await second.token_store.load(REALM)
    assert loaded is not None
    assert loaded.tokens.access_token == "access-secret-kept"


async def test_one_engine_serves_both_sql_stores() -> None:
    """The token and state stores share the container's one engine resource."""
    async with QBO.open(environ={}) as qbo:
        engine = await _resource(qbo.container.sql_engine())
        assert isinstance(qbo.token_store, SqlTokenStore)
        assert isinstance(qbo.state_store, SqlStateStore)
        assert qbo.token_store._engine is engine
        assert qbo.state_store._engine is engine


# -- each backend from settings, env or a TOML file ------------------------------------------


def _toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


async def test_sqlite_from_settings_env_and_toml_each_use_their_file(tmp_path: Path) -> None:
    """`sql.url` from a dict, a `QBO_SQL__URL` variable or a TOML file picks the SQLite file,
    and `lock.directory` the lock's; each works end to end there."""
    sources: list[dict[str, Any]] = [
        {"settings": {"sql": {"url": f"sqlite+aiosqlite:///{tmp_path / 'dict.db'}"}}},
        {"environ": {"QBO_SQL__URL": f"sqlite+aiosqlite:///{tmp_path / 'env.db'}"}},
        {
            "file": _toml(
                tmp_path / "qbo.toml",
                f'[sql]\nurl = "sqlite+aiosqlite:///{tmp_path / "toml.db"}"\n'
                f'[lock]\ndirectory = "{tmp_path / "toml-locks"}"\n',
            ),
            "environ": {},
        },
    ]
    for source in sources:
        async with QBO.open(**{"environ": {}, **source}) as qbo:
            assert isinstance(qbo.token_store, SqlTokenStore)
            assert isinstance(qbo.lock, FileLock)
            await _exercise(qbo)
    for name in ("dict.db", "env.db", "toml.db"):
        with contextlib.closing(sqlite3.connect(tmp_path / name)) as database:
            assert database.execute("SELECT count(*) FROM qbo_tokens").fetchone() == (1,)
    assert (tmp_path / "locks").is_dir()  # beside dict.db and env.db
    assert any((tmp_path / "toml-locks").iterdir())


async def test_memory_backends_from_the_environment() -> None:
    """`QBO_TOKEN_STORE__BACKEND=memory`: memory tokens, and "auto" gives the asyncio lock
    and the memory state store."""
    async with QBO.open(environ={"QBO_TOKEN_STORE__BACKEND": "memory"}) as qbo:
        assert isinstance(qbo.token_store, MemoryTokenStore)
        assert isinstance(qbo.lock, AsyncioLock)
        assert isinstance(qbo.state_store, MemoryStateStore)
        await _exercise(qbo)


async def test_state_and_lock_can_be_chosen_apart_from_the_tokens(tmp_path: Path) -> None:
    """Memory tokens with an explicit SQLite state store and file lock."""
    settings = {
        "token_store": {"backend": "memory"},
        "state_store": {"backend": "sqlite"},
        "lock": {"backend": "file", "directory": str(tmp_path / "locks")},
        "sql": {"url": f"sqlite+aiosqlite:///{tmp_path / 'states.db'}"},
    }
    async with QBO.open(settings, environ={}) as qbo:
        assert isinstance(qbo.token_store, MemoryTokenStore)
        assert isinstance(qbo.state_store, SqlStateStore)
        assert isinstance(qbo.lock, FileLock)
        await _exercise(qbo)


@pytest.mark.postgres
async def test_postgres_backend_in_its_own_schema() -> None:
    """`postgres` with `sql.url` and `sql.schema`: SQL stores whose tables land in that
    schema, the file lock chosen (one host), all working; the schema holds the saved row."""
    async with postgres_schema() as schema:
        settings = {
            "token_store": {"backend": "postgres"},
            "lock": {"backend": "file"},
            "sql": {"url": POSTGRES_URL, "schema": schema},
        }
        async with QBO.open(settings, environ={}) as qbo:
            assert isinstance(qbo.token_store, SqlTokenStore)
            assert isinstance(qbo.state_store, SqlStateStore)
            assert isinstance(qbo.lock, FileLock)
            await _exercise(qbo)
            engine = await _resource(qbo.container.sql_engine())
            async with engine.connect() as connection:
                found = await connection.exec_driver_sql(
                    f'SELECT realm_id FROM "{schema}".qbo_tokens'
                )
                assert found.all() == [(REALM,)]


def test_postgres_tokens_need_a_lock_chosen() -> None:
    """`lock.backend = "auto"` will not guess one host (file) or several (redis) for PostgreSQL."""
    settings = {"token_store": {"backend": "postgres"}, "sql": {"url": POSTGRES_URL}}
    with pytest.raises(ConfigurationError, match="several hosts") as caught:
        load_settings(settings, environ={})
    assert caught.value.field == "lock.backend"


@contextlib.asynccontextmanager
async def _redis_prefix() -> AsyncIterator[tuple[redis.asyncio.Redis, str]]:
    async with redis_client() as (client, prefix):
        yield client, prefix


@pytest.mark.redis
async def test_redis_backends_share_one_client_and_prefix() -> None:
    """`redis` for tokens (lock and state follow, "auto") and the cache: the Redis adapters,
    on one client, keys under the configured prefix of database 7."""
    async with _redis_prefix() as (observer, prefix):
        settings = {
            "token_store": {"backend": "redis"},
            "cache": {"backend": "redis"},
            "redis": {"url": REDIS_URL, "prefix": prefix},
        }
        async with QBO.open(settings, environ={}) as qbo:
            assert isinstance(qbo.token_store, RedisTokenStore)
            assert isinstance(qbo.lock, RedisLock)
            assert isinstance(qbo.state_store, RedisStateStore)
            assert isinstance(qbo.cache, RedisCache)
            await _exercise(qbo)
            await qbo.cache.set(REALM, "k", b"cached", ttl=60)
            assert await qbo.cache.get(REALM, "k") == b"cached"
            client = await _resource(qbo.container.redis_client())
            assert client is await _resource(qbo.container.redis_client())
        keys = [key async for key in observer.scan_iter(match=f"{prefix}*")]
        assert keys, "the adapters wrote under the configured prefix"


@pytest.mark.redis
async def test_a_redis_quota_store_is_shared_by_two_containers() -> None:
    """`quota_store.backend = "redis"`: two containers (two workers) on one server and prefix
    draw on one budget; the default is the memory store."""
    async with _redis_prefix() as (observer, prefix):
        settings = {
            "token_store": {"backend": "memory"},
            "quota_store": {"backend": "redis"},
            "redis": {"url": REDIS_URL, "prefix": prefix},
        }
        limit = [RateLimit(limit=1, period=60)]
        async with (
            QBO.open(settings, environ={}) as first,
            QBO.open(settings, environ={}) as second,
        ):
            assert isinstance(first.quota_store, RedisQuotaStore)
            assert await first.quota_store.try_acquire(REALM, limit) == 0.0
            assert await second.quota_store.try_acquire(REALM, limit) > 0
        keys = [key async for key in observer.scan_iter(match=f"{prefix}quota:*")]
        assert keys, "the store wrote under the configured prefix"
    async with QBO.open({"token_store": {"backend": "memory"}}, environ={}) as qbo:
        assert isinstance(qbo.quota_store, MemoryQuotaStore)


# -- encryption ---------------------------------------------------------------------------


async def test_encryption_keys_wrap_the_store_and_the_row_is_ciphertext(tmp_path: Path) -> None:
    """With `token_store.encryption_keys` the token store is an `EncryptedTokenStore` around
    the SQL one: the file holds no token, loads give them back, and a rotated key list (new
    key first) still reads them."""
    database = tmp_path / "tokens.db"
    old_key, new_key = EncryptedTokenStore.generate_key(), EncryptedTokenStore.generate_key()
    settings: dict[str, dict[str, Any]] = {
        "sql": {"url": f"sqlite+aiosqlite:///{database}"},
        "token_store": {"encryption_keys": [old_key]},
    }
    async with QBO.open(settings, environ={}) as qbo:
        assert isinstance(qbo.token_store, EncryptedTokenStore)
        assert "SqlTokenStore" in repr(qbo.token_store)
        await qbo.token_store.save(REALM, _tokens("enc"), expected_version=None)
    with contextlib.closing(sqlite3.connect(database)) as connection:
        access, refresh = connection.execute(
            "SELECT access_token, refresh_token FROM qbo_tokens"
        ).fetchone()
    assert "access-secret-enc" not in access
    assert "refresh-secret-enc" not in refresh
    environ = {"QBO_TOKEN_STORE__ENCRYPTION_KEYS": f"{new_key},{old_key}"}
    async with QBO.open({"sql": settings["sql"]}, environ=environ) as qbo:
        loaded = await qbo.token_store.load(REALM)
    assert loaded is not None
    assert loaded.tokens.access_token == "access-secret-enc"


# -- resources ----------------------------------------------------------------------------


async def test_leaving_open_disposes_of_the_engine(tmp_path: Path) -> None:
    """The engine's pooled connection is open inside the block and closed after it."""
    settings = {"sql": {"url": f"sqlite+aiosqlite:///{tmp_path / 'tokens.db'}"}}
    async with QBO.open(settings, environ={}) as qbo:
        await _exercise(qbo)
        engine = await _resource(qbo.container.sql_engine())
        pool = engine.sync_engine.pool
        assert pool.checkedin() >= 1
    assert pool.checkedin() == 0
    assert engine.sync_engine.pool is not pool  # dispose() replaced the pool


@pytest.mark.redis
async def test_leaving_open_closes_the_redis_client() -> None:
    """The Redis server sees the container's named connection inside the block, not after."""
    async with _redis_prefix() as (observer, prefix):
        name = "qbo-test-" + prefix.split(":")[1]
        settings = {
            "token_store": {"backend": "redis"},
            "redis": {"url": f"{REDIS_URL}?client_name={name}", "prefix": prefix},
        }

        async def connected() -> bool:
            clients = await observer.client_list()
            return any(client.get("name") == name for client in clients)

        async with QBO.open(settings, environ={}) as qbo:
            await _exercise(qbo)
            assert await connected()
        assert not await connected()


async def test_memory_backends_open_no_resource() -> None:
    """Memory backends never create the engine (nothing is written to the data dir)."""
    async with QBO.open({"token_store": {"backend": "memory"}}, environ={}) as qbo:
        await _exercise(qbo)
        assert not qbo.container.sql_engine.initialized
        assert not qbo.container.redis_client.initialized


# -- extras and secrets ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"token_store": {"backend": "redis"}}, "token_store.backend"),
        ({"token_store": {"backend": "memory"}, "lock": {"backend": "redis"}}, "lock.backend"),
        ({"cache": {"backend": "redis"}}, "cache.backend"),
        ({"quota_store": {"backend": "redis"}}, "quota_store.backend"),
        (
            {"token_store": {"backend": "memory"}, "state_store": {"backend": "redis"}},
            "state_store.backend",
        ),
    ],
)
def test_a_redis_backend_without_the_extra_names_the_install(
    monkeypatch: pytest.MonkeyPatch, settings: dict[str, dict[str, str]], field: str
) -> None:
    """Where redis cannot be imported, choosing it names the field and the extra to install."""
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'qbo-infra\[redis\]'") as caught:
        load_settings(settings, environ={})
    assert caught.value.field == field


def test_a_postgres_backend_without_the_extra_names_the_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where asyncpg cannot be imported, `postgres` names the field and the postgres extra."""
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    settings = {
        "token_store": {"backend": "postgres"},
        "lock": {"backend": "file"},
        "sql": {"url": POSTGRES_URL},
    }
    with pytest.raises(ConfigurationError, match=r"pip install 'qbo-infra\[postgres\]'") as caught:
        load_settings(settings, environ={})
    assert caught.value.field == "token_store.backend"


async def test_secrets_never_show_in_settings_errors_or_reprs() -> None:
    """Encryption keys and the passwords inside URLs are masked in redacted and effective
    settings, in errors, and in the reprs of what the container built."""
    key = EncryptedTokenStore.generate_key()
    settings: dict[str, dict[str, Any]] = {
        "token_store": {"backend": "redis", "encryption_keys": [key]},
        "redis": {"url": "redis://:redis-pass-123@127.0.0.1:6379/7?password=query-pass-456"},
        "sql": {"url": "postgresql+asyncpg://app:sql-pass-789@127.0.0.1/test"},
        "state_store": {"backend": "memory"},
    }
    loaded = load_settings(settings, environ={})
    for shown in (redacted_settings(loaded), effective_settings(loaded)):
        text = repr(shown)
        assert shown["token_store"]["encryption_keys"] == "<redacted>"
        assert shown["sql"]["url"] == "postgresql+asyncpg://app:<redacted>@127.0.0.1/test"
        for secret in (key, "redis-pass-123", "query-pass-456", "sql-pass-789"):
            assert secret not in text
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"sql": {"url": "mysql+aiomysql://app:sql-pass-789@h/db"}}, environ={})
    assert "sql-pass-789" not in str(caught.value)
    assert "app:<redacted>@h" in str(caught.value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"token_store": {"encryption_keys": [key, key[:-2]]}}, environ={})
    assert "#2" in str(caught.value)
    assert key[:-2] not in str(caught.value)
    async with QBO.open(settings, environ={}) as qbo:
        built = repr(
            (qbo, qbo.token_store, qbo.lock, await _resource(qbo.container.redis_client()))
        )
    for secret in (key, "redis-pass-123", "query-pass-456"):
        assert secret not in built


# -- auth ---------------------------------------------------------------------------------

CALLBACK = "http://127.0.0.1:8000/qbo/callback"
CONSENTING: dict[str, dict[str, Any]] = {
    "api": {"redirect_uri": CALLBACK},
    "emulator": {"auto_consent": True},
}


async def _consent(qbo: QBO, url: str) -> dict[str, str]:
    """The user at the (embedded) Intuit authorize page: consent, and the redirect's query."""
    response = await qbo.transport.send(HttpRequest(method="GET", url=url))
    assert response.status == 302, response.body
    location = response.headers.get("Location")
    assert location is not None
    assert location.startswith(CALLBACK)
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def test_qbo_auth_connects_a_company_end_to_end() -> None:
    """authorization_url -> consent on the embedded emulator -> exchange_code -> access_token:
    tokens land in the default SQL store and the access token opens the company."""
    async with QBO.open(CONSENTING, environ={}) as qbo:
        url, state = await qbo.auth.authorization_url("business-7")
        callback = await _consent(qbo, url)
        assert callback["state"] == state
        connection = await qbo.auth.exchange_code(
            callback["code"], callback["state"], callback["realmId"], business_id="business-7"
        )
        assert connection.status is IntegrationStatus.CONNECTED
        realm = callback["realmId"]
        token = await qbo.auth.access_token(realm)
        stored = await qbo.token_store.load(realm)
        assert stored is not None
        assert stored.tokens.access_token == token
        info = await qbo.raw_client.company_info(RealmAuth(realm_id=realm, access_token=token))
        assert info.id
        with pytest.raises(AuthorizationCallbackError):  # the state was single-use
            await qbo.auth.exchange_code(callback["code"], state, realm)


async def test_the_callback_may_reach_another_worker() -> None:
    """Two containers on the default SQLite file (two web workers): the state one worker
    issued is taken by the other, which stores the tokens the first then reads."""
    async with contextlib.AsyncExitStack() as stack:
        issuer = await stack.enter_async_context(QBO.open(CONSENTING, environ={}))
        receiver = await stack.enter_async_context(
            QBO.open(CONSENTING, environ={}, transport=issuer.transport)
        )
        url, _ = await issuer.auth.authorization_url("business-7")
        callback = await _consent(issuer, url)
        await receiver.auth.exchange_code(callback["code"], callback["state"], callback["realmId"])
        token = await receiver.auth.access_token(callback["realmId"])
        assert await issuer.auth.access_token(callback["realmId"]) == token


async def test_ports_passed_to_open_reach_qbo_auth() -> None:
    """`token_store=` and `clock=` given at open are the ones `qbo.auth` uses, and the
    `auth` settings shape it: the state dies after `auth.state_ttl` on that clock."""
    tokens = MemoryTokenStore()
    clock = FakeClock()
    settings: dict[str, dict[str, Any]] = {**CONSENTING, "auth": {"state_ttl": 30}}
    async with QBO.open(settings, environ={}, token_store=tokens, clock=clock) as qbo:
        url, _ = await qbo.auth.authorization_url("business-7")
        callback = await _consent(qbo, url)
        await qbo.auth.exchange_code(callback["code"], callback["state"], callback["realmId"])
        assert await tokens.load(callback["realmId"]) is not None
        url, _ = await qbo.auth.authorization_url("business-7")
        late = await _consent(qbo, url)
        clock.advance(30)
        with pytest.raises(AuthorizationCallbackError, match="expired"):
            await qbo.auth.exchange_code(late["code"], late["state"], late["realmId"])


@pytest.mark.parametrize(
    ("auth", "state"),
    [
        ({}, ConnectionState.EXPIRING),  # default: 30 days
        ({"expiring_within_days": "7"}, ConnectionState.CONNECTED),
    ],
)
async def test_auth_settings_reach_the_service(
    auth: dict[str, str], state: ConnectionState
) -> None:
    """`auth.expiring_within_days` decides when `status` warns: a refresh token with 10
    days left is EXPIRING by the default, CONNECTED with a 7-day warning."""
    clock = FakeClock()
    tokens = _tokens("status")
    clock.set_now(tokens.refresh_token_expires_at - timedelta(days=10))
    async with QBO.open({"auth": auth}, environ={}, clock=clock) as qbo:
        await qbo.token_store.save(REALM, tokens, expected_version=None)
        assert (await qbo.auth.status(REALM)).state is state


# -- setup --------------------------------------------------------------------------------


async def test_qbo_setup_connects_and_disconnects_a_business() -> None:
    """begin -> consent -> complete -> status -> disconnect through the facade: the
    connection is made on the container's stores, named from CompanyInfo, then gone."""
    tokens = MemoryTokenStore()
    async with QBO.open(CONSENTING, environ={}, token_store=tokens) as qbo:
        request = await qbo.setup.begin("business-7")
        callback = await _consent(qbo, request.authorization_url)
        connection = await qbo.setup.complete("business-7", callback)
        realm = callback["realmId"]
        assert connection.status is IntegrationStatus.CONNECTED
        assert connection.realm_id == realm
        assert connection.company_name
        assert await tokens.load(realm) is not None  # the override reached setup's auth
        assert (await qbo.setup.status("business-7", realm)).status is (IntegrationStatus.CONNECTED)
        assert await qbo.setup.disconnect(realm) is True
        assert await tokens.load(realm) is None
        again = qbo.container.setup()
        assert (await again if inspect.isawaitable(again) else again) is qbo.setup  # a singleton


async def test_the_sql_engine_never_logs_a_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With SQLAlchemy's engine log at INFO, statements are logged but never their
    parameters: a token saved through the container's SQLite store is not in the log."""
    settings = {"sql": {"url": f"sqlite+aiosqlite:///{tmp_path / 'tokens.sqlite3'}"}}
    with caplog.at_level("INFO", logger="sqlalchemy.engine"):
        async with QBO.open(settings, environ={}) as qbo:
            await qbo.token_store.save(REALM, _tokens("logged"), expected_version=None)
            assert await qbo.token_store.load(REALM) is not None
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "INSERT" in logged  # the engine did log its statements
    assert "secret-logged" not in logged


async def test_retry_settings_reach_smart_sync() -> None:
    """`QBO_RETRY__MAX_ATTEMPTS` and `retry.cap` shape the policy every smart sync uses."""
    environ = {"QBO_RETRY__MAX_ATTEMPTS": "9"}
    async with QBO.open({"retry": {"cap": 4}}, environ=environ) as qbo:
        policy = qbo.smart_sync(business_id="b", realm_id=REALM).retry_policy
        assert (policy.max_attempts, policy.cap, policy.max_elapsed) == (9, 4.0, 300.0)
