"""Health and webhooks in the container: the recorder is always in the event fan-out, the
monitor pings the stores actually in use with the `health` settings' thresholds, and the
webhook receiver is built from `api.webhook_verifier_token` and the `webhooks` settings."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any, assert_type

import pytest

from qbo_adapters.memory.cache import MemoryCache
from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.lock import AsyncioLock
from qbo_adapters.memory.quota_store import MemoryQuotaStore
from qbo_adapters.memory.state_store import MemoryStateStore
from qbo_adapters.memory.token_store import MemoryTokenStore
from qbo_container import QBO, build_container, load_settings
from qbo_container.settings import effective_settings, redacted_settings
from qbo_core.dtos import HealthState
from qbo_core.errors import ConfigurationError, StoreUnavailableError
from qbo_core.http import HttpResponse
from qbo_core.services.health import HealthThresholds
from qbo_core.services.webhooks import WebhookReceiver
from qbo_core.wire import oauth
from tests.adapters.redis_server import TEST_DB, redis_client

STORES = ("cache", "lock", "quota_store", "state_store", "token_store")
MEMORY: dict[str, dict[str, Any]] = {"token_store": {"backend": "memory"}}
VERIFIER = "container-verifier-3f1c9a"
WITH_VERIFIER: dict[str, dict[str, Any]] = {"api": {"webhook_verifier_token": VERIFIER}}


async def _connect(qbo: QBO, index: int = 0) -> str:
    """As if the user had connected the embedded emulator's company `index`: its tokens
    in the container's token store. Returns the realm."""
    emulator = qbo.embedded_emulator()
    realm = emulator.realm_ids[index]
    tokens = oauth.decode_token_response(
        HttpResponse(status=200, body=json.dumps(emulator.control.mint_tokens(realm)).encode()),
        now=qbo.clock.now(),
        config=qbo.config,
        realm_id=realm,
    )
    await qbo.token_store.save(realm, tokens, expected_version=None)
    return realm


def _signed(realm: str, entity_id: str = "1", verifier: str = VERIFIER) -> tuple[bytes, str]:
    """A legacy notification of one customer update in `realm`, and its signature."""
    body = json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": realm,
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Customer",
                                "id": entity_id,
                                "operation": "Update",
                                "lastUpdated": "2026-01-01T00:00:00.000Z",
                            }
                        ]
                    },
                }
            ]
        }
    ).encode()
    digest = hmac.new(verifier.encode(), body, hashlib.sha256).digest()
    return body, base64.b64encode(digest).decode()


# -- the recorder ------------------------------------------------------------------------


@pytest.mark.parametrize("prometheus", [False, True], ids=["plain", "prometheus"])
async def test_the_recorder_sees_a_smart_sync_calls_events(prometheus: bool) -> None:
    """With no sink added by hand, the container's recorder (last in the fan-out, after
    the Prometheus sink when that is on) counts the request a SmartSync read made and
    its success, and the monitor reports it."""
    settings: dict[str, dict[str, Any]] = {**MEMORY, "events": {"prometheus": prometheus}}
    async with QBO.open(settings, environ={}) as qbo:
        assert qbo.container.event_sink().sinks[-1] is qbo.health_recorder
        realm = await _connect(qbo)
        assert qbo.health_recorder.snapshot(realm).requests == 0
        await qbo.smart_sync(business_id="biz-1", realm_id=realm).company_info()
        stats = qbo.health_recorder.snapshot(realm)
        health = await qbo.health.get_business_health_details("biz-1", realm_id=realm)
    assert stats.requests == 1
    assert stats.errors == 0
    assert stats.last_success_at is not None
    assert health.request_count == 1
    assert health.last_success_at == stats.last_success_at
    assert health.state is HealthState.HEALTHY, health.reasons


async def test_a_replaced_event_sink_leaves_the_recorder_to_the_host() -> None:
    """With `event_sink` replaced at open the replacement is the only sink: the recorder
    counts nothing until the host puts it in its own fan-out."""
    from qbo_adapters.memory.event_sinks import FanOutEventSink, RecordingEventSink

    mine = FanOutEventSink(RecordingEventSink())
    async with QBO.open(MEMORY, environ={}, event_sink=mine) as qbo:
        realm = await _connect(qbo)
        sync = qbo.smart_sync(business_id="biz-1", realm_id=realm)
        await sync.company_info()
        assert qbo.health_recorder.snapshot(realm).requests == 0
        mine.add(qbo.health_recorder)
        await sync.company_info(fresh=True)
        assert qbo.health_recorder.snapshot(realm).requests == 1


# -- the monitor -------------------------------------------------------------------------


@pytest.mark.parametrize("settings", [{}, MEMORY], ids=["sqlite", "memory"])
async def test_health_pings_every_store_in_use(settings: dict[str, dict[str, Any]]) -> None:
    """`qbo.health` pings the five stores by name (the default SQLite tokens and states
    with a file lock, or all in memory): each is up with a round trip, and the company
    is HEALTHY."""
    async with QBO.open(settings, environ={}) as qbo:
        realm = await _connect(qbo)
        health = await qbo.health.get_business_health_details(
            "biz-1", "Biz One", {"realm_id": realm}
        )
    assert sorted(health.adapters) == sorted(STORES)
    for name, adapter in health.adapters.items():
        assert adapter.up, (name, adapter.error)
        assert adapter.round_trip_ms is not None
    assert health.state is HealthState.HEALTHY, health.reasons
    assert health.realm_id == realm


class DownTokenStore(MemoryTokenStore):
    async def ping(self) -> None:
        raise StoreUnavailableError("the token store is gone")


class DownCache(MemoryCache):
    async def ping(self) -> None:
        raise StoreUnavailableError("the cache is gone")


class DownLock(AsyncioLock):
    async def ping(self) -> None:
        raise StoreUnavailableError("the lock is gone")


class DownQuotaStore(MemoryQuotaStore):
    async def ping(self) -> None:
        raise StoreUnavailableError("the quota store is gone")


class DownStateStore(MemoryStateStore):
    async def ping(self) -> None:
        raise StoreUnavailableError("the state store is gone")


def _down(port: str, clock: FakeClock) -> Any:
    """A memory adapter for `port` whose ping fails."""
    if port == "token_store":
        return DownTokenStore()
    made: dict[str, type[Any]] = {
        "cache": DownCache,
        "lock": DownLock,
        "quota_store": DownQuotaStore,
        "state_store": DownStateStore,
    }
    return made[port](clock)


@pytest.mark.parametrize("port", STORES)
async def test_a_store_passed_to_open_is_the_one_pinged(port: str) -> None:
    """A store given to `QBO.open` is the one `qbo.health` pings under its name: when its
    ping fails, that adapter (and only it) is down, and the company UNHEALTHY."""
    clock = FakeClock()
    async with QBO.open(MEMORY, environ={}, clock=clock, **{port: _down(port, clock)}) as qbo:
        health = await qbo.health.get_business_health_details("biz-1", realm_id="123")
    assert [name for name, adapter in health.adapters.items() if not adapter.up] == [port]
    error = health.adapters[port].error
    assert error is not None
    assert error.startswith("StoreUnavailableError")
    assert health.state is HealthState.NEEDS_REAUTHORIZATION  # no tokens for realm 123
    assert f"adapter {port} is down: StoreUnavailableError" in " ".join(health.reasons)


async def test_an_unreachable_redis_cache_is_reported_down_without_raising() -> None:
    """`cache.backend = redis` on a port nobody listens on: the health check answers,
    the cache down with the adapter's error and the company UNHEALTHY, the rest up."""
    settings: dict[str, dict[str, Any]] = {
        **MEMORY,
        "cache": {"backend": "redis"},
        "redis": {"url": "redis://127.0.0.1:1/0"},
    }
    async with QBO.open(settings, environ={}) as qbo:
        realm = await _connect(qbo)
        health = await qbo.health.get_business_health_details("biz-1", realm_id=realm)
    cache = health.adapters["cache"]
    assert not cache.up
    assert cache.error is not None
    assert cache.error.startswith("StoreUnavailableError")
    assert all(health.adapters[name].up for name in STORES if name != "cache")
    assert health.state is HealthState.UNHEALTHY
    assert health.reasons[0].startswith("adapter cache is down")


@pytest.mark.redis
async def test_a_reachable_redis_cache_is_up() -> None:
    """The same settings on the test Redis: the cache answers the ping."""
    async with redis_client() as (_, prefix):
        settings: dict[str, dict[str, Any]] = {
            **MEMORY,
            "cache": {"backend": "redis"},
            "redis": {"url": f"redis://127.0.0.1:6379/{TEST_DB}", "prefix": prefix},
        }
        async with QBO.open(settings, environ={}) as qbo:
            health = await qbo.health.get_business_health_details("biz-1", realm_id="123")
    assert health.adapters["cache"].up, health.adapters["cache"].error


def test_the_health_defaults_are_health_thresholds_defaults() -> None:
    """With nothing set, the container's thresholds are `HealthThresholds()` exactly."""
    assert build_container(MEMORY, environ={}).health_thresholds() == HealthThresholds()


async def test_health_settings_reach_the_monitor() -> None:
    """The `health` section (here from the environment, as text) becomes the monitor's
    thresholds, and `ping_timeout` bounds a ping that never answers."""
    environ = {
        "QBO_HEALTH__MIN_REQUESTS": "10",
        "QBO_HEALTH__ERROR_RATE_DEGRADED": "0.1",
        "QBO_HEALTH__ERROR_RATE_UNHEALTHY": "0.5",
        "QBO_HEALTH__THROTTLE_RATE": "0.2",
        "QBO_HEALTH__P95_LATENCY_MS": "800",
        "QBO_HEALTH__NO_SUCCESS_FOR": "120",
        "QBO_HEALTH__HARD_EXPIRY_WARNING_DAYS": "60",
        "QBO_HEALTH__HARD_EXPIRY_CRITICAL_DAYS": "10",
        "QBO_HEALTH__REFRESH_EXPIRY_WITHIN_DAYS": "20",
        "QBO_HEALTH__AUTH_FAILURES": "5",
        "QBO_HEALTH__PING_TIMEOUT": "0.05",
    }

    class SilentLock(AsyncioLock):
        async def ping(self) -> None:
            await asyncio.Event().wait()  # never answers

    clock = FakeClock()
    async with QBO.open(MEMORY, environ=environ, clock=clock, lock=SilentLock(clock)) as qbo:
        thresholds = qbo.health.thresholds
        health = await qbo.health.get_business_health_details("biz-1", realm_id="123")
    assert thresholds == HealthThresholds(
        min_requests=10,
        error_rate_degraded=0.1,
        error_rate_unhealthy=0.5,
        throttle_rate=0.2,
        p95_latency_ms=800.0,
        no_success_for=timedelta(minutes=2),
        hard_expiry_warning=timedelta(days=60),
        hard_expiry_critical=timedelta(days=10),
        refresh_expiry_within=timedelta(days=20),
        auth_failures=5,
    )
    assert health.adapters["lock"].error == "no answer within 0.05 s"


# -- the webhook receiver ----------------------------------------------------------------


async def test_the_receiver_verifies_a_signed_body_and_refuses_a_tampered_one() -> None:
    """`qbo.webhook_receiver()` (typed, one per QBO) accepts a delivery signed with the
    configured verifier for a connected realm, and refuses the same body with one byte
    changed (401) and a delivery for a company that is not connected."""
    async with QBO.open({**MEMORY, **WITH_VERIFIER}, environ={}) as qbo:
        receiver = qbo.webhook_receiver()
        assert_type(receiver, WebhookReceiver)
        assert receiver is qbo.webhook_receiver()
        realm = await _connect(qbo)
        body, signature = _signed(realm)
        accepted = await receiver.receive(body, signature)
        forged = body.replace(b'"id": "1"', b'"id": "2"')
        assert forged != body
        tampered = await receiver.receive(forged, signature)
        foreign = await receiver.receive(*_signed("9130350000000001"))
    assert accepted.status == 200
    assert [(e.realm_id, e.entity_id) for e in accepted.accepted] == [(realm, "1")]
    assert (tampered.status, tampered.refused, tampered.accepted) == (
        401,
        ((None, "bad_signature"),),
        (),
    )
    assert foreign.status == 200
    assert foreign.accepted == ()
    assert [reason for _, reason in foreign.refused] == ["realm_not_connected"]


async def test_workers_on_the_default_sqlite_file_deduplicate_together() -> None:
    """Two `QBO`s on the default SQLite file (two web workers): the receiver claims in the
    container's shared state store and checks the shared token store, so the second
    worker refuses the first's event as a duplicate."""
    async with (
        QBO.open(WITH_VERIFIER, environ={}) as first,
        QBO.open(WITH_VERIFIER, environ={}) as second,
    ):
        realm = await _connect(first)
        body, signature = _signed(realm)
        once = await first.webhook_receiver().receive(body, signature)
        again = await second.webhook_receiver().receive(body, signature)
    assert len(once.accepted) == 1
    assert again.status == 200
    assert again.accepted == ()
    assert [reason for _, reason in again.refused] == ["duplicate"]


async def test_webhooks_settings_reach_the_receiver() -> None:
    """`webhooks.dedupe_ttl` and `webhooks.max_body_bytes` shape the receiver; the
    verifier token may come from the environment, and is shown nowhere."""
    environ = {"QBO_API__WEBHOOK_VERIFIER_TOKEN": VERIFIER}
    settings = {**MEMORY, "webhooks": {"dedupe_ttl": "3600", "max_body_bytes": 512}}
    async with QBO.open(settings, environ=environ) as qbo:
        receiver = qbo.webhook_receiver()
        realm = await _connect(qbo)
        body, signature = _signed(realm)
        fits = await receiver.receive(body, signature)
        big = await receiver.receive(b" " * 513, signature)
        shown = " ".join(
            [
                repr(receiver),
                repr(qbo.config),
                repr(qbo),
                json.dumps(effective_settings(load_settings(settings, environ=environ))),
                json.dumps(redacted_settings(load_settings(settings, environ=environ))),
            ]
        )
    assert (receiver.dedupe_ttl, receiver.max_body_bytes) == (3600.0, 512)
    assert fits.status == 200
    assert big.status == 413
    assert VERIFIER not in shown


async def test_without_a_verifier_token_asking_for_the_receiver_names_the_setting() -> None:
    """Nothing configured: opening works, `webhook_receiver()` raises ConfigurationError
    naming `api.webhook_verifier_token`; so does the container's provider."""
    async with QBO.open(MEMORY, environ={}) as qbo:
        with pytest.raises(ConfigurationError) as caught:
            qbo.webhook_receiver()
    assert caught.value.field == "api.webhook_verifier_token"
    assert "api.webhook_verifier_token" in str(caught.value)
    with pytest.raises(ConfigurationError) as caught:
        build_container(MEMORY, environ={}).webhook_receiver()
    assert caught.value.field == "api.webhook_verifier_token"
