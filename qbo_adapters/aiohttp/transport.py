"""`AiohttpTransport`: the real `HttpTransport`, over a borrowed aiohttp `ClientSession`."""

from __future__ import annotations

import asyncio

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from qbo_core.errors import (
    ConnectError,
    ConnectionLostError,
    ConnectTimeoutError,
    QBOError,
    ReadTimeoutError,
    ResponseTooLargeError,
)
from qbo_core.http import MAX_RESPONSE_BYTES, Headers, HttpRequest, HttpResponse
from qbo_core.wire.faults import EXCERPT_BYTES

__all__ = ["AiohttpTransport"]

#: Intuit ends any request after 120 s; waiting longer only hides a lost answer.
MAX_TOTAL_TIMEOUT = 120.0

#: How much of the body is read at a time.
_CHUNK_BYTES = 64 * 1024


class AiohttpTransport:
    """Sends each `HttpRequest` once through an aiohttp session it does not own.

    The container creates the `ClientSession` (one pool for the whole process) and
    closes it; this class only borrows it. URLs are sent exactly as given (already
    percent-encoded by the core), redirects are returned rather than followed, and
    the body is read completely before returning.

    The body is capped at `max_response_bytes` (default and most: 200 MiB), counted
    after aiohttp's automatic decompression, so a gzip bomb counts at its expanded size.
    It is read in chunks and reading stops as soon as the cap is passed (a declared
    `Content-Length` over the cap is refused before reading): the connection is closed,
    and `ResponseTooLargeError` carries the status and `intuit_tid`. Memory stays near
    the cap whatever the server sends, and an endless body ends at the cap.

    Timeouts: `connect_timeout` to open a connection, `read_timeout` between bytes of
    the answer, and the request's own `timeout` (else `total_timeout`, at most 120 s)
    for the whole exchange.

    Errors are mapped at this edge, by whether the request can have reached QBO:
    a failure to connect becomes `ConnectError` / `ConnectTimeoutError` (never sent);
    anything after that — a read timeout, a reset, a truncated body, the total
    timeout — becomes `ReadTimeoutError` / `ConnectionLostError` (outcome unknown).

    One exception to "sends once": aiohttp itself re-sends an idempotent request (GET)
    once when a reused keep-alive connection turns out to be closed (RFC 9112 §9.3.1).
    It never does so for POST, so writes are sent exactly once.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        total_timeout: float = MAX_TOTAL_TIMEOUT,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        for name, value in (
            ("connect_timeout", connect_timeout),
            ("read_timeout", read_timeout),
            ("total_timeout", total_timeout),
        ):
            if not 0 < value <= MAX_TOTAL_TIMEOUT:
                raise ValueError(f"{name} must be in (0, {MAX_TOTAL_TIMEOUT:g}] seconds")
        if not 0 < max_response_bytes <= MAX_RESPONSE_BYTES:
            raise ValueError(f"max_response_bytes must be in (0, {MAX_RESPONSE_BYTES}] bytes")
        self._session = session
        self._connect = connect_timeout
        self._read = read_timeout
        self._total = total_timeout
        self._max_bytes = max_response_bytes

    async def send(self, request: HttpRequest) -> HttpResponse:
        total = min(request.timeout or self._total, MAX_TOTAL_TIMEOUT)
        timeout = aiohttp.ClientTimeout(
            total=total, sock_connect=min(self._connect, total), sock_read=min(self._read, total)
        )
        headers: CIMultiDict[str] = CIMultiDict(request.headers.items)
        try:
            url = URL(request.url, encoded=True)
        except (ValueError, TypeError) as exc:
            raise ConnectError(f"invalid URL for {request.method} request") from exc
        try:
            async with self._session.request(
                request.method,
                url,
                headers=headers,
                data=request.body if request.body else None,
                allow_redirects=False,
                timeout=timeout,
            ) as response:
                received = Headers(
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers
                )
                body = await self._read_capped(f"{request.method} {url.path}", response, received)
                return HttpResponse(status=response.status, headers=received, body=body)
        except QBOError:
            raise
        except aiohttp.ConnectionTimeoutError as exc:
            raise ConnectTimeoutError(
                f"connecting to {url.host} took longer than {self._connect:g} s"
            ) from exc
        except aiohttp.SocketTimeoutError as exc:
            raise ReadTimeoutError(
                f"{request.method} {url.path}: no data for {self._read:g} s after sending"
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise ConnectError(f"cannot connect to {url.host}:{url.port}: {exc.strerror}") from exc
        except aiohttp.InvalidURL as exc:
            raise ConnectError(f"invalid URL for {request.method} request") from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
            raise ConnectionLostError(
                f"{request.method} {url.path}: the connection closed before the full answer"
            ) from exc
        except TimeoutError as exc:
            raise ReadTimeoutError(
                f"{request.method} {url.path}: no complete answer within {total:g} s"
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise ConnectionLostError(
                f"{request.method} {url.path}: {type(exc).__name__} after connecting"
            ) from exc
        except asyncio.CancelledError:
            raise

    async def _read_capped(
        self, where: str, response: aiohttp.ClientResponse, headers: Headers
    ) -> bytes:
        """The (decompressed) body, or `ResponseTooLargeError` once it passes the cap.
        `where` names the request in the error (`GET /v3/company/1/query`)."""
        declared = response.content_length
        encoding = (headers.get("content-encoding") or "").strip().lower()
        encoded = encoding not in ("", "identity")
        if declared is not None and declared > self._max_bytes and not encoded:
            response.close()
            raise self._too_large(where, response, headers, f"declares {declared} bytes", b"")
        body = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
            body += chunk
            if len(body) > self._max_bytes:
                response.close()  # stop reading: drop the connection rather than drain it
                raise self._too_large(
                    where, response, headers, f"passed {self._max_bytes} bytes", body
                )
        return bytes(body)

    def _too_large(
        self,
        where: str,
        response: aiohttp.ClientResponse,
        headers: Headers,
        what: str,
        start: bytearray | bytes,
    ) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"{where}: the {response.status} answer's body {what}, over the "
            f"{self._max_bytes}-byte limit; reading stopped",
            max_bytes=self._max_bytes,
            body_excerpt=bytes(start[:EXCERPT_BYTES]).decode("utf-8", "replace"),
            status=response.status,
            intuit_tid=headers.get("intuit_tid") or headers.get("intuit-tid"),
        )

    def __repr__(self) -> str:
        return (
            f"AiohttpTransport(connect={self._connect:g}s, read={self._read:g}s, "
            f"total={self._total:g}s, max_response_bytes={self._max_bytes})"
        )
