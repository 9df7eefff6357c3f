"""`QBOContainer`: the composition root, the only place that names concrete adapters.

Hosts normally reach it through the typed facade `qbo_container.QBO`; the container
itself is for wiring and for those who need a provider the facade does not expose.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
from dependency_injector import containers, providers

from qbo_adapters.aiohttp.transport import AiohttpTransport
from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.memory.cache import MemoryCache
from qbo_adapters.memory.clock import SystemClock
from qbo_adapters.memory.event_sinks import FanOutEventSink, LoggingEventSink, RecordingEventSink
from qbo_adapters.memory.lock import AsyncioLock
from qbo_adapters.memory.quota_store import MemoryQuotaStore
from qbo_adapters.memory.state_store import MemoryStateStore
from qbo_adapters.memory.token_store import MemoryTokenStore
from qbo_container.settings import (
    DEFAULT_SETTINGS,
    EMULATOR_BASE_URL,
    api_config,
    emulator_settings,
    load_settings,
    transport_backend,
)
from qbo_core.config import QBOConfig
from qbo_core.services.raw_client import QBORawClient

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


class QBOContainer(containers.DeclarativeContainer):
    """Wires qbo-infra's ports to adapters from settings. Nothing is built until asked for.

    `config` holds validated settings (`build_container` validates them; a bare
    `QBOContainer()` uses the defaults: every backend in memory, the embedded emulator).
    The aiohttp session is a resource: it opens when the aiohttp transport is first
    resolved (an awaitable then) and closes on `await shutdown_resources()`.

    Ports: `clock`, `event_sink` (a `FanOutEventSink` around `event_backend`; add
    sinks with `container.event_sink().add(sink)`), `cache`, `token_store`, `lock`,
    `quota_store`, `state_store`, `transport`.
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

    #: The fan-out every service emits to; the configured backend is its first sink.
    event_sink = providers.Singleton(FanOutEventSink, event_backend)

    cache = providers.Selector(
        config.cache.backend,
        memory=providers.Singleton(MemoryCache, clock=clock, max_entries=config.cache.max_entries),
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

    state_store = providers.Selector(
        config.state_store.backend,
        memory=providers.Singleton(MemoryStateStore, clock=clock),
    )

    http_session = providers.Resource(_http_session, config=qbo_config)

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
    """Close what the container opened (the aiohttp session). Call when the host stops."""
    pending = container.shutdown_resources()
    if pending is not None:
        await pending
