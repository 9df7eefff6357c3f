"""`FakeTransport`: the HttpTransport contract, plus scripting and request recording."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest

from qbo_adapters.memory.fake_transport import FakeTransport, ScriptExhaustedError
from qbo_adapters.testing.http_transport import HttpTransportContract, SyncHandler
from qbo_core.errors import ConnectError, ReadTimeoutError
from qbo_core.http import HttpRequest, HttpResponse
from qbo_core.ports.http_transport import HttpTransport

BASE = "https://quickbooks.fake.test"


class TestFakeTransport(HttpTransportContract):
    """The contract, with a fake whose handler refuses hosts other than BASE like a DNS failure."""

    @contextlib.asynccontextmanager
    async def make_transport(
        self, handler: SyncHandler
    ) -> AsyncIterator[tuple[HttpTransport, str]]:
        def route(request: HttpRequest) -> HttpResponse:
            if not request.url.startswith(BASE + "/"):
                raise ConnectError(f"cannot resolve host of {request.url}")
            return handler(request)

        yield FakeTransport(route), BASE

    def make_unreachable_url(self) -> str:
        return "https://unreachable.fake.test"


def _get(path: str = "/x") -> HttpRequest:
    return HttpRequest(method="GET", url=BASE + path)


async def test_every_request_is_recorded_in_order() -> None:
    """requests lists what was sent, in order, and last_request is the newest."""
    transport = FakeTransport(lambda _: HttpResponse(status=200))
    for path in ("/a", "/b", "/c"):
        await transport.send(_get(path))
    assert [request.url for request in transport.requests] == [BASE + p for p in ("/a", "/b", "/c")]
    assert transport.last_request.url == BASE + "/c"


def test_last_request_before_any_request_raises() -> None:
    """Asking for the last request of an unused fake raises LookupError."""
    with pytest.raises(LookupError):
        _ = FakeTransport(lambda _: HttpResponse(status=200)).last_request


async def test_async_handlers_are_awaited() -> None:
    """A coroutine-function handler is awaited and its response returned."""

    async def handler(request: HttpRequest) -> HttpResponse:
        return HttpResponse(status=201, body=request.url.encode())

    response = await FakeTransport(handler).send(_get("/async"))
    assert (response.status, response.body) == (201, (BASE + "/async").encode())


async def test_transport_errors_propagate_and_the_request_is_recorded() -> None:
    """A TransportError raised by the handler leaves send unchanged, after recording the request."""
    lost = ReadTimeoutError("no answer in time")

    def handler(request: HttpRequest) -> HttpResponse:
        raise lost

    transport = FakeTransport(handler)
    with pytest.raises(ReadTimeoutError) as caught:
        await transport.send(_get())
    assert caught.value is lost
    assert len(transport.requests) == 1


async def test_other_handler_errors_propagate_unchanged() -> None:
    """A bug in the handler surfaces as its own exception, not as a transport error."""

    def handler(request: HttpRequest) -> HttpResponse:
        raise KeyError("no route")

    with pytest.raises(KeyError, match="no route"):
        await FakeTransport(handler).send(_get())


async def test_handler_returning_something_else_is_a_type_error() -> None:
    """A handler that returns anything but an HttpResponse is reported as a TypeError."""
    handler = cast(Any, lambda _: {"status": 200})
    with pytest.raises(TypeError, match="HttpResponse"):
        await FakeTransport(handler).send(_get())


async def test_scripted_responses_come_back_in_order() -> None:
    """from_responses answers successive requests with the scripted responses, in order."""
    transport = FakeTransport.from_responses(
        [HttpResponse(status=429), HttpResponse(status=200, body=b"ok")]
    )
    first = await transport.send(_get())
    second = await transport.send(_get())
    assert (first.status, second.status, second.body) == (429, 200, b"ok")


async def test_scripted_errors_are_raised_in_their_turn() -> None:
    """A scripted TransportError is raised for its request; the next request gets the next item."""
    transport = FakeTransport.from_responses(
        [ConnectError("refused"), HttpResponse(status=200, body=b"after retry")]
    )
    with pytest.raises(ConnectError):
        await transport.send(_get())
    assert (await transport.send(_get())).body == b"after retry"
    assert len(transport.requests) == 2


async def test_exhausted_script_says_so() -> None:
    """A request beyond the script raises ScriptExhaustedError naming the count and request."""
    transport = FakeTransport.from_responses([HttpResponse(status=200)])
    await transport.send(_get("/first"))
    with pytest.raises(ScriptExhaustedError, match=r"1 response\(s\).*GET .*/second"):
        await transport.send(_get("/second"))


async def test_exhausted_script_message_reads_in_full() -> None:
    """The exhausted-script error gives the scripted count and the extra request, verbatim."""
    transport = FakeTransport.from_responses([HttpResponse(status=200), HttpResponse(status=204)])
    await transport.send(_get("/1"))
    await transport.send(_get("/2"))
    with pytest.raises(ScriptExhaustedError) as caught:
        await transport.send(_get("/3"))
    assert str(caught.value) == (
        "FakeTransport was scripted with 2 response(s), all used; one more request arrived: "
        f"HttpRequest(GET {BASE}/3, 0 bytes)"
    )
    assert len(transport.requests) == 3


async def test_empty_script_refuses_the_first_request() -> None:
    """A transport scripted with nothing raises ScriptExhaustedError on its first request."""
    transport = FakeTransport.from_responses([])
    with pytest.raises(ScriptExhaustedError, match="scripted with 0 response"):
        await transport.send(_get())


def test_last_request_error_says_none_arrived() -> None:
    """The LookupError of an unused fake says that no request has arrived."""
    with pytest.raises(LookupError, match=r"^FakeTransport has received no request$"):
        _ = FakeTransport(lambda _: HttpResponse(status=200)).last_request


async def test_wrong_handler_result_names_what_was_returned() -> None:
    """The TypeError for a handler's wrong result names the type it returned."""
    handler = cast(Any, lambda _: {"status": 200})
    with pytest.raises(TypeError) as caught:
        await FakeTransport(handler).send(_get())
    assert str(caught.value) == "FakeTransport handler must return an HttpResponse, got dict"


async def test_async_handler_returning_something_else_is_a_type_error() -> None:
    """An async handler's wrong result is refused as a sync handler's is."""

    async def handler(request: HttpRequest) -> Any:
        return None

    with pytest.raises(TypeError, match=r"got NoneType$"):
        await FakeTransport(handler).send(_get())


async def test_repr_counts_the_requests() -> None:
    """`repr` reads `FakeTransport(requests=N)`."""
    transport = FakeTransport(lambda _: HttpResponse(status=200))
    await transport.send(_get())
    assert repr(transport) == "FakeTransport(requests=1)"
