"""The `HttpTransport` contract suite, for every transport (yours included).

Subclass `HttpTransportContract` in a test module as
`Test<YourTransport>(HttpTransportContract)` and implement two hooks:

- `make_transport(handler)`: an async context manager yielding `(transport,
  base_url)`, where every request the transport sends to a URL under `base_url`
  is answered by the synchronous, sans-I/O `handler` (`HttpRequest ->
  HttpResponse`). A real transport puts `handler` behind a local server; a fake
  calls it directly.
- `make_unreachable_url()`: a base URL at which the transport cannot connect
  (for a socket transport, a closed port on the loopback interface).

The suite checks that bytes cross the port unchanged in both directions. URLs
handed to a transport are already percent-encoded (the core's wire module builds
them), and the handler must see the path and query string exactly as sent: not
decoded, not re-encoded. Headers are compared by name case-insensitively and by
value exactly; a transport may add headers of its own (`Host`, `Content-Length`,
`Date`, ...). Set `supports_repeated_headers = False` if the transport or server
cannot carry a header name twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import string
from collections.abc import Callable, Iterable
from typing import ClassVar
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule

from qbo_adapters.testing._machine import AsyncAdapterMachine, ContractSuite
from qbo_core.errors import RequestNotSentError
from qbo_core.http import Headers, HttpRequest, HttpResponse
from qbo_core.ports.http_transport import HttpTransport

__all__ = ["HttpTransportContract", "SyncHandler"]

#: The server side of the contract: a pure function from request to response.
SyncHandler = Callable[[HttpRequest], HttpResponse]

_EXCHANGE = "X-Contract-Exchange"
_MIB = 1024 * 1024
_UNICODE_QUERY_TEXT = "select * from Customer where DisplayName = 'Café € ✓ +&='"
_QUERY_WITH_UNICODE = f"query={quote(_UNICODE_QUERY_TEXT, safe='')}&minorversion=75"


class _Server:
    """A handler that records what it received and answers with `reply(request)`."""

    def __init__(self, reply: Callable[[HttpRequest], HttpResponse]) -> None:
        self.reply = reply
        self.received: list[HttpRequest] = []

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.received.append(request)
        return self.reply(request)


def _target(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.path, parts.query


def _assert_headers_arrived(sent: Iterable[tuple[str, str]], arrived: Headers) -> None:
    wanted: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for name, value in sent:
        wanted.setdefault(name.lower(), []).append(value)
        names.setdefault(name.lower(), name)
    for lowered, values in wanted.items():
        assert arrived.get_all(lowered) == values, (names[lowered], arrived)


def _pattern(size: int) -> bytes:
    block = bytes(range(256))
    return (block * (size // 256 + 1))[:size]


class HttpTransportContract(ContractSuite):
    """Contract tests for the `HttpTransport` port; subclass and implement the two hooks."""

    #: Whether a header name may appear twice in a request or response and keep both values.
    supports_repeated_headers: bool = True

    def make_transport(
        self, handler: SyncHandler
    ) -> contextlib.AbstractAsyncContextManager[tuple[HttpTransport, str]]:
        """An async context manager yielding a transport and a base URL served by `handler`."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement make_transport(handler) to run the "
            "HttpTransport contract: yield (transport, base_url) such that requests to "
            "base_url are answered by calling handler(request)"
        )

    def make_unreachable_url(self) -> str:
        """A base URL the transport cannot connect to (its requests never leave)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement make_unreachable_url() to run the "
            "HttpTransport contract: return a base URL where connecting fails, such as "
            "a closed port on 127.0.0.1"
        )

    async def test_every_status_is_returned_not_raised(self) -> None:
        """Success, client-error and server-error statuses all come back as responses."""
        statuses = (200, 201, 204, 400, 401, 403, 404, 429, 500, 502, 503)

        def reply(request: HttpRequest) -> HttpResponse:
            status = int(request.url.rsplit("/", 1)[1])
            return HttpResponse(status=status, body=b"" if status == 204 else b"status body")

        async with self.make_transport(_Server(reply)) as (transport, base):
            for status in statuses:
                response = await transport.send(HttpRequest(method="GET", url=f"{base}/s/{status}"))
                assert response.status == status
                assert response.body == (b"" if status == 204 else b"status body")

    async def test_redirects_are_returned_not_followed(self) -> None:
        """A 3xx response with a Location is handed back as it is, never followed."""
        statuses = (301, 302, 303, 307, 308)

        def reply(request: HttpRequest) -> HttpResponse:
            status = int(request.url.rsplit("/", 1)[1])
            return HttpResponse(status=status, headers={"Location": "/elsewhere"})

        server = _Server(reply)
        async with self.make_transport(server) as (transport, base):
            for status in statuses:
                response = await transport.send(HttpRequest(method="GET", url=f"{base}/r/{status}"))
                assert response.status == status
                assert response.headers.get("location") == "/elsewhere"
        assert [_target(request.url)[0] for request in server.received] == [
            f"/r/{status}" for status in statuses
        ]

    async def test_method_path_and_query_arrive_exactly(self) -> None:
        """The handler sees each method, path and percent-encoded query exactly as sent."""
        targets = [
            ("GET", "/v3/company/9130350000000001/companyinfo/9130350000000001", ""),
            ("GET", "/v3/company/9130350000000001/query", _QUERY_WITH_UNICODE),
            ("POST", "/v3/company/1/invoice", "operation=delete&requestid=abc-123"),
            ("PUT", "/a/b-c_d.e~f", "x=%2B%26%3D%20%25&y=+&empty="),
            ("DELETE", "/v3/company/1/attachable/7", ""),
            ("PATCH", "/p", "q=%F0%9F%98%80"),
        ]
        server = _Server(lambda _: HttpResponse(status=200))
        async with self.make_transport(server) as (transport, base):
            for method, path, query in targets:
                url = f"{base}{path}?{query}" if query else f"{base}{path}"
                await transport.send(HttpRequest(method=method, url=url))
        assert [(request.method, *_target(request.url)) for request in server.received] == targets

    async def test_request_headers_arrive_by_name_in_any_case(self) -> None:
        """Each request header reaches the handler with its exact value, looked up in any case."""
        sent = [
            ("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.signature"),
            ("Accept", "application/json"),
            ("Content-Type", "application/json; charset=utf-8"),
            ("User-Agent", "qbo-infra-contract/1.0"),
            ("x-lower-case", "value with  two spaces"),
            ("X-UPPER-CASE", "MiXeD-VaLuE_1"),
            ("Request-Id", "0f8fad5b-d9cb-469f-a165-70867728950e"),
        ]
        server = _Server(lambda _: HttpResponse(status=200))
        async with self.make_transport(server) as (transport, base):
            await transport.send(
                HttpRequest(method="POST", url=f"{base}/h", headers=sent, body=b"{}")
            )
        (received,) = server.received
        _assert_headers_arrived(sent, received.headers)
        assert received.headers.get("AUTHORIZATION") == sent[0][1]
        assert received.headers.get("x-upper-case") == "MiXeD-VaLuE_1"

    async def test_repeated_request_headers_keep_every_value(self) -> None:
        """A header name sent twice arrives with both values (combined, where unsupported)."""
        server = _Server(lambda _: HttpResponse(status=200))
        async with self.make_transport(server) as (transport, base):
            await transport.send(
                HttpRequest(
                    method="GET", url=f"{base}/h", headers=[("X-Multi", "one"), ("X-Multi", "two")]
                )
            )
        values = server.received[0].headers.get_all("x-multi")
        if self.supports_repeated_headers:
            assert values == ["one", "two"]
        else:
            assert values in (["one, two"], ["one,two"], ["two"])

    async def test_request_bodies_arrive_byte_for_byte(self) -> None:
        """Empty, binary, UTF-8 and 1 MiB request bodies reach the handler exactly."""
        bodies = [
            b"",
            bytes(range(256)),
            '{"DisplayName": "Café ✓", "Notes": "\\u0000"}'.encode(),
            b"\r\n\r\n\x00HTTP/1.1 200 OK\r\n",
            _pattern(_MIB),
        ]
        server = _Server(lambda _: HttpResponse(status=200))
        async with self.make_transport(server) as (transport, base):
            for body in bodies:
                await transport.send(
                    HttpRequest(
                        method="POST",
                        url=f"{base}/b",
                        headers={"Content-Type": "application/octet-stream"},
                        body=body,
                        timeout=30,
                    )
                )
        assert [request.body for request in server.received] == bodies

    async def test_response_status_headers_and_body_arrive_exactly(self) -> None:
        """The transport returns the handler's status, header values and body bytes unchanged."""
        headers = [
            ("Content-Type", "application/json;charset=UTF-8"),
            ("intuit_tid", "1-65f2a3b4-1234567890abcdef"),
            ("Retry-After", "60"),
            ("X-Spaces", "a b  c"),
            ("x-lower", "Keep-This-Case"),
        ]
        body = b'{"Fault":{"Error":[{"code":"3001"}]}}\x00\xff'
        server = _Server(lambda _: HttpResponse(status=429, headers=headers, body=body))
        async with self.make_transport(server) as (transport, base):
            response = await transport.send(HttpRequest(method="GET", url=f"{base}/r"))
        assert response.status == 429
        assert response.body == body
        _assert_headers_arrived(headers, response.headers)
        assert response.headers.get("INTUIT_TID") == "1-65f2a3b4-1234567890abcdef"

    async def test_repeated_response_headers_keep_every_value(self) -> None:
        """A header the handler sends twice returns both values (combined, where unsupported)."""
        reply = HttpResponse(status=200, headers=[("X-Multi", "one"), ("X-Multi", "two")])
        async with self.make_transport(_Server(lambda _: reply)) as (transport, base):
            response = await transport.send(HttpRequest(method="GET", url=f"{base}/m"))
        values = response.headers.get_all("X-MULTI")
        if self.supports_repeated_headers:
            assert values == ["one", "two"]
        else:
            assert values in (["one, two"], ["one,two"], ["two"])

    async def test_large_and_empty_response_bodies_arrive_whole(self) -> None:
        """A 1 MiB response body and an empty one are returned completely and exactly."""
        large = _pattern(_MIB)

        def reply(request: HttpRequest) -> HttpResponse:
            return HttpResponse(status=200, body=large if request.url.endswith("/large") else b"")

        async with self.make_transport(_Server(reply)) as (transport, base):
            big = await transport.send(HttpRequest(method="GET", url=f"{base}/large"))
            empty = await transport.send(HttpRequest(method="GET", url=f"{base}/empty"))
        assert big.body == large
        assert empty.body == b""

    async def test_unreachable_url_raises_request_not_sent(self) -> None:
        """A request to an unreachable address raises RequestNotSentError, not a response."""
        server = _Server(lambda _: HttpResponse(status=200))
        async with self.make_transport(server) as (transport, _):
            url = self.make_unreachable_url() + "/v3/company/1/companyinfo/1"
            with pytest.raises(RequestNotSentError):
                await transport.send(HttpRequest(method="GET", url=url, timeout=10))
        assert server.received == []

    async def test_concurrent_requests_each_get_their_own_response(self) -> None:
        """Many requests in flight at once are each answered with the response meant for them."""

        def reply(request: HttpRequest) -> HttpResponse:
            tag = request.headers.get("X-Tag") or "none"
            return HttpResponse(status=200, headers={"X-Tag": tag}, body=request.body[::-1])

        async with self.make_transport(_Server(reply)) as (transport, base):
            responses = await asyncio.gather(
                *(
                    transport.send(
                        HttpRequest(
                            method="POST",
                            url=f"{base}/c/{index}",
                            headers={"X-Tag": str(index)},
                            body=f"body-{index}".encode(),
                        )
                    )
                    for index in range(25)
                )
            )
        assert [(r.headers.get("x-tag"), r.body) for r in responses] == [
            (str(index), f"body-{index}".encode()[::-1]) for index in range(25)
        ]

    def test_random_exchanges_cross_unchanged(self) -> None:
        """For random exchanges, one at a time or concurrent, bytes cross both ways unchanged."""

        class Machine(_TransportMachine):
            contract = self

        self.run_machine(Machine)


# ---------------------------------------------------------------- the state machine

_HEADER_VALUE = (
    st.text(
        alphabet=string.ascii_letters + string.digits + " -_.,;:/=+()*", min_size=1, max_size=16
    )
    .map(str.strip)
    .filter(bool)
)
_HEADER_NAMES = ("X-Alpha", "x-beta", "X-GAMMA-Delta", "X-Request-Id", "intuit_tid")
_SEGMENT = st.text(string.ascii_letters + string.digits + "._~-", min_size=1, max_size=10).filter(
    lambda segment: segment.strip(".") != ""  # "." and ".." would be normalised away
)
_QUERY_PART = st.text(st.characters(codec="utf-8"), max_size=10)
_STATUS_CODES = st.sampled_from(
    (200, 201, 204, 301, 302, 400, 401, 403, 404, 409, 429, 500, 502, 503, 504)
) | st.integers(min_value=200, max_value=599)
_BODILESS = frozenset({204, 205, 304})


_METHODS = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"])
_PATHS = st.lists(_SEGMENT, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))
_QUERIES = st.lists(st.tuples(_QUERY_PART.filter(bool), _QUERY_PART), max_size=2).map(
    lambda pairs: "&".join(f"{quote(key, safe='')}={quote(value, safe='')}" for key, value in pairs)
)
_BODIES = st.binary(max_size=512)
_TIMEOUTS = st.none() | st.sampled_from([5.0, 30.0])
_UNIQUE_HEADERS = st.lists(
    st.tuples(st.sampled_from(_HEADER_NAMES), _HEADER_VALUE),
    unique_by=lambda pair: pair[0],
    max_size=3,
)


@st.composite
def _header_lists(draw: st.DrawFn, repeated: bool) -> list[tuple[str, str]]:
    pairs = list(draw(_UNIQUE_HEADERS))
    if repeated and pairs and draw(st.booleans()):
        pairs.append((pairs[0][0], draw(_HEADER_VALUE)))
    return pairs


@st.composite
def _exchanges(draw: st.DrawFn, repeated: bool) -> tuple[HttpRequest, HttpResponse]:
    """A request (without base URL or exchange header yet) and the response to give it."""
    headers = _HEADERS[repeated]
    method = draw(_METHODS)
    path, query = draw(_PATHS), draw(_QUERIES)
    request = HttpRequest(
        method=method,
        url=f"{path}?{query}" if query else path,
        headers=draw(headers),
        body=draw(_BODIES) if method in {"POST", "PUT", "PATCH"} else b"",
        timeout=draw(_TIMEOUTS),
    )
    status = draw(_STATUS_CODES)
    response = HttpResponse(
        status=status,
        headers=draw(headers),
        body=b"" if status in _BODILESS else draw(_BODIES),
    )
    return request, response


_HEADERS = {repeated: _header_lists(repeated) for repeated in (False, True)}
_EXCHANGES = {repeated: _exchanges(repeated) for repeated in (False, True)}
_EXCHANGE_BATCHES = {
    repeated: st.lists(_EXCHANGES[repeated], min_size=2, max_size=3) for repeated in (False, True)
}


class _TransportMachine(AsyncAdapterMachine[tuple[HttpTransport, str]]):
    """Random exchanges through the transport, each checked on both sides of the port."""

    contract: ClassVar[HttpTransportContract]

    def __init__(self) -> None:
        self.replies: dict[str, HttpResponse] = {}
        self.received: dict[str, HttpRequest] = {}
        self.numbers = itertools.count()
        self.factory = lambda: self.contract.make_transport(self.handle)
        super().__init__()

    def handle(self, request: HttpRequest) -> HttpResponse:
        exchange = request.headers.get(_EXCHANGE) or ""
        self.received[exchange] = request
        return self.replies[exchange]

    async def one(self, relative: HttpRequest, reply: HttpResponse) -> None:
        transport, base = self.adapter
        exchange = str(next(self.numbers))
        request = HttpRequest(
            method=relative.method,
            url=base + relative.url,
            headers=[*relative.headers, (_EXCHANGE, exchange)],
            body=relative.body,
            timeout=relative.timeout,
        )
        self.replies[exchange] = reply
        response = await transport.send(request)
        arrived = self.received.pop(exchange)
        assert arrived.method == request.method
        assert _target(arrived.url) == _target(request.url)
        _assert_headers_arrived(relative.headers, arrived.headers)
        assert arrived.body == request.body
        assert response.status == reply.status
        _assert_headers_arrived(reply.headers, response.headers)
        assert response.body == reply.body

    @rule(data=st.data())
    def exchange(self, data: st.DataObject) -> None:
        request, reply = data.draw(_EXCHANGES[self.contract.supports_repeated_headers])
        self.run(self.one(request, reply))

    @rule(data=st.data())
    def concurrent_exchanges(self, data: st.DataObject) -> None:
        pairs = data.draw(_EXCHANGE_BATCHES[self.contract.supports_repeated_headers])

        async def all_at_once() -> None:
            await asyncio.gather(*(self.one(request, reply) for request, reply in pairs))

        self.run(all_at_once())

    @rule()
    def unreachable(self) -> None:
        transport, _ = self.adapter
        url = self.contract.make_unreachable_url() + "/v3/company/1/query?query=select"
        with pytest.raises(RequestNotSentError):
            self.run(transport.send(HttpRequest(method="GET", url=url, timeout=10)))
