"""The kinds of `QBOEvent`, as named constants: the one place event kinds are spelt.

A kind is a dotted name whose first part is its family, so a recorder's
`of_kind("http")` finds every HTTP event and `of_kind("health.alert")` both alert
kinds. Emit with a constant (`QBOEvent(kind=events.HTTP_REQUEST, ...)`), never a
literal string, so a sink, a metric or a test that filters on a kind cannot drift
from what the services send.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALERT_CLEARED",
    "ALERT_RAISED",
    "ALL_KINDS",
    "CACHE_COALESCED",
    "CACHE_ERROR",
    "CACHE_HIT",
    "CACHE_MISS",
    "CONNECTION_COMPLETED",
    "CONNECTION_FAILED",
    "CONNECTION_STARTED",
    "DISCONNECTED",
    "HTTP_REQUEST",
    "HTTP_RETRY",
    "IDLE_REFRESH_FAILED",
    "RATE_HELD_BACK",
    "RATE_LATE_GRANT",
    "RATE_THROTTLED",
    "RATE_WAITED",
    "TOKEN_REFRESHED",
    "TOKEN_REFRESH_FAILED",
    "WEBHOOK_RECEIVED",
    "WEBHOOK_REFUSED",
]

#: One HTTP exchange with QBO, answered or not (the raw client; attributes: operation,
#: method, path, status, intuit_tid, error, duration_ms).
HTTP_REQUEST: Final = "http.request"

#: A failed call is about to be retried after a wait (smart sync).
HTTP_RETRY: Final = "http.retry"

#: QBO answered 429 to a call (smart sync, once per 429; attributes: operation, status,
#: retry_after, the seconds QBO asked for or None, intuit_tid).
RATE_THROTTLED: Final = "rate.throttled"

#: A realm is held back in every process sharing the quota store, after a 429 (rate
#: limiter; attributes: retry_after, wait, the seconds held back, and until, the epoch
#: seconds the hold-back ends).
RATE_HELD_BACK: Final = "rate.held_back"

#: A permit of the local rate limiter waited longer than its reporting threshold (rate
#: limiter; attributes: waited, seconds, and batch, whether it was a batch request).
RATE_WAITED: Final = "rate.waited"

#: A grant came back from the quota store too late to stand for the request about to be
#: sent, and was spent again (rate limiter; attributes: late, the seconds the store's
#: round trip took, and respent, whether the second grant came at once).
RATE_LATE_GRANT: Final = "rate.late_grant"

#: A realm's tokens were refreshed and saved (auth service).
TOKEN_REFRESHED: Final = "token.refreshed"  # noqa: S105 - an event kind

#: A refresh failed (invalid_grant re-checked, network, Intuit error).
TOKEN_REFRESH_FAILED: Final = "token.refresh_failed"  # noqa: S105 - an event kind

#: An authorization URL was made for a business (setup service; attributes: reconnect,
#: expires_at).
CONNECTION_STARTED: Final = "connection.started"

#: A callback was accepted and the company's tokens stored (setup service; attributes:
#: reconnect, company_info: "fetched" or the error's class name).
CONNECTION_COMPLETED: Final = "connection.completed"

#: A callback was refused or its exchange failed (setup service; attributes: error, the
#: error's class name, and code, the OAuth error code when Intuit sent one).
CONNECTION_FAILED: Final = "connection.failed"

#: A company's grant was revoked at Intuit and its tokens deleted (setup service).
DISCONNECTED: Final = "connection.disconnected"

#: The health monitor raised an alert for a realm, once when its condition started
#: (`QBOHealthMonitor`; realm_id set, business_id when known; attributes: alert, the
#: alert's stable name such as hard_expiry_30d, severity, "warning" or "critical", and
#: message).
ALERT_RAISED: Final = "health.alert.raised"

#: The health monitor cleared an alert it had raised, once when its condition ended
#: (same attributes as `ALERT_RAISED`, the message being the one it was raised with).
ALERT_CLEARED: Final = "health.alert.cleared"

#: A read was answered from the cache.
CACHE_HIT: Final = "cache.hit"

#: A read missed the cache and went to QBO.
CACHE_MISS: Final = "cache.miss"

#: A read joined an identical one already in flight instead of sending its own request
#: (smart sync; attributes: operation, entity_type).
CACHE_COALESCED: Final = "cache.coalesced"

#: The cache backend failed (`StoreUnavailableError`) or held bytes that could not be read;
#: the call went on as if the entry were absent (smart sync; attributes: action, error).
CACHE_ERROR: Final = "cache.error"

#: The idle-connection refresher could not refresh a realm (`QBOHealthMonitor.refresh_idle`;
#: attributes: error, the error's class name, and message, its redacted text).
IDLE_REFRESH_FAILED: Final = "health.refresh_failed"

#: A webhook event was verified, is new, and its realm is connected: it goes to the host
#: (webhook receiver; attributes: event_id, entity_type, entity_id, operation, format).
WEBHOOK_RECEIVED: Final = "webhook.received"

#: A webhook delivery, or one event in it, was refused (webhook receiver; attributes:
#: reason — "too_large", "bad_signature", "malformed", "duplicate", "realm_not_connected"
#: or "unavailable" — and event_id, entity_type, operation where known; the realm is the
#: event's realm_id; never the body or a token).
WEBHOOK_REFUSED: Final = "webhook.refused"

#: Every kind above, for sinks and tests that enumerate them.
ALL_KINDS: Final[tuple[str, ...]] = (
    HTTP_REQUEST,
    HTTP_RETRY,
    RATE_THROTTLED,
    RATE_HELD_BACK,
    RATE_WAITED,
    RATE_LATE_GRANT,
    TOKEN_REFRESHED,
    TOKEN_REFRESH_FAILED,
    CONNECTION_STARTED,
    CONNECTION_COMPLETED,
    CONNECTION_FAILED,
    DISCONNECTED,
    ALERT_RAISED,
    ALERT_CLEARED,
    CACHE_HIT,
    CACHE_MISS,
    CACHE_COALESCED,
    CACHE_ERROR,
    IDLE_REFRESH_FAILED,
    WEBHOOK_RECEIVED,
    WEBHOOK_REFUSED,
)
