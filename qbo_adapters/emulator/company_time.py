"""The time zone QBO writes a company's times in, and a fast offset lookup for the generator.

QBO writes every time it sends (the envelope's `time`, `MetaData.CreateTime` and
`LastUpdatedTime`) in US Pacific time with daylight saving: `-08:00` for an instant in
winter, `-07:00` for one in summer, never one fixed offset (facts file section 11, "Times
are US Pacific with daylight saving", 0 exceptions in ~2,000 recorded values; the 2020
recordings in `qbo-recorded/`, all taken in September, carry `-07:00`). The emulator
keeps the zone as a setting (`EmulatorSettings.time_zone`, an IANA name, default
`America/Los_Angeles`) and writes each time with the offset of its own instant.

The IANA database comes from the system (`/usr/share/zoneinfo`) or, where the system has
none (Windows), from the `tzdata` package; an unknown name is a `ValueError`.
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DEFAULT_TIME_ZONE", "UtcOffsets", "company_zone", "offset_text"]

#: The zone QBO writes times in (facts file section 11).
DEFAULT_TIME_ZONE: Final = "America/Los_Angeles"

# Two transitions of one zone are never this close; the table is scanned in such steps.
_SCAN_STEP: Final = 6 * 3600


def company_zone(name: str) -> tzinfo:
    """The time zone named `name` (IANA, e.g. `America/Los_Angeles`).

    Raises `ValueError` for a name the time zone database does not hold.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def offset_text(seconds: int) -> str:
    """A UTC offset in seconds as ISO text: `-25200` → `-07:00`."""
    sign = "-" if seconds < 0 else "+"
    minutes = abs(seconds) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


class UtcOffsets:
    """The UTC offset (in seconds) of `zone` at any POSIX second, by table lookup.

    Built for [first, last]: the offsets and the seconds they start at are found once
    (a scan in 6-hour steps, then bisection to the second); a lookup inside the range is
    a binary search, one outside asks the zone. Equal arguments give equal answers to
    `zone.utcoffset` for every second, only faster (the generator formats ~10^5 times).
    """

    __slots__ = ("_first", "_last", "_offsets", "_starts", "_zone")

    def __init__(self, zone: tzinfo, first: int, last: int) -> None:
        self._zone = zone
        self._first = first
        self._last = last
        self._starts = [first]
        self._offsets = [self._exact(first)]
        at = first
        while at < last:
            step = min(at + _SCAN_STEP, last)
            current = self._offsets[-1]
            if self._exact(step) != current:
                low, high = at, step  # low has `current`, high does not
                while high - low > 1:
                    middle = (low + high) // 2
                    if self._exact(middle) == current:
                        low = middle
                    else:
                        high = middle
                self._starts.append(high)
                self._offsets.append(self._exact(high))
            at = step

    def _exact(self, ts: int) -> int:
        offset = datetime.fromtimestamp(ts, UTC).astimezone(self._zone).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0

    def __call__(self, ts: int) -> int:
        """The UTC offset in seconds at POSIX second `ts`."""
        if ts < self._first or ts > self._last:
            return self._exact(ts)
        return self._offsets[bisect.bisect_right(self._starts, ts) - 1]
