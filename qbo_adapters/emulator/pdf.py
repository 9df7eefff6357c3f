"""PDFs of sales forms: `GET /v3/company/{realm}/{entity}/{id}/pdf`.

Served for Invoice, Estimate, SalesReceipt and CreditMemo (`get_pdf/invoice.json`): HTTP
200, `Content-Type: application/pdf`, a small, valid PDF 1.4 written here by hand: one
Letter page, Helvetica (WinAnsi), a content stream with the company, the form's title,
number and dates, the customer and billing address, one row per line (description or
item, quantity, rate, amount; rows past the page end are summed up in one "... more
lines" row), then the total and, for an invoice, the balance due. The cross-reference
table gives each object's exact byte offset.

Any other entity is 400 code 500 "Unsupported Operation", as an unknown path; a
non-numeric Id is 2030 and an unknown one 610, in JSON whatever the `Accept` header asked
(a client reading a PDF must expect a JSON fault). The PDF is returned whatever `Accept`
says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from qbo_adapters.emulator.context import RequestContext, text_response
from qbo_adapters.emulator.faults import invalid_id, not_found, unsupported_operation
from qbo_adapters.emulator.store import Company
from qbo_core.http import HttpResponse

__all__ = ["PDF_ENTITIES", "build_pdf", "document_pdf", "render_pdf"]

#: URL name -> entity of the forms QBO renders as PDF.
PDF_ENTITIES: Final = {
    "invoice": "Invoice",
    "estimate": "Estimate",
    "salesreceipt": "SalesReceipt",
    "creditmemo": "CreditMemo",
}
_TITLES: Final = {
    "Invoice": "INVOICE",
    "Estimate": "ESTIMATE",
    "SalesReceipt": "SALES RECEIPT",
    "CreditMemo": "CREDIT MEMO",
}
_NUMBER_LABELS: Final = {
    "Invoice": "Invoice no.",
    "Estimate": "Estimate no.",
    "SalesReceipt": "Sales Receipt no.",
    "CreditMemo": "Credit Memo no.",
}

_PAGE_WIDTH: Final = 612
_PAGE_HEIGHT: Final = 792
_LEFT: Final = 50
_BOTTOM: Final = 110
_LINE: Final = 14
_COLUMNS: Final = (_LEFT, 340, 410, 490)


def _escape(text: str) -> bytes:
    """`text` as a PDF literal string body in WinAnsi (unmappable characters as `?`)."""
    flat = " ".join(text.split())
    raw = flat.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


class _Page:
    """A content stream being written, top to bottom."""

    def __init__(self) -> None:
        self.ops: list[bytes] = []
        self.y = _PAGE_HEIGHT - 60

    def text(self, x: float, y: float, text: str, *, size: int = 10, bold: bool = False) -> None:
        font = b"/F2" if bold else b"/F1"
        self.ops.append(b"BT %s %d Tf %.2f %.2f Td (%s) Tj ET" % (font, size, x, y, _escape(text)))

    def right(self, x: float, y: float, text: str, *, size: int = 10, bold: bool = False) -> None:
        """Text ending at `x` (Helvetica digits are 0.556 em wide; close enough)."""
        self.text(x - 0.53 * size * len(text), y, text, size=size, bold=bold)

    def row(self, cells: Sequence[str], *, bold: bool = False) -> None:
        description, qty, rate, amount = cells
        self.text(_COLUMNS[0], self.y, description[:55], bold=bold)
        self.right(_COLUMNS[1] + 40, self.y, qty, bold=bold)
        self.right(_COLUMNS[2] + 60, self.y, rate, bold=bold)
        self.right(_PAGE_WIDTH - _LEFT, self.y, amount, bold=bold)
        self.y -= _LINE

    def rule(self) -> None:
        self.ops.append(
            b"%d %.2f m %d %.2f l S"
            % (_LEFT, self.y + _LINE - 3, _PAGE_WIDTH - _LEFT, self.y + _LINE - 3)
        )

    def stream(self) -> bytes:
        return b"\n".join(self.ops) + b"\n"


def _amount(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    cents = round(value * 100)
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{part:02d}"


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return f"{value:g}"


def _ref_name(obj: Mapping[str, Any], key: str) -> str:
    ref = obj.get(key)
    if isinstance(ref, Mapping):
        name = ref.get("name")
        if isinstance(name, str):
            return name
        value = ref.get("value")
        return str(value) if value is not None else ""
    return ""


def _address(obj: Mapping[str, Any] | None) -> list[str]:
    if not isinstance(obj, Mapping):
        return []
    lines = [str(obj[k]) for k in ("Line1", "Line2", "Line3", "Line4", "Line5") if obj.get(k)]
    city = ", ".join(
        str(obj[k]) for k in ("City", "CountrySubDivisionCode") if isinstance(obj.get(k), str)
    )
    place = " ".join(x for x in (city, str(obj.get("PostalCode") or "")) if x)
    if place:
        lines.append(place)
    return lines


def _line_cells(line: Mapping[str, Any]) -> list[str] | None:
    kind = line.get("DetailType")
    description = line.get("Description")
    text = description if isinstance(description, str) else ""
    if kind == "SalesItemLineDetail":
        detail = line.get("SalesItemLineDetail")
        detail = detail if isinstance(detail, Mapping) else {}
        return [
            text or _ref_name(detail, "ItemRef"),
            _number(detail.get("Qty")),
            _amount(detail.get("UnitPrice")),
            _amount(line.get("Amount")),
        ]
    if kind == "DiscountLineDetail":
        return [text or "Discount", "", "", f"-{_amount(line.get('Amount'))}"]
    if kind == "DescriptionOnly" and text:
        return [text, "", "", ""]
    return None


def document_pdf(company: Company, entity: str, obj: Mapping[str, Any]) -> bytes:
    """The PDF of one sales form, as `render_pdf` sends it."""
    page = _Page()
    info = company.company_info
    company_name = str(info.get("CompanyName") or "")
    page.text(_LEFT, page.y, company_name, size=14, bold=True)
    page.right(_PAGE_WIDTH - _LEFT, page.y, _TITLES[entity], size=16, bold=True)
    page.y -= 18
    for text in _address(info.get("CompanyAddr")):
        page.text(_LEFT, page.y, text)
        page.y -= _LINE
    page.y -= 10
    number = str(obj.get("DocNumber") or obj.get("Id") or "")
    facts = [(_NUMBER_LABELS[entity], number), ("Date", str(obj.get("TxnDate") or ""))]
    if entity == "Invoice" and obj.get("DueDate"):
        facts.append(("Due date", str(obj["DueDate"])))
    if entity == "Estimate" and obj.get("ExpirationDate"):
        facts.append(("Expiration date", str(obj["ExpirationDate"])))
    for label, value in facts:
        page.text(_LEFT, page.y, f"{label}: {value}")
        page.y -= _LINE
    page.y -= 6
    customer = _ref_name(obj, "CustomerRef")
    page.text(_LEFT, page.y, "Bill to", bold=True)
    page.y -= _LINE
    for text in [customer, *_address(obj.get("BillAddr"))]:
        if text:
            page.text(_LEFT, page.y, text)
            page.y -= _LINE
    page.y -= 10
    page.row(["Description", "Qty", "Rate", "Amount"], bold=True)
    page.rule()
    rows = [
        cells
        for line in obj.get("Line") or ()
        if isinstance(line, Mapping)
        if (cells := _line_cells(line)) is not None
    ]
    room = max(0, int((page.y - _BOTTOM) // _LINE))
    if len(rows) > room:
        shown, hidden = rows[: max(room - 1, 0)], rows[max(room - 1, 0) :]
        rows = [*shown, [f"... {len(hidden)} more lines", "", "", ""]]
    for cells in rows:
        page.row(cells)
    page.y -= 4
    page.rule()
    tax = obj.get("TxnTaxDetail")
    total_tax = tax.get("TotalTax") if isinstance(tax, Mapping) else None
    if isinstance(total_tax, int | float) and not isinstance(total_tax, bool) and total_tax:
        page.row(["Tax", "", "", _amount(total_tax)])
    page.row(["Total", "", "", _amount(obj.get("TotalAmt"))], bold=True)
    if entity == "Invoice":
        page.row(["Balance due", "", "", _amount(obj.get("Balance"))], bold=True)
    elif entity == "CreditMemo" and "RemainingCredit" in obj:
        page.row(["Remaining credit", "", "", _amount(obj.get("RemainingCredit"))])
    memo = obj.get("CustomerMemo")
    memo_text = memo.get("value") if isinstance(memo, Mapping) else None
    if isinstance(memo_text, str) and memo_text:
        page.y -= 10
        page.text(_LEFT, page.y, memo_text[:100])
    title = f"{_TITLES[entity].title()} {number}"
    return build_pdf(page.stream(), title=title)


def build_pdf(content: bytes, *, title: str = "") -> bytes:
    """A one-page PDF 1.4 around `content` (a page content stream), fonts F1 Helvetica and
    F2 Helvetica-Bold, with an exact cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
        b"/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>"
        % (_PAGE_WIDTH, _PAGE_HEIGHT),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Title (%s) /Producer (qbo-infra QBO emulator) >>" % _escape(title),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        len(objects),
        xref,
    )
    return bytes(out)


def render_pdf(ctx: RequestContext, company: Company, url_entity: str, raw_id: str) -> HttpResponse:
    """`GET /{entity}/{id}/pdf`; `QBOFault` for another entity or a missing object."""
    entity = PDF_ENTITIES.get(url_entity.lower())
    if entity is None or ctx.method != "GET":
        raise unsupported_operation(ctx.path)
    if not raw_id.isdigit():
        raise invalid_id(raw_id)
    obj = company.get(entity, raw_id.lstrip("0") or "0")
    if obj is None:
        raise not_found()
    return text_response(
        ctx, document_pdf(company, entity, obj), status=200, content_type="application/pdf"
    )
