"""`events.prometheus`: the container adds a `PrometheusEventSink` to its fan-out, on a
registry of its own that the facade hands out typed; off by default."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from qbo_adapters.memory.event_sinks import LoggingEventSink, RecordingEventSink
from qbo_adapters.prometheus import PrometheusEventSink
from qbo_container import QBO, build_container, load_settings
from qbo_core import events
from qbo_core.dtos import RealmAuth
from qbo_core.errors import ConfigurationError
from qbo_core.services.health import HealthRecorder

MEMORY: dict[str, dict[str, Any]] = {"token_store": {"backend": "memory"}}


def _samples(registry: CollectorRegistry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = generate_latest(registry).decode("utf-8")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _auth(qbo: QBO) -> RealmAuth:
    emulator = qbo.embedded_emulator()
    realm = emulator.realm_ids[0]
    return RealmAuth(realm_id=realm, access_token=emulator.oauth.mint_tokens(realm)["access_token"])


async def test_prometheus_is_off_by_default() -> None:
    """With nothing set the fan-out holds the logging sink and the health recorder only,
    and asking the facade for the registry says which setting turns metrics on."""
    async with QBO.open(MEMORY, environ={}) as qbo:
        assert [type(sink) for sink in qbo.container.event_sink().sinks] == [
            LoggingEventSink,
            HealthRecorder,
        ]
        with pytest.raises(ConfigurationError) as caught:
            qbo.prometheus_registry()
    assert caught.value.field == "events.prometheus"


async def test_switched_on_the_services_events_become_metrics() -> None:
    """`events.prometheus = true`: the sink joins the fan-out after the configured backend
    (and before the health recorder), both receive the raw client's events, and the
    metrics are in `prometheus_registry()`."""
    settings: dict[str, dict[str, Any]] = {
        **MEMORY,
        "events": {"backend": "recording", "prometheus": True},
    }
    async with QBO.open(settings, environ={}) as qbo:
        backend, metrics, recorder = qbo.container.event_sink().sinks
        assert recorder is qbo.health_recorder
        assert isinstance(backend, RecordingEventSink)
        assert isinstance(metrics, PrometheusEventSink)
        auth = _auth(qbo)
        await qbo.raw_client.company_info(auth)
        registry = qbo.prometheus_registry()
    assert registry is metrics.registry
    assert backend.kinds() == [events.HTTP_REQUEST]
    labels = {"realm": auth.realm_id, "operation": "company_info", "outcome": "ok"}
    assert _samples(registry)[("qbo_http_requests_total", frozenset(labels.items()))] == 1


async def test_namespace_and_realm_label_settings_reach_the_sink() -> None:
    """`prometheus_namespace` renames the metrics; `prometheus_realm_label = false` drops
    the realm label (both also from the environment, as text)."""
    environ = {
        "QBO_EVENTS__PROMETHEUS": "true",
        "QBO_EVENTS__PROMETHEUS_NAMESPACE": "books",
        "QBO_EVENTS__PROMETHEUS_REALM_LABEL": "false",
    }
    async with QBO.open(MEMORY, environ=environ) as qbo:
        await qbo.raw_client.company_info(_auth(qbo))
        samples = _samples(qbo.prometheus_registry())
    labels = {"operation": "company_info", "outcome": "ok"}
    assert samples[("books_http_requests_total", frozenset(labels.items()))] == 1
    assert all(name.startswith("books_") for name, _ in samples)
    assert all("realm" not in dict(found) for _, found in samples)


def test_each_container_has_its_own_registry() -> None:
    """Two containers in one process each register their metrics without colliding."""
    settings: dict[str, dict[str, Any]] = {**MEMORY, "events": {"prometheus": True}}
    first, second = build_container(settings, environ={}), build_container(settings, environ={})
    first.event_sink(), second.event_sink()
    assert first.prometheus_registry() is not second.prometheus_registry()
    assert first.prometheus_registry() is first.prometheus_sink().registry


async def test_a_replaced_event_sink_has_no_registry_to_give() -> None:
    """With `event_sink` replaced at open the container's sinks are unused: asking for the
    registry says so rather than handing out metrics that never move."""
    settings: dict[str, dict[str, Any]] = {**MEMORY, "events": {"prometheus": True}}
    async with QBO.open(settings, environ={}, event_sink=RecordingEventSink()) as qbo:
        with pytest.raises(ConfigurationError) as caught:
            qbo.prometheus_registry()
    assert caught.value.field == "event_sink"


def test_without_the_extra_switching_it_on_names_the_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where prometheus_client cannot be imported, `events.prometheus = true` is refused as
    the settings load, naming the field and the extra; left off, nothing needs it."""
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(
        ConfigurationError, match=r"events.prometheus = true needs .*'qbo-infra\[prometheus\]'"
    ) as caught:
        load_settings({"events": {"prometheus": True}}, environ={})
    assert caught.value.field == "events.prometheus"
    assert (
        load_settings({"events": {"prometheus": False}}, environ={})["events"]["prometheus"]
        is False
    )


@pytest.mark.parametrize("namespace", ["", "9lives", "qbo-metrics", "a b"])
def test_a_namespace_that_is_no_metric_prefix_is_refused(namespace: str) -> None:
    """`prometheus_namespace` must be usable at the front of a metric name."""
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"events": {"prometheus_namespace": namespace}}, environ={})
    assert caught.value.field == "events.prometheus_namespace"
