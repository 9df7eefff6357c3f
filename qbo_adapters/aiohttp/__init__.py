"""Adapters on aiohttp: `AiohttpTransport`, the real `HttpTransport` to Intuit."""

from qbo_adapters.aiohttp.transport import AiohttpTransport

__all__ = ["AiohttpTransport"]
