"""`QBOContainer`: the composition root, the only place that names concrete adapters."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Mapping
from pathlib import Path
from typing import Any, cast

import aiohttp
from dependency_injector import containers, providers

from qbo_adapters.aiohttp.transport import AiohttpTransport
from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.memory.cache import MemoryCache
from qbo_adapters.memory.clock import SystemClock
from qbo_adapters.memory.event_sinks import LoggingEventSink, RecordingEventSink
from qbo_adapters.memory.lock import AsyncioLock
from qbo_adapters.memory.quota_store import MemoryQuotaStore
from qbo_adapters.memory.token_store import MemoryTokenStore
from qbo_container.settings import DEFAULT_SETTINGS, load_settings
from qbo_core.config import QBOConfig
from qbo_core.errors import ConfigurationError
from qbo_core.ports.http_transport import HttpTransport
from qbo_core.services.raw_client import QBORawClient

__all__ = ["QBOContainer", "build_container", "raw_client", "shutdown", "transport"]


def _qbo_config(api: Mapping[str, Any] | None) -> QBOConfig:
    return QBOConfig.from_mapping(dict(api or {}))


def _logger(name: str) -> logging.Logger:
    return logging.getLogger(name)


def _level(name: str | int) -> int:
    if isinstance(name, int):
        return name
    level = logging.getLevelName(str(name).upper())
    return level if isinstance(level, int) else logging.INFO


async def _http_session(config: QBOConfig) -> AsyncIterator[aiohttp.ClientSession]:
    """One pooled aiohttp session for the process; closed by `shutdown_resources()`."""
    connector = aiohttp.TCPConnector(limit=100, limit_per_host=config.max_concurrent_requests * 4)
    session = aiohttp.ClientSession(connector=connector, raise_for_status=False)
    try:
        yield session
    finally:
        await session.close()


async def _in_process_transport(emulator: QBOEmulator) -> AsyncIterator[EmulatorTransport]:
    yield EmulatorTransport(emulator)


def _transport_backend(backend: str, client_id: object) -> str:
    if backend != "auto":
        return backend
    return "aiohttp" if client_id else "emulator"


def _emulator_settings(settings: Mapping[str, Any] | None) -> EmulatorSettings:
    values = dict(settings or {})
    try:
        return EmulatorSettings(
            seed=int(values.get("seed", 0)),
            size=values.get("size", "small"),
            realms=int(values.get("realms", 1)),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"invalid emulator settings: {exc}", field="emulator") from exc


class QBOContainer(containers.DeclarativeContainer):
    """Wires qbo-infra's ports to adapters from settings. Nothing is built until asked for.

    Resources (the aiohttp session) open on first use or `await init_resources()` and
    close on `await shutdown_resources()`; call the latter when the host shuts down.

    Every provider can be swapped with `container.<name>.override(...)`, which is how a
    host's tests put fakes in. With no settings at all every backend is in memory.
    """

    config = providers.Configuration(default=DEFAULT_SETTINGS)

    qbo_config = providers.Singleton(_qbo_config, config.api)

    clock = providers.Singleton(SystemClock)

    event_sink = providers.Selector(
        config.events.backend,
        logging=providers.Singleton(
            LoggingEventSink,
            logger=providers.Callable(_logger, config.events.logger),
            level=providers.Callable(_level, config.events.level),
        ),
        recording=providers.Singleton(RecordingEventSink),
    )

    cache = providers.Selector(
        config.cache.backend,
        memory=providers.Singleton(
            MemoryCache, clock=clock, max_entries=config.cache.max_entries.as_int()
        ),
    )

    token_store = providers.Selector(
        config.token_store.backend,
        memory=providers.Singleton(MemoryTokenStore),
    )

    lock = providers.Selector(
        config.lock.backend,
        asyncio=providers.Singleton(AsyncioLock, clock=clock),
    )

    quota_store = providers.Selector(
        config.quota_store.backend,
        memory=providers.Singleton(MemoryQuotaStore, clock=clock),
    )

    http_session = providers.Resource(_http_session, config=qbo_config)

    emulator = providers.Singleton(
        QBOEmulator, providers.Callable(_emulator_settings, config.emulator), clock=clock
    )

    #: Awaitable in every configuration: `transport = await container.transport()`.
    transport = providers.Selector(
        providers.Callable(_transport_backend, config.transport.backend, config.api.client_id),
        aiohttp=providers.Singleton(
            AiohttpTransport,
            session=http_session,
            connect_timeout=qbo_config.provided.connect_timeout,
            read_timeout=qbo_config.provided.read_timeout,
            total_timeout=qbo_config.provided.total_timeout,
            max_response_bytes=qbo_config.provided.max_response_bytes,
        ),
        # A resource too, so that both branches are awaitable alike.
        emulator=providers.Resource(_in_process_transport, emulator),
    )

    #: `client = await container.raw_client()`.
    raw_client = providers.Factory(
        QBORawClient, transport, qbo_config, events=event_sink, clock=clock
    )


def build_container(
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> QBOContainer:
    """A `QBOContainer` configured from validated settings (see `qbo_container.settings`)."""
    container = QBOContainer()
    container.config.from_dict(load_settings(settings, file=file, environ=environ))
    return container


async def transport(container: QBOContainer) -> HttpTransport:
    """The configured transport (typed; the provider itself returns an awaitable)."""
    return await cast(Awaitable[HttpTransport], container.transport())


async def raw_client(container: QBOContainer) -> QBORawClient:
    """A `QBORawClient` on the configured transport, config, event sink and clock."""
    return await cast(Awaitable[QBORawClient], container.raw_client())


async def shutdown(container: QBOContainer) -> None:
    """Close what the container opened (the aiohttp session). Call when the host stops."""
    pending = container.shutdown_resources()
    if pending is not None:
        await pending
