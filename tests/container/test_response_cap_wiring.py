"""The one response-size setting reaches the aiohttp transport the container builds."""

from __future__ import annotations

from qbo_adapters.aiohttp.transport import AiohttpTransport
from qbo_container import QBO


async def test_max_response_bytes_is_passed_to_the_aiohttp_transport() -> None:
    """`api.max_response_bytes` in the settings is the cap the real transport enforces."""
    settings = {"api": {"client_id": "x", "client_secret": "y", "max_response_bytes": 4096}}
    async with QBO.open(settings, environ={}) as qbo:
        assert isinstance(qbo.transport, AiohttpTransport)
        assert "max_response_bytes=4096" in repr(qbo.transport)
