"""A faithful QuickBooks Online emulator: one sans-I/O handler behind two doors.

`QBOEmulator.handle(HttpRequest) -> HttpResponse` serves the data API, OAuth 2 and a
control API on in-memory, seeded company data. `EmulatorTransport` is the in-process
door (an `HttpTransport`, no sockets); `qbo emulator` serves the same handler over HTTP.
`emulator.webhooks` sends Intuit-style webhooks once given a `WebhookSubscription`
(`webhook_signature` is how their bodies are signed).
"""

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.server import HandlerServer, serve_emulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.emulator.webhook_payloads import webhook_signature
from qbo_adapters.emulator.webhooks import WebhookSubscription

__all__ = [
    "EmulatorSettings",
    "EmulatorTransport",
    "HandlerServer",
    "QBOEmulator",
    "WebhookSubscription",
    "serve_emulator",
    "webhook_signature",
]
