"""The `HttpTransport` port: send one request, get one response."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from qbo_core.http import HttpRequest, HttpResponse


@runtime_checkable
class HttpTransport(Protocol):
    """Sends one HTTP request and returns the response, whatever its status.

    A transport does no retries, no redirects, no authentication and no decoding:
    the services decide all of that.
    """

    async def send(self, request: HttpRequest) -> HttpResponse:
        """Send `request` once and return the complete response.

        Every status (2xx, 4xx, 5xx) is returned, never raised. The body is read
        completely before returning.

        Timeout: `request.timeout` seconds for the whole exchange, or the
        transport's default when it is `None`.

        Raises (all `qbo_core.errors.TransportError`, with the library's exception
        as `__cause__`):
          - `ConnectError` / `ConnectTimeoutError` when the request never left
            (safe to retry anything);
          - `ReadTimeoutError` / `ConnectionLostError` when it may have been
            applied (retry writes only with the same requestid).
        No other exception escapes, except `asyncio.CancelledError`.
        """
        ...
