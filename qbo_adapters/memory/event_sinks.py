"""`EventSink` adapters: record events in memory, write them to `logging`, or both.

Every sink here scrubs credentials before keeping an event, as a second line of
defence behind the services (which never put a token in an event): a value under
a secret-named key becomes `<redacted>`, and any token-looking text in a string
or a key is masked (`qbo_core.redaction`). The scrub reaches into nested
mappings, lists and tuples. No sink raises from `emit`; a sink that fails to
deliver an event counts it in `dropped`.
"""

from __future__ import annotations

import json
import logging
import re
from collections import deque
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import attrs

from qbo_core.dtos import QBOEvent
from qbo_core.ports.event_sink import EventSink
from qbo_core.redaction import REDACTED, is_secret_key, redact

__all__ = ["FanOutEventSink", "LoggingEventSink", "RecordingEventSink"]

_MAX_DEPTH = 8
_BARE_VALUE = re.compile(r"[^\s\"'=\\]+")


def _scrub_attributes(attributes: Mapping[str, object]) -> dict[str, object]:
    """A copy of `attributes` safe to keep: secret-named keys and token-looking text masked."""
    return _scrub_mapping(attributes, 0)


def _scrub_mapping(values: Mapping[Any, object], depth: int) -> dict[str, object]:
    """`values` with its keys as (redacted) text, each secret-named key's value masked."""
    clean: dict[str, object] = {}
    for key, item in values.items():
        name = str(key)
        clean[redact(name)] = REDACTED if is_secret_key(name) else _scrub(item, depth + 1)
    return clean


def _scrub(value: object, depth: int) -> object:
    if depth > _MAX_DEPTH:
        return "<nested too deep>"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return _scrub_mapping(value, depth)
    if isinstance(value, list):
        return [_scrub(item, depth + 1) for item in value]
    if isinstance(value, tuple):
        return tuple(_scrub(item, depth + 1) for item in value)
    return value


def _jsonable(value: Any) -> Any:
    """`value` (already scrubbed) as JSON-ready data: other objects become redacted text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return redact(str(value))


class RecordingEventSink:
    """Keeps every event it receives, in order, for tests and diagnostics to inspect.

    Events are kept scrubbed (see the module docstring), so a recorder never
    holds a credential. With `max_events`, only the most recent `max_events` are
    kept; older ones are discarded silently (that is not a drop).
    """

    def __init__(self, *, max_events: int | None = None) -> None:
        if max_events is not None and max_events < 1:
            raise ValueError(f"max_events must be at least 1 or None, got {max_events!r}")
        self._events: deque[QBOEvent] = deque(maxlen=max_events)
        self.dropped = 0

    def emit(self, event: QBOEvent) -> None:
        try:
            kept = attrs.evolve(event, attributes=_scrub_attributes(event.attributes))
        except Exception:
            self.dropped += 1
            return
        self._events.append(kept)

    @property
    def events(self) -> list[QBOEvent]:
        """The kept events, oldest first (a copy)."""
        return list(self._events)

    def of_kind(self, kind: str) -> list[QBOEvent]:
        """The kept events of kind `kind` or below it (`"http"` matches `"http.retry"`)."""
        family = kind + "."
        return [
            event for event in self._events if event.kind == kind or event.kind.startswith(family)
        ]

    def kinds(self) -> list[str]:
        """The kinds of the kept events, oldest first."""
        return [event.kind for event in self._events]

    def clear(self) -> None:
        """Forget every kept event (the `dropped` count stays)."""
        self._events.clear()

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[QBOEvent]:
        return iter(list(self._events))

    def __repr__(self) -> str:
        return f"RecordingEventSink(events={len(self._events)}, dropped={self.dropped})"


class LoggingEventSink:
    """Writes one log line per event to a standard `logging.Logger`.

    The message reads `<kind> realm=<id> business=<id> key=value ...`, with the
    attributes in sorted key order, nested mappings flattened to dotted keys and
    values quoted (JSON style) when they hold spaces, quotes or `=`. The same
    data, structured, is attached to the record as `record.qbo_event` (a dict with
    `kind`, `at` in ISO 8601, `realm_id`, `business_id` and `attributes`), for
    JSON formatters: attribute values other than JSON's own types become text
    (datetimes in ISO 8601, bytes as their length). Both are scrubbed, and the
    line passes through `redact` once more as a whole.

    `level` is the level of every event, except kinds listed in `levels_by_kind`.
    Nothing is formatted when the logger would discard the level.

    `emit` never raises: if building the line or a handler fails, the event is
    counted in `dropped`. Handlers that report their own errors (the standard
    ones call `Handler.handleError`) are not seen failing and so not counted.
    """

    def __init__(
        self,
        logger: logging.Logger | None = None,
        level: int = logging.INFO,
        *,
        levels_by_kind: Mapping[str, int] | None = None,
    ) -> None:
        self.logger = logger if logger is not None else logging.getLogger("qbo.events")
        self.level = level
        self._levels_by_kind = dict(levels_by_kind or {})
        self.dropped = 0

    def emit(self, event: QBOEvent) -> None:
        try:
            level = self._levels_by_kind.get(event.kind, self.level)
            if not self.logger.isEnabledFor(level):
                return
            attributes = _jsonable(_scrub_attributes(event.attributes))
            structured = {
                "kind": event.kind,
                "at": event.at.isoformat(),
                "realm_id": event.realm_id,
                "business_id": event.business_id,
                "attributes": attributes,
            }
            self.logger.log(
                level, "%s", _format_line(event, attributes), extra={"qbo_event": structured}
            )
        except Exception:
            self.dropped += 1

    def __repr__(self) -> str:
        return f"LoggingEventSink(logger={self.logger.name!r}, dropped={self.dropped})"


class FanOutEventSink:
    """Delivers every event to each of several sinks, in order.

    The container's event sink is one of these, holding the configured sink
    (logging by default); more sinks (metrics, health, a host's own) join it with
    `add`, and receive every event emitted from then on.

    A sink that raises (breaking its own contract) does not stop the others; the
    failure is counted in `dropped`, once per failing sink and event.
    """

    def __init__(self, *sinks: EventSink) -> None:
        self._sinks: list[EventSink] = list(sinks)
        self.dropped = 0

    @property
    def sinks(self) -> tuple[EventSink, ...]:
        """The sinks events go to, in delivery order."""
        return tuple(self._sinks)

    def add(self, sink: EventSink) -> None:
        """Deliver every later event to `sink` too, after the sinks already held."""
        self._sinks.append(sink)

    def emit(self, event: QBOEvent) -> None:
        for sink in tuple(self._sinks):
            try:
                sink.emit(event)
            except Exception:
                self.dropped += 1

    def __repr__(self) -> str:
        return f"FanOutEventSink({len(self._sinks)} sinks, dropped={self.dropped})"


def _format_line(event: QBOEvent, attributes: Mapping[str, object]) -> str:
    """The one-line, key=value rendering of `event` with `attributes` already scrubbed and made
    JSON-ready by `_jsonable` (text keys; only JSON types, so `_render` needs no fallback)."""
    fields: list[tuple[str, object]] = []
    if event.realm_id is not None:
        fields.append(("realm", event.realm_id))
    if event.business_id is not None:
        fields.append(("business", event.business_id))
    fields.extend(_flatten(attributes, ""))
    parts = [_render(event.kind)]
    parts.extend(f"{_render(name)}={_render(value)}" for name, value in fields)
    return redact(" ".join(parts))


def _flatten(values: Mapping[str, object], prefix: str) -> Iterator[tuple[str, object]]:
    for key in sorted(values):
        value = values[key]
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, name + ".")
        else:
            yield name, value


def _render(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        text = value
    elif isinstance(value, list | tuple):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        text = str(value)
    if _BARE_VALUE.fullmatch(text):
        return text
    return json.dumps(text, ensure_ascii=False)
