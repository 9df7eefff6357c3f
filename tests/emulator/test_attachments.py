"""Attachments (`attachments.py`): uploads, Attachable reads and writes, download links."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from qbo_adapters.emulator.attachments import MAX_UPLOAD_BYTES, parse_multipart, store_attachable
from qbo_adapters.emulator.faults import QBOFault
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_core.http import HttpRequest, HttpResponse
from tests.emulator.harness import DataClient, Reply, header, relative, shape_problems
from tests.shared_fixtures import RECORDED

BOUNDARY = "----qbo-infra-test-boundary-7d9a"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.fixture
def recorded() -> Path:
    if not RECORDED.is_dir():
        pytest.skip(f"recorded QBO traffic not found at {RECORDED} (../shared is absent)")
    return RECORDED


@pytest.fixture
def client() -> DataClient:
    """An empty company holding invoice 75 (as the recordings link to it)."""
    made = DataClient(EmulatorSettings(throttle=False, size="empty"))
    meta = {
        "CreateTime": "2020-09-01T10:00:00-07:00",
        "LastUpdatedTime": "2020-09-01T10:00:00-07:00",
    }
    made.company.load(
        "Invoice",
        {
            "domain": "QBO",
            "sparse": False,
            "Id": "75",
            "SyncToken": "0",
            "MetaData": meta,
            "DocNumber": "1001",
            "TxnDate": "2020-09-01",
            "CustomerRef": {"value": "1", "name": "Amy's Bird Sanctuary"},
            "Line": [],
            "TotalAmt": 0,
            "Balance": 0,
        },
    )
    return made


def part(
    name: str,
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    encoding: str | None = None,
) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    lines = [f"Content-Disposition: {disposition}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    if encoding:
        lines.append(f"Content-Transfer-Encoding: {encoding}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def multipart(*parts: bytes) -> bytes:
    delimiter = f"--{BOUNDARY}".encode()
    body = b"".join(delimiter + b"\r\n" + p + b"\r\n" for p in parts)
    return body + delimiter + b"--\r\n"


def metadata(number: str, **fields: Any) -> bytes:
    return part(
        f"file_metadata_{number}",
        json.dumps(fields).encode(),
        filename="attachment.json",
        content_type="application/json",
    )


def invoice_link(invoice_id: str = "75") -> list[dict[str, Any]]:
    return [{"EntityRef": {"type": "Invoice", "value": invoice_id}}]


async def upload(client: DataClient, body: bytes, content_type: str = MULTIPART) -> Reply:
    return await client.request("POST", "/upload", body, content_type=content_type)


def entries(reply: Reply) -> list[dict[str, Any]]:
    assert reply.status == 200, reply.body
    found: list[dict[str, Any]] = reply.json()["AttachableResponse"]
    return found


async def fetch(client: DataClient, url: str) -> HttpResponse:
    """GET a temporary link the way a client follows it: no token, through the transport."""
    return await EmulatorTransport(client.emulator).send(HttpRequest(method="GET", url=url))


def fault(reply: Reply) -> dict[str, Any]:
    error: dict[str, Any] = reply.json()["Fault"]["Error"][0]
    return error


# --------------------------------------------------------------------------- recorded


def recorded_exchange(root: Path, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    interaction = json.loads((root / name).read_text())["interactions"][0]
    return interaction["request"], interaction["response"]


async def replay(client: DataClient, request: dict[str, Any]) -> Reply:
    return await client.request(
        request["method"],
        relative(request["uri"]),
        (request["body"] or "").encode() or None,
        content_type=header(request["headers"], "Content-Type") or None,
        accept=header(request["headers"], "Accept") or "application/json",
    )


def assert_like(reply: Reply, response: dict[str, Any]) -> tuple[Any, Any]:
    """Same status, Content-Type, keys and JSON types as the recorded answer."""
    assert reply.status == response["status"], reply.body
    expected_type = header(response["headers"], "Content-Type").lower()
    assert (reply.headers.get("Content-Type") or "").lower() == expected_type
    expected, actual = json.loads(response["body"]), reply.json()
    assert shape_problems(expected, actual) == []
    return expected, actual


def recorded_file(root: Path) -> bytes:
    """The file content the recorded upload sent (part `file_content_01`)."""
    request, _ = recorded_exchange(root, "attachment/create_for_invoice.json")
    parts = parse_multipart(header(request["headers"], "Content-Type"), request["body"].encode())
    return next(p.data for p in parts if p.name == "file_content_01")


def seed_recorded_attachable(client: DataClient, root: Path) -> None:
    """The Attachable the recorded read answered, with the uploaded file's bytes."""
    _, response = recorded_exchange(root, "attachment/read_attachment.json")
    store_attachable(
        client.company, json.loads(response["body"])["Attachable"], recorded_file(root)
    )


@pytest.mark.fixtures
async def test_recorded_upload_for_an_invoice_is_answered_as_qbo_did(
    recorded: Path, client: DataClient
) -> None:
    """The recorded multipart upload linked to invoice 75 gets an AttachableResponse with
    QBO's keys and types, the same file fields and link, and a download URI of its own."""
    request, response = recorded_exchange(recorded, "attachment/create_for_invoice.json")
    expected, actual = assert_like(await replay(client, request), response)
    made = actual["AttachableResponse"][0]["Attachable"]
    wanted = expected["AttachableResponse"][0]["Attachable"]
    for key in ("FileName", "Size", "ContentType", "AttachableRef", "SyncToken", "sparse"):
        assert made[key] == wanted[key], key
    assert made["FileAccessUri"] == f"/v3/company/{client.realm}/download/{made['Id']}"
    assert made["TempDownloadUri"].startswith(f"{client.emulator.base_url}/_emulator/files/")


@pytest.mark.fixtures
async def test_recorded_link_to_a_missing_estimate_is_a_per_file_fault(
    recorded: Path, client: DataClient
) -> None:
    """Linking the upload to Estimate 75, which does not exist, answers HTTP 200 with the
    file's Fault entry exactly as QBO worded it, and stores nothing."""
    request, response = recorded_exchange(recorded, "attachment/error_estimate.json")
    expected, actual = assert_like(await replay(client, request), response)
    assert actual["AttachableResponse"] == expected["AttachableResponse"]
    assert list(client.company.all("Attachable")) == []


@pytest.mark.fixtures
async def test_recorded_attachable_read_and_delete(recorded: Path, client: DataClient) -> None:
    """The recorded read of Attachable 5000000000000503624 and its delete (the URI without
    `/company/<realm>`, the body without SyncToken) get QBO's answers; it is gone after."""
    seed_recorded_attachable(client, recorded)
    request, response = recorded_exchange(recorded, "attachment/read_attachment.json")
    expected, actual = assert_like(await replay(client, request), response)
    assert actual["Attachable"]["AttachableRef"] == expected["Attachable"]["AttachableRef"]
    assert actual["Attachable"]["TempDownloadUri"] != expected["Attachable"]["TempDownloadUri"]
    request, response = recorded_exchange(recorded, "attachment/delete_attachment.json")
    expected, actual = assert_like(await replay(client, request), response)
    assert actual["Attachable"] == expected["Attachable"]
    again = await client.get("/attachable/5000000000000503624")
    assert again.status == 400
    assert fault(again)["code"] == "610"


# --------------------------------------------------------------------------- uploads


async def test_two_files_in_one_request_are_both_stored(client: DataClient) -> None:
    """Two files in one upload answer two Attachables, in the order of their numbers, with
    their own Ids, sizes and types; a file without metadata takes its part's name and type."""
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
    body = multipart(
        part("file_content_02", png, filename="chart.png", content_type="image/png"),
        metadata(
            "01", FileName="notes.txt", ContentType="text/plain", AttachableRef=invoice_link()
        ),
        part("file_content_01", b"hello", filename="ignored.txt", content_type="text/plain"),
    )
    first, second = entries(await upload(client, body))
    assert (first["Attachable"]["FileName"], first["Attachable"]["Size"]) == ("notes.txt", 5)
    assert first["Attachable"]["AttachableRef"][0]["EntityRef"] == {
        "value": "75",
        "type": "Invoice",
    }
    assert (second["Attachable"]["FileName"], second["Attachable"]["Size"]) == (
        "chart.png",
        len(png),
    )
    assert second["Attachable"]["ContentType"] == "image/png"
    assert "AttachableRef" not in second["Attachable"]
    assert int(second["Attachable"]["Id"]) == int(first["Attachable"]["Id"]) + 1


async def test_binary_content_round_trips_through_the_download_url(client: DataClient) -> None:
    """Every byte value, CRLFs and boundary-like dashes included, comes back unchanged from
    the temporary URL `/download/{id}` answers as text/plain, with the uploaded type."""
    content = bytes(range(256)) * 8 + b"\r\n--" + BOUNDARY.encode()[:-1] + b"\r\n\r\n"
    body = multipart(
        metadata("01", FileName="blob.bin", ContentType="application/octet-stream"),
        part(
            "file_content_01", content, filename="blob.bin", content_type="application/octet-stream"
        ),
    )
    made = entries(await upload(client, body))[0]["Attachable"]
    assert made["Size"] == len(content)
    reply = await client.get(f"/download/{made['Id']}")
    assert reply.status == 200
    assert reply.headers.get("Content-Type") == "text/plain"
    url = reply.body.decode()
    assert url.startswith(f"{client.emulator.base_url}/_emulator/files/")
    for link in (url, made["TempDownloadUri"]):
        served = await fetch(client, link)
        assert served.status == 200
        assert served.body == content
        assert served.headers.get("Content-Type") == "application/octet-stream"


async def test_base64_parts_are_decoded(client: DataClient) -> None:
    """A content part sent base64-encoded without a filename (as python-quickbooks sends
    it) is stored decoded, under the metadata's FileName."""
    content = "Grüße, QuickBooks\n".encode()
    body = multipart(
        metadata(
            "01", FileName="greeting.txt", ContentType="text/plain", AttachableRef=invoice_link()
        ),
        part(
            "file_content_01",
            base64.b64encode(content),
            content_type="text/plain",
            encoding="base64",
        ),
    )
    made = entries(await upload(client, body))[0]["Attachable"]
    assert (made["FileName"], made["Size"]) == ("greeting.txt", len(content))
    served = await fetch(client, made["TempDownloadUri"])
    assert served.body == content


async def test_download_links_expire_after_fifteen_minutes(client: DataClient) -> None:
    """A link serves the file for 15 minutes of emulator time, then answers 403; an
    unknown token is 404."""
    body = multipart(metadata("01", FileName="a.txt"), part("file_content_01", b"abc"))
    made = entries(await upload(client, body))[0]["Attachable"]
    link = (await client.get(f"/download/{made['Id']}")).body.decode()
    client.advance(15 * 60 - 1)
    assert (await fetch(client, link)).status == 200
    client.advance(1)
    expired = await fetch(client, link)
    assert expired.status == 403
    assert b"<Code>AccessDenied</Code>" in expired.body
    fresh = await client.get(f"/attachable/{made['Id']}")
    assert (await fetch(client, fresh.json()["Attachable"]["TempDownloadUri"])).status == 200
    unknown = await fetch(client, f"{client.emulator.base_url}/_emulator/files/nope")
    assert unknown.status == 404


async def test_a_file_without_its_content_part_is_a_per_file_fault(client: DataClient) -> None:
    """Metadata 01 without content 01 answers a 2020 Fault naming file_content_01, while
    file 02 of the same request is stored."""
    body = multipart(
        metadata("01", FileName="lost.txt"),
        metadata("02", FileName="kept.txt"),
        part("file_content_02", b"kept"),
    )
    missing, kept = entries(await upload(client, body))
    error = missing["Fault"]["Error"][0]
    assert (error["code"], error["element"]) == ("2020", "file_content_01")
    assert missing["Fault"]["type"] == "ValidationFault"
    assert kept["Attachable"]["FileName"] == "kept.txt"
    assert len(list(client.company.all("Attachable"))) == 1


async def test_bad_metadata_is_a_per_file_fault(client: DataClient) -> None:
    """Metadata naming an unknown property is a 2010 Fault for that file; metadata that is
    not JSON likewise."""
    body = multipart(
        metadata("01", FileName="a.txt", Colour="red"),
        part("file_content_01", b"a"),
        part("file_metadata_02", b"{not json"),
        part("file_content_02", b"b", filename="b.txt"),
    )
    first, second = entries(await upload(client, body))
    assert first["Fault"]["Error"][0]["code"] == "2010"
    assert "Colour" in first["Fault"]["Error"][0]["Detail"]
    assert second["Fault"]["Error"][0]["code"] == "2010"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (multipart(part("other", b"x")), MULTIPART, 400, "2020"),
        (multipart(part("file_content_01", b"x"))[:-10], MULTIPART, 400, "2010"),
        (b"no boundary here", MULTIPART, 400, "2010"),
        (multipart(part("file_content_01", b"x")), "multipart/form-data", 400, "2010"),
        (b'{"FileName": "a.txt"}', "application/json", 415, "415"),
    ],
    ids=["no-file-part", "unterminated", "no-delimiter", "no-boundary-param", "not-multipart"],
)
async def test_malformed_uploads_are_refused(
    client: DataClient, body: bytes, content_type: str, status: int, code: str
) -> None:
    """An upload with no file part, a broken multipart body or another media type is
    refused as a whole, and nothing is stored."""
    reply = await upload(client, body, content_type)
    assert reply.status == status
    assert fault(reply)["code"] == code
    assert list(client.company.all("Attachable")) == []


async def test_an_upload_over_100_mb_is_refused(client: DataClient) -> None:
    """A request one byte over 100 MB answers 413 before it is parsed."""
    reply = await upload(client, b"\0" * (MAX_UPLOAD_BYTES + 1))
    assert reply.status == 413
    assert fault(reply)["code"] == "413"


def test_parse_multipart_reads_names_filenames_and_types() -> None:
    """The parser returns each part's form name, filename, type and exact bytes."""
    body = multipart(
        part("file_content_01", b"\r\n\r\nbody\r\n", filename="x.bin", content_type="a/b"),
        part("file_metadata_01", b"{}"),
    )
    parts = parse_multipart(MULTIPART, body)
    assert [(p.name, p.filename, p.content_type, p.data) for p in parts] == [
        ("file_content_01", "x.bin", "a/b", b"\r\n\r\nbody\r\n"),
        ("file_metadata_01", None, None, b"{}"),
    ]
    with pytest.raises(QBOFault):
        parse_multipart("multipart/form-data; boundary=other", body)


# --------------------------------------------------------------------------- the entity


async def test_attachables_are_queried_by_what_they_link_to(client: DataClient) -> None:
    """`select * from Attachable where AttachableRef.EntityRef.Type = 'invoice'` finds the
    files linked to an invoice and not the others; with none stored the page is empty."""
    empty = await client.query("select * from Attachable")
    assert empty.json()["QueryResponse"] == {}
    body = multipart(
        metadata("01", FileName="linked.txt", AttachableRef=invoice_link()),
        part("file_content_01", b"1"),
        part("file_content_02", b"2", filename="loose.txt"),
    )
    entries(await upload(client, body))
    reply = await client.query(
        "select * from Attachable where AttachableRef.EntityRef.Type = 'invoice' "
        "and AttachableRef.EntityRef.value = '75'"
    )
    found = reply.json()["QueryResponse"]["Attachable"]
    assert [a["FileName"] for a in found] == ["linked.txt"]
    count = await client.query("select count(*) from Attachable")
    assert count.json()["QueryResponse"]["totalCount"] == 2


async def test_note_attachables_are_created_updated_and_deleted(client: DataClient) -> None:
    """A note is created with POST /attachable, a sparse update bumps its SyncToken, a stale
    one is 5010, a delete answers status Deleted, and a read after is 610."""
    created = await client.post(
        "/attachable", {"Note": "Call back", "AttachableRef": invoice_link()}
    )
    note = created.json()["Attachable"]
    assert (note["Note"], note["SyncToken"]) == ("Call back", "0")
    assert "TempDownloadUri" not in note
    updated = await client.post(
        "/attachable", {"Id": note["Id"], "SyncToken": "0", "sparse": True, "Note": "Done"}
    )
    assert (updated.json()["Attachable"]["Note"], updated.json()["Attachable"]["SyncToken"]) == (
        "Done",
        "1",
    )
    assert updated.json()["Attachable"]["AttachableRef"] == note["AttachableRef"]
    stale = await client.post("/attachable", {"Id": note["Id"], "SyncToken": "0", "Note": "x"})
    assert fault(stale)["code"] == "5010"
    no_file = await client.get(f"/download/{note['Id']}")
    assert fault(no_file)["code"] == "610"
    deleted = await client.post(
        f"/attachable?operation=delete&requestid={quote('d1')}", {"Id": note["Id"]}
    )
    assert deleted.json()["Attachable"] == {"domain": "QBO", "status": "Deleted", "Id": note["Id"]}
    assert fault(await client.get(f"/attachable/{note['Id']}"))["code"] == "610"


async def test_a_deleted_file_is_no_longer_served(client: DataClient) -> None:
    """After a delete, links handed out before answer 404 and CDC lists the deletion."""
    body = multipart(metadata("01", FileName="gone.txt"), part("file_content_01", b"bye"))
    made = entries(await upload(client, body))[0]["Attachable"]
    link = made["TempDownloadUri"]
    client.advance(1)
    reply = await client.post("/attachable?operation=delete", {"Id": made["Id"], "SyncToken": "0"})
    assert reply.status == 200
    assert (await fetch(client, link)).status == 404
    since = (client.clock.now() - timedelta(days=1)).date().isoformat()
    cdc = await client.get(f"/cdc?entities=Attachable&changedSince={since}")
    group = cdc.json()["CDCResponse"][0]["QueryResponse"][0]["Attachable"]
    assert group == [
        {
            "status": "Deleted",
            "domain": "QBO",
            "Id": made["Id"],
            "MetaData": {"LastUpdatedTime": group[0]["MetaData"]["LastUpdatedTime"]},
        }
    ]


async def test_links_to_missing_objects_are_refused_on_create(client: DataClient) -> None:
    """A note linked to a bill that does not exist is 400 code 6000 naming it."""
    reply = await client.post(
        "/attachable",
        {"Note": "x", "AttachableRef": [{"EntityRef": {"type": "Bill", "value": "9"}}]},
    )
    assert reply.status == 400
    assert fault(reply)["code"] == "6000"
    assert "Bill 9" in fault(reply)["Detail"]
