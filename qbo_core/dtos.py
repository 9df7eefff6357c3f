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
from typing import Any

import attrs

__all__ = [
    "ConnectionRequest",
    "ConnectionState",
    "ConnectionStatus",
    "IntegrationStatus",
    "QBOEvent",
    "QBOIntegrationDTO",
    "RateLimit",
    "RealmAuth",
    "SlotLease",
    "SyncCursor",
    "SyncPosition",
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
    `token` is random per lease, so a late holder can never release a slot that
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
