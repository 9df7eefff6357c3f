"""How a query reads numbers, times and text out of stored strings and literals.

- A number is `-?digits[.digits]` (ASCII): an `int` when it has no fraction, else a
  `Decimal`, so an 18-digit Id keeps every digit.
- A time is an ISO date (`2020-09-29`) or datetime (`2020-09-29T05:58:16-07:00`, with or
  without seconds, fraction and offset; `Z` allowed). Two datetimes with offsets compare
  as instants; a date against a datetime compares calendar dates (the datetime's own,
  company-local, date); a datetime without an offset against one with compares wall
  clocks.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Sequence
from decimal import Decimal
from itertools import repeat
from operator import itemgetter
from typing import Any

__all__ = [
    "Time",
    "aligned",
    "exact_number",
    "instant",
    "instant_of_text",
    "offset_literals",
    "same_marks",
    "shared_layout",
    "text_of",
    "time_of",
    "to_float",
]

_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)
_LONGEST_INT = 4000  # int() refuses strings past 4300 digits

#: (rank, value): rank 0 a date, 1 a datetime with an offset, 2 one without.
Time = tuple[int, dt.date]


def exact_number(text: str) -> int | Decimal | None:
    """The number `text` spells exactly, or None."""
    if text.isdigit() and text.isascii() and len(text) <= _LONGEST_INT:
        return int(text)
    first = text[:1]
    if not ("0" <= first <= "9" or first == "-") or _NUMBER.fullmatch(text) is None:
        return None
    if "." in text or len(text) > _LONGEST_INT:
        return Decimal(text)
    return int(text)


def to_float(number: int | Decimal) -> float:
    """`number` as the nearest float (infinite past float's range)."""
    try:
        return float(number)
    except OverflowError:
        return float("inf") if number > 0 else float("-inf")


@functools.lru_cache(maxsize=1 << 17)
def time_of(text: str) -> Time | None:
    """The ISO date or datetime `text` spells, or None.

    Cached: the same stored times are read again on every page of a query.
    """
    size = len(text)
    if size < 10 or text[4] != "-" or text[7] != "-" or (size > 10 and text[10] != "T"):
        return None
    if not (text[:4].isdigit() and text[5:7].isdigit() and text[8:10].isdigit()):
        return None
    if not text.isascii():
        return None
    try:
        if size == 10:
            return (0, dt.date.fromisoformat(text))
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return (1 if moment.tzinfo is not None else 2, moment)


def aligned(left: Time, right: Time) -> tuple[Any, Any]:
    """Two times made comparable: as dates, as instants, or as wall clocks."""
    (left_rank, left_value), (right_rank, right_value) = left, right
    if left_rank == right_rank:
        return left_value, right_value
    if left_rank == 0 or right_rank == 0:
        return _date_of(left_value), _date_of(right_value)
    assert isinstance(left_value, dt.datetime)
    assert isinstance(right_value, dt.datetime)
    return left_value.replace(tzinfo=None), right_value.replace(tzinfo=None)


def _date_of(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def instant(time: Time) -> dt.datetime:
    """A naive UTC datetime that orders `time` among others (dates at midnight UTC;
    datetimes without an offset taken as UTC)."""
    rank, value = time
    if isinstance(value, dt.datetime):
        offset = value.utcoffset() if rank == 1 else None
        return (value - offset).replace(tzinfo=None) if offset else value.replace(tzinfo=None)
    return dt.datetime(value.year, value.month, value.day)


def text_of(value: Any) -> str:
    """A stored scalar as LIKE sees it: a string as is, anything else as JSON text."""
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value)


_LAYOUT_MARKS = ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"))


def shared_layout(values: Sequence[str], *, marks_checked: bool = False) -> tuple[int, str] | None:
    """`(length, tail)` when all `values` (at least one) are laid out as one ISO time form:
    `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`, or `YYYY-MM-DDTHH:MM:SS` followed by one shared tail
    (fraction and offset, e.g. `-07:00`); else None.

    Times laid out alike order as their text does, which lets a whole column be compared
    or sorted as text, in C. Only the marks are checked, not the digits between them
    (`marks_checked`: by the caller, with `same_marks`).
    """
    if not marks_checked and not same_marks(values):
        return None
    size = len(values[0])
    tail = values[0][19:]
    if tail and not all(map(str.endswith, values, repeat(tail))):
        return None
    return size, tail


def same_marks(values: Sequence[str]) -> bool:
    """Whether `values` (at least one) share one length and the marks of an ISO time
    layout (`YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`, `YYYY-MM-DDTHH:MM:SS...`)."""
    size = len(values[0])
    if size not in (10, 16) and size < 19:
        return False
    if len(set(map(len, values))) != 1:
        return False
    return all(
        set(map(itemgetter(position), values)) == {mark}
        for position, mark in _LAYOUT_MARKS
        if position < size
    )


_OFFSET_TAIL = re.compile(r"[+-][0-9]{2}:[0-9]{2}", re.ASCII)
_SECONDS_LAYOUT = 19  # YYYY-MM-DDTHH:MM:SS


def offset_literals(
    values: Sequence[str], literal: str, *, marks_checked: bool = False
) -> dict[str, str] | None:
    """`literal` written in each offset `values` use, when `values` (at least one) are all
    `YYYY-MM-DDTHH:MM:SS±HH:MM` with a handful of offsets (QBO's Pacific times carry
    `-08:00` or `-07:00` by season) and `literal` is such a time too; else None.

    A stored time and the literal written in the stored time's own offset order as their
    text does, so a whole column is compared as text (one dict lookup a row) rather than
    parsed: `{"-08:00": "2026-01-05T10:00:00-08:00", "-07:00": "...T11:00:00-07:00"}`.
    """
    size = _SECONDS_LAYOUT + 6
    if len(literal) != size or len(values[0]) != size:
        return None
    if any(literal[position] != mark for position, mark in _LAYOUT_MARKS):
        return None
    if not marks_checked and not same_marks(values):
        return None
    tails = set(map(itemgetter(slice(_SECONDS_LAYOUT, None)), values))
    if len(tails) > 4 or not all(_OFFSET_TAIL.fullmatch(tail) for tail in tails):
        return None
    moment = time_of(literal)
    if moment is None or moment[0] != 1 or not isinstance(moment[1], dt.datetime):
        return None
    written: dict[str, str] = {}
    for tail in tails:
        zone = dt.datetime.fromisoformat("2000-01-01T00:00:00" + tail).tzinfo
        local = moment[1].astimezone(zone)
        if not 1000 <= local.year <= 9999:
            return None
        written[tail] = local.strftime("%Y-%m-%dT%H:%M:%S") + tail
    return written


@functools.lru_cache(maxsize=1 << 17)
def instant_of_text(text: str) -> dt.datetime | None:
    """`instant(time_of(text))`, cached: the sort key of a stored time, or None."""
    time = time_of(text)
    return None if time is None else instant(time)
