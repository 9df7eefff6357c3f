"""QBOHealthMonitor, HealthRecorder and the idle refresher against the emulator, on a fake
clock: each health state and each alert driven by what the emulator really does (expired
and revoked grants, throttling, injected faults, a near hard expiry), adapters that fail
or hang, and alerts raised and cleared exactly once."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbo_adapters.memory import FanOutEventSink, MemoryTokenStore, RecordingEventSink
from qbo_core import events
from qbo_core.converter import structure, unstructure
from qbo_core.dtos import (
    AdapterHealth,
    AlertSeverity,
    BusinessHealth,
    ConnectionState,
    HealthAlert,
    HealthState,
    QBOEvent,
    RealmStats,
    RefreshOutcome,
    TokenSet,
    VersionedTokenSet,
)
from qbo_core.errors import ServerError, StoreUnavailableError, ThrottledError, ValidationError
from qbo_core.http import HttpResponse
from qbo_core.services.health import (
    HealthRecorder,
    HealthThresholds,
    Pingable,
    QBOHealthMonitor,
)
from qbo_core.services.raw_client import QBORawClient
from qbo_core.services.retry import RetryPolicy
from qbo_core.wire import oauth
from tests.core.sync_world import TOKEN_PATH, SyncWorld
from tests.core.test_dtos import AWARE, MAYBE_AWARE, MAYBE_TEXT, PLAIN

SECRET_IN_ERROR = "redis://:hunter2-very-secret@cache.internal:6379/0"


class StorePing:
    """A real memory adapter made `Pingable` (a read of a key nobody has)."""

    def __init__(self, store: MemoryTokenStore) -> None:
        self.store = store
        self.pings = 0

    async def ping(self) -> None:
        self.pings += 1
        await self.store.load("0")


class BrokenPing:
    """A backend that answers with an error naming a credential-bearing URL."""

    async def ping(self) -> None:
        raise ConnectionRefusedError(f"cannot reach {SECRET_IN_ERROR}")


class HangingPing:
    """A backend that never answers."""

    async def ping(self) -> None:
        await asyncio.Event().wait()


class UnreachableTokenStore(MemoryTokenStore):
    """A token store whose reads fail once `down` is set."""

    down = False

    async def load(self, realm_id: str) -> VersionedTokenSet | None:
        if self.down:
            raise StoreUnavailableError("the token store did not answer")
        return await super().load(realm_id)


class HealthWorld(SyncWorld):
    """A `SyncWorld` whose raw client and auth service report to a fan-out holding the
    recorder (and the test's `RecordingEventSink`), with a monitor on top."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.recording: RecordingEventSink = self.events
        self.recorder = HealthRecorder(self.clock)
        self.events = FanOutEventSink(self.recording, self.recorder)  # type: ignore[assignment]
        self.store = UnreachableTokenStore()
        self.tokens = self.store
        self.auth = self.auth_service()
        self.raw = QBORawClient(self.transport, self.config, events=self.events, clock=self.clock)
        self.store_ping = StorePing(self.tokens)

    def monitor(self, **options: Any) -> QBOHealthMonitor:
        probes: dict[str, Pingable] = options.pop("probes", {"token_store": self.store_ping})
        return QBOHealthMonitor(
            auth=self.auth,
            recorder=self.recorder,
            clock=self.clock,
            events=self.events,
            probes=probes,
            **options,
        )

    async def connect_realm(self, realm: str, *, hard_expiry: bool = False) -> TokenSet:
        payload = self.emulator.oauth.mint_tokens(realm, hard_expiry=hard_expiry)
        tokens = oauth.decode_token_response(
            HttpResponse(status=200, body=json.dumps(payload).encode()),
            now=self.clock.now(),
            config=self.config,
            realm_id=realm,
        )
        await self.tokens.save(realm, tokens, expected_version=None)
        return tokens

    def alerts(self, kind: str, name: str | None = None) -> list[QBOEvent]:
        return [
            event
            for event in self.recording.of_kind(kind)
            if name is None or event.attributes["alert"] == name
        ]

    async def company_infos(self, count: int) -> list[BaseException | None]:
        """`count` CompanyInfo reads straight through the raw client (no retry)."""
        auth = await self.raw_auth()
        outcomes: list[BaseException | None] = []
        for _ in range(count):
            try:
                await self.raw.company_info(auth)
            except (ThrottledError, ServerError) as exc:
                outcomes.append(exc)
            else:
                outcomes.append(None)
        return outcomes


@pytest.fixture
def world() -> HealthWorld:
    return HealthWorld()


def companyinfo_requests(world: HealthWorld) -> int:
    return len(world.data_requests("/companyinfo/"))


# --------------------------------------------------------------------- healthy, and the inputs


async def test_a_working_connection_is_healthy_with_its_facts(world: HealthWorld) -> None:
    """Connected, reads answered: HEALTHY, the token facts of `status`, traffic stats, and
    the adapter pinged up; the caller's name and details come back unchanged."""
    await world.connect()
    sync = world.sync()
    for entity_id in ("1", "2", "3"):
        await sync.read("Customer", entity_id)
    monitor = world.monitor()
    details = {"realm_id": world.realm, "plan": "gold"}

    health = await monitor.get_business_health_details("biz-1", "Acme", details)

    status = await world.auth.status(world.realm)
    assert health.state is HealthState.HEALTHY, health.reasons
    assert health.reasons == ()
    assert (health.business_id, health.business_name, health.realm_id) == (
        "biz-1",
        "Acme",
        world.realm,
    )
    assert dict(health.integration_details) == details
    assert health.connection is ConnectionState.CONNECTED
    assert health.access_token_expires_at == status.access_token_expires_at
    assert health.refresh_token_expires_at == status.refresh_token_expires_at
    assert health.request_count == 3
    assert health.error_rate == 0.0
    assert health.throttle_rate == 0.0
    assert health.p50_latency_ms is not None
    assert health.p95_latency_ms is not None
    assert health.last_success_at == world.clock.now()
    assert health.alerts == ()
    assert health.adapters == {
        "token_store": AdapterHealth(name="token_store", up=True, round_trip_ms=0.0)
    }
    assert world.store_ping.pings == 1


async def test_defaults_and_a_business_without_a_realm(world: HealthWorld) -> None:
    """No name, no details, no realm: "Unknown", `{}`, NEEDS_REAUTHORIZATION with the reason
    (nothing raised); a realm that is not a company id is refused the same way."""
    monitor = world.monitor()

    health = await monitor.get_business_health_details("biz-9")

    assert health.business_name == "Unknown"
    assert dict(health.integration_details) == {}
    assert health.realm_id is None
    assert health.state is HealthState.NEEDS_REAUTHORIZATION
    assert "not connected" in health.reasons[0]
    odd = await monitor.get_business_health_details("biz-9", integration_details={"realm_id": "x"})
    assert odd.state is HealthState.NEEDS_REAUTHORIZATION
    assert "not a QBO company id" in odd.reasons[0]


async def test_the_realm_keyword_wins_over_the_details(world: HealthWorld) -> None:
    """`realm_id=` is used when given, whatever the details say; a realm with nothing stored
    is DISCONNECTED, which needs the user."""
    await world.connect()
    monitor = world.monitor()

    health = await monitor.get_business_health_details(
        "biz-1", integration_details={"realm_id": "999"}, realm_id=world.realm
    )
    stranger = await monitor.get_business_health_details(
        "biz-2", integration_details={"realm_id": "999"}
    )

    assert health.realm_id == world.realm
    assert health.state is HealthState.HEALTHY
    assert stranger.realm_id == "999"
    assert stranger.connection is ConnectionState.DISCONNECTED
    assert stranger.state is HealthState.NEEDS_REAUTHORIZATION


# --------------------------------------------------------------------- check: the probe


async def test_check_probes_qbo_past_the_cache_every_time(world: HealthWorld) -> None:
    """`check` reads CompanyInfo from QBO itself even when it is cached: the emulator sees
    one request per check, and the success is recorded."""
    await world.connect()
    sync = world.sync()
    await sync.company_info()  # cached now
    await sync.company_info()
    assert companyinfo_requests(world) == 1
    monitor = world.monitor()

    first = await monitor.check("biz-1", world.realm, sync)
    second = await monitor.check("biz-1", world.realm, sync)

    assert companyinfo_requests(world) == 3
    assert first.state is HealthState.HEALTHY
    assert second.state is HealthState.HEALTHY
    assert second.request_count == 3
    assert second.last_success_at == world.clock.now()


async def test_check_refuses_a_smart_sync_of_another_realm(world: HealthWorld) -> None:
    """A probe through another company's SmartSync would prove nothing: `ValueError`."""
    await world.connect()
    with pytest.raises(ValueError, match="not 42"):
        await world.monitor().check("biz-1", "42", world.sync())


async def test_an_expired_refresh_token_needs_reauthorization(world: HealthWorld) -> None:
    """Past the rolling refresh expiry the probe fails (recorded, not raised) and the answer
    is NEEDS_REAUTHORIZATION with the connection's state as the reason."""
    tokens = await world.connect()
    world.clock.set_now(tokens.refresh_token_expires_at + timedelta(seconds=1))
    monitor = world.monitor()

    health = await monitor.check("biz-1", world.realm, world.sync())

    assert health.state is HealthState.NEEDS_REAUTHORIZATION
    assert health.connection is ConnectionState.NEEDS_REAUTHORIZATION
    assert health.last_failure_error == "ReauthorizationRequiredError"
    assert "needs_reauthorization" in health.reasons[0]
    assert companyinfo_requests(world) == 0


async def test_a_grant_revoked_at_intuit_needs_reauthorization(world: HealthWorld) -> None:
    """Revoked in QBO (the emulator's control API): the probe's 401, then the refused refresh,
    are recorded; the connection is marked and the state says the user must reconnect."""
    await world.connect()
    world.emulator.control.revoke_tokens(realm_id=world.realm)
    monitor = world.monitor()

    health = await monitor.check("biz-1", world.realm, world.sync())

    assert health.state is HealthState.NEEDS_REAUTHORIZATION
    assert health.connection is ConnectionState.NEEDS_REAUTHORIZATION
    stats = world.recorder.snapshot(world.realm)
    assert stats.auth_failures == 1  # the probe's 401
    assert stats.consecutive_auth_failures == 2  # and the refused refresh
    assert len(world.recording.of_kind(events.TOKEN_REFRESH_FAILED)) == 1


async def test_a_grant_revoked_through_the_service_is_reported(world: HealthWorld) -> None:
    """`auth.revoke` marks the tokens revoked: NEEDS_REAUTHORIZATION, connection REVOKED."""
    await world.connect()
    await world.auth.revoke(world.realm)

    health = await world.monitor().get_business_health_details("biz-1", realm_id=world.realm)

    assert health.state is HealthState.NEEDS_REAUTHORIZATION
    assert health.connection is ConnectionState.REVOKED


# --------------------------------------------------------------------- adapters and stores


async def test_an_adapter_that_fails_or_hangs_is_down_and_the_realm_unhealthy(
    world: HealthWorld,
) -> None:
    """A ping that raises is down with its error (no credential in it); one that hangs is
    down after the timeout; either makes the realm UNHEALTHY; nothing is raised."""
    await world.connect()
    monitor = world.monitor(
        probes={"cache": BrokenPing(), "lock": HangingPing(), "token_store": world.store_ping},
        ping_timeout=0.05,
    )

    health = await monitor.get_business_health_details("biz-1", realm_id=world.realm)

    assert health.state is HealthState.UNHEALTHY
    cache, lock = health.adapters["cache"], health.adapters["lock"]
    assert not cache.up
    assert cache.error is not None
    assert cache.error.startswith("ConnectionRefusedError: cannot reach redis://<redacted>@")
    assert "hunter2" not in cache.error
    assert "hunter2" not in repr(health)
    assert not lock.up
    assert lock.error == "no answer within 0.05 s"
    assert lock.round_trip_ms is None
    assert health.adapters["token_store"].up
    assert any(reason.startswith("adapter cache is down") for reason in health.reasons)
    assert any(reason.startswith("adapter lock is down") for reason in health.reasons)


async def test_an_unreachable_token_store_is_unhealthy_not_raised(world: HealthWorld) -> None:
    """The token store failing: UNHEALTHY with the reason, no token facts, and the token
    alerts already raised stay as they were (their data is unknown, not gone)."""
    world = HealthWorld(refresh_token_hard_lifetime=20 * 86_400.0)
    await world.connect_realm(world.realm, hard_expiry=True)
    monitor = world.monitor(probes={})
    await monitor.evaluate(world.realm)
    assert [alert.name for alert in monitor.active_alerts(world.realm)] == ["hard_expiry_30d"]
    world.store.down = True

    health = await monitor.get_business_health_details("biz-1", realm_id=world.realm)

    assert health.state is HealthState.UNHEALTHY
    assert health.connection is None
    assert health.refresh_token_expires_at is None
    assert any("token store unreachable" in reason for reason in health.reasons)
    assert [alert.name for alert in health.alerts] == ["hard_expiry_30d"]
    assert world.alerts(events.ALERT_CLEARED) == []


# --------------------------------------------------------------------- alerts


async def test_hard_expiry_alerts_raise_once_and_escalate(world: HealthWorld) -> None:
    """A grant 20 days from its hard cap: `hard_expiry_30d` (warning) and DEGRADED; 14 days
    later `hard_expiry_7d` (critical) too; each raised once across repeated evaluations."""
    world = HealthWorld(refresh_token_hard_lifetime=20 * 86_400.0)
    await world.connect_realm(world.realm, hard_expiry=True)
    monitor = world.monitor()

    health = await monitor.get_business_health_details("biz-1", realm_id=world.realm)
    await monitor.evaluate(world.realm)
    await monitor.get_business_health_details("biz-1", realm_id=world.realm)

    assert health.state is HealthState.DEGRADED
    assert health.refresh_token_hard_expires_at == world.clock.now() + timedelta(days=20)
    assert any("hard expiry is in 20 days" in reason for reason in health.reasons)
    [alert] = health.alerts
    assert (alert.name, alert.severity, alert.realm_id) == (
        "hard_expiry_30d",
        AlertSeverity.WARNING,
        world.realm,
    )
    [raised] = world.alerts(events.ALERT_RAISED)
    assert raised.business_id == "biz-1"
    assert raised.realm_id == world.realm
    assert raised.attributes["severity"] == "warning"
    assert "20 days" in str(raised.attributes["message"])

    world.clock.advance(14 * 86_400)
    for _ in range(3):
        alerts = await monitor.evaluate(world.realm)

    names = {alert.name: alert.severity for alert in alerts}
    assert names["hard_expiry_7d"] is AlertSeverity.CRITICAL
    assert len(world.alerts(events.ALERT_RAISED, "hard_expiry_7d")) == 1
    assert len(world.alerts(events.ALERT_RAISED, "hard_expiry_30d")) == 1
    assert world.alerts(events.ALERT_CLEARED) == []


async def test_throttling_degrades_and_its_alert_clears_once_the_window_passes(
    world: HealthWorld,
) -> None:
    """The emulator's own per-second limit answers 429s: DEGRADED and `throttle_rate`,
    raised once; when the window has moved past them, cleared once and HEALTHY again."""
    world = HealthWorld(throttle=True, requests_per_second=4)
    await world.connect()
    monitor = world.monitor()

    outcomes = await world.company_infos(10)

    throttled = sum(isinstance(outcome, ThrottledError) for outcome in outcomes)
    assert throttled >= 1
    health = await monitor.get_business_health_details("biz-1", realm_id=world.realm)
    await monitor.evaluate(world.realm)
    assert health.state is HealthState.DEGRADED
    assert health.throttle_rate == throttled / 10
    assert [alert.name for alert in health.alerts] == ["throttle_rate"]
    assert len(world.alerts(events.ALERT_RAISED, "throttle_rate")) == 1

    world.clock.advance(16 * 60)
    for _ in range(3):
        await monitor.evaluate(world.realm)
    later = await monitor.get_business_health_details("biz-1", realm_id=world.realm)

    assert later.state is HealthState.HEALTHY
    assert later.request_count == 0
    assert len(world.alerts(events.ALERT_CLEARED, "throttle_rate")) == 1
    assert len(world.alerts(events.ALERT_RAISED, "throttle_rate")) == 1


async def test_injected_server_errors_make_the_realm_unhealthy_then_no_success(
    world: HealthWorld,
) -> None:
    """Every data request failing with the emulator's injected 503: `error_rate` (critical)
    and UNHEALTHY; ten minutes on with no success, `no_success` too; once QBO answers
    again, `no_success` clears (once), while the error rate stays in the window."""
    await world.connect()
    rule = world.emulator.control.add_fault(
        {"route": {"path": "/v3/company/*"}, "effect": {"kind": "status", "status": 503}}
    )
    monitor = world.monitor()

    outcomes = await world.company_infos(6)

    assert all(isinstance(outcome, ServerError) for outcome in outcomes)
    health = await monitor.get_business_health_details("biz-1", realm_id=world.realm)
    assert health.state is HealthState.UNHEALTHY
    assert health.error_rate == 1.0
    assert health.last_failure_error == "ServerError"
    assert [alert.name for alert in health.alerts] == ["error_rate"]

    world.clock.advance(11 * 60)
    await world.company_infos(1)
    for _ in range(2):
        await monitor.evaluate(world.realm)
    assert {alert.name for alert in monitor.active_alerts(world.realm)} == {
        "error_rate",
        "no_success",
    }

    world.emulator.control.remove_fault(rule)
    assert await world.company_infos(1) == [None]
    for _ in range(2):
        await monitor.evaluate(world.realm)

    assert [alert.name for alert in monitor.active_alerts(world.realm)] == ["error_rate"]
    assert len(world.alerts(events.ALERT_RAISED, "no_success")) == 1
    assert len(world.alerts(events.ALERT_CLEARED, "no_success")) == 1
    assert len(world.alerts(events.ALERT_RAISED, "error_rate")) == 1


async def test_validation_faults_are_the_callers_not_the_connections(world: HealthWorld) -> None:
    """A bad query refused by QBO is a client error: counted, but not in the error rate, and
    it proves the connection works (a success for `last_success_at`)."""
    await world.connect()
    sync = world.sync()
    for _ in range(6):
        with pytest.raises(ValidationError):
            await sync.query("SELECT * FROM Nonsense WHERE")

    stats = world.recorder.snapshot(world.realm)
    health = await world.monitor().get_business_health_details("biz-1", realm_id=world.realm)

    assert stats.requests == 6
    assert stats.client_errors == 6
    assert stats.errors == 0
    assert health.state is HealthState.HEALTHY
    assert health.last_success_at == world.clock.now()


async def test_repeated_refresh_failures_raise_the_auth_alert_until_a_refresh_works(
    world: HealthWorld,
) -> None:
    """The token endpoint failing (an injected 503) while the access token has expired:
    every attempt's refresh fails, `auth_failures` is raised once and the realm DEGRADED;
    when Intuit answers again, the refresh succeeds and the alert clears once."""
    await world.connect()
    world.clock.advance(2 * 3600)
    rule = world.emulator.control.add_fault(
        {"route": {"path": TOKEN_PATH}, "effect": {"kind": "status", "status": 503}}
    )
    monitor = world.monitor()
    sync = world.sync(retry=RetryPolicy(max_attempts=3))

    health = await monitor.check("biz-1", world.realm, sync)
    await monitor.check("biz-1", world.realm, sync)

    assert len(world.recording.of_kind(events.TOKEN_REFRESH_FAILED)) == 6
    assert health.state is HealthState.DEGRADED
    assert "auth_failures" in [alert.name for alert in health.alerts]
    assert len(world.alerts(events.ALERT_RAISED, "auth_failures")) == 1

    world.emulator.control.remove_fault(rule)
    healed = await monitor.check("biz-1", world.realm, sync)

    assert healed.state is HealthState.HEALTHY, healed.reasons
    assert len(world.alerts(events.ALERT_CLEARED, "auth_failures")) == 1


async def test_slow_answers_degrade_on_the_p95(world: HealthWorld) -> None:
    """Latency injected by the emulator (virtual seconds on the fake clock) pushes p95 past
    the threshold: DEGRADED with the latency as the reason."""
    await world.connect()
    world.emulator.control.add_fault(
        {"route": {"path": "/v3/company/*"}, "effect": {"kind": "latency", "latency": 6}}
    )
    await world.company_infos(3)

    health = await world.monitor().get_business_health_details("biz-1", realm_id=world.realm)

    assert health.p95_latency_ms is not None
    assert health.p95_latency_ms >= 6000
    assert health.state is HealthState.DEGRADED
    assert any(reason.startswith("p95 latency") for reason in health.reasons)


# --------------------------------------------------------------------- the idle refresher


async def test_refresh_idle_extends_the_rolling_expiry_and_clears_the_alert() -> None:
    """90 days idle: `refresh_expiry_near` is raised; `refresh_idle` refreshes that realm
    (a rotation: 100 days again), the alert clears; a realm far from expiry is left alone,
    and a revoked one's failure is reported and emitted, not raised."""
    world = HealthWorld(realms=3)
    idle, fresh, revoked = world.emulator.realm_ids[:3]
    for realm in (idle, revoked):
        await world.connect_realm(realm)
    world.clock.advance(90 * 86_400)
    await world.connect_realm(fresh)
    world.emulator.control.revoke_tokens(realm_id=revoked)
    monitor = world.monitor()
    await monitor.evaluate(idle)
    assert [alert.name for alert in monitor.active_alerts(idle)] == ["refresh_expiry_near"]
    before = (await world.auth.status(idle)).refresh_token_expires_at
    assert before is not None
    token_calls = world.token_calls()

    outcomes = await monitor.refresh_idle([idle, fresh, revoked])

    done = outcomes[idle]
    assert done.refreshed
    assert done.due
    assert done.error is None
    assert done.refresh_token_expires_before == before
    after = (await world.auth.status(idle)).refresh_token_expires_at
    assert after is not None
    assert after > before + timedelta(days=80)
    assert done.refresh_token_expires_after == after
    assert outcomes[fresh] == RefreshOutcome(
        realm_id=fresh,
        due=False,
        refreshed=False,
        refresh_token_expires_before=outcomes[fresh].refresh_token_expires_before,
        refresh_token_expires_after=outcomes[fresh].refresh_token_expires_before,
    )
    failed = outcomes[revoked]
    assert failed.due
    assert not failed.refreshed
    assert failed.error == "ReauthorizationRequiredError"
    assert world.token_calls() == token_calls + 2  # the idle realm's and the revoked one's
    [emitted] = world.recording.of_kind(events.IDLE_REFRESH_FAILED)
    assert emitted.realm_id == revoked
    assert emitted.attributes["error"] == "ReauthorizationRequiredError"

    await monitor.evaluate(idle)
    assert monitor.active_alerts(idle) == ()
    assert len(world.alerts(events.ALERT_CLEARED, "refresh_expiry_near")) == 1


async def test_refresh_idle_reports_a_dead_or_unknown_realm(world: HealthWorld) -> None:
    """Nothing stored, or a realm id that is not one: reported per realm, never raised."""
    outcomes = await world.monitor().refresh_idle([world.realm, "not-a-realm"])

    assert outcomes[world.realm].error == "ReauthorizationRequiredError"
    assert outcomes["not-a-realm"].error == "ValueError"
    assert len(world.recording.of_kind(events.IDLE_REFRESH_FAILED)) == 2


async def test_auth_refresh_forces_one_refresh_even_when_fresh(world: HealthWorld) -> None:
    """`QBOAuthService.refresh` refreshes a fresh token (one token call), concurrent callers
    share that one refresh, and the new tokens are stored."""
    tokens = await world.connect()
    calls = world.token_calls()

    statuses = await asyncio.gather(
        world.auth.refresh(world.realm), world.auth.refresh(world.realm)
    )

    assert world.token_calls() == calls + 1
    stored = await world.tokens.load(world.realm)
    assert stored is not None
    assert stored.tokens.access_token != tokens.access_token
    assert statuses[0] == statuses[1]
    assert statuses[0].access_token_expires_at == stored.tokens.access_token_expires_at


# --------------------------------------------------------------------- the recorder alone


def test_the_recorder_never_raises_and_ignores_what_it_cannot_use(world: HealthWorld) -> None:
    """Events without a realm, of other kinds, with odd attributes, or cancelled: nothing
    breaks; a cancelled exchange is not a request."""
    recorder = HealthRecorder(world.clock)
    now = world.clock.now()
    recorder.emit(QBOEvent(kind=events.HTTP_REQUEST, at=now))
    recorder.emit(QBOEvent(kind=events.CACHE_HIT, at=now, realm_id="1"))
    recorder.emit(
        QBOEvent(
            kind=events.HTTP_REQUEST, at=now, realm_id="1", attributes={"error": "CancelledError"}
        )
    )
    recorder.emit(
        QBOEvent(
            kind=events.HTTP_REQUEST,
            at=now,
            realm_id="1",
            attributes={"status": "teapot", "duration_ms": float("nan")},
        )
    )

    stats = recorder.snapshot("1")
    assert recorder.dropped == 0
    assert stats.requests == 1
    assert stats.errors == 1
    assert stats.p95_latency_ms is None
    assert recorder.snapshot("2") == RealmStats(realm_id="2", window_seconds=900.0)


def test_the_recorder_window_slides_and_keeps_bounded_samples(world: HealthWorld) -> None:
    """Requests older than the window drop out; latency samples per bucket are capped;
    percentiles are nearest-rank."""
    recorder = HealthRecorder(world.clock, window=timedelta(minutes=2), max_samples=10)

    def request(ms: float, status: int = 200) -> None:
        recorder.emit(
            QBOEvent(
                kind=events.HTTP_REQUEST,
                at=world.clock.now(),
                realm_id="7",
                attributes={"status": status, "error": None, "duration_ms": ms},
            )
        )

    for ms in range(1, 101):
        request(float(ms))
    stats = recorder.snapshot("7")
    assert stats.requests == 100
    assert stats.p50_latency_ms is not None
    assert stats.p95_latency_ms is not None
    assert stats.p50_latency_ms >= 90  # the newest 10 samples are kept
    world.clock.advance(60)
    request(5.0, status=503)
    assert recorder.snapshot("7").requests == 101
    world.clock.advance(60)
    later = recorder.snapshot("7")
    assert (later.requests, later.errors, later.p50_latency_ms) == (1, 1, 5.0)
    world.clock.advance(60)
    assert recorder.snapshot("7").requests == 0


def test_thresholds_refuse_nonsense() -> None:
    """Rates must be in (0, 1], the degraded bound below the unhealthy one."""
    with pytest.raises(ValueError, match="error_rate_degraded"):
        HealthThresholds(error_rate_degraded=0.5, error_rate_unhealthy=0.2)
    with pytest.raises(ValueError, match="throttle_rate"):
        HealthThresholds(throttle_rate=0.0)
    with pytest.raises(ValueError, match="hard_expiry_critical"):
        HealthThresholds(hard_expiry_critical=timedelta(days=40))


def test_health_values_round_trip_through_json(world: HealthWorld) -> None:
    """The health DTOs go through the one converter and back unchanged."""
    now = world.clock.now()
    alert = HealthAlert(
        name="hard_expiry_30d",
        severity=AlertSeverity.WARNING,
        realm_id="1",
        message="soon",
        since=now,
    )
    health = BusinessHealth(
        business_id="b",
        business_name="Unknown",
        integration_details={"realm_id": "1", "n": [1, 2]},
        realm_id="1",
        state=HealthState.DEGRADED,
        reasons=("a",),
        checked_at=now,
        connection=ConnectionState.EXPIRING,
        alerts=(alert,),
        adapters={"cache": AdapterHealth(name="cache", up=False, error="x")},
    )
    for value in (
        health,
        alert,
        RealmStats(realm_id="1", window_seconds=60.0, last_success_at=now),
        RefreshOutcome(realm_id="1", due=True, refreshed=False, error="E"),
    ):
        data = json.loads(json.dumps(unstructure(value)))
        assert structure(data, type(value)) == value


FINITE = st.floats(allow_nan=False, allow_infinity=False)
MAYBE_FINITE = st.none() | FINITE
ALERTS = st.builds(
    HealthAlert,
    name=st.text(min_size=1),
    severity=st.sampled_from(AlertSeverity),
    realm_id=st.text(),
    message=st.text(),
    since=AWARE,
)
ADAPTERS = st.builds(
    AdapterHealth, name=st.text(), up=st.booleans(), error=MAYBE_TEXT, round_trip_ms=MAYBE_FINITE
)
HEALTHS = st.builds(
    BusinessHealth,
    business_id=st.text(),
    business_name=st.text(),
    integration_details=st.dictionaries(st.text(), PLAIN, max_size=3),
    realm_id=MAYBE_TEXT,
    state=st.sampled_from(HealthState),
    reasons=st.lists(st.text(), max_size=3),
    checked_at=AWARE,
    connection=st.none() | st.sampled_from(ConnectionState),
    access_token_expires_at=MAYBE_AWARE,
    refresh_token_expires_at=MAYBE_AWARE,
    refresh_token_hard_expires_at=MAYBE_AWARE,
    last_success_at=MAYBE_AWARE,
    last_failure_at=MAYBE_AWARE,
    last_failure_error=MAYBE_TEXT,
    request_count=st.integers(min_value=0),
    error_rate=FINITE,
    throttle_rate=FINITE,
    p50_latency_ms=MAYBE_FINITE,
    p95_latency_ms=MAYBE_FINITE,
    alerts=st.lists(ALERTS, max_size=2),
    adapters=st.dictionaries(st.text(), ADAPTERS, max_size=2),
)
STATS = st.builds(
    RealmStats,
    realm_id=st.text(),
    window_seconds=FINITE,
    requests=st.integers(min_value=0),
    errors=st.integers(min_value=0),
    last_success_at=MAYBE_AWARE,
    last_failure_at=MAYBE_AWARE,
    last_failure_error=MAYBE_TEXT,
    last_refresh_at=MAYBE_AWARE,
    watching_since=MAYBE_AWARE,
)
OUTCOMES = st.builds(
    RefreshOutcome,
    realm_id=st.text(),
    due=st.booleans(),
    refreshed=st.booleans(),
    error=MAYBE_TEXT,
    message=MAYBE_TEXT,
    refresh_token_expires_before=MAYBE_AWARE,
    refresh_token_expires_after=MAYBE_AWARE,
)


@given(st.one_of(HEALTHS, STATS, OUTCOMES, ALERTS, ADAPTERS))
def test_any_health_value_round_trips_through_json(value: object) -> None:
    """Whatever they hold, the health DTOs survive JSON through the one converter."""
    data = json.loads(json.dumps(unstructure(value)))
    assert structure(data, type(value)) == value
