"""Adapters on aiohttp: `AiohttpTransport`, the real `HttpTransport` to Intuit, and
`webhook_handler`, the endpoint Intuit's webhook deliveries are posted to."""

from qbo_adapters.aiohttp.transport import AiohttpTransport
from qbo_adapters.aiohttp.webhooks import WebhookHandler, webhook_handler

__all__ = ["AiohttpTransport", "WebhookHandler", "webhook_handler"]
