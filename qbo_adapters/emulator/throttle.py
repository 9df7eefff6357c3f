"""`Throttle`: QBO's documented request limits, enforced on the emulator's clock.

The limits come from `EmulatorSettings` and are sliding windows measured on
`ctx.now` (the emulator's clock, so a `FakeClock` moves them exactly):

- per (realm, client): at most `requests_per_second` in any 1 s and
  `requests_per_minute` in any 60 s;
- batch requests, in addition: at most `batch_per_minute` per (realm, client) and
  `batch_per_minute_realm` per realm (all clients together) in any 60 s;
- with `max_in_flight` set: at most that many admitted, not yet released requests per
  (realm, client) at once (the 2016 "10 concurrent requests" rule).

A window of length L holds the requests of the last L seconds, ends excluded: a request
at time t shares a window with an earlier one at s when `t - s < L`. So with 10 per
second, 10 requests at t pass, the 11th at t is refused, and at t + 1 s the first ten
have left.

Refused requests count. Intuit does not say whether a throttled request uses up quota;
the emulator takes the choice strictest for clients: every request that reaches the
throttle is recorded in every window it belongs to, admitted or refused. A client that
keeps retrying without backing off therefore stays throttled, while one that waits the
60 s Intuit asks for always gets through. A refused request never holds an in-flight
slot.

A refusal raises a 429 `QBOFault` (code 3001, type `SERVICE`), in XML when
`throttle_format == "xml"` (as seen in 2016-2017) and with `Retry-After` only when
`retry_after` is configured (Intuit does not document one).

Cost: O(1) amortised per request. Each window is a deque of (time, count) pairs, pairs
at the same instant merged, so a burst at one instant of virtual time costs one entry.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from qbo_adapters.emulator.context import RequestContext
from qbo_adapters.emulator.faults import FaultItem, QBOFault
from qbo_adapters.emulator.settings import EmulatorSettings

__all__ = ["RefusalReason", "Throttle", "throttle_fault"]

#: Which limit refused a request, as counted in `snapshot()["refused_by"]`.
RefusalReason = Literal[
    "per_second", "per_minute", "batch_per_minute", "batch_per_minute_realm", "in_flight"
]
_REASONS: Final[tuple[RefusalReason, ...]] = (
    "per_second",
    "per_minute",
    "batch_per_minute",
    "batch_per_minute_realm",
    "in_flight",
)

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO: Final = timedelta(microseconds=1)
_SECOND_US: Final = 1_000_000
_MINUTE_US: Final = 60 * _SECOND_US


def _micros(when: datetime) -> int:
    """Exact integer microseconds since the epoch (no float rounding at window edges)."""
    return (when - _EPOCH) // _MICRO


def throttle_fault(settings: EmulatorSettings) -> QBOFault:
    """The 429 `ThrottleExceeded` fault, shaped by `settings` (format, Retry-After)."""
    headers: list[tuple[str, str]] = []
    if settings.retry_after is not None:
        # HTTP's Retry-After is whole seconds; round up so a client never comes back early.
        headers.append(("Retry-After", str(max(0, math.ceil(settings.retry_after)))))
    return QBOFault(
        429,
        [
            FaultItem(
                "3001",
                "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                "The request limit was reached.  Try again later",
            )
        ],
        "SERVICE",
        headers=headers,
        as_xml=settings.throttle_format == "xml",
    )


class _Window:
    """Request counts over the last `length_us` microseconds."""

    __slots__ = ("_events", "count", "length_us", "limit")

    def __init__(self, length_us: int, limit: int) -> None:
        self.length_us = length_us
        self.limit = limit
        self._events: deque[list[int]] = deque()  # [time_us, count], oldest first
        self.count = 0

    def prune(self, now_us: int) -> None:
        events = self._events
        while events and now_us - events[0][0] >= self.length_us:
            self.count -= events.popleft()[1]

    def record(self, now_us: int) -> None:
        events = self._events
        if events and events[-1][0] == now_us:
            events[-1][1] += 1
        else:
            events.append([now_us, 1])
        self.count += 1

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit


class _ClientState:
    """The windows of one (realm, client)."""

    __slots__ = ("batch", "in_flight", "minute", "second")

    def __init__(self, settings: EmulatorSettings) -> None:
        self.second = _Window(_SECOND_US, settings.requests_per_second)
        self.minute = _Window(_MINUTE_US, settings.requests_per_minute)
        self.batch = _Window(_MINUTE_US, settings.batch_per_minute)
        self.in_flight = 0


def _noop() -> None:
    return None


class Throttle:
    """Admits or refuses data-API requests per QBO's limits. See the module docstring."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self._settings = settings
        self.reset()

    def reset(self) -> None:
        """Forget every window, in-flight count and counter."""
        self._clients: dict[tuple[str, str | None], _ClientState] = {}
        self._realms: dict[str, _Window] = {}
        self.admitted = 0
        self.refused = 0
        self.refused_by: dict[RefusalReason, int] = dict.fromkeys(_REASONS, 0)

    def admit(
        self, ctx: RequestContext, realm_id: str, client_id: str | None, *, batch: bool
    ) -> Callable[[], None]:
        """Admit one request at `ctx.now` or raise the 429 `QBOFault`.

        Returns the release callable: call it once the request is answered (it frees
        the in-flight slot; calling it again does nothing). With throttling off, every
        request is admitted and nothing is counted.
        """
        settings = self._settings
        if not settings.throttle:
            return _noop
        now_us = _micros(ctx.now)
        client = self._clients.get((realm_id, client_id))
        if client is None:
            client = self._clients[(realm_id, client_id)] = _ClientState(settings)
        windows: list[tuple[RefusalReason, _Window]] = [
            ("per_second", client.second),
            ("per_minute", client.minute),
        ]
        if batch:
            realm = self._realms.get(realm_id)
            if realm is None:
                realm = self._realms[realm_id] = _Window(
                    _MINUTE_US, settings.batch_per_minute_realm
                )
            windows += [("batch_per_minute", client.batch), ("batch_per_minute_realm", realm)]

        reason: RefusalReason | None = None
        for name, window in windows:  # refused or not, the request counts everywhere
            window.prune(now_us)
            window.record(now_us)
            if reason is None and window.exceeded:
                reason = name
        limit = settings.max_in_flight
        if reason is None and limit is not None and client.in_flight >= limit:
            reason = "in_flight"
        if reason is not None:
            self.refused += 1
            self.refused_by[reason] += 1
            raise throttle_fault(settings)

        self.admitted += 1
        client.in_flight += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                client.in_flight -= 1

        return release

    def snapshot(self, now: datetime | None = None) -> dict[str, Any]:
        """The counters, JSON-ready. With `now`, windows are first slid to that time.

        `clients` lists each (realm, client) seen: requests in the last second and
        minute, batch requests in the last minute, and requests in flight; `realms`
        the per-realm batch count. Counts include refused requests (they count).
        """
        if now is not None:
            now_us = _micros(now)
            for state in self._clients.values():
                for window in (state.second, state.minute, state.batch):
                    window.prune(now_us)
            for window in self._realms.values():
                window.prune(now_us)
        s = self._settings
        return {
            "enabled": s.throttle,
            "limits": {
                "requests_per_second": s.requests_per_second,
                "requests_per_minute": s.requests_per_minute,
                "batch_per_minute": s.batch_per_minute,
                "batch_per_minute_realm": s.batch_per_minute_realm,
                "max_in_flight": s.max_in_flight,
            },
            "admitted": self.admitted,
            "refused": self.refused,
            "refused_by": dict(self.refused_by),
            "clients": [
                {
                    "realm_id": realm_id,
                    "client_id": client_id,
                    "last_second": state.second.count,
                    "last_minute": state.minute.count,
                    "batch_last_minute": state.batch.count,
                    "in_flight": state.in_flight,
                }
                for (realm_id, client_id), state in self._clients.items()
            ],
            "realms": [
                {"realm_id": realm_id, "batch_last_minute": window.count}
                for realm_id, window in self._realms.items()
            ],
        }
