"""Event sinks: the EventSink contract for each, plus recorder, logger and fan-out specifics."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from qbo_adapters.memory.clock import FakeClock
from qbo_adapters.memory.event_sinks import FanOutEventSink, LoggingEventSink, RecordingEventSink
from qbo_adapters.testing.event_sink import EventSinkContract
from qbo_core.dtos import QBOEvent
from qbo_core.ports.event_sink import EventSink

AT = datetime(2026, 1, 1, 12, 30, tzinfo=UTC)


class _ListHandler(logging.Handler):
    """Keeps every record it handles."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class _BrokenHandler(logging.Handler):
    """A handler that fails without reporting through handleError."""

    def handle(self, record: logging.LogRecord) -> bool:
        raise RuntimeError("disk full")


class _BrokenSink:
    """A sink breaking the port's promise by raising from emit."""

    def emit(self, event: QBOEvent) -> None:
        raise RuntimeError("exporter down")


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("cannot render")

    __repr__ = __str__


def _capturing_logger() -> tuple[logging.Logger, _ListHandler]:
    logger = logging.Logger("qbo.events.test", logging.DEBUG)
    handler = _ListHandler()
    logger.addHandler(handler)
    return logger, handler


def _logged(handler: _ListHandler) -> str:
    return "\n".join(
        f"{record.getMessage()} {getattr(record, 'qbo_event', None)!r}"
        for record in handler.records
    )


def _event(kind: str = "http.request", **attributes: object) -> QBOEvent:
    return QBOEvent(kind=kind, at=AT, realm_id="9130", attributes=attributes)


# ---------------------------------------------------------------- contract runs


class TestRecordingEventSink(EventSinkContract):
    """The contract against the in-memory recorder."""

    @contextlib.asynccontextmanager
    async def make_event_sink(self, clock: FakeClock) -> AsyncIterator[EventSink]:
        yield RecordingEventSink()

    def recorded(self, sink: EventSink) -> str | None:
        assert isinstance(sink, RecordingEventSink)
        return "\n".join(repr(event) for event in sink.events)


class TestLoggingEventSink(EventSinkContract):
    """The contract against the logging sink, reading back what reached its logger."""

    @contextlib.asynccontextmanager
    async def make_event_sink(self, clock: FakeClock) -> AsyncIterator[EventSink]:
        logger, _ = _capturing_logger()
        yield LoggingEventSink(logger)

    def recorded(self, sink: EventSink) -> str | None:
        assert isinstance(sink, LoggingEventSink)
        (handler,) = sink.logger.handlers
        assert isinstance(handler, _ListHandler)
        return _logged(handler)


class TestFanOutEventSink(EventSinkContract):
    """The contract against a fan-out to a recorder, a logger and a broken sink."""

    @contextlib.asynccontextmanager
    async def make_event_sink(self, clock: FakeClock) -> AsyncIterator[EventSink]:
        logger, _ = _capturing_logger()
        yield FanOutEventSink(_BrokenSink(), RecordingEventSink(), LoggingEventSink(logger))

    def recorded(self, sink: EventSink) -> str | None:
        assert isinstance(sink, FanOutEventSink)
        _, recorder, logging_sink = sink.sinks
        assert isinstance(recorder, RecordingEventSink)
        assert isinstance(logging_sink, LoggingEventSink)
        (handler,) = logging_sink.logger.handlers
        assert isinstance(handler, _ListHandler)
        return "\n".join([*(repr(event) for event in recorder.events), _logged(handler)])


# ---------------------------------------------------------------- RecordingEventSink


def test_recorder_keeps_events_in_order() -> None:
    """The recorder returns every event it received, oldest first."""
    sink = RecordingEventSink()
    for kind in ("http.request", "http.retry", "token.refreshed"):
        sink.emit(_event(kind))
    assert sink.kinds() == ["http.request", "http.retry", "token.refreshed"]
    assert len(sink) == 3
    assert [event.kind for event in sink] == sink.kinds()


def test_recorder_keeps_plain_attributes_unchanged() -> None:
    """Harmless attribute values are kept as they were, with their types."""
    sink = RecordingEventSink()
    sink.emit(_event(status=200, elapsed=0.5, path="/v3/company/1/query", ids=(1, 2)))
    (event,) = sink.events
    assert dict(event.attributes) == {
        "status": 200,
        "elapsed": 0.5,
        "path": "/v3/company/1/query",
        "ids": (1, 2),
    }


def test_recorder_masks_secrets_inside_lists_and_nested_mappings() -> None:
    """Secret-named keys and token text are masked at any depth, lists included."""
    sink = RecordingEventSink()
    sink.emit(
        _event(
            access_token="abc",
            calls=[{"refresh_token": "def"}, "Bearer ghijklmnopq"],
            nested={"inner": {"client_secret": "xyz"}, "ok": 1},
        )
    )
    (event,) = sink.events
    assert event.attributes["access_token"] == "<redacted>"
    assert event.attributes["calls"] == [{"refresh_token": "<redacted>"}, "Bearer <redacted>"]
    assert event.attributes["nested"] == {"inner": {"client_secret": "<redacted>"}, "ok": 1}


def test_recorder_with_a_limit_keeps_the_newest() -> None:
    """With max_events, only the most recent events are kept, and none is counted as dropped."""
    sink = RecordingEventSink(max_events=2)
    for index in range(5):
        sink.emit(_event(f"e.{index}"))
    assert sink.kinds() == ["e.3", "e.4"]
    assert sink.dropped == 0


@pytest.mark.parametrize("limit", [0, -3])
def test_recorder_limit_must_be_positive(limit: int) -> None:
    """A max_events below one is refused."""
    with pytest.raises(ValueError, match="max_events"):
        RecordingEventSink(max_events=limit)


def test_of_kind_matches_the_kind_and_its_family() -> None:
    """of_kind returns events of exactly that kind or of kinds below it, not lookalikes."""
    sink = RecordingEventSink()
    for kind in ("http.request", "http.retry", "https.other", "http", "rate.throttled"):
        sink.emit(_event(kind))
    assert [event.kind for event in sink.of_kind("http")] == ["http.request", "http.retry", "http"]
    assert [event.kind for event in sink.of_kind("http.retry")] == ["http.retry"]
    assert sink.of_kind("token") == []


def test_clear_forgets_events() -> None:
    """clear empties the recorder, and later events are kept again."""
    sink = RecordingEventSink()
    sink.emit(_event("a"))
    sink.clear()
    assert sink.events == []
    sink.emit(_event("b"))
    assert sink.kinds() == ["b"]


# ---------------------------------------------------------------- LoggingEventSink


def test_logging_line_is_stable_key_value_text() -> None:
    """One line per event: kind, realm, business, then attributes sorted, quoted where needed."""
    logger, handler = _capturing_logger()
    sink = LoggingEventSink(logger)
    sink.emit(
        QBOEvent(
            kind="http.retry",
            at=AT,
            realm_id="9130",
            business_id="b-1",
            attributes={
                "status": 503,
                "attempt": 2,
                "reason": "server busy",
                "retryable": True,
                "wait": 1.5,
                "missing": None,
                "request": {"method": "GET", "path": "/v3/x"},
            },
        )
    )
    (record,) = handler.records
    assert record.getMessage() == (
        'http.retry realm=9130 business=b-1 attempt=2 missing=null reason="server busy" '
        "request.method=GET request.path=/v3/x retryable=true status=503 wait=1.5"
    )
    assert record.levelno == logging.INFO


def test_logging_record_carries_structured_data() -> None:
    """The record's qbo_event extra holds kind, time, ids and the scrubbed attributes."""
    logger, handler = _capturing_logger()
    LoggingEventSink(logger).emit(_event("token.refreshed", refresh_token="r", realm_size=3))
    (record,) = handler.records
    assert getattr(record, "qbo_event", None) == {
        "kind": "token.refreshed",
        "at": "2026-01-01T12:30:00+00:00",
        "realm_id": "9130",
        "business_id": None,
        "attributes": {"refresh_token": "<redacted>", "realm_size": 3},
    }


def test_logging_masks_secret_keys_and_token_text() -> None:
    """Neither a secret-named value nor a bearer token in free text reaches the message."""
    logger, handler = _capturing_logger()
    LoggingEventSink(logger).emit(
        _event(
            client_secret="hunter2-value",
            header="Bearer abcdefgh12345678",
            ids=["Bearer zzzzzzzz9"],
        )
    )
    message = handler.records[0].getMessage()
    assert "client_secret=<redacted>" in message
    assert "hunter2-value" not in message
    assert "abcdefgh12345678" not in message
    assert "zzzzzzzz9" not in message


def test_logging_masks_token_text_in_names_and_objects() -> None:
    """Token text reaching the line through an attribute name or an object's text is masked too."""
    logger, handler = _capturing_logger()

    class Note:
        def __str__(self) -> str:
            return "header was Bearer objectsecret123"

    attributes = {"note": Note(), "Bearer namepart123": 1}
    LoggingEventSink(logger).emit(QBOEvent(kind="x", at=AT, attributes=attributes))
    (record,) = handler.records
    shown = f"{record.getMessage()} {getattr(record, 'qbo_event', None)!r}"
    assert "Bearer <redacted>" in shown
    assert "objectsecret123" not in shown
    assert "namepart123" not in shown


def test_logging_masks_token_text_in_the_event_fields() -> None:
    """Token text in the realm or business id is masked in the line like anywhere else."""
    logger, handler = _capturing_logger()
    LoggingEventSink(logger).emit(
        QBOEvent(kind="x", at=AT, realm_id="9130", business_id="Bearer leakedvalue99")
    )
    assert handler.records[0].getMessage() == 'x realm=9130 business="Bearer <redacted>"'


def test_logging_extra_is_json_ready() -> None:
    """Structured attributes hold only JSON types: datetimes, bytes and tuples are converted."""
    logger, handler = _capturing_logger()
    LoggingEventSink(logger).emit(_event(when=AT, raw=b"\x00\x01", pair=(1, "a")))
    structured = getattr(handler.records[0], "qbo_event", {})
    assert structured["attributes"] == {
        "when": "2026-01-01T12:30:00+00:00",
        "raw": "<2 bytes>",
        "pair": [1, "a"],
    }


def test_logging_uses_the_level_for_the_kind() -> None:
    """Kinds listed in levels_by_kind log at their level; others at the default level."""
    logger, handler = _capturing_logger()
    sink = LoggingEventSink(logger, logging.DEBUG, levels_by_kind={"health.alert": logging.WARNING})
    sink.emit(_event("health.alert"))
    sink.emit(_event("http.request"))
    assert [record.levelno for record in handler.records] == [logging.WARNING, logging.DEBUG]


def test_logging_skips_formatting_when_level_is_disabled() -> None:
    """When the logger discards the level nothing is rendered, so unprintable values do no harm."""
    logger, handler = _capturing_logger()
    logger.setLevel(logging.WARNING)
    sink = LoggingEventSink(logger, logging.INFO)
    sink.emit(_event(value=_Unprintable()))
    assert handler.records == []
    assert sink.dropped == 0


def test_logging_counts_an_unrenderable_event_as_dropped() -> None:
    """An attribute whose text cannot be produced drops the event without raising."""
    logger, handler = _capturing_logger()
    sink = LoggingEventSink(logger)
    sink.emit(_event(value=_Unprintable()))
    sink.emit(_event(value="fine"))
    assert sink.dropped == 1
    assert len(handler.records) == 1


def test_logging_survives_a_failing_handler() -> None:
    """A handler that raises does not escape emit; the event is counted as dropped."""
    logger = logging.Logger("qbo.events.broken", logging.DEBUG)
    logger.addHandler(_BrokenHandler())
    sink = LoggingEventSink(logger)
    sink.emit(_event())
    sink.emit(_event())
    assert sink.dropped == 2


def test_logging_defaults_to_the_qbo_events_logger(caplog: pytest.LogCaptureFixture) -> None:
    """Without a logger, events go to the "qbo.events" logger at INFO."""
    caplog.set_level(logging.INFO, logger="qbo.events")
    LoggingEventSink().emit(_event("http.request", status=200))
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("qbo.events", logging.INFO, "http.request realm=9130 status=200")
    ]


# ---------------------------------------------------------------- FanOutEventSink


def test_fan_out_delivers_to_every_sink_despite_failures() -> None:
    """Every sink gets the event, even after an earlier sink raised; each failure counts once."""
    first, last = RecordingEventSink(), RecordingEventSink()
    sink = FanOutEventSink(first, _BrokenSink(), last)
    sink.emit(_event("a"))
    sink.emit(_event("b"))
    assert first.kinds() == ["a", "b"]
    assert last.kinds() == ["a", "b"]
    assert sink.dropped == 2


# ---------------------------------------------------------------- limits, failures, reprs


def _nested(levels: int) -> object:
    value: object = "leaf"
    for _ in range(levels):
        value = [value]
    return value


def test_scrub_keeps_eight_levels_and_cuts_the_ninth() -> None:
    """An attribute is kept down to eight levels; anything deeper reads `<nested too deep>`."""
    sink = RecordingEventSink()
    pair: object = ("leaf",)
    for _ in range(7):
        pair = (pair,)
    sink.emit(_event(kept=_nested(7), cut=_nested(8), mapping={"a": {"b": _nested(6)}}, pair=pair))
    (event,) = sink.events
    cut: object = "<nested too deep>"
    for _ in range(8):
        cut = (cut,)
    assert event.attributes["pair"] == cut
    assert event.attributes["kept"] == _nested(7)
    assert event.attributes["cut"] == [[[[[[[["<nested too deep>"]]]]]]]]
    assert event.attributes["mapping"] == {"a": {"b": [[[[[["<nested too deep>"]]]]]]}}


class _ExplodingMapping(dict[str, object]):
    def items(self) -> object:  # type: ignore[override]
        raise RuntimeError("cannot iterate")


def test_recorder_counts_an_unscrubbable_event_as_dropped() -> None:
    """An event whose attributes cannot be read is counted in `dropped` and not kept."""
    sink = RecordingEventSink()
    sink.emit(_event(bad=_ExplodingMapping(a=1)))
    sink.emit(_event("kept"))
    sink.emit(_event(bad=_ExplodingMapping(a=1)))
    assert sink.dropped == 2
    assert sink.kinds() == ["kept"]
    assert repr(sink) == "RecordingEventSink(events=1, dropped=2)"


def test_recorder_limit_message_names_the_value() -> None:
    """A refused max_events names itself and the value given."""
    with pytest.raises(ValueError, match=r"^max_events must be at least 1 or None, got 0$"):
        RecordingEventSink(max_events=0)


def test_recorder_limit_of_one_keeps_the_last() -> None:
    """max_events=1 is allowed and keeps the newest event only."""
    sink = RecordingEventSink(max_events=1)
    sink.emit(_event("a"))
    sink.emit(_event("b"))
    assert sink.kinds() == ["b"]


def test_recorder_events_is_a_copy() -> None:
    """Changing the list `events` returns leaves the recorder as it was."""
    sink = RecordingEventSink()
    sink.emit(_event("a"))
    sink.events.clear()
    assert sink.kinds() == ["a"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("plain-text_1.0", "plain-text_1.0"),
        ("two words", '"two words"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("it's", '"it\'s"'),
        ("a=b", '"a=b"'),
        ("back\\slash", '"back\\\\slash"'),
        ("tab\there", '"tab\\there"'),
        ("", '""'),
        ("café", "café"),
        ("naïve text", '"naïve text"'),
        ([1, None, 2.5], "[1,null,2.5]"),
        ([{"a": 1}], '"[{\\"a\\":1}]"'),
        (("é",), '"[\\"é\\"]"'),
        ({}, "{}"),
        (False, "false"),
        (0.25, "0.25"),
    ],
)
def test_logging_renders_values_bare_or_quoted(value: object, shown: str) -> None:
    """Values are bare unless they hold space, quotes, `=` or a backslash; lists are JSON."""
    logger, handler = _capturing_logger()
    LoggingEventSink(logger).emit(QBOEvent(kind="k", at=AT, attributes={"v": value}))
    assert handler.records[0].getMessage() == f"k v={shown}"


def test_logging_quotes_a_kind_or_key_that_needs_it() -> None:
    """The kind and attribute names are quoted by the same rule as values."""
    logger, handler = _capturing_logger()
    LoggingEventSink(logger).emit(QBOEvent(kind="odd kind", at=AT, attributes={"a key": 1}))
    assert handler.records[0].getMessage() == '"odd kind" "a key"=1'


def test_logging_repr_names_the_logger_and_drops() -> None:
    """`repr` reads `LoggingEventSink(logger='<name>', dropped=N)`."""
    logger = logging.Logger("qbo.events.broken", logging.DEBUG)
    logger.addHandler(_BrokenHandler())
    sink = LoggingEventSink(logger)
    sink.emit(_event())
    assert repr(sink) == "LoggingEventSink(logger='qbo.events.broken', dropped=1)"


def test_fan_out_add_delivers_later_events_after_the_held_sinks() -> None:
    """A sink joined with `add` comes last in `sinks` and gets only the events emitted after."""
    first, joined = RecordingEventSink(), RecordingEventSink()
    sink = FanOutEventSink(first)
    sink.emit(_event("before"))
    sink.add(joined)
    sink.emit(_event("after"))
    assert sink.sinks == (first, joined)
    assert first.kinds() == ["before", "after"]
    assert joined.kinds() == ["after"]


def test_fan_out_repr_counts_sinks_and_drops() -> None:
    """`repr` reads `FanOutEventSink(N sinks, dropped=M)`."""
    sink = FanOutEventSink(RecordingEventSink(), _BrokenSink())
    sink.emit(_event())
    assert repr(sink) == "FanOutEventSink(2 sinks, dropped=1)"


def test_recorder_masks_secrets_inside_tuples_and_keys() -> None:
    """Token text is masked inside tuples (kept as tuples) and in nested mapping keys."""
    sink = RecordingEventSink()
    sink.emit(_event(pair=("Bearer abcdefgh123", 1), nested={"Bearer keypart12345": 1, 2: "two"}))
    (event,) = sink.events
    assert event.attributes["pair"] == ("Bearer <redacted>", 1)
    assert event.attributes["nested"] == {"Bearer <redacted>": 1, "2": "two"}


def test_logging_sorts_attributes_with_mixed_key_types() -> None:
    """Nested keys are sorted as text, so mixed key types still give one stable line."""
    logger, handler = _capturing_logger()
    attributes = {"m": {2: "two", "1": "one", "b": {"z": 1, "a": 2}}}
    LoggingEventSink(logger).emit(QBOEvent(kind="k", at=AT, attributes=attributes))
    assert handler.records[0].getMessage() == "k m.1=one m.2=two m.b.a=2 m.b.z=1"


def test_logging_structured_attributes_convert_other_values() -> None:
    """In the structured extra, keys become text, None and bools stay, other objects are text."""

    class Note:
        def __str__(self) -> str:
            return "a note"

    logger, handler = _capturing_logger()
    attributes = {"m": {1: None, "t": True}, "n": Note(), "f": 1.5, "l": ["x", (2,)]}
    LoggingEventSink(logger).emit(QBOEvent(kind="k", at=AT, attributes=attributes))
    structured = getattr(handler.records[0], "qbo_event", {})
    assert structured["attributes"] == {
        "m": {"1": None, "t": True},
        "n": "a note",
        "f": 1.5,
        "l": ["x", [2]],
    }


def test_a_mapping_that_holds_itself_is_cut_not_dropped() -> None:
    """A self-containing mapping is kept down to the depth limit instead of losing the event."""
    loop: dict[str, object] = {"ok": 1}
    loop["self"] = loop
    sink = RecordingEventSink()
    sink.emit(_event(loop=loop))
    (event,) = sink.events
    cut: object = {"ok": "<nested too deep>", "self": "<nested too deep>"}
    for _ in range(7):
        cut = {"ok": 1, "self": cut}
    assert event.attributes["loop"] == cut
    assert sink.dropped == 0


def test_logging_passes_the_line_as_the_records_argument() -> None:
    """The record's format is a bare `%s` with the line as its argument, so a `%` in an event's
    text never reaches a handler that formats `msg % args` itself as a placeholder."""
    logger, handler = _capturing_logger()
    LoggingEventSink(logger).emit(_event("k", ratio="50%"))
    (record,) = handler.records
    assert (record.msg, record.args) == ("%s", ("k realm=9130 ratio=50%",))
