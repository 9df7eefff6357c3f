"""The `QBO` facade: typed ports and services between open and close, one-keyword fakes."""

from __future__ import annotations

import base64
import inspect
import json
from typing import Any, assert_type
from urllib.parse import urlencode

import pytest

from qbo_adapters.aiohttp.transport import AiohttpTransport
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.memory.cache import MemoryCache
from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.event_sinks import FanOutEventSink, RecordingEventSink
from qbo_adapters.memory.fake_transport import FakeTransport
from qbo_adapters.memory.lock import AsyncioLock
from qbo_adapters.memory.quota_store import MemoryQuotaStore
from qbo_adapters.memory.state_store import MemoryStateStore
from qbo_adapters.memory.token_store import MemoryTokenStore
from qbo_container import QBO
from qbo_core import events
from qbo_core.config import QBOConfig
from qbo_core.dtos import RealmAuth
from qbo_core.errors import ConfigurationError, ConnectError, ThrottledError
from qbo_core.http import HttpRequest, HttpResponse
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
from qbo_core.services.health import HealthRecorder, QBOHealthMonitor
from qbo_core.services.raw_client import QBORawClient

INTUIT = {"api": {"client_id": "real-app", "client_secret": "real-secret"}}

COMPANY_INFO = json.dumps(
    {"CompanyInfo": {"Id": "1", "CompanyName": "Fake Co", "SyncToken": "0"}}
).encode()


def _company_info(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=200, headers={"Content-Type": "application/json"}, body=COMPANY_INFO)


def _auth(qbo: QBO) -> RealmAuth:
    """A realm of the embedded emulator and a valid access token for it."""
    emulator = qbo.embedded_emulator()
    realm = emulator.realm_ids[0]
    return RealmAuth(realm_id=realm, access_token=emulator.oauth.mint_tokens(realm)["access_token"])


async def test_every_attribute_is_typed_by_its_port() -> None:
    """The facade exposes config, ports and the raw client under their declared types."""
    async with QBO.open(environ={}) as qbo:
        assert_type(qbo.config, QBOConfig)
        assert_type(qbo.clock, Clock)
        assert_type(qbo.events, EventSink)
        assert_type(qbo.token_store, TokenStore)
        assert_type(qbo.cache, Cache)
        assert_type(qbo.lock, Lock)
        assert_type(qbo.quota_store, QuotaStore)
        assert_type(qbo.state_store, StateStore)
        assert_type(qbo.transport, HttpTransport)
        assert_type(qbo.raw_client, QBORawClient)
        assert_type(qbo.health, QBOHealthMonitor)
        assert_type(qbo.health_recorder, HealthRecorder)
        assert isinstance(qbo.events, FanOutEventSink)
        made = qbo.container.health()
        assert qbo.health is (await made if inspect.isawaitable(made) else made)
        assert qbo.health.recorder is qbo.health_recorder


async def test_with_nothing_configured_the_raw_client_talks_to_the_embedded_emulator() -> None:
    """No settings at all: the transport is the in-process emulator and a read works."""
    async with QBO.open(environ={}) as qbo:
        assert isinstance(qbo.transport, EmulatorTransport)
        info = await qbo.raw_client.company_info(_auth(qbo))
        assert info.id == "1"


async def test_the_embedded_oauth_endpoints_work_with_the_configured_credentials() -> None:
    """With nothing configured, the config's credentials and token endpoint get real tokens
    from the embedded emulator, and its discovery document agrees with the config's URLs."""
    async with QBO.open(environ={}) as qbo:
        client_id, client_secret = qbo.config.require_credentials()
        discovery = await qbo.transport.send(
            HttpRequest(method="GET", url=qbo.config.discovery_url)
        )
        document = json.loads(discovery.body)
        assert document["token_endpoint"] == qbo.config.token_endpoint
        assert document["authorization_endpoint"] == qbo.config.authorization_endpoint
        realm = qbo.container.emulator().realm_ids[0]
        refresh = qbo.container.emulator().oauth.mint_tokens(realm)["refresh_token"]
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        answer = await qbo.transport.send(
            HttpRequest(
                method="POST",
                url=qbo.config.token_endpoint,
                headers={
                    "Authorization": f"Basic {basic}",
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                },
                body=urlencode({"grant_type": "refresh_token", "refresh_token": refresh}).encode(),
            )
        )
        assert answer.status == 200, answer.body
        assert "access_token" in json.loads(answer.body)


async def test_the_embedded_transport_refuses_intuit_urls() -> None:
    """The embedded emulator answers only its own origin: an Intuit URL is a ConnectError."""
    async with QBO.open(environ={}) as qbo:
        with pytest.raises(ConnectError):
            await qbo.transport.send(HttpRequest(method="GET", url=QBOConfig().discovery_url))


async def test_throttling_of_the_embedded_emulator_follows_the_settings() -> None:
    """Throttled by default (an 11th call in a second exceeds 10/s); `emulator.throttle = false`
    lifts the limit."""
    async with QBO.open(environ={}) as qbo:
        auth = _auth(qbo)
        for _ in range(10):
            await qbo.raw_client.company_info(auth)
        with pytest.raises(ThrottledError):
            await qbo.raw_client.company_info(auth)
    async with QBO.open({"emulator": {"throttle": False}}, environ={}) as qbo:
        auth = _auth(qbo)
        for _ in range(15):
            await qbo.raw_client.company_info(auth)


async def test_with_credentials_the_aiohttp_session_opens_and_closes_with_the_block() -> None:
    """api.client_id selects aiohttp; the session the container opened is closed on exit."""
    async with QBO.open(INTUIT, environ={}) as qbo:
        assert isinstance(qbo.transport, AiohttpTransport)
        session = await qbo.container.http_session()  # type: ignore[misc]
        assert not session.closed
    assert session.closed


def _fakes() -> dict[str, Any]:
    clock = FakeClock()
    return {
        "clock": clock,
        "event_sink": RecordingEventSink(),
        "cache": MemoryCache(clock),
        "token_store": MemoryTokenStore(),
        "lock": AsyncioLock(clock),
        "quota_store": MemoryQuotaStore(clock),
        "transport": FakeTransport(_company_info),
        "state_store": MemoryStateStore(clock),
    }


ATTRIBUTES = {
    "clock": "clock",
    "event_sink": "events",
    "cache": "cache",
    "token_store": "token_store",
    "lock": "lock",
    "quota_store": "quota_store",
    "state_store": "state_store",
    "transport": "transport",
}


@pytest.mark.parametrize("settings", [None, INTUIT], ids=["embedded", "intuit"])
@pytest.mark.parametrize("port", sorted(ATTRIBUTES))
async def test_each_port_is_replaced_by_one_keyword(
    port: str, settings: dict[str, dict[str, str]] | None
) -> None:
    """`QBO.open(..., <port>=fake)` puts the fake in, in the facade and in the container,
    whichever transport the settings would pick."""
    fake = _fakes()[port]
    async with QBO.open(settings, environ={}, **{port: fake}) as qbo:
        assert getattr(qbo, ATTRIBUTES[port]) is fake
        assert getattr(qbo.container, port)() is fake


async def test_all_ports_replaced_at_once_drive_the_raw_client() -> None:
    """With every port faked, a call goes through the fake transport, is reported to the
    fake sink at the fake clock's time, and no aiohttp session is opened."""
    fakes = _fakes()
    async with QBO.open(INTUIT, environ={}, **fakes) as qbo:
        info = await qbo.raw_client.company_info(RealmAuth(realm_id="1", access_token="t"))
        assert info.id == "1"
        assert fakes["transport"].requests[0].url.startswith(qbo.config.api_base_url)
        sink = fakes["event_sink"]
        assert sink.kinds() == [events.HTTP_REQUEST]
        assert sink.events[0].at == fakes["clock"].now()
        assert qbo.container.http_session.initialized is False


async def test_a_fake_clock_reaches_what_is_built_on_the_clock() -> None:
    """The clock keyword also feeds the adapters built on it: the cache and the emulator."""
    clock = FakeClock()
    async with QBO.open(environ={}, clock=clock) as qbo:
        await qbo.cache.set("r", "k", b"v", ttl=10)
        await clock.sleep(11)
        assert await qbo.cache.get("r", "k") is None
        assert qbo.container.emulator().clock is clock


async def test_an_object_that_is_not_the_port_is_refused() -> None:
    """Passing something that does not implement the port is a ConfigurationError by name."""
    with pytest.raises(ConfigurationError) as caught:
        async with QBO.open(environ={}, cache=object()):  # type: ignore[arg-type]
            pass
    assert caught.value.field == "cache"


async def test_bad_settings_fail_at_open() -> None:
    """Settings are validated when the facade opens, before anything is built."""
    with pytest.raises(ConfigurationError) as caught:
        async with QBO.open({"emulator": {"size": "huge"}}, environ={}):
            pass
    assert caught.value.field == "emulator.size"


async def test_added_event_sinks_receive_every_later_event() -> None:
    """add_event_sink joins the default fan-out: the logging sink and the added one both get
    the raw client's events."""
    extra = RecordingEventSink()
    async with QBO.open({"events": {"backend": "recording"}}, environ={}) as qbo:
        qbo.add_event_sink(extra)
        await qbo.raw_client.company_info(_auth(qbo))
        backend = qbo.container.event_backend()
        assert isinstance(backend, RecordingEventSink)
        assert extra.kinds() == backend.kinds() == [events.HTTP_REQUEST]


async def test_add_event_sink_refuses_when_the_sink_was_replaced() -> None:
    """With event_sink replaced there is no fan-out to add to; saying so beats a silent drop."""
    async with QBO.open(environ={}, event_sink=RecordingEventSink()) as qbo:
        with pytest.raises(ConfigurationError):
            qbo.add_event_sink(RecordingEventSink())


async def test_the_embedded_emulator_is_reachable_only_when_it_is_the_transport() -> None:
    """`embedded_emulator()` is the emulator the raw client talks to; with Intuit settings
    there is none, and saying so is a ConfigurationError rather than a silent stand-in."""
    async with QBO.open(environ={}) as qbo:
        emulator = qbo.embedded_emulator()
        assert emulator is qbo.container.emulator()
        info = await qbo.raw_client.company_info(_auth(qbo))
        assert (
            info.company_name
            == emulator.control.inspect(emulator.realm_ids[0], "CompanyInfo", "1")["CompanyName"]
        )
    async with QBO.open(INTUIT, environ={}) as qbo:
        with pytest.raises(ConfigurationError):
            qbo.embedded_emulator()


async def test_smart_sync_is_typed_and_built_on_the_facades_ports() -> None:
    """`qbo.smart_sync(...)` returns a typed `SmartSyncService` for that company, even with
    the aiohttp graph (asynchronous); with the embedded emulator a read goes through it."""
    from qbo_core.services.smart_sync import SmartSyncService

    async with QBO.open(INTUIT, environ={}) as qbo:
        service = qbo.smart_sync(business_id="b-1", realm_id="123")
        assert_type(service, SmartSyncService)
        assert (service.business_id, service.realm_id) == ("b-1", "123")
    async with QBO.open(environ={}, cache=MemoryCache(FakeClock())) as qbo:
        emulator = qbo.embedded_emulator()
        realm = emulator.realm_ids[0]
        payload = emulator.oauth.mint_tokens(realm)
        from qbo_core.wire import oauth as wire_oauth

        tokens = wire_oauth.decode_token_response(
            HttpResponse(status=200, body=json.dumps(payload).encode()),
            now=qbo.clock.now(),
            config=qbo.config,
            realm_id=realm,
        )
        await qbo.token_store.save(realm, tokens, expected_version=None)
        sync = qbo.smart_sync(business_id="b-1", realm_id=realm)
        info = await sync.company_info()
        assert info.id == "1"
        again = await qbo.smart_sync(business_id="b-1", realm_id=realm).company_info()
        assert again == info  # from the shared cache
