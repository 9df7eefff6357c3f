"""`webhook_handler`: an aiohttp request handler for Intuit's webhook deliveries.

It reads the body (never more than `receiver.max_body_bytes + 1` bytes: a
`Content-Length` over the limit is refused before a byte is read, a streamed body is
read until it passes the limit), hands it and the `intuit-signature` header to
`WebhookReceiver.receive`, and answers with the receipt's status at once. The host's
callback gets the accepted events afterwards, in a background task: Intuit wants its
200 within 3 seconds, whatever the callback does. A failing callback is logged (its
exception's class and the event ids, never the payload) and goes no further.

    app.router.add_post("/webhooks/qbo", webhook_handler(receiver, process, app=app))

`webhook_handler` returns the handler coroutine function; given `app`, it also adds
to `app.on_cleanup` a step that awaits the callbacks still running. `WebhookHandler`
is the object behind it, for a host that wants `close()` and `pending` itself:

    handler = WebhookHandler(receiver, process)
    app.router.add_post("/webhooks/qbo", handler.handle)
    ...
    await handler.close()  # on shutdown, after the server stopped accepting requests
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from qbo_core.dtos import WebhookEvent
from qbo_core.services.webhooks import WebhookReceipt, WebhookReceiver

__all__ = ["WebhookHandler", "webhook_handler"]

_log = logging.getLogger(__name__)

#: The header Intuit puts the body's signature in.
SIGNATURE_HEADER = "intuit-signature"

Callback = Callable[[tuple[WebhookEvent, ...]], Awaitable[None]]


class WebhookHandler:
    """The webhook endpoint (its `handle` is the aiohttp handler); keeps its callback tasks.

    Each delivery with accepted events starts one task running `callback(events)`; the
    handler holds a reference to every task until it ends. `close()` (or
    `on_cleanup`, for `app.on_cleanup`) waits for the tasks still running.
    """

    def __init__(
        self,
        receiver: WebhookReceiver,
        callback: Callback,
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        self._receiver = receiver
        self._callback = callback
        self._log = logger if logger is not None else _log
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        """How many callback tasks are running."""
        return len(self._tasks)

    def __repr__(self) -> str:
        return f"WebhookHandler(pending={len(self._tasks)})"

    async def handle(self, request: web.Request) -> web.Response:
        """Judge one delivery and answer it; start the callback if events were accepted."""
        limit = self._receiver.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return _answer(self._receiver.too_large())
        try:
            body = await _read_capped(request, limit)
        except Exception as exc:  # the body was cut short, or its chunking was broken
            self._log.warning("webhook body could not be read: %s", type(exc).__name__)
            return web.Response(status=400)
        if body is None:
            return _answer(self._receiver.too_large())
        try:
            receipt = await self._receiver.receive(body, request.headers.get(SIGNATURE_HEADER))
        except Exception as exc:
            self._log.error("webhook delivery could not be judged: %s", type(exc).__name__)
            return web.Response(status=500)
        if receipt.accepted:
            self._start(receipt.accepted)
        return _answer(receipt)

    async def close(self, *, grace: float | None = None) -> None:
        """Wait for the callback tasks still running; after `grace` seconds, cancel them
        (`None`, the default: wait as long as they run).

        Deliveries that arrive after `close` are still judged and answered, and their
        callbacks still run; call it when the server no longer accepts requests.
        """
        while self._tasks:
            tasks = set(self._tasks)
            _, late = await asyncio.wait(tasks, timeout=grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
                return

    async def on_cleanup(self, app: web.Application) -> None:
        """`close()`, in the signature `app.on_cleanup` expects."""
        await self.close()

    def _start(self, accepted: tuple[WebhookEvent, ...]) -> None:
        task = asyncio.get_running_loop().create_task(self._run(accepted))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, accepted: tuple[WebhookEvent, ...]) -> None:
        try:
            await self._callback(accepted)
        except Exception as exc:
            self._log.error(
                "webhook callback failed with %s for events %s",
                type(exc).__name__,
                ", ".join(event.event_id for event in accepted),
            )


def webhook_handler(
    receiver: WebhookReceiver,
    callback: Callback,
    *,
    app: web.Application | None = None,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp handler that judges deliveries with `receiver` and passes the accepted
    events to `callback` in the background (see the module docstring). With `app`, the
    app's cleanup awaits the callbacks still running."""
    handler = WebhookHandler(receiver, callback)
    if app is not None:
        app.on_cleanup.append(handler.on_cleanup)
    return handler.handle


async def _read_capped(request: web.Request, limit: int) -> bytes | None:
    """The whole body, or `None` as soon as it passes `limit` bytes (never reading more
    than `limit + 1`)."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = await request.content.read(limit + 1 - size)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    return None


def _answer(receipt: WebhookReceipt) -> web.Response:
    return web.Response(status=receipt.status)
