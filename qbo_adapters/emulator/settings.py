"""`EmulatorSettings`: everything that shapes how the emulator behaves."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

import attrs

__all__ = [
    "DEFAULT_ANCHOR",
    "DEFAULT_WEBHOOK_RETRY_SCHEDULE",
    "CompanySizeName",
    "EmulatorSettings",
    "anchor_time",
]

CompanySizeName = Literal["empty", "small", "medium", "large"]

#: Seconds between webhook attempts after the 1st, 2nd, ... failure (Intuit's schedule).
DEFAULT_WEBHOOK_RETRY_SCHEDULE: tuple[float, ...] = (
    10.0,
    20.0,
    30.0,
    300.0,
    1200.0,
    7200.0,
    14400.0,
    21600.0,
)

#: The day generated data ends at unless `EmulatorSettings.anchor` says otherwise.
DEFAULT_ANCHOR = date(2026, 1, 1)


@attrs.frozen(kw_only=True)
class EmulatorSettings:
    """How the emulator behaves. Defaults follow what QBO documents.

    Client credentials: the emulator accepts exactly one OAuth client. Limits are per
    realm and client, as Intuit applies them. `requestid_mode` chooses between the
    documented contract ("replay": a repeated requestid returns the first response)
    and what some users report ("ignore": the request runs again).

    `time_zone` (an IANA name) is the zone every time the emulator writes is in, with the
    offset of its own instant (daylight saving included); QBO writes US Pacific time
    (`company_time`). An unknown name is a `ValueError` when the emulator starts.

    `anchor` is the day generated data is built up to: the company's history ends at
    00:00 UTC that day (see `anchor_time`). It is a fixed date by default
    (`DEFAULT_ANCHOR`, the `FakeClock`'s default start), so the same seed gives
    byte-identical data on any machine, any day, whatever the clock; `None` anchors to
    the clock's day (UTC) when the companies are generated instead (`qbo emulator
    --now today`): data then looks recent, and is identical for a seed only within a day.

    `webhook_retry_schedule` is Intuit's (10 s, 20 s, 30 s, 5 min, 20 min, 2 h, 4 h, 6 h,
    then every 6 h), measured on the emulator's clock from each failed attempt.
    """

    client_id: str = "emulator-client"
    client_secret: str = attrs.field(default="emulator-secret", repr=False)
    seed: int = 0
    size: CompanySizeName = "small"
    realms: int = 1
    time_zone: str = "America/Los_Angeles"
    anchor: date | None = DEFAULT_ANCHOR

    # OAuth
    access_token_lifetime: float = 3600.0
    refresh_token_lifetime: float = 8_726_400.0
    refresh_token_hard_lifetime: float = 5 * 365 * 86_400.0
    rotation_window: float = 24 * 3600.0
    old_refresh_token_grace: float = 0.0
    authorization_code_lifetime: float = 600.0
    auto_consent: bool = False
    allow_any_loopback_redirect: bool = True
    redirect_uris: tuple[str, ...] = ()

    # Data API
    minor_version: int = 75
    cdc_window_days: int | None = 30
    cdc_max_objects: int = 1000
    requestid_mode: Literal["replay", "ignore"] = "replay"
    requestid_max_length: int = 50
    batch_requestid_max_length: int = 36
    batch_max_items: int = 30

    # Throttling (per realm and client unless said otherwise)
    throttle: bool = True
    requests_per_minute: int = 500
    requests_per_second: int = 10
    max_in_flight: int | None = None
    batch_per_minute: int = 40
    batch_per_minute_realm: int = 120
    throttle_format: Literal["json", "xml"] = "json"
    retry_after: float | None = None

    # Webhooks (`webhooks.py`): seconds to wait after the 1st, 2nd, ... failed delivery
    # (the last step repeats), the receiver's time to answer 200, events per delivery.
    webhook_retry_schedule: tuple[float, ...] = DEFAULT_WEBHOOK_RETRY_SCHEDULE
    webhook_timeout: float = 3.0
    webhook_max_events: int = 100


def anchor_time(anchor: date | None, now: datetime) -> datetime:
    """The instant generated data ends at: 00:00 UTC of `anchor`, or of `now`'s UTC day."""
    day = anchor if anchor is not None else now.astimezone(UTC).date()
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
