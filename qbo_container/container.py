"""`QBOContainer`: the composition root, the only place that names concrete adapters."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dependency_injector import containers, providers

from qbo_adapters.asyncio_lock import AsyncioLock
from qbo_adapters.clock import SystemClock
from qbo_adapters.event_sinks import LoggingEventSink, RecordingEventSink
from qbo_adapters.memory_cache import MemoryCache
from qbo_adapters.memory_quota_store import MemoryQuotaStore
from qbo_adapters.memory_token_store import MemoryTokenStore
from qbo_container.settings import DEFAULT_SETTINGS, load_settings
from qbo_core.config import QBOConfig

__all__ = ["QBOContainer", "build_container"]


def _qbo_config(api: Mapping[str, Any] | None) -> QBOConfig:
    return QBOConfig.from_mapping(dict(api or {}))


def _logger(name: str) -> logging.Logger:
    return logging.getLogger(name)


def _level(name: str | int) -> int:
    if isinstance(name, int):
        return name
    level = logging.getLevelName(str(name).upper())
    return level if isinstance(level, int) else logging.INFO


class QBOContainer(containers.DeclarativeContainer):
    """Wires qbo-infra's ports to adapters from settings. Nothing is built until asked for.

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
        memory=providers.Singleton(MemoryQuotaStore),
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
