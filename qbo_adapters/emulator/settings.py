"""`EmulatorSettings`: everything that shapes how the emulator behaves."""

from __future__ import annotations

from typing import Literal

import attrs

__all__ = ["CompanySizeName", "EmulatorSettings"]

CompanySizeName = Literal["empty", "small", "medium", "large"]


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
    """

    client_id: str = "emulator-client"
    client_secret: str = attrs.field(default="emulator-secret", repr=False)
    seed: int = 0
    size: CompanySizeName = "small"
    realms: int = 1
    time_zone: str = "America/Los_Angeles"

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
