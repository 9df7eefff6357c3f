"""The emulator's hardening (issue 8): the HTTP door's guard, its time and size bounds,
linear LIKE, bounded errors, documented faults for hostile bodies, exact redirect URIs,
clock-free data, in-process downloads and random download links."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import aiohttp
import pytest

from qbo_adapters.emulator.app import MAX_INTERNAL_ERRORS, QBOEmulator
from qbo_adapters.emulator.like import like_matcher
from qbo_adapters.emulator.server import HandlerServer, serve_emulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.memory.clock import FakeClock
from qbo_core.http import HttpRequest

BOUNDARY = "----qbo-hardening-boundary"
REDOS = "%a%a%a%a%a%a%a%b"


@pytest.fixture
def emulator() -> QBOEmulator:
    return QBOEmulator(EmulatorSettings(seed=3, throttle=False), clock=FakeClock())


@pytest.fixture
async def server(emulator: QBOEmulator) -> AsyncIterator[HandlerServer]:
    served = await serve_emulator(emulator, header_timeout=0.5)
    try:
        yield served
    finally:
        await served.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as made:
        yield made


def data_headers(emulator: QBOEmulator, realm: str) -> dict[str, str]:
    token = emulator.oauth.mint_tokens(realm)["access_token"]
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def control_headers(server: HandlerServer) -> dict[str, str]:
    assert server.control_token is not None
    return {"X-Emulator-Token": server.control_token}


async def raw_exchange(server: HandlerServer, request: bytes, *, wait: float = 5.0) -> bytes:
    """Send `request` bytes on a fresh connection; everything read until it closes."""
    host, port = server.base_url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(1 << 16), wait)
    finally:
        writer.close()


def multipart(metadata: dict[str, Any], content: bytes, content_type: str) -> bytes:
    def part(name: str, data: bytes, extra: str) -> bytes:
        head = f'Content-Disposition: form-data; name="{name}"{extra}\r\n\r\n'
        return f"--{BOUNDARY}\r\n".encode() + head.encode() + data + b"\r\n"

    return (
        part(
            "file_metadata_01", json.dumps(metadata).encode(), "\r\nContent-Type: application/json"
        )
        + part("file_content_01", content, f'; filename="a.txt"\r\nContent-Type: {content_type}')
        + f"--{BOUNDARY}--\r\n".encode()
    )


# -- 1. the control API's guard -------------------------------------------------------------


async def test_control_api_over_http_needs_the_control_token(
    server: HandlerServer, session: aiohttp.ClientSession
) -> None:
    """No token or a wrong one is a 401 naming the header; the started server's token works."""
    url = f"{server.base_url}/_emulator/state"
    async with session.get(url) as missing:
        assert missing.status == 401
        assert (await missing.json())["error"] == "control_token_required"
    async with session.get(url, headers={"X-Emulator-Token": "guess"}) as wrong:
        assert wrong.status == 401
        assert (await wrong.json())["error"] == "invalid_control_token"
    async with session.get(url, headers=control_headers(server)) as right:
        assert right.status == 200


async def test_in_process_door_needs_no_control_token(emulator: QBOEmulator) -> None:
    """Through EmulatorTransport (and Python's `emulator.control`) no token is asked for."""
    response = await EmulatorTransport(emulator).send(
        HttpRequest(method="GET", url="http://emulator.invalid/_emulator/state")
    )
    assert response.status == 200
    assert emulator.control.state()["seed"] == 3


async def test_control_api_refuses_a_text_plain_post(
    server: HandlerServer, session: aiohttp.ClientSession
) -> None:
    """A no-preflight `text/plain` POST is 415, even with the token; JSON is accepted."""
    url = f"{server.base_url}/_emulator/faults"
    body = b'{"effect": "reset"}'
    headers = {**control_headers(server), "Content-Type": "text/plain"}
    async with session.post(url, data=body, headers=headers) as refused:
        assert refused.status == 415
        assert (await refused.json())["error"] == "unsupported_media_type"
    headers["Content-Type"] = "application/json"
    async with session.post(url, data=body, headers=headers) as accepted:
        assert accepted.status == 201


@pytest.mark.parametrize("path", ["/_emulator/state", "/.well-known/openid_configuration"])
async def test_a_foreign_host_is_misdirected_on_every_route(
    server: HandlerServer, session: aiohttp.ClientSession, path: str
) -> None:
    """DNS rebinding: `Host: evil.example` gets 421 whatever the route (token or not)."""
    headers = {**control_headers(server), "Host": "evil.example"}
    async with session.get(f"{server.base_url}{path}", headers=headers) as response:
        assert response.status == 421
        assert (await response.json())["error"] == "misdirected_request"
    for local in ("localhost", "127.0.0.1:1", "[::1]"):
        headers["Host"] = local
        async with session.get(f"{server.base_url}{path}", headers=headers) as response:
            assert response.status == 200, local


async def test_a_malformed_host_is_a_400_over_http_and_served_in_process(
    server: HandlerServer, emulator: QBOEmulator
) -> None:
    """`Host: [` is refused as invalid_host by the door; the handler itself never raises."""
    answer = await raw_exchange(
        server, b"GET /.well-known/openid_configuration HTTP/1.1\r\nHost: [\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"invalid_host" in answer
    response = await emulator.handle(
        HttpRequest(method="GET", url="http://[/.well-known/openid_configuration")
    )
    assert response.status == 200


async def test_download_links_need_no_control_token(
    server: HandlerServer, emulator: QBOEmulator, session: aiohttp.ClientSession
) -> None:
    """`/_emulator/files/{token}` is exempt: the link's own random token is the credential."""
    realm = emulator.realm_ids[0]
    url = f"{server.base_url}/v3/company/{realm}/upload"
    headers = {
        **data_headers(emulator, realm),
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    body = multipart({"FileName": "a.txt"}, b"hello", "text/plain")
    async with session.post(url, data=body, headers=headers) as uploaded:
        attachable = (await uploaded.json())["AttachableResponse"][0]["Attachable"]
    async with session.get(attachable["TempDownloadUri"]) as fetched:
        assert fetched.status == 200
        assert await fetched.read() == b"hello"


async def test_a_wildcard_bind_warns_and_advertises_a_real_address(
    emulator: QBOEmulator, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """Bound to 0.0.0.0 the emulator logs a warning and never names 0.0.0.0 in discovery."""
    with caplog.at_level(logging.WARNING):
        served = await serve_emulator(emulator, host="0.0.0.0")
    try:
        assert "non-loopback" in caplog.text
        port = served.base_url.rsplit(":", 1)[1]
        url = f"http://127.0.0.1:{port}/.well-known/openid_configuration"
        async with session.get(url) as response:
            discovery = await response.json()
        assert "0.0.0.0" not in json.dumps(discovery)
        assert "0.0.0.0" not in served.base_url
    finally:
        await served.close()


# -- 2. LIKE in linear time -----------------------------------------------------------------


def test_like_matcher_answers_the_redos_pattern_at_once() -> None:
    """The pattern that held a backtracking regex for 16 s is decided in microseconds, on
    a thousand 61-character names (all 100 ms asks for, with room to spare)."""
    matcher = like_matcher(REDOS)
    names = ["a" * 61, *(("a" * n) + "c" * (61 - n) for n in range(1, 1000))]
    started = time.perf_counter()
    assert not any(matcher(name) for name in names)
    assert time.perf_counter() - started < 0.1
    assert matcher("a" * 60 + "b")
    assert like_matcher("ab%cd%ef")("ABxxCDyyEF")
    assert not like_matcher("ab%ba")("aba")  # head and tail may not overlap
    assert like_matcher("%")("")
    assert like_matcher("a%%b")("ab")


async def test_redos_like_query_answers_within_100_ms_over_http(
    server: HandlerServer, emulator: QBOEmulator, session: aiohttp.ClientSession
) -> None:
    """A 61-character name and `LIKE '%a%a%a%a%a%a%a%b'`: answered within 100 ms (best of 3)."""
    realm = emulator.realm_ids[0]
    headers = {**data_headers(emulator, realm), "Content-Type": "application/json"}
    base = f"{server.base_url}/v3/company/{realm}"
    async with session.post(
        f"{base}/customer", data=json.dumps({"DisplayName": "a" * 61}), headers=headers
    ) as made:
        assert made.status == 200
    query = f"SELECT * FROM Customer WHERE DisplayName LIKE '{REDOS}'"
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        async with session.get(f"{base}/query", params={"query": query}, headers=headers) as r:
            assert r.status == 200
            assert (await r.json())["QueryResponse"] == {}
        best = min(best, time.perf_counter() - started)
    assert best < 0.1


# -- 3. time and size bounds ---------------------------------------------------------------


async def test_a_connection_whose_headers_never_finish_is_closed(server: HandlerServer) -> None:
    """Slow headers: the connection is closed after the header timeout (0.5 s here),
    with no answer; a connection that sends nothing at all is closed too."""
    started = time.perf_counter()
    answer = await raw_exchange(server, b"GET /_emulator/state HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    assert answer == b""
    assert time.perf_counter() - started < 4
    assert await raw_exchange(server, b"") == b""


async def test_a_kept_alive_connection_times_out_a_slow_second_request(
    server: HandlerServer,
) -> None:
    """After a first request is answered, a trickled second header block is timed too."""
    host, port = server.base_url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(b"GET /op/v1/jwks HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status = await asyncio.wait_for(reader.readline(), 5)
        assert status.startswith(b"HTTP/1.1 200")
        await asyncio.sleep(0.8)  # longer than the deadline: idle is not slow headers
        writer.write(b"GET /op/v1/jwks HTTP/1.1\r\n")
        rest = b""
        while chunk := await asyncio.wait_for(reader.read(1 << 16), 5):
            rest += chunk
        assert rest.count(b"HTTP/1.1 200") == 0  # closed without a second answer
    finally:
        writer.close()


async def test_a_huge_in_list_is_a_quick_4001_and_others_are_served_meanwhile(
    server: HandlerServer, emulator: QBOEmulator, session: aiohttp.ClientSession
) -> None:
    """A 300,000-value IN list (2.5 MB) is refused (4001: statements hold at most 100,000
    characters, IN lists 1000 values) in well under a second, while a concurrent request
    is answered."""
    realm = emulator.realm_ids[0]
    headers = {**data_headers(emulator, realm), "Content-Type": "application/text"}
    values = ",".join(f"'{n}'" for n in range(300_000))
    query = f"SELECT * FROM Customer WHERE Id IN ({values})"
    base = f"{server.base_url}/v3/company/{realm}"

    async def big() -> tuple[int, Any, float]:
        started = time.perf_counter()
        async with session.post(
            f"{base}/query", data=io.BytesIO(query.encode()), headers=headers
        ) as response:
            return response.status, await response.json(), time.perf_counter() - started

    async def small() -> int:
        async with session.get(f"{server.base_url}/op/v1/jwks") as response:
            return response.status

    (status, fault, took), other = await asyncio.gather(big(), small())
    assert status == 400
    assert fault["Fault"]["Error"][0]["code"] == "4001"
    assert "Max allowed length is 100000" in fault["Fault"]["Error"][0]["Detail"]
    assert took < 2
    assert other == 200
    short = ",".join("'1'" for _ in range(1001))
    query = f"SELECT * FROM Customer WHERE Id IN ({short})"
    async with session.post(f"{base}/query", data=query, headers=headers) as response:
        detail = (await response.json())["Fault"]["Error"][0]["Detail"]
        assert "Max allowed number of values is 1000" in detail


async def test_a_body_over_the_limit_is_a_413(
    emulator: QBOEmulator, session: aiohttp.ClientSession
) -> None:
    """Bodies are bounded (100 MB, QBO's upload limit, by default; 1 KiB here)."""
    served = await serve_emulator(emulator, max_body_bytes=1024)
    try:
        realm = emulator.realm_ids[0]
        url = f"{served.base_url}/v3/company/{realm}/query"
        async with session.post(url, data=b"x" * 4096, headers=data_headers(emulator, realm)) as r:
            assert r.status == 413
    finally:
        await served.close()


# -- 4. internal errors are bounded and keep no bodies ---------------------------------------


async def test_internal_errors_are_bounded_and_hold_no_bodies(
    emulator: QBOEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An emulator bug answers 500; only the last MAX_INTERNAL_ERRORS summaries (type,
    message, route, traceback text) are kept, never the request or its body."""
    realm = emulator.realm_ids[0]

    def broken(*args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(emulator.data, "handle", broken)
    secret = b"SECRET-BODY-" * 1000
    headers = data_headers(emulator, realm)
    for _ in range(MAX_INTERNAL_ERRORS + 20):
        response = await emulator.handle(
            HttpRequest(
                method="POST",
                url=f"http://emulator.invalid/v3/company/{realm}/customer",
                headers=headers,
                body=secret,
            )
        )
        assert response.status == 500
    assert len(emulator.internal_errors) == MAX_INTERNAL_ERRORS
    error = emulator.internal_errors[-1]
    assert (error.type, error.message, error.method) == ("RuntimeError", "boom", "POST")
    assert "SECRET-BODY" not in repr(list(emulator.internal_errors))


# -- 5. hostile bodies get the documented faults ----------------------------------------------

DEEP = "[" * 50_000 + "]" * 50_000


async def test_deep_nesting_is_a_documented_fault_not_a_500(
    server: HandlerServer, emulator: QBOEmulator, session: aiohttp.ClientSession
) -> None:
    """Control bodies (400 invalid_json), revoke (400 invalid_request) and
    AttachableRef[].LineInfo (400, 2010), at 100 and 50,000 levels; no internal error."""
    realm = emulator.realm_ids[0]
    json_type = {"Content-Type": "application/json"}
    for depth in (100, 50_000):
        deep = "[" * depth + "]" * depth
        async with session.post(
            f"{server.base_url}/_emulator/faults",
            data=deep,
            headers={**control_headers(server), **json_type},
        ) as control:
            assert control.status == 400
            assert (await control.json())["error"] == "invalid_json"
        async with session.post(
            f"{server.base_url}/v2/oauth2/tokens/revoke",
            data='{"token": ' + deep + "}",
            headers={**json_type, "Authorization": "Basic ZW11bGF0b3ItY2xpZW50OmVtdWxhdG9y"},
        ) as revoke:
            assert revoke.status in (400, 401)
        attachable = {
            "Note": "n",
            "AttachableRef": [
                {"EntityRef": {"type": "Customer", "value": "1"}, "LineInfo": "DEEP"}
            ],
        }
        body = json.dumps(attachable).replace('"DEEP"', deep)
        async with session.post(
            f"{server.base_url}/v3/company/{realm}/attachable",
            data=body,
            headers={**data_headers(emulator, realm), **json_type},
        ) as linked:
            assert linked.status == 400
            assert (await linked.json())["Fault"]["Error"][0]["code"] == "2010"
    assert not emulator.internal_errors


async def test_revoke_with_a_deep_body_is_invalid_request(emulator: QBOEmulator) -> None:
    """With valid client credentials, a too-deep revoke body is 400 invalid_request."""
    basic = base64.b64encode(b"emulator-client:emulator-secret").decode()
    response = await emulator.handle(
        HttpRequest(
            method="POST",
            url="http://emulator.invalid/v2/oauth2/tokens/revoke",
            headers={"Content-Type": "application/json", "Authorization": f"Basic {basic}"},
            body=('{"token": ' + DEEP + "}").encode(),
        )
    )
    assert response.status == 400
    assert json.loads(response.body)["error"] == "invalid_request"
    assert not emulator.internal_errors


async def test_a_content_type_with_cr_lf_is_refused_with_2010(
    server: HandlerServer, emulator: QBOEmulator, session: aiohttp.ClientSession
) -> None:
    """An attachment ContentType holding CR/LF would break its download: refused (2010),
    in an upload's metadata and in an Attachable write."""
    realm = emulator.realm_ids[0]
    base = f"{server.base_url}/v3/company/{realm}"
    headers = data_headers(emulator, realm)
    body = multipart({"FileName": "a.txt", "ContentType": "text/plain\r\nX-Evil: 1"}, b"x", "a/b")
    async with session.post(
        f"{base}/upload",
        data=body,
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    ) as uploaded:
        entry = (await uploaded.json())["AttachableResponse"][0]
        assert entry["Fault"]["Error"][0]["code"] == "2010"
    async with session.post(
        f"{base}/attachable",
        data=json.dumps({"Note": "n", "ContentType": "text/plain\nX: y"}),
        headers={**headers, "Content-Type": "application/json"},
    ) as saved:
        assert saved.status == 400
        assert (await saved.json())["Fault"]["Error"][0]["code"] == "2010"
    assert not emulator.internal_errors


# -- 6. redirect URIs ------------------------------------------------------------------------


async def test_authorize_over_http_refuses_a_backslash_userinfo_redirect(
    server: HandlerServer, session: aiohttp.ClientSession
) -> None:
    """`http://evil.example\\@127.0.0.1/cb` gets the error page, never a redirect."""
    params = {
        "client_id": "emulator-client",
        "response_type": "code",
        "scope": "com.intuit.quickbooks.accounting",
        "state": "s",
        "redirect_uri": "http://evil.example\\@127.0.0.1/cb",
    }
    async with session.get(
        f"{server.base_url}/connect/oauth2", params=params, allow_redirects=False
    ) as response:
        assert response.status == 400
        assert "Location" not in response.headers


# -- 7. same seed, same data ------------------------------------------------------------------


def _companies(emulator: QBOEmulator) -> str:
    return json.dumps(
        {realm: company.objects for realm, company in emulator.companies.items()},
        sort_keys=True,
        default=str,
    )


def test_same_seed_gives_byte_identical_data_whatever_the_clock() -> None:
    """Two emulators built at different wall times (days apart) hold the same bytes; a
    different anchor gives different data."""
    early = QBOEmulator(
        EmulatorSettings(seed=1), clock=FakeClock(datetime(2026, 3, 1, 9, 0, 1, tzinfo=UTC))
    )
    late = QBOEmulator(
        EmulatorSettings(seed=1), clock=FakeClock(datetime(2026, 9, 17, 23, 59, tzinfo=UTC))
    )
    assert _companies(early) == _companies(late)
    moved = QBOEmulator(EmulatorSettings(seed=1, anchor=date(2025, 6, 1)), clock=FakeClock())
    assert _companies(moved) != _companies(early)
    assert moved.anchor == datetime(2025, 6, 1, tzinfo=UTC)


# -- 8 and 9. download links ------------------------------------------------------------------


async def test_in_process_door_serves_its_own_download_urls(emulator: QBOEmulator) -> None:
    """GET of a `download` URL through EmulatorTransport returns the file's bytes."""
    transport = EmulatorTransport(emulator, base_url="http://emulator.invalid")
    realm = emulator.realm_ids[0]
    headers = data_headers(emulator, realm)
    base = f"http://emulator.invalid/v3/company/{realm}"
    uploaded = await transport.send(
        HttpRequest(
            method="POST",
            url=f"{base}/upload",
            headers={**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
            body=multipart({"FileName": "a.txt"}, b"in-process bytes", "text/plain"),
        )
    )
    attachable_id = json.loads(uploaded.body)["AttachableResponse"][0]["Attachable"]["Id"]
    link = await transport.send(
        HttpRequest(method="GET", url=f"{base}/download/{attachable_id}", headers=headers)
    )
    url = link.body.decode()
    assert url.startswith("http://emulator.invalid/_emulator/files/")
    fetched = await transport.send(HttpRequest(method="GET", url=url))
    assert fetched.status == 200
    assert fetched.body == b"in-process bytes"


async def test_download_links_are_random_not_derived(emulator: QBOEmulator) -> None:
    """Two links to the same file at the same instant differ, and neither is the old
    sha256(realm|id|now|n) nor anything shorter than 256 bits of randomness."""
    transport = EmulatorTransport(emulator)
    realm = emulator.realm_ids[0]
    headers = data_headers(emulator, realm)
    base = f"http://emulator.invalid/v3/company/{realm}"
    uploaded = await transport.send(
        HttpRequest(
            method="POST",
            url=f"{base}/upload",
            headers={**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
            body=multipart({"FileName": "a.txt"}, b"x", "text/plain"),
        )
    )
    attachable_id = json.loads(uploaded.body)["AttachableResponse"][0]["Attachable"]["Id"]
    links = [
        (
            await transport.send(
                HttpRequest(method="GET", url=f"{base}/download/{attachable_id}", headers=headers)
            )
        ).body.decode()
        for _ in range(2)
    ]
    tokens = [link.rsplit("/", 1)[1] for link in links]
    assert tokens[0] != tokens[1]
    now = emulator.clock.now().isoformat()
    derived = {
        hashlib.sha256(f"{realm}|{attachable_id}|{now}|{n}".encode()).hexdigest()[:40]
        for n in range(100)
    }
    assert not derived & set(tokens)
    assert all(len(token) >= 43 for token in tokens)
