"""`metrics_handler`: an `aiohttp.web` handler that serves a Prometheus registry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder

__all__ = ["metrics_handler"]


def metrics_handler(
    registry: CollectorRegistry | None = None,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp handler answering a scrape of `registry` (default: the global registry).

    Mount it where Prometheus scrapes, e.g. `app.router.add_get("/metrics", handler)`.
    The answer is the Prometheus text format, or OpenMetrics when the scraper's `Accept`
    header asks for it, with the matching `Content-Type`. The registry is rendered in a
    worker thread, so a large one (many realms) never stalls the event loop.
    """
    source = registry if registry is not None else REGISTRY

    async def handle(request: web.Request) -> web.Response:
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        body = await asyncio.to_thread(encode, source)
        return web.Response(body=body, headers={"Content-Type": content_type})

    return handle
