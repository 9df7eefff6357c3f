"""Receiving QBO webhooks: `WebhookReceiver` (verify, parse, de-duplicate, realm check)
and `reconcile` (fetch what the accepted events say changed).

A host's web endpoint hands each delivery's raw body and `intuit-signature` header to
`WebhookReceiver.receive`, answers Intuit with the receipt's `status` at once (Intuit
wants a 200 within 3 seconds, and retries anything else for days), and processes the
receipt's `accepted` events afterwards, typically with `reconcile`.
(`qbo_adapters.aiohttp.webhooks.webhook_handler` does exactly that for aiohttp.)

What `receive` decides, in order:

1. **Size.** A body over `max_body_bytes` (default 1 MiB: Intuit sends at most about
   1 MB, 100 events) is refused whole: status 413, reason `too_large`.
2. **Signature.** A missing or wrong signature: status 401, reason `bad_signature`;
   the body is never parsed.
3. **Payload.** A signed body that is not a notification: status **200**, reason
   `malformed`. Intuit signed it, so it is Intuit's; any other answer would only make
   Intuit send the same bytes again, for days, and hold back its later events.
4. **Realm.** An event of a realm that is not connected (no usable tokens in the
   `TokenStore`, or the host's `is_connected` says no): refused, reason
   `realm_not_connected` (status stays 200: the realm is not ours to sync).
5. **De-duplication.** `StateStore.claim("webhook:" + event_id, ttl=dedupe_ttl)`, in
   every process sharing the store: the first claimer accepts the event; a redelivery
   (Intuit retried, or two workers got it) is refused, reason `duplicate`.

A claim is made only for an event that passed the signature and realm checks, so
nothing a stranger sends, and no event of a foreign realm, fills the store. An
accepted event is claimed before the host processes it: when the host's processing
then fails, Intuit's redelivery is refused as a duplicate. Reconciliation fills such a
gap: run `SmartSyncService.changes_since` (CDC) for the realm on a schedule, as
Intuit's best practices advise, or call `forget(event_id)` when processing fails so a
redelivery is accepted again. When the store itself fails (`StoreUnavailableError`)
the claims this delivery made are released where possible and the receipt says 503,
reason `unavailable`: Intuit retries, and nothing was accepted.

Every refusal emits `webhook.refused` (reason, event_id where known, the realm as the
event's `realm_id`) and every accepted event `webhook.received`; neither ever holds the
body or the verifier token.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Final

import attrs

from qbo_core import events as kinds
from qbo_core.dtos import QBOEvent, WebhookEvent
from qbo_core.entities import QBOEntity
from qbo_core.errors import ObjectNotFoundError, QBOError, StoreUnavailableError
from qbo_core.ports.clock import Clock
from qbo_core.ports.event_sink import EventSink
from qbo_core.ports.state_store import StateStore
from qbo_core.ports.token_store import TokenStore
from qbo_core.services.smart_sync import SmartSyncService
from qbo_core.webhooks import parse_webhook, verify_signature

__all__ = [
    "DEFAULT_CDC_THRESHOLD",
    "DEFAULT_DEDUPE_TTL",
    "DEFAULT_MAX_BODY_BYTES",
    "ReconcileResult",
    "WebhookReceipt",
    "WebhookReceiver",
    "reconcile",
]

#: Seconds an event id is remembered: a week, past Intuit's retries (10 s ... every 6 h).
DEFAULT_DEDUPE_TTL: Final = 7 * 24 * 3600.0

#: The largest body `receive` reads: Intuit sends at most 100 events, about 1 MB.
DEFAULT_MAX_BODY_BYTES: Final = 1_048_576

#: More events than this for one realm, and `reconcile` asks CDC instead of reading each.
DEFAULT_CDC_THRESHOLD: Final = 30

#: The reasons a receipt gives for a refusal.
TOO_LARGE: Final = "too_large"
BAD_SIGNATURE: Final = "bad_signature"
MALFORMED: Final = "malformed"
DUPLICATE: Final = "duplicate"
REALM_NOT_CONNECTED: Final = "realm_not_connected"
UNAVAILABLE: Final = "unavailable"

_KEY_PREFIX: Final = "webhook:"


@attrs.frozen(kw_only=True)
class WebhookReceipt:
    """What `WebhookReceiver.receive` made of one delivery.

    `status` is the HTTP status to answer Intuit with: 200 (acknowledged, whatever was
    refused inside), 401 (bad signature), 413 (too large) or 503 (the state store
    failed: Intuit will retry). `accepted` holds the events to process: verified, new,
    of a connected realm. `refused` pairs each refused event (or `None` for the
    delivery as a whole) with its reason: `too_large`, `bad_signature`, `malformed`,
    `duplicate`, `realm_not_connected` or `unavailable`.
    """

    status: int
    accepted: tuple[WebhookEvent, ...] = ()
    refused: tuple[tuple[WebhookEvent | None, str], ...] = ()


class WebhookReceiver:
    """Verifies, parses and de-duplicates webhook deliveries (see the module docstring).

    `verifier_token` is the app's webhook verifier token (hidden from `repr`);
    `state_store` remembers event ids for `dedupe_ttl` seconds (7 days by default) and
    must be shared by every process that receives webhooks; `is_connected` decides
    which realms are ours: a `TokenStore` (a realm is connected when it holds usable
    tokens) or an async predicate of the realm id.
    """

    def __init__(
        self,
        *,
        verifier_token: str,
        state_store: StateStore,
        is_connected: TokenStore | Callable[[str], Awaitable[bool]],
        events: EventSink,
        clock: Clock,
        dedupe_ttl: float = DEFAULT_DEDUPE_TTL,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if not isinstance(verifier_token, str) or not verifier_token:
            raise ValueError("verifier_token must be a non-empty string")
        if not (dedupe_ttl > 0 and math.isfinite(dedupe_ttl)):
            raise ValueError(f"dedupe_ttl must be positive and finite, got {dedupe_ttl!r}")
        if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int):
            raise ValueError(f"max_body_bytes must be an int, got {max_body_bytes!r}")
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be at least 1, got {max_body_bytes!r}")
        self._verifier_token = verifier_token
        self._store = state_store
        if isinstance(is_connected, TokenStore):
            self._is_connected = _has_usable_tokens(is_connected)
        else:
            self._is_connected = is_connected
        self._events = events
        self._clock = clock
        self._dedupe_ttl = float(dedupe_ttl)
        self._max_body_bytes = max_body_bytes

    @property
    def max_body_bytes(self) -> int:
        """The largest body `receive` accepts; a web adapter reads at most one byte more."""
        return self._max_body_bytes

    @property
    def dedupe_ttl(self) -> float:
        return self._dedupe_ttl

    def __repr__(self) -> str:
        return (
            f"WebhookReceiver(dedupe_ttl={self._dedupe_ttl!r}, "
            f"max_body_bytes={self._max_body_bytes!r})"
        )

    async def receive(self, body: bytes, signature: str | None) -> WebhookReceipt:
        """Judge one delivery: its raw `body` and its `intuit-signature` header (or `None`).

        Never raises for anything a sender controls; a failure of the state store or
        the token store (`StoreUnavailableError`) is a 503 receipt. Another exception of
        `is_connected` propagates, after the claims this delivery made are released.
        Answer Intuit with the receipt's `status`.
        """
        if len(body) > self._max_body_bytes:
            return self.too_large()
        if not verify_signature(body, signature, self._verifier_token):
            return self._refuse_delivery(401, BAD_SIGNATURE)
        try:
            parsed = parse_webhook(body)
        except QBOError:
            return self._refuse_delivery(200, MALFORMED)
        accepted: list[WebhookEvent] = []
        refused: list[tuple[WebhookEvent | None, str]] = []
        connected: dict[str, bool] = {}
        try:
            for event in parsed:
                if event.realm_id not in connected:
                    connected[event.realm_id] = await self._is_connected(event.realm_id)
                if not connected[event.realm_id]:
                    refused.append((event, REALM_NOT_CONNECTED))
                elif await self._store.claim(_KEY_PREFIX + event.event_id, ttl=self._dedupe_ttl):
                    accepted.append(event)
                else:
                    refused.append((event, DUPLICATE))
        except StoreUnavailableError:
            await self._release(accepted)
            return self._refuse_delivery(503, UNAVAILABLE)
        except Exception:
            await self._release(accepted)  # the host's predicate failed: nothing accepted
            raise
        for refused_event, reason in refused:
            self._emit_refused(reason, refused_event)
        for event in accepted:
            self._emit(kinds.WEBHOOK_RECEIVED, event)
        return WebhookReceipt(status=200, accepted=tuple(accepted), refused=tuple(refused))

    def too_large(self) -> WebhookReceipt:
        """The receipt for a body known to exceed `max_body_bytes`, without reading it.

        For a web adapter that sees a `Content-Length` over the limit, or stops reading
        a streamed body one byte past it: the same 413 receipt and `webhook.refused`
        event that `receive` gives for such a body.
        """
        return self._refuse_delivery(413, TOO_LARGE)

    async def forget(self, event_id: str) -> None:
        """Drop the claim of `event_id`, so that a redelivery of it is accepted again.

        For a host whose processing of an accepted event failed and who wants Intuit's
        retry to bring it back. Forgetting an unknown or expired id does nothing.
        """
        await self._store.take(_KEY_PREFIX + event_id)

    # ----------------------------------------------------------------- plumbing

    async def _release(self, claimed: Iterable[WebhookEvent]) -> None:
        for event in claimed:
            try:
                await self.forget(event.event_id)
            except StoreUnavailableError:
                continue  # best effort: the store is failing already

    def _refuse_delivery(self, status: int, reason: str) -> WebhookReceipt:
        self._emit_refused(reason, None)
        return WebhookReceipt(status=status, refused=((None, reason),))

    def _emit_refused(self, reason: str, event: WebhookEvent | None) -> None:
        self._emit(kinds.WEBHOOK_REFUSED, event, reason=reason)

    def _emit(self, kind: str, event: WebhookEvent | None, **attributes: object) -> None:
        if event is not None:
            attributes.update(
                event_id=event.event_id,
                entity_type=event.entity_type,
                entity_id=event.entity_id,
                operation=event.operation,
                format=event.format.value,
            )
        self._events.emit(
            QBOEvent(
                kind=kind,
                at=self._clock.now(),
                realm_id=event.realm_id if event is not None else None,
                attributes=attributes,
            )
        )


def _has_usable_tokens(store: TokenStore) -> Callable[[str], Awaitable[bool]]:
    async def is_connected(realm_id: str) -> bool:
        held = await store.load(realm_id)
        return held is not None and held.tokens.usable

    return is_connected


# --------------------------------------------------------------------- reconciliation


@attrs.frozen(kw_only=True)
class ReconcileResult:
    """What `reconcile` fetched for a set of webhook events.

    - `entities`: the current version of each created or changed entity, as QBO
      returned it (in the order of the events; with CDC, what CDC reported).
    - `deleted`: `(entity_type, id)` of each entity deleted (a `Delete` event, an entity
      a merge removed, a read answered "object not found", a CDC tombstone).
    - `failed`: each event whose entity could not be fetched, with the error (an
      unreachable QBO, a throttled realm past its retries, a dead connection). Retry
      them later, or let CDC-based sync catch up.
    - `via_cdc`: the realms whose events were reconciled with one CDC call.
    - `capped_realms`: realms whose CDC answer hit QBO's 1,000-object cap: more changes
      may exist than `entities` holds (run `changes_since` for them).
    """

    entities: tuple[QBOEntity, ...] = ()
    deleted: tuple[tuple[str, str], ...] = ()
    failed: tuple[tuple[WebhookEvent, QBOError], ...] = ()
    via_cdc: tuple[str, ...] = ()
    capped_realms: tuple[str, ...] = ()


async def reconcile(
    events: Iterable[WebhookEvent],
    smart_sync_for: Callable[[str], SmartSyncService],
    *,
    cdc_threshold: int = DEFAULT_CDC_THRESHOLD,
    cdc_overlap: timedelta = timedelta(minutes=5),
) -> ReconcileResult:
    """Fetch, from QBO, what `events` say changed; realm by realm, realms concurrently.

    `smart_sync_for(realm_id)` gives the `SmartSyncService` of a realm. For a realm with
    at most `cdc_threshold` events, its cache is dropped first (`invalidate`, so a read
    goes to QBO and not to an answer cached before the change), then each entity is
    read once, however many events name it; its latest event decides: a `Delete` is
    reported in `deleted` without a read, any other operation is a `read` (a read
    answered "object not found" counts as deleted), and a merge's `deleted_id` is
    reported deleted too. A realm with more events is reconciled with one `cdc` call
    for its entity types since its oldest event, less `cdc_overlap` (QBO's clock and the
    event times may differ a little): the result then holds every change CDC reports,
    which may be more than the events named.

    A `QBOError` of one realm or entity goes to `failed` and the rest goes on; any
    other exception propagates.
    """
    by_realm: dict[str, list[WebhookEvent]] = {}
    for event in events:
        by_realm.setdefault(event.realm_id, []).append(event)
    parts = await asyncio.gather(
        *(
            _reconcile_realm(realm_events, smart_sync_for(realm_id), cdc_threshold, cdc_overlap)
            for realm_id, realm_events in by_realm.items()
        )
    )
    return ReconcileResult(
        entities=tuple(entity for part in parts for entity in part.entities),
        deleted=tuple(pair for part in parts for pair in part.deleted),
        failed=tuple(failure for part in parts for failure in part.failed),
        via_cdc=tuple(realm for part in parts for realm in part.via_cdc),
        capped_realms=tuple(realm for part in parts for realm in part.capped_realms),
    )


async def _reconcile_realm(
    events: list[WebhookEvent],
    sync: SmartSyncService,
    cdc_threshold: int,
    cdc_overlap: timedelta,
) -> ReconcileResult:
    if len(events) > cdc_threshold:
        return await _reconcile_by_cdc(events, sync, cdc_overlap)
    latest: dict[tuple[str, str], WebhookEvent] = {}
    for event in events:
        slot = (event.entity_type, event.entity_id)
        held = latest.get(slot)
        if held is None or event.occurred_at >= held.occurred_at:
            latest[slot] = event
    entities: list[QBOEntity] = []
    deleted: list[tuple[str, str]] = []
    failed: list[tuple[WebhookEvent, QBOError]] = []
    if any(event.operation != "Delete" for event in latest.values()):
        await sync.invalidate()
    for (entity_type, entity_id), event in latest.items():
        if event.deleted_id is not None:
            deleted.append((entity_type, event.deleted_id))
        if event.operation == "Delete":
            deleted.append((entity_type, entity_id))
            continue
        try:
            entities.append(await sync.read(entity_type, entity_id))
        except ObjectNotFoundError:
            deleted.append((entity_type, entity_id))
        except QBOError as error:
            failed.append((event, error))
    return ReconcileResult(
        entities=tuple(entities), deleted=tuple(dict.fromkeys(deleted)), failed=tuple(failed)
    )


async def _reconcile_by_cdc(
    events: list[WebhookEvent], sync: SmartSyncService, overlap: timedelta
) -> ReconcileResult:
    realm_id = events[0].realm_id
    entity_types = sorted({event.entity_type for event in events})
    since = min(event.occurred_at for event in events) - overlap
    try:
        changes = await sync.cdc(entity_types, since)
    except QBOError as error:
        return ReconcileResult(failed=tuple((event, error) for event in events))
    deleted = [
        (gone.entity_type, gone.id)
        for tombstones in changes.deleted.values()
        for gone in tombstones
    ]
    for event in events:
        if event.operation == "Delete":
            deleted.append((event.entity_type, event.entity_id))
        if event.deleted_id is not None:
            deleted.append((event.entity_type, event.deleted_id))
    return ReconcileResult(
        entities=tuple(entity for changed in changes.changed.values() for entity in changed),
        deleted=tuple(dict.fromkeys(deleted)),
        via_cdc=(realm_id,),
        capped_realms=(realm_id,) if changes.capped else (),
    )
