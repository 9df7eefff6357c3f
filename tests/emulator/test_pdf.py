"""PDFs of sales forms (`pdf.py`): the recorded request, and the file's structure."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from qbo_adapters.emulator.pdf import build_pdf
from qbo_adapters.emulator.settings import EmulatorSettings
from tests.emulator.harness import DataClient, Reply, header, relative
from tests.shared_fixtures import RECORDED


@pytest.fixture
def recorded() -> Path:
    if not RECORDED.is_dir():
        pytest.skip(f"recorded QBO traffic not found at {RECORDED} (../shared is absent)")
    return RECORDED


@pytest.fixture
def small() -> DataClient:
    return DataClient()


def first(client: DataClient, entity: str) -> dict[str, Any]:
    found: dict[str, Any] = next(iter(client.company.all(entity)))
    return found


async def pdf(client: DataClient, path: str) -> Reply:
    return await client.request("GET", path, content_type=None, accept="application/pdf")


def structure_problems(data: bytes) -> list[str]:
    """What is wrong with `data` as a PDF: header, trailer, every xref offset pointing at
    its `N 0 obj`, and each stream's /Length."""
    problems: list[str] = []
    if not data.startswith(b"%PDF-1.4\n"):
        problems.append("no %PDF-1.4 header")
    if not data.rstrip().endswith(b"%%EOF"):
        problems.append("no %%EOF at the end")
    tail = re.search(rb"startxref\n(\d+)\n%%EOF\s*$", data)
    if tail is None:
        return [*problems, "no startxref"]
    xref_at = int(tail[1])
    section = re.match(rb"xref\n0 (\d+)\n", data[xref_at:])
    if section is None:
        return [*problems, f"startxref {xref_at} does not point at the xref table"]
    count = int(section[1])
    table = data[xref_at + section.end() :]
    entries = [table[i * 20 : (i + 1) * 20] for i in range(count)]
    if entries[0] != b"0000000000 65535 f \n":
        problems.append("object 0 is not the free list head")
    for number, entry in enumerate(entries[1:], start=1):
        match = re.fullmatch(rb"(\d{10}) 00000 n \n", entry)
        if match is None:
            problems.append(f"xref entry {number} is malformed: {entry!r}")
            continue
        offset = int(match[1])
        if not data[offset:].startswith(b"%d 0 obj\n" % number):
            problems.append(f"xref entry {number} points at {data[offset : offset + 12]!r}")
    trailer = re.search(rb"trailer\n<< /Size (\d+) /Root 1 0 R", data)
    if trailer is None or int(trailer[1]) != count:
        problems.append("trailer /Size does not match the xref table")
    for match in re.finditer(rb"<< /Length (\d+) >>\nstream\n", data):
        end = match.end() + int(match[1])
        if data[end : end + 10] != b"\nendstream":
            problems.append(f"stream at {match.start()} is not /Length {match[1].decode()} long")
    return problems


def text_of(data: bytes) -> str:
    """The strings shown by the page's text operators, joined by newlines."""
    shown = re.findall(rb"\((.*?)\) Tj", data)
    return "\n".join(s.replace(b"\\(", b"(").replace(b"\\)", b")").decode("cp1252") for s in shown)


@pytest.mark.fixtures
async def test_recorded_invoice_pdf_request_gets_a_pdf(recorded: Path) -> None:
    """The recorded `GET /invoice/130/pdf` answers 200, application/pdf and a body that
    starts as QBO's does (`%PDF-1.4`), for an invoice 130 the company holds."""
    interaction = json.loads((recorded / "get_pdf/invoice.json").read_text())["interactions"][0]
    request, response = interaction["request"], interaction["response"]
    client = DataClient(EmulatorSettings(throttle=False, size="small"))
    invoice = json.loads(json.dumps(first(client, "Invoice")))
    client.company.load("Invoice", {**invoice, "Id": "130"})
    reply = await client.request(
        request["method"],
        relative(request["uri"]),
        content_type=None,
        accept=header(request["headers"], "Accept"),
    )
    assert reply.status == response["status"]
    expected_type = header(response["headers"], "Content-Type").lower()
    assert (reply.headers.get("Content-Type") or "").lower() == expected_type
    assert reply.body.startswith(response["body"].removesuffix("...").encode())
    assert structure_problems(reply.body) == []


@pytest.mark.parametrize("entity", ["Invoice", "Estimate", "SalesReceipt", "CreditMemo"])
async def test_each_sales_form_renders_a_valid_pdf_with_its_facts(
    small: DataClient, entity: str
) -> None:
    """Each sales form's PDF is structurally valid (xref offsets, stream lengths) and shows
    its number, customer, line amounts and total."""
    obj = first(small, entity)
    reply = await pdf(small, f"/{entity.lower()}/{obj['Id']}/pdf")
    assert reply.status == 200
    assert reply.headers.get("Content-Type") == "application/pdf"
    assert structure_problems(reply.body) == []
    text = text_of(reply.body)
    assert obj["DocNumber"] in text
    assert obj["CustomerRef"]["name"] in text
    assert f"{obj['TotalAmt']:,.2f}" in text
    for line in obj["Line"]:
        if line["DetailType"] == "SalesItemLineDetail":
            assert f"{line['Amount']:,.2f}" in text


async def test_a_long_invoice_stays_on_one_page(small: DataClient) -> None:
    """An invoice with more lines than fit shows the first ones and sums the rest up in a
    "more lines" row, still one valid page."""
    invoice = json.loads(json.dumps(first(small, "Invoice")))
    line = next(x for x in invoice["Line"] if x["DetailType"] == "SalesItemLineDetail")
    invoice["Line"] = [{**line, "Description": f"Line {n}"} for n in range(200)]
    small.company.load("Invoice", invoice)
    reply = await pdf(small, f"/invoice/{invoice['Id']}/pdf")
    assert structure_problems(reply.body) == []
    text = text_of(reply.body)
    assert "Line 0" in text
    assert "Line 199" not in text
    assert re.search(r"\.\.\. \d+ more lines", text)
    assert reply.body.count(b"/Type /Page ") == 1


async def test_other_entities_and_unknown_ids_are_json_faults(small: DataClient) -> None:
    """A bill PDF is 400 code 500, an unknown invoice 400 code 610 and a non-numeric Id
    400 code 2030, each as JSON although a PDF was asked for."""
    bill = first(small, "Bill")
    for path, code in (
        (f"/bill/{bill['Id']}/pdf", "500"),
        ("/invoice/999999/pdf", "610"),
        ("/invoice/abc/pdf", "2030"),
    ):
        reply = await pdf(small, path)
        assert reply.status == 400, path
        assert (reply.headers.get("Content-Type") or "").startswith("application/json"), path
        assert reply.json()["Fault"]["Error"][0]["code"] == code, path


def test_build_pdf_escapes_text_and_measures_streams() -> None:
    """Parentheses and backslashes in shown text are escaped, other text kept in WinAnsi,
    and the file stays structurally valid."""
    content = b"BT /F1 10 Tf 50 700 Td (a \\(b\\) \\\\ c) Tj ET\n"
    data = build_pdf(content, title="Größe (1)")
    assert structure_problems(data) == []
    assert b"/Title (Gr\xf6\xdfe \\(1\\))" in data
