"""What the emulator's webhook deliveries carry: events, bodies, the signature, the schedule.

Pure functions and values, no I/O (the dispatcher, `webhooks.py`, sends them):

- `legacy_body`: `{"eventNotifications": [{"realmId", "dataChangeEvent": {"entities":
  [{"name", "id", "operation", "lastUpdated"}]}}]}`, one notification per realm in the
  order the events happened (the dispatcher sends one realm at a time);
- `cloudevents_body`: a JSON array of CloudEvents 1.0 objects, `type`
  `qbo.<entity lower>.<created|updated|deleted|merged|voided|emailed>.v1`
  (only `created` is confirmed by Intuit; the other words are UNCONFIRMED), `time` in
  RFC 3339 UTC, `intuitentityid`, `intuitaccountid` (the realm) and an empty `data`;
- `webhook_signature`: the `intuit-signature` header, base64(HMAC-SHA256(key = the
  verifier token, message = the exact body bytes));
- `retry_delay`: how long to wait after the n-th failed attempt, on Intuit's schedule
  (10 s, 20 s, 30 s, 5 min, 20 min, 2 h, 4 h, 6 h, then every 6 h).

Bodies are compact JSON (no spaces): the signature covers exactly these bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Literal

import attrs

from qbo_adapters.emulator.settings import DEFAULT_WEBHOOK_RETRY_SCHEDULE
from qbo_adapters.emulator.store import ChangeOperation

__all__ = [
    "CLOUDEVENT_VERBS",
    "DEFAULT_RETRY_SCHEDULE",
    "OPERATIONS",
    "WebhookEvent",
    "WebhookFormat",
    "cloudevent_type",
    "cloudevents_body",
    "legacy_body",
    "retry_delay",
    "utc_text",
    "webhook_signature",
]

#: The two payload formats an app's subscription can be switched between.
WebhookFormat = Literal["legacy", "cloudevents"]

#: The operations a webhook event names, as the legacy payload spells them.
OPERATIONS: Final[tuple[ChangeOperation, ...]] = (
    "Create",
    "Update",
    "Delete",
    "Merge",
    "Void",
    "Emailed",
)

#: The CloudEvents `type` word for each operation.
CLOUDEVENT_VERBS: Final[dict[str, str]] = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Merge": "merged",
    "Void": "voided",
    "Emailed": "emailed",
}

#: Seconds to wait after the 1st, 2nd, ... failed attempt; the last repeats for ever.
DEFAULT_RETRY_SCHEDULE: Final = DEFAULT_WEBHOOK_RETRY_SCHEDULE


@attrs.frozen(kw_only=True)
class WebhookEvent:
    """One change to notify: `entity` `entity_id` of realm `realm_id` had `operation` at `at`.

    `id` is the event's own id (a UUID; the CloudEvents `id`).
    """

    id: str
    realm_id: str
    entity: str
    entity_id: str
    operation: ChangeOperation
    at: datetime


def utc_text(when: datetime) -> str:
    """`2025-09-08T20:52:31.657Z`: UTC, milliseconds, a `Z` (what Intuit sends)."""
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def legacy_body(events: Iterable[WebhookEvent]) -> bytes:
    """The legacy `eventNotifications` body: one notification per realm, realms in the
    order their first event happened, each realm's entities in order."""
    by_realm: dict[str, list[dict[str, str]]] = {}
    for event in events:
        by_realm.setdefault(event.realm_id, []).append(
            {
                "name": event.entity,
                "id": event.entity_id,
                "operation": event.operation,
                "lastUpdated": utc_text(event.at),
            }
        )
    return _dumps(
        {
            "eventNotifications": [
                {"realmId": realm_id, "dataChangeEvent": {"entities": entities}}
                for realm_id, entities in by_realm.items()
            ]
        }
    )


def cloudevent_type(entity: str, operation: str) -> str:
    """`qbo.customer.created.v1` for a Customer's Create."""
    return f"qbo.{entity.lower()}.{CLOUDEVENT_VERBS[operation]}.v1"


def cloudevents_body(events: Iterable[WebhookEvent], *, source: str) -> bytes:
    """A CloudEvents 1.0 JSON array, one object per event, in order."""
    return _dumps(
        [
            {
                "specversion": "1.0",
                "id": event.id,
                "source": source,
                "type": cloudevent_type(event.entity, event.operation),
                "datacontenttype": "application/json",
                "time": utc_text(event.at),
                "intuitentityid": event.entity_id,
                "intuitaccountid": event.realm_id,
                "data": {},
            }
            for event in events
        ]
    )


def webhook_signature(body: bytes, verifier_token: str) -> str:
    """The `intuit-signature` value: base64(HMAC-SHA256(verifier token, body))."""
    digest = hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def retry_delay(schedule: Sequence[float], failures: int) -> float:
    """Seconds to wait after the `failures`-th failed attempt (1 = the first attempt
    failed); past the schedule's end its last step repeats."""
    if failures < 1:
        raise ValueError(f"failures counts from 1, got {failures}")
    if not schedule:
        raise ValueError("the retry schedule is empty")
    return float(schedule[min(failures, len(schedule)) - 1])
