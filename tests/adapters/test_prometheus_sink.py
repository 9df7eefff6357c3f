"""`PrometheusEventSink` and `metrics_handler`: real services' events become the documented
metrics, odd events never break `emit`, no secret reaches a label, and a real HTTP client
scrapes the handler on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, make_mocked_request
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.event_sinks import FanOutEventSink
from qbo_adapters.memory.quota_store import MemoryQuotaStore
from qbo_adapters.prometheus import (
    LATENCY_BUCKETS,
    OUTCOMES,
    PrometheusEventSink,
    metrics_handler,
    request_outcome,
)
from qbo_adapters.testing.event_sink import EventSinkContract
from qbo_core import Customer, Query, events
from qbo_core.dtos import QBOEvent
from qbo_core.errors import ObjectNotFoundError, ReauthorizationRequiredError
from qbo_core.ports.event_sink import EventSink
from qbo_core.services.auth import QBOAuthService
from qbo_core.services.rate_limiter import RateLimiter
from qbo_core.services.raw_client import QBORawClient
from qbo_core.services.retry import RetryPolicy
from qbo_core.services.smart_sync import SmartSyncService
from tests.core.sync_world import SyncWorld

AT = datetime(2026, 1, 1, tzinfo=UTC)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class TestPrometheusEventSink(EventSinkContract):
    """The EventSink contract (its output is counts, not events: `recorded` stays None)."""

    @contextlib.asynccontextmanager
    async def make_event_sink(self, clock: FakeClock) -> AsyncIterator[EventSink]:
        yield PrometheusEventSink(registry=CollectorRegistry())


# -- reading the exposition --------------------------------------------------------------


def exposition(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode("utf-8")


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text exposition, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample `name{labels}`; 0 when absent (a counter never moved)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of every `name` sample whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


def label_names(samples: Samples) -> set[str]:
    return {label for _, labels in samples for label, _ in labels}


def event(kind: str, realm: str | None = "r1", /, **attributes: object) -> QBOEvent:
    return QBOEvent(kind=kind, at=AT, realm_id=realm, attributes=attributes)


def fresh_sink(**options: Any) -> tuple[PrometheusEventSink, CollectorRegistry]:
    registry = CollectorRegistry()
    return PrometheusEventSink(registry=registry, **options), registry


# -- a real stack on the emulator ---------------------------------------------------------


class Stack:
    """A `SyncWorld`'s services, emitting to its recorder and a Prometheus sink at once,
    with the real `RateLimiter` on a memory quota store (so 429s also hold the realm back)."""

    def __init__(self, world: SyncWorld) -> None:
        self.world = world
        self.registry = CollectorRegistry()
        self.sink = PrometheusEventSink(registry=self.registry)
        fan = FanOutEventSink(world.events, self.sink)
        self.raw = QBORawClient(world.transport, world.config, events=fan, clock=world.clock)
        self.auth = QBOAuthService(
            transport=world.transport,
            config=world.config,
            token_store=world.tokens,
            lock=world.lock,
            state_store=world.states,
            clock=world.clock,
            events=fan,
        )
        limiter = RateLimiter(
            quota_store=MemoryQuotaStore(world.clock),
            clock=world.clock,
            config=world.config,
            events=fan,
        )
        self.sync = SmartSyncService(
            "business-1",
            world.realm,
            raw_client=self.raw,
            auth=self.auth,
            limiter=limiter,
            cache=world.cache,
            clock=world.clock,
            events=fan,
            config=world.config,
            coalescer=world.coalescer,
            retry=RetryPolicy(rng=random.Random(7)),
        )

    def samples(self) -> Samples:
        return parse(exposition(self.registry))

    def recorded(self, kind: str) -> list[QBOEvent]:
        return [e for e in self.world.events.events if e.kind == kind]


def fault(world: SyncWorld, effect: Any, *, path: str, **trigger: Any) -> None:
    rule: dict[str, Any] = {"route": {"method": "*", "path": path}, "effect": effect}
    if trigger:
        rule["trigger"] = trigger
    world.emulator.control.add_fault(rule)


async def some_customers(world: SyncWorld, count: int) -> list[Customer]:
    """Customers read with the world's own raw client (its events are not the stack's)."""
    page = await world.raw.query(await world.raw_auth(), Query.select(Customer).max_results(count))
    return list(page.items)


async def test_a_real_run_is_counted_as_the_services_reported_it() -> None:
    """Reads through smart sync on the emulator (a miss, a hit, a 503 retried, a 404, a
    slow answer, a proactive refresh, a dead grant): each metric matches the events the
    services emitted, and the outcomes, cache results and refreshes are the expected ones."""
    world = SyncWorld()
    await world.connect()
    first, second, third = await some_customers(world, 3)
    world.events.clear()
    stack = Stack(world)

    await stack.sync.read(Customer, first.id or "")  # miss, one request
    await stack.sync.read(Customer, first.id or "")  # hit
    fault(
        world, {"kind": "status", "status": 503}, path=f"/v3/company/*/customer/{second.id}", next=1
    )
    await stack.sync.read(Customer, second.id or "")  # 503, retried, then ok
    with pytest.raises(ObjectNotFoundError):
        await stack.sync.read(Customer, "987654321")  # QBO says no such object
    fault(
        world, {"kind": "latency", "latency": 20}, path=f"/v3/company/*/customer/{third.id}", next=1
    )
    await stack.sync.read(Customer, third.id or "")  # answered 20 s later (virtual time)
    world.clock.advance(3600)  # the access token has expired: the next call refreshes it
    await stack.sync.query(Query.select(Customer).max_results(1))
    world.emulator.control.revoke_tokens(realm_id=world.realm)
    world.clock.advance(3600)
    with pytest.raises(ReauthorizationRequiredError):
        await stack.sync.query(Query.select(Customer).max_results(2))

    samples = stack.samples()
    realm = world.realm
    requests = stack.recorded(events.HTTP_REQUEST)
    assert total(samples, "qbo_http_requests_total") == len(requests)
    for outcome in OUTCOMES:
        expected = sum(
            1
            for e in requests
            if request_outcome(e.attributes.get("status"), e.attributes.get("error")) == outcome
        )
        assert total(samples, "qbo_http_requests_total", outcome=outcome) == expected
    # The request's operation is the raw client's call ("read"), the retry's smart sync's.
    by_outcome = {
        (operation, outcome): value(
            samples, "qbo_http_requests_total", realm=realm, operation=operation, outcome=outcome
        )
        for operation in ("read", "query")
        for outcome in OUTCOMES
    }
    assert {key: count for key, count in by_outcome.items() if count} == {
        ("read", "ok"): 3,
        ("read", "server_error"): 1,
        ("read", "client_error"): 1,
        ("query", "ok"): 1,
    }
    assert total(samples, "qbo_http_request_duration_seconds_count") == len(requests)
    assert total(samples, "qbo_http_request_duration_seconds_sum") == pytest.approx(20.0)
    assert (
        total(samples, "qbo_http_request_duration_seconds_bucket", le="10.0") == len(requests) - 1
    )
    assert total(samples, "qbo_http_request_duration_seconds_bucket", le="30.0") == len(requests)

    retries = stack.recorded(events.HTTP_RETRY)
    assert len(retries) == 1
    assert value(samples, "qbo_http_retries_total", realm=realm, operation="read Customer") == 1

    assert value(samples, "qbo_cache_events_total", realm=realm, result="hit") == 1
    assert value(samples, "qbo_cache_events_total", realm=realm, result="miss") == len(
        stack.recorded(events.CACHE_MISS)
    )
    assert value(samples, "qbo_cache_events_total", realm=realm, result="miss") >= 4

    assert value(samples, "qbo_token_refreshes_total", realm=realm, outcome="ok") == 1
    assert value(samples, "qbo_token_refreshes_total", realm=realm, outcome="invalid_grant") == 1
    assert value(samples, "qbo_events_dropped_total") == 0
    assert stack.sink.dropped == 0


async def test_a_throttled_run_counts_the_429_the_hold_back_and_the_retry() -> None:
    """The emulator throttles at 2 requests a second (Retry-After 5): three concurrent reads
    give one 429, which is a `throttled` request, a throttle, a 5 s hold-back and a retry."""
    world = SyncWorld(throttle=True, requests_per_second=2, retry_after=5.0)
    await world.connect()
    found = await some_customers(world, 3)
    world.clock.advance(2)
    world.events.clear()
    stack = Stack(world)

    await asyncio.gather(*(stack.sync.read(Customer, c.id or "") for c in found))

    samples = stack.samples()
    realm = world.realm
    throttles = stack.recorded(events.RATE_THROTTLED)
    assert len(throttles) == 1
    assert total(samples, "qbo_http_requests_total", realm=realm, outcome="throttled") == 1
    assert total(samples, "qbo_http_requests_total", realm=realm, outcome="ok") == 3
    assert value(samples, "qbo_rate_throttled_total", realm=realm) == 1
    assert value(samples, "qbo_rate_held_back_total", realm=realm) == len(
        stack.recorded(events.RATE_HELD_BACK)
    )
    assert value(samples, "qbo_rate_held_back_total", realm=realm) == 1
    assert value(samples, "qbo_rate_held_back_seconds_total", realm=realm) == 5.0
    assert value(samples, "qbo_http_retries_total", realm=realm, operation="read Customer") == 1


# -- synthetic events: the rules at their edges ------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "outcome"),
    [
        (200, None, "ok"),
        (204, None, "ok"),
        (400, "ValidationError", "client_error"),
        (400, None, "client_error"),
        (399, None, "ok"),
        (200, "__class__", "server_error"),
        (200, "annotations", "server_error"),
        (401, "AccessTokenInvalidError", "client_error"),
        (404, None, "client_error"),
        (429, "ThrottledError", "throttled"),
        (429, None, "throttled"),
        (None, "ThrottledError", "throttled"),
        (500, "ServerError", "server_error"),
        (503, None, "server_error"),
        (None, "ConnectError", "transport_error"),
        (None, "ReadTimeoutError", "transport_error"),
        (None, "CancelledError", "transport_error"),
        (None, None, "transport_error"),
        (200, "IncompleteResponseError", "transport_error"),
        (200, "DecodeError", "server_error"),
        (200, "ResponseTooLargeError", "server_error"),
        (200, "ObjectNotFoundError", "client_error"),
        (200, "PermissionDeniedError", "client_error"),
        (200, "SomethingElse", "server_error"),
        ("200", None, "transport_error"),
        (True, None, "transport_error"),
        (503, 42, "server_error"),
    ],
)
def test_request_outcomes(status: object, error: object, outcome: str) -> None:
    """The outcome of an `http.request` follows its status and error class, as documented;
    values of the wrong type count as absent."""
    assert request_outcome(status, error) == outcome
    sink, registry = fresh_sink()
    sink.emit(event(events.HTTP_REQUEST, operation="read", status=status, error=error))
    samples = parse(exposition(registry))
    assert (
        value(samples, "qbo_http_requests_total", realm="r1", operation="read", outcome=outcome)
        == 1
    )


def test_the_histogram_has_the_documented_buckets() -> None:
    """Latency is observed in seconds (`duration_ms` / 1000) into `LATENCY_BUCKETS`."""
    sink, registry = fresh_sink()
    sink.emit(event(events.HTTP_REQUEST, operation="query", status=200, duration_ms=750))
    samples = parse(exposition(registry))
    bounds = sorted(
        float(dict(labels)["le"])
        for name, labels in samples
        if name == "qbo_http_request_duration_seconds_bucket"
    )
    assert bounds == [*LATENCY_BUCKETS, math.inf]
    bucket = "qbo_http_request_duration_seconds_bucket"
    assert value(samples, bucket, realm="r1", operation="query", le="0.5") == 0
    assert value(samples, bucket, realm="r1", operation="query", le="1.0") == 1
    assert (
        value(samples, "qbo_http_request_duration_seconds_sum", realm="r1", operation="query")
        == 0.75
    )


def test_token_refreshes_by_outcome_and_a_first_grant_is_not_one() -> None:
    """`token.refreshed` counts `ok` (a connection's authorization_code grant does not
    count); `token.refresh_failed` counts `invalid_grant` or `error` by its reason."""
    sink, registry = fresh_sink()
    sink.emit(event(events.TOKEN_REFRESHED, grant="refresh_token", version=2))
    sink.emit(event(events.TOKEN_REFRESHED, grant="authorization_code", version=1))
    sink.emit(event(events.TOKEN_REFRESH_FAILED, reason="invalid_grant", error="X"))
    sink.emit(event(events.TOKEN_REFRESH_FAILED, error="ServerError", status=503))
    samples = parse(exposition(registry))
    assert value(samples, "qbo_token_refreshes_total", realm="r1", outcome="ok") == 1
    assert value(samples, "qbo_token_refreshes_total", realm="r1", outcome="invalid_grant") == 1
    assert value(samples, "qbo_token_refreshes_total", realm="r1", outcome="error") == 1


def test_cache_events_by_result() -> None:
    """Each cache kind counts under its result."""
    sink, registry = fresh_sink()
    for kind, times in (
        (events.CACHE_HIT, 3),
        (events.CACHE_MISS, 2),
        (events.CACHE_COALESCED, 1),
        (events.CACHE_ERROR, 4),
    ):
        for _ in range(times):
            sink.emit(event(kind, operation="read Customer"))
    samples = parse(exposition(registry))
    counts = {
        result: value(samples, "qbo_cache_events_total", realm="r1", result=result)
        for result in ("hit", "miss", "coalesced", "error")
    }
    assert counts == {"hit": 3, "miss": 2, "coalesced": 1, "error": 4}


def test_alerts_are_active_from_raised_to_cleared() -> None:
    """An alert is 1 from its raise to its clear; raising twice or clearing one that is not
    raised changes nothing; alerts of other realms and names are separate."""
    sink, registry = fresh_sink()

    def active(realm: str, alert: str) -> float:
        return value(parse(exposition(registry)), "qbo_alerts_active", realm=realm, alert=alert)

    sink.emit(event(events.ALERT_RAISED, alert="reauthorization_required"))
    sink.emit(event(events.ALERT_RAISED, alert="reauthorization_required"))
    sink.emit(event(events.ALERT_RAISED, "r2", alert="reauthorization_required"))
    sink.emit(event(events.ALERT_CLEARED, alert="throttled_often"))
    assert active("r1", "reauthorization_required") == 1
    assert active("r2", "reauthorization_required") == 1
    assert active("r1", "throttled_often") == 0
    sink.emit(event(events.ALERT_CLEARED, alert="reauthorization_required"))
    sink.emit(event(events.ALERT_CLEARED, alert="reauthorization_required"))
    assert active("r1", "reauthorization_required") == 0
    assert active("r2", "reauthorization_required") == 1


def test_without_the_realm_label_metrics_are_fleet_wide() -> None:
    """`realm_label=False`: no sample has a `realm` label; counts add up over realms and
    `alerts_active` counts the realms where an alert is raised."""
    sink, registry = fresh_sink(realm_label=False)
    for realm in ("r1", "r2", "r3"):
        sink.emit(event(events.HTTP_REQUEST, realm, operation="read", status=200, duration_ms=5))
        sink.emit(event(events.RATE_THROTTLED, realm, status=429))
        sink.emit(event(events.RATE_HELD_BACK, realm, wait=2.5))
        sink.emit(event(events.ALERT_RAISED, realm, alert="dead"))
    sink.emit(event(events.ALERT_CLEARED, "r2", alert="dead"))
    samples = parse(exposition(registry))
    assert "realm" not in label_names(samples)
    assert value(samples, "qbo_http_requests_total", operation="read", outcome="ok") == 3
    assert value(samples, "qbo_http_request_duration_seconds_count", operation="read") == 3
    assert value(samples, "qbo_rate_throttled_total") == 3
    assert value(samples, "qbo_rate_held_back_seconds_total") == 7.5
    assert value(samples, "qbo_alerts_active", alert="dead") == 2


def test_an_event_without_a_realm_counts_under_an_empty_realm() -> None:
    """A realm-less event is counted with `realm=""`."""
    sink, registry = fresh_sink()
    sink.emit(event(events.HTTP_RETRY, None, operation="query"))
    assert (
        value(parse(exposition(registry)), "qbo_http_retries_total", realm="", operation="query")
        == 1
    )


def test_unknown_and_unmetered_kinds_change_nothing() -> None:
    """Kinds without a metric (unknown ones, connection events, limiter waits) leave every
    sample as it was."""
    sink, registry = fresh_sink()
    sink.emit(event(events.HTTP_REQUEST, operation="read", status=200))
    before = parse(exposition(registry))
    for kind in (
        "made.up",
        "http",
        "health.alert",
        events.CONNECTION_STARTED,
        events.DISCONNECTED,
        events.RATE_WAITED,
        events.RATE_LATE_GRANT,
    ):
        sink.emit(event(kind, operation="read", status=500, alert="x", wait=9))
    assert parse(exposition(registry)) == before


def test_namespace_prefixes_every_metric() -> None:
    """`namespace` replaces `qbo` in every metric name."""
    sink, registry = fresh_sink(namespace="books")
    sink.emit(event(events.HTTP_REQUEST, operation="read", status=200))
    names = {name for name, _ in parse(exposition(registry))}
    assert "books_http_requests_total" in names
    assert all(name.startswith("books_") for name in names)


def test_a_second_sink_on_one_registry_is_refused() -> None:
    """Metric names are unique per registry: a second sink there raises `ValueError`."""
    registry = CollectorRegistry()
    PrometheusEventSink(registry=registry)
    with pytest.raises(ValueError, match="Duplicated"):
        PrometheusEventSink(registry=registry)


class _ExplodingMapping(Mapping[str, object]):
    def __getitem__(self, key: str) -> object:
        raise RuntimeError("boom")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("boom")

    def __len__(self) -> int:
        return 1

    def get(self, key: str, default: object = None) -> object:
        raise RuntimeError("boom")


GARBAGE_ATTRIBUTES: list[dict[str, object]] = [
    {},
    {"operation": None, "status": None, "error": None, "duration_ms": None},
    {"operation": 12, "status": "200", "error": ValueError("x"), "duration_ms": "fast"},
    {"operation": b"read", "status": 200.5, "error": ["ServerError"], "duration_ms": math.nan},
    {"operation": "read", "status": 200, "duration_ms": math.inf},
    {"operation": "read", "status": 200, "duration_ms": -5},
    {"operation": "read", "status": 200, "duration_ms": True},
    {"operation": "x" * 100_000, "status": -1, "error": "ThrottledError" * 3},
    {"operation": "", "status": 10**30, "error": "__class__"},
    {"alert": None, "wait": "60", "grant": 7, "reason": {"nested": "invalid_grant"}},
    {"alert": 3.5, "wait": -1, "grant": None, "reason": None},
    {"alert": 'a\nb"c\\', "wait": math.nan},
]


@pytest.mark.parametrize("attributes", GARBAGE_ATTRIBUTES)
def test_garbage_attributes_never_raise(attributes: dict[str, object]) -> None:
    """Every metered kind, with attributes of wrong types, missing or absurd, is emitted
    without raising, and the exposition stays parseable."""
    sink, registry = fresh_sink()
    for kind in events.ALL_KINDS:
        sink.emit(event(kind, **attributes))
        sink.emit(event(kind, None, **attributes))
    parse(exposition(registry))
    assert sink.dropped == 0


def test_events_that_cannot_be_read_are_dropped_and_counted() -> None:
    """Not an event at all, or attributes that raise when read: `emit` returns, and the drop
    is counted in `dropped` and in `qbo_events_dropped_total`."""
    sink, registry = fresh_sink()
    broken = cast(
        QBOEvent,
        SimpleNamespace(kind=events.HTTP_REQUEST, realm_id="r1", attributes=_ExplodingMapping()),
    )
    odd_realm = cast(
        QBOEvent, SimpleNamespace(kind=events.HTTP_RETRY, realm_id=42, attributes="not a map")
    )
    sink.emit(cast(QBOEvent, None))
    sink.emit(cast(QBOEvent, object()))
    sink.emit(broken)
    sink.emit(odd_realm)  # readable: a realm that is not text counts as "", attributes as {}
    samples = parse(exposition(registry))
    assert sink.dropped == 3
    assert value(samples, "qbo_events_dropped_total") == 3
    assert value(samples, "qbo_http_retries_total", realm="", operation="unknown") == 1


SECRET = "S3cr3tMarker000042Zq"


def test_no_secret_reaches_a_label() -> None:
    """Secret-named attributes never become labels, and credentials hidden in the texts
    that do (operation, alert) are masked: the exposition holds no planted secret, and its
    labels are only the documented ones."""
    sink, registry = fresh_sink()
    secrets: dict[str, object] = {
        "access_token": SECRET,
        "refresh_token": SECRET,
        "client_secret": SECRET,
        "Authorization": f"Bearer {SECRET}",
        "code_verifier": SECRET,
        "oauth": {"refresh_token": SECRET},
    }
    disguised = [
        f"Bearer {SECRET}",
        f"grant_type=refresh_token&refresh_token={SECRET}",
        f"read Customer Token expired: {SECRET}",
        f'{{"access_token": "{SECRET}"}}',
    ]
    for kind in events.ALL_KINDS:
        for text in disguised:
            sink.emit(event(kind, operation=text, alert=text, status=200, duration_ms=1, **secrets))
    text = exposition(registry)
    assert SECRET not in text
    assert label_names(parse(text)) == {"realm", "operation", "outcome", "result", "alert", "le"}


HELP = {
    "qbo_http_requests": (
        "counter",
        "HTTP exchanges with QBO, by outcome (ok, client_error, server_error, throttled, "
        "transport_error).",
    ),
    "qbo_http_request_duration_seconds": (
        "histogram",
        "Time from sending a request to QBO to having its whole answer (or failing).",
    ),
    "qbo_http_retries": ("counter", "Failed calls retried after a wait by smart sync."),
    "qbo_rate_throttled": ("counter", "Calls QBO answered with 429 (throttled)."),
    "qbo_rate_held_back": (
        "counter",
        "Times a realm was held back in every process sharing its quota, after a 429.",
    ),
    "qbo_rate_held_back_seconds": (
        "counter",
        "Seconds of hold-back ordered after 429s (overlapping hold-backs add up).",
    ),
    "qbo_token_refreshes": (
        "counter",
        "Access-token refreshes, by outcome (ok, invalid_grant, error).",
    ),
    "qbo_cache_events": (
        "counter",
        "Smart sync's cache lookups and failures, by result (hit, miss, coalesced, error).",
    ),
    "qbo_events_dropped": ("counter", "Events the Prometheus sink could not record."),
}


@pytest.mark.parametrize(
    ("realm_label", "alerts_help"),
    [
        (True, "Health alerts raised and not yet cleared (1 while raised)."),
        (False, "Health alerts raised and not yet cleared (the realms where each is raised)."),
    ],
)
def test_every_metric_has_its_documented_type_and_help(realm_label: bool, alerts_help: str) -> None:
    """The registry holds exactly the documented metrics, each of its type and help text;
    `alerts_active`'s help says what its value means with or without the realm label."""
    _, registry = fresh_sink(realm_label=realm_label)
    found = {
        family.name: (family.type, family.documentation)
        for family in text_string_to_metric_families(exposition(registry))
        if not family.name.endswith("_created")  # the client's creation-time gauges
    }
    assert found == {**HELP, "qbo_alerts_active": ("gauge", alerts_help)}


def test_text_labels_are_cut_to_100_characters_and_odd_values_are_unknown() -> None:
    """An operation or alert text longer than 100 characters is cut there; one that is
    empty or not text is `unknown`."""
    sink, registry = fresh_sink()
    sink.emit(event(events.HTTP_RETRY, operation="o" * 150))
    sink.emit(event(events.HTTP_RETRY, operation="p" * 100))
    sink.emit(event(events.HTTP_RETRY, operation=""))
    sink.emit(event(events.HTTP_RETRY, operation=12))
    sink.emit(event(events.ALERT_RAISED, alert="a" * 101))
    samples = parse(exposition(registry))
    retries = {
        dict(labels)["operation"]: count
        for (name, labels), count in samples.items()
        if name == "qbo_http_retries_total"
    }
    assert retries == {"o" * 100: 1, "p" * 100: 1, "unknown": 2}
    assert value(samples, "qbo_alerts_active", realm="r1", alert="a" * 100) == 1


def test_only_the_first_4096_characters_of_a_text_are_read() -> None:
    """A text label is made from its first 4096 characters: what follows is never scanned."""
    sink, registry = fresh_sink()
    token = "Bearer " + "A" * (4096 - len("Bearer "))
    sink.emit(event(events.HTTP_RETRY, operation=token + " tail"))
    samples = parse(exposition(registry))
    assert value(samples, "qbo_http_retries_total", realm="r1", operation="Bearer <redacted>") == 1


def test_durations_and_waits_count_from_zero_and_skip_what_is_not_a_time() -> None:
    """A `duration_ms` or hold-back `wait` of 0 is recorded; a negative, infinite, boolean or
    non-numeric one is not (the event itself still counts)."""
    sink, registry = fresh_sink()
    for duration in (0, 1500, -1, math.inf, True, "5"):
        sink.emit(event(events.HTTP_REQUEST, operation="read", status=200, duration_ms=duration))
    for wait in (0, 2, -3, math.nan, False, None):
        sink.emit(event(events.RATE_HELD_BACK, wait=wait))
    samples = parse(exposition(registry))
    histogram = "qbo_http_request_duration_seconds"
    assert value(samples, histogram + "_count", realm="r1", operation="read") == 2
    assert value(samples, histogram + "_sum", realm="r1", operation="read") == 1.5
    assert (
        value(samples, "qbo_http_requests_total", realm="r1", operation="read", outcome="ok") == 6
    )
    assert value(samples, "qbo_rate_held_back_total", realm="r1") == 6
    assert value(samples, "qbo_rate_held_back_seconds_total", realm="r1") == 2


def test_the_default_registry_is_the_global_one() -> None:
    """Without a registry the sink's metrics go to prometheus_client's global registry."""
    sink = PrometheusEventSink(namespace="qbo_default_registry_test")
    try:
        assert sink.registry is REGISTRY
        sink.emit(cast(QBOEvent, None))
        assert REGISTRY.get_sample_value("qbo_default_registry_test_events_dropped_total") == 1
    finally:
        for metric in vars(sink).values():
            if isinstance(metric, MetricWrapperBase):
                REGISTRY.unregister(metric)


def test_repr_shows_the_realm_label_and_drops() -> None:
    """`repr` reads `PrometheusEventSink(realm_label=..., dropped=N)`."""
    sink, _ = fresh_sink(realm_label=False)
    sink.emit(cast(QBOEvent, None))
    assert repr(sink) == "PrometheusEventSink(realm_label=False, dropped=1)"


# -- the handler, scraped over HTTP ------------------------------------------------------


@contextlib.asynccontextmanager
async def serving(registry: CollectorRegistry) -> AsyncIterator[str]:
    """`metrics_handler(registry)` at /metrics of a real server on 127.0.0.1; its URL."""
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(registry))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/metrics"))
    finally:
        await server.close()


async def test_the_handler_is_scraped_over_http() -> None:
    """A real client GETs /metrics on loopback: Prometheus text with its content type, whose
    samples are what the sink counted."""
    sink, registry = fresh_sink()
    sink.emit(event(events.HTTP_REQUEST, operation="read", status=200, duration_ms=40))
    sink.emit(event(events.HTTP_REQUEST, operation="read", status=503, duration_ms=40))
    sink.emit(event(events.ALERT_RAISED, alert="dead"))
    async with (
        serving(registry) as url,
        aiohttp.ClientSession() as client,
        client.get(url) as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        body = await response.text()
    samples = parse(body)
    assert (
        value(samples, "qbo_http_requests_total", realm="r1", operation="read", outcome="ok") == 1
    )
    assert (
        value(
            samples, "qbo_http_requests_total", realm="r1", operation="read", outcome="server_error"
        )
        == 1
    )
    assert (
        value(samples, "qbo_http_request_duration_seconds_count", realm="r1", operation="read") == 2
    )
    assert value(samples, "qbo_alerts_active", realm="r1", alert="dead") == 1


async def test_the_handler_speaks_openmetrics_when_asked() -> None:
    """A scraper that accepts OpenMetrics gets it, with its content type and `# EOF` end."""
    sink, registry = fresh_sink()
    sink.emit(event(events.RATE_THROTTLED, status=429))
    accept = "application/openmetrics-text; version=1.0.0"
    async with (
        serving(registry) as url,
        aiohttp.ClientSession() as client,
        client.get(url, headers={"Accept": accept}) as response,
    ):
        assert response.headers["Content-Type"].startswith("application/openmetrics-text")
        body = await response.text()
    assert body.endswith("# EOF\n")
    assert 'qbo_rate_throttled_total{realm="r1"} 1.0' in body


async def test_the_handler_serves_the_global_registry_by_default() -> None:
    """`metrics_handler()` with no registry answers with prometheus_client's global registry."""
    response = await metrics_handler()(make_mocked_request("GET", "/metrics"))
    assert response.body is not None
    assert b"\npython_info{" in bytes(cast(bytes, response.body))


async def test_a_scrape_without_accept_gets_the_plain_text_format() -> None:
    """A scraper that sends no `Accept` gets Prometheus text 0.0.4, with its exact content type."""
    sink, registry = fresh_sink()
    sink.emit(event(events.RATE_THROTTLED, status=429))
    response = await metrics_handler(registry)(make_mocked_request("GET", "/metrics"))
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert b'qbo_rate_throttled_total{realm="r1"} 1.0\n' in bytes(cast(bytes, response.body))
