"""`QBO`: the typed front door to the container, opened and closed with `async with`.

    from qbo_container import QBO

    async with QBO.open() as qbo:  # nothing configured: the embedded emulator
        info = await qbo.raw_client.company_info(auth)

Every attribute is typed by its port (or service), so host code needs no cast.
A test swaps any port for a fake with one keyword, and everything built on that
port (the raw client, the cache's clock, the emulator...) uses the fake::

    async with QBO.open(settings, transport=FakeTransport(handler), clock=FakeClock()) as qbo:
        ...
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dependency_injector import providers

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.memory.event_sinks import FanOutEventSink
from qbo_container.container import QBOContainer, build_container, shutdown
from qbo_core.config import QBOConfig
from qbo_core.errors import ConfigurationError
from qbo_core.ports import (
    Cache,
    Clock,
    EventSink,
    HttpTransport,
    Lock,
    QuotaStore,
    StateStore,
    TokenStore,
)
from qbo_core.services.auth import QBOAuthService
from qbo_core.services.health import HealthRecorder, QBOHealthMonitor
from qbo_core.services.raw_client import QBORawClient
from qbo_core.services.retry import RetryPolicy
from qbo_core.services.setup import QBOSetupService
from qbo_core.services.smart_sync import (
    Permits,
    ReadCoalescer,
    SmartSyncService,
    UnlimitedPermits,
)
from qbo_core.services.webhooks import WebhookReceiver

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["QBO"]


async def _resolved(value: object) -> object:
    # A provider returns an awaitable when anything below it is an async resource
    # (the aiohttp session) and a plain value otherwise, overrides included.
    return await value if inspect.isawaitable(value) else value


def _checked(value: object, port: Any, name: str) -> Any:
    if not isinstance(value, port):
        raise ConfigurationError(
            f"{name} is {value!r}, which does not implement {port.__name__}", field=name
        )
    return value


class QBO:
    """The container's ports and services for one host, typed, between open and close.

    Build it with `async with QBO.open(...) as qbo:`; on leaving the block the
    container's resources (the aiohttp session, the SQL engine, the Redis client) are
    closed. Attributes:

    - `config` (`QBOConfig`), `clock` (`Clock`), `events` (`EventSink`: by default a
      `FanOutEventSink`, see `add_event_sink`), `token_store` (`TokenStore`),
      `cache` (`Cache`), `lock` (`Lock`), `quota_store` (`QuotaStore`),
      `state_store` (`StateStore`), `transport` (`HttpTransport`);
    - `raw_client` (`QBORawClient`), on that transport, config, event sink and clock;
    - `auth` (`QBOAuthService`): authorization URLs, code exchange, refresh under
      the lock, revoke, status; on the ports above, fakes passed to `open` included;
    - `setup` (`QBOSetupService`): begin and complete a business's connection,
      status, reconnect, disconnect; on `auth` and `raw_client`;
    - `limiter` (`Permits`): the process's rate limiter, shared by every smart sync;
    - `smart_sync(business_id=..., realm_id=...)`: a `SmartSyncService` for that company,
      on the ports above (its cache, clock and events), `auth` and `raw_client`;
    - `health_recorder` (`HealthRecorder`): what this process saw of each realm's
      traffic; it is in the container's event fan-out from the start (an `event_sink`
      replaced at `open` is the only sink: put `qbo.health_recorder` in it yourself);
    - `health` (`QBOHealthMonitor`): a business's connection health and alerts, on
      `auth`, `health_recorder` and a ping of each store above (`token_store`, `cache`,
      `lock`, `quota_store`, `state_store`), with the `health` settings' thresholds;
    - `webhook_receiver()`: the `WebhookReceiver` for Intuit's webhook deliveries, on
      `api.webhook_verifier_token`, `state_store` and `token_store`;
    - `prometheus_registry()`: the Prometheus metrics, when `events.prometheus` is on;
    - `container`: the underlying `QBOContainer`, for providers not exposed here.
    """

    def __init__(
        self,
        *,
        container: QBOContainer,
        config: QBOConfig,
        clock: Clock,
        events: EventSink,
        token_store: TokenStore,
        cache: Cache,
        lock: Lock,
        quota_store: QuotaStore,
        state_store: StateStore,
        transport: HttpTransport,
        raw_client: QBORawClient,
        auth: QBOAuthService,
        setup: QBOSetupService,
        limiter: Permits | None = None,
        retry_policy: RetryPolicy | None = None,
        read_coalescer: ReadCoalescer | None = None,
        health_recorder: HealthRecorder | None = None,
        health: QBOHealthMonitor | None = None,
    ) -> None:
        self.container = container
        self.config = config
        self.clock = clock
        self.events = events
        self.token_store = token_store
        self.cache = cache
        self.lock = lock
        self.quota_store = quota_store
        self.state_store = state_store
        self.transport = transport
        self.raw_client = raw_client
        self.auth = auth
        self.setup = setup
        self.limiter: Permits = limiter if limiter is not None else UnlimitedPermits(clock)
        self._retry_policy = retry_policy if retry_policy is not None else RetryPolicy()
        self._read_coalescer = read_coalescer if read_coalescer is not None else ReadCoalescer()
        # `open` passes the container's; a QBO built by hand without them gets a monitor
        # on the given ports and a recorder that sees what its builder sends it.
        if health_recorder is None:
            health_recorder = health.recorder if health is not None else HealthRecorder(clock)
        self.health_recorder: HealthRecorder = health_recorder
        self.health: QBOHealthMonitor = (
            health
            if health is not None
            else QBOHealthMonitor(
                auth=auth,
                recorder=health_recorder,
                clock=clock,
                events=events,
                probes={
                    "token_store": token_store,
                    "cache": cache,
                    "lock": lock,
                    "quota_store": quota_store,
                    "state_store": state_store,
                },
            )
        )

    def smart_sync(self, *, business_id: str, realm_id: str) -> SmartSyncService:
        """The resilient path for `business_id`'s QBO company `realm_id` (cheap: make one
        per job or request). Identical reads coalesce across every instance of this
        `QBO`, and all of them share one limiter."""
        # Every dependency is passed resolved, so the Factory answers synchronously even
        # when the container's graph is asynchronous (the aiohttp session).
        service = self.container.smart_sync(
            business_id=business_id,
            realm_id=realm_id,
            raw_client=self.raw_client,
            auth=self.auth,
            limiter=self.limiter,
            cache=self.cache,
            clock=self.clock,
            events=self.events,
            config=self.config,
            retry=self._retry_policy,
            coalescer=self._read_coalescer,
        )
        if not isinstance(service, SmartSyncService):  # pragma: no cover - an override's bug
            raise TypeError(f"smart_sync built {service!r}")
        return service

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        file: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        event_sink: EventSink | None = None,
        cache: Cache | None = None,
        token_store: TokenStore | None = None,
        lock: Lock | None = None,
        quota_store: QuotaStore | None = None,
        transport: HttpTransport | None = None,
        state_store: StateStore | None = None,
    ) -> AsyncIterator[QBO]:
        """Build a container from settings (validated now), open it, yield a `QBO`, close it.

        `settings`, `file` and `environ` are `build_container`'s (defaults < file <
        `QBO_*` environment < `settings`; `environ={}` ignores the process
        environment). Each port keyword replaces that port with the given object for
        everything the container builds: the one documented way to put in a fake.
        Raises `ConfigurationError` for a bad setting or an object that is not the port.
        """
        container = build_container(settings, file=file, environ=environ)
        overrides: dict[str, object | None] = {
            "clock": clock,
            "event_sink": event_sink,
            "cache": cache,
            "token_store": token_store,
            "lock": lock,
            "quota_store": quota_store,
            "state_store": state_store,
            "transport": transport,
        }
        for name, fake in overrides.items():
            if fake is not None:
                provider: providers.Provider[Any] = getattr(container, name)
                provider.override(providers.Object(fake))
        try:
            yield await cls._resolve(container)
        finally:
            await shutdown(container)

    @classmethod
    async def _resolve(cls, container: QBOContainer) -> QBO:
        async def port(name: str, kind: Any) -> Any:
            provider: providers.Provider[Any] = getattr(container, name)
            return _checked(await _resolved(provider()), kind, name)

        config = await _resolved(container.qbo_config())
        if not isinstance(config, QBOConfig):  # pragma: no cover - the container builds it
            raise TypeError(f"qbo_config is {config!r}")
        raw_client = await _resolved(container.raw_client())
        if not isinstance(raw_client, QBORawClient):  # pragma: no cover
            raise TypeError(f"raw_client is {raw_client!r}")
        auth = await _resolved(container.auth())
        if not isinstance(auth, QBOAuthService):  # pragma: no cover
            raise TypeError(f"auth is {auth!r}")
        setup = await _resolved(container.setup())
        if not isinstance(setup, QBOSetupService):  # pragma: no cover
            raise TypeError(f"setup is {setup!r}")
        limiter = _checked(await _resolved(container.limiter()), Permits, "limiter")
        retry_policy = await _resolved(container.retry_policy())
        if not isinstance(retry_policy, RetryPolicy):  # pragma: no cover
            raise TypeError(f"retry_policy is {retry_policy!r}")
        read_coalescer = await _resolved(container.read_coalescer())
        if not isinstance(read_coalescer, ReadCoalescer):  # pragma: no cover
            raise TypeError(f"read_coalescer is {read_coalescer!r}")
        health_recorder = await _resolved(container.health_recorder())
        if not isinstance(health_recorder, HealthRecorder):  # pragma: no cover
            raise TypeError(f"health_recorder is {health_recorder!r}")
        health = await _resolved(container.health())
        if not isinstance(health, QBOHealthMonitor):  # pragma: no cover
            raise TypeError(f"health is {health!r}")
        return cls(
            container=container,
            config=config,
            clock=await port("clock", Clock),
            events=await port("event_sink", EventSink),
            token_store=await port("token_store", TokenStore),
            cache=await port("cache", Cache),
            lock=await port("lock", Lock),
            quota_store=await port("quota_store", QuotaStore),
            state_store=await port("state_store", StateStore),
            transport=await port("transport", HttpTransport),
            raw_client=raw_client,
            auth=auth,
            setup=setup,
            limiter=limiter,
            retry_policy=retry_policy,
            read_coalescer=read_coalescer,
            health_recorder=health_recorder,
            health=health,
        )

    def embedded_emulator(self) -> QBOEmulator:
        """The in-process emulator the transport talks to (nothing configured, or
        `transport.backend = "emulator"`): seed data, mint tokens, inject faults.

        Raises `ConfigurationError` when the transport is anything else (Intuit, or a
        transport passed to `open`).
        """
        if not isinstance(self.transport, EmulatorTransport):
            raise ConfigurationError(
                "the transport is not the embedded emulator, so there is none to return",
                field="transport.backend",
            )
        emulator = self.container.emulator()
        if not isinstance(emulator, QBOEmulator):  # pragma: no cover - the container builds it
            raise TypeError(f"emulator is {emulator!r}")
        return emulator

    def webhook_receiver(self) -> WebhookReceiver:
        """The container's `WebhookReceiver` (one per `QBO`): deliveries signed with
        `api.webhook_verifier_token`, de-duplicated in `state_store` (share it between the
        processes that receive webhooks), of realms with usable tokens in `token_store`,
        with the `webhooks` settings' `dedupe_ttl` and `max_body_bytes`. Mount it with
        `qbo_adapters.aiohttp.webhook_handler(qbo.webhook_receiver(), callback)`.

        Raises `ConfigurationError` (field `api.webhook_verifier_token`) when no verifier
        token is configured.
        """
        # Every dependency is passed resolved, so the provider answers synchronously.
        receiver = self.container.webhook_receiver(
            config=self.config,
            state_store=self.state_store,
            token_store=self.token_store,
            events=self.events,
            clock=self.clock,
        )
        if not isinstance(receiver, WebhookReceiver):  # pragma: no cover - an override's bug
            raise TypeError(f"webhook_receiver built {receiver!r}")
        return receiver

    def add_event_sink(self, sink: EventSink) -> None:
        """Send every later event to `sink` as well (metrics, a host's own sink; the
        `health_recorder` is in the fan-out already).

        The default event sink is a `FanOutEventSink`; this adds to it. Raises
        `ConfigurationError` when `event_sink` was replaced at `open` (then the
        replacement is the only sink: give it the fan-out you want).
        """
        if not isinstance(self.events, FanOutEventSink):
            raise ConfigurationError(
                "event_sink was replaced at open; add sinks to the replacement instead",
                field="event_sink",
            )
        self.events.add(sink)

    def prometheus_registry(self) -> CollectorRegistry:
        """The registry holding the Prometheus sink's metrics (`events.prometheus = true`).

        Serve it where Prometheus scrapes, e.g.
        `app.router.add_get("/metrics", metrics_handler(qbo.prometheus_registry()))` with
        `qbo_adapters.prometheus.metrics_handler`. Raises `ConfigurationError` when
        `events.prometheus` is off, or when `event_sink` was replaced at `open` (the
        container's sinks, the Prometheus one included, are then not in use).
        """
        if not self.container.config.events.prometheus():
            raise ConfigurationError(
                "Prometheus metrics are off: set events.prometheus = true",
                field="events.prometheus",
            )
        sink = self.container.prometheus_sink()
        if not (isinstance(self.events, FanOutEventSink) and sink in self.events.sinks):
            raise ConfigurationError(
                "event_sink was replaced at open, so the Prometheus sink receives nothing",
                field="event_sink",
            )
        registry: CollectorRegistry = sink.registry
        return registry

    def __repr__(self) -> str:
        return f"QBO(transport={self.transport!r}, events={self.events!r})"
