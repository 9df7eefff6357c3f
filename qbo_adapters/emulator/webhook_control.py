"""The JSON forms of the webhook dispatcher's state, for the control API (`control.py`).

A subscription is read back with its verifier masked (`"verifier_token": "***"`): the
secret goes in, never out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qbo_adapters.emulator.webhook_payloads import WebhookEvent
from qbo_adapters.emulator.webhooks import (
    DeliveryAttempt,
    WebhookDispatcher,
    WebhookSubscription,
)

__all__ = [
    "MASK",
    "attempt_json",
    "event_json",
    "subscription_from_json",
    "subscription_json",
    "webhooks_json",
]

#: What a read shows in place of the verifier token.
MASK = "***"


class SubscriptionError(ValueError):
    """A subscription body that cannot be used; the message says why (no secret in it)."""


def subscription_from_json(data: Mapping[str, Any]) -> WebhookSubscription:
    """`{"url", "verifier_token", "format"?, "realm_ids"?}` as a `WebhookSubscription`.

    `SubscriptionError` names what is wrong, never the verifier's value.
    """
    unknown = sorted(set(data) - {"url", "verifier_token", "format", "realm_ids"})
    if unknown:
        raise SubscriptionError(f"unknown field(s): {', '.join(unknown)}")
    url = data.get("url")
    verifier = data.get("verifier_token")
    fmt = data.get("format", "legacy")
    realms = data.get("realm_ids")
    if not isinstance(url, str) or not url:
        raise SubscriptionError("'url' is required (an http:// or https:// URL)")
    if not isinstance(verifier, str) or not verifier:
        raise SubscriptionError("'verifier_token' is required (a non-empty string)")
    if fmt not in ("legacy", "cloudevents"):
        raise SubscriptionError(f"'format' is 'legacy' or 'cloudevents', got {fmt!r}")
    if realms is not None and (
        not isinstance(realms, list) or not all(isinstance(r, str) and r for r in realms)
    ):
        raise SubscriptionError("'realm_ids' must be a list of realm ids (strings)")
    try:
        return WebhookSubscription(
            url=url,
            verifier_token=verifier,
            format=fmt,
            realm_ids=frozenset(realms) if realms is not None else None,
        )
    except ValueError as exc:
        raise SubscriptionError(str(exc)) from None


def subscription_json(subscription: WebhookSubscription | None) -> dict[str, Any] | None:
    if subscription is None:
        return None
    return {
        "url": subscription.url,
        "verifier_token": MASK,
        "format": subscription.format,
        "realm_ids": sorted(subscription.realm_ids) if subscription.realm_ids is not None else None,
    }


def event_json(event: WebhookEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "realm_id": event.realm_id,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "operation": event.operation,
        "at": event.at.isoformat(),
    }


def attempt_json(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "at": attempt.at.isoformat(),
        "attempt": attempt.attempt,
        "event_ids": list(attempt.event_ids),
        "status": attempt.status,
        "error": attempt.error,
        "ok": attempt.ok,
    }


def webhooks_json(dispatcher: WebhookDispatcher) -> dict[str, Any]:
    """The subscription (masked), the delivery being retried and the queued events."""
    pending = dispatcher.pending
    due = dispatcher.next_due()
    return {
        "subscription": subscription_json(dispatcher.subscription),
        "pending": None
        if pending is None
        else {
            "events": [event_json(e) for e in pending.events],
            "failures": pending.failures,
            "due": pending.due.isoformat(),
        },
        "queued": [event_json(e) for e in dispatcher.queued],
        "next_due": due.isoformat() if due is not None else None,
        "deliveries_logged": len(dispatcher.log),
    }
