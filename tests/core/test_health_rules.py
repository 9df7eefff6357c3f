"""QBOHealthMonitor's rules and HealthRecorder's counting at their exact edges, on a fake
clock, with the recorder fed `http.request` and token events by hand and the tokens
stored as each case needs: every threshold at its value and just past it, what each
exchange counts as, the sliding window and its samples, the alert and refresher events
with their fields, and the texts (reasons, alert messages, errors) callers read."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from qbo_adapters.memory import MemoryTokenStore
from qbo_core import events
from qbo_core.dtos import (
    AdapterHealth,
    AlertSeverity,
    BusinessHealth,
    HealthAlert,
    HealthState,
    QBOEvent,
    RealmStats,
    RefreshOutcome,
    TokenSet,
    VersionedTokenSet,
)
from qbo_core.services.health import HealthRecorder, HealthThresholds, QBOHealthMonitor
from qbo_core.services.raw_client import QBORawClient
from tests.core.test_health import HangingPing, HealthWorld

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


@pytest.fixture
def world() -> HealthWorld:
    return HealthWorld()


def exchange(
    world: HealthWorld,
    status: object = 200,
    error: object = None,
    *,
    duration_ms: object = None,
    recorder: HealthRecorder | None = None,
) -> None:
    """One `http.request` of the world's realm, as the raw client reports it."""
    attributes: dict[str, object] = {"status": status, "error": error}
    if duration_ms is not None:
        attributes["duration_ms"] = duration_ms
    (recorder or world.recorder).emit(
        QBOEvent(
            kind=events.HTTP_REQUEST,
            at=world.clock.now(),
            realm_id=world.realm,
            attributes=attributes,
        )
    )


def traffic(world: HealthWorld, *, ok: int = 0, errors: int = 0, throttles: int = 0) -> None:
    for _ in range(ok):
        exchange(world, 200)
    for _ in range(errors):
        exchange(world, 503)
    for _ in range(throttles):
        exchange(world, 429, "ThrottledError")


def token_event(world: HealthWorld, kind: str, **attributes: object) -> None:
    world.recorder.emit(
        QBOEvent(kind=kind, at=world.clock.now(), realm_id=world.realm, attributes=attributes)
    )


async def store(
    world: HealthWorld,
    *,
    refresh_in: timedelta = timedelta(days=100),
    hard_in: timedelta | None = None,
    **marks: Any,
) -> None:
    """Store tokens for the world's realm expiring as asked (and marked, e.g. revoked)."""
    now = world.clock.now()
    tokens = TokenSet(
        access_token="access",
        refresh_token="refresh",
        access_token_expires_at=now + timedelta(hours=1),
        refresh_token_expires_at=now + refresh_in,
        refresh_token_hard_expires_at=None if hard_in is None else now + hard_in,
        realm_id=world.realm,
        **marks,
    )
    await world.tokens.save(world.realm, tokens, expected_version=None)


async def health(world: HealthWorld, monitor: QBOHealthMonitor) -> BusinessHealth:
    return await monitor.get_business_health_details("biz-1", realm_id=world.realm)


def names(alerts: tuple[HealthAlert, ...]) -> list[str]:
    return [alert.name for alert in alerts]


class MutePing:
    """A backend that fails with an exception carrying no text."""

    async def ping(self) -> None:
        raise ConnectionResetError


class SlowPing:
    """A backend that answers after 12.3456 ms of the world's (fake) time."""

    def __init__(self, world: HealthWorld) -> None:
        self.world = world

    async def ping(self) -> None:
        self.world.clock.advance(0.0123456)


class YieldingTokenStore(MemoryTokenStore):
    """A memory token store whose reads let other tasks run first (as a real one does)."""

    async def load(self, realm_id: str) -> VersionedTokenSet | None:
        await asyncio.sleep(0)
        return await super().load(realm_id)


class BrokenSink:
    """An event sink that raises on every event."""

    def emit(self, event: QBOEvent) -> None:
        raise RuntimeError("the sink is down")


# --------------------------------------------------------------------- thresholds


def test_thresholds_default_to_the_documented_values() -> None:
    """The defaults the docstring promises, each one."""
    limits = HealthThresholds()

    assert (limits.min_requests, limits.auth_failures) == (5, 3)
    assert (limits.error_rate_degraded, limits.error_rate_unhealthy) == (0.05, 0.25)
    assert (limits.throttle_rate, limits.p95_latency_ms) == (0.10, 5000.0)
    assert limits.no_success_for == timedelta(minutes=10)
    assert (limits.hard_expiry_warning, limits.hard_expiry_critical) == (30 * DAY, 7 * DAY)
    assert limits.refresh_expiry_within == 14 * DAY


def test_thresholds_accept_the_edges_of_their_ranges() -> None:
    """A rate of exactly 1, equal degraded and unhealthy rates, equal hard-expiry bounds and
    counts of 1 are all valid."""
    limits = HealthThresholds(
        error_rate_degraded=1.0,
        error_rate_unhealthy=1.0,
        throttle_rate=1.0,
        hard_expiry_warning=7 * DAY,
        hard_expiry_critical=7 * DAY,
        min_requests=1,
        auth_failures=1,
    )

    assert limits.error_rate_degraded == limits.error_rate_unhealthy == 1.0


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"throttle_rate": 0.0}, r"^throttle_rate must be a rate in \(0, 1\], got 0.0$"),
        ({"throttle_rate": 1.5}, r"^throttle_rate must be a rate in \(0, 1\], got 1.5$"),
        ({"error_rate_unhealthy": float("nan")}, r"^error_rate_unhealthy must be a rate"),
        (
            {"no_success_for": timedelta(0)},
            r"^no_success_for must be a positive timedelta, got datetime.timedelta\(0\)$",
        ),
        (
            {"error_rate_degraded": 0.3, "error_rate_unhealthy": 0.2},
            r"^error_rate_degraded must not be above error_rate_unhealthy$",
        ),
        (
            {"hard_expiry_critical": 31 * DAY},
            r"^hard_expiry_critical must not be further than hard_expiry_warning$",
        ),
    ],
)
def test_thresholds_refuse_values_past_their_ranges_naming_the_field(
    settings: dict[str, Any], message: str
) -> None:
    """Each refusal says which threshold and what it got."""
    with pytest.raises(ValueError, match=message):
        HealthThresholds(**settings)


# --------------------------------------------------------------------- the recorder: setup


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"bucket_seconds": 0.0}, r"^bucket_seconds must be > 0, got 0.0$"),
        ({"bucket_seconds": float("inf")}, r"^bucket_seconds must be > 0, got inf$"),
        ({"window": timedelta(seconds=59)}, r"^window must hold at least one bucket$"),
        ({"max_samples": 0}, r"^max_samples must be at least 1, got 0$"),
    ],
)
def test_the_recorder_refuses_a_window_it_cannot_keep(
    world: HealthWorld, settings: dict[str, Any], message: str
) -> None:
    """No bucket, an infinite one, a window shorter than a bucket, no samples: refused."""
    with pytest.raises(ValueError, match=message):
        HealthRecorder(world.clock, **settings)


def test_the_recorder_accepts_one_bucket_of_one_sample(world: HealthWorld) -> None:
    """A window of exactly one half-second bucket keeping one sample is a valid recorder:
    it counts, and keeps the newest latency only."""
    recorder = HealthRecorder(
        world.clock, window=timedelta(seconds=0.5), bucket_seconds=0.5, max_samples=1
    )
    exchange(world, 200, duration_ms=30.0, recorder=recorder)
    exchange(world, 200, duration_ms=10.0, recorder=recorder)

    stats = recorder.snapshot(world.realm)

    assert (stats.requests, stats.p50_latency_ms, stats.p95_latency_ms) == (2, 10.0, 10.0)
    assert stats.window_seconds == 0.5


def test_the_default_window_is_fifteen_one_minute_buckets(world: HealthWorld) -> None:
    """A request leaves the default window when its minute (on the monotonic clock) is 15
    minutes old: the fake clock starts at 1000 s, in the minute [960, 1020), so the
    request is counted until 1859 s and gone at 1860 s."""
    recorder = HealthRecorder(world.clock)
    exchange(world, 200, recorder=recorder)

    world.clock.advance(859)
    assert recorder.snapshot(world.realm).requests == 1
    world.clock.advance(1)
    assert recorder.snapshot(world.realm).requests == 0
    assert recorder.window == timedelta(minutes=15)


def test_the_default_bucket_keeps_256_latency_samples(world: HealthWorld) -> None:
    """257 answers in one minute, slowest first: the 257th overwrites the oldest, so the
    samples are 1..256 ms and the nearest-rank p95 is the 244th of them."""
    recorder = HealthRecorder(world.clock)
    for ms in range(257, 0, -1):
        exchange(world, 200, duration_ms=float(ms), recorder=recorder)

    stats = recorder.snapshot(world.realm)

    assert stats.requests == 257
    assert stats.p95_latency_ms == 244.0
    assert stats.p50_latency_ms == 128.0


# --------------------------------------------------------------------- the recorder: counting


SUCCESS, CLIENT, THROTTLE, AUTH, ERROR = "success", "client", "throttle", "auth", "error"


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (200, None, SUCCESS),
        (399, None, SUCCESS),
        (400, None, CLIENT),
        (402, None, CLIENT),
        (404, None, CLIENT),
        (499, None, CLIENT),
        (500, None, ERROR),
        (401, None, AUTH),
        (403, None, AUTH),
        (429, None, THROTTLE),
        (True, None, ERROR),  # a bool is no status
        (None, None, ERROR),
        (429, "ServerError", THROTTLE),  # a 429 is a throttle whatever the class says
        (None, "ThrottledError", THROTTLE),
        (None, "TokenRevokedError", AUTH),  # a subclass of a subclass of AuthenticationError
        (400, "QueryParseError", CLIENT),
        (None, "ConnectTimeoutError", ERROR),
        (200, "KeyError", ERROR),  # not a QBO error: a bug, never a success
    ],
)
def test_each_exchange_counts_as_the_module_documents(
    world: HealthWorld, status: object, error: object, kind: str
) -> None:
    """Status and error class decide: a success, a client error (also a success), a
    throttle, an authentication failure, or an error."""
    exchange(world, status, error)

    stats = world.recorder.snapshot(world.realm)

    assert stats.requests == 1
    counted = {
        CLIENT: stats.client_errors,
        THROTTLE: stats.throttles,
        AUTH: stats.auth_failures,
        ERROR: stats.errors,
    }
    assert counted == {name: int(name == kind) for name in counted}
    succeeded = kind in (SUCCESS, CLIENT)
    assert (stats.last_success_at is not None) is succeeded
    assert (stats.last_failure_at is not None) is not succeeded
    assert world.recorder.dropped == 0


def test_a_failure_is_named_by_its_error_class_else_its_status(world: HealthWorld) -> None:
    """The last failure is the error's class name; without one (or an empty one), the HTTP
    status; with the time it happened."""
    exchange(world, None, "ServerError")
    assert world.recorder.snapshot(world.realm).last_failure_error == "ServerError"
    world.clock.advance(5)

    exchange(world, 503, "")

    stats = world.recorder.snapshot(world.realm)
    assert stats.last_failure_error == "HTTP 503"
    assert stats.last_failure_at == world.clock.now()


def test_authentication_failures_count_in_a_row_until_a_success_or_refresh(
    world: HealthWorld,
) -> None:
    """Failed refreshes and 401/403 answers add up; a success, or a refresh, sets the run
    back to zero; each failed refresh records its time and error class."""
    token_event(world, events.TOKEN_REFRESH_FAILED, error="InvalidClientError")
    stats = world.recorder.snapshot(world.realm)
    assert (stats.consecutive_auth_failures, stats.last_failure_error) == (1, "InvalidClientError")
    assert stats.last_failure_at == world.clock.now()
    world.clock.advance(1)
    token_event(world, events.TOKEN_REFRESH_FAILED, error="")
    exchange(world, 401)
    exchange(world, 403)

    stats = world.recorder.snapshot(world.realm)
    assert (stats.consecutive_auth_failures, stats.auth_failures) == (4, 2)
    assert stats.last_failure_error == "HTTP 403"

    world.clock.advance(1)
    token_event(world, events.TOKEN_REFRESHED)
    stats = world.recorder.snapshot(world.realm)
    assert (stats.consecutive_auth_failures, stats.last_refresh_at) == (0, world.clock.now())

    exchange(world, 401)
    exchange(world, 200)
    assert world.recorder.snapshot(world.realm).consecutive_auth_failures == 0
    assert world.recorder.realm_ids() == (world.realm,)
    assert world.recorder.dropped == 0


def test_a_refresh_failure_without_an_error_class_names_none(world: HealthWorld) -> None:
    """An empty or missing error class is no name: the last failure error is `None`."""
    token_event(world, events.TOKEN_REFRESH_FAILED, error="")

    stats = world.recorder.snapshot(world.realm)

    assert (stats.consecutive_auth_failures, stats.last_failure_error) == (1, None)


def test_latencies_are_sampled_when_they_are_durations(world: HealthWorld) -> None:
    """Zero counts as a latency; a negative, infinite or boolean duration does not (the
    request is still counted). Percentiles are nearest-rank: of 0..19 ms, p50 is 9, p95 18."""
    for bad in (-1.0, float("inf"), True):
        exchange(world, 200, duration_ms=bad)
    for ms in range(20):
        exchange(world, 200, duration_ms=ms)

    stats = world.recorder.snapshot(world.realm)

    assert stats.requests == 23
    assert (stats.p50_latency_ms, stats.p95_latency_ms) == (9.0, 18.0)


def test_a_full_bucket_keeps_the_newest_samples(world: HealthWorld) -> None:
    """Past `max_samples`, each new latency overwrites the oldest kept: of 50, 40, 30, 20,
    10 ms with room for three, 30, 20 and 10 remain."""
    recorder = HealthRecorder(world.clock, max_samples=3)
    for ms in (50.0, 40.0, 30.0, 20.0, 10.0):
        exchange(world, 200, duration_ms=ms, recorder=recorder)

    stats = recorder.snapshot(world.realm)

    assert (stats.p50_latency_ms, stats.p95_latency_ms) == (20.0, 30.0)


def test_a_snapshot_reports_everything_seen_of_the_realm(world: HealthWorld) -> None:
    """Every field of `RealmStats`, after one exchange of each kind and a refresh."""
    start = world.clock.now()
    exchange(world, 200, duration_ms=10.0)
    exchange(world, 400, "QueryParseError", duration_ms=20.0)
    exchange(world, 429, "ThrottledError", duration_ms=30.0)
    world.clock.advance(2)
    token_event(world, events.TOKEN_REFRESHED)
    exchange(world, 401, "AccessTokenInvalidError", duration_ms=40.0)
    world.clock.advance(3)
    exchange(world, 503, "ServerError", duration_ms=50.0)

    stats = world.recorder.snapshot(world.realm)

    assert stats == RealmStats(
        realm_id=world.realm,
        window_seconds=900.0,
        requests=5,
        errors=1,
        client_errors=1,
        throttles=1,
        auth_failures=1,
        p50_latency_ms=30.0,
        p95_latency_ms=50.0,
        last_success_at=start,
        last_failure_at=start + 5 * SECOND,
        last_failure_error="ServerError",
        last_refresh_at=start + 2 * SECOND,
        consecutive_auth_failures=1,
        watching_since=start,
    )


def test_realms_are_listed_sorted_and_forgotten_one_by_one(world: HealthWorld) -> None:
    """`realm_ids` lists the realms seen, sorted; `forget` drops one (an unknown one is
    no error) and the others stay."""
    for realm in ("9", "10", "2"):
        world.recorder.record_probe(realm, error=None)

    world.recorder.forget("10")
    world.recorder.forget("12345")

    assert world.recorder.realm_ids() == ("2", "9")
    assert world.recorder.snapshot("10") == RealmStats(realm_id="10", window_seconds=900.0)


# --------------------------------------------------------------------- the monitor: setup


@pytest.mark.parametrize("timeout", [0.0, -1.0, float("inf"), float("nan")])
def test_the_monitor_refuses_a_ping_timeout_that_is_not_a_positive_time(
    world: HealthWorld, timeout: float
) -> None:
    with pytest.raises(ValueError, match=rf"^ping_timeout must be > 0 seconds, got {timeout!r}$"):
        world.monitor(ping_timeout=timeout)


async def test_the_monitor_judges_by_the_thresholds_it_was_given(world: HealthWorld) -> None:
    """With `min_requests=1`, one failed request out of one is an error rate of 100 %."""
    limits = HealthThresholds(min_requests=1)
    monitor = world.monitor(probes={}, thresholds=limits)
    await store(world)
    traffic(world, errors=1)

    answer = await health(world, monitor)

    assert monitor.thresholds is limits
    assert answer.state is HealthState.UNHEALTHY
    assert answer.reasons == ("error rate 100%",)


def test_the_monitor_shows_its_probes_by_name(world: HealthWorld) -> None:
    monitor = world.monitor(probes={"lock": MutePing(), "cache": MutePing()})

    assert repr(monitor) == "QBOHealthMonitor(probes=['cache', 'lock'])"
    assert monitor.recorder is world.recorder


def test_a_realm_never_evaluated_has_no_alerts(world: HealthWorld) -> None:
    assert world.monitor().active_alerts("123") == ()


# --------------------------------------------------------------------- states at their edges


async def test_rates_are_judged_from_min_requests_on(world: HealthWorld) -> None:
    """Four failed requests are too few to judge; the fifth makes the error rate count:
    UNHEALTHY and the `error_rate` alert, whose message names the count and last error."""
    await store(world)
    monitor = world.monitor(probes={})
    traffic(world, errors=4)
    assert (await health(world, monitor)).state is HealthState.HEALTHY

    traffic(world, errors=1)
    answer = await health(world, monitor)

    assert answer.state is HealthState.UNHEALTHY
    assert answer.reasons == ("error rate 100%",)
    [alert] = answer.alerts
    assert (alert.name, alert.severity) == ("error_rate", AlertSeverity.CRITICAL)
    assert alert.message == "100% of 5 requests failed (last: HTTP 503)"


@pytest.mark.parametrize(
    ("ok", "errors", "state", "reasons", "alerts"),
    [
        (6, 2, HealthState.UNHEALTHY, ("error rate 25%",), ["error_rate"]),
        (4, 1, HealthState.DEGRADED, ("error rate 20%",), []),
        (19, 1, HealthState.DEGRADED, ("error rate 5%",), []),
        (20, 1, HealthState.HEALTHY, (), []),
    ],
)
async def test_the_error_rate_is_judged_at_its_bounds_inclusive(
    world: HealthWorld,
    ok: int,
    errors: int,
    state: HealthState,
    reasons: tuple[str, ...],
    alerts: list[str],
) -> None:
    """An error rate of exactly 25 % is UNHEALTHY (and alerts), of exactly 5 % DEGRADED;
    just under 5 % is HEALTHY."""
    await store(world)
    traffic(world, ok=ok, errors=errors)

    answer = await health(world, world.monitor(probes={}))

    assert (answer.state, answer.reasons, names(answer.alerts)) == (state, reasons, alerts)


@pytest.mark.parametrize(
    ("ok", "state", "reasons", "alerts"),
    [
        (9, HealthState.DEGRADED, ("throttle rate 10%",), ["throttle_rate"]),
        (10, HealthState.HEALTHY, (), []),
    ],
)
async def test_the_throttle_rate_is_judged_at_its_bound_inclusive(
    world: HealthWorld,
    ok: int,
    state: HealthState,
    reasons: tuple[str, ...],
    alerts: list[str],
) -> None:
    """One 429 in ten requests (exactly 10 %) is DEGRADED with a warning; one in eleven is
    not."""
    await store(world)
    traffic(world, ok=ok, throttles=1)

    answer = await health(world, world.monitor(probes={}))

    assert (answer.state, answer.reasons, names(answer.alerts)) == (state, reasons, alerts)
    if alerts:
        assert answer.alerts[0].severity is AlertSeverity.WARNING
        assert answer.alerts[0].message == "10% of 10 requests throttled (429)"


@pytest.mark.parametrize(("ms", "reasons"), [(5000.0, ()), (5001.0, ("p95 latency 5001 ms",))])
async def test_the_p95_latency_degrades_only_above_its_bound(
    world: HealthWorld, ms: float, reasons: tuple[str, ...]
) -> None:
    await store(world)
    exchange(world, 200, duration_ms=ms)

    answer = await health(world, world.monitor(probes={}))

    assert answer.reasons == reasons
    assert answer.state is (HealthState.DEGRADED if reasons else HealthState.HEALTHY)


async def test_authentication_failures_alert_at_their_count(world: HealthWorld) -> None:
    """Two 401s in a row are nothing yet; the third makes the realm DEGRADED and raises
    the critical `auth_failures` alert, naming the count and the last failure."""
    await store(world)
    monitor = world.monitor(probes={})
    exchange(world, 401)
    exchange(world, 401)
    assert (await health(world, monitor)).reasons == ()

    exchange(world, 401)
    answer = await health(world, monitor)

    assert answer.state is HealthState.DEGRADED
    assert answer.reasons == ("3 authentication failures in a row",)
    [alert] = answer.alerts
    assert (alert.name, alert.severity) == ("auth_failures", AlertSeverity.CRITICAL)
    assert alert.message == "3 authentication failures in a row (last: HTTP 401)"


async def test_no_success_counts_only_once_the_time_is_exceeded(world: HealthWorld) -> None:
    """Requests but no success for exactly `no_success_for` is still fine; a second more
    is UNHEALTHY with the critical `no_success` alert."""
    await store(world, refresh_in=timedelta(days=300))
    monitor = world.monitor(probes={})
    exchange(world, 503)
    world.clock.advance(600)
    assert (await health(world, monitor)).reasons == ()

    world.clock.advance(1)
    answer = await health(world, monitor)

    assert answer.state is HealthState.UNHEALTHY
    assert answer.reasons == ("no success for over 10 min",)
    [alert] = answer.alerts
    assert (alert.name, alert.severity) == ("no_success", AlertSeverity.CRITICAL)
    assert alert.message == "no successful request for over 10 min (last failure: HTTP 503)"


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(seconds=60), "1 min"),
        (timedelta(seconds=90), "90 s"),
        (timedelta(minutes=10), "10 min"),
        (timedelta(hours=25), "1500 min"),
        (DAY, "1 day"),
        (2 * DAY, "2 days"),
    ],
)
async def test_the_no_success_reason_says_the_span_in_its_largest_whole_unit(
    world: HealthWorld, span: timedelta, text: str
) -> None:
    await store(world, refresh_in=timedelta(days=300))
    monitor = world.monitor(probes={}, thresholds=HealthThresholds(no_success_for=span))
    exchange(world, 503)
    world.clock.advance(span.total_seconds() + 1)
    exchange(world, 503)  # still requests in the window

    answer = await health(world, monitor)

    assert answer.reasons == (f"no success for over {text}",)


@pytest.mark.parametrize(
    ("hard_in", "reason", "alerts"),
    [
        (30 * DAY + SECOND, None, []),
        (30 * DAY, "in 30 days", ["hard_expiry_30d"]),
        (7 * DAY + SECOND, "in 7 days", ["hard_expiry_30d"]),
        (7 * DAY, "in 7 days", ["hard_expiry_30d", "hard_expiry_7d"]),
    ],
)
async def test_hard_expiry_alerts_start_at_exactly_their_bounds(
    world: HealthWorld, hard_in: timedelta, reason: str | None, alerts: list[str]
) -> None:
    """30 days before the 5-year cap (to the second): DEGRADED and the warning; 7 days
    before: the critical alert too; one second further away, not yet."""
    await store(world, hard_in=hard_in)

    answer = await health(world, world.monitor(probes={}))

    hard_reasons = [r for r in answer.reasons if r.startswith("the 5-year hard expiry")]
    expected = (
        [] if reason is None else [f"the 5-year hard expiry is {reason}: reconnect before it"]
    )
    assert hard_reasons == expected
    assert names(answer.alerts) == alerts


async def test_hard_expiry_alerts_say_when_and_what_to_do(world: HealthWorld) -> None:
    """The warning asks for a reconnection; the critical alert says the connection stops."""
    await store(world, hard_in=3 * DAY)

    answer = await health(world, world.monitor(probes={}))

    assert [(a.name, a.severity, a.message) for a in answer.alerts] == [
        (
            "hard_expiry_30d",
            AlertSeverity.WARNING,
            "the connection's 5-year hard expiry is in 3 days: ask the user to reconnect",
        ),
        (
            "hard_expiry_7d",
            AlertSeverity.CRITICAL,
            "the connection's 5-year hard expiry is in 3 days: "
            "it stops working then unless the user reconnects",
        ),
    ]


@pytest.mark.parametrize(
    ("hard_in", "text"),
    [
        (timedelta(hours=23), "less than a day"),
        (DAY, "1 day"),
        (timedelta(hours=47), "1 day"),
        (2 * DAY, "2 days"),
    ],
)
async def test_an_expiry_is_said_in_whole_days(
    world: HealthWorld, hard_in: timedelta, text: str
) -> None:
    await store(world, hard_in=hard_in)

    answer = await health(world, world.monitor(probes={}))

    assert f"the 5-year hard expiry is in {text}: reconnect before it" in answer.reasons


@pytest.mark.parametrize(
    ("refresh_in", "alerts"), [(14 * DAY + SECOND, []), (14 * DAY, ["refresh_expiry_near"])]
)
async def test_the_idle_alert_starts_at_exactly_its_bound(
    world: HealthWorld, refresh_in: timedelta, alerts: list[str]
) -> None:
    """The rolling refresh expiry 14 days away (to the second) raises the warning that asks
    for `refresh_idle`; the connection is EXPIRING either way, DEGRADED with that reason."""
    await store(world, refresh_in=refresh_in)

    answer = await health(world, world.monitor(probes={}))

    assert answer.state is HealthState.DEGRADED
    assert answer.reasons == ("the refresh token expires soon",)
    assert names(answer.alerts) == alerts
    if alerts:
        [alert] = answer.alerts
        assert alert.severity is AlertSeverity.WARNING
        assert alert.message == (
            "the refresh token expires in 14 days (an idle connection): run refresh_idle"
        )


async def test_a_dead_connection_raises_no_token_alerts(world: HealthWorld) -> None:
    """A revoked grant whose expiries are near: NEEDS_REAUTHORIZATION says it all; no
    hard-expiry or idle alert is raised for it."""
    await store(world, refresh_in=DAY, hard_in=DAY, revoked_at=world.clock.now())

    answer = await health(world, world.monitor(probes={}))

    assert answer.state is HealthState.NEEDS_REAUTHORIZATION
    assert answer.reasons == ("the connection is revoked: the user must connect again",)
    assert answer.alerts == ()


async def test_reasons_are_listed_worst_first(world: HealthWorld) -> None:
    """An EXPIRING connection (DEGRADED, found first) with every request failing
    (UNHEALTHY): the UNHEALTHY reason comes first."""
    await store(world, refresh_in=20 * DAY)
    traffic(world, errors=5)

    answer = await health(world, world.monitor(probes={}))

    assert answer.state is HealthState.UNHEALTHY
    assert answer.reasons == ("error rate 100%", "the refresh token expires soon")


async def test_an_unreadable_token_store_is_named_in_the_reason(world: HealthWorld) -> None:
    world.store.down = True

    answer = await health(world, world.monitor(probes={}))

    assert answer.reasons == (
        "token store unreachable: StoreUnavailableError: the token store did not answer",
    )


async def test_the_details_carry_the_times_of_the_check_and_the_last_failure(
    world: HealthWorld,
) -> None:
    await store(world)
    failed_at = world.clock.now()
    exchange(world, 503)
    world.clock.advance(30)

    answer = await health(world, world.monitor(probes={}))

    assert (answer.checked_at, answer.last_failure_at) == (world.clock.now(), failed_at)
    assert answer.last_failure_error == "HTTP 503"


# --------------------------------------------------------------------- businesses without a realm


async def test_a_business_without_a_realm_is_reported_whole(world: HealthWorld) -> None:
    """No realm: NEEDS_REAUTHORIZATION, its reason first and the down adapter's after, the
    caller's id and details back, the adapters and the time of the check."""
    monitor = world.monitor(probes={"mute": MutePing()})

    answer = await monitor.get_business_health_details("biz-4", "Acme", {"plan": "gold"})

    assert answer == BusinessHealth(
        business_id="biz-4",
        business_name="Acme",
        integration_details={"plan": "gold"},
        state=HealthState.NEEDS_REAUTHORIZATION,
        reasons=(
            "no realm_id: the business is not connected to QBO",
            "adapter mute is down: ConnectionResetError",
        ),
        checked_at=world.clock.now(),
        adapters={
            "mute": AdapterHealth(
                name="mute", up=False, error="ConnectionResetError", round_trip_ms=0.0
            )
        },
    )


@pytest.mark.parametrize(
    ("realm", "reason"),
    [
        ("", "no realm_id: the business is not connected to QBO"),
        (None, "no realm_id: the business is not connected to QBO"),
        ("x1", "the realm_id given is not a QBO company id: connect the business again"),
        (123, "the realm_id given is not a QBO company id: connect the business again"),
        ("1" * 33, "the realm_id given is not a QBO company id: connect the business again"),
    ],
)
async def test_a_realm_that_is_missing_or_not_a_company_id_says_which(
    world: HealthWorld, realm: object, reason: str
) -> None:
    answer = await world.monitor(probes={}).get_business_health_details(
        "biz-1", integration_details={"realm_id": realm}
    )

    assert (answer.state, answer.reasons) == (HealthState.NEEDS_REAUTHORIZATION, (reason,))


# --------------------------------------------------------------------- adapters


async def test_a_ping_reports_its_round_trip_on_the_monitors_clock(world: HealthWorld) -> None:
    """Up, with the round trip in milliseconds to the microsecond (12.3456 ms: 12.346)."""
    answer = await world.monitor(probes={"slow": SlowPing(world)}).get_business_health_details(
        "biz-1"
    )

    assert answer.adapters == {"slow": AdapterHealth(name="slow", up=True, round_trip_ms=12.346)}


async def test_a_failed_or_silent_ping_is_down_with_why(world: HealthWorld) -> None:
    """A ping that raises: down, its error (the class alone when it has no text), the round
    trip; one that never answers: down, the timeout, no round trip."""
    failing = world.monitor(probes={"mute": MutePing()})
    silent = world.monitor(probes={"hang": HangingPing()}, ping_timeout=0.01)

    failed = await failing.get_business_health_details("biz-1")
    hung = await silent.get_business_health_details("biz-1")

    assert failed.adapters == {
        "mute": AdapterHealth(
            name="mute", up=False, error="ConnectionResetError", round_trip_ms=0.0
        )
    }
    assert hung.adapters == {
        "hang": AdapterHealth(name="hang", up=False, error="no answer within 0.01 s")
    }


async def test_a_ping_is_given_two_seconds_by_default(
    world: HealthWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented default `ping_timeout` (2 s) bounds each ping, and a ping past it is
    down saying so (`asyncio.wait_for` stands in for the two real seconds: it times out
    at once, recording the bound it was given)."""
    bounds: list[float | None] = []

    async def times_out_at_once(ping: Any, **options: Any) -> None:
        ping.close()
        bounds.append(options["timeout"])
        raise TimeoutError

    monkeypatch.setattr(asyncio, "wait_for", times_out_at_once)

    answer = await world.monitor(probes={"hang": HangingPing()}).get_business_health_details("b")

    assert bounds == [2.0]
    assert answer.adapters == {
        "hang": AdapterHealth(name="hang", up=False, error="no answer within 2 s")
    }


# --------------------------------------------------------------------- alert events


async def test_alert_events_carry_the_alert_the_realm_and_the_business(
    world: HealthWorld,
) -> None:
    """Raised: the event at that time, for the realm and the business checked, with the
    alert's name, severity and message; the alert keeps its `since` while it lasts;
    cleared (once the failures leave the window): the same name and message, at that
    time, still naming the business, also for an `evaluate` without one."""
    await store(world)
    monitor = world.monitor(probes={})
    traffic(world, errors=5)
    raised_at = world.clock.now()

    await monitor.get_business_health_details("biz-7", realm_id=world.realm)
    world.clock.advance(60)
    [alert] = await monitor.evaluate(world.realm)
    world.clock.advance(16 * 60)
    assert await monitor.evaluate(world.realm) == ()

    message = "100% of 5 requests failed (last: HTTP 503)"
    assert alert == HealthAlert(
        name="error_rate",
        severity=AlertSeverity.CRITICAL,
        realm_id=world.realm,
        message=message,
        since=raised_at,
    )
    [raised] = world.alerts(events.ALERT_RAISED)
    [cleared] = world.alerts(events.ALERT_CLEARED)
    attributes = {"alert": "error_rate", "severity": "critical", "message": message}
    assert (raised.at, raised.realm_id, raised.business_id) == (raised_at, world.realm, "biz-7")
    assert dict(raised.attributes) == attributes
    assert (cleared.at, cleared.realm_id, cleared.business_id) == (
        world.clock.now(),
        world.realm,
        "biz-7",
    )
    assert dict(cleared.attributes) == attributes


async def test_a_failing_event_sink_does_not_stop_the_check(world: HealthWorld) -> None:
    """The sink raising on the alert's event: the answer comes back, the alert active."""
    await store(world)
    traffic(world, errors=5)
    monitor = QBOHealthMonitor(
        auth=world.auth, recorder=world.recorder, clock=world.clock, events=BrokenSink()
    )

    answer = await health(world, monitor)

    assert names(answer.alerts) == ["error_rate"]
    assert names(monitor.active_alerts(world.realm)) == ["error_rate"]


# --------------------------------------------------------------------- check


async def test_check_records_its_probe_itself_and_answers_for_the_business(
    world: HealthWorld,
) -> None:
    """The probe's success is recorded for the realm even when the recorder does not see
    the exchange (a raw client reporting elsewhere); the answer names the caller's
    business, name and details."""
    await world.connect()
    unwatched = QBORawClient(
        world.transport, world.config, events=world.recording, clock=world.clock
    )
    sync = world.sync(raw_client=unwatched)

    answer = await world.monitor(probes={}).check(
        "biz-2", world.realm, sync, business_name="Acme", integration_details={"plan": "gold"}
    )

    stats = world.recorder.snapshot(world.realm)
    assert (stats.requests, stats.last_success_at) == (0, world.clock.now())
    assert world.recorder.realm_ids() == (world.realm,)
    assert (answer.business_id, answer.business_name) == ("biz-2", "Acme")
    assert dict(answer.integration_details) == {"plan": "gold"}
    assert answer.state is HealthState.HEALTHY


# --------------------------------------------------------------------- the idle refresher


async def test_refresh_idle_is_due_at_exactly_its_window(world: HealthWorld) -> None:
    """The rolling expiry a second more than `within` away: left alone; exactly `within`
    away: refreshed, with the expiry before and after."""
    tokens = await world.connect()
    monitor = world.monitor(probes={})
    before = tokens.refresh_token_expires_at
    world.clock.set_now(before - 14 * DAY - SECOND)

    early = await monitor.refresh_idle([world.realm])

    assert early == {
        world.realm: RefreshOutcome(
            realm_id=world.realm,
            due=False,
            refreshed=False,
            refresh_token_expires_before=before,
            refresh_token_expires_after=before,
        )
    }
    world.clock.advance(1)

    done = (await monitor.refresh_idle([world.realm], within=14 * DAY))[world.realm]

    after = (await world.auth.status(world.realm)).refresh_token_expires_at
    assert after is not None
    assert after > before
    assert done == RefreshOutcome(
        realm_id=world.realm,
        due=True,
        refreshed=True,
        refresh_token_expires_before=before,
        refresh_token_expires_after=after,
    )


async def test_a_failed_idle_refresh_is_reported_whole_and_emitted(world: HealthWorld) -> None:
    """A realm id that is not one: the outcome names the realm, the error class and its
    text; the `health.refresh_failed` event carries them, at that time, for the business
    last checked for that realm."""
    monitor = world.monitor(probes={})

    [outcome] = (await monitor.refresh_idle(["not-a-realm"])).values()

    message = "ValueError: realm_id must be the numeric QBO company id"
    assert outcome == RefreshOutcome(
        realm_id="not-a-realm", due=True, refreshed=False, error="ValueError", message=message
    )
    [event] = world.recording.of_kind(events.IDLE_REFRESH_FAILED)
    assert (event.at, event.realm_id, event.business_id) == (world.clock.now(), "not-a-realm", None)
    assert dict(event.attributes) == {"error": "ValueError", "message": message}


async def test_a_failed_idle_refresh_keeps_the_expiry_it_saw(world: HealthWorld) -> None:
    """A grant revoked at Intuit, its expiry within the window asked: the refresh fails;
    the outcome keeps the stored expiry and the event names the business that was last
    checked for the realm."""
    tokens = await world.connect()
    world.emulator.control.revoke_tokens(realm_id=world.realm)
    monitor = world.monitor(probes={})
    await monitor.get_business_health_details("biz-5", realm_id=world.realm)

    [outcome] = (await monitor.refresh_idle([world.realm], within=200 * DAY)).values()

    assert (outcome.realm_id, outcome.due, outcome.refreshed) == (world.realm, True, False)
    assert outcome.error == "ReauthorizationRequiredError"
    assert outcome.refresh_token_expires_before == tokens.refresh_token_expires_at
    assert outcome.refresh_token_expires_after is None
    [event] = world.recording.of_kind(events.IDLE_REFRESH_FAILED)
    assert event.business_id == "biz-5"
    assert event.attributes["message"] == outcome.message


# --------------------------------------------------------------------- concurrency


async def test_two_businesses_checked_at_once_keep_their_own_names_apart(
    world: HealthWorld,
) -> None:
    """Two checks of one realm for different businesses, both waiting on the token store at
    once: the alert raised by the first names the first business (the one whose check
    raised it), not the one that started last."""
    world.tokens = YieldingTokenStore()
    world.auth = world.auth_service()
    await store(world)
    traffic(world, errors=5)
    monitor = world.monitor(probes={})

    first, second = await asyncio.gather(
        monitor.get_business_health_details("biz-a", realm_id=world.realm),
        monitor.get_business_health_details("biz-b", realm_id=world.realm),
    )

    [raised] = world.alerts(events.ALERT_RAISED)
    assert names(first.alerts) == names(second.alerts) == ["error_rate"]
    assert raised.business_id == "biz-a"


def test_an_event_the_recorder_cannot_read_is_dropped_whole(world: HealthWorld) -> None:
    """An `http.request` with neither status nor error, or a duration too large for a
    float: each counted in `dropped` and nothing of it kept (no request, no realm)."""
    world.recorder.emit(QBOEvent(kind=events.HTTP_REQUEST, at=world.clock.now(), realm_id="7"))
    exchange(world, 200, duration_ms=10**400)

    assert world.recorder.dropped == 2
    assert world.recorder.realm_ids() == ()
    assert world.recorder.snapshot(world.realm) == RealmStats(
        realm_id=world.realm, window_seconds=900.0
    )
