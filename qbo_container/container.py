"""`QBOContainer`: the composition root, the only place that names concrete adapters.

Hosts normally reach it through the typed facade `qbo_container.QBO`; the container
itself is for wiring and for those who need a provider the facade does not expose.

Resources (opened on first need, closed by `shutdown`): the aiohttp session, the one
SQLAlchemy `AsyncEngine` on `sql.url` (shared by the SQL token and state stores), and
the one Redis client on `redis.url` (shared by every Redis adapter). Redis adapters are
imported only when chosen, so the `redis` extra is needed only then.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import sqlalchemy.engine
from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from qbo_adapters.aiohttp.transport import AiohttpTransport
from qbo_adapters.crypto.token_store import EncryptedTokenStore
from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.file.lock import FileLock
from qbo_adapters.memory.cache import MemoryCache
from qbo_adapters.memory.clock import SystemClock
from qbo_adapters.memory.event_sinks import FanOutEventSink, LoggingEventSink, RecordingEventSink
from qbo_adapters.memory.lock import AsyncioLock
from qbo_adapters.memory.quota_store import MemoryQuotaStore
from qbo_adapters.memory.state_store import MemoryStateStore
from qbo_adapters.memory.token_store import MemoryTokenStore
from qbo_adapters.sql.state_store import SqlStateStore
from qbo_adapters.sql.token_store import SqlTokenStore
from qbo_container.settings import (
    DEFAULT_SETTINGS,
    EMULATOR_BASE_URL,
    api_config,
    emulator_settings,
    load_settings,
    lock_backend,
    lock_directory,
    sql_url,
    state_store_backend,
    transport_backend,
)
from qbo_container.settings import (
    health_thresholds as settings_health_thresholds,
)
from qbo_container.settings import (
    retry_policy as settings_retry_policy,
)
from qbo_container.storage import private_directory, private_file
from qbo_core.config import QBOConfig
from qbo_core.errors import ConfigurationError
from qbo_core.ports.clock import Clock
from qbo_core.ports.event_sink import EventSink
from qbo_core.ports.state_store import StateStore
from qbo_core.ports.token_store import TokenStore
from qbo_core.services.auth import QBOAuthService
from qbo_core.services.health import HealthRecorder, QBOHealthMonitor
from qbo_core.services.rate_limiter import RateLimiter
from qbo_core.services.raw_client import QBORawClient
from qbo_core.services.setup import QBOSetupService
from qbo_core.services.smart_sync import ReadCoalescer, SmartSyncService
from qbo_core.services.webhooks import WebhookReceiver

if TYPE_CHECKING:
    import redis.asyncio
    from prometheus_client import CollectorRegistry

    from qbo_adapters.prometheus.event_sink import PrometheusEventSink

__all__ = ["QBOContainer", "build_container", "shutdown"]


def _logger(name: str) -> logging.Logger:
    return logging.getLogger(name)


def _level(name: str) -> int:
    level = logging.getLevelName(name)
    return level if isinstance(level, int) else logging.INFO


async def _http_session(config: QBOConfig) -> AsyncIterator[aiohttp.ClientSession]:
    """One pooled aiohttp session for the process; closed by `shutdown_resources()`."""
    connector = aiohttp.TCPConnector(limit=100, limit_per_host=config.max_concurrent_requests * 4)
    session = aiohttp.ClientSession(connector=connector, raise_for_status=False)
    try:
        yield session
    finally:
        await session.close()


async def _sql_engine(url: str, schema: str | None) -> AsyncIterator[AsyncEngine]:
    """The one engine on `sql.url`; disposed by `shutdown_resources()`.

    A SQLite file is created on first need with mode 0600 in a directory made 0700 (see
    `qbo_container.storage`); `sql.schema` becomes the PostgreSQL connections' search_path.
    """
    parsed = sqlalchemy.engine.make_url(url)
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        private_file(Path(parsed.database))
    elif schema is not None:
        connect_args["server_settings"] = {"search_path": f'"{schema}"'}
    # hide_parameters: SQLAlchemy's INFO log would otherwise print each statement's
    # parameters, the tokens among them.
    engine = create_async_engine(parsed, connect_args=connect_args, hide_parameters=True)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _redis_client(url: str) -> AsyncIterator[redis.asyncio.Redis]:
    """The one Redis client on `redis.url` (bytes replies); closed by `shutdown_resources()`."""
    import redis.asyncio  # the redis extra, checked by load_settings when a backend needs it

    client = redis.asyncio.Redis.from_url(url, decode_responses=False)
    try:
        yield client
    finally:
        await client.aclose()


def _file_lock(directory: Path, clock: Clock) -> FileLock:
    return FileLock(private_directory(directory), clock)


def _redis_token_store(client: redis.asyncio.Redis, prefix: str) -> TokenStore:
    from qbo_adapters.redis.token_store import RedisTokenStore

    return RedisTokenStore(client, prefix=prefix)


def _redis_lock(client: redis.asyncio.Redis, clock: Clock, prefix: str) -> Any:
    from qbo_adapters.redis.lock import RedisLock

    return RedisLock(client, clock, prefix=prefix)


def _redis_state_store(client: redis.asyncio.Redis, clock: Clock, prefix: str) -> Any:
    from qbo_adapters.redis.state_store import RedisStateStore

    return RedisStateStore(client, clock, prefix=prefix)


def _redis_cache(client: redis.asyncio.Redis, clock: Clock, prefix: str) -> Any:
    from qbo_adapters.redis.cache import RedisCache

    return RedisCache(client, clock, prefix=prefix)


def _redis_quota_store(client: redis.asyncio.Redis, clock: Clock, prefix: str) -> Any:
    from qbo_adapters.redis.quota_store import RedisQuotaStore

    return RedisQuotaStore(client, clock, prefix=prefix)


def _prometheus_registry() -> CollectorRegistry:
    """A registry of the container's own, so two containers in a process never collide."""
    from prometheus_client import CollectorRegistry  # the prometheus extra, checked by settings

    return CollectorRegistry()


def _prometheus_sink(
    registry: CollectorRegistry, namespace: str, realm_label: bool
) -> PrometheusEventSink:
    from qbo_adapters.prometheus.event_sink import PrometheusEventSink

    return PrometheusEventSink(registry=registry, namespace=namespace, realm_label=realm_label)


def _switch(enabled: bool) -> str:
    return "on" if enabled else "off"


def _fan_out(backend: EventSink, *extra: EventSink | None) -> FanOutEventSink:
    """The fan-out every service emits to: the configured backend, then the sinks switched on."""
    return FanOutEventSink(backend, *(sink for sink in extra if sink is not None))


def _webhook_receiver(
    *,
    config: QBOConfig,
    state_store: StateStore,
    token_store: TokenStore,
    events: EventSink,
    clock: Clock,
    dedupe_ttl: float,
    max_body_bytes: int,
) -> WebhookReceiver:
    """The `WebhookReceiver` on `api.webhook_verifier_token`; `ConfigurationError` naming
    that setting when it is unset (the token is never shown)."""
    verifier_token = config.webhook_verifier_token
    if verifier_token is None:
        raise ConfigurationError(
            "no webhook verifier token is configured: set api.webhook_verifier_token "
            "(QBO_API__WEBHOOK_VERIFIER_TOKEN) to the one on the app's webhook page",
            field="api.webhook_verifier_token",
        )
    return WebhookReceiver(
        verifier_token=verifier_token,
        state_store=state_store,
        is_connected=token_store,
        events=events,
        clock=clock,
        dedupe_ttl=dedupe_ttl,
        max_body_bytes=max_body_bytes,
    )


def _encrypted(store: TokenStore, keys: Sequence[str] | None) -> TokenStore:
    """`store`, wrapped in `EncryptedTokenStore` when `token_store.encryption_keys` are set."""
    return store if not keys else EncryptedTokenStore(store, keys=keys)


def _days(days: int) -> timedelta:
    return timedelta(days=days)


class QBOContainer(containers.DeclarativeContainer):
    """Wires qbo-infra's ports to adapters from settings. Nothing is built until asked for.

    `config` holds validated settings (`build_container` validates them; a bare
    `QBOContainer()` uses the defaults: SQLite tokens and states in the user's data
    directory, a file lock, a memory cache, the embedded emulator).
    The aiohttp session, SQL engine and Redis client are resources: each opens when
    something that needs it is first resolved (an awaitable then) and closes on
    `await shutdown_resources()`.

    Ports: `clock`, `event_sink` (a `FanOutEventSink` around `event_backend`, then
    `prometheus_sink` when `events.prometheus` is on, its metrics in
    `prometheus_registry`, then always `health_recorder`; add sinks with
    `container.event_sink().add(sink)`), `cache`, `token_store` (the
    `token_store_backend`, encrypted when `token_store.encryption_keys` are set),
    `lock`, `quota_store`, `state_store`, `transport`. Services: `raw_client`, `auth`,
    `setup`, `smart_sync(business_id=..., realm_id=...)` (a new `SmartSyncService` per
    call, sharing the process's `limiter`, `read_coalescer` and `retry_policy`),
    `health` (the `QBOHealthMonitor` on `health_recorder`, pinging the five stores in
    use, with the `health` settings' `health_thresholds`) and `webhook_receiver` (a
    `WebhookReceiver` on `api.webhook_verifier_token`: `ConfigurationError` when unset).
    Every provider can be swapped with `container.<name>.override(providers.Object(fake))`;
    the facade `QBO.open(..., <port>=fake)` does exactly that, and resolves the result
    whether or not the graph is asynchronous.
    """

    config = providers.Configuration(default=DEFAULT_SETTINGS)

    qbo_config = providers.Singleton(api_config, config)

    clock = providers.Singleton(SystemClock)

    event_backend = providers.Selector(
        config.events.backend,
        logging=providers.Singleton(
            LoggingEventSink,
            logger=providers.Callable(_logger, config.events.logger),
            level=providers.Callable(_level, config.events.level),
        ),
        recording=providers.Singleton(RecordingEventSink),
    )

    #: The registry the Prometheus sink keeps its metrics in (one per container); serve it
    #: with `qbo_adapters.prometheus.metrics_handler`.
    prometheus_registry = providers.Singleton(_prometheus_registry)

    #: `PrometheusEventSink` on `prometheus_registry`, when `events.prometheus` is on.
    prometheus_sink = providers.Singleton(
        _prometheus_sink,
        prometheus_registry,
        config.events.prometheus_namespace,
        config.events.prometheus_realm_label,
    )

    #: What this process saw of each realm's traffic (a sliding window), for `health`.
    health_recorder = providers.Singleton(HealthRecorder, clock)

    #: The fan-out every service emits to: the configured backend first, then the
    #: Prometheus sink when `events.prometheus` is on, then always `health_recorder`.
    event_sink = providers.Singleton(
        _fan_out,
        event_backend,
        providers.Selector(
            providers.Callable(_switch, config.events.prometheus),
            on=prometheus_sink,
            off=providers.Object(None),
        ),
        health_recorder,
    )

    http_session = providers.Resource(_http_session, config=qbo_config)

    #: The one SQL engine (SQLite file or PostgreSQL), for every SQL adapter.
    sql_engine = providers.Resource(
        _sql_engine, url=providers.Callable(sql_url, config), schema=config.sql.schema
    )

    #: The one Redis client, for every Redis adapter.
    redis_client = providers.Resource(_redis_client, url=config.redis.url)

    cache = providers.Selector(
        config.cache.backend,
        memory=providers.Singleton(MemoryCache, clock=clock, max_entries=config.cache.max_entries),
        redis=providers.Singleton(_redis_cache, redis_client, clock, config.redis.prefix),
    )

    sql_token_store = providers.Singleton(SqlTokenStore, sql_engine)

    token_store_backend = providers.Selector(
        config.token_store.backend,
        memory=providers.Singleton(MemoryTokenStore),
        sqlite=sql_token_store,
        postgres=sql_token_store,
        redis=providers.Singleton(_redis_token_store, redis_client, config.redis.prefix),
    )

    token_store = providers.Singleton(
        _encrypted, token_store_backend, config.token_store.encryption_keys
    )

    lock = providers.Selector(
        providers.Callable(lock_backend, config),
        asyncio=providers.Singleton(AsyncioLock, clock=clock),
        file=providers.Singleton(_file_lock, providers.Callable(lock_directory, config), clock),
        redis=providers.Singleton(_redis_lock, redis_client, clock, config.redis.prefix),
    )

    quota_store = providers.Selector(
        config.quota_store.backend,
        memory=providers.Singleton(MemoryQuotaStore, clock=clock),
        redis=providers.Singleton(_redis_quota_store, redis_client, clock, config.redis.prefix),
    )

    sql_state_store = providers.Singleton(SqlStateStore, sql_engine, clock)

    state_store = providers.Selector(
        providers.Callable(state_store_backend, config),
        memory=providers.Singleton(MemoryStateStore, clock=clock),
        sqlite=sql_state_store,
        postgres=sql_state_store,
        redis=providers.Singleton(_redis_state_store, redis_client, clock, config.redis.prefix),
    )

    emulator = providers.Singleton(
        QBOEmulator,
        providers.Callable(emulator_settings, config),
        clock=clock,
        base_url=EMULATOR_BASE_URL,
    )

    #: aiohttp: awaitable (it needs the session resource); emulator: a plain value.
    transport = providers.Selector(
        providers.Callable(transport_backend, config),
        aiohttp=providers.Singleton(
            AiohttpTransport,
            session=http_session,
            connect_timeout=qbo_config.provided.connect_timeout,
            read_timeout=qbo_config.provided.read_timeout,
            total_timeout=qbo_config.provided.total_timeout,
            max_response_bytes=qbo_config.provided.max_response_bytes,
        ),
        emulator=providers.Singleton(EmulatorTransport, emulator, base_url=EMULATOR_BASE_URL),
    )

    raw_client = providers.Factory(
        QBORawClient, transport, qbo_config, events=event_sink, clock=clock
    )

    #: One per container: it holds the process's single-flight refreshes.
    auth = providers.Singleton(
        QBOAuthService,
        transport=transport,
        config=qbo_config,
        token_store=token_store,
        lock=lock,
        state_store=state_store,
        clock=clock,
        events=event_sink,
        state_ttl=config.auth.state_ttl,
        expiring_within=providers.Callable(_days, config.auth.expiring_within_days),
        lock_lease=config.auth.lock_lease,
        lock_wait=config.auth.lock_wait,
        discover=config.auth.discover,
    )

    #: The process's rate limiter: QBO's windows, batch budgets, in-flight cap and 429
    #: hold-backs per realm, shared with every process on the same `quota_store`.
    limiter = providers.Singleton(
        RateLimiter, quota_store=quota_store, clock=clock, config=qbo_config, events=event_sink
    )

    #: Connect, reconnect and disconnect a business's company, on `auth` (the read that
    #: completes a connection takes a permit of `limiter`).
    setup = providers.Singleton(
        QBOSetupService,
        auth=auth,
        raw_client=raw_client,
        clock=clock,
        events=event_sink,
        limiter=limiter,
    )

    #: The process's identical in-flight reads, shared by every smart sync service.
    read_coalescer = providers.Singleton(ReadCoalescer)

    #: Smart sync's retries, from the `retry` settings.
    retry_policy = providers.Singleton(settings_retry_policy, config)

    #: The resilient path for one business's company: `smart_sync(business_id=..., realm_id=...)`.
    smart_sync = providers.Factory(
        SmartSyncService,
        raw_client=raw_client,
        auth=auth,
        limiter=limiter,
        cache=cache,
        clock=clock,
        events=event_sink,
        config=qbo_config,
        retry=retry_policy,
        coalescer=read_coalescer,
    )

    #: The health monitor's thresholds, from the `health` settings.
    health_thresholds = providers.Singleton(settings_health_thresholds, config)

    #: A business's connection health and alerts: token facts from `auth`, traffic from
    #: `health_recorder`, and a ping of each store in use, by its provider's name.
    health = providers.Singleton(
        QBOHealthMonitor,
        auth=auth,
        recorder=health_recorder,
        clock=clock,
        events=event_sink,
        probes=providers.Dict(
            token_store=token_store,
            cache=cache,
            lock=lock,
            quota_store=quota_store,
            state_store=state_store,
        ),
        thresholds=health_thresholds,
        ping_timeout=config.health.ping_timeout,
    )

    #: Intuit's webhook deliveries, judged: signed with `api.webhook_verifier_token`,
    #: de-duplicated in `state_store` (share it between the web workers), of realms with
    #: usable tokens in `token_store`. Asking for it unconfigured: `ConfigurationError`.
    webhook_receiver = providers.Singleton(
        _webhook_receiver,
        config=qbo_config,
        state_store=state_store,
        token_store=token_store,
        events=event_sink,
        clock=clock,
        dedupe_ttl=config.webhooks.dedupe_ttl,
        max_body_bytes=config.webhooks.max_body_bytes,
    )


def build_container(
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> QBOContainer:
    """A `QBOContainer` from settings validated now (see `qbo_container.settings`).

    Raises `ConfigurationError` naming `<section>.<key>` for the first bad setting.
    """
    container = QBOContainer()
    container.config.from_dict(load_settings(settings, file=file, environ=environ))
    return container


async def shutdown(container: QBOContainer) -> None:
    """Close what the container opened (the aiohttp session, the SQL engine, the Redis
    client). Call when the host stops."""
    pending = container.shutdown_resources()
    if pending is not None:
        await pending
