"""`WebhookDispatcher`: the emulator sends webhooks, as Intuit does for a subscribed app.

One subscription per emulator (`WebhookSubscription`: `url`, `verifier_token`, `format`
"legacy" or "cloudevents", optionally the realms it covers). While there is one, every
change a data-API write records (`Company._record`: creates, updates, deletes, voids,
and the balance updates a write moves onto other objects, exactly what change data
capture sees) becomes a `WebhookEvent` in the queue; without one, changes are not kept.
Merge and Emailed events have no data-API operation in the emulator: `emit` queues any
event by hand, as Intuit's portal sends test events.

Delivery, on the emulator's clock:

- a delivery is a POST of the queue's head to `url`: in the legacy format, the events
  of one realm (the head's; "sent one realm ID at a time"), in CloudEvents any realms;
  at most `settings.webhook_max_events` (100) events either way. Headers:
  `Content-Type: application/json` and `intuit-signature` (`webhook_signature`);
  `HttpRequest.timeout` is `settings.webhook_timeout` (3 s);
- only a 200 acknowledges it. Any other status, or a `TransportError` (timeout,
  refused, reset), is a failure: the same events are sent again after
  `retry_delay(settings.webhook_retry_schedule, failures)` seconds, counted from the
  failed attempt; while it is unacknowledged every later event is held in the queue.
  Once it succeeds the next delivery is due at once, events in the order they happened;
- `deliver_due()` sends what is due now (several deliveries when each succeeds);
  `run()` does so for ever, sleeping on the clock until the next due time or a new
  event. The aiohttp door starts `run()` with the server; the in-process door never
  starts a task: tests call `deliver_due()` or start `run()` themselves;
- `log` keeps every attempt (`DeliveryAttempt`), the newest `MAX_LOG` of them.

The verifier token is a secret: it is kept out of every repr, log line and control-API
answer. The HTTP transport is an `HttpTransport` (`transport`): a `FakeTransport` in
tests, the door's own aiohttp transport over HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import random
import uuid
from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta

import attrs

from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.store import Change, ChangeOperation
from qbo_adapters.emulator.webhook_payloads import (
    OPERATIONS,
    WebhookEvent,
    WebhookFormat,
    cloudevents_body,
    legacy_body,
    retry_delay,
    webhook_signature,
)
from qbo_core.errors import TransportError
from qbo_core.http import Headers, HttpRequest
from qbo_core.ports.clock import Clock
from qbo_core.ports.http_transport import HttpTransport

__all__ = [
    "MAX_LOG",
    "DeliveryAttempt",
    "NoWebhookTransportError",
    "PendingDelivery",
    "WebhookDispatcher",
    "WebhookSubscription",
]

#: How many delivery attempts `WebhookDispatcher.log` keeps (the newest).
MAX_LOG = 10_000
#: How many events may wait in the queue; past it the oldest queued are dropped (logged).
MAX_QUEUE = 100_000

_log = logging.getLogger(__name__)


def _check_url(_: object, __: attrs.Attribute[str], value: str) -> None:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"the webhook url must be http:// or https://, got {value[:80]!r}")


def _check_verifier(_: object, __: attrs.Attribute[str], value: str) -> None:
    if not value:
        raise ValueError("the webhook verifier token must not be empty")


def _check_format(_: object, __: attrs.Attribute[str], value: str) -> None:
    if value not in ("legacy", "cloudevents"):
        raise ValueError(f"the webhook format is 'legacy' or 'cloudevents', got {value!r}")


def _realm_set(value: Iterable[str] | None) -> frozenset[str] | None:
    return None if value is None else frozenset(value)


@attrs.frozen(kw_only=True)
class WebhookSubscription:
    """Where an app's webhooks go. `realm_ids`: only these realms (`None`: every one).

    `verifier_token` signs every body and never appears in the repr.
    """

    url: str = attrs.field(validator=_check_url)
    verifier_token: str = attrs.field(repr=False, validator=_check_verifier)
    format: WebhookFormat = attrs.field(default="legacy", validator=_check_format)
    realm_ids: frozenset[str] | None = attrs.field(default=None, converter=_realm_set)

    def covers(self, realm_id: str) -> bool:
        return self.realm_ids is None or realm_id in self.realm_ids


@attrs.frozen(kw_only=True)
class DeliveryAttempt:
    """One POST to the subscription's url: when, which events, the attempt's number
    (1 for the first try of these events), and the status or the transport error."""

    at: datetime
    attempt: int
    event_ids: tuple[str, ...]
    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        """Acknowledged: the receiver answered 200."""
        return self.status == 200


@attrs.frozen(kw_only=True)
class PendingDelivery:
    """The delivery at the head of the line: its events, how often it failed, when next."""

    events: tuple[WebhookEvent, ...]
    failures: int
    due: datetime


class NoWebhookTransportError(LookupError):
    """A delivery is due but the dispatcher has no `HttpTransport` to send it with."""


class WebhookDispatcher:
    """Queues change events for the subscription and delivers them (module docstring)."""

    def __init__(
        self,
        *,
        clock: Clock,
        settings: EmulatorSettings,
        transport: HttpTransport | None = None,
        source: str = "intuit.emulator",
    ) -> None:
        self.clock = clock
        self.settings = settings
        self.transport = transport
        self.source = source
        self.log: deque[DeliveryAttempt] = deque(maxlen=MAX_LOG)
        self._subscription: WebhookSubscription | None = None
        self._queue: deque[WebhookEvent] = deque()
        self._pending: PendingDelivery | None = None
        self._rng = random.Random(f"webhooks:{settings.seed}")
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    def __repr__(self) -> str:
        where = self._subscription.url if self._subscription is not None else "unsubscribed"
        return f"WebhookDispatcher({where}, queued={self.queued_count})"

    # -- the subscription -----------------------------------------------------------------

    @property
    def subscription(self) -> WebhookSubscription | None:
        return self._subscription

    def subscribe(self, subscription: WebhookSubscription) -> None:
        """Configure or replace the subscription. Events already queued (and a delivery
        being retried) stay; they are sent with the new url, verifier and format."""
        self._subscription = subscription
        _log.info("webhooks: subscribed %s (%s format)", subscription.url, subscription.format)
        self._wake.set()

    def unsubscribe(self) -> int:
        """Remove the subscription; queued events and a retried delivery are dropped.
        Returns how many events were dropped."""
        dropped = self.queued_count
        self._subscription = None
        self._queue.clear()
        self._pending = None
        self._wake.set()
        return dropped

    def reset(self, *, seed: int) -> None:
        """Forget queued events, the retried delivery and the log (the emulator's
        `reset`); the subscription stays, as an app's would."""
        self._queue.clear()
        self._pending = None
        self.log.clear()
        self._rng = random.Random(f"webhooks:{seed}")
        self._wake.set()

    # -- events -------------------------------------------------------------------------

    def observe(self, change: Change) -> None:
        """A `ChangeObserver`: queue `change` when a subscription covers its realm."""
        self._enqueue(change.realm_id, change.entity, change.id, change.operation, change.at)

    def emit(
        self,
        *,
        realm_id: str,
        entity: str,
        entity_id: str,
        operation: ChangeOperation,
        at: datetime | None = None,
    ) -> WebhookEvent | None:
        """Queue an event by hand (Merge, Emailed, a test event); `at` defaults to now.

        Returns it, or `None` when no subscription covers the realm. `ValueError` for an
        operation Intuit does not send.
        """
        if operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {', '.join(OPERATIONS)}, got {operation!r}")
        return self._enqueue(realm_id, entity, entity_id, operation, at or self.clock.now())

    def _enqueue(
        self, realm_id: str, entity: str, entity_id: str, operation: ChangeOperation, at: datetime
    ) -> WebhookEvent | None:
        subscription = self._subscription
        if subscription is None or not subscription.covers(realm_id):
            return None
        event = WebhookEvent(
            id=str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            realm_id=realm_id,
            entity=entity,
            entity_id=entity_id,
            operation=operation,
            at=at,
        )
        if len(self._queue) >= MAX_QUEUE:
            lost = self._queue.popleft()
            _log.warning("webhooks: queue full, dropped event %s (%s)", lost.id, lost.entity)
        self._queue.append(event)
        self._wake.set()
        return event

    @property
    def queued(self) -> list[WebhookEvent]:
        """Events waiting behind the pending delivery, oldest first."""
        return list(self._queue)

    @property
    def pending(self) -> PendingDelivery | None:
        """The delivery being retried (sent and not acknowledged), if any."""
        return self._pending

    @property
    def queued_count(self) -> int:
        """Every event not yet acknowledged: the pending delivery's and the queue's."""
        pending = len(self._pending.events) if self._pending is not None else 0
        return pending + len(self._queue)

    def next_due(self) -> datetime | None:
        """When the next attempt is due: the pending delivery's retry time, or the oldest
        queued event's time; `None` with nothing to send (or no subscription)."""
        if self._subscription is None:
            return None
        if self._pending is not None:
            return self._pending.due
        return self._queue[0].at if self._queue else None

    # -- delivery -------------------------------------------------------------------------

    async def deliver_due(self) -> int:
        """Send every delivery due now on the clock; returns how many attempts were made.

        Stops at the first failure (later events stay held). `NoWebhookTransportError`
        when something is due and `transport` is `None`.
        """
        async with self._lock:
            attempts = 0
            while True:
                due = self.next_due()
                if due is None or due > self.clock.now():
                    return attempts
                if not await self._attempt():
                    return attempts + 1
                attempts += 1

    async def deliver_now(self) -> int:
        """Make a delivery being retried due now (skipping its wait), then `deliver_due`."""
        if self._pending is not None:
            self._pending = attrs.evolve(self._pending, due=self.clock.now())
        return await self.deliver_due()

    def wake(self) -> None:
        """Tell `run()` to look again (the clock moved, a subscription changed)."""
        self._wake.set()

    async def run(self, *, sleep_on_clock: bool = True) -> None:
        """Deliver for ever: what is due, then sleep on the clock until the next due time
        or a new event. With `sleep_on_clock=False` it waits for a new event or `wake()`
        instead of sleeping until a retry (a `FakeClock` that only a test or the control
        API moves must not be moved by this loop's sleeping). Cancel it to stop."""
        self._wake = asyncio.Event()  # bound to this loop (a served emulator may outlive one)
        while True:
            self._wake.clear()
            try:
                await self.deliver_due()
            except NoWebhookTransportError:
                _log.warning("webhooks: a delivery is due but there is no transport to send it")
                await self._wake.wait()
                continue
            except Exception:  # an emulator bug: keep serving, keep the evidence in the log
                _log.exception("webhooks: delivery failed unexpectedly")
                await self._wake.wait()
                continue
            due = self.next_due()
            if due is None or not sleep_on_clock:
                await self._wake.wait()
                continue
            delay = (due - self.clock.now()).total_seconds()
            if delay <= 0:
                continue
            await self._sleep_or_wake(delay)

    async def _sleep_or_wake(self, delay: float) -> None:
        sleeper = asyncio.ensure_future(self.clock.sleep(delay))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait((sleeper, waker), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)

    def _next_batch(self) -> tuple[WebhookEvent, ...]:
        assert self._subscription is not None
        cap = max(1, self.settings.webhook_max_events)
        legacy = self._subscription.format == "legacy"
        head_realm = self._queue[0].realm_id
        batch: list[WebhookEvent] = []
        while self._queue and len(batch) < cap:
            if legacy and self._queue[0].realm_id != head_realm:
                break
            batch.append(self._queue.popleft())
        return tuple(batch)

    def body(self, events: Iterable[WebhookEvent]) -> bytes:
        """The body the subscription's format gives `events`."""
        subscription = self._subscription
        if subscription is not None and subscription.format == "cloudevents":
            return cloudevents_body(events, source=self.source)
        return legacy_body(events)

    async def _attempt(self) -> bool:
        """One POST of the head delivery; True when it was acknowledged."""
        subscription = self._subscription
        assert subscription is not None
        if self.transport is None:
            raise NoWebhookTransportError(
                "a webhook delivery is due but the emulator has no transport to send it "
                "(QBOEmulator(webhook_transport=...), or serve it over HTTP)"
            )
        now = self.clock.now()
        if self._pending is None:
            self._pending = PendingDelivery(events=self._next_batch(), failures=0, due=now)
        pending = self._pending
        body = self.body(pending.events)
        request = HttpRequest(
            method="POST",
            url=subscription.url,
            headers=Headers(
                [
                    ("Content-Type", "application/json"),
                    ("intuit-signature", webhook_signature(body, subscription.verifier_token)),
                    ("User-Agent", "qbo-emulator-webhooks"),
                ]
            ),
            body=body,
            timeout=self.settings.webhook_timeout,
        )
        status: int | None = None
        error: str | None = None
        try:
            response = await self.transport.send(request)
            status = response.status
        except TransportError as exc:
            error = f"{type(exc).__name__}: {exc}"
        attempt = DeliveryAttempt(
            at=now,
            attempt=pending.failures + 1,
            event_ids=tuple(event.id for event in pending.events),
            status=status,
            error=error,
        )
        self.log.append(attempt)
        if self._subscription is None:  # unsubscribed while the request was out: forget it
            return attempt.ok
        if attempt.ok:
            _log.debug(
                "webhooks: delivered %d event(s) to %s (attempt %d)",
                len(pending.events),
                subscription.url,
                attempt.attempt,
            )
            self._pending = None
            return True
        failures = pending.failures + 1
        wait = retry_delay(self.settings.webhook_retry_schedule, failures)
        self._pending = PendingDelivery(
            events=pending.events, failures=failures, due=now + timedelta(seconds=wait)
        )
        _log.info(
            "webhooks: delivery of %d event(s) to %s failed (attempt %d: %s); retry in %gs",
            len(pending.events),
            subscription.url,
            attempt.attempt,
            status if status is not None else error,
            wait,
        )
        return False


def event_source(client_id: str) -> str:
    """A stable CloudEvents `source` for the emulator's app, shaped like Intuit's."""
    digest = hashlib.sha256(client_id.encode("utf-8")).digest()
    return "intuit." + base64.b64encode(digest).decode("ascii")
