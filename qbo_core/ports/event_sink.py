"""The `EventSink` port: where structured events go."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from qbo_core.dtos import QBOEvent


@runtime_checkable
class EventSink(Protocol):
    """Receives structured events (requests, retries, throttling, refreshes, alerts).

    `emit` is synchronous and must not block or raise: a sink that cannot deliver
    an event drops it (and may count the drop). Sinks never record a credential.
    """

    def emit(self, event: QBOEvent) -> None:
        """Accept one event. Never raises, never blocks on I/O."""
        ...
