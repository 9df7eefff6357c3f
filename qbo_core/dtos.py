"""Data carried between the services, the ports and the host application.

Frozen, keyword-only attrs classes with no serialization logic: the one cattrs
converter in `qbo_core.converter` owns (un)structuring. Credentials are kept out
of every `repr`. Datetimes are always timezone-aware UTC.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Literal

import attrs

__all__ = [
    "AdapterHealth",
    "AlertSeverity",
    "BusinessHealth",
    "ConnectionRequest",
    "ConnectionState",
    "ConnectionStatus",
    "EntitySummary",
    "HealthAlert",
    "HealthState",
    "IntegrationStatus",
    "MirrorProgress",
    "QBOEvent",
    "QBOIntegrationDTO",
    "RateLimit",
    "RealmAuth",
    "RealmStats",
    "RefreshOutcome",
    "SlotLease",
    "SyncCursor",
    "SyncPhase",
    "SyncPosition",
    "SyncProgress",
    "SyncReport",
    "TokenSet",
    "VersionedTokenSet",
    "WebhookEvent",
    "WebhookFormat",
]


def _aware(_: object, attribute: Any, value: Any) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{attribute.name} must be timezone-aware, got naive {value!r}")


def _non_empty(_: object, attribute: Any, value: str) -> None:
    if not value:
        raise ValueError(f"{attribute.name} must not be empty")


@attrs.frozen(kw_only=True)
class TokenSet:
    """The OAuth 2 tokens of one QBO connection and when each stops working.

    `refresh_token_hard_expires_at` is the 5-year cap Intuit reports when asked
    (`x_refresh_token_hard_expires_in`); `None` when it was not reported.
    Neither token ever appears in `repr`.

    The auth service never deletes tokens it can no longer use; it marks them, so
    nothing stored is lost and the connection's state survives restarts:
    `reauthorization_required_at` is when Intuit answered `invalid_grant` with no
    newer tokens stored (the user must connect again), `revoked_at` when the grant
    was revoked through the service. Both `None` for a working connection.
    """

    access_token: str = attrs.field(repr=False, validator=_non_empty)
    refresh_token: str = attrs.field(repr=False, validator=_non_empty)
    access_token_expires_at: datetime = attrs.field(validator=_aware)
    refresh_token_expires_at: datetime = attrs.field(validator=_aware)
    refresh_token_hard_expires_at: datetime | None = attrs.field(default=None, validator=_aware)
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    scope: str | None = None
    realm_id: str | None = None
    reauthorization_required_at: datetime | None = attrs.field(default=None, validator=_aware)
    revoked_at: datetime | None = attrs.field(default=None, validator=_aware)

    @property
    def usable(self) -> bool:
        """Whether these tokens are not marked dead (revoked, or needing reauthorization)."""
        return self.reauthorization_required_at is None and self.revoked_at is None

    def access_token_expires_within(self, now: datetime, margin: timedelta) -> bool:
        """Whether the access token is expired at `now`, or will be within `margin`."""
        return self.access_token_expires_at - margin <= now

    def refresh_token_expired(self, now: datetime) -> bool:
        """Whether the refresh token can no longer be used at `now` (rolling or hard expiry)."""
        if (
            self.refresh_token_hard_expires_at is not None
            and self.refresh_token_hard_expires_at <= now
        ):
            return True
        return self.refresh_token_expires_at <= now


_REALM_ID = re.compile(r"[0-9]{1,32}")
_TOKEN = re.compile(r"[\x21-\x7e]+")  # visible ASCII: nothing that could break a header


def _realm(_: object, attribute: Any, value: str) -> None:
    if not isinstance(value, str) or _REALM_ID.fullmatch(value) is None:
        raise ValueError(f"{attribute.name} must be the numeric QBO company id, got {value!r}")


def _token(_: object, attribute: Any, value: str) -> None:
    if not isinstance(value, str) or _TOKEN.fullmatch(value) is None:
        raise ValueError(f"{attribute.name} must be a non-empty token of visible ASCII characters")


@attrs.frozen(kw_only=True)
class RealmAuth:
    """Which company to talk to and the access token to do it with (never in `repr`).

    The input of every `QBORawClient` call: one client serves every connected company.
    """

    realm_id: str = attrs.field(validator=_realm)
    access_token: str = attrs.field(repr=False, validator=_token)


@attrs.frozen(kw_only=True)
class VersionedTokenSet:
    """A `TokenSet` as a `TokenStore` holds it: with the version a compare-and-set needs.

    Versions start at 1 and grow by one with every successful save.
    """

    tokens: TokenSet
    version: int


class IntegrationStatus(enum.Enum):
    """Where a business's QBO connection stands."""

    PENDING = "pending"  # authorization started, not yet completed
    CONNECTED = "connected"
    NEEDS_REAUTHORIZATION = "needs_reauthorization"  # refresh token dead; the user must reconnect
    DISCONNECTED = "disconnected"  # the business (or QBO) ended the connection
    ERROR = "error"


class ConnectionState(enum.Enum):
    """Where a realm's OAuth connection stands, as `QBOAuthService.status` reports it."""

    CONNECTED = "connected"  # tokens stored and usable
    EXPIRING = "expiring"  # usable, but the refresh token's rolling or hard expiry is near
    NEEDS_REAUTHORIZATION = "needs_reauthorization"  # refresh token dead: the user must reconnect
    REVOKED = "revoked"  # the grant was revoked through the service; tokens kept, unusable
    DISCONNECTED = "disconnected"  # no tokens stored for the realm


@attrs.frozen(kw_only=True)
class ConnectionStatus:
    """A realm's connection state and the expiries behind it (never a token).

    The expiry fields are `None` when nothing is stored (or Intuit did not report the
    hard expiry). `since` is when the state was recorded, for the revoked and
    needs-reauthorization states only.
    """

    realm_id: str
    state: ConnectionState
    access_token_expires_at: datetime | None = attrs.field(default=None, validator=_aware)
    refresh_token_expires_at: datetime | None = attrs.field(default=None, validator=_aware)
    refresh_token_hard_expires_at: datetime | None = attrs.field(default=None, validator=_aware)
    since: datetime | None = attrs.field(default=None, validator=_aware)


@attrs.frozen(kw_only=True)
class QBOIntegrationDTO:
    """A host business's QBO connection, as the setup service reports it.

    The token fields keep the seed's shape for hosts that display or persist them
    with the integration; they are a snapshot, never shown in `repr`. No service
    ever takes a token from this DTO: the `TokenStore` is the single source of
    truth for a realm's tokens (services load them from it, refresh them there,
    and never trust a copy that may already have been rotated).
    """

    business_id: str = attrs.field(validator=_non_empty)
    status: IntegrationStatus
    platform: str = "qbo"
    realm_id: str | None = None
    access_token: str | None = attrs.field(default=None, repr=False)
    refresh_token: str | None = attrs.field(default=None, repr=False)
    access_token_expires_at: datetime | None = attrs.field(default=None, validator=_aware)
    refresh_token_expires_at: datetime | None = attrs.field(default=None, validator=_aware)
    created_at: datetime | None = attrs.field(default=None, validator=_aware)
    updated_at: datetime | None = attrs.field(default=None, validator=_aware)
    connected_at: datetime | None = attrs.field(default=None, validator=_aware)
    company_name: str | None = None


@attrs.frozen(kw_only=True)
class ConnectionRequest:
    """An authorization in progress: where to send the user, and until when it is good.

    `QBOSetupService.begin` (and `reconnect_url`) make it; redirect the user's browser to
    `authorization_url`. `state` is the single-use value Intuit sends back with the
    callback (it is also inside the URL); neither is a credential, but both are kept out
    of `repr`, as a session identifier would be. After `expires_at` the callback is
    refused. `realm_id` is set when the request reconnects a known company: a callback
    for any other company is then refused.
    """

    business_id: str = attrs.field(validator=_non_empty)
    authorization_url: str = attrs.field(repr=False, validator=_non_empty)
    state: str = attrs.field(repr=False, validator=_non_empty)
    expires_at: datetime = attrs.field(validator=_aware)
    realm_id: str | None = None


@attrs.frozen(kw_only=True)
class RateLimit:
    """At most `limit` units of cost in any sliding window of `period` seconds."""

    limit: int = attrs.field(validator=attrs.validators.gt(0))
    period: float = attrs.field(validator=attrs.validators.gt(0))


@attrs.frozen(kw_only=True)
class SlotLease:
    """One of a key's concurrency slots, held until `expires_at` (a `QuotaStore` lease).

    `expires_at` is wall-clock epoch seconds on the store's `Clock`, so processes
    sharing the store agree on it; a holder that crashes frees its slot then.
    `token` is unique per lease, so a late holder can never release a slot that
    expired and went to someone else. It is an identifier, not a secret.
    """

    key: str = attrs.field(validator=_non_empty)
    token: str = attrs.field(validator=_non_empty)
    expires_at: float


def _frozen_mapping(value: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class QBOEvent:
    """One structured event for an `EventSink`.

    `kind` is a dotted name (`http.request`, `http.retry`, `rate.throttled`,
    `token.refreshed`, `health.alert`, ...). `attributes` hold plain values only;
    never a token (sinks redact secret-named keys as a second line of defence).
    """

    kind: str = attrs.field(validator=_non_empty)
    at: datetime = attrs.field(validator=_aware)
    realm_id: str | None = None
    business_id: str | None = None
    attributes: Mapping[str, object] = attrs.field(
        factory=dict, converter=_frozen_mapping, hash=False
    )


def _sorted_keys(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError("delivered is a collection of keys, not one str")
    return tuple(sorted(set(value)))


def _positions(value: Mapping[str, SyncPosition]) -> Mapping[str, SyncPosition]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class SyncPosition:
    """Where incremental sync stands for one entity type.

    `since` is a time on QBO's own clock (never the host's): every change at or after it
    is still to be delivered. `delivered` holds the changes already delivered whose
    `LastUpdatedTime` falls in the overlap before `since` (`"<Id>:<SyncToken>"`, or
    `"<Id>:deleted"` for a deletion), so re-reading the overlap delivers nothing twice.
    """

    since: datetime = attrs.field(validator=_aware)
    delivered: tuple[str, ...] = attrs.field(default=(), converter=_sorted_keys)


@attrs.frozen(kw_only=True)
class SyncCursor:
    """What a host stores between two incremental syncs of one company, and passes back.

    One `SyncPosition` per entity type synced. Serialise it with the one converter:
    `json.dumps(qbo_core.converter.unstructure(cursor))`, and back with
    `qbo_core.converter.structure(json.loads(text), SyncCursor)`.
    """

    positions: Mapping[str, SyncPosition] = attrs.field(converter=_positions, hash=False)


# --------------------------------------------------------------------- mirror


def _times(value: Mapping[str, datetime]) -> Mapping[str, datetime]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class MirrorProgress:
    """Where the mirroring of one company stands: what `MirrorSync` stores in the `Mirror`
    with every page it applies, so that an interrupted run resumes.

    - `cursor`: the incremental-sync cursor, once a full sync has finished (`None`
      before). Its positions start at each type's first-page QBO time (QBO's clock,
      never the host's).
    - `full`: whether a full sync is under way (started and not finished). Then
      `completed` maps each entity type copied in full to the QBO `time` of its first
      page; `current` is the type being copied, whose first page answered at
      `current_time` (`None` before its first page arrived).

    An interrupted full sync restarts `current` from its first page and skips the types
    in `completed`. Restarting the type under way rather than from the page after the
    last one applied is deliberate: upserts are idempotent, so the pages re-read cost
    requests but never correctness, and the ids seen during the type's pass (which decide
    what the mirror drops at its end) then never need storing.

    Plain data through `qbo_core.converter`, like `SyncCursor`.
    """

    cursor: SyncCursor | None = None
    full: bool = False
    completed: Mapping[str, datetime] = attrs.field(factory=dict, converter=_times, hash=False)
    current: str | None = None
    current_time: datetime | None = attrs.field(default=None, validator=_aware)

    def __attrs_post_init__(self) -> None:
        for name, moment in self.completed.items():
            if moment.utcoffset() is None:
                raise ValueError(f"completed[{name!r}] must be timezone-aware")
        if not self.full and (self.completed or self.current is not None):
            raise ValueError("completed and current describe a full sync under way: full=True")


@attrs.frozen(kw_only=True)
class EntitySummary:
    """What a copy of one entity type holds, in a form two copies can be compared by.

    `count` is how many entities; `checksum` the order-independent digest of them
    (`qbo_core.wire.canonical.entity_checksum`: 64 hex digits), equal for two copies
    exactly when they hold the same entities (ids and canonical JSON), barring a SHA-256
    collision.
    """

    count: int
    checksum: str = attrs.field(validator=_non_empty)


#: What a `MirrorSync` run is doing: copying every entity, or applying changes.
SyncPhase = Literal["full", "incremental"]


def _counts(value: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(value))


def _phase(_: object, attribute: Any, value: str) -> None:
    if value not in ("full", "incremental"):
        raise ValueError(f"{attribute.name} must be 'full' or 'incremental', got {value!r}")


@attrs.frozen(kw_only=True)
class SyncProgress:
    """How far a `MirrorSync` run is, told to its `on_progress` callback (a progress bar).

    `phase` is `"full"` (copying `entity_type` page by page: `done` of `total` entities,
    `total` being QBO's `COUNT(*)` at the start, so `done` may pass it when entities are
    created meanwhile) or `"incremental"` (`done` changes applied to `entity_type`, of
    `total` found for it).
    """

    realm_id: str
    entity_type: str
    done: int
    total: int | None
    phase: SyncPhase = attrs.field(validator=_phase)


@attrs.frozen(kw_only=True)
class SyncReport:
    """What one `MirrorSync.run` did.

    `mode` is `"full"` or `"incremental"`; `upserted` and `deleted` count, per entity
    type, the rows written and removed (a type with nothing to report is absent).
    `resumed` is true when the run continued a full sync an earlier run left unfinished.
    `reconciled` lists the types whose ids were compared with QBO's because their
    deletions could not be listed (`ChangeBatch.unknown_deletions`) or they were read in
    full (`ChangeBatch.full_types`).
    """

    mode: SyncPhase = attrs.field(validator=_phase)
    upserted: Mapping[str, int] = attrs.field(factory=dict, converter=_counts, hash=False)
    deleted: Mapping[str, int] = attrs.field(factory=dict, converter=_counts, hash=False)
    resumed: bool = False
    reconciled: tuple[str, ...] = ()


# --------------------------------------------------------------------- health


class HealthState(enum.Enum):
    """How a business's QBO connection is doing, worst last (see `QBOHealthMonitor`)."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"  # working, but slowed, throttled, erroring a little, or expiring
    UNHEALTHY = "unhealthy"  # failing: an adapter down, many errors, no success for long
    NEEDS_REAUTHORIZATION = "needs_reauthorization"  # no usable grant: the user must connect


class AlertSeverity(enum.Enum):
    """How urgent a health alert is."""

    WARNING = "warning"  # act within days
    CRITICAL = "critical"  # act now


@attrs.frozen(kw_only=True)
class HealthAlert:
    """One active health alert of a realm: a stable `name` (`hard_expiry_30d`, ...), how
    urgent it is, a message for people, and `since`, when it was raised."""

    name: str = attrs.field(validator=_non_empty)
    severity: AlertSeverity
    realm_id: str
    message: str
    since: datetime = attrs.field(validator=_aware)


@attrs.frozen(kw_only=True)
class AdapterHealth:
    """The answer of one adapter's `ping`: up or down, why (never a secret), how long.

    `round_trip_ms` is measured on the monitor's clock; `None` when the ping timed out.
    """

    name: str
    up: bool
    error: str | None = None
    round_trip_ms: float | None = None


@attrs.frozen(kw_only=True)
class RealmStats:
    """What this process saw of one realm's traffic over the last `window_seconds`.

    `requests` counts HTTP exchanges with the data API; `errors` those that failed for
    the connection's sake (5xx, transport errors, undecodable answers); `client_errors`
    QBO's validation faults (the caller's request, not the connection); `throttles` the
    429s; `auth_failures` the 401/403 answers. `consecutive_auth_failures` counts failed
    refreshes and 401/403 answers since the last success or refresh (not windowed).
    Latencies are in milliseconds (`None` without samples). The last success / failure
    are not windowed either. `watching_since` is when this recorder first saw the realm.
    """

    realm_id: str
    window_seconds: float
    requests: int = 0
    errors: int = 0
    client_errors: int = 0
    throttles: int = 0
    auth_failures: int = 0
    p50_latency_ms: float | None = None
    p95_latency_ms: float | None = None
    last_success_at: datetime | None = attrs.field(default=None, validator=_aware)
    last_failure_at: datetime | None = attrs.field(default=None, validator=_aware)
    last_failure_error: str | None = None
    last_refresh_at: datetime | None = attrs.field(default=None, validator=_aware)
    consecutive_auth_failures: int = 0
    watching_since: datetime | None = attrs.field(default=None, validator=_aware)

    @property
    def error_rate(self) -> float:
        """`errors / requests` (0 without requests)."""
        return self.errors / self.requests if self.requests else 0.0

    @property
    def throttle_rate(self) -> float:
        """`throttles / requests` (0 without requests)."""
        return self.throttles / self.requests if self.requests else 0.0


def _alerts(value: Iterable[HealthAlert]) -> tuple[HealthAlert, ...]:
    return tuple(value)


def _reasons(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError("reasons is a collection of sentences, not one str")
    return tuple(value)


def _adapters(value: Mapping[str, AdapterHealth]) -> Mapping[str, AdapterHealth]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class BusinessHealth:
    """A business's QBO connection health, as `QBOHealthMonitor` reports it (never a token).

    `business_name` and `integration_details` are the caller's, returned unchanged.
    `state` and `reasons` (short sentences, why that state) follow the monitor's rules;
    the token fields come from `QBOAuthService.status` (`connection` is `None` when the
    realm is unknown or the token store could not be read); the traffic fields from the
    `HealthRecorder` (this process's window); `alerts` are the realm's active alerts and
    `adapters` each probe's ping, by name.
    """

    business_id: str
    business_name: str
    integration_details: Mapping[str, object] = attrs.field(
        factory=dict, converter=_frozen_mapping, hash=False
    )
    realm_id: str | None = None
    state: HealthState
    reasons: tuple[str, ...] = attrs.field(default=(), converter=_reasons)
    checked_at: datetime = attrs.field(validator=_aware)
    connection: ConnectionState | None = None
    access_token_expires_at: datetime | None = attrs.field(default=None, validator=_aware)
    refresh_token_expires_at: datetime | None = attrs.field(default=None, validator=_aware)
    refresh_token_hard_expires_at: datetime | None = attrs.field(default=None, validator=_aware)
    last_success_at: datetime | None = attrs.field(default=None, validator=_aware)
    last_failure_at: datetime | None = attrs.field(default=None, validator=_aware)
    last_failure_error: str | None = None
    request_count: int = 0
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    p50_latency_ms: float | None = None
    p95_latency_ms: float | None = None
    alerts: tuple[HealthAlert, ...] = attrs.field(default=(), converter=_alerts)
    adapters: Mapping[str, AdapterHealth] = attrs.field(
        factory=dict, converter=_adapters, hash=False
    )


@attrs.frozen(kw_only=True)
class RefreshOutcome:
    """What `QBOHealthMonitor.refresh_idle` did for one realm.

    `refreshed` is whether a refresh ran and succeeded; `due` whether the realm's rolling
    refresh expiry was within the asked window (or unknown). `error` is the failure's
    class name and `message` its (redacted) text; both `None` on success or when nothing
    was due. The expiries are the rolling refresh expiry before and after.
    """

    realm_id: str
    due: bool
    refreshed: bool
    error: str | None = None
    message: str | None = None
    refresh_token_expires_before: datetime | None = attrs.field(default=None, validator=_aware)
    refresh_token_expires_after: datetime | None = attrs.field(default=None, validator=_aware)


class WebhookFormat(enum.Enum):
    """Which of Intuit's two webhook payload formats an event arrived in."""

    LEGACY = "legacy"  # {"eventNotifications": [...]}, the default until an app switches
    CLOUDEVENTS = "cloudevents"  # an array of CloudEvents 1.0 objects


@attrs.frozen(kw_only=True)
class WebhookEvent:
    """One change QBO notified by webhook: an entity of a realm was created, updated, ...

    `entity_type` is QBO's name (`"Customer"`, `"JournalEntry"`) and `operation` one of
    `Create`, `Update`, `Delete`, `Merge`, `Void`, `Emailed` (an operation Intuit adds
    later arrives capitalised as it is). `event_id` identifies the delivery of this
    event across Intuit's retries: the CloudEvents `id`, or for the legacy format (which
    has none) `"legacy:"` and a digest of realm, entity, id, operation and time.
    `occurred_at` is when the change happened (legacy `lastUpdated`, CloudEvents
    `time`), in UTC. `deleted_id` is the legacy `deletedId` (the entity a merge
    removed), `None` when absent.
    """

    event_id: str = attrs.field(validator=_non_empty)
    realm_id: str = attrs.field(validator=_non_empty)
    entity_type: str = attrs.field(validator=_non_empty)
    entity_id: str = attrs.field(validator=_non_empty)
    operation: str = attrs.field(validator=_non_empty)
    occurred_at: datetime = attrs.field(validator=_aware)
    format: WebhookFormat
    deleted_id: str | None = None
