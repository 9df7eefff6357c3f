"""Prometheus metrics from qbo-infra's events (the `prometheus` extra: prometheus-client).

`PrometheusEventSink` is an `EventSink` that turns the services' events into counters, a
latency histogram and an alerts gauge (names, labels and their meaning in
`qbo_adapters.prometheus.event_sink`); `metrics_handler(registry)` is an `aiohttp.web`
handler a host mounts at `/metrics` to be scraped. Nothing else in qbo-infra imports this
folder, so only hosts that use it need prometheus-client.
"""

from qbo_adapters.prometheus.event_sink import (
    LATENCY_BUCKETS,
    OUTCOMES,
    PrometheusEventSink,
    request_outcome,
)
from qbo_adapters.prometheus.handler import metrics_handler

__all__ = [
    "LATENCY_BUCKETS",
    "OUTCOMES",
    "PrometheusEventSink",
    "metrics_handler",
    "request_outcome",
]
