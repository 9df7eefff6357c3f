"""What every emulator handler receives about the request being served."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

import attrs

from qbo_core.http import Headers, HttpRequest, HttpResponse

__all__ = [
    "RequestContext",
    "json_response",
    "meta_time",
    "new_tid",
    "qbo_time",
    "split_target",
    "text_response",
]

#: A URL's scheme and authority, whatever they hold.
_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")

#: The headers QBO sends with every data-service response.
STANDARD_HEADERS: tuple[tuple[str, str], ...] = (
    ("Server", "nginx"),
    ("Strict-Transport-Security", "max-age=15552000"),
    ("Expires", "0"),
    ("Cache-Control", "max-age=0, no-cache, no-store, must-revalidate, private"),
    ("QBO-Version", "1944.190"),
)


def qbo_time(now: datetime, zone: tzinfo) -> str:
    """The response `time` field: milliseconds and the offset `zone` has at `now`
    (`company_time`: `-08:00` in a Pacific winter, `-07:00` in summer)."""
    local = now.astimezone(zone)
    return local.isoformat(timespec="milliseconds")


def meta_time(now: datetime, zone: tzinfo) -> str:
    """A `MetaData` time: whole seconds and the offset `zone` has at `now`."""
    return now.astimezone(zone).isoformat(timespec="seconds")


def new_tid(rng: random.Random) -> str:
    """An `intuit_tid` in the shape QBO uses: `1-<8 hex>-<24 hex>`."""
    return f"1-{rng.getrandbits(32):08x}-{rng.getrandbits(96):024x}"


@attrs.define(kw_only=True)
class RequestContext:
    """One request being served: the parsed URL, the time and its transaction id."""

    request: HttpRequest
    path: str
    query: Mapping[str, list[str]]
    now: datetime
    tid: str
    zone: tzinfo
    realm_id: str | None = None
    client_id: str | None = None

    @classmethod
    def build(
        cls, request: HttpRequest, *, now: datetime, tid: str, zone: tzinfo
    ) -> RequestContext:
        parts = split_target(request.url)
        return cls(
            request=request,
            path=unquote(parts.path) or "/",
            query=parse_qs(parts.query, keep_blank_values=True),
            now=now.astimezone(UTC),
            tid=tid,
            zone=zone,
        )

    @property
    def method(self) -> str:
        return self.request.method

    def param(self, name: str) -> str | None:
        """The first value of query parameter `name` (case-insensitive), or `None`."""
        wanted = name.lower()
        for key, values in self.query.items():
            if key.lower() == wanted and values:
                return values[0]
        return None

    def time_text(self) -> str:
        return qbo_time(self.now, self.zone)

    def meta_text(self) -> str:
        return meta_time(self.now, self.zone)

    def wants_xml(self) -> bool:
        accept = (self.request.headers.get("accept") or "").lower()
        return "xml" in accept and "json" not in accept


def split_target(url: str) -> SplitResult:
    """`url` split; a malformed authority (`http://[/x`, from a `Host: [` header) is
    ignored, since only the path and query string route a request."""
    try:
        return urlsplit(url)
    except ValueError:
        return urlsplit(_AUTHORITY.sub("", url, count=1))


def json_response(
    ctx: RequestContext,
    payload: Any,
    *,
    status: int = 200,
    content_type: str = "application/json;charset=utf-8",
    extra_headers: tuple[tuple[str, str], ...] = (),
) -> HttpResponse:
    """A JSON response with QBO's standard headers and this request's `intuit_tid`."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return HttpResponse(
        status=status,
        headers=Headers(
            [
                ("Content-Type", content_type),
                ("intuit_tid", ctx.tid),
                *STANDARD_HEADERS,
                *extra_headers,
            ]
        ),
        body=body,
    )


def text_response(
    ctx: RequestContext,
    body: bytes,
    *,
    status: int,
    content_type: str,
    extra_headers: tuple[tuple[str, str], ...] = (),
) -> HttpResponse:
    """Any other body, with QBO's standard headers."""
    return HttpResponse(
        status=status,
        headers=Headers(
            [
                ("Content-Type", content_type),
                ("intuit_tid", ctx.tid),
                *STANDARD_HEADERS,
                *extra_headers,
            ]
        ),
        body=body,
    )
