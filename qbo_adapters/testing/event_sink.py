"""The `EventSink` contract suite, for every event sink (yours included).

Subclass `EventSinkContract` in a test module as `Test<YourSink>(EventSinkContract)`,
implement `make_event_sink`, and, if you can see what your sink kept (a list, a
log capture, an exporter's buffer), `recorded` too: then the suite also checks
that no credential ever reaches it, and that ordinary data does::

    class TestRecordingEventSink(EventSinkContract):
        @contextlib.asynccontextmanager
        async def make_event_sink(self, clock: FakeClock) -> AsyncIterator[EventSink]:
            yield RecordingEventSink()

        def recorded(self, sink: EventSink) -> str | None:
            assert isinstance(sink, RecordingEventSink)
            return "\\n".join(repr(event) for event in sink.events)

Planted secrets are distinctive marker strings, so a check that one is absent
cannot pass by accident and cannot fail on an unrelated substring.
"""

from __future__ import annotations

import contextlib
import itertools
from decimal import Decimal
from typing import ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import rule

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.testing._machine import AsyncAdapterMachine, ContractSuite
from qbo_core.dtos import QBOEvent
from qbo_core.ports.event_sink import EventSink

__all__ = ["EventSinkContract"]

_SECRET_KEYS = (
    "access_token",
    "refresh_token",
    "client_secret",
    "Authorization",
    "password",
    "id_token",
    "code_verifier",
)
_PLAIN_KEYS = ("status", "attempt", "path", "", "key with spaces", "kind", "at", "realm")
_PLAIN_VALUES = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
)
_KINDS = ("http.request", "http.retry", "rate.throttled", "token.refreshed", "health.alert", "x")


def _secret_marker(number: int) -> str:
    return f"S3cr3tMarker{number:06d}Zq"


def _plain_marker(number: int) -> str:
    return f"PlainMarker{number:06d}Qz"


def _disguised_secrets(marker: str) -> dict[str, object]:
    """Attributes under harmless names whose values carry `marker` in token-looking text."""
    return {
        "header": f"Bearer {marker}",
        "detail": f"QBO said: Token expired: {marker}",
        "body": f'{{"access_token": "{marker}", "expires_in": 3600}}',
        "query": f"grant_type=refresh_token&refresh_token={marker}",
        "jwt": f"eyJhbGciOi.eyJ{marker}.{marker}",
        "redirect": f"https://app.example/callback?code={marker}&state=s1",
    }


def _secret_attributes(marker: str) -> dict[str, object]:
    """Attributes under secret names (top level and nested) whose values are `marker`."""
    return {
        **dict.fromkeys(_SECRET_KEYS, marker),
        "oauth": {"refresh_token": marker, "nested": {"client_secret": marker}},
    }


class EventSinkContract(ContractSuite):
    """Contract tests for the `EventSink` port; subclass and implement `make_event_sink`."""

    def make_event_sink(
        self, clock: FakeClock
    ) -> contextlib.AbstractAsyncContextManager[EventSink]:
        """An async context manager yielding a fresh sink (time, if it needs any, on `clock`)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement make_event_sink(clock) to run the "
            "EventSink contract: return an async context manager (e.g. via "
            "contextlib.asynccontextmanager) that yields a new sink"
        )

    def recorded(self, sink: EventSink) -> str | None:
        """Everything `sink` has kept so far, as text; `None` if it cannot be observed.

        Override it for sinks whose output a test can see, so the suite can check
        that secrets never reach it while ordinary values do.
        """
        return None

    async def test_emit_accepts_events_of_every_shape(self) -> None:
        """Emitting events of any kind, optional fields and plain attribute values never raises."""
        clock = FakeClock()
        attribute_sets: list[dict[str, object]] = [
            {},
            {"status": 200, "elapsed": 0.125, "ok": True, "missing": None},
            {"amount": Decimal("12.50"), "when": clock.now(), "raw": b"\x00\xff"},
            {"ids": [1, 2, 3], "pair": ("a", "b"), "nested": {"deep": {"deeper": [{"x": 1}]}}},
            {"text": "quotes \" and ' and = and \\ and\nnewlines", "unicode": "café ✓ 日本"},
            {"": "empty key", "key with spaces": "v", "kind": "shadowing the kind"},
        ]
        async with self.make_event_sink(clock) as sink:
            for kind, attributes in zip(itertools.cycle(_KINDS), attribute_sets, strict=False):
                sink.emit(QBOEvent(kind=kind, at=clock.now(), attributes=attributes))
                sink.emit(
                    QBOEvent(
                        kind=kind,
                        at=clock.now(),
                        realm_id="9130350000000001",
                        business_id="business 42",
                        attributes=attributes,
                    )
                )

    async def test_emit_accepts_secret_attributes(self) -> None:
        """Emitting events full of secret-named keys and token-looking values never raises."""
        clock = FakeClock()
        attributes = {**_secret_attributes("x" * 40), **_disguised_secrets("y" * 40)}
        async with self.make_event_sink(clock) as sink:
            for kind in _KINDS:
                sink.emit(QBOEvent(kind=kind, at=clock.now(), attributes=attributes))

    async def test_secrets_never_reach_what_the_sink_keeps(self) -> None:
        """Values under secret-named keys and token-looking strings never reach the output."""
        clock = FakeClock()
        secret, plain = _secret_marker(1), _plain_marker(1)
        attributes = {
            **_secret_attributes(secret),
            **_disguised_secrets(secret),
            "status": plain,
        }
        async with self.make_event_sink(clock) as sink:
            sink.emit(
                QBOEvent(
                    kind="token.refreshed", at=clock.now(), realm_id="r1", attributes=attributes
                )
            )
            kept = self.recorded(sink)
        if kept is not None:
            assert plain in kept, "the sink kept nothing observable; recorded() sees no data"
            assert secret not in kept

    async def test_ordinary_values_are_kept(self) -> None:
        """Kind, realm and harmless attribute values of an event reach the sink's output."""
        clock = FakeClock()
        plain = _plain_marker(2)
        async with self.make_event_sink(clock) as sink:
            sink.emit(
                QBOEvent(
                    kind="http.request",
                    at=clock.now(),
                    realm_id="9130350000000001",
                    attributes={"path": f"/v3/company/{plain}", "status": 200},
                )
            )
            kept = self.recorded(sink)
        if kept is not None:
            assert "http.request" in kept
            assert "9130350000000001" in kept
            assert plain in kept

    def test_never_keeps_a_secret_under_random_events(self) -> None:
        """In random streams of events with planted secrets, no secret reaches the output."""

        class Machine(_EventSinkMachine):
            contract = self

        self.run_machine(Machine)


class _EventSinkMachine(AsyncAdapterMachine[EventSink]):
    """Random events with planted secrets; the sink's output must never show one."""

    contract: ClassVar[EventSinkContract]

    def __init__(self) -> None:
        self.clock = FakeClock(auto_advance=False)
        self.factory = lambda: self.contract.make_event_sink(self.clock)
        super().__init__()
        self.numbers = itertools.count()
        self.secrets: list[str] = []

    @rule(
        kind=st.sampled_from(_KINDS),
        realm_id=st.none() | st.sampled_from(["r1", "9130350000000001", "a:b c"]),
        secret_keys=st.lists(st.sampled_from(_SECRET_KEYS), max_size=3),
        disguised=st.lists(st.sampled_from(sorted(_disguised_secrets("m"))), max_size=3),
        extra=st.dictionaries(st.sampled_from(_PLAIN_KEYS), _PLAIN_VALUES, max_size=4),
        seconds=st.integers(min_value=0, max_value=120),
    )
    def emit(
        self,
        kind: str,
        realm_id: str | None,
        secret_keys: list[str],
        disguised: list[str],
        extra: dict[str, object],
        seconds: int,
    ) -> None:
        number = next(self.numbers)
        secret, plain = _secret_marker(number), _plain_marker(number)
        shapes = _disguised_secrets(secret)
        attributes: dict[str, object] = {
            **extra,
            **dict.fromkeys(secret_keys, secret),
            **{name: shapes[name] for name in disguised},
            "marker": plain,
        }
        self.clock.advance(seconds)
        self.adapter.emit(
            QBOEvent(kind=kind, at=self.clock.now(), realm_id=realm_id, attributes=attributes)
        )
        self.secrets.append(secret)
        kept = self.contract.recorded(self.adapter)
        if kept is not None:
            assert plain in kept
            for planted in self.secrets:
                assert planted not in kept
