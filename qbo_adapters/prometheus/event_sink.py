"""`PrometheusEventSink`: the `EventSink` port as Prometheus metrics.

Each event the services emit moves a counter, a histogram or a gauge; nothing else of the
event is kept. With the default `namespace="qbo"` the metrics are:

=====================================  =========  ====================================
metric                                 type       labels
=====================================  =========  ====================================
qbo_http_requests_total                counter    realm, operation, outcome
qbo_http_request_duration_seconds      histogram  realm, operation
qbo_http_retries_total                 counter    realm, operation
qbo_rate_throttled_total               counter    realm
qbo_rate_held_back_total               counter    realm
qbo_rate_held_back_seconds_total       counter    realm
qbo_token_refreshes_total              counter    realm, outcome
qbo_cache_events_total                 counter    realm, result
qbo_alerts_active                      gauge      realm, alert
qbo_events_dropped_total               counter    (none)
=====================================  =========  ====================================

From the events (`qbo_core.events`):

- `http.request` (one HTTP exchange with QBO): `http_requests_total`, with `outcome`
  derived from the event's `status` and `error` (see `request_outcome`): `ok`,
  `client_error`, `server_error`, `throttled` or `transport_error`; and, when it carries
  `duration_ms`, one observation of `http_request_duration_seconds`.
- `http.retry`: `http_retries_total`.
- `rate.throttled` (QBO answered 429): `rate_throttled_total`.
- `rate.held_back` (the realm held back in every process): `rate_held_back_total`, and its
  `wait` added to `rate_held_back_seconds_total`.
- `token.refreshed` / `token.refresh_failed`: `token_refreshes_total` with `outcome` `ok`,
  `invalid_grant` (the refresh token is dead: the user must connect again) or `error`.
  A `token.refreshed` of grant `authorization_code` is a connection's first tokens, not a
  refresh, and is not counted.
- `cache.hit` / `cache.miss` / `cache.coalesced` / `cache.error`: `cache_events_total` with
  `result` `hit`, `miss`, `coalesced` or `error`.
- `health.alert.raised` / `health.alert.cleared`: `alerts_active`, by the event's `alert`
  attribute: 1 while the alert is raised for the realm, 0 once cleared (raising twice or
  clearing an alert that is not raised changes nothing).

Every other kind is ignored. Events without a realm count under `realm=""`.

`realm_label=False` drops the `realm` label from every metric: a fleet with thousands of
realms would otherwise keep a series per realm for each combination of the other labels
(the latency histogram alone is a dozen series per realm and operation), which is memory
in this process and in Prometheus, and time on every scrape. Without it the metrics say
how the fleet is doing but not which realm; `alerts_active` then counts the realms where
each alert is raised.

Label values come only from the fields named above, never from any other attribute, so
no secret-named attribute can become a label; the `operation` and `alert` texts pass
through `redact` and are cut at 100 characters, and a value of the wrong type counts as
`"unknown"`. `emit` never raises and never blocks (a metric update is a lock and an
addition): an event it cannot record (not a `QBOEvent`, a broken attribute mapping) is
counted in `dropped` and in `events_dropped_total`.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Mapping

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from qbo_core import errors, events
from qbo_core.dtos import QBOEvent
from qbo_core.redaction import redact

__all__ = ["LATENCY_BUCKETS", "OUTCOMES", "PrometheusEventSink", "request_outcome"]

#: The latency histogram's upper bounds, in seconds: QBO answers most calls within a
#: second, reports and large queries within tens of seconds.
LATENCY_BUCKETS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

#: The values of `qbo_http_requests_total`'s `outcome` label.
OUTCOMES: tuple[str, ...] = ("ok", "client_error", "server_error", "throttled", "transport_error")

#: The longest label value taken from an event's text (operation, alert name).
_MAX_LABEL_CHARS = 100

#: How much of an event's text is scanned for credentials before it is cut to a label.
_SCANNED_CHARS = 4096

_UNKNOWN = "unknown"

_CACHE_RESULTS: Mapping[str, str] = {
    events.CACHE_HIT: "hit",
    events.CACHE_MISS: "miss",
    events.CACHE_COALESCED: "coalesced",
    events.CACHE_ERROR: "error",
}


def request_outcome(status: object, error: object) -> str:
    """The `outcome` of one `http.request` event, from its `status` and `error` attributes.

    - `throttled`: status 429, or a `ThrottledError`;
    - `transport_error`: no answer arrived (a `TransportError`, or no status at all), or
      a success whose body was lost on its way (`IncompleteResponseError`);
    - `server_error`: status 5xx, or a success status whose body could not be used;
    - `client_error`: status 4xx, or a refusal QBO sent with a success status (a
      validation or authentication error decoded from the body);
    - `ok`: a status below 400 and no error.

    `error` is the error's class name, as the raw client reports it; names outside
    `qbo_core.errors` count by status alone. Values of the wrong type count as absent.
    """
    code = status if isinstance(status, int) and not isinstance(status, bool) else None
    kind = _error_class(error)
    if code == 429 or (kind is not None and issubclass(kind, errors.ThrottledError)):
        return "throttled"
    if kind is not None and issubclass(
        kind, errors.TransportError | errors.IncompleteResponseError
    ):
        return "transport_error"
    if code is None:
        return "transport_error"  # no status: nothing says an answer arrived
    if code >= 500:
        return "server_error"
    if code >= 400:
        return "client_error"
    if error is None:
        return "ok"
    if kind is not None and issubclass(kind, errors.ValidationError | errors.AuthenticationError):
        return "client_error"
    return "server_error"


def _error_class(name: object) -> type[errors.QBOError] | None:
    if not isinstance(name, str):
        return None
    found = getattr(errors, name, None)  # only a QBOError class there counts, below
    if isinstance(found, type) and issubclass(found, errors.QBOError):
        return found
    return None


@functools.lru_cache(maxsize=1024)
def _clean(text: str) -> str:
    """`text` as a label value: credentials masked, at most `_MAX_LABEL_CHARS` long."""
    return redact(text)[:_MAX_LABEL_CHARS]


def _text_label(value: object) -> str:
    """A label value from an event's text attribute; `"unknown"` for anything else.

    Only the first `_SCANNED_CHARS` are looked at (and cached): a credential starting
    within the kept part is still long enough there for `redact` to recognise it.
    """
    if not isinstance(value, str) or not value:
        return _UNKNOWN
    return _clean(value[:_SCANNED_CHARS])


def _seconds(value: object, scale: float = 1.0) -> float | None:
    """A non-negative, finite number of seconds from `value`, or `None`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    seconds = float(value) * scale
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class PrometheusEventSink:
    """Keeps Prometheus metrics of the events it receives (see the module docstring).

    The metrics are registered on `registry` as the sink is made: by default
    `prometheus_client`'s global registry (where `start_http_server` and most hosts'
    exporters look); pass a `CollectorRegistry` of your own to keep them apart, or to make
    more than one sink in a process (metric names are unique per registry, so a second
    sink on the same registry raises `ValueError`). `namespace` prefixes every metric name
    (`"qbo"`: `qbo_http_requests_total`). Serve the registry with
    `qbo_adapters.prometheus.metrics_handler` or any Prometheus exporter.

    `realm_label=False` drops the `realm` label everywhere, for fleets with many realms.
    Thread-safe: `emit` may be called from any thread.
    """

    def __init__(
        self,
        *,
        registry: CollectorRegistry | None = None,
        namespace: str = "qbo",
        realm_label: bool = True,
    ) -> None:
        self.registry = registry if registry is not None else REGISTRY
        self.realm_label = realm_label
        self.dropped = 0
        realm = ("realm",) if realm_label else ()
        self._requests = Counter(
            "http_requests",
            "HTTP exchanges with QBO, by outcome (ok, client_error, server_error, throttled, "
            "transport_error).",
            (*realm, "operation", "outcome"),
            namespace=namespace,
            registry=self.registry,
        )
        self._latency = Histogram(
            "http_request_duration_seconds",
            "Time from sending a request to QBO to having its whole answer (or failing).",
            (*realm, "operation"),
            buckets=LATENCY_BUCKETS,
            namespace=namespace,
            registry=self.registry,
        )
        self._retries = Counter(
            "http_retries",
            "Failed calls retried after a wait by smart sync.",
            (*realm, "operation"),
            namespace=namespace,
            registry=self.registry,
        )
        self._throttled = Counter(
            "rate_throttled",
            "Calls QBO answered with 429 (throttled).",
            realm,
            namespace=namespace,
            registry=self.registry,
        )
        self._held_back = Counter(
            "rate_held_back",
            "Times a realm was held back in every process sharing its quota, after a 429.",
            realm,
            namespace=namespace,
            registry=self.registry,
        )
        self._held_back_seconds = Counter(
            "rate_held_back_seconds",
            "Seconds of hold-back ordered after 429s (overlapping hold-backs add up).",
            realm,
            namespace=namespace,
            registry=self.registry,
        )
        self._refreshes = Counter(
            "token_refreshes",
            "Access-token refreshes, by outcome (ok, invalid_grant, error).",
            (*realm, "outcome"),
            namespace=namespace,
            registry=self.registry,
        )
        self._cache = Counter(
            "cache_events",
            "Smart sync's cache lookups and failures, by result (hit, miss, coalesced, error).",
            (*realm, "result"),
            namespace=namespace,
            registry=self.registry,
        )
        self._alerts = Gauge(
            "alerts_active",
            "Health alerts raised and not yet cleared"
            + (" (1 while raised)." if realm_label else " (the realms where each is raised)."),
            (*realm, "alert"),
            namespace=namespace,
            registry=self.registry,
        )
        self._dropped = Counter(
            "events_dropped",
            "Events the Prometheus sink could not record.",
            namespace=namespace,
            registry=self.registry,
        )
        self._active: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._handlers: Mapping[str, Callable[[QBOEvent, Mapping[str, object], str], None]] = {
            events.HTTP_REQUEST: self._on_request,
            events.HTTP_RETRY: self._on_retry,
            events.RATE_THROTTLED: self._on_throttled,
            events.RATE_HELD_BACK: self._on_held_back,
            events.TOKEN_REFRESHED: self._on_refreshed,
            events.TOKEN_REFRESH_FAILED: self._on_refresh_failed,
            events.ALERT_RAISED: self._on_alert_raised,
            events.ALERT_CLEARED: self._on_alert_cleared,
            **dict.fromkeys(_CACHE_RESULTS, self._on_cache),
        }

    def emit(self, event: QBOEvent) -> None:
        try:
            handle = self._handlers.get(event.kind)
            if handle is None:
                return
            realm = event.realm_id if isinstance(event.realm_id, str) else ""
            attributes = event.attributes if isinstance(event.attributes, Mapping) else {}
            handle(event, attributes, realm)
        except Exception:
            self._drop()

    def __repr__(self) -> str:
        return f"PrometheusEventSink(realm_label={self.realm_label}, dropped={self.dropped})"

    # -- one method per kind ---------------------------------------------------------

    def _on_request(self, event: QBOEvent, attributes: Mapping[str, object], realm: str) -> None:
        operation = _text_label(attributes.get("operation"))
        outcome = request_outcome(attributes.get("status"), attributes.get("error"))
        self._requests.labels(**self._labels(realm, operation=operation, outcome=outcome)).inc()
        seconds = _seconds(attributes.get("duration_ms"), 0.001)
        if seconds is not None:
            self._latency.labels(**self._labels(realm, operation=operation)).observe(seconds)

    def _on_retry(self, event: QBOEvent, attributes: Mapping[str, object], realm: str) -> None:
        operation = _text_label(attributes.get("operation"))
        self._retries.labels(**self._labels(realm, operation=operation)).inc()

    def _on_throttled(self, event: QBOEvent, attributes: Mapping[str, object], realm: str) -> None:
        self._counter(self._throttled, realm).inc()

    def _on_held_back(self, event: QBOEvent, attributes: Mapping[str, object], realm: str) -> None:
        self._counter(self._held_back, realm).inc()
        seconds = _seconds(attributes.get("wait"))
        if seconds is not None:
            self._counter(self._held_back_seconds, realm).inc(seconds)

    def _on_refreshed(self, event: QBOEvent, attributes: Mapping[str, object], realm: str) -> None:
        if attributes.get("grant") == "authorization_code":
            return  # a connection's first tokens: not a refresh
        self._refreshes.labels(**self._labels(realm, outcome="ok")).inc()

    def _on_refresh_failed(
        self, event: QBOEvent, attributes: Mapping[str, object], realm: str
    ) -> None:
        outcome = "invalid_grant" if attributes.get("reason") == "invalid_grant" else "error"
        self._refreshes.labels(**self._labels(realm, outcome=outcome)).inc()

    def _on_cache(self, event: QBOEvent, attributes: Mapping[str, object], realm: str) -> None:
        self._cache.labels(**self._labels(realm, result=_CACHE_RESULTS[event.kind])).inc()

    def _on_alert_raised(
        self, event: QBOEvent, attributes: Mapping[str, object], realm: str
    ) -> None:
        alert = _text_label(attributes.get("alert"))
        with self._lock:
            if (realm, alert) in self._active:
                return
            self._active.add((realm, alert))
            self._alerts.labels(**self._labels(realm, alert=alert)).inc()

    def _on_alert_cleared(
        self, event: QBOEvent, attributes: Mapping[str, object], realm: str
    ) -> None:
        alert = _text_label(attributes.get("alert"))
        with self._lock:
            if (realm, alert) not in self._active:
                return
            self._active.discard((realm, alert))
            self._alerts.labels(**self._labels(realm, alert=alert)).dec()

    # -- plumbing --------------------------------------------------------------------

    def _labels(self, realm: str, **labels: str) -> dict[str, str]:
        if self.realm_label:
            labels["realm"] = realm
        return labels

    def _counter(self, counter: Counter, realm: str) -> Counter:
        return counter.labels(realm=realm) if self.realm_label else counter

    def _drop(self) -> None:
        try:
            with self._lock:
                self.dropped += 1
            self._dropped.inc()
        except Exception:  # noqa: S110 - emit never raises, even when counting a drop fails
            pass
