"""Every fault shape QBO sends, decoded into the most specific `QBOError`.

QBO answers a failure in several dialects, sometimes with a status that does not
match the body:

- the data service's capitalised JSON `{"Fault":{"Error":[{"Message","Detail","code",
  "element"}],"type":"ValidationFault"},"time":...}`, with one or several errors, at
  HTTP 400, 401, 500, and occasionally 200;
- the gateway's lower-case JSON `{"fault":{"error":[{"message","detail","code"}],
  "type":"AUTHENTICATION"},...,"time":<epoch ms>}` at 401 / 403;
- an XML `<IntuitResponse><Fault type=...><Error code=...><Message/><Detail/>` even
  when JSON was asked for (throttling, gateway errors);
- HTML error pages, plain text, empty and truncated bodies from proxies and load
  balancers.

`error_from_response` reads any of them; the class is chosen by QBO code first, then
fault type, then HTTP status, so the caller always gets the branch it can act on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from xml.etree import ElementTree

import attrs

from qbo_core import errors
from qbo_core.http import MAX_RESPONSE_BYTES, HttpResponse

__all__ = [
    "MAX_RETRY_AFTER",
    "FaultDetail",
    "ParsedFault",
    "error_from_fault",
    "error_from_response",
    "fault_from_json",
    "intuit_tid",
    "oversized_error",
    "parse_fault",
]

#: How much of an unexpected body an error keeps for diagnosis.
EXCERPT_BYTES = 300

#: The longest wait, in seconds, a `Retry-After` header is believed; longer ones are capped.
MAX_RETRY_AFTER = 3600.0

_BY_CODE: Mapping[str, type[errors.QBOError]] = {
    "100": errors.AccessTokenInvalidError,  # General Authentication Error
    "3200": errors.AccessTokenInvalidError,  # AuthenticationFailed (expired / unknown token)
    "120": errors.ReauthorizationRequiredError,  # Authorization Failure: the user lost access
    "130": errors.PermissionDeniedError,  # Accessing Wrong Cluster (sandbox vs production)
    "3100": errors.PermissionDeniedError,  # (Application)AuthorizationFailed
    "3001": errors.ThrottledError,  # ThrottleExceeded
    "5010": errors.StaleObjectError,
    "610": errors.ObjectNotFoundError,
    "6240": errors.DuplicateNameError,
    "2010": errors.InvalidPropertyError,
    "500": errors.UnsupportedOperationError,  # a QBO code, sent with HTTP 400
    "1040": errors.RequestLimitError,
    "4000": errors.QueryParseError,
    "4001": errors.QueryValidationError,
    "4002": errors.QueryProcessingError,
    "10000": errors.ServerError,  # An application error has occurred
}

_BY_TYPE: Mapping[str, type[errors.QBOError]] = {
    "systemfault": errors.ServerError,
    "authenticationfault": errors.AccessTokenInvalidError,
    "authentication": errors.AccessTokenInvalidError,
    "authorizationfault": errors.PermissionDeniedError,
    "validationfault": errors.ValidationError,
}


@attrs.frozen(kw_only=True)
class FaultDetail:
    """One error inside a fault, whatever dialect it came in."""

    code: str | None
    message: str
    detail: str | None = None
    element: str | None = None


@attrs.frozen(kw_only=True)
class ParsedFault:
    """A fault found in a body: its errors and its declared type (either may be empty)."""

    errors: tuple[FaultDetail, ...]
    fault_type: str | None


def intuit_tid(response: HttpResponse) -> str | None:
    """The `intuit_tid` header (quote it to Intuit support), or `None`."""
    return response.headers.get("intuit_tid") or response.headers.get("intuit-tid")


def retry_after(response: HttpResponse) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date), or `None`.

    Never raises, whatever the headers hold. A value that cannot be read — garbage,
    NaN, a date or zone out of range (`+99999999999999`, an hour of `99999999999`), an
    HTTP date without a readable `Date` to count from — gives `None`, and the caller's
    retry policy decides. A readable value is clamped to `[0, MAX_RETRY_AFTER]`: a date
    in the past means "now", and no server is believed about waiting longer than an hour.
    """
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = _seconds_to_wait(raw.strip(), response.headers.get("date"))
    except (ArithmeticError, TypeError, ValueError):  # OverflowError is an ArithmeticError
        return None
    if seconds is None or not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _seconds_to_wait(raw: str, date: str | None) -> float | None:
    try:
        return float(raw)
    except ValueError:
        pass
    when = parsedate_to_datetime(raw)
    now = parsedate_to_datetime(date) if date else None
    if now is None:
        return None
    return (_aware(when) - _aware(now)).total_seconds()


def _aware(moment: datetime) -> datetime:
    # RFC 2822 "-0000" (and a missing zone) parse as naive: they mean UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _details(items: object, *, lower: bool) -> tuple[FaultDetail, ...]:
    if not isinstance(items, list):
        return ()
    found: list[FaultDetail] = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        message = item.get("message" if lower else "Message")
        found.append(
            FaultDetail(
                code=_text(item.get("code")),
                message=_text(message) or "",
                detail=_text(item.get("detail" if lower else "Detail")),
                element=_text(item.get("element")) or None,
            )
        )
    return tuple(found)


def fault_from_json(payload: object) -> ParsedFault | None:
    """The fault in an already-parsed JSON value (either dialect), or `None`."""
    if not isinstance(payload, Mapping):
        return None
    upper = payload.get("Fault")
    if isinstance(upper, Mapping):
        return ParsedFault(
            errors=_details(upper.get("Error"), lower=False), fault_type=_text(upper.get("type"))
        )
    lower = payload.get("fault")
    if isinstance(lower, Mapping):
        return ParsedFault(
            errors=_details(lower.get("error"), lower=True), fault_type=_text(lower.get("type"))
        )
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _from_xml(body: bytes) -> ParsedFault | None:
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - expat refuses entity expansion bombs
    except (ElementTree.ParseError, LookupError, ValueError):  # malformed, or unknown encoding
        return None
    fault = next((el for el in root.iter() if _local(el.tag) == "Fault"), None)
    if fault is None:
        return None
    found: list[FaultDetail] = []
    for error in (el for el in fault if _local(el.tag) == "Error"):
        parts = {_local(child.tag): (child.text or "").strip() for child in error}
        found.append(
            FaultDetail(
                code=error.get("code"),
                message=parts.get("Message", ""),
                detail=parts.get("Detail") or None,
                element=error.get("element") or None,
            )
        )
    return ParsedFault(errors=tuple(found), fault_type=fault.get("type"))


def parse_fault(response: HttpResponse) -> ParsedFault | None:
    """The fault in the body, in any dialect, or `None` if the body holds none.

    A body over `MAX_RESPONSE_BYTES` is not parsed at all (`None`).
    """
    if len(response.body) > MAX_RESPONSE_BYTES:
        return None
    body = response.body.strip()
    if not body:
        return None
    if body[:1] in (b"{", b"["):
        try:
            return fault_from_json(json.loads(body))
        except (ValueError, RecursionError):
            return None
    if body[:1] == b"<" and b"Fault" in body[:4096]:
        return _from_xml(body)
    return None


def _class_for(fault: ParsedFault | None, status: int) -> type[errors.QBOError]:
    if fault is not None:
        for detail in fault.errors:
            if detail.code is not None:
                code = detail.code.lstrip("0") or "0"
                if code in _BY_CODE:
                    chosen = _BY_CODE[code]
                    # A 3200-style code under 403 is about permission, not an expired token.
                    if status == 403 and issubclass(chosen, errors.AccessTokenInvalidError):
                        return errors.PermissionDeniedError
                    return chosen
    if status == 429:
        return errors.ThrottledError
    if status == 401:
        return errors.AccessTokenInvalidError
    if status == 403:
        return errors.PermissionDeniedError
    if fault is not None and fault.fault_type:
        by_type = _BY_TYPE.get(fault.fault_type.lower())
        if by_type is not None:
            if by_type is errors.ValidationError and status >= 500:
                return errors.ServerError
            return by_type
    if status >= 500:
        return errors.ServerError
    if 400 <= status < 500:
        return errors.ValidationError
    return errors.ServerError  # a fault inside a 2xx/3xx answer: QBO failed to do the work


def _excerpt(body: bytes) -> str:
    return body[:EXCERPT_BYTES].decode("utf-8", "replace")


def error_from_fault(
    fault: ParsedFault | None,
    *,
    status: int,
    realm_id: str | None = None,
    tid: str | None = None,
    wait: float | None = None,
    fallback_message: str | None = None,
    fallback_detail: str | None = None,
) -> errors.QBOError:
    """The most specific error for `fault` (already parsed) at HTTP `status`.

    `retry_after` is only what the server said (`wait`); Intuit sends none, so the
    caller's retry policy decides how long to wait on a throttle (Intuit says 60 s).
    """
    cls = _class_for(fault, status)
    details: Iterable[FaultDetail] = fault.errors if fault is not None else ()
    details = tuple(details)
    first = details[0] if details else None
    message = (first.message if first is not None and first.message else None) or (
        fallback_message or f"QuickBooks Online answered HTTP {status}"
    )
    detail = "; ".join(d.detail for d in details if d.detail) or fallback_detail
    codes = [d.code for d in details if d.code]
    return cls(
        message,
        status=status,
        codes=codes,
        intuit_tid=tid,
        realm_id=realm_id,
        retry_after=wait,
        detail=detail,
    )


def oversized_error(
    response: HttpResponse, *, max_bytes: int = MAX_RESPONSE_BYTES, realm_id: str | None = None
) -> errors.ResponseTooLargeError | None:
    """A `ResponseTooLargeError` if the body is over `max_bytes`, else `None`. Reads no body."""
    size = len(response.body)
    if size <= max_bytes:
        return None
    return errors.ResponseTooLargeError(
        f"the {response.status} answer's body is {size} bytes, over the {max_bytes}-byte limit;"
        " it was not parsed",
        max_bytes=max_bytes,
        body_excerpt=_excerpt(response.body),
        status=response.status,
        intuit_tid=intuit_tid(response),
        realm_id=realm_id,
    )


def error_from_response(
    response: HttpResponse, *, realm_id: str | None = None, max_bytes: int = MAX_RESPONSE_BYTES
) -> errors.QBOError | None:
    """The error a response stands for, or `None` when it is a success.

    A 2xx answer is a success unless its body is a fault (QBO sometimes sends a `Fault`
    with 200). Any other status is an error, whatever the body: JSON, XML, HTML, text
    or nothing at all. A body over `max_bytes`, at any status, is never parsed: it is a
    `ResponseTooLargeError`.
    """
    too_large = oversized_error(response, max_bytes=max_bytes, realm_id=realm_id)
    if too_large is not None:
        return too_large
    fault = parse_fault(response)
    success = 200 <= response.status < 300
    if success and fault is None:
        return None
    fallback = None
    if fault is None:
        kind = response.content_type or "no content type"
        fallback = (
            f"QuickBooks Online answered HTTP {response.status} with "
            f"{'an empty body' if not response.body.strip() else kind}"
        )
    return error_from_fault(
        fault,
        status=response.status,
        realm_id=realm_id,
        tid=intuit_tid(response),
        wait=retry_after(response),
        fallback_message=fallback,
        fallback_detail=_excerpt(response.body)
        if fault is None and response.body.strip()
        else None,
    )


def decode_error(
    message: str, response: HttpResponse, *, realm_id: str | None = None
) -> errors.DecodeError:
    """A `DecodeError` for a success response whose body is not what was expected."""
    return errors.DecodeError(
        message,
        body_excerpt=_excerpt(response.body),
        status=response.status,
        intuit_tid=intuit_tid(response),
        realm_id=realm_id,
    )


def describe(payload: Any) -> str:
    """A short description of a JSON value's type, for error messages."""
    if isinstance(payload, Mapping):
        keys = ", ".join(list(map(str, payload))[:5])
        return f"an object with keys {keys}" if keys else "an empty object"
    return f"a JSON {type(payload).__name__}"
