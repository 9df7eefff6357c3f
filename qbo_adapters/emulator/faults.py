"""QBO's faults, as the emulator raises and renders them.

Handlers raise `QBOFault` (the data service's capitalised `Fault` envelope) or
`GatewayFault` (the gateway's lower-case `fault` envelope used for 401/403/429);
the application turns either into an `HttpResponse` in QBO's exact shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from xml.sax.saxutils import escape

import attrs

__all__ = [
    "FaultItem",
    "GatewayFault",
    "QBOFault",
    "business_validation",
    "duplicate_name",
    "gateway_json",
    "invalid_id",
    "invalid_property",
    "invalid_value",
    "malformed_json",
    "not_found",
    "required_param",
    "stale_object",
    "unsupported_media_type",
    "unsupported_operation",
    "xml_fault",
]


@attrs.frozen
class FaultItem:
    """One `Error` inside a `Fault`."""

    code: str
    message: str
    detail: str
    element: str | None = None

    def as_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {"Message": self.message, "Detail": self.detail, "code": self.code}
        if self.element is not None:
            item["element"] = self.element
        return item


class QBOFault(Exception):
    """A data-service fault: `{"Fault":{"Error":[...],"type":...},"time":...}`."""

    def __init__(
        self,
        status: int,
        errors: Sequence[FaultItem],
        fault_type: str = "ValidationFault",
        *,
        headers: Iterable[tuple[str, str]] = (),
        as_xml: bool = False,
    ) -> None:
        super().__init__(errors[0].message if errors else fault_type)
        self.status = status
        self.errors = tuple(errors)
        self.fault_type = fault_type
        #: Extra response headers (e.g. Retry-After on a 429).
        self.headers = tuple(headers)
        #: Render as an XML `IntuitResponse` whatever the client asked for.
        self.as_xml = as_xml

    def body(self) -> dict[str, Any]:
        """The `Fault` object, as it appears in a response or a batch item."""
        return {"Error": [e.as_json() for e in self.errors], "type": self.fault_type}

    @classmethod
    def single(
        cls,
        code: str,
        message: str,
        detail: str,
        *,
        status: int = 400,
        element: str | None = None,
        fault_type: str = "ValidationFault",
    ) -> QBOFault:
        return cls(status, [FaultItem(code, message, detail, element)], fault_type)


class GatewayFault(Exception):
    """A gateway fault (401, 403, 429): lower-case keys and a numeric epoch `time`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        detail: str,
        fault_type: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.fault_type = fault_type
        self.headers = tuple(headers)


def gateway_json(fault: GatewayFault, epoch_ms: int) -> dict[str, Any]:
    """The lower-case envelope QBO's gateway sends (see error/401 in the recordings)."""
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": fault.message,
                    "detail": fault.detail,
                    "code": fault.code,
                    "element": None,
                }
            ],
            "type": fault.fault_type,
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": epoch_ms,
        "status": None,
        "cdcresponse": [],
    }


def xml_fault(fault_type: str, items: Iterable[FaultItem], time_text: str) -> bytes:
    """An `IntuitResponse` XML fault, as QBO sends for some errors whatever was asked."""
    errors = "".join(
        f'<Error code="{escape(i.code)}"><Message>{escape(i.message)}</Message>'
        f"<Detail>{escape(i.detail)}</Detail></Error>"
        for i in items
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="{time_text}">'
        f'<Fault type="{escape(fault_type)}">{errors}</Fault></IntuitResponse>'
    ).encode()


# -- the common ones ------------------------------------------------------------------


def stale_object() -> QBOFault:
    return QBOFault.single(
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and Emulator User were working on this at the same time. "
        "Emulator User finished before you did, so your work was not saved.",
        element="",
    )


def not_found() -> QBOFault:
    return QBOFault.single(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. "
        "Check the fields with accounts, customers, items, vendors or employees.",
        element="",
    )


def duplicate_name() -> QBOFault:
    return QBOFault.single(
        "6240", "Duplicate Name Exists Error", "The name supplied already exists. : null"
    )


def unsupported_operation(relative_path: str) -> QBOFault:
    return QBOFault.single(
        "500",
        "Unsupported Operation",
        f"Operation Could not find resource for relative : {relative_path} is not supported.",
    )


def invalid_id(value: str) -> QBOFault:
    return QBOFault.single(
        "2030",
        "Invalid ID",
        f"Id should be a valid number. Supplied value:{value}",
        element="Id",
    )


def invalid_property(entity: str, name: str, known: Iterable[str]) -> QBOFault:
    names = sorted(known)
    shown = ", ".join(f'"{n}"' for n in names[:60])
    return QBOFault.single(
        "2010",
        "Request has invalid or unsupported property",
        f'Property Name:Unrecognized field "{name}" (class com.intuit.schema.finance.v3.'
        f"{entity}), not marked as ignorable ({len(names)} known properties: {shown}"
        f"{' [truncated]' if len(names) > 60 else ''}])\n specified is unsupported or invalid",
    )


def malformed_json(reason: str) -> QBOFault:
    """The body is not JSON (QBO reports it through its JSON parser, as code 2010)."""
    return QBOFault.single(
        "2010",
        "Request has invalid or unsupported property",
        f"Property Name:Can not parse the request body: {reason} specified is unsupported "
        "or invalid",
    )


def required_param(name: str) -> QBOFault:
    return QBOFault.single(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {name} is missing in the request",
        element=name,
    )


def invalid_value(name: str, detail: str) -> QBOFault:
    return QBOFault.single("2050", "Invalid String", detail, element=name)


def unsupported_media_type(content_type: str) -> QBOFault:
    """A body sent with a content type the operation does not take (shape UNCONFIRMED)."""
    return QBOFault.single(
        "415",
        "Unsupported Media Type",
        f"Content type {content_type or '(none)'} is not supported for this operation",
        status=415,
    )


def business_validation(detail: str, *, element: str = "") -> QBOFault:
    return QBOFault.single(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element=element,
    )
