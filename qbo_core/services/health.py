"""Health: what this process saw of each realm, the state it adds up to, alerts, and the
idle-connection refresher.

- `HealthRecorder` is an `EventSink`: put it in the host's event fan-out (the container's
  `FanOutEventSink`, `QBO.add_event_sink`) and it keeps, per realm, a sliding window
  (default 15 minutes, in one-minute buckets, so memory stays bounded) of the data-API
  exchanges the raw client reported (`http.request`) and the refreshes the auth service
  reported (`token.refreshed`, `token.refresh_failed`). It is per process: in a fleet,
  each worker reports what it saw, and a host that wants one picture adds them up.
- `QBOHealthMonitor` turns that, the connection's token facts (`QBOAuthService.status`)
  and a ping of each adapter in use into a `BusinessHealth`: a `HealthState`, the reasons
  for it, and the realm's active alerts. `check` first probes QBO with a CompanyInfo read
  that bypasses the cache. `refresh_idle` refreshes connections whose rolling refresh
  expiry comes near, so that a company nobody syncs does not silently expire.

How an `http.request` is counted (by its `error` class name, else its `status`):

- 2xx / 3xx without an error: a success;
- 429, `ThrottledError`: a throttle (not an error);
- 401 / 403, an `AuthenticationError`: an authentication failure (not an error);
- a `ValidationError` (stale SyncToken, duplicate name, bad query, not found, ...): a
  client error, the caller's request and not the connection's; QBO answered, so it is
  also a success for "last success";
- 5xx, `ServerError`, a `TransportError`, a `DecodeError` (undecodable, truncated, too
  large), and any other class name (a bug is not a success): an error;
- `CancelledError`: nothing (the caller gave up; QBO said nothing).

The error and throttle rates are per request in the window (errors / requests).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import math
import re
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import attrs

from qbo_core import events
from qbo_core.dtos import (
    AdapterHealth,
    AlertSeverity,
    BusinessHealth,
    ConnectionState,
    ConnectionStatus,
    HealthAlert,
    HealthState,
    QBOEvent,
    RealmStats,
    RefreshOutcome,
)
from qbo_core.errors import (
    AuthenticationError,
    QBOError,
    ThrottledError,
    ValidationError,
)
from qbo_core.ports.clock import Clock
from qbo_core.ports.event_sink import EventSink
from qbo_core.redaction import redact_truncated
from qbo_core.services.auth import QBOAuthService
from qbo_core.services.smart_sync import SmartSyncService

__all__ = ["HealthRecorder", "HealthThresholds", "Pingable", "QBOHealthMonitor"]

_REALM_ID = re.compile(r"[0-9]{1,32}")
_MAX_TEXT = 300
_CREDENTIALS_IN_URL = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/@\s]*@")

#: Alert names (stable: hosts route and silence on them).
HARD_EXPIRY_30D = "hard_expiry_30d"
HARD_EXPIRY_7D = "hard_expiry_7d"
REFRESH_EXPIRY_NEAR = "refresh_expiry_near"
AUTH_FAILURES = "auth_failures"
THROTTLE_RATE = "throttle_rate"
ERROR_RATE = "error_rate"
NO_SUCCESS = "no_success"

_USABLE = (ConnectionState.CONNECTED, ConnectionState.EXPIRING)
_DEAD = (
    ConnectionState.NEEDS_REAUTHORIZATION,
    ConnectionState.REVOKED,
    ConnectionState.DISCONNECTED,
)


# --------------------------------------------------------------------- the adapters' seam


@runtime_checkable
class Pingable(Protocol):
    """Anything the monitor can ask whether it is reachable (a store, a cache, a lock).

    `ping` returns when the backend answered and raises (anything) when it did not; the
    monitor bounds it with its own timeout, so it need not.
    """

    async def ping(self) -> None: ...


# --------------------------------------------------------------------- thresholds


def _positive_delta(_: object, attribute: Any, value: timedelta) -> None:
    if not value > timedelta(0):
        raise ValueError(f"{attribute.name} must be a positive timedelta, got {value!r}")


def _rate(_: object, attribute: Any, value: float) -> None:
    if not (math.isfinite(value) and 0.0 < value <= 1.0):
        raise ValueError(f"{attribute.name} must be a rate in (0, 1], got {value!r}")


@attrs.frozen(kw_only=True)
class HealthThresholds:
    """Every threshold of the health states and alerts, with their defaults.

    - `min_requests` (5): rates are judged only over at least this many requests in the
      window (one failed request out of one is not a 100 % error rate worth waking for);
    - `error_rate_degraded` (0.05) / `error_rate_unhealthy` (0.25): the error rate that
      makes a realm DEGRADED / UNHEALTHY (the `error_rate` alert at the latter);
    - `throttle_rate` (0.10): the share of 429s that makes it DEGRADED (and alerts);
    - `p95_latency_ms` (5000): a p95 above it makes it DEGRADED;
    - `no_success_for` (10 min): requests in the window but no success for longer than
      this (since the recorder started watching the realm): UNHEALTHY, `no_success` alert;
    - `hard_expiry_warning` (30 days) / `hard_expiry_critical` (7 days): the 5-year hard
      expiry that close raises `hard_expiry_30d` (warning; also DEGRADED) / `hard_expiry_7d`
      (critical), Intuit's own T-30 and T-7 notices;
    - `refresh_expiry_within` (14 days): the rolling refresh expiry that close raises
      `refresh_expiry_near` (the connection has been idle for about 86 days: any refresh
      more than a day after the last rotation would have reset it to 100 days);
    - `auth_failures` (3): that many consecutive authentication failures (failed refreshes,
      401/403 answers, with no success or refresh between) raise `auth_failures` and make
      the realm DEGRADED.
    """

    min_requests: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    error_rate_degraded: float = attrs.field(default=0.05, validator=_rate)
    error_rate_unhealthy: float = attrs.field(default=0.25, validator=_rate)
    throttle_rate: float = attrs.field(default=0.10, validator=_rate)
    p95_latency_ms: float = attrs.field(default=5000.0, validator=attrs.validators.gt(0))
    no_success_for: timedelta = attrs.field(
        default=timedelta(minutes=10), validator=_positive_delta
    )
    hard_expiry_warning: timedelta = attrs.field(
        default=timedelta(days=30), validator=_positive_delta
    )
    hard_expiry_critical: timedelta = attrs.field(
        default=timedelta(days=7), validator=_positive_delta
    )
    refresh_expiry_within: timedelta = attrs.field(
        default=timedelta(days=14), validator=_positive_delta
    )
    auth_failures: int = attrs.field(default=3, validator=attrs.validators.ge(1))

    def __attrs_post_init__(self) -> None:
        if self.error_rate_degraded > self.error_rate_unhealthy:
            raise ValueError("error_rate_degraded must not be above error_rate_unhealthy")
        if self.hard_expiry_critical > self.hard_expiry_warning:
            raise ValueError("hard_expiry_critical must not be further than hard_expiry_warning")


# --------------------------------------------------------------------- the recorder


class _Kind(enum.Enum):
    SUCCESS = "success"
    CLIENT_ERROR = "client_error"
    THROTTLE = "throttle"
    AUTH = "auth"
    ERROR = "error"


@functools.cache
def _error_classes() -> Mapping[str, type[QBOError]]:
    """Every class of the error tree, by name (events carry the name only)."""
    found: dict[str, type[QBOError]] = {}
    pending: list[type[QBOError]] = [QBOError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.__name__, cls)
        pending.extend(cls.__subclasses__())
    return found


def _classify(status: object, error: object) -> _Kind | None:
    """What one `http.request` counts as (see the module docstring); `None`: not counted."""
    code = status if isinstance(status, int) and not isinstance(status, bool) else None
    if error is None:
        if code is None:
            return _Kind.ERROR
        if code == 429:
            return _Kind.THROTTLE
        if code in (401, 403):
            return _Kind.AUTH
        if code < 400:
            return _Kind.SUCCESS
        return _Kind.CLIENT_ERROR if code < 500 else _Kind.ERROR
    if error == "CancelledError":
        return None
    cls = _error_classes().get(str(error))
    if code == 429 or (cls is not None and issubclass(cls, ThrottledError)):
        return _Kind.THROTTLE
    if cls is not None and issubclass(cls, AuthenticationError):
        return _Kind.AUTH
    if cls is not None and issubclass(cls, ValidationError):
        return _Kind.CLIENT_ERROR
    return _Kind.ERROR


@attrs.define
class _Bucket:
    index: int
    requests: int = 0
    errors: int = 0
    client_errors: int = 0
    throttles: int = 0
    auth_failures: int = 0
    latencies: list[float] = attrs.Factory(list)
    sampled: int = 0


@attrs.define
class _Realm:
    buckets: deque[_Bucket]
    watching_since: datetime
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_failure_error: str | None = None
    last_refresh_at: datetime | None = None
    consecutive_auth_failures: int = 0


def _percentile(ordered: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile of sorted samples (`None` without samples)."""
    if not ordered:
        return None
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


class HealthRecorder:
    """An `EventSink` keeping a sliding window of each realm's traffic (see the module).

    `window` (15 minutes) is cut into buckets of `bucket_seconds` (60) on the clock's
    monotonic time, so the window moves by whole buckets and memory per realm is bounded
    (at most window / bucket buckets, each keeping at most `max_samples` latencies: past
    that, newer samples overwrite older ones in turn). Last success, last failure, last
    refresh and consecutive authentication failures are kept outside the window.

    `emit` is synchronous, does no I/O and never raises (an event it cannot read is
    counted in `dropped`). What it keeps is this process's view only.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        window: timedelta = timedelta(minutes=15),
        bucket_seconds: float = 60.0,
        max_samples: int = 256,
    ) -> None:
        if not (math.isfinite(bucket_seconds) and bucket_seconds > 0):
            raise ValueError(f"bucket_seconds must be > 0, got {bucket_seconds!r}")
        if window.total_seconds() < bucket_seconds:
            raise ValueError("window must hold at least one bucket")
        if max_samples < 1:
            raise ValueError(f"max_samples must be at least 1, got {max_samples!r}")
        self._clock = clock
        self._window = window
        self._bucket_seconds = bucket_seconds
        self._buckets = math.ceil(window.total_seconds() / bucket_seconds)
        self._max_samples = max_samples
        self._realms: dict[str, _Realm] = {}
        self.dropped = 0

    @property
    def window(self) -> timedelta:
        return self._window

    def realm_ids(self) -> tuple[str, ...]:
        """The realms seen so far, sorted."""
        return tuple(sorted(self._realms))

    def forget(self, realm_id: str) -> None:
        """Drop everything kept for `realm_id` (a disconnected company)."""
        self._realms.pop(realm_id, None)

    # ----------------------------------------------------------------- EventSink

    def emit(self, event: QBOEvent) -> None:
        try:
            self._record(event)
        except Exception:
            self.dropped += 1

    def _record(self, event: QBOEvent) -> None:
        if event.realm_id is None:
            return
        if event.kind == events.HTTP_REQUEST:
            self._request(event)
        elif event.kind == events.TOKEN_REFRESHED:
            realm = self._realm(event.realm_id)
            realm.last_refresh_at = event.at
            realm.consecutive_auth_failures = 0
        elif event.kind == events.TOKEN_REFRESH_FAILED:
            realm = self._realm(event.realm_id)
            realm.consecutive_auth_failures += 1
            realm.last_failure_at = event.at
            realm.last_failure_error = _name(event.attributes.get("error"))

    def _request(self, event: QBOEvent) -> None:
        assert event.realm_id is not None
        attributes = event.attributes
        kind = _classify(attributes.get("status"), attributes.get("error"))
        if kind is None:
            return
        # Read all of the event before keeping any of it: one it cannot read is dropped whole.
        latency = _latency(attributes.get("duration_ms"))
        failure = _name(attributes.get("error")) or f"HTTP {attributes['status']}"
        realm = self._realm(event.realm_id)
        bucket = self._current(realm)
        bucket.requests += 1
        if latency is not None:
            if len(bucket.latencies) < self._max_samples:
                bucket.latencies.append(latency)
            else:
                bucket.latencies[bucket.sampled % self._max_samples] = latency
            bucket.sampled += 1
        if kind in (_Kind.SUCCESS, _Kind.CLIENT_ERROR):
            realm.last_success_at = event.at
            realm.consecutive_auth_failures = 0
            bucket.client_errors += kind is _Kind.CLIENT_ERROR
            return
        realm.last_failure_at = event.at
        realm.last_failure_error = failure
        if kind is _Kind.THROTTLE:
            bucket.throttles += 1
        elif kind is _Kind.AUTH:
            bucket.auth_failures += 1
            realm.consecutive_auth_failures += 1
        else:
            bucket.errors += 1

    def record_probe(self, realm_id: str, *, error: str | None) -> None:
        """Record a health probe's outcome (`error`: the failure's class name, or `None`).

        Only the last success / failure move: the probe's HTTP exchange, if it made one,
        is counted from its `http.request` event like any other.
        """
        realm = self._realm(realm_id)
        now = self._clock.now()
        if error is None:
            realm.last_success_at = now
        else:
            realm.last_failure_at, realm.last_failure_error = now, error

    # ----------------------------------------------------------------- reading

    def snapshot(self, realm_id: str) -> RealmStats:
        """What was seen of `realm_id` in the window (zeros for a realm never seen)."""
        window = self._window.total_seconds()
        realm = self._realms.get(realm_id)
        if realm is None:
            return RealmStats(realm_id=realm_id, window_seconds=window)
        self._prune(realm)
        samples = sorted(value for bucket in realm.buckets for value in bucket.latencies)
        return RealmStats(
            realm_id=realm_id,
            window_seconds=window,
            requests=sum(bucket.requests for bucket in realm.buckets),
            errors=sum(bucket.errors for bucket in realm.buckets),
            client_errors=sum(bucket.client_errors for bucket in realm.buckets),
            throttles=sum(bucket.throttles for bucket in realm.buckets),
            auth_failures=sum(bucket.auth_failures for bucket in realm.buckets),
            p50_latency_ms=_percentile(samples, 0.50),
            p95_latency_ms=_percentile(samples, 0.95),
            last_success_at=realm.last_success_at,
            last_failure_at=realm.last_failure_at,
            last_failure_error=realm.last_failure_error,
            last_refresh_at=realm.last_refresh_at,
            consecutive_auth_failures=realm.consecutive_auth_failures,
            watching_since=realm.watching_since,
        )

    def _realm(self, realm_id: str) -> _Realm:
        realm = self._realms.get(realm_id)
        if realm is None:
            realm = _Realm(buckets=deque(), watching_since=self._clock.now())
            self._realms[realm_id] = realm
        return realm

    def _index(self) -> int:
        return math.floor(self._clock.monotonic() / self._bucket_seconds)

    def _prune(self, realm: _Realm) -> None:
        oldest = self._index() - self._buckets + 1
        while realm.buckets and realm.buckets[0].index < oldest:
            realm.buckets.popleft()

    def _current(self, realm: _Realm) -> _Bucket:
        self._prune(realm)
        index = self._index()
        if not realm.buckets or realm.buckets[-1].index != index:
            realm.buckets.append(_Bucket(index=index))
        return realm.buckets[-1]

    def __repr__(self) -> str:
        return f"HealthRecorder(realms={len(self._realms)}, dropped={self.dropped})"


def _name(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _latency(value: object) -> float | None:
    """A duration in milliseconds as a sample, or `None` when it is not one (negative, not
    finite, not a number); `OverflowError` for an integer too large for a float."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    milliseconds = float(value)
    return milliseconds if math.isfinite(milliseconds) and milliseconds >= 0 else None


# --------------------------------------------------------------------- the monitor


def _describe(error: BaseException) -> str:
    """A failure as short text with no secret (tokens and URL credentials masked)."""
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return redact_truncated(_CREDENTIALS_IN_URL.sub(r"\1<redacted>@", text), _MAX_TEXT)


def _days(delta: timedelta) -> str:
    days = delta.total_seconds() / 86_400
    return "less than a day" if days < 1 else _count(math.floor(days), "day")


def _count(number: float, unit: str) -> str:
    """`1 day`, `2 days`, `1.5 days`."""
    return f"{number:g} {unit}" if number == 1 else f"{number:g} {unit}s"


class QBOHealthMonitor:
    """A business's QBO connection health, its alerts, and the idle-connection refresher.

    `auth` gives the token facts (`status`) and refreshes; `recorder` is the
    `HealthRecorder` that hosts put in their event fan-out; `probes` the adapters in use,
    by name, each `Pingable` (pinged concurrently, each bounded by `ping_timeout` seconds,
    default 2); `events` receives the alert and refresher events; `thresholds` the
    `HealthThresholds`.

    The state, worst first (every reason found is listed, whatever the state):

    - NEEDS_REAUTHORIZATION: no realm known for the business, or the connection is
      needs_reauthorization, revoked or disconnected (`QBOAuthService.status`);
    - UNHEALTHY: an adapter is down (its ping raised or timed out), the token store could
      not be read, the error rate is at least `error_rate_unhealthy`, or there were
      requests but no success for longer than `no_success_for`;
    - DEGRADED: the throttle rate is at least `throttle_rate`, the error rate at least
      `error_rate_degraded`, the hard expiry within `hard_expiry_warning`, the connection
      EXPIRING, the p95 latency above `p95_latency_ms`, or `auth_failures` consecutive
      authentication failures;
    - HEALTHY otherwise. Rates need `min_requests` requests in the window.

    Alerts (names stable; see `HealthThresholds` for the defaults): `hard_expiry_30d`
    (warning), `hard_expiry_7d` (critical), `refresh_expiry_near` (warning),
    `auth_failures` (critical), `throttle_rate` (warning), `error_rate` (critical),
    `no_success` (critical). The monitor keeps each realm's active alerts (in this
    process): an evaluation emits `health.alert.raised` once when a condition starts and
    `health.alert.cleared` once when it ends, never again while it stays. Token alerts
    apply to usable connections (a dead one clears them: its state says it all); when the
    token store cannot be read, they stay as they were.

    Nothing here raises for a failing backend or connection: it is reported.
    """

    def __init__(
        self,
        *,
        auth: QBOAuthService,
        recorder: HealthRecorder,
        clock: Clock,
        events: EventSink,
        probes: Mapping[str, Pingable] | None = None,
        thresholds: HealthThresholds | None = None,
        ping_timeout: float = 2.0,
    ) -> None:
        if not (math.isfinite(ping_timeout) and ping_timeout > 0):
            raise ValueError(f"ping_timeout must be > 0 seconds, got {ping_timeout!r}")
        self._auth = auth
        self._recorder = recorder
        self._clock = clock
        self._events = events
        self._probes: dict[str, Pingable] = dict(probes or {})
        self._thresholds = thresholds if thresholds is not None else HealthThresholds()
        self._ping_timeout = ping_timeout
        self._active: dict[str, dict[str, HealthAlert]] = {}
        self._businesses: dict[str, str] = {}

    @property
    def thresholds(self) -> HealthThresholds:
        return self._thresholds

    @property
    def recorder(self) -> HealthRecorder:
        return self._recorder

    def __repr__(self) -> str:
        return f"QBOHealthMonitor(probes={sorted(self._probes)!r})"

    def active_alerts(self, realm_id: str) -> tuple[HealthAlert, ...]:
        """The realm's active alerts, by name (as of the last evaluation)."""
        return tuple(sorted(self._active.get(realm_id, {}).values(), key=lambda a: a.name))

    # ----------------------------------------------------------------- health

    async def get_business_health_details(
        self,
        business_id: str,
        business_name: str | None = None,
        integration_details: Mapping[str, Any] | None = None,
        *,
        realm_id: str | None = None,
    ) -> BusinessHealth:
        """The business's connection health, from what is known now (QBO is not called).

        `business_name` defaults to "Unknown" and `integration_details` to `{}`; both come
        back unchanged. The realm is `realm_id`, else `integration_details["realm_id"]`;
        with neither (or one that is not a QBO company id) the answer is
        NEEDS_REAUTHORIZATION with that reason. Adapters are pinged, the realm's alerts
        evaluated (raised / cleared events emitted). Never raises for a failing backend.
        """
        name = business_name if business_name is not None else "Unknown"
        details: Mapping[str, Any] = integration_details if integration_details is not None else {}
        realm, why = _realm_of(realm_id, details)
        adapters = await self._ping_all()
        reasons: list[tuple[HealthState, str]] = [
            (HealthState.UNHEALTHY, f"adapter {key} is down: {adapter.error}")
            for key, adapter in sorted(adapters.items())
            if not adapter.up
        ]
        now = self._clock.now()
        if realm is None:
            reasons.insert(0, (HealthState.NEEDS_REAUTHORIZATION, why))
            return BusinessHealth(
                business_id=business_id,
                business_name=name,
                integration_details=details,
                state=_worst(reasons),
                reasons=tuple(reason for _, reason in reasons),
                checked_at=now,
                adapters=adapters,
            )
        status, failure = await self._status(realm)
        stats = self._recorder.snapshot(realm)
        self._businesses[realm] = business_id  # after the await: the events name this business
        alerts = self._update_alerts(realm, status, stats)
        if failure is not None:
            reasons.append((HealthState.UNHEALTHY, f"token store unreachable: {failure}"))
        reasons.extend(self._judge(status, stats, now))
        return BusinessHealth(
            business_id=business_id,
            business_name=name,
            integration_details=details,
            realm_id=realm,
            state=_worst(reasons),
            reasons=tuple(reason for _, reason in sorted(reasons, key=_severity_first)),
            checked_at=now,
            connection=None if status is None else status.state,
            access_token_expires_at=None if status is None else status.access_token_expires_at,
            refresh_token_expires_at=None if status is None else status.refresh_token_expires_at,
            refresh_token_hard_expires_at=(
                None if status is None else status.refresh_token_hard_expires_at
            ),
            last_success_at=stats.last_success_at,
            last_failure_at=stats.last_failure_at,
            last_failure_error=stats.last_failure_error,
            request_count=stats.requests,
            error_rate=stats.error_rate,
            throttle_rate=stats.throttle_rate,
            p50_latency_ms=stats.p50_latency_ms,
            p95_latency_ms=stats.p95_latency_ms,
            alerts=alerts,
            adapters=adapters,
        )

    async def check(
        self,
        business_id: str,
        realm_id: str,
        smart_sync: SmartSyncService,
        *,
        business_name: str | None = None,
        integration_details: Mapping[str, Any] | None = None,
    ) -> BusinessHealth:
        """Probe QBO for the realm, record the outcome, then return the health details.

        The probe is a CompanyInfo read through `smart_sync` (the realm's own, with its
        limiter, token and retries) that bypasses the cache (`company_info(fresh=True)`),
        so it reaches QBO every time. Its failure is recorded, never raised.
        `ValueError` when `smart_sync` is for another realm.
        """
        if smart_sync.realm_id != realm_id:
            raise ValueError(f"smart_sync is for QBO company {smart_sync.realm_id}, not {realm_id}")
        try:
            await smart_sync.company_info(fresh=True)
        except Exception as exc:
            self._recorder.record_probe(realm_id, error=type(exc).__name__)
        else:
            self._recorder.record_probe(realm_id, error=None)
        return await self.get_business_health_details(
            business_id, business_name, integration_details, realm_id=realm_id
        )

    async def evaluate(self, realm_id: str) -> tuple[HealthAlert, ...]:
        """Evaluate the realm's alerts now (events for those that start or end); the
        active ones, by name. Adapters are not pinged; never raises for a failing store."""
        status, _ = await self._status(realm_id)
        stats = self._recorder.snapshot(realm_id)
        return self._update_alerts(realm_id, status, stats)

    # ----------------------------------------------------------------- refresher

    async def refresh_idle(
        self, realm_ids: Iterable[str], *, within: timedelta = timedelta(days=14)
    ) -> Mapping[str, RefreshOutcome]:
        """Refresh every realm whose rolling refresh expiry is within `within`.

        Run it daily (a cron job, a scheduler) over the connected realms: a company that
        nobody syncs would otherwise lose its connection when the refresh token's 100-day
        rolling expiry passes. Each refresh goes through `QBOAuthService.refresh` (single
        flight, the lock, save before use). A realm whose expiry is further away is left
        alone (`due=False`); one whose connection is dead or unreadable is tried anyway,
        so that its failure is reported. Failures are in the result, per realm, and
        emitted (`health.refresh_failed`), never raised.
        """
        outcomes: dict[str, RefreshOutcome] = {}
        for realm_id in realm_ids:
            outcomes[realm_id] = await self._refresh_one(realm_id, within)
        return outcomes

    async def _refresh_one(self, realm_id: str, within: timedelta) -> RefreshOutcome:
        before: datetime | None = None
        try:
            status = await self._auth.status(realm_id)
            before = status.refresh_token_expires_at
            if (
                status.state in _USABLE
                and before is not None
                and before - self._clock.now() > within
            ):
                return RefreshOutcome(
                    realm_id=realm_id,
                    due=False,
                    refreshed=False,
                    refresh_token_expires_before=before,
                    refresh_token_expires_after=before,
                )
            after = await self._auth.refresh(realm_id)
        except Exception as exc:
            message = _describe(exc)
            self._emit(
                events.IDLE_REFRESH_FAILED,
                realm_id,
                error=type(exc).__name__,
                message=message,
            )
            return RefreshOutcome(
                realm_id=realm_id,
                due=True,
                refreshed=False,
                error=type(exc).__name__,
                message=message,
                refresh_token_expires_before=before,
            )
        return RefreshOutcome(
            realm_id=realm_id,
            due=True,
            refreshed=True,
            refresh_token_expires_before=before,
            refresh_token_expires_after=after.refresh_token_expires_at,
        )

    # ----------------------------------------------------------------- internals

    async def _status(self, realm_id: str) -> tuple[ConnectionStatus | None, str | None]:
        try:
            return await self._auth.status(realm_id), None
        except Exception as exc:
            return None, _describe(exc)

    async def _ping_all(self) -> dict[str, AdapterHealth]:
        names = sorted(self._probes)
        answers = await asyncio.gather(*(self._ping(name, self._probes[name]) for name in names))
        return {adapter.name: adapter for adapter in answers}

    async def _ping(self, name: str, probe: Pingable) -> AdapterHealth:
        started = self._clock.monotonic()
        try:
            await asyncio.wait_for(probe.ping(), timeout=self._ping_timeout)
        except TimeoutError:
            return AdapterHealth(
                name=name, up=False, error=f"no answer within {self._ping_timeout:g} s"
            )
        except Exception as exc:
            return AdapterHealth(
                name=name, up=False, error=_describe(exc), round_trip_ms=self._since(started)
            )
        return AdapterHealth(name=name, up=True, round_trip_ms=self._since(started))

    def _since(self, started: float) -> float:
        return round((self._clock.monotonic() - started) * 1000, 3)

    def _judge(
        self, status: ConnectionStatus | None, stats: RealmStats, now: datetime
    ) -> list[tuple[HealthState, str]]:
        limits = self._thresholds
        found: list[tuple[HealthState, str]] = []
        if status is not None:
            if status.state in _DEAD:
                found.append(
                    (
                        HealthState.NEEDS_REAUTHORIZATION,
                        f"the connection is {status.state.value}: the user must connect again",
                    )
                )
            elif status.state is ConnectionState.EXPIRING:
                found.append((HealthState.DEGRADED, "the refresh token expires soon"))
            hard = status.refresh_token_hard_expires_at
            if (
                status.state in _USABLE
                and hard is not None
                and hard - now <= limits.hard_expiry_warning
            ):
                found.append(
                    (
                        HealthState.DEGRADED,
                        f"the 5-year hard expiry is in {_days(hard - now)}: reconnect before it",
                    )
                )
        rated = stats.requests >= limits.min_requests
        if rated and stats.error_rate >= limits.error_rate_unhealthy:
            found.append((HealthState.UNHEALTHY, f"error rate {stats.error_rate:.0%}"))
        elif rated and stats.error_rate >= limits.error_rate_degraded:
            found.append((HealthState.DEGRADED, f"error rate {stats.error_rate:.0%}"))
        if self._no_success(stats, now):
            found.append(
                (HealthState.UNHEALTHY, f"no success for over {_span(limits.no_success_for)}")
            )
        if rated and stats.throttle_rate >= limits.throttle_rate:
            found.append((HealthState.DEGRADED, f"throttle rate {stats.throttle_rate:.0%}"))
        p95 = stats.p95_latency_ms
        if p95 is not None and p95 > limits.p95_latency_ms:
            found.append((HealthState.DEGRADED, f"p95 latency {p95:.0f} ms"))
        if stats.consecutive_auth_failures >= limits.auth_failures:
            found.append(
                (
                    HealthState.DEGRADED,
                    f"{stats.consecutive_auth_failures} authentication failures in a row",
                )
            )
        return found

    def _no_success(self, stats: RealmStats, now: datetime) -> bool:
        if stats.requests == 0:
            return False
        since = stats.last_success_at or stats.watching_since
        return since is not None and now - since > self._thresholds.no_success_for

    def _conditions(
        self, status: ConnectionStatus | None, stats: RealmStats, now: datetime
    ) -> dict[str, tuple[AlertSeverity, str] | None]:
        """Each alert whose data is known: its severity and message, or `None` (off)."""
        limits = self._thresholds
        found: dict[str, tuple[AlertSeverity, str] | None] = {}
        if status is not None:
            usable = status.state in _USABLE
            hard = status.refresh_token_hard_expires_at
            left = None if hard is None or not usable else hard - now
            found[HARD_EXPIRY_30D] = (
                (
                    AlertSeverity.WARNING,
                    f"the connection's 5-year hard expiry is in {_days(left)}: "
                    "ask the user to reconnect",
                )
                if left is not None and left <= limits.hard_expiry_warning
                else None
            )
            found[HARD_EXPIRY_7D] = (
                (
                    AlertSeverity.CRITICAL,
                    f"the connection's 5-year hard expiry is in {_days(left)}: "
                    "it stops working then unless the user reconnects",
                )
                if left is not None and left <= limits.hard_expiry_critical
                else None
            )
            rolling = status.refresh_token_expires_at
            idle = None if rolling is None or not usable else rolling - now
            found[REFRESH_EXPIRY_NEAR] = (
                (
                    AlertSeverity.WARNING,
                    f"the refresh token expires in {_days(idle)} (an idle connection): "
                    "run refresh_idle",
                )
                if idle is not None and idle <= limits.refresh_expiry_within
                else None
            )
        found[AUTH_FAILURES] = (
            (
                AlertSeverity.CRITICAL,
                f"{stats.consecutive_auth_failures} authentication failures in a row "
                f"(last: {stats.last_failure_error})",
            )
            if stats.consecutive_auth_failures >= limits.auth_failures
            else None
        )
        rated = stats.requests >= limits.min_requests
        found[THROTTLE_RATE] = (
            (
                AlertSeverity.WARNING,
                f"{stats.throttle_rate:.0%} of {stats.requests} requests throttled (429)",
            )
            if rated and stats.throttle_rate >= limits.throttle_rate
            else None
        )
        found[ERROR_RATE] = (
            (
                AlertSeverity.CRITICAL,
                f"{stats.error_rate:.0%} of {stats.requests} requests failed "
                f"(last: {stats.last_failure_error})",
            )
            if rated and stats.error_rate >= limits.error_rate_unhealthy
            else None
        )
        found[NO_SUCCESS] = (
            (
                AlertSeverity.CRITICAL,
                f"no successful request for over {_span(limits.no_success_for)} "
                f"(last failure: {stats.last_failure_error})",
            )
            if self._no_success(stats, now)
            else None
        )
        return found

    def _update_alerts(
        self,
        realm_id: str,
        status: ConnectionStatus | None,
        stats: RealmStats,
    ) -> tuple[HealthAlert, ...]:
        """Raise the alerts that started, clear those that ended (no await: atomic)."""
        now = self._clock.now()
        active = self._active.setdefault(realm_id, {})
        for name, condition in self._conditions(status, stats, now).items():
            current = active.get(name)
            if condition is not None and current is None:
                severity, message = condition
                alert = HealthAlert(
                    name=name, severity=severity, realm_id=realm_id, message=message, since=now
                )
                active[name] = alert
                self._emit_alert(events.ALERT_RAISED, alert)
            elif condition is None and current is not None:
                del active[name]
                self._emit_alert(events.ALERT_CLEARED, current)
        return self.active_alerts(realm_id)

    def _emit_alert(self, kind: str, alert: HealthAlert) -> None:
        self._emit(
            kind,
            alert.realm_id,
            alert=alert.name,
            severity=alert.severity.value,
            message=alert.message,
        )

    def _emit(self, kind: str, realm_id: str, **attributes: object) -> None:
        """Emit an event for the realm, naming the business last checked for it."""
        with contextlib.suppress(Exception):  # a sink must not raise; if it does, go on
            self._events.emit(
                QBOEvent(
                    kind=kind,
                    at=self._clock.now(),
                    realm_id=realm_id,
                    business_id=self._businesses.get(realm_id),
                    attributes=attributes,
                )
            )


def _realm_of(realm_id: str | None, details: Mapping[str, Any]) -> tuple[str | None, str]:
    """The realm to report on, or `None` and why not."""
    chosen = realm_id if realm_id is not None else details.get("realm_id")
    if chosen is None or chosen == "":
        return None, "no realm_id: the business is not connected to QBO"
    if not isinstance(chosen, str) or _REALM_ID.fullmatch(chosen) is None:
        return None, "the realm_id given is not a QBO company id: connect the business again"
    return chosen, ""


_ORDER = {
    HealthState.NEEDS_REAUTHORIZATION: 0,
    HealthState.UNHEALTHY: 1,
    HealthState.DEGRADED: 2,
    HealthState.HEALTHY: 3,
}


def _worst(reasons: Iterable[tuple[HealthState, str]]) -> HealthState:
    return min((state for state, _ in reasons), key=_ORDER.__getitem__, default=HealthState.HEALTHY)


def _severity_first(reason: tuple[HealthState, str]) -> int:
    return _ORDER[reason[0]]


def _span(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds >= 86_400 and seconds % 86_400 == 0:
        return _count(seconds / 86_400, "day")
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"
