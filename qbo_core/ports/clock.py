"""The `Clock` port: the only source of time in the core, sleeping included."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Wall time, monotonic time and sleeping.

    The core never calls `time.*`, `datetime.now` or `asyncio.sleep`; it asks a
    `Clock`. Tests use a fake one whose `sleep` returns at once and moves virtual
    time forward, so retry, throttle, TTL and expiry tests run in milliseconds.
    """

    def now(self) -> datetime:
        """The current wall time, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards; only differences mean anything."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Suspend the caller for `seconds` (zero or negative: just yield once).

        Cancellable: cancellation raises `asyncio.CancelledError` in the sleeper.
        """
        ...
