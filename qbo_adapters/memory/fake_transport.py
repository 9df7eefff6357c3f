"""`FakeTransport`: an `HttpTransport` whose network is a function you write."""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Awaitable, Callable, Iterable

from qbo_core.errors import TransportError
from qbo_core.http import HttpRequest, HttpResponse

__all__ = ["FakeTransport", "Handler", "ScriptExhaustedError"]

#: What a `FakeTransport` calls for each request: sync or async, request in, response out.
Handler = Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]


class ScriptExhaustedError(AssertionError):
    """A scripted `FakeTransport` received more requests than it had answers for."""


class FakeTransport:
    """Answers each request by calling `handler`, and keeps every request in `requests`.

    `handler` may be a plain function or a coroutine function. What it returns is
    the response, whatever its status. To script a network failure, raise a
    `qbo_core.errors.TransportError` (for instance `ConnectError`, or
    `ReadTimeoutError` for "sent, but the answer was lost"): it propagates from
    `send` as a real transport's would. Any other exception is a bug in the test's
    handler and propagates unchanged, so it surfaces rather than looking like a
    network failure that a service might retry.

    A request is recorded before the handler runs, so it is in `requests` even
    when the handler raises. The fake keeps no time: it ignores `request.timeout`.
    """

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.requests: list[HttpRequest] = []

    @classmethod
    def from_responses(cls, responses: Iterable[HttpResponse | TransportError]) -> FakeTransport:
        """A transport answering the requests, in order, with `responses`.

        An item that is a `TransportError` is raised for its request instead. One
        request more than there are items raises `ScriptExhaustedError`.
        """
        script: deque[HttpResponse | TransportError] = deque(responses)
        total = len(script)

        def next_answer(request: HttpRequest) -> HttpResponse:
            if not script:
                raise ScriptExhaustedError(
                    f"FakeTransport was scripted with {total} response(s), "
                    f"all used; one more request arrived: {request!r}"
                )
            answer = script.popleft()
            if isinstance(answer, TransportError):
                raise answer
            return answer

        return cls(next_answer)

    @property
    def last_request(self) -> HttpRequest:
        """The most recent request; `LookupError` if none arrived yet."""
        if not self.requests:
            raise LookupError("FakeTransport has received no request")
        return self.requests[-1]

    async def send(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        answer = self._handler(request)
        if inspect.isawaitable(answer):
            answer = await answer
        if not isinstance(answer, HttpResponse):
            raise TypeError(
                f"FakeTransport handler must return an HttpResponse, got {type(answer).__name__}"
            )
        return answer

    def __repr__(self) -> str:
        return f"FakeTransport(requests={len(self.requests)})"
